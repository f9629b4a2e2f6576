"""`zhucun review ...` and `zhucun object` on a real database; `decide` resuming a waiting
review run under the Prefect harness."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlmodel import Session
from typer.testing import CliRunner
from zhucun.models import Decision, Publicity, ReviewState, Strategy
from zhucun.tasks.review_lock import server_today

from tests.support.review_fixtures import ReviewSeed, seed_review
from zhucun.cli import app

YEAR = 2026
runner = CliRunner()


@pytest.fixture
def seed(session: Session) -> ReviewSeed:
    s = seed_review(session, villages=2, households_per_village=4)
    session.commit()
    return s


def cli(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def decide(*args: str) -> Any:
    return cli("review", "decide", "--year", str(YEAR), "--no-resume", *args)


def test_list_shows_waiting_items_with_their_decider(seed: ReviewSeed) -> None:
    v1 = seed.v1
    res = cli("review", "list", "--village", v1, "--json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert {r["stage"] for r in rows} == {"team"} and len(rows) == len(seed.strategies[v1]) + 1
    assert not any(r["overdue"] for r in rows)
    res = cli("review", "list", "--village", v1)
    assert "户主" in res.output and "工作队" in res.output


def test_list_overdue(session: Session, seed: ReviewSeed) -> None:
    cli("review", "list", "--county", "130624", "--json")  # starts the stage clocks
    v0 = seed.info.poor_villages[0]
    session.execute(
        update(ReviewState)
        .where(ReviewState.village_code == v0)
        .values(entered_at=datetime.now(UTC) - timedelta(days=20))
    )
    session.commit()
    rows = json.loads(cli("review", "list", "--overdue", "--json", "--county", "130624").output)
    assert rows and {r["village"] for r in rows} == {v0}
    assert all(r["waiting_days"] >= 20 for r in rows)


def test_decide_all_then_refusals_exit_nonzero_and_are_recorded(
    session: Session, seed: ReviewSeed
) -> None:
    v0 = seed.info.poor_villages[0]
    res = decide(
        "--reviewer",
        seed.teams[v0][0],
        "--stage",
        "team",
        "--village",
        v0,
        "--all",
        "--decision",
        "approve",
    )
    assert res.exit_code == 0, res.output
    assert f"受理 {len(seed.strategies[v0]) + 1} 项，不予受理 0 项" in res.output
    hid = seed.strategies[v0][0]
    res = decide(
        "--reviewer", "T1", "--stage", "committee", "--household", hid, "--decision", "return"
    )
    assert res.exit_code == 1 and "reason is required" in res.output
    res = decide(
        "--reviewer",
        seed.officials(v0)["party_secretary"],
        "--stage",
        "committee",
        "--household",
        hid,
        "--decision",
        "return",
        "--reason",
        "缺少产业措施",
    )
    assert res.exit_code == 0 and "退回修改" in res.output
    rows = list(session.scalars(select(Decision).where(Decision.subject_id == hid)))
    assert [r.outcome for r in rows] == ["accepted", "refused", "accepted"]
    assert {r.channel for r in rows} == {"cli"}


def test_decide_all_only_approves(seed: ReviewSeed) -> None:
    v0 = seed.info.poor_villages[0]
    res = decide(
        "--reviewer",
        seed.teams[v0][0],
        "--stage",
        "team",
        "--village",
        v0,
        "--all",
        "--decision",
        "reject",
    )
    assert res.exit_code == 1 and "--all only approves" in res.output


def test_import_is_all_or_nothing_with_row_and_column(
    session: Session, seed: ReviewSeed, tmp_path: Path
) -> None:
    v0 = seed.info.poor_villages[0]
    h = seed.strategies[v0]
    head = "stage,subject,subject_id,reviewer_id,decision,reason,decided_on\n"
    f = tmp_path / "decisions.csv"
    f.write_text(
        head + f"team,strategy,{h[0]},{seed.teams[v0][0]},approve,,2026-03-02\n"
        f"team,strategy,{h[1]},X0,approve,,2026-03-02\n",
        encoding="utf-8",
    )
    res = cli("review", "import", str(f), "--year", str(YEAR), "--no-resume")
    assert res.exit_code == 1
    assert re.search(r"decisions\.csv:3:reviewer_id: reviewer X0 does not hold", res.output)
    assert "未执行任何决定" in res.output
    assert session.scalars(select(Decision)).first() is None
    f.write_text(
        head + f"team,strategy,{h[0]},{seed.teams[v0][0]},approve,,2026-03-02\n", encoding="utf-8"
    )
    res = cli("review", "import", str(f), "--year", str(YEAR), "--no-resume")
    assert res.exit_code == 0 and "已执行 1 项决定" in res.output


def _approve_through(seed: ReviewSeed, village: str, hids: list[str]) -> None:
    for stage, who in (
        ("team", seed.teams[village][0]),
        ("committee", seed.officials(village)["committee_director"]),
        ("township", "T1"),
    ):
        args = [a for h in hids for a in ("--household", h)]
        res = decide("--reviewer", who, "--stage", stage, "--decision", "approve", *args)
        assert res.exit_code == 0, res.output


def test_objection_notice_and_closing_the_window(session: Session, seed: ReviewSeed) -> None:
    v0 = seed.info.poor_villages[0]
    h0, h1 = seed.strategies[v0][:2]
    _approve_through(seed, v0, [h0, h1])
    pub = session.scalars(select(Publicity).where(Publicity.subject_id == h0)).one()
    notice = cli("review", "notice", "--village", v0, "--year", str(YEAR)).output
    assert f"户主{h0}" in notice and f"户主{h1}" in notice and "公示" in notice
    assert seed.info.id_numbers[h0] not in notice and not re.search(r"\d{17}[\dX]", notice)
    assert "健康扶贫" not in notice  # h1 has a health measure: shown as a neutral label

    res = cli(
        "object",
        "--household",
        h1,
        "--year",
        str(YEAR),
        "--by",
        "村民李四",
        "--reason",
        "家庭收入不实",
        "--on",
        str(pub.opens_on),  # the window opened today (server's date): no later day is past
    )
    assert res.exit_code == 0, res.output
    assert session.scalar(select(Strategy.status).where(Strategy.household_id == h1)) == "returned"
    late = cli(
        "object",
        "--household",
        h0,
        "--year",
        str(YEAR),
        "--by",
        "村民",
        "--reason",
        "x",
        "--on",
        str(pub.closes_on),
    )
    assert late.exit_code == 1 and "in the future" in late.output  # the window's end is

    res = cli(
        "review",
        "publicity",
        "close",
        "--today",
        str(pub.closes_on),
        "--admin-as-of",
        "--by",
        "县扶贫办王五",
        "--reason",
        "test: close a window of the future",
    )
    assert "1 publicity window(s) closed" in res.output
    s0 = session.scalars(select(Strategy).where(Strategy.household_id == h0)).one()
    session.refresh(s0)
    assert (s0.approved_by, s0.approved_on) == ("T1", pub.closes_on)


@pytest.mark.usefixtures("prefect_harness")
def test_decide_resumes_the_waiting_review_run(
    session: Session, seed: ReviewSeed, prefect_harness: None
) -> None:
    """The approver decides from the CLI; the paused run is resumed, re-reads the database
    and moves on to the next stage, then finishes when everything is decided."""
    from zhucun.flows.review import review_cycle

    from tests.test_flow_review import _paused_run

    v0 = seed.info.poor_villages[0]
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = review_cycle("130624", YEAR, [v0], poll_seconds=1)
        except BaseException as exc:  # noqa: BLE001
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    name = f"review-130624-{YEAR}"
    seen: set = set()
    steps = [
        ("team", seed.teams[v0][0]),
        ("committee", seed.officials(v0)["party_secretary"]),
        ("township", "T0"),
        ("county", "X0"),
    ]
    for stage, who in steps:
        run_id, state_id, desc = _paused_run(name, seen)
        seen.add(state_id)
        assert f"stage `{stage}`" in desc
        res = cli(
            "review",
            "decide",
            "--year",
            str(YEAR),
            "--reviewer",
            who,
            "--stage",
            stage,
            "--village",
            v0,
            "--all",
            "--decision",
            "approve",
            "--json",
        )
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["resumed_runs"] == [str(run_id)]
    t.join(120)
    assert "error" not in out, out.get("error")
    assert out["result"]["left_waiting"] == [] and out["result"]["refused"] == 0
    assert {r.channel for r in session.scalars(select(Decision))} == {"cli"}
    # the window opens on the server's date in China, not the machine's local date
    assert server_today() == session.scalars(select(Publicity.opens_on)).first()


def test_import_resumes_the_waiting_review_run_of_the_files_county(
    session: Session, seed: ReviewSeed, tmp_path: Path, prefect_harness: None
) -> None:
    """Minutes entered from a decisions file wake the county's paused review run, though a
    household ID does not carry its county (the county is found through the strategies)."""
    from zhucun.flows.review import review_cycle
    from zhucun.tasks.review_minutes import draft_minutes, write_minutes

    from tests.test_flow_review import _paused_run

    v0 = seed.info.poor_villages[0]
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = review_cycle("130624", YEAR, [v0], poll_seconds=1)
        except BaseException as exc:  # noqa: BLE001
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    run_id, _state, _desc = _paused_run(f"review-130624-{YEAR}", set())
    rows = draft_minutes(session, county="130624", cycle_year=YEAR, decided_on=date.today())
    first = [r for r in rows if r["stage"] == "team" and r["subject"] == "strategy"]
    minutes = write_minutes(first, tmp_path / "m.csv")
    res = cli("review", "import", str(minutes), "--year", str(YEAR), "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["resumed_runs"] == [str(run_id)], res.output
    # the resumed run re-read the ledger: the signed strategies have left the team's form,
    # only the village plan (not in the first file) still waits for the team
    _run, _state2, desc = _paused_run(f"review-130624-{YEAR}", {_state})
    assert "stage `team`" in desc and f"村规划 {v0}" in desc
    assert not any(r["subject_id"] in desc for r in first)
    # the rest of the minutes finishes the review and the run with it
    rest = write_minutes([r for r in rows if r not in first], tmp_path / "rest.csv")
    res = cli("review", "import", str(rest), "--year", str(YEAR), "--json")
    assert res.exit_code == 0, res.output
    t.join(120)
    assert "error" not in out, out.get("error")
    assert out["result"]["left_waiting"] == []
