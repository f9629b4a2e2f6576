"""The review flow under the Prefect test harness: a real run pauses with a form, is resumed
through the Prefect API with invalid and then valid input, and the ledger shows both."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select, update
from sqlmodel import Session
from zhucun.models import Decision, Plan, Publicity, ReviewState, Strategy

from tests.support.review_fixtures import ReviewSeed, seed_review

YEAR = 2026
pytestmark = pytest.mark.usefixtures("prefect_harness")


@pytest.fixture
def seed(session: Session) -> ReviewSeed:
    s = seed_review(session, villages=1, households_per_village=4)
    session.commit()
    return s


def _paused_run(name: str, after: set[UUID], timeout: float = 90) -> tuple[UUID, UUID, str]:
    """(run id, paused state id, form description) of the run once it pauses anew."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=[name]))
            )
            for run in runs:
                st = run.state
                if st and st.is_paused() and st.id not in after:
                    keyset = st.state_details.run_input_keyset
                    if keyset:
                        try:
                            desc = client.read_flow_run_input(run.id, keyset["description"])
                        except Exception:  # noqa: BLE001 - not saved yet
                            desc = None
                        if desc:
                            return run.id, st.id, desc
            time.sleep(0.5)
    raise TimeoutError(f"{name} did not pause")


def _resume(run_id: UUID, run_input: dict[str, Any]) -> None:
    from prefect.flow_runs import resume_flow_run

    for attempt in range(20):
        try:
            resume_flow_run(run_id, run_input=run_input)
            return
        except RuntimeError as exc:  # "Run input schema not found" right after pausing
            if attempt == 19:
                raise
            time.sleep(0.5 if "schema" in str(exc) else 1)


def _start(**kwargs: Any) -> tuple[threading.Thread, dict[str, Any]]:
    from zhucun.flows.review import review_cycle

    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = review_cycle(**kwargs)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def test_review_run_pauses_refuses_invalid_input_and_takes_valid_input(
    session: Session, seed: ReviewSeed
) -> None:
    v0 = seed.info.poor_villages[0]
    leader = seed.teams[v0][0]
    t, out = _start(county="130624", cycle_year=YEAR, villages=[v0], poll_seconds=1)
    name = f"review-130624-{YEAR}"
    seen: set[UUID] = set()

    run_id, state_id, desc = _paused_run(name, seen)
    seen.add(state_id)
    assert "stage `team`" in desc and seed.strategies[v0][0] in desc
    assert "健康扶贫" not in desc  # health-revealing measures are neutral in Prefect

    # invalid: a township reviewer at the team stage, and a return without a reason
    _resume(run_id, {"reviewer_id": "T1", "approve_all": True})
    run_id, state_id, desc = _paused_run(name, seen)
    seen.add(state_id)
    assert "Last submission refused" in desc and "team-stage role" in desc
    _resume(
        run_id,
        {
            "reviewer_id": leader,
            "decisions": [
                {"subject_id": seed.strategies[v0][0], "decision": "return", "reason": ""}
            ],
        },
    )
    run_id, state_id, desc = _paused_run(name, seen)
    seen.add(state_id)
    assert "reason is required" in desc

    # valid: the first secretary approves all; the run moves to the committee stage
    _resume(run_id, {"reviewer_id": leader, "approve_all": True})
    run_id, state_id, desc = _paused_run(name, seen)
    seen.add(state_id)
    assert "stage `committee`" in desc
    _resume(run_id, {"reviewer_id": seed.officials(v0)["party_secretary"], "approve_all": True})
    run_id, state_id, desc = _paused_run(name, seen)
    seen.add(state_id)
    assert "stage `township`" in desc
    _resume(run_id, {"reviewer_id": "T0", "approve_all": True})
    run_id, state_id, desc = _paused_run(name, seen)  # the plan goes up to the county
    assert "stage `county`" in desc and f"村规划 {v0}" in desc
    _resume(run_id, {"reviewer_id": "X0", "approve_all": True})
    t.join(120)
    assert "error" not in out, out.get("error")
    summary = out["result"]
    assert summary["left_waiting"] == [] and summary["forms"] == 6

    session.expire_all()
    rows = list(session.scalars(select(Decision).order_by(Decision.decision_id)))
    refused = [r for r in rows if r.outcome == "refused"]
    n = len(seed.strategies[v0]) + 1  # strategies and the plan
    assert len(refused) == n + 1  # every item refused for T1, then the reasonless return
    assert all(r.channel == "ui" and r.flow_run_id == str(run_id) for r in rows)
    assert sum(r.outcome == "accepted" for r in rows) == 3 * n + 1
    assert set(session.scalars(select(Strategy.status).where(Strategy.village_code == v0))) == {
        "approved"
    }
    assert len(list(session.scalars(select(Publicity)))) == n  # strategies and the plan


def test_decisions_file_runs_unattended_and_leaves_the_rest_waiting(
    session: Session, seed: ReviewSeed, tmp_path: Path
) -> None:
    from zhucun.flows.review import review_cycle

    v0 = seed.info.poor_villages[0]
    leader = seed.teams[v0][0]
    f = tmp_path / "decisions.csv"
    f.write_text(
        "stage,subject,subject_id,reviewer_id,decision,reason,decided_on\n"
        + "".join(
            f"team,strategy,{h},{leader},approve,,{date.today()}\n" for h in seed.strategies[v0]
        ),
        encoding="utf-8",
    )
    summary = review_cycle("130624", YEAR, [v0], decisions_file=str(f))
    assert summary["file_accepted"] == len(seed.strategies[v0])
    assert summary["left_waiting"] == [
        {"village": v0, "stage": "team", "strategies": 0, "plans": 1},
        {"village": v0, "stage": "committee", "strategies": len(seed.strategies[v0]), "plans": 0},
    ]
    again = review_cycle("130624", YEAR, [v0], decisions_file=str(f))  # idempotent
    assert again["file_accepted"] == 0 and again["file_skipped"] == len(seed.strategies[v0])
    assert len(list(session.scalars(select(Decision)))) == len(seed.strategies[v0])

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "stage,subject,subject_id,reviewer_id,decision,reason,decided_on\n"
        f"committee,strategy,{seed.strategies[v0][0]},T1,approve,,{date.today()}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="bad.csv:2:reviewer_id"):
        review_cycle("130624", YEAR, [v0], decisions_file=str(bad))


def test_check_overdue_reviews_reports_stale_stages_and_closes_publicity(
    session: Session, seed: ReviewSeed
) -> None:
    from zhucun.flows.review import check_overdue_reviews
    from zhucun.tasks.review import policy_for, sync_states

    v0 = seed.info.poor_villages[0]
    sync_states(session, YEAR, [v0], policy=policy_for(session, "130624", YEAR))
    session.execute(update(ReviewState).values(entered_at=datetime.now(UTC) - timedelta(days=30)))
    session.commit()
    result = check_overdue_reviews("130624")
    assert result["groups"] == [
        {"village": v0, "stage": "team", "strategies": len(seed.strategies[v0]), "plans": 1}
    ]


def test_a_group_no_form_shows_is_left_waiting_instead_of_spinning(
    session: Session, seed: ReviewSeed, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pending group whose form has no items (before: a version no longer current left in
    a pending status was counted, never shown) used to make the run re-read the same group
    forever; now the run sets its form aside, ends, and reports it as waiting. The review's
    forms also never show a procedure case waiting at a stage of the same name."""
    import zhucun.flows.review as F
    from zhucun.models import ProcedureCase
    from zhucun.tasks.review import group_items, pending_groups, policy_for

    v0 = seed.info.poor_villages[0]
    h0 = seed.strategies[v0][0]
    session.execute(update(Strategy).values(status="approved"))
    session.execute(update(Plan).values(status="approved"))
    session.execute(
        update(Strategy)
        .where(Strategy.household_id == h0)
        .values(is_current=False, status="team_signed")
    )
    session.add(
        ProcedureCase(
            procedure="exit",
            subject_id=h0,
            village_code=v0,
            cycle_year=YEAR,
            status="township",
            origin="evaluation",
            opened_on=date(YEAR, 3, 2),
        )
    )
    session.commit()
    policy = policy_for(session, "130624", YEAR)
    groups = pending_groups(session, YEAR, [v0], policy=policy)
    assert all(g["strategies"] == 0 for g in groups)  # the old version is not under review
    assert group_items(session, YEAR, [v0], "township", policy=policy) == []  # not the exit

    phantom = [{"village": v0, "stage": "committee", "strategies": 1, "plans": 0}]
    calls: list[int] = []
    real = F.pending_task.fn

    def stale_groups(county: str, cycle_year: int, villages: Any) -> list[dict[str, Any]]:
        calls.append(1)
        assert len(calls) < 20, "the review re-read a group its form cannot show, again"
        return [*phantom, *real(county, cycle_year, villages)]

    monkeypatch.setattr(F, "pending_task", stale_groups)
    summary = F.review_cycle("130624", YEAR, [v0], poll_seconds=1)
    assert summary["forms"] == 0 and summary["left_waiting"][0] == phantom[0]
