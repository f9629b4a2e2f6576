"""Progress evaluation tasks on real rows (line 4,000 yuan and monitoring threshold from
the 2026 policy). The evaluation reports households at risk; monitoring cases and their
risk elimination are the monitoring run's (tests/test_monitoring_procedures.py)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session
from zhucun.models import (
    AuditEvent,
    Evaluation,
    Household,
    MonitoringCase,
    VillageStatus,
)
from zhucun.tasks.evaluation import evaluate_progress_task

from tests.support.county import COUNTY, SeedInfo, add_surveys, seed_county
from tests.support.lifecycle_fixtures import survey
from zhucun.policy import default_policy

P = default_policy(2026, "east")
LINE, THRESHOLD = P.poverty_line_yuan, P.monitoring_threshold_yuan


@pytest.fixture
def county(session: Session) -> SeedInfo:
    info = seed_county(session)
    session.commit()
    return info


def evaluate(info: SeedInfo, period: str) -> dict:
    return evaluate_progress_task.fn(COUNTY, period, info.villages)


def outcome(session: Session, hid: str, period: str) -> Evaluation:
    return session.scalars(
        select(Evaluation).where(Evaluation.household_id == hid, Evaluation.period == period)
    ).one()


def set_status(session: Session, hid: str, status: str, labour: int | None = None) -> None:
    values: dict = {"status": status}
    if labour is not None:
        values["labour_count"] = labour
    session.execute(update(Household).where(Household.household_id == hid).values(**values))


def test_one_yuan_over_the_line_with_a_c_house_does_not_exit(
    session: Session, county: SeedInfo
) -> None:
    hid = county.poor_households[0]
    add_surveys(session, [survey(hid, date(2026, 5, 10), LINE + 1, housing_grade="C")])
    session.commit()
    evaluate(county, "2026-06")
    e = outcome(session, hid, "2026-06")
    assert (e.outcome, e.income_ok, e.guarantees_ok) == ("remain", True, False)
    assert session.get(Household, hid).status == "poor"


def test_income_at_the_line_does_not_meet_exit_above_it_does(
    session: Session, county: SeedInfo
) -> None:
    at, above = county.poor_households[:2]
    add_surveys(
        session, [survey(at, date(2026, 6, 1), LINE), survey(above, date(2026, 6, 1), LINE + 1)]
    )
    session.commit()
    evaluate(county, "2026-06")
    assert outcome(session, at, "2026-06").outcome == "remain"
    assert outcome(session, above, "2026-06").outcome == "exit"
    session.expire_all()
    hh = session.get(Household, above)
    # conditions met in one survey: never flipped (exit is proposed, tests/test_exit_proposals)
    assert (hh.status, hh.exited_period) == ("poor", None)
    assert not session.scalars(select(AuditEvent).where(AuditEvent.entity_id == above)).all()


def test_latest_survey_on_or_before_the_period_counts(session: Session, county: SeedInfo) -> None:
    hid = county.poor_households[0]
    add_surveys(
        session,
        [
            survey(hid, date(2026, 3, 1), LINE + 500),
            survey(hid, date(2026, 6, 20), LINE - 500),
            survey(hid, date(2026, 7, 2), LINE + 900),
        ],
    )
    session.commit()
    evaluate(county, "2026-06")
    assert outcome(session, hid, "2026-06").per_capita_income_yuan == LINE - 500


def test_rerun_of_a_period_changes_nothing(session: Session, county: SeedInfo) -> None:
    add_surveys(
        session, [survey(h, date(2026, 6, 1), LINE + 100) for h in county.poor_households[:10]]
    )
    session.commit()
    first = evaluate(county, "2026-06")
    counts = [
        session.execute(select(func.count()).select_from(m)).scalar_one()
        for m in (Evaluation, AuditEvent, VillageStatus, MonitoringCase)
    ]
    again = evaluate(county, "2026-06")
    assert again["evaluated"] == 0 and again["already_evaluated"] == first["evaluated"]
    assert [
        session.execute(select(func.count()).select_from(m)).scalar_one()
        for m in (Evaluation, AuditEvent, VillageStatus, MonitoringCase)
    ] == counts


def test_evaluation_reports_households_at_risk_and_opens_no_case(
    session: Session, county: SeedInfo
) -> None:
    """脱贫不稳定户 (under 1.5x the line) and a shock are *reported* (outcome, relapse-risk
    list); only the monitoring run decides who is monitored, by its own rules and
    procedure (tests/test_monitoring_run.py, test_monitoring_procedures.py). Formerly the
    evaluation opened cases by `rules.exit`: one household, two rules."""
    under, shocked = county.poor_households[:2]
    set_status(session, under, "exited")
    set_status(session, shocked, "exited")
    add_surveys(
        session,
        [
            survey(under, date(2026, 6, 1), THRESHOLD - 1),
            survey(shocked, date(2026, 6, 1), THRESHOLD * 2, shock="illness"),
        ],
    )
    session.commit()
    out = evaluate(county, "2026-06")
    assert outcome(session, under, "2026-06").outcome == "monitor"
    assert outcome(session, shocked, "2026-06").outcome == "monitor"
    assert out["monitoring"] == {"at_risk_reported": 2}
    assert session.scalars(select(MonitoringCase)).all() == []


def test_exited_household_back_under_the_line_relapses(session: Session, county: SeedInfo) -> None:
    hid = county.poor_households[0]
    set_status(session, hid, "exited")
    add_surveys(session, [survey(hid, date(2026, 6, 1), LINE - 100)])
    session.commit()
    evaluate(county, "2026-06")
    assert outcome(session, hid, "2026-06").outcome == "relapse"
    session.expire_all()
    assert session.get(Household, hid).status == "relapsed"
    # registered poor again, helped as such: no monitoring case (rules.monitoring)
    assert session.scalars(select(MonitoringCase)).all() == []


def test_village_whose_poor_all_exit_becomes_exit_eligible_once(
    session: Session, county: SeedInfo
) -> None:
    village = county.poor_villages[0]
    members = [h for h in county.poor_households if h.startswith(f"H{village[-3:]}")]
    for h in members:  # exited through the exit procedure (an evaluation never exits)
        set_status(session, h, "exited")
    add_surveys(session, [survey(h, date(2026, 6, 1), LINE * 3) for h in members])
    session.commit()
    result = evaluate(county, "2026-06")
    row = next(v for v in result["villages"] if v["village"] == village)
    assert row["exit_eligible"] and row["newly_eligible"] and row["incidence_pct"] == 0
    status = session.scalars(
        select(VillageStatus).where(VillageStatus.village_code == village)
    ).one()
    assert status.exit_eligible
    later = evaluate(county, "2026-07")
    assert not next(v for v in later["villages"] if v["village"] == village)["newly_eligible"]


def test_non_poor_village_is_never_exit_eligible(session: Session, county: SeedInfo) -> None:
    result = evaluate(county, "2026-06")
    rich = [v for v in result["villages"] if v["village"] not in county.poor_villages]
    assert rich and not any(v["exit_eligible"] for v in rich)
