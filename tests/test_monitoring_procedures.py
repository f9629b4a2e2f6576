"""Monitoring on the procedure engine (issue 13), on a real database: the monthly run opens
the identification procedure of a household it finds, which becomes a monitoring object
only at the county's approval (with a helper and a draft strategy holding a development
measure); 风险消除 is proposed only when all six conditions hold — never with a drafted
measure, under six months or without labour — and the case closes only at the
announcement of its own procedure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update
from sqlmodel import Session
from zhucun.models import (
    Decision,
    HelperAssignment,
    Household,
    MonitoringCase,
    ProcedureCase,
    Strategy,
    StrategyMeasure,
)
from zhucun.models.lifecycle import MeasureDelivery
from zhucun.tasks.evaluation import monitor_relapse_task
from zhucun.tasks.procedure_step import standing
from zhucun.tasks.review_ledger import decide
from zhucun.tasks.review_load import policy_for
from zhucun.tasks.review_publicity import close_publicity

from tests.support.county import COUNTY, add_surveys
from tests.support.database import prepared_engine
from tests.support.lifecycle_fixtures import survey
from tests.support.review_fixtures import ReviewSeed, seed_review
from zhucun.idnumber import make_id_number
from zhucun.policy import default_policy
from zhucun.rules import monitoring as mrules
from zhucun.rules import procedure as proc
from zhucun.rules import review as rules
from zhucun.settings import reset_settings

YEAR = 2026
THRESHOLD = mrules.threshold(default_policy(YEAR, "east", "13"))
TALLY = {"representatives": 30, "present": 24, "in_favour": 20}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def session(
    request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Session]:
    """The test's database, SQLite and PostgreSQL: these tasks write with dialect inserts
    (ON CONFLICT), partial indexes and JSON columns."""
    if request.param == "postgresql":
        monkeypatch.setenv("ZHUCUN_DATABASE_URL", request.getfixturevalue("postgres_url"))
        reset_settings()
    with Session(prepared_engine(), expire_on_commit=False) as s:
        yield s


@pytest.fixture
def seeded(session: Session) -> ReviewSeed:
    seed = seed_review(session, plans=False)
    session.commit()
    return seed


def one(session: Session, r: rules.Request, today: date) -> rules.Verdict:
    out = decide(session, [r], cycle_year=YEAR, channel="cli", county=COUNTY, today=today)
    session.commit()
    return out.outcomes[0].verdict


def req(subject: str, hid: str, stage: str, who: str, on: date, **details: object) -> rules.Request:
    return rules.Request(subject, hid, stage, who, "approve", None, on, details or None)


def case(session: Session, procedure: str, hid: str) -> ProcedureCase:
    session.expire_all()
    return session.scalars(
        select(ProcedureCase).where(
            ProcedureCase.procedure == procedure, ProcedureCase.subject_id == hid
        )
    ).one()


def monitoring(session: Session, hid: str) -> MonitoringCase:
    session.expire_all()
    return session.scalars(select(MonitoringCase).where(MonitoringCase.household_id == hid)).one()


def run(seeded: ReviewSeed, period: str, today: date) -> dict:
    return monitor_relapse_task.fn(COUNTY, period, seeded.info.villages, today=today.isoformat())


def test_an_edge_household_becomes_a_monitoring_object_only_at_the_countys_approval(
    session: Session, seeded: ReviewSeed
) -> None:
    """边缘易致贫户, never registered: 2,500 yuan a head after an illness (the issue's case)."""
    v0 = seeded.info.poor_villages[0]
    row = session.execute(select(Household.__table__).limit(1)).mappings().one()
    edge, head_no = f"H{v0[-3:]}099", make_id_number(COUNTY, date(1980, 5, 5), 9099)
    session.execute(
        insert(Household),
        [dict(row) | dict(household_id=edge, village_code=v0, head_name="边缘户主",
                          head_id_number=head_no, status="non_poor", registered_poor=False,
                          size=4, labour_count=2, medical_spending_yuan=0,
                          education_spending_yuan=0, head_birth_year=1980)],
    )  # fmt: skip
    add_surveys(session, [survey(edge, date(2026, 2, 10), 2500.0, shock="illness")])
    session.commit()
    day = date(2026, 3, 2)
    out = run(seeded, "2026-02", day)
    assert out["monitor_cases"] == 1 and run(seeded, "2026-02", day)["monitor_cases"] == 0
    assert (monitoring(session, edge).status, case(session, "monitor", edge).status) == (
        "pending",
        "visit",
    )
    ps = seeded.officials(v0)["party_secretary"]
    team = seeded.teams[v0]
    # 承诺授权 is the household's own: a neighbour cannot consent for it
    v = one(session, req("monitor", edge, "visit", team[0], day, acknowledged_by="邻居李某"), day)
    assert not v.accepted and "not of this household" in (v.refusal or "")
    v = one(session, req("monitor", edge, "visit", team[0], day, acknowledged_by="边缘户主"), day)
    assert v.accepted, v.refusal
    # 信息比对 runs as the case reaches it: no sector finding, on to the appraisal
    assert case(session, "monitor", edge).status == "appraisal"
    auto = session.scalars(
        select(Decision.reason).where(Decision.subject_id == edge, Decision.stage == "crosscheck")
    ).one()
    assert auto == "数据比对无异常"
    assert one(session, req("monitor", edge, "appraisal", ps, day, **TALLY), day).accepted
    # the village publicity: five days, head name and size only — no ID number, no illness
    notices = "\n".join(standing(session, COUNTY, YEAR, day)["notices"])
    assert "防止返贫监测对象识别公示" in notices and "边缘户主" in notices
    assert head_no not in notices and "因病" not in notices and "illness" not in notices
    close_publicity(session, today=day + timedelta(days=4))
    session.commit()
    assert case(session, "monitor", edge).status == "publicity"
    later = day + timedelta(days=5)
    close_publicity(session, today=later)
    session.commit()
    assert one(session, req("monitor", edge, "township", "T1", later), later).accepted
    assert monitoring(session, edge).status == "pending"  # reviewed, not yet approved
    assert one(session, req("monitor", edge, "county", "X0", later), later).new_status == proc.DONE
    mc = monitoring(session, edge)
    assert (mc.status, mc.category, mc.opened_on) == ("open", "edge", later)
    assert "illness" in (mc.risk_types or [])
    # help with the announcement: a helper of the village's team, a development measure
    helper = session.scalars(
        select(HelperAssignment.cadre_id).where(HelperAssignment.household_id == edge)
    ).one()
    assert helper in team
    measures = session.scalars(
        select(StrategyMeasure.measure)
        .join(Strategy, Strategy.id == StrategyMeasure.strategy_id)
        .where(Strategy.household_id == edge, Strategy.status == "draft")
    ).all()
    policy = policy_for(session, COUNTY, YEAR)
    assert set(measures) & set(policy.monitoring_development_measures), measures


def test_a_household_that_refuses_consent_is_not_monitored_and_may_be_found_again(
    session: Session, seeded: ReviewSeed
) -> None:
    """承诺授权 refused: the case ends with the reason, the household is no monitoring object;
    a later month's finding starts the procedure again as a new version (history kept)."""
    v0 = seeded.info.poor_villages[0]
    hid = seeded.strategies[v0][4]
    session.execute(update(Household).where(Household.household_id == hid).values(status="exited"))
    add_surveys(session, [survey(hid, date(2026, 2, 10), THRESHOLD - 500)])
    session.commit()
    day = date(2026, 3, 2)
    assert run(seeded, "2026-02", day)["monitor_cases"] == 1
    refuse = rules.Request("monitor", hid, "visit", seeded.teams[v0][0], "reject",
                           "农户不同意授权核查家庭资产", day)  # fmt: skip
    assert one(session, refuse, day).new_status == proc.REJECTED
    assert monitoring(session, hid).status == "rejected"
    add_surveys(session, [survey(hid, date(2026, 5, 10), THRESHOLD - 800)])
    session.commit()
    later = date(2026, 6, 2)
    assert run(seeded, "2026-05", later)["monitor_cases"] == 1
    c = case(session, "monitor", hid)
    assert (c.status, c.version) == ("visit", 2)
    session.expire_all()
    statuses = session.scalars(
        select(MonitoringCase.status).where(MonitoringCase.household_id == hid)
    ).all()
    assert sorted(statuses) == ["pending", "rejected"]


def _monitored(
    session: Session,
    seeded: ReviewSeed,
    n: int,
    *,
    opened: date = date(2026, 1, 31),
    labour: int = 2,
    delivered: bool = True,
) -> str:
    """An exited household monitored since `opened`, income well above the threshold every
    month since February, a measure delivered (or only drafted)."""
    v0 = seeded.info.poor_villages[0]
    hid = seeded.strategies[v0][n]
    session.execute(
        update(Household)
        .where(Household.household_id == hid)
        .values(status="exited", labour_count=labour, medical_spending_yuan=0,
                education_spending_yuan=0)
    )  # fmt: skip
    session.add(
        MonitoringCase(household_id=hid, village_code=v0, category="unstable_exited",
                       trigger="under_threshold", opened_period=f"{opened:%Y-%m}",
                       opened_on=opened, status="open")
    )  # fmt: skip
    if delivered:
        session.add(
            MeasureDelivery(household_id=hid, village_code=v0, cycle_year=YEAR,
                            measure="industry", state="delivered", state_on=date(2026, 2, 1),
                            spent_yuan=5000)
        )  # fmt: skip
    add_surveys(session, [survey(hid, date(2026, m, 15), THRESHOLD + 2000) for m in range(2, 9)])
    return hid


def test_risk_elimination_needs_all_six_conditions_and_its_own_announcement(
    session: Session, seeded: ReviewSeed
) -> None:
    ready = _monitored(session, seeded, 0)
    drafted = _monitored(session, seeded, 1, delivered=False)  # a measure on paper only
    recent = _monitored(session, seeded, 2, opened=date(2026, 4, 30))  # four months
    no_labour = _monitored(session, seeded, 3, labour=0)
    session.commit()
    day = date(2026, 9, 2)
    out = run(seeded, "2026-08", day)
    assert (out["tracked"], out["relieve_cases"]) == (4, 1)
    held = {k: v for k, v in out.items() if k.startswith("held_")}
    assert held == {
        "held_measure_delivered": 1,
        "held_monitored_long_enough": 1,
        "held_has_labour": 1,
    }
    assert run(seeded, "2026-08", day)["relieve_cases"] == 0  # once
    for hid in (drafted, recent, no_labour):
        assert not session.scalars(
            select(ProcedureCase).where(ProcedureCase.subject_id == hid)
        ).all()
        assert monitoring(session, hid).status == "open"
    # the procedure: 入户核实 → 民主评议 → 公示 → 乡镇审核 → 公告; open until the announcement
    v0 = seeded.info.poor_villages[0]
    assert case(session, "relieve", ready).status == "visit"
    assert one(session, req("relieve", ready, "visit", seeded.teams[v0][0], day), day).accepted
    ps = seeded.officials(v0)["party_secretary"]
    assert one(session, req("relieve", ready, "appraisal", ps, day, **TALLY), day).accepted
    later = day + timedelta(days=5)
    close_publicity(session, today=later)
    session.commit()
    assert one(session, req("relieve", ready, "township", "T1", later), later).accepted
    assert monitoring(session, ready).status == "open"
    assert one(session, req("relieve", ready, "announce", "X0", later), later).accepted
    mc = monitoring(session, ready)
    assert (mc.status, mc.closed_period) == ("closed", "2026-09")
    # the household's history stays: the case, its procedure and every decision
    stages = session.scalars(select(Decision.stage).where(Decision.subject_id == ready)).all()
    assert set(stages) >= {"visit", "appraisal", "publicity", "township", "announce"}
    assert case(session, "relieve", ready).status == proc.DONE
