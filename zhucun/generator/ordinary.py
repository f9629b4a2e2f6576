"""Ordinary rural households (一般农户, never registered poor) and the monitoring clues of a
county (防止返贫监测线索).

Since 2021 a county watches every rural household, so the generator writes some ordinary
ones beside the registered: incomes mostly well above the monitoring threshold, with a
tail under it, and shocks — a hospital bill, a flood, an accident, a lost job — that
can floor a household whatever its income (突发严重困难户). The clues come from the
three channels: a sector's push (医保 bills, 应急 disasters, 住建 damaged houses, 教育
dropouts), a cadre's visit, the household's own report; a few are false alarms.

Rows keep the registry's shapes: `draw_ordinary` gives a households.csv tail like
`households.draw_indicators`, `ordinary_surveys` the surveys, `clues_for` the rows of the
clue file (`zhucun.exchange.clues.CLUE_HEADER`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from random import Random

from zhucun.generator import distributions as d
from zhucun.generator.card import card_row
from zhucun.generator.geography import County, Village
from zhucun.generator.households import SHOCKS, SIZE_TABLE, Context, Drawn, b, pick
from zhucun.generator.members import ethnicity_table, fit_health, head_age_for, members
from zhucun.generator.names import SURNAMES, IdAllocator, birth_date, person_name
from zhucun.generator.officials import Official
from zhucun.generator.writers import HouseholdSink, Place, Table


@dataclass
class Plan:
    """An ordinary household's year: its shock (or none) and when it struck."""

    shock: str = "none"
    at: int = -1  # the survey that records it
    drop: float = 1.0  # income factor from then on
    bill: int = 0  # 合规自付 medical bill (household, yuan)
    loss: int = 0  # disaster loss (household, yuan)
    house_damaged: bool = False


def draw_ordinary(rng: Random, ctx: Context, surveys: int) -> tuple[Drawn, list, Plan]:
    """One ordinary household's indicators as the tail of a households.csv row (from
    `size` on, without head_birth_year), the values surveys need, and its year's plan."""
    no_labour = rng.random() < d.ORDINARY_NO_LABOUR
    if no_labour:
        size, age = (1 if rng.random() < 0.5 else 2), int(rng.triangular(62, 88, 70))
        labour = skilled = 0
    else:
        size = int(pick(rng, SIZE_TABLE))
        age = int(rng.triangular(24, 75, 48)) if size > 1 else int(rng.triangular(24, 64, 45))
        labour = min(size, max(1, round(size * rng.uniform(0.45, 0.8))))
        skilled = rng.randint(0, labour)
    students = rng.randint(1, min(2, size - 1)) if size >= 3 and rng.random() < 0.45 else 0
    ratio = rng.lognormvariate(
        math.log(d.ORDINARY_INCOME_MEDIAN_OF_THRESHOLD), d.ORDINARY_INCOME_SIGMA
    )
    low = (ctx.line + 60) / ctx.threshold
    income = round(ctx.threshold * min(d.ORDINARY_INCOME_MAX_OF_THRESHOLD, max(low, ratio)))
    total = income * size
    chronic = 1 if rng.random() < 0.15 else 0
    serious = 1 if size > chronic and rng.random() < 0.03 else 0
    disabled = 1 if size > chronic + serious and rng.random() < 0.04 else 0
    medical = round(total * rng.uniform(0.0, 0.08 if chronic or serious else 0.03))
    education = round(total * rng.uniform(0.03, 0.12)) if students else 0
    plan = Plan()
    if rng.random() < d.ORDINARY_SHOCK and surveys:
        plan.shock = pick(rng, SHOCKS)
        plan.at = rng.randrange(min(2, surveys))  # this year's shock: the first two visits
        if plan.shock == "illness":
            plan.bill = round(total * rng.uniform(*d.ILLNESS_BILL_OF_INCOME))
            medical += plan.bill
            plan.drop = rng.uniform(0.75, 0.95)
        elif plan.shock == "disaster":
            plan.loss = round(total * rng.uniform(*d.DISASTER_LOSS_OF_INCOME))
            plan.house_damaged = rng.random() < 0.5
            plan.drop = rng.uniform(0.6, 0.9)
        else:  # accident, unemployment: income cut
            plan.drop = rng.uniform(0.35, 0.7)
    housing = "A" if rng.random() < 0.55 else "B" if rng.random() < 0.92 else "C"
    water = rng.random() >= 0.03
    row = [
        size,
        labour,
        skilled,
        income,
        b(False),
        "dibao" if labour == 0 else "general",
        housing,
        b(True),
        b(True),
        b(rng.random() >= 0.02),
        b(water),
        chronic,
        serious,
        disabled,
        students,
        medical,
        education,
        round(rng.uniform(0.6, 3.0 if ctx.region == "west" else 2.2) * size, 1),
        plan.loss,
        b(rng.random() >= 0.05),
        b(labour > 0 and rng.random() < 0.7),
        b(False),
    ]
    drawn = Drawn(
        size, labour, income, housing, True, True, row[9] == "true", water, age,
        rng.random() >= d.FEMALE_HEAD, "other",
    )  # fmt: skip
    return drawn, row, plan


def ordinary_surveys(
    rng: Random, hid: str, h: Drawn, plan: Plan, dates: Sequence[str]
) -> list[list]:
    """Quarterly surveys: a little growth, and the shock's cut from its visit on."""
    rows = []
    income = float(h.income)
    for i, day in enumerate(dates):
        income *= rng.uniform(0.99, 1.03)
        hit = plan.at >= 0 and i >= plan.at
        housing = "C" if hit and plan.house_damaged else h.housing
        rows.append(
            [
                hid,
                day,
                round(income * (plan.drop if hit else 1.0)),
                b(h.food),
                b(h.edu),
                b(h.medical),
                b(h.water),
                housing,
                plan.shock if i == plan.at else "none",
            ]
        )
    return rows


def _day(rng: Random, survey_day: str, last: date) -> date | None:
    """A clue shortly before the visit that recorded the shock, never after `last`."""
    lo, hi = d.CLUE_DAYS_BEFORE_SURVEY
    day = date.fromisoformat(survey_day) - timedelta(days=rng.randint(lo, hi))
    return day if day <= last else None


def clues_for(
    rng: Random,
    hid: str,
    surveys: Sequence[Sequence[object]],
    *,
    year: int,
    visitor: str,
    household_income: int,
    bill: int = 0,
    education_ok: bool = True,
    education_yuan: int = 0,
    no_labour: bool = False,
    ordinary: bool = False,
) -> list[list[object]]:
    """The clue rows (CLUE_HEADER) about one household: each shock its surveys record
    reaches a channel (or none), a child out of school or a heavy school bill a 教育 push,
    a household without
    labour applying for 低保 a 民政 push, an ordinary household without a shock now and
    then a false alarm. `visitor`: the village cadre who visits."""
    last = date(year, *d.CLUE_LAST_MONTH_DAY)
    out: list[list[object]] = []
    for s in surveys:
        shock, day = str(s[8]), str(s[1])
        if shock == "none" or rng.random() >= d.CLUE_REPORTED:
            continue
        on = _day(rng, day, last)
        if on is None:
            continue
        if shock == "illness":
            amount = bill or round(household_income * rng.uniform(0.2, 0.6))
            out.append(
                [hid, "sector", "medical", "medical_bill", amount, on, "", "医保系统大额自付预警"]
            )
        elif shock == "disaster":
            out.append([hid, "sector", "emergency", "disaster", "", on, "", "应急部门灾情推送"])
            if str(s[7]) in ("C", "D"):
                out.append(
                    [hid, "sector", "housing", "house_damage", "", on, "", "住建部门房屋安全排查"]
                )
        elif shock == "accident":
            out.append([hid, "visit", "", "accident", "", on, visitor, "走访发现"])
        else:
            out.append([hid, "self_report", "", "unemployment", "", on, "", "农户电话申报"])
    if not education_ok and rng.random() < d.DROPOUT_ALERT:
        on = date(year, 3, 1) + timedelta(days=rng.randint(0, 150))
        out.append([hid, "sector", "education", "dropout", "", on, "", "控辍保学比对"])
    elif education_yuan > d.SCHOOL_COST_OF_INCOME * household_income and rng.random() < 0.5:
        on = date(year, 8, 20) + timedelta(days=rng.randint(0, 30))
        out.append([hid, "sector", "education", "education_cost", education_yuan, on, "",
                    "学生资助系统比对"])  # fmt: skip
    if no_labour and rng.random() < d.DIBAO_APPLICATION:
        on = date(year, 1, 15) + timedelta(days=rng.randint(0, 200))
        out.append([hid, "sector", "civil_affairs", "income_drop", "", on, "", "低保申请比对"])
    if ordinary and not out and rng.random() < d.FALSE_ALARM:
        on = date(year, 2, 1) + timedelta(days=rng.randint(0, 200))
        amount = round(household_income * rng.uniform(0.05, 0.15))
        out.append(
            [hid, "sector", "medical", "medical_bill", amount, on, "", "医保系统大额自付预警"]
        )
    return out


def visitor_of(officials: Sequence[Official]) -> str:
    """The village cadre whose home visits find what no sector pushes (村党组织书记)."""
    for o in officials:
        if o.role == "party_secretary":
            return o.person.key
    return officials[0].person.key if officials else ""


def write_ordinary(
    county: County,
    ctx: Context,
    seed: int,
    villages: Sequence[Village],
    alloc: Sequence[int],
    officials: dict[str, list[Official]],
    ids: IdAllocator,
    sink: HouseholdSink,
    sw: Table,
    qw: Table,
) -> None:
    """Stream each village's ordinary households after its registered and edge ones (their
    IDs continue the village's numbering), their surveys and their clues. Streams of
    their own: the registered households' draws stay what they were."""
    # core imports this module: its row helpers are looked up when the households are written
    from zhucun.generator.core import FULL_HOUSEHOLD_HEADER, TAIL, _counts, _sync

    year = ctx.year
    dates = [f"{year + dy}-{m:02d}-{day:02d}" for dy, m, day in d.SURVEY_DATES]
    ethnicities = ethnicity_table(county.code)
    north = not county.south
    for v, n in zip(villages, alloc, strict=True):
        if not n:
            continue
        rng = Random(f"zhucun/{seed}/{v.code}/ordinary")
        mr = Random(f"zhucun/{seed}/{v.code}/ordinary-members")
        cr = Random(f"zhucun/{seed}/{v.code}/ordinary-clues")
        place = Place(county.name, v.township.name, v.name)
        visitor = visitor_of(officials[v.code])
        first = v.poor_households + v.edge_households
        for i in range(first, first + n):
            drawn, tail, plan = draw_ordinary(rng, ctx, len(dates))
            values = dict(zip(TAIL, tail, strict=True))
            counts = _counts(values)
            fit_health(counts, drawn.main_cause)
            age = head_age_for(counts, drawn.head_age)
            born = birth_date(rng, year - age)
            sur = rng.choice(v.surnames) if rng.random() < 0.6 else rng.choice(SURNAMES)
            hid = f"H{v.code}{i + 1:05d}"
            id_number = ids.issue(county.code, born, drawn.male)
            name = person_name(rng, not drawn.male, sur)
            people = members(
                mr, year, county.code, counts, (name, id_number, age, drawn.male), ids, ethnicities
            )
            drawn.edu = counts.education_ok
            _sync(tail, values, counts)
            card = card_row(mr, values, drawn.main_cause, people, year, north)
            sink.household(place, FULL_HOUSEHOLD_HEADER, [hid, v.code, name, id_number, *tail,
                                                          born.year, *card], people)  # fmt: skip
            surveys = ordinary_surveys(rng, hid, drawn, plan, dates)
            for s in surveys:
                sw.write(s)
            for clue in clues_for(
                cr, hid, surveys, year=year, visitor=visitor,
                household_income=drawn.income * drawn.size, bill=plan.bill,
                education_ok=drawn.edu, education_yuan=int(values["education_spending_yuan"]),
                no_labour=drawn.labour == 0, ordinary=True,
            ):  # fmt: skip
                qw.write(clue)
            v.ordinary_persons += drawn.size
        v.ordinary_households = n
