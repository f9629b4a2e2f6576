"""Exit (脱贫退出) and relapse monitoring (防止返贫监测), as pure functions.

- Household exit (厅字〔2016〕16号): per-capita income *steadily above* the year's line and
  两不愁三保障 plus safe water — food and clothing, compulsory education, basic medical care,
  housing graded A/B (`safe_housing_grades`), safe drinking water.
- An evaluation never exits a household: one survey meeting the conditions is outcome
  `exit` ("conditions met this period") with the status unchanged, and `propose_exit`
  decides whether the household goes on the 预退出 list — income above the line in each of
  the last `exit_stable_surveys` surveys, the guarantees held, its strategy approved and at
  least one measure *delivered* (never a draft). The exit itself is a later procedure
  through review stages (民主评议 → 核实 → 户认可 → 公示 → 公告 → 销号), not built here.
- Village exit: poverty incidence below `village_exit_max_incidence` (2%, 3% in the west).
- Monitoring (domain-rules §6): an exited household under the monitoring threshold (1.5× the
  line as floor) or hit by a sudden shock is monitored; an exited household back under the
  line or losing a guarantee has relapsed (返贫). A case closes (风险消除) only after
  ≥ `monitoring_min_months` of income stable above the threshold, ≥ `monitoring_min_measures`
  assistance measures, guarantees held, and never for a household without labour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from zhucun.models.enums import EvaluationOutcome, HouseholdStatus, Shock
from zhucun.policy import Policy

# Households still counted as poor (incidence, strategies): 未脱贫 and 返贫.
POOR_STATUSES: tuple[str, ...] = (HouseholdStatus.poor.value, HouseholdStatus.relapsed.value)

CATEGORY_UNSTABLE = "unstable_exited"  # 脱贫不稳定户
CATEGORY_SHOCK = "sudden_hardship"  # 突发严重困难户


@dataclass(frozen=True)
class Situation:
    """A household's situation in a period: its latest survey, or its registry values."""

    per_capita_income_yuan: float
    food_clothing_secure: bool
    compulsory_education_ok: bool
    basic_medical_ok: bool
    safe_water_ok: bool
    housing_grade: str
    shock: str = Shock.none.value


@dataclass(frozen=True)
class HouseholdEvaluation:
    income_ok: bool
    guarantees_ok: bool
    outcome: EvaluationOutcome
    new_status: str  # the household's status after the evaluation
    open_case: str | None  # monitoring category to open, if any
    trigger: str | None
    reason: str


def income_ok(s: Situation, policy: Policy) -> bool:
    """Strictly above the line: an income exactly at the line has not left poverty."""
    return s.per_capita_income_yuan > policy.poverty_line_yuan


def missing_guarantees(s: Situation, policy: Policy) -> list[str]:
    out = []
    if not s.food_clothing_secure:
        out.append("food_clothing")
    if not s.compulsory_education_ok:
        out.append("compulsory_education")
    if not s.basic_medical_ok:
        out.append("basic_medical")
    if s.housing_grade not in policy.safe_housing_grades:
        out.append(f"housing_{s.housing_grade}")
    if not s.safe_water_ok:
        out.append("safe_water")
    return out


def has_shock(s: Situation) -> bool:
    return bool(s.shock) and s.shock != Shock.none.value


def evaluate_household(status: str, s: Situation, policy: Policy) -> HouseholdEvaluation:
    """The outcome for one household in one period, from its status before the period."""
    inc = income_ok(s, policy)
    missing = missing_guarantees(s, policy)
    guar = not missing
    line = policy.poverty_line_yuan
    income_txt = f"income {s.per_capita_income_yuan:.0f} vs line {line:.0f}"
    if status in POOR_STATUSES:
        if inc and guar:  # conditions met this period: a candidate, never a status change
            return HouseholdEvaluation(
                inc,
                guar,
                EvaluationOutcome.exit,
                status,
                None,
                None,
                f"{income_txt}; all guarantees held (exit is proposed, never flipped)",
            )
        why = [] if inc else [f"{income_txt} (must be above)"]
        why += [f"missing {m}" for m in missing]
        return HouseholdEvaluation(
            inc, guar, EvaluationOutcome.remain, status, None, None, "; ".join(why)
        )
    if status == HouseholdStatus.exited.value:
        if not (inc and guar):
            why = [] if inc else [f"{income_txt}"]
            why += [f"missing {m}" for m in missing]
            return HouseholdEvaluation(
                inc,
                guar,
                EvaluationOutcome.relapse,
                HouseholdStatus.relapsed.value,
                CATEGORY_UNSTABLE,
                "relapse",
                "back in poverty: " + "; ".join(why),
            )
        under = s.per_capita_income_yuan < policy.monitoring_threshold_yuan
        if under or has_shock(s):
            category = CATEGORY_UNSTABLE if under else CATEGORY_SHOCK
            trigger = "income_below_threshold" if under else f"shock:{s.shock}"
            return HouseholdEvaluation(
                inc,
                guar,
                EvaluationOutcome.monitor,
                status,
                category,
                trigger,
                f"income {s.per_capita_income_yuan:.0f} vs monitoring threshold "
                f"{policy.monitoring_threshold_yuan:.0f}; shock {s.shock}",
            )
        return HouseholdEvaluation(
            inc, guar, EvaluationOutcome.remain, status, None, None, "exited and stable"
        )
    return HouseholdEvaluation(
        inc, guar, EvaluationOutcome.remain, status, None, None, f"status {status} is not evaluated"
    )


def village_exit_eligible(incidence: float, policy: Policy) -> bool:
    """Incidence strictly below the region's threshold (2%; 3% in the west)."""
    return incidence < policy.village_exit_max_incidence


def months_between(start: str, end: str) -> int:
    """Whole months from period `start` to period `end` ('2026-01' → '2026-07' = 6)."""
    y0, m0 = (int(x) for x in start.split("-"))
    y1, m1 = (int(x) for x in end.split("-"))
    return (y1 - y0) * 12 + (m1 - m0)


def stable(s: Situation, policy: Policy) -> bool:
    """Stable this period: income above the monitoring threshold, guarantees held, no shock."""
    return (
        s.per_capita_income_yuan > policy.monitoring_threshold_yuan
        and not missing_guarantees(s, policy)
        and not has_shock(s)
    )


@dataclass(frozen=True)
class CaseReview:
    stable_since: str | None
    close: bool
    reason: str


def review_case(
    *,
    opened_period: str,
    stable_since: str | None,
    period: str,
    situation: Situation,
    labour_count: int,
    measures: int,
    policy: Policy,
) -> CaseReview:
    """Track `stable_since` and decide whether an open case closes this period."""
    if not stable(situation, policy):
        return CaseReview(None, False, "not stable this period")
    since = stable_since or period
    need = policy.monitoring_min_months
    if labour_count <= 0:
        return CaseReview(since, False, "no working-age labour: stays monitored")
    if months_between(opened_period, period) < need:
        return CaseReview(since, False, f"monitored under {need} months")
    if months_between(since, period) < need:
        return CaseReview(since, False, f"stable since {since}, under {need} months")
    if measures < policy.monitoring_min_measures:
        return CaseReview(
            since,
            False,
            f"{measures} assistance measure(s), {policy.monitoring_min_measures} required",
        )
    return CaseReview(
        since,
        True,
        f"stable since {since}, {measures} measure(s), guarantees held: risk eliminated (风险消除)",
    )


# Reasons an exit proposal names (ExitProposal.reasons_met), in the order they are checked.
EXIT_INCOME_STEADY = "income_steady"
EXIT_GUARANTEES = "guarantees"
EXIT_STRATEGY_APPROVED = "strategy_approved"
EXIT_MEASURE_DELIVERED = "measure_delivered"
EXIT_CONDITIONS = (
    EXIT_INCOME_STEADY,
    EXIT_GUARANTEES,
    EXIT_STRATEGY_APPROVED,
    EXIT_MEASURE_DELIVERED,
)


@dataclass(frozen=True)
class ExitCheck:
    propose: bool
    met: list[str]
    missing: list[str]
    evidence: dict[str, object]


def propose_exit(
    surveys: Sequence[Situation],
    *,
    strategy_status: str | None,
    delivered_measures: int,
    policy: Policy,
) -> ExitCheck:
    """Whether a poor household goes on the 预退出 list. `surveys` are its latest surveys,
    newest first. Why steady: one good month (a harvest sold, a wage paid) is not leaving
    poverty; the policy's count of surveys says how many in a row must be above the line."""
    need = policy.exit_stable_surveys
    recent = list(surveys[:need])
    incomes = [s.per_capita_income_yuan for s in recent]
    checks = {
        EXIT_INCOME_STEADY: len(recent) >= need and all(income_ok(s, policy) for s in recent),
        EXIT_GUARANTEES: bool(recent) and not missing_guarantees(recent[0], policy),
        EXIT_STRATEGY_APPROVED: strategy_status == "approved",
        EXIT_MEASURE_DELIVERED: delivered_measures >= 1,
    }
    met = [k for k in EXIT_CONDITIONS if checks[k]]
    missing = [k for k in EXIT_CONDITIONS if not checks[k]]
    evidence: dict[str, object] = {
        "incomes": incomes,
        "line": policy.poverty_line_yuan,
        "surveys_needed": need,
        "missing_guarantees": missing_guarantees(recent[0], policy) if recent else [],
        "strategy_status": strategy_status,
        "delivered_measures": delivered_measures,
    }
    return ExitCheck(not missing, met, missing, evidence)
