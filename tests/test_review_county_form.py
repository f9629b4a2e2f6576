"""Review at county scale: a township reviewer decides all their villages in one form, the
county approver the whole county in one; the form names who may decide, fits the dialog
and shows each refusal once; the dashboard artifact lists what waits by township."""

from __future__ import annotations

from uuid import UUID

import pytest
from sqlalchemy import func, insert, select, update
from sqlmodel import Session
from zhucun.models import Decision, Household, Official, Plan, Strategy, Township, Village

from tests.support.review_fixtures import ReviewSeed, add_plan, add_strategies, seed_review
from tests.test_flow_review import _paused_run, _resume, _start

YEAR = 2026
TOWNSHIP2 = "130624101"
VILLAGE2 = f"{TOWNSHIP2}200"


def seed_at_township(session: Session, villages: int = 3) -> ReviewSeed:
    """`villages` poor villages of 阜平镇 plus one of a second township (城南乡, reviewer T9),
    every strategy and plan co-signed by its committee: all wait for their township. The
    caller commits."""
    seed = seed_review(session, villages=villages, households_per_village=4)
    session.add(Township(township_code=TOWNSHIP2, name="城南乡", county_code="130624"))
    v0 = seed.info.poor_villages[0]
    row = session.get(Village, v0).model_dump()  # type: ignore[union-attr]
    session.execute(
        insert(Village),
        [{**row, "village_code": VILLAGE2, "name": "城南村", "township_code": TOWNSHIP2}],
    )
    heads = list(session.scalars(select(Household).where(Household.village_code == v0)))[:3]
    new = [f"H9{h.household_id[1:]}" for h in heads]
    session.execute(
        insert(Household),
        [
            {**h.model_dump(), "household_id": n, "village_code": VILLAGE2, "head_name": f"城南{k}"}
            for k, (h, n) in enumerate(zip(heads, new, strict=True))
        ],
    )
    add_strategies(session, VILLAGE2, new, YEAR)
    add_plan(session, VILLAGE2, YEAR)
    seed.strategies[VILLAGE2] = new
    session.execute(
        insert(Official),
        [
            dict(
                person_id="T9",
                name="审核九",
                id_number="130624197501019990",
                level="township",
                area_code=TOWNSHIP2,
                role="reviewer",
            )
        ],
    )
    for model in (Strategy, Plan):
        session.execute(update(model).values(status="committee_signed"))
    return seed


pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_one_form_per_township_then_one_for_the_county(session: Session) -> None:
    seed = seed_at_township(session)
    session.commit()
    t, out = _start(county="130624", cycle_year=YEAR, poll_seconds=1)
    name = f"review-130624-{YEAR}"
    seen: set[UUID] = set()
    forms: list[str] = []
    answers = {"阜平镇（130624100）": "T1", "城南乡（130624101）": "T9", "阜平县（130624）": "X0"}
    for _ in range(3):
        run_id, state_id, desc = _paused_run(name, seen)
        seen.add(state_id)
        forms.append(desc)
        who = next(v for k, v in answers.items() if k in desc.splitlines()[0])
        _resume(run_id, {"reviewer_id": who, "approve_all": True})
    t.join(120)
    assert "error" not in out, out.get("error")
    assert out["result"]["forms"] == 3 and out["result"]["left_waiting"] == []

    first, second, county = forms
    assert "stage `township`" in first and "阜平镇" in first
    for v in seed.info.poor_villages[:3]:  # every village of the township on one form
        assert f"（{v}）" in first and all(h in first for h in seed.strategies[v])
    assert "审核1（乡镇审核人" in first and "reviewer" not in first.split("|")[0]
    assert "¥9,000" in first and "| 户/村 | 措施 | 金额 | 等待自 |" in first
    assert VILLAGE2 not in first and "城南村" in second and "审核九（乡镇审核人" in second
    assert "stage `county`" in county and "审批0（县级审批人" in county
    assert "身份证" not in first and "130624197501019990" not in second

    session.expire_all()
    rows = list(session.scalars(select(Decision).where(Decision.stage == "township")))
    assert all(r.outcome == "accepted" and r.flow_run_id == str(run_id) for r in rows)
    per_item = session.execute(
        select(Decision.subject_id, func.count())
        .where(Decision.stage == "township", Decision.village_code.like("130624100%"))
        .group_by(Decision.subject_id)
    ).all()
    township_items = [h for v in seed.info.poor_villages[:3] for h in seed.strategies[v]]
    assert sorted(s for s, _ in per_item) == sorted(
        township_items + seed.info.poor_villages[:3]
    ) and {n for _, n in per_item} == {1}
    assert set(session.scalars(select(Strategy.status))) == {"approved"}
    assert set(session.scalars(select(Plan.status))) == {"approved"}


def test_refusals_are_grouped_and_the_dashboard_names_townships(session: Session) -> None:
    from zhucun.tasks.review import dashboard_task, form_task, policy_for, submit_task, sync_states

    seed = seed_at_township(session)
    session.commit()
    codes = seed.info.poor_villages[:3]
    sync_states(session, YEAR, [*codes, VILLAGE2], policy=policy_for(session, "130624", YEAR))
    session.commit()
    wrong = {"reviewer_id": "C010", "approve_all": True}  # a team member at the township
    res = submit_task.fn("130624", YEAR, "130624100", "township", wrong, villages=codes)
    assert res["accepted"] == 0 and res["refused"] > 3
    form = form_task.fn("130624", YEAR, "130624100", "township", codes)
    refusal_lines = [ln for ln in form["markdown"].splitlines() if "does not hold" in ln]
    assert len(refusal_lines) == 1 and f"×{res['refused']}" in refusal_lines[0]

    md = dashboard_task.fn("130624", YEAR)
    assert "审核看板：阜平县（130624）" in md
    assert "阜平镇（130624100）" in md and "城南乡（130624101）" in md
    assert "乡镇（township）" in md


def test_the_dashboard_counts_what_waits_and_what_is_overdue_as_the_rule_does(
    session: Session,
) -> None:
    """The dashboard is one grouped statement; `rules.review_notice.is_overdue` per item is
    its reference: waiting *longer* than the deadline (an item entered exactly the deadline
    ago is not yet overdue)."""
    from datetime import UTC, datetime, timedelta

    from zhucun.models import ReviewState
    from zhucun.tasks.review import dashboard, policy_for, sync_states

    from zhucun.rules.review_notice import is_overdue

    seed = seed_at_township(session)
    session.commit()
    policy = policy_for(session, "130624", YEAR)
    sync_states(session, YEAR, [*seed.info.poor_villages[:3], VILLAGE2], policy=policy)
    session.commit()
    at = datetime.now(UTC)
    deadline = timedelta(days=policy.review_deadline_days)
    states = session.scalars(
        select(ReviewState).where(ReviewState.stage.is_not(None)).order_by(ReviewState.id)
    ).all()
    for i, s in enumerate(states):
        if i % 3 == 0:
            s.entered_at = at - deadline - timedelta(hours=1)
    states[1].entered_at = at - deadline
    session.commit()

    _, rows = dashboard(session, "130624", YEAR, at=at, policy=policy)
    expected: dict[tuple[str, str], list] = {}
    for s in states:
        e = expected.setdefault((s.village_code[:9], str(s.stage)), [0, 0, set(), 0])
        e[0 if s.subject == "strategy" else 1] += 1
        e[2].add(s.village_code)
        e[3] += is_overdue(s.entered_at, at, policy)
    got = {
        (r["township_code"], r["stage"]): [r["strategies"], r["plans"], r["villages"], r["overdue"]]
        for r in rows
    }
    assert got == {k: [a, b, len(v), late] for k, (a, b, v, late) in expected.items()}
    assert 0 < sum(r["overdue"] for r in rows) < len(states)
