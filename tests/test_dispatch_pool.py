"""The flow run's cached cadre pool (tasks/dispatch_pool.py) gives exactly the dispatch a
re-read per chunk gives, and reloads when the database moved under it."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select
from sqlmodel import Session
from zhucun.models import HelperAssignment, Shortage, Team, TeamMember
from zhucun.tasks import dispatch_pool
from zhucun.tasks.common import Scope
from zhucun.tasks.dispatch import dispatch_chunk, plan_chunks

from tests.support.county import COUNTY, seed_county
from tests.support.invariants_dispatch import check_dispatch_invariants

YEAR = 2026


def run(session: Session, cached: bool) -> int:
    """The flow's loop without Prefect (small chunks: several per run); returns chunks."""
    chunks = plan_chunks(session, Scope(county=COUNTY), YEAR, batch_size=10)
    for chunk in chunks:
        dispatch_chunk(session, COUNTY, YEAR, chunk)
        session.commit()
        if cached:
            dispatch_pool.POOLS.committed()
    return len(chunks)


def outcome(session: Session) -> tuple[dict[str, list[str]], dict[str, str]]:
    teams: dict[str, list[str]] = {}
    for village, cid in session.execute(
        select(Team.village_code, TeamMember.cadre_id)
        .join(TeamMember, TeamMember.team_id == Team.team_id)
        .order_by(Team.village_code, TeamMember.cadre_id)
    ):
        teams.setdefault(village, []).append(cid)
    helpers = dict(
        session.execute(select(HelperAssignment.household_id, HelperAssignment.cadre_id)).all()
    )
    return teams, helpers


def wipe(session: Session) -> None:
    for m in (TeamMember, Team, HelperAssignment, Shortage):  # audit is append-only
        session.execute(delete(m))
    session.commit()


def test_cached_pool_dispatches_exactly_like_a_reread_per_chunk(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_county(session, villages=8, poor_villages=6, households_per_village=30)
    session.commit()
    dispatch_pool.POOLS.forget()
    assert run(session, cached=False) > 1
    plain = outcome(session)
    wipe(session)
    monkeypatch.setattr(dispatch_pool, "current_flow_run_id", lambda: "run-1")
    loads = []
    real = dispatch_pool.load_spouse_pairs
    monkeypatch.setattr(dispatch_pool, "load_spouse_pairs", lambda s: loads.append(1) or real(s))
    run(session, cached=True)
    assert outcome(session) == plain
    assert len(loads) == 1, "the pool is loaded once per flow run"
    assert check_dispatch_invariants(session, COUNTY, YEAR) == []
    dispatch_pool.POOLS.forget()


def test_cache_reloads_when_the_database_changed(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_county(session)
    session.commit()
    monkeypatch.setattr(dispatch_pool, "current_flow_run_id", lambda: "run-2")
    loads = []
    real = dispatch_pool.load_spouse_pairs
    monkeypatch.setattr(dispatch_pool, "load_spouse_pairs", lambda s: loads.append(1) or real(s))
    dispatch_pool.POOLS.forget()
    dispatch_pool.POOLS.pool(session, YEAR, {})
    dispatch_pool.POOLS.pool(session, YEAR, {})
    assert len(loads) == 1
    session.execute(delete(TeamMember))  # what another run in a shared database might do
    dispatch_pool.POOLS.pool(session, YEAR, {})
    assert len(loads) == 1  # nothing active yet: same fingerprint, nothing to reload
    dispatch_pool.POOLS.state.fingerprint = (-1, 0, 0)
    dispatch_pool.POOLS.pool(session, YEAR, {})
    assert len(loads) == 2
    dispatch_pool.POOLS.forget()
