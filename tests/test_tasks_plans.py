"""Village plan task: items, funding, the sponsor's budget, redrafting rules."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select
from sqlmodel import Session
from zhucun.models import AuditEvent, Plan, PlanItem, SponsorResource
from zhucun.tasks.analysis import analyse_villages_task
from zhucun.tasks.causes import assess_causes_task
from zhucun.tasks.common import Scope
from zhucun.tasks.plans import draft_plans_task, sponsor_groups

from tests.support.county import COUNTY, SeedInfo, seed_county
from tests.support.lifecycle_fixtures import agency_cadres, make_team
from zhucun.policy import default_policy

YEAR = 2026
AGENCY = "省农业农村厅"


@pytest.fixture
def county(session: Session) -> SeedInfo:
    """Seeded county, causes and analysis done, one team (one sponsor) per poor village."""
    info = seed_county(session)
    session.commit()
    assess_causes_task.fn(COUNTY, YEAR, info.villages)
    analyse_villages_task.fn(COUNTY, YEAR, info.villages)
    cadres = agency_cadres(session, AGENCY, 30, skip=2)
    for i, v in enumerate(info.poor_villages):
        make_team(session, v, cadres[i * 3 : i * 3 + 3])
    session.commit()
    return info


def run_all(session: Session) -> list[dict]:
    groups = sponsor_groups(session, Scope(county=COUNTY), YEAR)
    return [draft_plans_task.fn(COUNTY, YEAR, g["agency"], g["villages"]) for g in groups]


def sponsor_spent(session: Session) -> float:
    return session.execute(
        select(func.coalesce(func.sum(PlanItem.cost_yuan), 0)).where(
            PlanItem.funding_source == "sponsor_unit"
        )
    ).scalar_one()


def test_every_poor_village_gets_a_plan_answering_gaps_and_causes(
    session: Session, county: SeedInfo
) -> None:
    run_all(session)
    plans = session.scalars(select(Plan)).all()
    assert {p.village_code for p in plans} == set(county.poor_villages)
    items = session.scalars(select(PlanItem)).all()
    assert items
    policy_costs = set(default_policy(YEAR, "east").plan_item_cost_yuan.values())
    for it in items:
        assert it.answers.split(":")[0] in ("gap", "cause")
        assert it.category in ("infrastructure", "industry", "culture", "public_service")
        assert it.cost_yuan in policy_costs
    assert {p.sponsor_agency for p in plans} == {AGENCY}


def test_sponsor_budget_is_never_over_allocated(session: Session, county: SeedInfo) -> None:
    """Items beyond the sponsor's remaining budget go to integrated county funds."""
    session.add(SponsorResource(agency=AGENCY, cycle_year=YEAR, budget_yuan=1_000_000))
    session.commit()
    run_all(session)
    res = session.scalars(select(SponsorResource)).one()
    assert res.allocated_yuan <= 1_000_000
    assert res.allocated_yuan == pytest.approx(sponsor_spent(session))
    county_funded = session.scalars(
        select(PlanItem).where(PlanItem.funding_source == "integrated_county_funds")
    ).all()
    assert county_funded


def test_budget_from_policy_by_agency_level_when_not_set(
    session: Session, county: SeedInfo
) -> None:
    run_all(session)
    res = session.scalars(select(SponsorResource)).one()
    per_village = default_policy(YEAR, "east").sponsor_budget_yuan["provincial"]
    assert res.budget_yuan == per_village * len(county.poor_villages)


def test_two_concurrent_tasks_of_one_sponsor_cannot_over_allocate(
    session: Session, county: SeedInfo
) -> None:
    """Two operators drafting two halves of one sponsor's villages at the same time."""
    session.add(SponsorResource(agency=AGENCY, cycle_year=YEAR, budget_yuan=2_000_000))
    session.commit()
    halves = [county.poor_villages[:2], county.poor_villages[2:]]
    errors: list[BaseException] = []

    def work(villages: list[str]) -> None:
        try:
            draft_plans_task.fn(COUNTY, YEAR, AGENCY, villages)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(h,)) for h in halves]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    session.expire_all()
    res = session.scalars(select(SponsorResource)).one()
    assert res.allocated_yuan <= res.budget_yuan
    assert res.allocated_yuan == pytest.approx(sponsor_spent(session))


def test_rerun_changes_nothing(session: Session, county: SeedInfo) -> None:
    run_all(session)
    before = (
        session.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
        session.execute(select(func.count()).select_from(PlanItem)).scalar_one(),
        session.scalars(select(SponsorResource.allocated_yuan)).one(),
    )
    results = run_all(session)
    assert sum(r["written"] for r in results) == 0
    after = (
        session.execute(select(func.count()).select_from(AuditEvent)).scalar_one(),
        session.execute(select(func.count()).select_from(PlanItem)).scalar_one(),
        session.scalars(select(SponsorResource.allocated_yuan)).one(),
    )
    assert before == after


def test_plan_in_review_is_not_redrafted_and_keeps_its_allocation(
    session: Session, county: SeedInfo
) -> None:
    run_all(session)
    plan = session.scalars(select(Plan).where(Plan.village_code == county.poor_villages[0])).one()
    plan.status = "team_signed"
    session.commit()
    items_before = session.scalars(select(PlanItem.id).where(PlanItem.plan_id == plan.id)).all()
    results = run_all(session)
    assert sum(r["kept_in_review"] for r in results) == 1
    assert (
        session.scalars(select(PlanItem.id).where(PlanItem.plan_id == plan.id)).all()
        == items_before
    )


def test_returned_plan_is_redrafted_with_a_new_version(session: Session, county: SeedInfo) -> None:
    run_all(session)
    plan = session.scalars(select(Plan).where(Plan.village_code == county.poor_villages[1])).one()
    plan.status = "returned"
    session.commit()
    run_all(session)
    session.expire_all()
    plan = session.get(Plan, plan.id)
    assert (plan.status, plan.version) == ("draft", 2)
    res = session.scalars(select(SponsorResource)).one()
    assert res.allocated_yuan == pytest.approx(sponsor_spent(session))
    assert session.scalars(select(AuditEvent).where(AuditEvent.action == "plan_redrafted")).one()
