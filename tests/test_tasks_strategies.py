"""Household strategy task: eligibility on real rows, redrafting rules, idempotency."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from zhucun.models import AuditEvent, Household, Strategy, StrategyMeasure
from zhucun.tasks.causes import assess_causes_task
from zhucun.tasks.strategies import draft_strategies_task

from tests.support.county import COUNTY, SeedInfo, seed_county
from tests.support.invariants_lifecycle import check_lifecycle_invariants

YEAR = 2026


@pytest.fixture
def county(session: Session) -> SeedInfo:
    info = seed_county(session)
    session.commit()
    assess_causes_task.fn(COUNTY, YEAR, info.villages)
    return info


def run(info: SeedInfo) -> dict:
    return draft_strategies_task.fn(COUNTY, YEAR, info.villages)


def measures_of(session: Session, hid: str) -> set[str]:
    return set(
        session.scalars(
            select(StrategyMeasure.measure)
            .join(Strategy, Strategy.id == StrategyMeasure.strategy_id)
            .where(Strategy.household_id == hid)
        )
    )


def test_every_poor_household_gets_a_strategy_obeying_eligibility(
    session: Session, county: SeedInfo
) -> None:
    result = run(county)
    assert result["households"] == len(county.poor_households)
    assert session.execute(select(func.count()).select_from(Strategy)).scalar_one() == len(
        county.poor_households
    )
    problems = [
        p
        for p in check_lifecycle_invariants(session, COUNTY, YEAR)
        if p.startswith("strategy") or "no strategy" in p
    ]
    assert problems == []


def test_c_and_d_houses_get_renovation_a_and_b_do_not(session: Session, county: SeedInfo) -> None:
    run(county)
    for hid in county.poor_households:
        grade = session.get(Household, hid).housing_grade
        assert ("housing" in measures_of(session, hid)) == (grade in "CD"), (hid, grade)


def test_no_labour_household_gets_the_floor_and_no_microcredit(
    session: Session, county: SeedInfo
) -> None:
    run(county)
    no_labour = session.scalars(
        select(Household.household_id).where(
            Household.labour_count == 0, Household.household_id.in_(county.poor_households)
        )
    ).all()
    assert no_labour
    for hid in no_labour:
        ms = measures_of(session, hid)
        assert "social_security" in ms and "microcredit" not in ms


def test_rerun_writes_nothing(session: Session, county: SeedInfo) -> None:
    run(county)
    audits = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    ids = session.scalars(select(StrategyMeasure.id).order_by(StrategyMeasure.id)).all()
    assert run(county)["written"] == 0
    assert session.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == audits
    assert session.scalars(select(StrategyMeasure.id).order_by(StrategyMeasure.id)).all() == ids


def test_strategy_in_review_is_left_alone_returned_is_redrafted(
    session: Session, county: SeedInfo
) -> None:
    """Returned → draft with version + 1 (the review sent it back to drafting)."""
    run(county)
    signed, returned = county.poor_households[:2]
    for hid, status in ((signed, "team_signed"), (returned, "returned")):
        s = session.scalars(select(Strategy).where(Strategy.household_id == hid)).one()
        s.status = status
    session.commit()
    result = run(county)
    assert (result["kept_in_review"], result["redrafted"], result["written"]) == (1, 1, 1)
    session.expire_all()
    s1 = session.scalars(select(Strategy).where(Strategy.household_id == signed)).one()
    s2 = session.scalars(select(Strategy).where(Strategy.household_id == returned)).one()
    assert (s1.status, s1.version) == ("team_signed", 1)
    assert (s2.status, s2.version) == ("draft", 2)
    audit = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "strategy_redrafted")
    ).one()
    assert audit.before["status"] == "returned" and audit.after["status"] == "draft"


def test_a_household_left_halfway_is_completed_without_duplicates(
    session: Session, county: SeedInfo
) -> None:
    run(county)
    victim = session.scalars(
        select(Strategy).where(Strategy.village_code == county.poor_villages[0])
    ).all()
    for s in victim:
        session.execute(
            StrategyMeasure.__table__.delete().where(StrategyMeasure.strategy_id == s.id)
        )
        session.delete(s)
    session.commit()
    result = run(county)
    assert result["written"] == len(victim)
    assert session.execute(select(func.count()).select_from(Strategy)).scalar_one() == len(
        county.poor_households
    )
