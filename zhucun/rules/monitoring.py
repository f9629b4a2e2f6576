"""Monitoring against falling back into poverty (防止返贫动态监测和帮扶), as plain functions.

Since 2021 a county watches *every* rural household, not only the registered ones: a
household that exited may fall back, an ordinary one may fall in, and a shock can floor
either whatever its income. What each function encodes (the numbers are policy data in
`zhucun/policy/monitoring.toml`, with their sources):

- **Threshold** (`threshold`): the national floor of the year (1.5 × the campaign's line,
  6,000 yuan in 2021) or the province's own, higher figure.
- **Income** (`income_12m`, `rigid_per_capita`): per-capita income over the 12 months
  before (the latest survey of those months), against which rigid out-of-pocket spending
  (合规自付医疗, 教育) is counted.
- **Who becomes a monitoring object** (`identify`): 脱贫不稳定户 — exited, income under the
  threshold; 边缘易致贫户 — never registered, income under the threshold; 突发严重困难户 —
  any household hit by a shock (a large medical bill, a disaster, an accident …) whose
  rigid spending leaves it under the threshold, or that lost a guarantee to it, even
  though its income is above. A household still registered poor is helped as such.
- **Risk types** (`risk_types`): 因病, 因学, 因灾, 因意外, 因产业失败, 因务工就业不稳 … from
  the shocks, the clues, the spending shares and the guarantees.
- **Clocks**: a clue is decided within 15 days (`clue_due_on`); a monitored household has
  a development measure (开发式帮扶) within a month of identification (`measure_overdue`).
- **Risk elimination** (`check_elimination`): income steadily above the threshold for six
  months, rigid spending resolved, 三保障 and safe water held, monitored six months, at
  least one *delivered* measure, and working-age labour — a household without labour
  stays monitored. Each condition is a named reason, so a refusal says which failed.
- **Dismissing a clue** (`check_dismissal`): only with a reason, and only by someone the
  policy allows (township reviewer, county approver, the village's team, the helper).
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from zhucun.models.enums import HouseholdStatus
from zhucun.models.monitoring import (
    ClueChannel,
    ClueKind,
    ClueSector,
    ClueStatus,
    MonitoringCategory,
    RiskType,
)
from zhucun.policy import Policy

# --- Threshold and income ------------------------------------------------------------------


def threshold(policy: Policy) -> float:
    """The year's monitoring threshold for the policy's place: never under the national
    floor, the province's figure where it is higher (provinces may only raise it)."""
    national = policy.monitoring_threshold_yuan
    floor = policy.poverty_line_yuan * policy.monitoring_income_multiple
    own = policy.monitoring_province_threshold_yuan or 0.0
    return max(national, floor, own)


def add_months(day: date, months: int) -> date:
    """`day` plus whole calendar months, clamped to the month's end (31 Jan + 1 = 28 Feb)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def income_12m(
    surveys: Iterable[tuple[date, float]], on: date, months: int, fallback: float | None
) -> float | None:
    """Per-capita income over the `months` months up to `on`: a survey's per-capita income
    is the household's year up to the survey, so the latest survey inside the window says
    it (an average of several would count the same months twice); `fallback` (the
    registry's figure, or None: nothing is known of these months) when none was."""
    start = add_months(on, -months)
    inside = sorted((day, income) for day, income in surveys if start < day <= on)
    return inside[-1][1] if inside else fallback


def rigid_per_capita(
    size: int, medical_yuan: float, education_yuan: float, clue_amounts: Iterable[float] = ()
) -> float:
    """Rigid out-of-pocket spending per person: 合规自付 medical and education spending of
    the household, plus the amounts of its clues (a bill the registry does not hold yet)."""
    total = (
        max(0.0, medical_yuan) + max(0.0, education_yuan) + sum(max(0.0, a) for a in clue_amounts)
    )
    return total / max(size, 1)


# --- Who becomes a monitoring object --------------------------------------------------------

# Why `identify` decided as it did: stable codes (a clue's suggested outcome, tests).
REGISTERED_POOR = "registered_poor"  # still 未脱贫 / 返贫: helped as a poor household
UNDER_THRESHOLD = "under_threshold"
SHOCK_NET_UNDER = "shock_net_under"  # above the threshold, under it after rigid spending
SHOCK_GUARANTEE_LOST = "shock_guarantee_lost"  # a shock broke 三保障 or safe water
ABOVE_THRESHOLD = "above_threshold"  # no shock, income above: not at risk by these rules
SHOCK_COPED = "shock_coped"  # a shock, but income after rigid spending stays above

IDENTIFY_ZH = {
    REGISTERED_POOR: "仍为建档立卡贫困户，按贫困户帮扶",
    UNDER_THRESHOLD: "人均纯收入低于监测范围",
    SHOCK_NET_UNDER: "突发刚性支出后收入低于监测范围",
    SHOCK_GUARANTEE_LOST: "突发事件致三保障或饮水安全出现问题",
    ABOVE_THRESHOLD: "收入高于监测范围，无突发困难",
    SHOCK_COPED: "有突发事件，扣除刚性支出后收入仍高于监测范围",
}


@dataclass(frozen=True)
class Identification:
    category: str | None  # MonitoringCategory, or None: not a monitoring object
    reason: str  # one of the codes above
    income: float  # per capita, 12 months
    rigid: float  # rigid spending per capita, 12 months
    threshold: float

    @property
    def detail(self) -> str:
        """One line for people: the figures the decision rests on (no personal data)."""
        return (
            f"{self.reason}: income {self.income:.0f}, rigid {self.rigid:.0f}, "
            f"net {self.income - self.rigid:.0f} vs threshold {self.threshold:.0f}"
        )


def identify(
    *,
    status: str,
    income: float,
    rigid: float,
    shocks: Collection[str],
    missing_guarantees: Collection[str],
    policy: Policy,
) -> Identification:
    """Whether a rural household is a monitoring object, and of which category.

    `status` is the registry's (poor / relapsed / exited / non_poor); `income` and `rigid`
    are per capita over the last 12 months; `shocks` the shock and clue kinds of those
    months; `missing_guarantees` what of 三保障 and safe water fails now."""
    line = threshold(policy)

    def result(category: str | None, reason: str) -> Identification:
        return Identification(category, reason, income, rigid, line)

    if status in (HouseholdStatus.poor, HouseholdStatus.relapsed):
        return result(None, REGISTERED_POOR)
    exited = status == HouseholdStatus.exited
    if income < line:
        category = MonitoringCategory.unstable_exited if exited else MonitoringCategory.edge
        return result(category.value, UNDER_THRESHOLD)
    if not any(s and s != "none" for s in shocks):
        return result(None, ABOVE_THRESHOLD)
    if income - rigid < line:
        return result(MonitoringCategory.sudden_hardship.value, SHOCK_NET_UNDER)
    if missing_guarantees:
        return result(MonitoringCategory.sudden_hardship.value, SHOCK_GUARANTEE_LOST)
    return result(None, SHOCK_COPED)


# shock (surveys) and clue kinds → risk type
KIND_RISK: dict[str, RiskType] = {
    "illness": RiskType.illness,
    ClueKind.medical_bill: RiskType.illness,
    ClueKind.dropout: RiskType.schooling,
    ClueKind.education_cost: RiskType.schooling,
    "disaster": RiskType.disaster,
    ClueKind.house_damage: RiskType.housing,
    "accident": RiskType.accident,
    "unemployment": RiskType.unstable_employment,
    ClueKind.industry_failure: RiskType.industry_failure,
    ClueKind.income_drop: RiskType.other,
    ClueKind.other: RiskType.other,
}
GUARANTEE_RISK: dict[str, RiskType] = {
    "compulsory_education": RiskType.schooling,
    "basic_medical": RiskType.illness,
    "safe_water": RiskType.water,
}


def risk_types(
    *,
    shocks: Iterable[str],
    missing_guarantees: Iterable[str],
    labour_count: int,
    disabled_members: int,
    household_income_yuan: float,
    medical_yuan: float,
    education_yuan: float,
    policy: Policy,
) -> list[str]:
    """The risk types (风险类型) of a monitoring object, in the national list's order: from
    its shocks and clues, the guarantees it lacks, no labour, a disabled member, and a
    medical or education spending share at or over the cause thresholds."""
    found: set[RiskType] = {KIND_RISK[s] for s in shocks if s in KIND_RISK}
    for g in missing_guarantees:
        found.add(
            RiskType.housing if g.startswith("housing") else GUARANTEE_RISK.get(g, RiskType.other)
        )
    if labour_count <= 0:
        found.add(RiskType.labour)
    if disabled_members > 0:
        found.add(RiskType.disability)
    th = policy.cause_thresholds
    income = max(household_income_yuan, 1.0)
    if medical_yuan / income >= th.get("medical_spending_share", 1.0):
        found.add(RiskType.illness)
    if education_yuan / income >= th.get("education_spending_share", 1.0):
        found.add(RiskType.schooling)
    if not found:
        found.add(RiskType.other)
    return [r.value for r in RiskType if r in found]


# --- Clues and their clock ------------------------------------------------------------------


@dataclass(frozen=True)
class ClueRecord:
    """A clue as typed (`zhucun monitor report`) or read from a file row."""

    household_id: str
    channel: str
    kind: str
    reported_on: date
    sector: str = ""
    amount_yuan: float | None = None
    reported_by: str = ""
    note: str = ""


@dataclass(frozen=True)
class Problem:
    column: str
    message: str


CHANNELS = tuple(c.value for c in ClueChannel)
SECTORS = tuple(s.value for s in ClueSector)
KINDS = tuple(k.value for k in ClueKind)
NOTE_MAX = 500


def check_clue(c: ClueRecord, today: date) -> list[Problem]:
    """Every reason a clue is refused (the task checks that the household exists)."""
    out: list[Problem] = []
    if c.channel not in CHANNELS:
        out.append(Problem("channel", f"channel must be one of {', '.join(CHANNELS)}"))
    if c.channel == ClueChannel.sector and c.sector not in SECTORS:
        out.append(Problem("sector", f"a sector push names its sector: {', '.join(SECTORS)}"))
    if c.channel != ClueChannel.sector and c.sector:
        out.append(Problem("sector", "only a sector push (channel sector) names a sector"))
    if c.kind not in KINDS:
        out.append(Problem("kind", f"kind must be one of {', '.join(KINDS)}"))
    if c.amount_yuan is not None and c.amount_yuan < 0:
        out.append(Problem("amount", "an amount cannot be negative"))
    if c.reported_on > today:
        out.append(Problem("reported_on", f"{c.reported_on} is in the future"))
    if c.channel == ClueChannel.visit and not c.reported_by.strip():
        out.append(Problem("reported_by", "a visit finding names the cadre who visited"))
    if len(c.note) > NOTE_MAX:
        out.append(Problem("note", f"at most {NOTE_MAX} characters"))
    return out


def clue_due_on(reported_on: date, policy: Policy) -> date:
    """The day a clue must be decided by: 15 days (policy) from the first report."""
    return reported_on + timedelta(days=policy.monitoring_clue_days)


def clue_overdue(status: str, due_on: date, today: date) -> bool:
    """Still open after its due day: the identification was not decided in time."""
    return status == ClueStatus.open and today > due_on


def measure_due_on(identified_on: date, policy: Policy) -> date:
    """The day a monitored household must have a development measure by (one month)."""
    return add_months(identified_on, policy.monitoring_measure_months)


def measure_overdue(
    identified_on: date, measures: Iterable[str], today: date, policy: Policy
) -> bool:
    """No development measure (开发式帮扶, policy list) a month after identification: the
    data-quality rule flags it. Planned measures count — the rule asks for help arranged,
    risk elimination asks for help delivered."""
    development = set(policy.monitoring_development_measures)
    if any(m in development for m in measures):
        return False
    return today > measure_due_on(identified_on, policy)


def measure_identified_cutoff(today: date, policy: Policy) -> date:
    """The latest identification day whose month for a development measure has passed on
    `today`: `measure_overdue` as one date bound, so the daily check is one SQL statement
    (`identified_on <= cutoff`). The due day grows with the identification day, so the
    overdue days are exactly those up to this cutoff."""
    day = today
    while measure_due_on(day, policy) >= today:
        day -= timedelta(days=1)
    return day


def check_dismissal(
    *, status: str, reason: str, by: str, allowed: Collection[str], roles: str
) -> list[Problem]:
    """Why a clue may not be dismissed by `by`: it is no longer open, there is no reason,
    or `by` is not among `allowed` (the people the policy's roles give for this household,
    described by `roles` for the message)."""
    out: list[Problem] = []
    if status != ClueStatus.open:
        out.append(Problem("clue", f"the clue is {status}, not open: nothing to dismiss"))
    if not reason.strip():
        out.append(Problem("reason", "a dismissal needs its reason"))
    elif len(reason) > NOTE_MAX:
        out.append(Problem("reason", f"at most {NOTE_MAX} characters"))
    if by.strip() not in allowed:
        out.append(Problem("by", f"only {roles} may dismiss a clue of this household"))
    return out


# --- Risk elimination (风险消除) --------------------------------------------------------------

INCOME_STEADY = "income_steady"
RIGID_RESOLVED = "rigid_spending_resolved"
GUARANTEES_HELD = "guarantees_held"
MONITORED_LONG_ENOUGH = "monitored_long_enough"
MEASURE_DELIVERED = "measure_delivered"
HAS_LABOUR = "has_labour"
ELIMINATION_CONDITIONS = (
    INCOME_STEADY,
    RIGID_RESOLVED,
    GUARANTEES_HELD,
    MONITORED_LONG_ENOUGH,
    MEASURE_DELIVERED,
    HAS_LABOUR,
)
ELIMINATION_ZH = {
    INCOME_STEADY: "收入持续稳定超过监测范围",
    RIGID_RESOLVED: "刚性支出问题已解决",
    GUARANTEES_HELD: "三保障和饮水安全有保障",
    MONITORED_LONG_ENOUGH: "纳入监测满规定月数",
    MEASURE_DELIVERED: "至少落实一项帮扶措施",
    HAS_LABOUR: "有劳动能力（无劳动能力的继续监测）",
}


def income_steady(
    surveys: Sequence[tuple[date, float]], on: date, limit: float, months: int
) -> bool:
    """Above `limit` for at least `months` up to `on`: the last survey on or before the
    window's start was above, and every survey since. One good month (a harvest sold)
    shows nothing; a household never surveyed that far back has not shown it either."""
    start = add_months(on, -months)
    dated = sorted((d, x) for d, x in surveys if d <= on)
    before = [x for d, x in dated if d <= start]
    if not before or before[-1] <= limit:
        return False
    return all(x > limit for d, x in dated if d > start)


@dataclass(frozen=True)
class Elimination:
    eliminate: bool
    met: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def reason(self) -> str:
        """The refusal in one line: which conditions failed (or that all were met)."""
        if self.eliminate:
            return "risk eliminated (风险消除): " + ", ".join(self.met)
        return "stays monitored: " + ", ".join(f"not {f}" for f in self.failed)


def check_elimination(
    *,
    surveys: Sequence[tuple[date, float]],
    on: date,
    identified_on: date,
    income: float,
    rigid: float,
    missing_guarantees: Collection[str],
    delivered_measures: int,
    labour_count: int,
    policy: Policy,
) -> Elimination:
    """Whether a monitored household's risk is eliminated on `on`. All conditions must
    hold; no quota limits how many households leave. `income` and `rigid` are per capita
    over the last 12 months; `delivered_measures` counts delivered measures only (a draft
    or an approved-only measure is a promise, not help received)."""
    limit = threshold(policy)
    checks = {
        INCOME_STEADY: income_steady(surveys, on, limit, policy.monitoring_stable_months),
        RIGID_RESOLVED: income - rigid > limit,
        GUARANTEES_HELD: not missing_guarantees,
        MONITORED_LONG_ENOUGH: add_months(identified_on, policy.monitoring_min_months) <= on,
        MEASURE_DELIVERED: delivered_measures >= policy.monitoring_min_measures,
        HAS_LABOUR: labour_count > 0,
    }
    met = [k for k in ELIMINATION_CONDITIONS if checks[k]]
    failed = [k for k in ELIMINATION_CONDITIONS if not checks[k]]
    return Elimination(not failed, met, failed)
