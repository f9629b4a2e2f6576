"""`zhucun review minutes` drafts a county's meeting minutes set-based: a chunk of villages
a pass at a time, each pass trying the first allowed signer of every waiting item in one
`decide`, then the next for those refused. What it drafts is what a clerk would sign one
village and stage at a time: the same signer for each item and stage, whatever the
chunking; the planted conflicts keep a relative off the item; the file applies whole."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from zhucun.models import Decision, Plan, Strategy
from zhucun.tasks import review_minutes as M
from zhucun.tasks.review import apply_decisions_file, policy_for

from tests.support.review_fixtures import ReviewSeed, seed_review
from zhucun.rules import review as rules

YEAR = 2026
COUNTY = "130624"
ON = date(2026, 3, 2)


@pytest.fixture
def seed(session: Session) -> ReviewSeed:
    s = seed_review(session, villages=3, households_per_village=4)
    session.commit()
    return s


def _signed(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], str]:
    out = {(r["subject"], r["subject_id"], r["stage"]): r["reviewer_id"] for r in rows}
    assert len(out) == len(rows), "one signature per item and stage"
    return out


def test_chunks_draft_what_one_draft_does_and_the_minutes_apply_whole(
    session: Session, seed: ReviewSeed, tmp_path: Path, monkeypatch: Any
) -> None:
    whole = M.draft_minutes(session, county=COUNTY, cycle_year=YEAR, decided_on=ON)
    assert session.scalar(select(func.count()).select_from(Decision)) == 0, "drafting wrote"
    monkeypatch.setattr(M, "HOUSEHOLDS_PER_CHUNK", 1)  # every village a chunk of its own
    assert _signed(M.draft_minutes(session, county=COUNTY, cycle_year=YEAR, decided_on=ON)) == (
        _signed(whole)
    )

    # every strategy and plan signed at every stage of its ladder, in the ladder's order
    policy = policy_for(session, COUNTY, YEAR)
    signed = _signed(whole)
    n_strategies = sum(len(v) for v in seed.strategies.values())
    for subject, n in (("strategy", n_strategies), ("plan", len(seed.strategies))):
        stages = [s.stage for s in rules.stages_for(policy, subject)]
        ids = {k[1] for k in signed if k[0] == subject}
        assert len(ids) == n
        for sid in ids:
            order = [r["stage"] for r in whole if (r["subject"], r["subject_id"]) == (subject, sid)]
            assert order == stages, (sid, order)

    # the planted conflicts: the township reviewer related to a head never signs that
    # household; the party secretary's sibling's household is signed at township level
    reviewer, household = seed.info.reviewer_relative_household
    assert reviewer not in {v for k, v in signed.items() if k[1] == household}
    _, favoured = seed.info.official_relative_household
    assert signed[("strategy", favoured, "committee")] in seed.info.township_reviewers

    res = apply_decisions_file(
        session, M.write_minutes(whole, tmp_path / "m.csv"), cycle_year=YEAR, county=COUNTY
    )
    assert res.ok, res.errors[:3]
    assert set(session.scalars(select(Strategy.status))) == {"approved"}
    assert set(session.scalars(select(Plan.status))) == {"approved"}


def test_a_file_applied_a_village_at_a_time_is_still_all_or_nothing(
    session: Session, seed: ReviewSeed, tmp_path: Path, monkeypatch: Any
) -> None:
    """A county's minutes are applied a chunk of villages per `decide` (memory and bound
    keys stay a chunk's, the rows wait in a temporary table): a refusal in the first
    village and one in the last are reported as one `decide` of the whole file reports
    them, and nothing of the villages between is written; the good file then applies
    whole, each row as drafted, and an edited copy skips every row already applied."""
    check_file_chunks(session, seed, tmp_path, monkeypatch)


def test_the_same_on_postgres(pg_session: Session, tmp_path: Path, monkeypatch: Any) -> None:
    seed = seed_review(pg_session, villages=3, households_per_village=4)
    pg_session.commit()
    check_file_chunks(pg_session, seed, tmp_path, monkeypatch)


def check_file_chunks(session: Session, seed: ReviewSeed, tmp_path: Path, monkeypatch: Any) -> None:
    from zhucun.tasks import review_files as F

    rows = M.draft_minutes(session, county=COUNTY, cycle_year=YEAR, decided_on=ON)
    villages = sorted(seed.strategies)
    bad = [dict(r) for r in rows]
    first = next(i for i, r in enumerate(bad) if r["subject_id"] in seed.strategies[villages[0]])
    last = max(i for i, r in enumerate(bad) if r["subject_id"] in seed.strategies[villages[-1]])
    for i in (first, last):
        bad[i]["reviewer_id"] = "NOBODY"
    bad.append(dict(bad[0], subject_id="H-NOT-REGISTERED"))  # no such item: refused too
    path = M.write_minutes(bad, tmp_path / "bad.csv")
    errors = []
    for items in (10**6, 1):  # one decide of the whole file; every village a chunk
        monkeypatch.setattr(F, "ITEMS_PER_DECIDE", items)
        res = apply_decisions_file(session, path, cycle_year=YEAR, county=COUNTY)
        errors.append(res.errors)
        assert session.scalar(select(func.count()).select_from(Decision)) == 0
        assert set(session.scalars(select(Strategy.status))) == {"draft"}
    assert errors[0] == errors[1]
    lines = {str(first + 2), str(last + 2), str(len(bad) + 1)}
    assert {e.split(":")[1] for e in errors[1]} >= lines, errors
    # refused in the last village only: the villages before it, written, are undone
    late = [dict(r, reviewer_id="NOBODY") if i == last else r for i, r in enumerate(rows)]
    res = apply_decisions_file(
        session, M.write_minutes(late, tmp_path / "late.csv"), cycle_year=YEAR, county=COUNTY
    )
    assert res.errors and session.scalar(select(func.count()).select_from(Decision)) == 0
    assert set(session.scalars(select(Strategy.status))) == {"draft"}

    res = apply_decisions_file(
        session, M.write_minutes(rows, tmp_path / "m.csv"), cycle_year=YEAR, county=COUNTY
    )
    assert res.ok, res.errors[:3]
    ledger = session.execute(
        select(Decision.subject, Decision.subject_id, Decision.stage, Decision.reviewer_id)
    ).all()
    assert sorted(map(tuple, ledger)) == sorted(
        (r["subject"], r["subject_id"], r["stage"], r["reviewer_id"]) for r in rows
    )
    assert set(session.scalars(select(Strategy.status))) == {"approved"}

    edited = apply_decisions_file(
        session, M.write_minutes(rows[::-1], tmp_path / "m2.csv"), cycle_year=YEAR, county=COUNTY
    )
    assert edited.ok and edited.result is not None
    assert edited.result.counts()["skipped"] == len(rows)
    assert session.scalar(select(func.count()).select_from(Decision)) == len(rows)
    # a flow's task keeps counts only; the very same file again is not even parsed
    counted = apply_decisions_file(
        session, tmp_path / "m2.csv", cycle_year=YEAR, county=COUNTY, keep_outcomes=False
    )
    assert counted.already_applied and counted.result is not None
    assert counted.result.outcomes == [] and counted.result.counts()["skipped"] == 0
    monkeypatch.setattr(F, "parse_decisions", lambda *a: pytest.fail("parsed again"))
    again = apply_decisions_file(
        session, tmp_path / "m.csv", cycle_year=YEAR, county=COUNTY, keep_outcomes=False
    )
    assert again.already_applied and again.result is not None
    assert again.result.counts()["skipped"] == len(rows)
