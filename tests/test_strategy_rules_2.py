"""Strategy rules that were wrong (issue 12.2): each test names the real case behind it."""

from __future__ import annotations

from dataclasses import replace

from zhucun.models.enums import Cause, Measure

from zhucun.policy import default_policy
from zhucun.rules import causes as cause_rules
from zhucun.rules.measures import (
    BASIS_ATTRIBUTE,
    HouseholdFacts,
    eligible,
    fiscal_cost,
    problems,
    select_measures,
    strategy_cost,
)

POLICY = default_policy(2026, "central")
YEAR = 2026
BASE = HouseholdFacts(
    size=4,
    labour_count=2,
    head_birth_year=1980,
    has_credit_access=True,
    housing_grade="B",
    students=0,
    disabled_members=0,
    attribute="general",
)
CARD = dict(
    size=4,
    labour_count=2,
    skilled_labour=1,
    per_capita_income_yuan=2500,
    serious_illness_members=0,
    chronic_illness_members=0,
    disabled_members=0,
    students=0,
    medical_spending_yuan=0,
    education_spending_yuan=0,
    disaster_loss_yuan=0,
    land_mu=8.0,
    safe_water_ok=True,
    road_access=True,
    has_credit_access=True,
    low_motivation=False,
)


def chosen(h: HouseholdFacts, main: str, others: tuple[str, ...] = ()) -> dict[str, str]:
    return {
        c.measure.value: c.answers_cause for c in select_measures(h, main, others, POLICY, YEAR)
    }


def causes_of(**changes: object) -> set[str]:
    a = cause_rules.assess({**CARD, **changes}, POLICY.cause_thresholds)
    return {a.main_cause.value, *(c.value for c in a.other_causes)}


# --- 缺资金 and 小额信贷 ------------------------------------------------------------------


def test_capital_cause_fires_on_lack_of_capital_whatever_the_credit_access() -> None:
    """Before: 缺资金 fired only without credit access, microcredit needed it, so no household
    ever got microcredit. Now the card's net business income decides 缺资金."""
    assert "capital" in causes_of(business_income_yuan=600, production_cost_yuan=300)
    assert "capital" in causes_of(
        business_income_yuan=600, production_cost_yuan=300, has_credit_access=False
    )
    assert "capital" not in causes_of(business_income_yuan=5000, production_cost_yuan=1000)


def test_without_the_card_the_old_credit_proxy_stays() -> None:
    """A registry of the original contract has no business income: no credit access is the
    only indicator it carries."""
    assert "capital" in causes_of(has_credit_access=False)
    assert "capital" not in causes_of(has_credit_access=True)


def test_rated_household_short_of_capital_gets_microcredit() -> None:
    """评级授信 (has_credit_access) + labour aged 18–65 + 缺资金 → 扶贫小额信贷."""
    assert chosen(BASE, Cause.capital)["microcredit"] == "capital"
    unrated = replace(BASE, has_credit_access=False)
    assert "microcredit" not in chosen(unrated, Cause.capital)
    assert chosen(unrated, Cause.capital)["industry"] == "capital"


def test_microcredit_principal_is_not_fiscal_spending() -> None:
    """The 50,000 is lent and repaid: the budget spends the 贴息 (rate × principal × term)
    and the risk-compensation fund's share, and only that counts in the strategy's cost."""
    [c] = [
        c
        for c in select_measures(BASE, Cause.capital, (), POLICY, YEAR)
        if c.measure.value == "microcredit"
    ]
    p = POLICY.microcredit_max_yuan
    want = p * POLICY.microcredit_subsidy_rate * POLICY.microcredit_term_years
    want += p * POLICY.microcredit_risk_fund_share
    assert c.principal_yuan == p == 50000
    assert c.cost_yuan == round(want, 2) == fiscal_cost(Measure.microcredit, POLICY)
    assert c.cost_yuan < p
    choices = select_measures(BASE, Cause.capital, (), POLICY, YEAR)
    assert strategy_cost(choices) == sum(x.cost_yuan for x in choices)
    assert all(x.principal_yuan is None for x in choices if x.measure is not Measure.microcredit)


# --- the poverty attribute decides 兜底 ------------------------------------------------------


def test_dibao_household_always_gets_the_floor() -> None:
    """Before: 440 of 610 低保贫困户 had no 兜底 measure. A 低保/特困 household has it by
    right, with labour or without, whatever its main cause."""
    for attribute in ("dibao", "tekun"):
        h = replace(BASE, attribute=attribute)
        for cause in (Cause.illness, Cause.skills, Cause.capital):
            m = chosen(h, cause)
            assert m["social_security"] in (BASIS_ATTRIBUTE, "labour", "illness"), (attribute, m)
            assert problems(h, cause, m, POLICY, YEAR) == []


def test_general_household_with_labour_never_gets_the_floor() -> None:
    """Before: 186 一般贫困户 were given 低保/特困兜底 (缺劳力 and 因病 lists have it)."""
    for cause in (Cause.labour, Cause.illness, Cause.disability):
        m = chosen(replace(BASE, labour_count=1), cause)
        assert "social_security" not in m, (cause, m)
        assert cause.value in m.values()
    assert not eligible(Measure.social_security, BASE, POLICY, YEAR)
    found = problems(BASE, "labour", {"social_security": "labour"}, POLICY, YEAR)
    assert any("social_security given to an ineligible" in p for p in found)


def test_general_household_without_labour_gets_the_floor_as_policy_says() -> None:
    """docs/rules.md: the social-security floor where labour is lost (五个一批); policy data
    `social_security_without_labour` (true) keeps that; set false, asset income replaces it."""
    idle = replace(BASE, labour_count=0)
    assert chosen(idle, Cause.illness)["social_security"] == "no_labour"
    strict = POLICY.model_copy(update={"social_security_without_labour": False})
    m = {
        c.measure.value: c.answers_cause
        for c in select_measures(idle, Cause.labour, (), strict, YEAR)
    }
    assert "social_security" not in m and m["asset_income"] == "labour"
