"""`zhucun demo` as a tour (issue 11.6): the stages in words, the review's outcome without
a contradiction, the files it wrote and what to do next; no Python dict, no snake_case."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rich.cells import cell_len
from typer.testing import CliRunner

from zhucun.cli import app

runner = CliRunner()


def test_demo_prints_a_tour_and_writes_export_and_report(
    data_dir: Path, prefect_harness: None
) -> None:
    res = runner.invoke(
        app, ["demo", "--households", "40"], env={"COLUMNS": "80"}, catch_exceptions=False
    )
    assert res.exit_code == 0, res.output
    out = res.stdout
    for stage in (
        "生成登记数据",
        "导入",
        "致贫原因认定",
        "选派工作队",
        "一户一策",
        "审核",
        "成效评估",
    ):
        assert stage in out
    assert "审核结果" in out and "已批准" in out and "进入公示期" in out
    assert "拟脱贫" in out and "监测" in out
    assert "{" not in out and "'" not in out  # no Python dict
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", out.replace(str(data_dir), "")), out
    assert "waiting" not in out and "applied" not in out
    assert "退出程序" in out and "公告退出" in out
    assert "http://127.0.0.1:4200" in out and "zhucun --data-dir" in out
    assert (data_dir / "export" / "522626" / "teams.csv").exists()
    assert str(data_dir / "export" / "522626") in out
    report = data_dir / "reports" / "county-report-522626-2026.pdf"
    assert str(report) in out or "进展报告未生成" in out
    table = [ln for ln in out.splitlines() if ln[:1] in "┏┃┡│└"]
    assert table and max(cell_len(ln) for ln in table) <= 80

    again = runner.invoke(app, ["demo", "--households", "40", "--json"])
    assert again.exit_code == 0, again.output
    data = json.loads(again.stdout)
    assert data["review"]["accepted"] >= 0 and "waiting" in data["review"]
    assert data["export"]["files"]["teams.csv"] > 0
    # the README's main job, whole: the cycle's stages, the evaluation, every invariant
    assert data["import"]["ok"]
    # the second run drafts strategies for those still poor: the first run's exits are out
    drafted = data["cycle"]["stages"]["strategies"]["households"]
    from sqlmodel import Session, func, select
    from zhucun.models import Evaluation

    from tests.support.invariants_lifecycle import check_lifecycle_invariants
    from zhucun.db import get_engine

    with Session(get_engine()) as session:
        assert session.scalar(select(func.count()).select_from(Evaluation)) > 0
        assert check_lifecycle_invariants(session, "522626", 2026) == []
        # exits went through their procedure: announced cases exited, nobody else did
        from zhucun.models import Household, ProcedureCase

        pr = data["procedures"]
        assert pr["exited"] + pr["refused"] + pr["waiting"] == pr["opened"]
        done = set(
            session.scalars(
                select(ProcedureCase.subject_id).where(
                    ProcedureCase.procedure == "exit", ProcedureCase.status == "done"
                )
            )
        )
        exited_now = set(
            session.scalars(
                select(Household.household_id).where(
                    Household.status == "exited", Household.exit_year == int(pr["period"][:4])
                )
            )
        )
        assert len(done) == pr["exited"] and done <= exited_now
        assert drafted + len(done) >= 40 and drafted > 0
