"""Cause assessment task on a real SQLite database with the seeded county."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from zhucun.models import AuditEvent, Household, HouseholdAssessment, MonitoringCase
from zhucun.tasks.causes import OverrideRefused, assess_causes_task, record_override

from tests.support.county import COUNTY, SeedInfo, seed_county
from tests.support.lifecycle_fixtures import agency_cadres, make_team
from zhucun.rules.causes import RULE_VERSION

YEAR = 2026


@pytest.fixture
def county(session: Session) -> SeedInfo:
    info = seed_county(session)
    session.commit()
    return info


def run(info: SeedInfo) -> dict:
    return assess_causes_task.fn(COUNTY, YEAR, info.villages)


def count(session: Session, model: type) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_every_poor_household_gets_one_main_cause_and_at_most_two_others(
    session: Session, county: SeedInfo
) -> None:
    """A3a exactly one, A3b at most two, distinct, each with the indicator behind it."""
    result = run(county)
    assert result["households"] == len(county.poor_households)
    rows = session.scalars(select(HouseholdAssessment)).all()
    assert {r.household_id for r in rows} == set(county.poor_households)
    for r in rows:
        causes = [r.main_cause, *r.other_causes]
        assert len(r.other_causes) <= 2 and len(set(causes)) == len(causes)
        assert set(causes) <= set(r.evidence)
        assert r.rule_version.startswith(RULE_VERSION + "+policy-")
        assert r.source == "rule"


def test_rerun_writes_nothing(session: Session, county: SeedInfo) -> None:
    run(county)
    audits = count(session, AuditEvent)
    again = run(county)
    assert again["written"] == 0
    assert count(session, AuditEvent) == audits
    assert count(session, HouseholdAssessment) == len(county.poor_households)


def test_team_override_survives_a_rerun(session: Session, county: SeedInfo) -> None:
    """The team knows the household: its recorded override is never overwritten."""
    run(county)
    village = county.poor_villages[0]
    cadres = agency_cadres(session, "省农业农村厅", 3, skip=2)
    make_team(session, village, cadres)
    hid = next(h for h in county.poor_households if h.startswith(f"H{village[-3:]}"))
    record_override(
        session,
        household_id=hid,
        cycle_year=YEAR,
        main_cause="disability",
        other_causes=["water"],
        reason="村民评议: 户主残疾",
        by=cadres[1],
        force=True,  # the card says nobody is disabled: the team goes against it, knowingly
    )
    session.commit()
    result = run(county)
    assert result["overrides_kept"] == 1
    session.expire_all()
    row = session.scalars(
        select(HouseholdAssessment).where(HouseholdAssessment.household_id == hid)
    ).one()
    assert (row.source, row.main_cause, row.other_causes) == ("override", "disability", ["water"])
    assert row.overridden_by == cadres[1] and row.override_reason
    audit = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "causes_overridden")
    ).one()
    assert audit.actor == cadres[1] and audit.after["source"] == "override"


def test_override_refused_from_someone_outside_the_team(session: Session, county: SeedInfo) -> None:
    with pytest.raises(OverrideRefused, match="neither a member"):
        record_override(
            session,
            household_id=county.poor_households[0],
            cycle_year=YEAR,
            main_cause="illness",
            other_causes=[],
            reason="x",
            by="C059",
        )


def test_override_refused_when_it_breaks_the_registry_rules(
    session: Session, county: SeedInfo
) -> None:
    with pytest.raises(OverrideRefused, match="national list"):
        record_override(
            session,
            household_id=county.poor_households[0],
            cycle_year=YEAR,
            main_cause="marriage",
            other_causes=[],
            reason="x",
            by="C002",
        )
    with pytest.raises(OverrideRefused, match="at most 2"):
        record_override(
            session,
            household_id=county.poor_households[0],
            cycle_year=YEAR,
            main_cause="illness",
            other_causes=["water", "land", "skills"],
            reason="x",
            by="C002",
        )


def test_exited_households_are_not_assessed_unless_monitored(
    session: Session, county: SeedInfo
) -> None:
    """An exited household needs no new causes, unless it is under relapse monitoring."""
    exited, monitored = county.poor_households[:2]
    for hid in (exited, monitored):
        session.get(Household, hid).status = "exited"
    session.add(
        MonitoringCase(
            household_id=monitored,
            village_code=county.villages[0],
            category="unstable_exited",
            trigger="income_below_threshold",
            opened_period="2026-01",
            opened_on=date(2026, 1, 31),
        )
    )
    session.commit()
    run(county)
    assessed = set(session.scalars(select(HouseholdAssessment.household_id)))
    assert exited not in assessed and monitored in assessed
