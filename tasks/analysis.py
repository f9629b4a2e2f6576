"""Village analysis: per village and cycle one `VillageAssessment` (poverty incidence, gaps,
collective income, industries, the distribution of its poor households' main causes, need
score). Written only when something changed, so a re-run writes nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from prefect import task
from sqlalchemy import func, select
from sqlmodel import Session
from zhucun.models import Household, HouseholdAssessment, Village, VillageAssessment
from zhucun.tasks.common import audit_many
from zhucun.tasks.lifecycle_db import load_households, policy_for, still_poor
from zhucun.tasks.safety import guarded
from zhucun.tasks.sql import upsert

from zhucun.db import session_scope
from zhucun.policy import Policy
from zhucun.rules import causes as cause_rules
from zhucun.rules import village as village_rules

# How many causes a village's `top_causes` lists (the plan answers each of them).
TOP_CAUSES = 3
COMPARED = (
    "poor_households",
    "poor_population",
    "poverty_incidence",
    "gaps",
    "top_causes",
    "cause_distribution",
    "collective_income_yuan",
    "industries",
    "need_score",
)


def village_profiles(
    session: Session, villages: Sequence[str], cycle_year: int, policy: Policy
) -> dict[str, dict[str, Any]]:
    """The assessment of each village, computed from the registry in bulk: poor counts by one
    grouped query; causes from the cycle's `HouseholdAssessment` rows where a village has
    them, else from `rules.causes.assess` over its poor households."""
    vrows = {
        r.village_code: r
        for r in session.execute(
            select(Village).where(Village.village_code.in_(villages))
        ).scalars()
    }
    poor = {
        code: (n, persons or 0)
        for code, n, persons in session.execute(
            select(Household.village_code, func.count(), func.sum(Household.size))
            .where(Household.village_code.in_(villages), still_poor())
            .group_by(Household.village_code)
        )
    }
    dist: dict[str, Counter[str]] = {v: Counter() for v in villages}
    for code, cause, n in session.execute(
        select(HouseholdAssessment.village_code, HouseholdAssessment.main_cause, func.count())
        .join(Household, Household.household_id == HouseholdAssessment.household_id)
        .where(
            HouseholdAssessment.village_code.in_(villages),
            HouseholdAssessment.cycle_year == cycle_year,
            still_poor(),
        )
        .group_by(HouseholdAssessment.village_code, HouseholdAssessment.main_cause)
    ):
        dist[code][cause] += n
    unassessed = [v for v in villages if not dist[v] and poor.get(v, (0, 0))[0]]
    if unassessed:
        thresholds = policy.cause_thresholds
        for h in load_households(session, unassessed, still_poor()):
            dist[h["village_code"]][cause_rules.assess(h, thresholds).main_cause.value] += 1

    out: dict[str, dict[str, Any]] = {}
    for code in villages:
        v = vrows.get(code)
        if v is None:
            continue
        n_hh, persons = poor.get(code, (0, 0))
        rate = village_rules.incidence(int(persons), v.population)
        gaps = [g.value for g in village_rules.gaps(v.model_dump())]
        ranked = sorted(dist[code].items(), key=lambda kv: (-kv[1], kv[0]))
        out[code] = dict(
            village_code=code,
            cycle_year=cycle_year,
            poor_households=int(n_hh),
            poor_population=int(persons),
            poverty_incidence=round(rate, 6),
            gaps=gaps,
            top_causes=[c for c, _ in ranked[:TOP_CAUSES]],
            cause_distribution=dict(sorted(dist[code].items())),
            collective_income_yuan=float(v.collective_income_yuan),
            industries=list(v.main_industries or []),
            need_score=float(village_rules.need_score(rate, len(gaps))),
        )
    return out


def analyse_chunk(
    session: Session, county: str, cycle_year: int, villages: Sequence[str]
) -> dict[str, Any]:
    """Upsert the assessments of some villages that changed; audit each change."""
    policy = policy_for(session, county, cycle_year)
    profiles = village_profiles(session, villages, cycle_year, policy)
    existing = {
        a.village_code: a
        for a in session.execute(
            select(VillageAssessment).where(
                VillageAssessment.village_code.in_(villages),
                VillageAssessment.cycle_year == cycle_year,
            )
        ).scalars()
    }
    changed, audits = [], []
    for code, p in profiles.items():
        old = existing.get(code)
        before = {k: getattr(old, k) for k in COMPARED} if old else None
        after = {k: p[k] for k in COMPARED}
        if before == after:
            continue
        changed.append(p)
        audits.append(
            dict(
                actor="zhucun:analyse_villages",
                action="village_assessed" if old is None else "village_reassessed",
                entity="village_assessment",
                entity_id=f"{code}/{cycle_year}",
                before=_brief(before),
                after=_brief(after),
            )
        )
    upsert(session, VillageAssessment, changed, keys=("village_code", "cycle_year"))
    audit_many(session, audits)
    rows = [
        dict(
            village=code,
            poor_households=p["poor_households"],
            poor_population=p["poor_population"],
            incidence_pct=round(p["poverty_incidence"] * 100, 2),
            gaps=";".join(p["gaps"]),
            top_causes=";".join(p["top_causes"]),
            need_score=p["need_score"],
        )
        for code, p in sorted(profiles.items())
    ]
    return {
        "villages": len(profiles),
        "written": len(changed),
        "rows": rows,
        "cause_distribution": _sum_dist(profiles.values()),
    }


def _brief(d: dict[str, Any] | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {k: d[k] for k in ("poor_households", "poverty_incidence", "top_causes")}


def _sum_dist(profiles: Any) -> dict[str, int]:
    total: Counter[str] = Counter()
    for p in profiles:
        total.update(p["cause_distribution"])
    return dict(total)


@task(
    name="analyse-villages",
    task_run_name="analyse-{county}-{cycle_year}-{chunk_no}",
    retries=1,
    retry_delay_seconds=2,
)
@guarded
def analyse_villages_task(
    county: str, cycle_year: int, villages: list[str], chunk_no: int = 0
) -> dict[str, Any]:
    """One chunk of villages in one transaction."""
    with session_scope() as session:
        return analyse_chunk(session, county, cycle_year, villages)
