"""The monitoring rules (防止返贫动态监测) on the real-world cases that motivate them: the edge
household with an illness and 2,500 yuan that the old monitoring never saw, the ordinary
family floored by a hospital bill although its income is well above the range, the case
closed as 风险消除 on a drafted measure."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from zhucun.policy import default_policy, default_rows, resolve
from zhucun.rules import monitoring as m
from zhucun.rules.monitoring import ClueRecord

P2021 = default_policy(2021, "west", "52")
P2026 = default_policy(2026, "west", "52")


def _with(extra: list[tuple[str, int, str, object]], year: int, province: str = "52"):  # noqa: ANN202
    rows = [(r["key"], r["year_from"], r["scope"], r["value"]) for r in default_rows()]
    return resolve(rows + extra, year, "west", province)


# --- Threshold -------------------------------------------------------------------------


def test_threshold_is_1_5_times_the_line_and_6000_in_2021() -> None:
    assert m.threshold(default_policy(2020, "central")) == pytest.approx(1.5 * 4000)
    assert m.threshold(P2021) == 6000


def test_a_province_may_raise_the_threshold_never_lower_it() -> None:
    raised = _with([("monitoring_province_threshold_yuan", 2023, "52", 8000)], 2024)
    assert m.threshold(raised) == 8000
    elsewhere = _with([("monitoring_province_threshold_yuan", 2023, "52", 8000)], 2024, "43")
    assert m.threshold(elsewhere) == default_policy(2024, "west", "43").monitoring_threshold_yuan
    lowered = _with([("monitoring_province_threshold_yuan", 2021, "52", 5000)], 2021)
    assert m.threshold(lowered) == 6000  # the national floor holds


def test_income_is_the_12_months_before() -> None:
    on = date(2026, 12, 31)
    surveys = [(date(2025, 9, 30), 20000.0), (date(2026, 3, 31), 5000.0), (date(2026, 9, 30), 7000)]
    assert m.income_12m(surveys, on, 12, fallback=9999) == 7000  # the latest of the year
    assert m.income_12m(surveys[:1], on, 12, fallback=9999) == 9999  # 2025 is out: registry
    assert m.income_12m([], on, 12, fallback=None) is None  # nothing known of the year
    assert m.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert m.add_months(date(2026, 3, 15), -12) == date(2025, 3, 15)


def test_rigid_spending_is_per_person_and_counts_clue_amounts() -> None:
    assert m.rigid_per_capita(4, 20000, 4000, [6000]) == 7500
    assert m.rigid_per_capita(0, 100, 0) == 100  # a size of 0 is read as one person


# --- Who becomes a monitoring object -----------------------------------------------------


def _identify(status: str, income: float, rigid: float = 0, shocks=(), missing=()):  # noqa: ANN001, ANN202
    return m.identify(
        status=status,
        income=income,
        rigid=rigid,
        shocks=shocks,
        missing_guarantees=missing,
        policy=P2026,
    )


def test_edge_household_never_registered_with_illness_and_2500_yuan() -> None:
    """The issue's case: never registered poor, an illness, 2,500 yuan a person."""
    r = _identify("non_poor", 2500, shocks=["illness"])
    assert (r.category, r.reason) == ("edge", m.UNDER_THRESHOLD)


def test_exited_household_under_the_threshold_is_unstable() -> None:
    r = _identify("exited", m.threshold(P2026) - 1)
    assert (r.category, r.reason) == ("unstable_exited", m.UNDER_THRESHOLD)
    assert _identify("exited", m.threshold(P2026) + 500).category is None


def test_ordinary_family_floored_by_a_hospital_bill_above_the_range() -> None:
    """4 people with 12,000 yuan each; a 合规自付 bill of 30,000 after reimbursement leaves
    4,500 a person: 突发严重困难户 although the income is well above the threshold."""
    rigid = m.rigid_per_capita(4, 0, 0, [30000])
    r = _identify("non_poor", 12000, rigid, shocks=["medical_bill"])
    assert (r.category, r.reason) == ("sudden_hardship", m.SHOCK_NET_UNDER)
    assert "net 4500" in r.detail


def test_a_flood_that_destroys_the_house_of_a_household_above_the_range() -> None:
    r = _identify("exited", 15000, 0, shocks=["disaster"], missing=["housing_D"])
    assert (r.category, r.reason) == ("sudden_hardship", m.SHOCK_GUARANTEE_LOST)


def test_a_shock_the_household_copes_with_is_not_a_case() -> None:
    r = _identify("non_poor", 15000, 500, shocks=["accident"])
    assert (r.category, r.reason) == (None, m.SHOCK_COPED)
    assert _identify("non_poor", 15000).reason == m.ABOVE_THRESHOLD


def test_registered_poor_are_watched_but_helped_as_poor() -> None:
    for status in ("poor", "relapsed"):
        assert _identify(status, 1000, shocks=["disaster"]).reason == m.REGISTERED_POOR


def test_risk_types_from_shocks_guarantees_labour_and_spending() -> None:
    types = m.risk_types(
        shocks=["medical_bill", "unemployment", "none"],
        missing_guarantees=["housing_D", "safe_water"],
        labour_count=0,
        disabled_members=0,
        household_income_yuan=20000,
        medical_yuan=0,
        education_yuan=7000,  # 35% of the income: at or over the 30% threshold
        policy=P2026,
    )
    assert types == ["illness", "schooling", "unstable_employment", "labour", "housing", "water"]
    none = m.risk_types(
        shocks=[],
        missing_guarantees=[],
        labour_count=2,
        disabled_members=0,
        household_income_yuan=20000,
        medical_yuan=100,
        education_yuan=0,
        policy=P2026,
    )
    assert none == ["other"]


# --- Clues and clocks ----------------------------------------------------------------------


def test_a_clue_is_due_15_days_after_the_report_and_overdue_the_day_after() -> None:
    due = m.clue_due_on(date(2026, 3, 1), P2026)
    assert due == date(2026, 3, 16)
    assert not m.clue_overdue("open", due, date(2026, 3, 16))
    assert m.clue_overdue("open", due, date(2026, 3, 17))
    assert not m.clue_overdue("dismissed", due, date(2026, 4, 1))
    assert not m.clue_overdue("case", due, date(2026, 4, 1))


def test_no_development_measure_a_month_after_identification_is_flagged() -> None:
    identified = date(2026, 1, 31)
    assert m.measure_due_on(identified, P2026) == date(2026, 2, 28)
    assert not m.measure_overdue(identified, [], date(2026, 2, 28), P2026)
    assert m.measure_overdue(identified, [], date(2026, 3, 1), P2026)
    # 兜底 alone is not development help; a planned job transfer is
    assert m.measure_overdue(identified, ["social_security"], date(2026, 3, 1), P2026)
    assert not m.measure_overdue(identified, ["employment"], date(2026, 3, 1), P2026)


def test_the_cutoff_the_daily_check_uses_is_the_rule_exactly() -> None:
    """Month ends (31 Jan + 1 month = 28 Feb) make "one month before today" wrong; the
    cutoff agrees with measure_overdue on every day of two years."""
    start = date(2023, 1, 1)
    for i in range(730):
        today = start + timedelta(days=i)
        cutoff = m.measure_identified_cutoff(today, P2026)
        for back in range(20, 40):
            identified = today - timedelta(days=back)
            assert m.measure_overdue(identified, [], today, P2026) == (identified <= cutoff)


def test_a_clue_is_checked_before_it_is_written() -> None:
    today = date(2026, 5, 1)
    ok = ClueRecord("H1", "sector", "medical_bill", today, sector="medical", amount_yuan=1.0)
    assert m.check_clue(ok, today) == []
    bad = ClueRecord("H1", "sector", "flu", date(2026, 5, 2), amount_yuan=-3)
    assert [p.column for p in m.check_clue(bad, today)] == [
        "sector",
        "kind",
        "amount",
        "reported_on",
    ]
    assert [
        p.column for p in m.check_clue(ClueRecord("H1", "visit", "accident", today), today)
    ] == ["reported_by"]
    stray = ClueRecord("H1", "self_report", "disaster", today, sector="housing")
    assert [p.column for p in m.check_clue(stray, today)] == ["sector"]


def test_only_someone_allowed_dismisses_an_open_clue_with_a_reason() -> None:
    allowed = {"T-REVIEWER", "C-HELPER"}
    ok = m.check_dismissal(
        status="open", reason="income checked: 9,800", by="C-HELPER", allowed=allowed, roles="x"
    )
    assert ok == []
    refused = m.check_dismissal(
        status="open", reason=" ", by="V-PARTY-SECRETARY", allowed=allowed, roles="x"
    )
    assert [p.column for p in refused] == ["reason", "by"]
    again = m.check_dismissal(status="case", reason="r", by="C-HELPER", allowed=allowed, roles="x")
    assert [p.column for p in again] == ["clue"]


# --- Risk elimination ------------------------------------------------------------------------

ON = date(2026, 12, 31)
STEADY = [(date(2026, 3, 31), 9000.0), (date(2026, 6, 30), 9500.0), (date(2026, 9, 30), 9800.0)]


def _eliminate(**over: object) -> m.Elimination:
    args: dict[str, object] = dict(
        surveys=STEADY,
        on=ON,
        identified_on=date(2026, 3, 15),
        income=9400.0,
        rigid=300.0,
        missing_guarantees=[],
        delivered_measures=1,
        labour_count=2,
        policy=P2026,
    )
    args.update(over)
    return m.check_elimination(**args)  # type: ignore[arg-type]


def test_risk_eliminated_when_every_condition_holds() -> None:
    r = _eliminate()
    assert r.eliminate and r.failed == [] and r.met == list(m.ELIMINATION_CONDITIONS)


def test_not_eliminated_with_a_draft_measure() -> None:
    """The issue's case: closed as 风险消除 with one measure that was only a draft."""
    r = _eliminate(delivered_measures=0)
    assert not r.eliminate and r.failed == [m.MEASURE_DELIVERED]
    assert "not measure_delivered" in r.reason


def test_not_eliminated_under_six_months_of_monitoring() -> None:
    r = _eliminate(identified_on=date(2026, 7, 1))
    assert r.failed == [m.MONITORED_LONG_ENOUGH]


def test_a_household_without_labour_stays_monitored() -> None:
    assert _eliminate(labour_count=0).failed == [m.HAS_LABOUR]


def test_one_good_survey_is_not_income_steady_for_half_a_year() -> None:
    dip = [(date(2026, 6, 30), 5000.0), (date(2026, 9, 30), 9800.0), (ON, 9900.0)]
    assert _eliminate(surveys=dip).failed == [m.INCOME_STEADY]
    assert _eliminate(surveys=[(date(2026, 12, 1), 20000.0)]).failed == [m.INCOME_STEADY]


def test_rigid_spending_and_guarantees_must_be_resolved() -> None:
    r = _eliminate(rigid=4000.0, missing_guarantees=["basic_medical"])
    assert r.failed == [m.RIGID_RESOLVED, m.GUARANTEES_HELD]
