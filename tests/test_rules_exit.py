"""Household and village exit, monitoring open and close (厅字〔2016〕16号; domain-rules §4, §6)."""

from __future__ import annotations

from dataclasses import replace

from zhucun.models.enums import EvaluationOutcome

from zhucun.policy import default_policy
from zhucun.rules.exit import (
    CATEGORY_SHOCK,
    CATEGORY_UNSTABLE,
    Situation,
    evaluate_household,
    months_between,
    review_case,
    village_exit_eligible,
)

POLICY = default_policy(2026, "central")
WEST = default_policy(2026, "west")
EAST = default_policy(2026, "east")
LINE = POLICY.poverty_line_yuan
THRESHOLD = POLICY.monitoring_threshold_yuan
GOOD = Situation(
    per_capita_income_yuan=THRESHOLD + 1000,
    food_clothing_secure=True,
    compulsory_education_ok=True,
    basic_medical_ok=True,
    safe_water_ok=True,
    housing_grade="A",
)


def test_one_yuan_over_the_line_with_an_unsafe_house_does_not_exit() -> None:
    s = replace(GOOD, per_capita_income_yuan=LINE + 1, housing_grade="C")
    e = evaluate_household("poor", s, POLICY)
    assert e.outcome is EvaluationOutcome.remain
    assert e.income_ok and not e.guarantees_ok
    assert e.new_status == "poor"


def test_income_exactly_at_the_line_does_not_exit() -> None:
    """Income must be *above* the line (稳定超过国家扶贫标准)."""
    e = evaluate_household("poor", replace(GOOD, per_capita_income_yuan=LINE), POLICY)
    assert e.outcome is EvaluationOutcome.remain and not e.income_ok


def test_one_yuan_over_the_line_with_all_guarantees_meets_exit_but_is_never_flipped() -> None:
    """One survey meets the conditions (outcome exit); the status stays poor: exit is
    proposed (预退出) and decided by the exit procedure, never by an evaluation."""
    e = evaluate_household("poor", replace(GOOD, per_capita_income_yuan=LINE + 1), POLICY)
    assert e.outcome is EvaluationOutcome.exit and e.new_status == "poor"


def test_each_guarantee_blocks_exit() -> None:
    """两不愁三保障 + safe water: any one missing keeps the household poor."""
    for field in (
        "food_clothing_secure",
        "compulsory_education_ok",
        "basic_medical_ok",
        "safe_water_ok",
    ):
        e = evaluate_household("poor", replace(GOOD, **{field: False}), POLICY)
        assert e.outcome is EvaluationOutcome.remain, field
    assert (
        evaluate_household("poor", replace(GOOD, housing_grade="B"), POLICY).outcome
        is EvaluationOutcome.exit
    )
    assert (
        evaluate_household("poor", replace(GOOD, housing_grade="D"), POLICY).outcome
        is EvaluationOutcome.remain
    )


def test_relapsed_household_meeting_the_conditions_is_a_candidate_again() -> None:
    e = evaluate_household("relapsed", GOOD, POLICY)
    assert e.outcome is EvaluationOutcome.exit and e.new_status == "relapsed"


def test_exited_household_under_one_and_a_half_times_the_line_is_monitored() -> None:
    """脱贫不稳定户: exited, income within the monitoring range."""
    s = replace(GOOD, per_capita_income_yuan=THRESHOLD - 1)
    e = evaluate_household("exited", s, POLICY)
    assert e.outcome is EvaluationOutcome.monitor
    assert e.open_case == CATEGORY_UNSTABLE and e.new_status == "exited"
    assert THRESHOLD >= 1.5 * LINE


def test_a_shock_opens_monitoring_even_with_a_good_income() -> None:
    """突发严重困难户: income above the range, but a sudden illness."""
    e = evaluate_household("exited", replace(GOOD, shock="illness"), POLICY)
    assert e.outcome is EvaluationOutcome.monitor
    assert e.open_case == CATEGORY_SHOCK and e.trigger == "shock:illness"


def test_exited_household_back_under_the_line_relapses() -> None:
    e = evaluate_household("exited", replace(GOOD, per_capita_income_yuan=LINE - 1), POLICY)
    assert e.outcome is EvaluationOutcome.relapse and e.new_status == "relapsed"
    assert e.open_case == CATEGORY_UNSTABLE


def test_exited_household_losing_safe_housing_relapses() -> None:
    e = evaluate_household("exited", replace(GOOD, housing_grade="D"), POLICY)
    assert e.outcome is EvaluationOutcome.relapse


def test_stable_exited_household_remains_exited() -> None:
    e = evaluate_household("exited", GOOD, POLICY)
    assert e.outcome is EvaluationOutcome.remain and e.open_case is None


def test_western_village_at_2_5_percent_may_exit_an_eastern_one_may_not() -> None:
    """Village exit: incidence below 2%, below 3% in the west."""
    assert village_exit_eligible(0.025, WEST)
    assert not village_exit_eligible(0.025, EAST)
    assert village_exit_eligible(0.019, EAST)
    assert not village_exit_eligible(0.02, EAST)  # must be below, not at


def case(
    period: str,
    *,
    since: str | None = "2026-01",
    labour: int = 2,
    measures: int = 1,
    situation: Situation = GOOD,
    opened: str = "2025-12",
):
    return review_case(
        opened_period=opened,
        stable_since=since,
        period=period,
        situation=situation,
        labour_count=labour,
        measures=measures,
        policy=POLICY,
    )


def test_monitoring_not_closed_before_six_months_of_stable_income() -> None:
    assert not case("2026-06").close
    assert case("2026-07").close
    assert months_between("2026-01", "2026-07") == 6


def test_monitoring_not_closed_without_an_assistance_measure() -> None:
    r = case("2026-09", measures=0)
    assert not r.close and "measure" in r.reason


def test_monitoring_never_closed_for_a_household_without_labour() -> None:
    """A household with no working-age labour is not marked risk-eliminated."""
    r = case("2030-01", labour=0, measures=5)
    assert not r.close and "labour" in r.reason


def test_unstable_period_resets_stable_since() -> None:
    r = case("2026-08", situation=replace(GOOD, per_capita_income_yuan=THRESHOLD - 1))
    assert r.stable_since is None and not r.close
    r = case("2026-08", since=None)
    assert r.stable_since == "2026-08" and not r.close


def test_monitoring_needs_six_months_since_opening_too() -> None:
    assert not case("2026-07", since="2026-01", opened="2026-03").close
