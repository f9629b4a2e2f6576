"""一户一策: the measures of one household's strategy, chosen from its causes through the
policy's cause → measure table (`Policy.cause_measures`, in order of preference) and filtered
by eligibility.

Eligibility (domain-rules §3):
- microcredit (扶贫小额信贷) only for a household with working-age labour (borrowers aged
  `working_age`, the head's birth year as proxy, and labour_count > 0) and credit access;
- housing renovation (危房改造) only for a C/D house (grade outside `safe_housing_grades`), and
  every C/D house of a registered household gets it;
- the social-security floor (社会保障兜底, 低保/特困供养) follows the poverty attribute on the
  card: a 低保 or 特困 household always gets it, a 一般 household never does — except one
  without labour when `social_security_without_labour` says so (docs/rules.md: "the
  social-security floor where labour is lost"; 五个一批: 社会保障兜底一批 is for those who
  cannot work; the civil-affairs bureau then re-determines the attribute);
- microcredit's 50,000 yuan is a loan principal, never spending: a strategy's cost is the
  fiscal cost (interest subsidy 贴息 over the term plus the risk-compensation fund share),
  and the principal is kept apart (`MeasureChoice.principal_yuan`);
- education support (教育扶持) wherever there are students, and only then;
- measures that need somebody to work (jobs, training, industry, credit) need labour;
  disability support needs a disabled member.

Every strategy answers its main cause: the first eligible measure of the main cause's list,
else the first eligible of `FALLBACK` (a public-welfare job with labour, the social-security
floor without). A measure required by eligibility alone (C/D house, no labour, students)
answers the basis it was added for (`safe_housing`, `no_labour`, `students`) unless one of the
household's causes already maps to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from zhucun.models.enums import Measure
from zhucun.policy import Policy

# Bases for a measure required by eligibility rather than by a cause (StrategyMeasure.answers_cause)
BASIS_SAFE_HOUSING = "safe_housing"
BASIS_NO_LABOUR = "no_labour"
BASIS_STUDENTS = "students"
MANDATE_BASES = frozenset({BASIS_SAFE_HOUSING, BASIS_NO_LABOUR, BASIS_STUDENTS})

BASIS_ATTRIBUTE = "attribute"  # 低保/特困 on the card: the floor is theirs by right
MANDATE_BASES = MANDATE_BASES | {BASIS_ATTRIBUTE}

# Poverty attributes (Household.attribute) that carry the social-security floor.
FLOOR_ATTRIBUTES = frozenset({"dibao", "tekun"})

# When no measure of the main cause's list is eligible: 公益岗位 for a household that can work,
# else 兜底 where the attribute (or lost labour) allows it, else 资产收益 (asset income is the
# 五个一批 channel for poor households without labour).
FALLBACK: tuple[Measure, ...] = (
    Measure.public_welfare_job,
    Measure.social_security,
    Measure.asset_income,
)

# Measures that only make sense with somebody able to work in the household.
NEEDS_LABOUR = frozenset(
    {
        Measure.employment,
        Measure.skills_training,
        Measure.public_welfare_job,
        Measure.industry,
        Measure.microcredit,
    }
)

EXPECTED_EFFECT: dict[Measure, str] = {
    Measure.industry: "household income from a supported industry (产业扶贫)",
    Measure.employment: "wage income from organised labour transfer (劳务输出)",
    Measure.skills_training: "a skilled labourer able to earn wages (技能培训)",
    Measure.microcredit: "interest-free production loan up to {microcredit_max_yuan:.0f} yuan, "
    "3 years, no guarantee (扶贫小额信贷)",
    Measure.education: "schooling costs covered, no child drops out (控辍保学, 两免一补)",
    Measure.health: "medical costs covered by insurance and aid (先诊疗后付费)",
    Measure.disability_support: "disability living and care subsidies (两项补贴)",
    Measure.social_security: "guaranteed minimum living standard (低保/特困供养兜底)",
    Measure.housing: "house reinforced or rebuilt to grade A/B (危房改造)",
    Measure.water: "safe drinking water at home (饮水安全)",
    Measure.relocation: "moved to a resettlement site with jobs (易地扶贫搬迁)",
    Measure.ecological: "ecological compensation or forest-ranger income (生态补偿)",
    Measure.public_welfare_job: "a public-welfare job with a monthly wage (公益岗位)",
    Measure.asset_income: "dividends from collective assets (资产收益)",
    Measure.disaster_relief: "temporary relief and rebuilding after the disaster (灾害救助)",
    Measure.motivation: "own drive restored through awards and mentoring (扶志扶智, 以奖代补)",
}


@dataclass(frozen=True)
class HouseholdFacts:
    """What eligibility looks at; the task builds it from a household row."""

    size: int
    labour_count: int
    head_birth_year: int | None
    has_credit_access: bool
    housing_grade: str
    students: int
    disabled_members: int
    attribute: str = "general"  # 一般 / 低保 / 特困 (Household.attribute)


@dataclass(frozen=True)
class MeasureChoice:
    measure: Measure
    answers_cause: str  # a cause code, or a basis of MANDATE_BASES
    cost_yuan: float  # fiscal cost: what the budget spends
    provider: str
    expected_effect: str
    principal_yuan: float | None = None  # a loan's principal (microcredit), not spending


def has_working_age_labour(h: HouseholdFacts, policy: Policy, year: int) -> bool:
    """Labour in the household and a head of working age (the head's age stands in for the
    borrower's: 小额信贷 borrowers are 18–65)."""
    if h.labour_count <= 0 or h.head_birth_year is None:
        return False
    low, high = policy.working_age
    return low <= year - h.head_birth_year <= high


def unsafe_house(h: HouseholdFacts, policy: Policy) -> bool:
    return h.housing_grade not in policy.safe_housing_grades


def _floor_attribute(h: HouseholdFacts) -> bool:
    """低保/特困, also after exit (低保脱贫户 `dibao_exited`: 脱贫不脱政策 keeps the floor)."""
    return h.attribute.split("_")[0] in FLOOR_ATTRIBUTES


def floor_eligible(h: HouseholdFacts, policy: Policy) -> bool:
    """The social-security floor: by attribute (低保/特困), or for lost labour if the policy
    extends it to a 一般 household."""
    if _floor_attribute(h):
        return True
    return h.labour_count <= 0 and policy.social_security_without_labour


def floor_basis(h: HouseholdFacts, policy: Policy) -> str | None:
    """Why the floor is required, if it is: the attribute first, then lost labour."""
    if _floor_attribute(h):
        return BASIS_ATTRIBUTE
    if h.labour_count <= 0 and policy.social_security_without_labour:
        return BASIS_NO_LABOUR
    return None


def eligible(m: Measure, h: HouseholdFacts, policy: Policy, year: int) -> bool:
    """Whether a measure may be given to this household at all."""
    if m is Measure.social_security:
        return floor_eligible(h, policy)
    if m is Measure.microcredit:
        return has_working_age_labour(h, policy, year) and h.has_credit_access
    if m in NEEDS_LABOUR:
        return h.labour_count > 0
    if m is Measure.housing:
        return unsafe_house(h, policy)
    if m is Measure.education:
        return h.students > 0
    if m is Measure.disability_support:
        return h.disabled_members > 0
    return True


def principal(m: Measure | str, policy: Policy) -> float | None:
    """The loan a measure lends (microcredit: up to `microcredit_max_yuan`), else None."""
    return float(policy.microcredit_max_yuan) if Measure(m) is Measure.microcredit else None


def fiscal_cost(m: Measure | str, policy: Policy) -> float:
    """What the budget spends on a measure. For microcredit that is the interest subsidy
    (贴息: rate × principal × term) plus the risk-compensation fund's share of the principal,
    never the principal the household borrows and repays."""
    m = Measure(m)
    if m is Measure.microcredit:
        p = float(policy.microcredit_max_yuan)
        subsidy = p * policy.microcredit_subsidy_rate * policy.microcredit_term_years
        return round(subsidy + p * policy.microcredit_risk_fund_share, 2)
    return float(policy.measure_unit_cost_yuan[m.value])


def _choice(m: Measure, answers: str, policy: Policy) -> MeasureChoice:
    effect = EXPECTED_EFFECT[m].format(microcredit_max_yuan=policy.microcredit_max_yuan)
    return MeasureChoice(
        measure=m,
        answers_cause=answers,
        cost_yuan=fiscal_cost(m, policy),
        provider=policy.measure_provider[m.value],
        expected_effect=effect,
        principal_yuan=principal(m, policy),
    )


def select_measures(
    h: HouseholdFacts,
    main_cause: str,
    other_causes: Sequence[str],
    policy: Policy,
    year: int,
) -> list[MeasureChoice]:
    """The strategy's measures, in order: main cause, other causes, then eligibility mandates.

    One measure per cause (the first eligible of its list not already chosen), so a strategy
    stays a short list a team can explain to the household."""
    table: Mapping[str, list[str]] = policy.cause_measures
    chosen: dict[Measure, MeasureChoice] = {}

    def first_eligible(candidates: Sequence[str | Measure]) -> Measure | None:
        for c in candidates:
            m = Measure(c)
            if m not in chosen and eligible(m, h, policy, year):
                return m
        return None

    main = first_eligible(table.get(main_cause, ()))
    if main is None:
        # An already chosen measure cannot be re-used here: nothing is chosen yet.
        main = first_eligible(FALLBACK)
    if main is None:  # pragma: no cover - social_security is always eligible
        raise ValueError("no eligible measure for the main cause")
    chosen[main] = _choice(main, main_cause, policy)

    for cause in other_causes:
        if cause == main_cause:
            continue
        m = first_eligible(table.get(cause, ()))
        if m is not None:
            chosen[m] = _choice(m, cause, policy)

    basis = floor_basis(h, policy)
    mandates = (
        (Measure.housing, unsafe_house(h, policy), BASIS_SAFE_HOUSING),
        (Measure.social_security, basis is not None, basis or BASIS_NO_LABOUR),
        (Measure.education, h.students > 0, BASIS_STUDENTS),
    )
    for m, required, basis in mandates:
        if required and m not in chosen:
            chosen[m] = _choice(m, basis, policy)
    return list(chosen.values())


def strategy_cost(choices: Sequence[MeasureChoice]) -> float:
    return round(sum(c.cost_yuan for c in choices), 2)


def problems(
    h: HouseholdFacts,
    main_cause: str,
    measures: Mapping[str, str],
    policy: Policy,
    year: int,
) -> list[str]:
    """Every rule a strategy's measures (measure → answers) break; empty when it is valid.
    Used by the invariant checker over whole tables."""
    out: list[str] = []
    ms = {Measure(m) for m in measures}
    for m in ms:
        if not eligible(m, h, policy, year):
            out.append(f"{m.value} given to an ineligible household")
    if main_cause not in measures.values():
        out.append(f"main cause {main_cause} not answered")
    if unsafe_house(h, policy) and Measure.housing not in ms:
        out.append(f"grade {h.housing_grade} house without renovation")
    if (basis := floor_basis(h, policy)) and Measure.social_security not in ms:
        out.append(f"{basis}: no social-security floor ({h.attribute})")
    if h.students > 0 and Measure.education not in ms:
        out.append("students without education support")
    return out
