"""一户一策 measure selection: each test names the real-world rule it pins."""

from __future__ import annotations

from dataclasses import replace

import pytest
from zhucun.models.enums import Cause, Measure

from zhucun.policy import default_policy
from zhucun.rules.measures import (
    BASIS_NO_LABOUR,
    BASIS_SAFE_HOUSING,
    BASIS_STUDENTS,
    HouseholdFacts,
    eligible,
    fiscal_cost,
    has_working_age_labour,
    problems,
    select_measures,
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
)


def chosen(h: HouseholdFacts, main: str, others: tuple[str, ...] = ()) -> dict[str, str]:
    return {
        c.measure.value: c.answers_cause for c in select_measures(h, main, others, POLICY, YEAR)
    }


def test_c_grade_house_gets_renovation_a_grade_does_not() -> None:
    """危房改造: only C/D houses, and every C/D house of a registered household."""
    assert chosen(replace(BASE, housing_grade="C"), Cause.capital)["housing"] == BASIS_SAFE_HOUSING
    assert "housing" in chosen(replace(BASE, housing_grade="D"), Cause.illness)
    assert "housing" not in chosen(replace(BASE, housing_grade="A"), Cause.disaster)
    assert "housing" not in chosen(replace(BASE, housing_grade="B"), Cause.disaster)


def test_disaster_household_in_a_c_house_gets_housing_for_its_cause() -> None:
    m = chosen(replace(BASE, housing_grade="C"), Cause.water, (Cause.disaster,))
    assert m["disaster_relief"] == "disaster"


def test_microcredit_needs_working_age_labour_and_credit_access() -> None:
    """扶贫小额信贷: borrowers 18–65, used for production, through the credit cooperative."""
    assert chosen(BASE, Cause.capital)["microcredit"] == "capital"
    no_labour = replace(BASE, labour_count=0)
    assert "microcredit" not in chosen(no_labour, Cause.capital)
    no_credit = replace(BASE, has_credit_access=False)
    assert "microcredit" not in chosen(no_credit, Cause.capital)


def test_microcredit_never_for_a_head_over_65() -> None:
    old = replace(BASE, head_birth_year=YEAR - 66)
    assert not has_working_age_labour(old, POLICY, YEAR)
    assert "microcredit" not in chosen(old, Cause.capital)
    assert has_working_age_labour(replace(BASE, head_birth_year=YEAR - 65), POLICY, YEAR)


def test_microcredit_refused_when_the_head_age_is_unknown() -> None:
    assert not eligible(Measure.microcredit, replace(BASE, head_birth_year=None), POLICY, YEAR)


def test_household_without_labour_gets_the_social_security_floor() -> None:
    """社会保障兜底一批: those who cannot work are covered by the floor."""
    h = replace(BASE, labour_count=0)
    m = chosen(h, Cause.illness)
    assert "social_security" in m
    assert m["health"] == "illness"
    assert m["social_security"] == BASIS_NO_LABOUR


def test_no_labour_main_cause_labour_answered_by_the_floor() -> None:
    assert chosen(replace(BASE, labour_count=0), Cause.labour)["social_security"] == "labour"


def test_no_jobs_or_training_for_a_household_without_labour() -> None:
    m = chosen(replace(BASE, labour_count=0), Cause.skills, (Cause.transport, Cause.other))
    assert not {"skills_training", "industry", "employment", "public_welfare_job"} & set(m)


def test_students_get_education_support_and_only_students() -> None:
    """教育扶持 (两免一补, 雨露计划) wherever there are students."""
    assert chosen(replace(BASE, students=2), Cause.illness)["education"] == BASIS_STUDENTS
    assert chosen(replace(BASE, students=1), Cause.schooling)["education"] == "schooling"
    assert "education" not in chosen(BASE, Cause.illness)


@pytest.mark.parametrize("cause", [c.value for c in Cause])
@pytest.mark.parametrize("labour", [0, 2])
@pytest.mark.parametrize("credit", [False, True])
def test_the_main_cause_is_always_answered(cause: str, labour: int, credit: bool) -> None:
    """A3a is mandatory, so every strategy must answer it, whatever the eligibility."""
    h = replace(BASE, labour_count=labour, has_credit_access=credit, students=0)
    m = chosen(h, cause)
    assert cause in m.values()
    assert problems(h, cause, m, POLICY, YEAR) == []


def test_capital_without_credit_access_gets_the_next_measure_in_its_list() -> None:
    """缺资金 without credit access: microcredit is refused, industry is next in the list."""
    m = chosen(replace(BASE, has_credit_access=False), Cause.capital)
    assert m["industry"] == "capital"


def test_main_cause_without_eligible_measure_uses_documented_default() -> None:
    """因学 with no student in the household (schooling costs of a child just left school):
    education is not eligible, so the default answers it."""
    assert chosen(BASE, Cause.schooling)["public_welfare_job"] == "schooling"
    assert chosen(replace(BASE, labour_count=0), Cause.schooling)["social_security"] == "schooling"


def test_each_measure_has_cost_and_provider_from_policy() -> None:
    for c in select_measures(
        replace(BASE, housing_grade="D", students=1), Cause.illness, (Cause.capital,), POLICY, YEAR
    ):
        assert c.cost_yuan == fiscal_cost(c.measure, POLICY)
        assert c.provider == POLICY.measure_provider[c.measure.value]
        assert c.expected_effect


def test_other_causes_do_not_repeat_a_measure() -> None:
    choices = select_measures(BASE, Cause.disability, (Cause.labour,), POLICY, YEAR)
    names = [c.measure for c in choices]
    assert len(names) == len(set(names))


def test_problems_flags_a_strategy_breaking_the_rules() -> None:
    h = replace(BASE, housing_grade="C", labour_count=0, students=1)
    found = problems(h, "illness", {"microcredit": "capital"}, POLICY, YEAR)
    assert any("microcredit" in p for p in found)
    assert any("main cause" in p for p in found)
    assert any("renovation" in p for p in found)
    assert any("social-security" in p for p in found)
    assert any("education" in p for p in found)


def test_land_poor_household_with_labour_gets_a_job_transfer_without_labour_asset_income() -> None:
    """缺土地: where there is labour, job transfer (劳务输出) comes first; a household that
    cannot work gets dividends from collective assets instead (资产收益)."""
    from zhucun.models.enums import Measure

    from zhucun.policy import default_policy
    from zhucun.rules.measures import HouseholdFacts, select_measures

    policy = default_policy(2026, "west")
    base = dict(
        size=4,
        head_birth_year=1980,
        has_credit_access=True,
        housing_grade="A",
        students=0,
        disabled_members=0,
    )
    working = select_measures(HouseholdFacts(labour_count=2, **base), "land", [], policy, 2026)
    idle = select_measures(HouseholdFacts(labour_count=0, **base), "land", [], policy, 2026)
    assert working[0].measure is Measure.employment
    assert idle[0].measure is Measure.asset_income
