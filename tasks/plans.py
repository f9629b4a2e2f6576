"""Village development plans: per registered poor village one `Plan` with its `PlanItem`s,
funded by the village's sponsor unit (the active team's agency) within its `SponsorResource`
budget, the rest by integrated county funds.

Never over-allocated, by construction:
- one task per sponsor agency, so within a run no two tasks spend the same fund;
- across runs (two operators, two counties sharing a provincial sponsor), the task first
  *claims* the agency's `SponsorResource` row with a no-op UPDATE: on PostgreSQL that takes
  the row lock, on SQLite the database write lock, until the task's single commit. The
  budget is read after the claim, the items allocated, and `allocated_yuan` written in the
  same transaction; a final check refuses (rolls back) anything over budget.
A plan past `draft` keeps its items and its allocation; a returned plan is redrafted."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from prefect import task
from sqlalchemy import delete, func, insert, select, update
from sqlmodel import Session
from zhucun.models import Cadre, Plan, PlanItem, SponsorResource, Team, Village, VillageAssessment
from zhucun.models.enums import FundingSource, PlanStatus
from zhucun.models.transitions import check_transition
from zhucun.tasks.analysis import village_profiles
from zhucun.tasks.common import Scope, audit_many
from zhucun.tasks.lifecycle_db import policy_for
from zhucun.tasks.safety import guarded
from zhucun.tasks.sql import insert_ignore, upsert

from zhucun.db import session_scope
from zhucun.rules import plans as plan_rules

ACTOR = "zhucun:draft_plans"
REDRAFTABLE = (PlanStatus.draft.value, PlanStatus.returned.value)


class OverAllocation(RuntimeError):
    """A sponsor's allocation would exceed its budget: the transaction is rolled back."""


def sponsor_groups(session: Session, scope: Scope, cycle_year: int) -> list[dict[str, Any]]:
    """The scope's registered poor villages grouped by sponsor agency: the agency already on
    the village's plan if any (its allocation lives there), else the active team's agency,
    else none (all county funds). Villages without a sponsor are chunked by 50."""
    stmt = (
        select(Village.village_code, Plan.sponsor_agency, Team.agency)
        .join(
            Plan,
            (Plan.village_code == Village.village_code) & (Plan.cycle_year == cycle_year),
            isouter=True,
        )
        .join(
            Team,
            (Team.village_code == Village.village_code) & (Team.status == "active"),
            isouter=True,
        )
        .where(Village.county_code == scope.county, Village.registered_poor.is_(True))
        .order_by(Village.village_code)
    )
    if scope.villages:
        stmt = stmt.where(Village.village_code.in_(scope.villages))
    by_agency: dict[str | None, list[str]] = defaultdict(list)
    for code, plan_agency, team_agency in session.execute(stmt):
        by_agency[plan_agency or team_agency].append(code)
    groups = [
        {"agency": a, "villages": v}
        for a, v in sorted(by_agency.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
        if a is not None
    ]
    orphans = by_agency.get(None, [])
    groups += [
        {"agency": None, "villages": orphans[i : i + 50]} for i in range(0, len(orphans), 50)
    ]
    return groups


def _claim_sponsor(
    session: Session, agency: str, cycle_year: int, budget_if_new: float
) -> tuple[int, float, float]:
    """Create the agency's resource row if missing (budget from policy), then lock it."""
    insert_ignore(
        session,
        SponsorResource,
        [dict(agency=agency, cycle_year=cycle_year, budget_yuan=budget_if_new, allocated_yuan=0.0)],
        ("agency", "cycle_year"),
    )
    where = (SponsorResource.agency == agency) & (SponsorResource.cycle_year == cycle_year)
    session.execute(
        update(SponsorResource).where(where).values(allocated_yuan=SponsorResource.allocated_yuan)
    )
    stmt = select(
        SponsorResource.id, SponsorResource.budget_yuan, SponsorResource.allocated_yuan
    ).where(where)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    rid, budget, allocated = session.execute(stmt).one()
    return rid, float(budget), float(allocated)


def _agency_villages(session: Session, agency: str, cycle_year: int) -> int:
    """How many villages the agency sponsors this cycle (its teams of the cycle)."""
    return int(
        session.execute(
            select(func.count())
            .select_from(Team)
            .where(Team.agency == agency, Team.cycle_year == cycle_year)
        ).scalar_one()
    )


def _agency_level(session: Session, agency: str) -> str:
    level = session.execute(
        select(Cadre.agency_level).where(Cadre.agency == agency).limit(1)
    ).scalar()
    return level or "county"


def draft_group(
    session: Session, county: str, cycle_year: int, agency: str | None, villages: Sequence[str]
) -> dict[str, Any]:
    """Draft the plans of one sponsor's villages, neediest first, in one transaction."""
    policy = policy_for(session, county, cycle_year)
    rid = None
    budget = allocated = 0.0
    if agency is not None:
        initial = plan_rules.sponsor_budget(
            _agency_level(session, agency), _agency_villages(session, agency, cycle_year), policy
        )
        rid, budget, allocated = _claim_sponsor(session, agency, cycle_year, initial)

    assessed = {
        a.village_code: a.model_dump()
        for a in session.execute(
            select(VillageAssessment).where(
                VillageAssessment.village_code.in_(villages),
                VillageAssessment.cycle_year == cycle_year,
            )
        ).scalars()
    }
    missing = [v for v in villages if v not in assessed]
    if missing:
        assessed.update(village_profiles(session, missing, cycle_year, policy))
    plans = {
        p.village_code: p
        for p in session.execute(
            select(
                Plan.id, Plan.village_code, Plan.status, Plan.version, Plan.sponsor_agency
            ).where(Plan.village_code.in_(villages), Plan.cycle_year == cycle_year)
        )
    }
    old_items: dict[int, list[tuple[str, str, str, float, str]]] = defaultdict(list)
    if plans:
        for it in session.execute(
            select(
                PlanItem.plan_id,
                PlanItem.category,
                PlanItem.item,
                PlanItem.answers,
                PlanItem.cost_yuan,
                PlanItem.funding_source,
            )
            .where(PlanItem.plan_id.in_([p.id for p in plans.values()]))
            .order_by(PlanItem.id)
        ):
            old_items[it.plan_id].append(
                (it.category, it.item, it.answers, float(it.cost_yuan), it.funding_source)
            )

    def sponsor_spent(plan_id: int) -> float:
        return sum(i[3] for i in old_items.get(plan_id, ()) if i[4] == FundingSource.sponsor_unit)

    redraftable = [p for p in plans.values() if p.status in REDRAFTABLE]
    released = (
        round(sum(sponsor_spent(p.id) for p in redraftable if p.sponsor_agency == agency), 2)
        if agency
        else 0.0
    )
    available = budget - allocated + released if agency else 0.0

    order = sorted(
        (v for v in villages if v in assessed), key=lambda v: (-assessed[v]["need_score"], v)
    )
    to_write: dict[str, list[plan_rules.PlanItemDraft]] = {}
    plan_rows, audits, table = [], [], []
    used = kept = 0
    spent_total = 0.0
    for code in order:
        old = plans.get(code)
        if old is not None and old.status not in REDRAFTABLE:
            kept += 1
            table.append(_summary_row(code, old.status, old_items.get(old.id, [])))
            continue
        drafts = plan_rules.draft_items(
            assessed[code]["gaps"], assessed[code]["top_causes"], policy
        )
        funded, spent = plan_rules.allocate(drafts, available - spent_total)
        spent_total = round(spent_total + spent, 2)
        signature = [
            (i.category.value, i.item, i.answers, i.cost_yuan, i.funding_source.value)
            for i in funded
        ]
        table.append(_summary_row(code, PlanStatus.draft.value, signature))
        if (
            old is not None
            and old.status == PlanStatus.draft
            and old.sponsor_agency == agency
            and old_items.get(old.id, []) == signature
        ):
            continue
        version, action = 1, "plan_drafted"
        if old is not None:
            version, action = old.version, "plan_updated"
            if old.status == PlanStatus.returned:
                check_transition("plan", old.status, PlanStatus.draft)
                version, action = old.version + 1, "plan_redrafted"
        total = round(sum(i.cost_yuan for i in funded), 2)
        plan_rows.append(
            dict(
                village_code=code,
                cycle_year=cycle_year,
                sponsor_agency=agency,
                total_cost_yuan=total,
                status=PlanStatus.draft.value,
                version=version,
            )
        )
        to_write[code] = funded
        used += 1
        audits.append(
            dict(
                actor=ACTOR,
                action=action,
                entity="plan",
                entity_id=f"{code}/{cycle_year}",
                before=None if old is None else {"status": old.status, "version": old.version},
                after={
                    "status": "draft",
                    "version": version,
                    "items": len(funded),
                    "total_cost_yuan": total,
                    "sponsor_yuan": spent,
                },
            )
        )

    new_allocated = round(allocated - released + spent_total, 2) if agency else 0.0
    if agency is not None and new_allocated > budget + 0.005:
        raise OverAllocation(f"{agency}: {new_allocated} allocated > budget {budget}")
    if plan_rows:
        upsert(
            session,
            Plan,
            plan_rows,
            keys=("village_code", "cycle_year"),
            update=("sponsor_agency", "total_cost_yuan", "status", "version"),
        )
        ids = dict(
            session.execute(
                select(Plan.village_code, Plan.id).where(
                    Plan.village_code.in_(list(to_write)), Plan.cycle_year == cycle_year
                )
            ).all()
        )
        session.execute(delete(PlanItem).where(PlanItem.plan_id.in_(list(ids.values()))))
        items = [
            dict(
                plan_id=ids[code],
                village_code=code,
                cycle_year=cycle_year,
                category=i.category.value,
                item=i.item,
                answers=i.answers,
                cost_yuan=i.cost_yuan,
                funding_source=i.funding_source.value,
                status=PlanStatus.draft.value,
            )
            for code, drafted in to_write.items()
            for i in drafted
        ]
        if items:  # an empty executemany becomes INSERT … DEFAULT VALUES on PostgreSQL
            session.execute(insert(PlanItem.__table__), items)
    if agency is not None and abs(new_allocated - allocated) > 0.005:
        session.execute(
            update(SponsorResource)
            .where(SponsorResource.id == rid)
            .values(allocated_yuan=new_allocated)
        )
        audits.append(
            dict(
                actor=ACTOR,
                action="sponsor_allocated",
                entity="sponsor_resource",
                entity_id=f"{agency}/{cycle_year}",
                before={"allocated": allocated},
                after={"allocated": new_allocated, "budget": budget},
            )
        )
    audit_many(session, audits)
    return {
        "agency": agency,
        "villages": len(order),
        "written": used,
        "kept_in_review": kept,
        "budget_yuan": budget,
        "allocated_yuan": new_allocated if agency else 0.0,
        "rows": table,
    }


def _summary_row(code: str, status: str, items: Sequence[tuple]) -> dict[str, Any]:
    by = defaultdict(float)
    for _cat, _item, _ans, cost, source in items:
        by[source] += cost
    return dict(
        village=code,
        status=status,
        items=len(items),
        total_yuan=round(sum(by.values()), 2),
        sponsor_yuan=round(by[FundingSource.sponsor_unit.value], 2),
        county_funds_yuan=round(by[FundingSource.integrated_county_funds.value], 2),
        donations_yuan=round(by[FundingSource.donations.value], 2),
    )


@task(name="list-sponsor-groups", task_run_name="sponsor-groups-{county}-{cycle_year}")
@guarded
def sponsor_groups_task(
    county: str, cycle_year: int, villages: list[str] | None = None
) -> list[dict[str, Any]]:
    with session_scope() as session:
        return sponsor_groups(session, Scope(county=county, villages=villages), cycle_year)


@task(
    name="draft-plans",
    task_run_name="plans-{county}-{cycle_year}-{group_no}",
    retries=2,
    retry_delay_seconds=3,
)
@guarded
def draft_plans_task(
    county: str, cycle_year: int, agency: str | None, villages: list[str], group_no: int = 0
) -> dict[str, Any]:
    with session_scope() as session:
        return draft_group(session, county, cycle_year, agency, villages)


@task(
    name="draft-plans-groups",
    task_run_name="plans-{county}-{cycle_year}-batch-{batch_no}",
    retries=2,
    retry_delay_seconds=3,
)
@guarded
def draft_plan_groups_task(
    county: str, cycle_year: int, groups: list[dict[str, Any]], batch_no: int = 0
) -> list[dict[str, Any]]:
    """Several sponsor groups in one task run, each in its own transaction (the row claim
    per agency is unchanged; a retry redoes only what did not commit, idempotently): a task
    run per agency cost more bookkeeping than the plans of a whole county."""
    out = []
    for g in groups:
        with session_scope() as session:
            out.append(draft_group(session, county, cycle_year, g["agency"], g["villages"]))
    return out
