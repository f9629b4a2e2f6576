"""Terminal output that fits (issue 11.7): every table-printing command at COLUMNS=80 keeps
each line within 80 terminal cells and never cuts an ID; --wide shows every column;
--json parses.

Rich picks the width at each print: `COLUMNS` from the environment (CliRunner's `env`
sets it for the call), else the terminal, else 80 — the module consoles are created
without a fixed width, so the value set here applies."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from sqlmodel import Session
from typer.testing import CliRunner

from tests.support.county import COUNTY, SeedInfo, seed_county
from tests.support.registry_fixtures import valid_folder
from tests.support.review_fixtures import ReviewSeed, seed_review
from zhucun.cli import app

runner = CliRunner()
NARROW = {"COLUMNS": "80"}
CUT = re.compile(r"[A-Z]?\d{3,}…")  # an ID or a code ending in an ellipsis


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    res = runner.invoke(app, list(args), env=env or NARROW, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res


def assert_fits(output: str, ids: list[str], width: int = 80) -> None:
    """Table lines and sentences fit; a line naming a path is left whole to copy."""
    long = [
        line
        for line in output.splitlines()
        if cell_len(line) > width and (line[:1] in "┏┃┡│└" or "/" not in line)
    ]
    assert not long, "\n".join(long)
    assert not CUT.search(output), CUT.search(output)
    for i in ids:
        assert i in output, f"{i} not shown whole"


@pytest.fixture
def review(session: Session) -> ReviewSeed:
    s = seed_review(session, villages=2, households_per_village=4)
    session.commit()
    return s


def test_review_list_fits_80_columns_and_wide_shows_all(review: ReviewSeed) -> None:
    rows = json.loads(run("review", "list", "--county", "130624", "--json").stdout)
    assert rows
    narrow = run("review", "list", "--county", "130624").stdout
    assert_fits(narrow, [r["subject_id"] for r in rows] + [r["village"] for r in rows])
    assert "--wide" in narrow  # says what it left out and how to see it
    wide = run("review", "list", "--county", "130624", "--wide").stdout
    for header in ("编号", "村", "环节", "对象", "名称", "版本", "决定层级", "进入时间", "已等待"):
        assert header in wide
    assert not CUT.search(wide)


def test_import_export_and_generate_fit(data_dir: Path, tmp_path: Path) -> None:
    folder = valid_folder(tmp_path / "in")
    imported = run("import", str(folder))
    assert_fits(imported.stdout, ["villages.csv", "households.csv"])
    data = json.loads(run("import", str(folder), "--json").stdout)
    assert data["ok"]
    exported = run("export", str(tmp_path / "out"))
    assert_fits(exported.stdout, ["teams.csv", "strategies.csv"])
    assert json.loads(run("export", str(tmp_path / "out2"), "--json").stdout)["files"]
    gen = run("generate", "--county", "130624", "--out", str(tmp_path / "g"), "--households", "5")
    assert_fits(gen.stdout, ["households.csv"])
    gen_json = run(
        "generate", "--county", "130624", "--out", str(tmp_path / "g2"), "--households", "5",
        "--json",
    )  # fmt: skip
    assert json.loads(gen_json.stdout)["county_code"] == "130624"


def test_db_and_policy_commands_have_json(data_dir: Path, tmp_path: Path) -> None:
    assert json.loads(run("db", "upgrade", "--json").stdout)["revision"]
    assert json.loads(run("db", "current", "--json").stdout)["revision"]
    backup = json.loads(run("db", "backup", str(tmp_path / "b.db"), "--json").stdout)
    assert backup["pages"] > 0
    restored = run("db", "restore", str(tmp_path / "b.db"), "--force", "--json").stdout
    assert json.loads(restored)["backup"].endswith("b.db")
    assert "poverty_line" in json.dumps(json.loads(run("policy", "show", "--json").stdout))


@pytest.fixture
def county(session: Session, prefect_harness: None) -> SeedInfo:
    info = seed_county(session)
    session.commit()
    return info


def test_cycle_evaluate_check_and_report_fit(county: SeedInfo, tmp_path: Path) -> None:
    cycle = run("cycle", "run", "--county", COUNTY, "--year", "2026")
    assert_fits(cycle.stdout, [])
    assert "¥" in cycle.stdout and "_" not in cycle.stdout.replace("--", "")
    data = json.loads(run("cycle", "run", "--county", COUNTY, "--year", "2026", "--json").stdout)
    assert data["stages"]["strategies"]["written"] == 0
    evaluated = run("evaluate", "--county", COUNTY, "--period", "2026-06")
    assert_fits(evaluated.stdout, [])
    again = run("evaluate", "--county", COUNTY, "--period", "2026-06", "--json").stdout
    assert json.loads(again)["period"] == "2026-06"
    checked = run("check", "--county", COUNTY)
    assert_fits(checked.stdout, [])
    assert "findings" in json.loads(run("check", "--county", COUNTY, "--json").stdout)
    out = tmp_path / "r.html"
    report = json.loads(
        run("report", "--county", COUNTY, "--year", "2026", "--out", str(out), "--json").stdout
    )
    assert Path(report["file"]).exists()
