"""Households drawn cause-first: a target main cause per household, that cause's indicators
set strongly, and 0-2 weaker other causes whose severity under `zhucun.rules.causes` stays
below the main one, so the rules give back the intended cause and the published shares hold.

Severity per cause in `zhucun.rules.causes` (main = most severe; ties go to the national
order 因病, 因残, 因学, 因灾, 缺土地, 缺水, 缺技术, 缺劳力, 缺资金, 交通, 动力, 其它):
illness 0.8+0.1/serious member or 0.5+medical share/2; disability 0.6+0.15/disabled member;
schooling 0.4+education share/2; disaster 0.4+loss share/2; labour 0.85 (none) or 0.55;
water 0.5; skills 0.5; land 0.45; transport 0.45; capital 0.4; motivation 0.35.
The ranges below keep every weak cause strictly under the main cause's floor.
"""

from __future__ import annotations

import math
from bisect import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from random import Random

from zhucun.generator import distributions as d
from zhucun.models.enums import Cause

ORDER = tuple(c.value for c in Cause)  # the national list order that breaks ties

# floor of the severity a *main* cause is drawn with (labour: zero / low labour variants)
STRONG_MIN = {
    "illness": 0.875,
    "disability": 0.75,
    "schooling": 0.6,
    "disaster": 0.575,
    "labour_zero": 0.85,
    "labour_low": 0.55,
    "water": 0.5,
    "skills": 0.5,
    "land": 0.45,
    "transport": 0.45,
    "capital": 0.4,
    "motivation": 0.35,
    "other": 0.0,
}
# ceiling of the severity an *other* cause is drawn with
WEAK_MAX = {
    "illness": 0.71,
    "disability": 0.75,
    "schooling": 0.59,
    "disaster": 0.54,
    "labour": 0.55,
    "water": 0.5,
    "skills": 0.5,
    "land": 0.45,
    "transport": 0.45,
    "capital": 0.4,
    "motivation": 0.35,
}
NEEDS_LABOUR = frozenset({"skills", "capital"})

Table = tuple[tuple[str, ...], tuple[float, ...]]


def table(weights: Mapping[str, float] | Mapping[int, float]) -> Table:
    items = tuple(weights)
    cum, acc = [], 0.0
    for k in items:
        acc += weights[k]  # type: ignore[index]
        cum.append(acc)
    return items, tuple(cum)  # type: ignore[return-value]


def pick(rng: Random, t: Table) -> str:
    items, cum = t
    return items[min(bisect(cum, rng.random() * cum[-1]), len(items) - 1)]


def _cause_of(variant: str) -> str:
    return "labour" if variant.startswith("labour") else variant


def _allowed(variant: str) -> Table:
    """Other causes that can accompany `variant` without outranking it."""
    main = _cause_of(variant)
    floor = STRONG_MIN[variant]
    out: dict[str, float] = {}
    for cause, ceiling in WEAK_MAX.items():
        if cause == main or (variant == "labour_zero" and cause in NEEDS_LABOUR):
            continue
        if ceiling < floor or (ceiling == floor and ORDER.index(main) < ORDER.index(cause)):
            out[cause] = d.SECONDARY_WEIGHTS[cause]
    return table(out) if out else ((), ())


ALLOWED: dict[str, Table] = {v: _allowed(v) for v in STRONG_MIN}
SIZE_TABLE = table(d.HOUSEHOLD_SIZE_WEIGHTS)
HOUSING_POOR = table(d.HOUSING_WEIGHTS_POOR)
HOUSING_EDGE = table({k: v for k, v in d.HOUSING_WEIGHTS_EDGE.items() if v > 0})
COUNT_TABLE = table(dict(enumerate(d.OTHER_CAUSE_COUNT_WEIGHTS)))  # 0, 1 or 2 others


def cause_table(road_paved: bool, safe_water: bool) -> Table:
    """Main-cause weights for a village: illness fixed at its published share, transport and
    water more frequent where the village lacks the road or the water."""
    w = dict(d.MAIN_CAUSE_SHARES)
    gap, no_gap = d.VILLAGE_GAP_CAUSE_FACTOR
    w["transport"] *= no_gap if road_paved else gap
    w["water"] *= no_gap if safe_water else gap
    rest = sum(v for k, v in w.items() if k != "illness")
    scale = (1.0 - w["illness"]) / rest
    return table({k: (v if k == "illness" else v * scale) for k, v in w.items()})


@dataclass
class Context:
    """What every household of a county shares."""

    county_code: str
    region: str
    year: int
    line: float
    threshold: float
    thresholds: Mapping[str, float]


HOUSEHOLD_HEADER = (
    "household_id",
    "village_code",
    "head_name",
    "head_id_number",
    "size",
    "labour_count",
    "skilled_labour",
    "per_capita_income_yuan",
    "registered_poor",
    "attribute",
    "housing_grade",
    "food_clothing_secure",
    "compulsory_education_ok",
    "basic_medical_ok",
    "safe_water_ok",
    "chronic_illness_members",
    "serious_illness_members",
    "disabled_members",
    "students",
    "medical_spending_yuan",
    "education_spending_yuan",
    "land_mu",
    "disaster_loss_yuan",
    "road_access",
    "has_credit_access",
    "low_motivation",
    "head_birth_year",
)


def b(v: bool) -> str:
    return "true" if v else "false"


@dataclass
class Drawn:
    """The indicators of one household (before formatting) that surveys start from."""

    size: int
    labour: int
    income: int
    housing: str
    food: bool
    edu: bool
    medical: bool
    water: bool
    head_age: int
    male: bool
    main_cause: str


def draw_indicators(
    rng: Random, ctx: Context, causes: Table, poor: bool, credit_rng: Random | None = None
) -> tuple[Drawn, list]:
    """One household's indicators as the tail of a households.csv row (from `size` on,
    without head_birth_year), plus the values surveys need."""
    th = ctx.thresholds
    variant = pick(rng, causes)
    if variant == "labour":
        variant = "labour_zero" if rng.random() < 0.6 else "labour_low"
    main = _cause_of(variant)
    others: list[str] = []
    allowed = ALLOWED[variant]
    if allowed[0]:
        k = int(pick(rng, COUNT_TABLE))
        for _ in range(k * 3):
            if len(others) >= k:
                break
            c = pick(rng, allowed)
            if c not in others:
                others.append(c)
    causes_set = set(others)
    causes_set.add(main)
    labour_zero = variant == "labour_zero"
    labour_low = variant == "labour_low" or "labour" in others
    if (
        main == "illness"
        and "labour" in others
        and not (causes_set & NEEDS_LABOUR)
        and rng.random() < 0.5
    ):
        labour_zero, labour_low = True, False

    # size and people
    if labour_zero:
        size = 1 if rng.random() < 0.45 else (2 if rng.random() < 0.75 else 3)
        if "schooling" in causes_set:
            size = max(size, 2)
        age = int(rng.triangular(62, 90, 72))
    else:
        size = int(pick(rng, SIZE_TABLE))
        if labour_low:
            size = max(size, 5)
        if "schooling" in causes_set:
            size = max(size, 2)
        age = int(rng.triangular(24, 78, 50)) if size > 1 else int(rng.triangular(24, 64, 50))
    if labour_zero:
        labour = 0
    elif labour_low:
        labour = 1
    else:
        labour = min(
            size, max(math.ceil(size * th["labour_ratio"]), round(size * rng.uniform(0.45, 0.8)), 1)
        )
    if labour == 0 or "skills" in causes_set:
        skilled = 0
    else:
        skilled = 1 if labour == 1 or rng.random() < 0.7 else rng.randint(1, labour)
    if "schooling" in causes_set:
        students = rng.randint(1, max(1, min(3, size - 1)))
    elif size >= 3 and rng.random() < 0.45:
        students = rng.randint(1, min(2, size - 1))
    else:
        students = 0
    male = rng.random() >= d.FEMALE_HEAD

    # income
    if poor:
        lo, hi = d.POOR_INCOME_CLIP_OF_LINE
        ratio = rng.lognormvariate(math.log(d.POOR_INCOME_MEDIAN_OF_LINE), d.POOR_INCOME_SIGMA)
        income = round(ctx.line * min(hi, max(lo, ratio)))
    else:
        span = ctx.threshold - ctx.line
        income = round(ctx.line + 60 + (span - 120) * rng.betavariate(1.6, 2.2))
    total = max(income * size, 1)

    # illness
    chronic = serious = 0
    if main == "illness":
        if rng.random() < 0.6:
            serious = 1 if rng.random() < 0.9 or size == 1 else 2
            chronic = rng.randint(0, min(1, size - serious))
            med = rng.uniform(0.3, 1.2)
        else:
            chronic = 1 if rng.random() < 0.8 or size == 1 else 2
            med = rng.uniform(0.76, 1.5)
    elif "illness" in causes_set:
        chronic = 1
        med = rng.uniform(0.32, 0.42)
    else:
        chronic = 1 if rng.random() < 0.22 else 0
        med = rng.uniform(0.03, 0.2) if chronic else rng.uniform(0.0, 0.05)
    disabled = 0
    if main == "disability":
        disabled = 2 if size >= 2 and rng.random() < 0.2 else 1
    elif "disability" in causes_set:
        disabled = 1
    if main == "schooling":
        edu = rng.uniform(0.4, 1.0)
    elif "schooling" in causes_set:
        edu = rng.uniform(0.32, 0.38)
    else:
        edu = rng.uniform(0.02, 0.2) if students else 0.0
    if main == "disaster":
        loss = rng.uniform(0.36, 1.2)
    elif "disaster" in causes_set:
        loss = rng.uniform(0.22, 0.28)
    else:
        loss = rng.uniform(0.01, 0.12) if rng.random() < 0.25 else 0.0
    land_pp = (
        rng.uniform(0.05, 0.4)
        if "land" in causes_set
        else rng.uniform(0.6, 3.5 if ctx.region == "west" else 2.5)
    )

    # attribute, housing, guarantees
    if labour == 0:
        attribute = "tekun" if size == 1 and rng.random() < 0.6 else "dibao"
    elif not poor:
        attribute = "general"
    else:
        attribute = (
            "dibao"
            if rng.random() < (0.25 if main in ("illness", "disability") else 0.1)
            else "general"
        )
    above = income > ctx.line
    housing = pick(rng, HOUSING_POOR if poor else HOUSING_EDGE)
    if above and housing in "CD" and rng.random() < 0.8:
        housing = "B"
    sure = above and rng.random() < 0.85
    food = sure or rng.random() >= d.FOOD_INSECURE
    edu_ok = sure or not (students or size >= 3) or rng.random() >= d.EDUCATION_FAILURE
    medical = sure or rng.random() >= d.MEDICAL_FAILURE
    water = "water" not in causes_set
    # has_credit_access is 评级授信 (the bank rated the household and granted a credit line),
    # a judgment of repayment, not a cause: a 缺资金 household is what microcredit is for.
    # Drawn apart from the causes, on a stream of its own (the other draws stay as they were).
    if labour:
        credit = (credit_rng or rng).random() < d.CREDIT_RATED_WITH_LABOUR
    else:
        credit = rng.random() < 0.5

    row = [
        size,
        labour,
        skilled,
        income,
        b(poor),
        attribute,
        housing,
        b(food),
        b(edu_ok),
        b(medical),
        b(water),
        chronic,
        serious,
        disabled,
        students,
        round(total * med),
        round(total * edu),
        round(land_pp * size, 1),
        round(total * loss),
        b("transport" not in causes_set),
        b(credit),
        b("motivation" in causes_set),
    ]
    drawn = Drawn(size, labour, income, housing, food, edu_ok, medical, water, age, male, main)
    return drawn, row


SURVEY_HEADER = (
    "household_id",
    "survey_date",
    "per_capita_income_yuan",
    "food_clothing_secure",
    "compulsory_education_ok",
    "basic_medical_ok",
    "safe_water_ok",
    "housing_grade",
    "shock",
)
POOR_TRAJ = table(d.POOR_TRAJECTORIES)
ABOVE_TRAJ = table(d.ABOVE_TRAJECTORIES)
EDGE_TRAJ = table(d.EDGE_TRAJECTORIES)
SHOCKS = table(d.SHOCK_WEIGHTS)


def exit_goal(rng: Random, ctx: Context) -> float:
    """The per-capita income a household exits with: just over the line during the
    campaign; from 2021 mostly above the monitoring threshold, a tenth under it (脱贫不稳定户)
    — exited households averaged 10,740 yuan in 2020 against a 4,000 line."""
    if ctx.year < d.MONITORING_FROM:
        return ctx.line * rng.uniform(1.05, 1.45)
    ratio = rng.lognormvariate(math.log(d.EXIT_INCOME_MEDIAN_OF_THRESHOLD), d.EXIT_INCOME_SIGMA)
    return max(ctx.line * 1.05, ctx.threshold * ratio)


def survey_rows(
    rng: Random, ctx: Context, hid: str, h: Drawn, poor: bool, dates: Sequence[str]
) -> list[list]:
    """Quarterly follow-ups: some households climb over the line with every guarantee met,
    some stay poor, some fall back under the monitoring threshold, some suffer a shock."""
    n = len(dates)
    line, thr = ctx.line, ctx.threshold
    if poor and h.income <= line:
        traj = pick(rng, POOR_TRAJ)
    elif poor:
        traj = pick(rng, ABOVE_TRAJ)
    else:
        traj = pick(rng, EDGE_TRAJ)
    incomes = [float(h.income)] * n
    shock_at, shock = -1, "none"
    fixed_from = n  # from this visit on every guarantee is met and the house is safe
    if traj == "exit" or traj == "exit_relapse":
        at = rng.randrange(min(2, n) if traj == "exit_relapse" else n)
        goal = exit_goal(rng, ctx)
        start = float(h.income)
        for i in range(n):
            incomes[i] = start + (goal - start) * min(1.0, (i + 1) / (at + 1))
        fixed_from = at
        if traj == "exit_relapse":
            shock_at = n - 1
            shock = "unemployment" if rng.random() < 0.5 else pick(rng, SHOCKS)
            incomes[-1] = line * rng.uniform(0.7, 1.3)
    elif traj == "progress":
        goal = min(line * 0.97, h.income * rng.uniform(1.05, 1.4))
        start = float(h.income)
        for i in range(n):
            incomes[i] = start + (goal - start) * (i + 1) / n
    elif traj in ("stagnant", "stable"):
        incomes = [h.income * rng.uniform(0.95, 1.06) for _ in range(n)]
        if traj == "stable":
            incomes = [min(thr - 30, max(line + 30, x)) for x in incomes]
        else:
            incomes = [min(line - 10, x) for x in incomes]
    elif traj == "dip":
        at = rng.randrange(n)
        for i in range(at, n):
            incomes[i] = line * rng.uniform(0.8, 0.98)
    elif traj == "fall":
        at = rng.randrange(n)
        low = 0.75 if rng.random() < 0.4 else 1.02
        for i in range(at, n):
            incomes[i] = rng.uniform(line * low, thr * 0.97)
    if traj == "shock":
        shock_at = rng.randrange(n)
        shock = pick(rng, SHOCKS)
        drop = rng.uniform(0.5, 0.8)
        for i in range(shock_at, n):
            incomes[i] = h.income * drop * (1.0 + 0.03 * (i - shock_at))
    rows = []
    for i, day in enumerate(dates):
        ok = i >= fixed_from
        housing = "B" if ok and h.housing in "CD" else h.housing
        if shock_at == i and shock == "disaster" and housing == "A":
            housing = "B"
        rows.append(
            [
                hid,
                day,
                round(max(0.0, incomes[i])),
                b(ok or h.food),
                b(ok or h.edu),
                b(ok or (h.medical and shock != "illness")),
                b(ok or h.water),
                housing,
                shock if i == shock_at else "none",
            ]
        )
    return rows
