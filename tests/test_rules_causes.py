"""Causes of poverty (A3a/A3b of 贫困户登记表): one main cause, ≤2 other distinct causes."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from zhucun.models.enums import Cause

from zhucun.policy import default_policy
from zhucun.rules.causes import RULE_VERSION, assess, validate_override

T = default_policy(2026, "central").cause_thresholds
BASE: dict[str, Any] = dict(
    size=4,
    labour_count=2,
    skilled_labour=1,
    per_capita_income_yuan=3000.0,
    serious_illness_members=0,
    chronic_illness_members=0,
    medical_spending_yuan=0.0,
    disabled_members=0,
    students=0,
    education_spending_yuan=0.0,
    disaster_loss_yuan=0.0,
    land_mu=4.0,
    safe_water_ok=True,
    has_credit_access=True,
    road_access=True,
    low_motivation=False,
)


def h(**kw: Any) -> dict[str, Any]:
    return {**BASE, **kw}


def test_serious_illness_is_the_main_cause() -> None:
    """因病: the largest single cause in 2014 (≈42%); a member with a serious illness."""
    a = assess(h(serious_illness_members=1, safe_water_ok=False), T)
    assert a.main_cause is Cause.illness
    assert a.evidence["illness"]["indicator"] == "serious_illness_members"
    assert a.rule_version == RULE_VERSION


def test_chronic_illness_counts_only_with_heavy_medical_spending() -> None:
    assert (
        assess(h(chronic_illness_members=1, medical_spending_yuan=100), T).main_cause is Cause.other
    )
    a = assess(h(chronic_illness_members=1, medical_spending_yuan=6000), T)
    assert a.main_cause is Cause.illness


def test_household_without_any_indicator_gets_other() -> None:
    """The main cause is mandatory: 其它 when no indicator triggers."""
    a = assess(h(), T)
    assert a.main_cause is Cause.other and a.other_causes == ()


def test_no_labour_household_has_labour_as_a_cause() -> None:
    a = assess(h(labour_count=0, skilled_labour=0), T)
    assert a.main_cause is Cause.labour


def test_at_most_two_other_causes_distinct_from_the_main() -> None:
    a = assess(
        h(
            serious_illness_members=1,
            disabled_members=1,
            safe_water_ok=False,
            road_access=False,
            land_mu=0.5,
            low_motivation=True,
        ),
        T,
    )
    assert len(a.other_causes) == 2
    assert a.main_cause not in a.other_causes
    assert len(set(a.other_causes)) == 2
    assert set(a.evidence) == {a.main_cause.value, *(c.value for c in a.other_causes)}


@given(
    st.integers(1, 8),
    st.integers(0, 8),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.integers(0, 2),
    st.integers(0, 2),
    st.floats(0, 10),
)
def test_every_household_gets_a_valid_assessment(
    size: int, labour: int, water: bool, road: bool, credit: bool, ill: int, dis: int, land: float
) -> None:
    labour = min(labour, size)
    a = assess(
        h(
            size=size,
            labour_count=labour,
            skilled_labour=0,
            safe_water_ok=water,
            road_access=road,
            has_credit_access=credit,
            serious_illness_members=ill,
            disabled_members=dis,
            land_mu=land,
        ),
        T,
    )
    assert validate_override(a.main_cause.value, [c.value for c in a.other_causes]) == []


def test_override_must_use_the_national_list() -> None:
    assert validate_override("illness", ["water"]) == []
    assert validate_override("marriage", []) != []  # 因婚 is a local addition, not national


def test_override_at_most_two_other_causes_and_distinct() -> None:
    assert any("at most 2" in p for p in validate_override("illness", ["water", "land", "skills"]))
    assert any("main cause" in p for p in validate_override("illness", ["illness"]))
    assert any("distinct" in p for p in validate_override("illness", ["water", "water"]))
