"""Check every row the lifecycle stages wrote against the rules (for end-to-end tests on a
generated county): `check_lifecycle_invariants(session, county, cycle_year)` returns the
list of problems, empty when every assessment, plan and strategy obeys the rules."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlmodel import Session
from zhucun.models import (
    Household,
    HouseholdAssessment,
    Plan,
    PlanItem,
    SponsorResource,
    Strategy,
    StrategyMeasure,
    Village,
    VillageAssessment,
)
from zhucun.models.enums import Cause, FundingSource, PlanCategory
from zhucun.tasks.lifecycle_db import facts, in_care, load_households, policy_for

from zhucun.rules import causes as cause_rules
from zhucun.rules import measures as measure_rules
from zhucun.rules import village as village_rules

NATIONAL = {c.value for c in Cause}


def check_lifecycle_invariants(session: Session, county: str, cycle_year: int) -> list[str]:
    policy = policy_for(session, county, cycle_year)
    out: list[str] = []
    villages = list(
        session.scalars(select(Village.village_code).where(Village.county_code == county))
    )
    poor_villages = set(
        session.scalars(
            select(Village.village_code).where(
                Village.county_code == county, Village.registered_poor.is_(True)
            )
        )
    )
    households = {h["household_id"]: h for h in load_households(session, villages, in_care())}

    # --- cause assessments -------------------------------------------------------------
    assessments = {
        a.household_id: a
        for a in session.scalars(
            select(HouseholdAssessment).where(
                HouseholdAssessment.cycle_year == cycle_year,
                HouseholdAssessment.village_code.in_(villages),
            )
        )
    }
    for hid, h in households.items():
        a = assessments.get(hid)
        if a is None:
            out.append(f"household {hid}: no cause assessment")
            continue
        if a.main_cause not in NATIONAL:
            out.append(f"household {hid}: main cause {a.main_cause} not national")
        if problems := cause_rules.validate_override(a.main_cause, list(a.other_causes)):
            out.append(f"household {hid}: causes {problems}")
        if not set([a.main_cause, *a.other_causes]) <= set(a.evidence):
            out.append(f"household {hid}: a cause without evidence")
        if not a.rule_version.startswith(cause_rules.RULE_VERSION):
            out.append(f"household {hid}: rule version {a.rule_version!r}")
        if a.source == "rule":
            exp = cause_rules.assess(h, policy.cause_thresholds)
            if (exp.main_cause.value, [c.value for c in exp.other_causes]) != (
                a.main_cause,
                list(a.other_causes),
            ):
                out.append(f"household {hid}: causes differ from the rules")
        elif a.source == "override":
            if not (a.override_reason and a.overridden_by):
                out.append(f"household {hid}: override without reason or author")
        else:
            out.append(f"household {hid}: source {a.source}")

    # --- village assessments ------------------------------------------------------------
    pops = dict(
        session.execute(
            select(Village.village_code, Village.population).where(Village.county_code == county)
        ).all()
    )
    persons = dict(
        session.execute(
            select(Household.village_code, func.sum(Household.size))
            .where(
                Household.village_code.in_(villages),
                Household.registered_poor.is_(True),
                Household.status.in_(("poor", "relapsed")),
            )
            .group_by(Household.village_code)
        ).all()
    )
    vas = {
        v.village_code: v
        for v in session.scalars(
            select(VillageAssessment).where(
                VillageAssessment.cycle_year == cycle_year,
                VillageAssessment.village_code.in_(villages),
            )
        )
    }
    for code in villages:
        va = vas.get(code)
        if va is None:
            out.append(f"village {code}: no assessment")
            continue
        # the analysis is a snapshot of the cycle: households that exited since (a later
        # evaluation) no longer count, so check it against its own poor population, and
        # against today's only while nobody has exited since
        rate = village_rules.incidence(va.poor_population, pops[code])
        now = village_rules.incidence(int(persons.get(code) or 0), pops[code])
        if abs(va.poverty_incidence - rate) > 1e-5 or now > va.poverty_incidence + 1e-5:
            out.append(f"village {code}: incidence {va.poverty_incidence} != {rate:.6f}")
        if sum(va.cause_distribution.values()) != va.poor_households:
            out.append(f"village {code}: cause distribution does not add up")

    # --- plans -----------------------------------------------------------------------------
    plans = {
        p.village_code: p
        for p in session.scalars(
            select(Plan).where(Plan.cycle_year == cycle_year, Plan.village_code.in_(villages))
        )
    }
    items: dict[int, list[PlanItem]] = defaultdict(list)
    for it in session.scalars(
        select(PlanItem).where(
            PlanItem.cycle_year == cycle_year, PlanItem.village_code.in_(villages)
        )
    ):
        items[it.plan_id].append(it)
    costs = set(policy.plan_item_cost_yuan.values())
    for code in poor_villages:
        p = plans.get(code)
        if p is None:
            out.append(f"village {code}: no plan")
            continue
        its = items.get(p.id or -1, [])
        if abs(sum(i.cost_yuan for i in its) - p.total_cost_yuan) > 0.01:
            out.append(f"plan {code}: total differs from its items")
        for i in its:
            kind, _, what = i.answers.partition(":")
            if kind not in ("gap", "cause") or not what:
                out.append(f"plan {code}: item {i.item!r} answers nothing ({i.answers})")
            if i.category not in {c.value for c in PlanCategory}:
                out.append(f"plan {code}: category {i.category}")
            if i.funding_source not in {f.value for f in FundingSource}:
                out.append(f"plan {code}: funding {i.funding_source}")
            if i.cost_yuan not in costs:
                out.append(f"plan {code}: cost {i.cost_yuan} is not a policy unit cost")
            if i.funding_source == FundingSource.sponsor_unit and not p.sponsor_agency:
                out.append(f"plan {code}: sponsor funding without a sponsor")
    # a sponsor's allocation over all its plans of the cycle (it may span counties)
    spent = dict(
        session.execute(
            select(Plan.sponsor_agency, func.sum(PlanItem.cost_yuan))
            .join(PlanItem, PlanItem.plan_id == Plan.id)
            .where(
                Plan.cycle_year == cycle_year,
                PlanItem.funding_source == FundingSource.sponsor_unit.value,
            )
            .group_by(Plan.sponsor_agency)
        ).all()
    )
    for r in session.scalars(
        select(SponsorResource).where(SponsorResource.cycle_year == cycle_year)
    ):
        if r.allocated_yuan > r.budget_yuan + 0.005:
            out.append(f"sponsor {r.agency}: over-allocated {r.allocated_yuan} > {r.budget_yuan}")
        if abs(float(spent.get(r.agency) or 0) - r.allocated_yuan) > 0.01:
            out.append(
                f"sponsor {r.agency}: allocated {r.allocated_yuan} != items {spent.get(r.agency)}"
            )

    # --- strategies ----------------------------------------------------------------------
    strategies = {
        s.household_id: s
        for s in session.scalars(
            select(Strategy).where(
                Strategy.cycle_year == cycle_year, Strategy.village_code.in_(villages)
            )
        )
    }
    measures: dict[int, list[StrategyMeasure]] = defaultdict(list)
    ids = [s.id for s in strategies.values()]
    for i in range(0, len(ids), 5000):
        for m in session.scalars(
            select(StrategyMeasure).where(StrategyMeasure.strategy_id.in_(ids[i : i + 5000]))
        ):
            measures[m.strategy_id].append(m)
    for hid, h in households.items():
        s = strategies.get(hid)
        a = assessments.get(hid)
        if s is None:
            out.append(f"household {hid}: no strategy")
            continue
        ms = measures.get(s.id or -1, [])
        if sorted(s.measures) != sorted(m.measure for m in ms):
            out.append(f"strategy {hid}: measures list differs from its rows")
        if abs(sum(m.cost_yuan for m in ms) - s.cost_yuan) > 0.01:
            out.append(f"strategy {hid}: cost differs from its measures")
        for m in ms:
            if m.cost_yuan != measure_rules.fiscal_cost(m.measure, policy):
                out.append(f"strategy {hid}: {m.measure} cost not from policy")
            if m.principal_yuan != measure_rules.principal(m.measure, policy):
                out.append(f"strategy {hid}: {m.measure} principal counted as cost or lost")
            if m.provider != policy.measure_provider[m.measure]:
                out.append(f"strategy {hid}: {m.measure} provider not from policy")
            allowed = measure_rules.MANDATE_BASES | (
                {a.main_cause, *a.other_causes} if a else set()
            )
            if m.answers_cause not in allowed:
                out.append(f"strategy {hid}: {m.measure} answers {m.answers_cause}")
        if s.status == "draft" and a is not None:
            found = measure_rules.problems(
                facts(h), a.main_cause, {m.measure: m.answers_cause for m in ms}, policy, cycle_year
            )
            out += [f"strategy {hid}: {p}" for p in found]
    return out
