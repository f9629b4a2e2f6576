"""Village development plan (村发展规划): items in infrastructure, industry, culture and public
service, each answering one of the village's gaps (`gap:road`) or one of its top causes of
household poverty (`cause:illness`), costed from `Policy.plan_item_cost_yuan`, and funded
first by the sponsor unit within what it has left, the rest by integrated county funds
(统筹整合财政涉农资金).

The sponsor's resources are never over-allocated: `allocate` only gives an item to the
sponsor when its whole cost fits in what remains.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from zhucun.models.enums import Cause, FundingSource, Gap, PlanCategory
from zhucun.policy import Policy

# gap → (category, cost key, item)
GAP_ITEMS: dict[Gap, tuple[PlanCategory, str, str]] = {
    Gap.road: (PlanCategory.infrastructure, "road", "harden the road to the village (通村硬化路)"),
    Gap.water: (PlanCategory.infrastructure, "water", "safe drinking-water project (饮水安全工程)"),
    Gap.power: (PlanCategory.infrastructure, "power", "grid connection (农网改造)"),
    Gap.broadband: (
        PlanCategory.infrastructure,
        "broadband",
        "broadband to the village (宽带进村)",
    ),
    Gap.clinic: (PlanCategory.public_service, "clinic", "standard village clinic (标准化卫生室)"),
    Gap.school: (PlanCategory.public_service, "school", "village school repaired (薄弱学校改造)"),
    Gap.cultural: (PlanCategory.culture, "cultural", "cultural centre (综合文化服务中心)"),
    Gap.collective_income: (
        PlanCategory.industry,
        "collective_income",
        "collective economy project (村集体经济项目)",
    ),
    Gap.industry: (PlanCategory.industry, "industry", "leading industry (主导产业培育)"),
}

# cause (one of the village's top causes) → (category, cost key, item). Causes answered only
# household by household (capital, labour, schooling, disaster, other) have no village item.
CAUSE_ITEMS: dict[Cause, tuple[PlanCategory, str, str]] = {
    Cause.illness: (
        PlanCategory.public_service,
        "cause_health",
        "family-doctor contracts and health screening (家庭医生签约)",
    ),
    Cause.disability: (
        PlanCategory.public_service,
        "cause_health",
        "rehabilitation and care services (残疾人康复服务)",
    ),
    Cause.skills: (PlanCategory.industry, "cause_training", "village skills training (技能培训班)"),
    Cause.land: (
        PlanCategory.industry,
        "collective_income",
        "land transfer and shareholding cooperative (土地流转合作社)",
    ),
    Cause.water: (
        PlanCategory.infrastructure,
        "water",
        "safe drinking-water project (饮水安全工程)",
    ),
    Cause.transport: (
        PlanCategory.infrastructure,
        "road",
        "harden the road to the village (通村硬化路)",
    ),
    Cause.motivation: (
        PlanCategory.culture,
        "cause_motivation",
        "motivation campaign and awards (扶志扶智, 以奖代补)",
    ),
}

CATEGORY_ORDER: tuple[PlanCategory, ...] = (
    PlanCategory.infrastructure,
    PlanCategory.industry,
    PlanCategory.public_service,
    PlanCategory.culture,
)


@dataclass(frozen=True)
class PlanItemDraft:
    category: PlanCategory
    item: str
    answers: str  # "gap:road" / "cause:illness"
    cost_yuan: float
    funding_source: FundingSource = FundingSource.integrated_county_funds


def draft_items(
    gaps: Iterable[str], top_causes: Iterable[str], policy: Policy
) -> list[PlanItemDraft]:
    """One item per gap, then one per top cause that a village item can answer; an item the
    gaps already answer (a road for `transport`) is not repeated. Ordered infrastructure
    first, so the sponsor's money goes where a village cannot exit without it."""
    costs = policy.plan_item_cost_yuan
    items: dict[str, PlanItemDraft] = {}
    for g in gaps:
        gap = Gap(g)
        cat, key, name = GAP_ITEMS[gap]
        items.setdefault(name, PlanItemDraft(cat, name, f"gap:{gap.value}", float(costs[key])))
    for c in top_causes:
        spec = CAUSE_ITEMS.get(Cause(c))
        if spec is None:
            continue
        cat, key, name = spec
        items.setdefault(name, PlanItemDraft(cat, name, f"cause:{c}", float(costs[key])))
    return sorted(
        items.values(), key=lambda i: (CATEGORY_ORDER.index(i.category), -i.cost_yuan, i.item)
    )


def allocate(
    items: Sequence[PlanItemDraft], remaining_yuan: float
) -> tuple[list[PlanItemDraft], float]:
    """Give each item, in order, to the sponsor unit if its whole cost fits in what remains;
    otherwise to integrated county funds. Returns the funded items and the sponsor amount
    used, which is never more than `remaining_yuan`."""
    out: list[PlanItemDraft] = []
    used = 0.0
    for it in items:
        if remaining_yuan > 0 and used + it.cost_yuan <= remaining_yuan:
            used += it.cost_yuan
            out.append(replace(it, funding_source=FundingSource.sponsor_unit))
        elif it.funding_source is FundingSource.donations:
            out.append(it)
        else:
            out.append(replace(it, funding_source=FundingSource.integrated_county_funds))
    return out, round(used, 2)


def sponsor_budget(agency_level: str, villages: int, policy: Policy) -> float:
    """What a sponsor unit mobilises in a cycle: the policy's amount per village for its level
    (central units mobilise more than county bureaus), times the villages it sponsors."""
    return float(policy.sponsor_budget_yuan[agency_level]) * max(villages, 1)
