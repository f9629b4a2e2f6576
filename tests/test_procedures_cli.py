"""`zhucun exit …` and `zhucun identify …` as an operator types them (in process, on the
test's database): every answer in --json, refusals with exit code 1, a bad findings file
refused in one line with nothing written, no ID number in any output."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update
from sqlmodel import Session
from typer.testing import CliRunner
from zhucun.models import CrossCheckFinding, Household, Publicity
from zhucun.tasks.review_lock import server_today

from tests.support.review_fixtures import add_exit_proposals, seed_review
from zhucun.cli import app

TALLY = ["--representatives", "30", "--present", "24", "--in-favour", "20"]


def run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, list(args))
    return res.exit_code, res.output


def test_exit_through_the_cli_from_proposal_to_announcement(
    session: Session, tmp_path: Path
) -> None:
    seed = seed_review(session, plans=False)
    today = server_today()
    year = today.year
    v0 = seed.info.poor_villages[0]
    hid = seed.strategies[v0][0]
    add_exit_proposals(session, v0, [hid], f"{year}-01", today)
    session.commit()
    code, out = run("exit", "propose", "--period", f"{year}-01", "--json")
    assert code == 0 and json.loads(out) == {"proposed": 1, "opened": 1}
    ps = seed.officials(v0)["party_secretary"]
    code, out = run(
        "exit",
        "decide",
        "--stage",
        "appraisal",
        "--reviewer",
        ps,
        "--household",
        hid,
        "--representatives",
        "30",
        "--present",
        "12",
        "--in-favour",
        "12",
        "--json",
    )
    assert code == 1 and "quorum missing" in json.loads(out)["decisions"][0]["refusal_reason"]
    steps = [
        ("appraisal", ps, TALLY),
        ("committee", seed.officials(v0)["committee_director"], []),
        ("team", seed.teams[v0][0], []),
    ]
    for stage, who, extra in steps:
        code, out = run(
            "exit",
            "decide",
            "--stage",
            stage,
            "--reviewer",
            who,
            "--household",
            hid,
            *extra,
            "--json",
        )
        assert code == 0, out
    head = session.get(Household, hid).head_name  # type: ignore[union-attr]
    code, out = run(
        "exit",
        "acknowledge",
        "--household",
        hid,
        "--by",
        head,
        "--reviewer",
        seed.teams[v0][1],
        "--json",
    )
    assert code == 0 and json.loads(out)["decisions"][0]["new_status"] == "publicity"
    code, out = run("exit", "list", "--json")
    case = json.loads(out)["cases"][0]
    assert case["status"] == "publicity" and case["village_name"] == "第1村"
    code, text = run("exit", "list")
    assert code == 0 and "村内公示" in text and "第1村" in text
    # the window opened a week ago (the test cannot wait 7 days): it closes today
    session.execute(update(Publicity).values(opens_on=today - timedelta(days=7), closes_on=today))
    session.commit()
    code, out = run("review", "publicity", "close")
    assert code == 0, out
    for stage, who in (("township", "T0"), ("county", "X0")):
        code, out = run(
            "exit",
            "decide",
            "--stage",
            stage,
            "--reviewer",
            who,
            "--household",
            hid,
            "--on",
            str(today),
            "--json",
        )
        assert code == 0, out
    session.expire_all()
    assert session.get(Household, hid).status == "poor"  # type: ignore[union-attr]
    code, out = run("exit", "announce", "--household", hid, "--reviewer", "X1", "--json")
    assert code == 0, out
    session.expire_all()
    assert session.get(Household, hid).status == "exited"  # type: ignore[union-attr]
    ids = [v for v in seed.info.id_numbers.values()]
    assert not any(i in out or i in text for i in ids)
    # the register for the level above: the case, and its stages in decisions.csv
    code, _ = run("export", str(tmp_path / "export"))
    assert code == 0
    register = (tmp_path / "export" / "procedures.csv").read_text("utf-8-sig")
    assert f"exit,{hid},{v0},{year},done,1,evaluation" in register
    stages = (tmp_path / "export" / "decisions.csv").read_text("utf-8-sig")
    assert all(f"{st},exit,{hid}" in stages for st in ("appraisal", "acknowledge", "announce"))
    assert not any(i in register or i in stages for i in ids)


def test_identify_apply_and_a_bad_findings_file(session: Session, tmp_path: Path) -> None:
    seed = seed_review(session, plans=False)
    v0 = seed.info.poor_villages[0]
    hid = f"H{v0[-3:]}004"
    session.execute(
        update(Household)
        .where(Household.household_id == hid)
        .values(status="non_poor", registered_poor=False)
    )
    session.commit()
    code, out = run("identify", "apply", "--household", hid, "--json")
    assert code == 0 and json.loads(out)["opened"] == 1
    code, out = run("identify", "apply", "--household", seed.info.poor_households[0])
    assert code == 1 and "already registered poor" in out
    bad = tmp_path / "比对结果.csv"
    bad.write_text(
        "household_id,kind,source,found_on,detail\n"
        f"{hid},vehicle,公安,2026-02-01,小轿车一辆\n"
        f"{hid},payroll,财政,2026-02-30,\n",
        encoding="utf-8",
    )
    code, out = run("identify", "findings", str(bad))
    assert code == 1 and out.strip().endswith("比对结果.csv:3:found_on: not a date (YYYY-MM-DD)")
    assert len(out.strip().splitlines()) == 1
    assert session.scalar(select(func.count()).select_from(CrossCheckFinding)) == 0
    leaky = tmp_path / "leaky.csv"
    leaky.write_text(
        "household_id,kind,source,found_on,detail\n"
        f"{hid},payroll,财政,2026-02-01,妻 {seed.info.id_numbers[hid]}\n",
        "utf-8",
    )
    code, out = run("identify", "findings", str(leaky))
    assert code == 1 and "leaky.csv:2:detail: holds an ID, phone or bank number" in out
    assert seed.info.id_numbers[hid] not in out
    assert session.scalar(select(func.count()).select_from(CrossCheckFinding)) == 0
    good = tmp_path / "findings.csv"
    good.write_text(bad.read_text("utf-8").replace("2026-02-30", "2026-02-20"), "utf-8")
    code, out = run("identify", "findings", str(good), "--json")
    assert code == 0 and json.loads(out)["added"] == 2


def test_a_case_opened_in_december_is_listed_decided_and_moved_in_january(
    session: Session,
) -> None:
    """Without --year the CLI and the daily step take the open cases of every year:
    an exit opened from last December's 预退出 list is decided this year as it stands."""
    from zhucun.tasks.procedure_step import procedure_step_task

    seed = seed_review(session, plans=False)
    last = server_today().year - 1
    v0 = seed.info.poor_villages[0]
    hid = seed.strategies[v0][0]
    add_exit_proposals(session, v0, [hid], f"{last}-12", server_today() - timedelta(days=40))
    session.commit()
    assert run("exit", "propose", "--period", f"{last}-12", "--json")[0] == 0
    code, out = run("exit", "list", "--json")
    assert code == 0 and [(c["subject_id"], c["cycle_year"]) for c in json.loads(out)["cases"]] == [
        (hid, last)
    ]
    ps = seed.officials(v0)["party_secretary"]
    code, out = run("exit", "decide", "--stage", "appraisal", "--reviewer", ps,
                    "--household", hid, *TALLY, "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["accepted"] == 1, out
    step = procedure_step_task.fn("130624", None)
    assert step["cycle_years"] == [last, last + 1]
    assert step["cases"] == [{"procedure": "exit", "status": "committee", "count": 1}]
    code, out = run("exit", "list", "--year", str(last + 1), "--json")
    assert code == 0 and json.loads(out)["cases"] == []  # a year given: that year only
