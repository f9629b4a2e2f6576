"""Village diagnosis: poverty incidence, infrastructure and service gaps, and how needy a
village is (deeply poor villages are served first: 2017 guidance, 深度贫困村优先)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zhucun.models.enums import Cause, Gap, Skill

# villages.csv flag → the gap its absence means
GAP_FLAGS: dict[str, Gap] = {
    "road_paved": Gap.road,
    "safe_water": Gap.water,
    "electricity": Gap.power,
    "broadband": Gap.broadband,
    "clinic": Gap.clinic,
    "school": Gap.school,
    "cultural_center": Gap.cultural,
}


def gaps(v: Mapping[str, Any]) -> list[Gap]:
    """Gaps of a village: each missing facility, no collective income (一高一低一无: 无集体
    经济收入), and no industry listed."""
    out = [gap for flag, gap in GAP_FLAGS.items() if not v[flag]]
    if float(v["collective_income_yuan"]) <= 0:
        out.append(Gap.collective_income)
    if not v.get("main_industries"):
        out.append(Gap.industry)
    return out


def incidence(poor_population: int, population: int) -> float:
    """贫困发生率: poor persons / total population (0 for an empty village)."""
    return poor_population / population if population > 0 else 0.0


def need_score(incidence_rate: float, n_gaps: int) -> float:
    """Order of service: incidence first, then the number of gaps (issue 3: "incidence,
    then gaps"). Incidence in whole per-mille dominates; gaps break ties."""
    return round(incidence_rate * 1000) * 100 + n_gaps


# Which cadre skills answer which cause or gap (DESIGN §2: health cadres where illness
# dominates, agriculture where industry is missing).
CAUSE_SKILLS: dict[str, tuple[Skill, ...]] = {
    Cause.illness: (Skill.health,),
    Cause.disability: (Skill.social_work, Skill.health),
    Cause.schooling: (Skill.education,),
    Cause.disaster: (Skill.infrastructure, Skill.social_work),
    Cause.land: (Skill.agriculture,),
    Cause.water: (Skill.infrastructure,),
    Cause.skills: (Skill.education, Skill.agriculture),
    Cause.labour: (Skill.social_work,),
    Cause.capital: (Skill.finance,),
    Cause.transport: (Skill.infrastructure,),
    Cause.motivation: (Skill.governance, Skill.social_work),
    Cause.other: (Skill.governance,),
}
GAP_SKILLS: dict[str, tuple[Skill, ...]] = {
    Gap.road: (Skill.infrastructure,),
    Gap.water: (Skill.infrastructure,),
    Gap.power: (Skill.infrastructure,),
    Gap.broadband: (Skill.ecommerce, Skill.infrastructure),
    Gap.clinic: (Skill.health,),
    Gap.school: (Skill.education,),
    Gap.cultural: (Skill.governance,),
    Gap.collective_income: (Skill.agriculture, Skill.finance, Skill.tourism),
    Gap.industry: (Skill.agriculture, Skill.ecommerce, Skill.tourism),
}


def skills_needed(cause_counts: Mapping[str, int], village_gaps: list[str]) -> dict[str, float]:
    """Weight of each skill for a village: share of households per cause, plus each gap."""
    weights: dict[str, float] = {}
    total = sum(cause_counts.values()) or 1
    for cause, n in cause_counts.items():
        for s in CAUSE_SKILLS.get(cause, ()):
            weights[s.value] = weights.get(s.value, 0.0) + n / total
    for g in village_gaps:
        for s in GAP_SKILLS.get(g, ()):
            weights[s.value] = weights.get(s.value, 0.0) + 0.2
    return weights
