"""The household card (建档立卡户信息) beyond the rules' inputs: identification, the income
breakdown, housing, water, road, toilet, fuel, phone and bank account.

Each field follows what the household row already says, so the card never contradicts the
rules' inputs: the income parts add up to per-capita income × size (工资性 + 生产经营性 +
财产性 + 转移性 − 生产经营性支出 = 纯收入), a 低保/特困 household shows its transfer, a C/D
house is a 危房, a household without safe water has 饮水困难."""

from __future__ import annotations

from collections.abc import Sequence
from random import Random

from zhucun.generator.members import Member, mobile

CARD_HEADER = (
    "identification_year",
    "registered_main_cause",
    "identification_standard",
    "wage_income_yuan",
    "business_income_yuan",
    "property_income_yuan",
    "transfer_income_yuan",
    "dibao_income_yuan",
    "tekun_income_yuan",
    "pension_income_yuan",
    "eco_compensation_yuan",
    "production_cost_yuan",
    "dangerous_house",
    "house_area_m2",
    "drinking_water_difficulty",
    "road_type",
    "sanitary_toilet",
    "fuel",
    "cooperative_member",
    "phone",
    "bank_name",
    "bank_account",
)
BANKS = ("中国农业银行", "中国邮政储蓄银行", "农村信用合作社", "农村商业银行", "中国建设银行")
PENSION_YUAN = 1800  # 城乡居民基础养老金, roughly, a year per member of 60 and over


def _b(v: bool) -> str:
    return "true" if v else "false"


def incomes(
    rng: Random, total: int, attribute: str, labour: int, people: Sequence[Member], year: int
) -> list[int]:
    """wage, business (gross), property, transfer, dibao, tekun, pension, eco, cost: the
    household's yearly parts, adding up to `total` net."""
    share = rng.uniform(0.65, 0.95) if labour == 0 else rng.uniform(0.1, 0.35)
    transfer = round(total * share)
    dibao = tekun = 0
    if attribute.startswith("dibao"):
        dibao = max(1, round(transfer * rng.uniform(0.45, 0.75)))
    elif attribute.startswith("tekun"):
        tekun = max(1, round(transfer * rng.uniform(0.55, 0.85)))
    transfer = max(transfer, dibao + tekun)
    left = transfer - dibao - tekun
    elderly = sum(m.age >= 60 for m in people)
    pension = min(left, elderly * PENSION_YUAN)
    eco = round((left - pension) * rng.uniform(0.0, 0.4))
    rest = max(0, total - transfer)
    prop = round(rest * rng.uniform(0.0, 0.05))
    wage = round((rest - prop) * rng.uniform(0.4, 0.9)) if labour else 0
    business = rest - prop - wage
    cost = round(business * rng.uniform(0.2, 0.5))
    gross = business + cost
    # a transfer above a tiny total: the cost takes up the difference
    cost += max(0, transfer - total)
    return [wage, gross, prop, transfer, dibao, tekun, pension, eco, cost]


def card_row(
    rng: Random,
    values: dict[str, object],
    main_cause: str,
    people: Sequence[Member],
    year: int,
    north: bool,
) -> list[object]:
    """The card columns (CARD_HEADER) of one household; `values`: its row by column."""
    poor = values["registered_poor"] == "true"
    size = int(values["size"])  # type: ignore[call-overload]
    total = int(values["per_capita_income_yuan"]) * size  # type: ignore[call-overload]
    if poor:
        r = rng.random()
        ident: object = min(year, 2014 if r < 0.7 else 2015 if r < 0.88 else 2016)
        r = rng.random()
        standard = "national" if r < 0.85 else "both" if r < 0.95 else "provincial"
        cause = main_cause
    else:
        ident, standard, cause = "", "", ""
    parts = incomes(
        rng,
        total,
        str(values["attribute"]),
        int(values["labour_count"]),
        people,
        year,  # type: ignore[call-overload]
    )
    road = values["road_access"] == "true"
    r = rng.random()
    if road:
        road_type = "cement" if r < 0.75 else "asphalt" if r < 0.85 else "gravel"
    else:
        road_type = "dirt" if r < 0.6 else "gravel"
    r = rng.random()
    fuel = (
        "firewood"
        if r < 0.4
        else ("coal" if north else "firewood")
        if r < 0.55
        else "electricity"
        if r < 0.78
        else "gas"
        if r < 0.95
        else "biogas"
    )
    phone = mobile(rng) if rng.random() < 0.75 else ""
    banked = rng.random() < 0.7
    return [
        ident,
        cause,
        standard,
        *parts,
        _b(values["housing_grade"] in ("C", "D")),
        round(size * rng.uniform(18, 35), 1),
        _b(values["safe_water_ok"] != "true"),
        road_type,
        _b(rng.random() < 0.65),
        fuel,
        _b(rng.random() < (0.3 if int(values["labour_count"]) else 0.1)),  # type: ignore[call-overload]
        phone,
        rng.choice(BANKS) if banked else "",
        "62" + f"{rng.randrange(10**17):017d}" if banked else "",
    ]
