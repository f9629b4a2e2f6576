"""Village analysis task."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session
from zhucun.models import AuditEvent, VillageAssessment
from zhucun.tasks.analysis import analyse_villages_task
from zhucun.tasks.causes import assess_causes_task, record_override

from tests.support.county import COUNTY, seed_county
from tests.support.lifecycle_fixtures import agency_cadres, make_team

YEAR = 2026


def test_incidence_gaps_and_causes_per_village(session: Session) -> None:
    """贫困发生率 = poor persons / population; gaps from missing facilities."""
    info = seed_county(session)
    session.commit()
    result = analyse_villages_task.fn(COUNTY, YEAR, info.villages)
    assert result["villages"] == len(info.villages)
    rows = {r.village_code: r for r in session.scalars(select(VillageAssessment))}
    v0 = rows[info.poor_villages[0]]
    assert v0.poor_households == 20
    assert 0 < v0.poverty_incidence < 1
    assert "collective_income" in v0.gaps and "industry" in v0.gaps
    assert sum(v0.cause_distribution.values()) == 20
    assert v0.top_causes and v0.top_causes[0] == max(
        v0.cause_distribution, key=v0.cause_distribution.get
    )
    rich = rows[info.villages[-1]]
    assert rich.poor_households == 2 and rich.poverty_incidence < v0.poverty_incidence
    assert rich.need_score < v0.need_score


def test_distribution_follows_assessed_causes_and_overrides(session: Session) -> None:
    info = seed_county(session)
    session.commit()
    assess_causes_task.fn(COUNTY, YEAR, info.villages)
    village = info.poor_villages[2]
    cadres = agency_cadres(session, "县卫生健康局", 3, skip=5)
    make_team(session, village, cadres)
    hid = next(h for h in info.poor_households if h.startswith(f"H{village[-3:]}"))
    record_override(
        session,
        household_id=hid,
        cycle_year=YEAR,
        main_cause="motivation",
        other_causes=[],
        reason="评议",
        by=cadres[0],
    )
    session.commit()
    analyse_villages_task.fn(COUNTY, YEAR, [village])
    row = session.scalars(select(VillageAssessment)).one()
    assert row.cause_distribution.get("motivation", 0) >= 1


def test_rerun_writes_nothing(session: Session) -> None:
    info = seed_county(session)
    session.commit()
    analyse_villages_task.fn(COUNTY, YEAR, info.villages)
    audits = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    assert analyse_villages_task.fn(COUNTY, YEAR, info.villages)["written"] == 0
    assert session.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == audits
