"""Data-quality checks (数据质量核查) of a county's registry, as the national system's
checklist runs them: each rule is a plain per-row function here (the readable reference,
tested on the real case that motivates it) and a set-based query in `tasks.quality` (what
`zhucun check` runs), checked to find exactly the same rows.

Findings are warnings for the county to correct, never a refusal. A finding names the
household (and member) by its registry number, never by ID number, phone, bank account or
health condition: its `detail` says what is inconsistent in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from zhucun.models.enums import CAUSE_ZH, Cause, Measure
from zhucun.rules.members import LABOUR_SKILLS

# 劳动法 art. 15 forbids employing anyone under 16, and the registry's 劳动力 counts the
# working-age population (国家统计局: 16–64): labour outside these ages is a data error.
LABOUR_AGES = (16, 64)
# 民法典 art. 18: from 16 a person living on his own labour is fully capable; a younger
# household head (户主) is a keying error in the ID number or in 与户主关系.
HEAD_MIN_AGE = 16
# No registered person of the 832 counties is that old; beyond it the birth date is wrong.
MEMBER_MAX_AGE = 110
# A lone head past this age who is still counted as labour is the household-level sign of
# labour never updated (the card keeps the count of the year he was identified).
ELDERLY_HEAD_AGE = 80
# 监测帮扶: a monitored household gets its measures within a month of being identified.
MEASURE_GRACE_DAYS = 30
# Pure social-security floor measures (兜底保障): cash transfers and relief, which keep a
# household above the line but do not develop it. Every other measure (industry,
# employment, training, credit, education, health, housing, water, relocation, ecological
# and public-welfare jobs, asset income, motivation) counts as a development measure.
FLOOR_MEASURES = frozenset({Measure.social_security, Measure.disability_support,
                            Measure.disaster_relief})  # fmt: skip
DEVELOPMENT_MEASURES = frozenset(m.value for m in Measure if m not in FLOOR_MEASURES)
# The attributes that promise a transfer, and the income column that must show it.
ATTRIBUTE_INCOME = {
    "dibao": "dibao_income_yuan",
    "dibao_exited": "dibao_income_yuan",  # a 低保脱贫户 stays on 低保
    "tekun": "tekun_income_yuan",
    "tekun_exited": "tekun_income_yuan",
}
ATTRIBUTE_ZH = {"dibao": "低保", "tekun": "特困供养"}
INCOME_COLUMNS = (
    "wage_income_yuan",
    "business_income_yuan",
    "property_income_yuan",
    "transfer_income_yuan",
    "dibao_income_yuan",
    "tekun_income_yuan",
    "pension_income_yuan",
    "eco_compensation_yuan",
)
CHECKED_CAUSES = (Cause.illness, Cause.schooling, Cause.water, Cause.disability)


@dataclass(frozen=True)
class Rule:
    code: str
    label_zh: str
    label_en: str


RULES: tuple[Rule, ...] = (
    Rule("cause-vs-data", "致贫原因与家庭情况不符", "cause inconsistent with the data"),
    Rule("attribute-without-income", "低保/特困户无相应转移性收入",
         "dibao/tekun household without the matching transfer income"),
    Rule("labour-vs-age-health", "劳动力与年龄、健康状况不符",
         "labour inconsistent with age or health"),
    Rule("poor-without-helper", "贫困户未落实帮扶责任人",
         "registered poor household without a helper"),
    Rule("helper-is-poor", "帮扶责任人本人为贫困户", "helper is himself registered poor"),
    Rule("duplicate-person", "同一人员重复登记", "same person in two households or counties"),
    Rule("head-under-16", "户主年龄不满16周岁", "household head under 16"),
    Rule("member-over-110", "成员年龄超过110周岁", "member older than 110"),
    Rule("monitored-without-measure", "监测户一个月内未落实开发式帮扶措施",
         "monitored household without a development measure after a month"),
)  # fmt: skip
RULE_BY_CODE = {r.code: r for r in RULES}


@dataclass(frozen=True)
class Finding:
    """One row a rule found: which household (and member), in words what is wrong."""

    rule: str
    household_id: str
    member_id: str | None
    village_code: str
    detail: str


def birth_year(id_number: str) -> int:
    """Positions 7–10 of a resident ID number (GB 11643): the only part a check reads."""
    return int(id_number[6:10])


# 1. cause vs data ----------------------------------------------------------------------


def cause_conflict(h: Mapping[str, Any], cause: str) -> str | None:
    """Why `cause` contradicts the household's own data, or None. A team that says 因病
    of a household where nobody is ill has either the wrong cause or the wrong card."""
    ill = int(h["chronic_illness_members"] or 0) + int(h["serious_illness_members"] or 0)
    contradicted = {
        Cause.illness: (ill == 0, "no member is ill"),
        Cause.schooling: (not h["students"], "no member is a student"),
        Cause.water: (bool(h["safe_water_ok"]), "the household has safe water"),
        Cause.disability: (not h["disabled_members"], "no member is disabled"),
    }
    if cause not in contradicted:
        return None
    found, why = contradicted[Cause(cause)]
    return f"{CAUSE_ZH[Cause(cause)]} ({cause}), but {why}" if found else None


def cause_conflicts(h: Mapping[str, Any], causes: Iterable[str | None]) -> list[str]:
    """Every cause of `causes` that contradicts the household's data, once each, in order.
    Also what `zhucun causes override` checks before recording a team's causes."""
    out, seen = [], set()
    for c in causes:
        if c is None or c in seen:
            continue
        seen.add(c)
        problem = cause_conflict(h, c)
        if problem:
            out.append(problem)
    return out


def causes_to_check(
    registered_main_cause: str | None,
    assessment_source: str | None,
    main_cause: str | None,
    other_causes: Iterable[str] | None,
) -> list[str | None]:
    """The causes the household is said to have: the card's 主要致贫原因, and the team's
    causes when its latest assessment is an override (the rules' own assessment follows
    the data by construction, so it cannot contradict it)."""
    out: list[str | None] = [registered_main_cause]
    if assessment_source == "override":
        out += [main_cause, *(other_causes or [])]
    return out


def check_cause_vs_data(h: Mapping[str, Any]) -> str | None:
    """Rule 1 on a row with the household's counts and its latest assessment's causes
    (`assessment_source`, `main_cause`, `other_causes`; None when it has none)."""
    causes = causes_to_check(
        h.get("registered_main_cause"),
        h.get("assessment_source"),
        h.get("main_cause"),
        h.get("other_causes"),
    )
    problems = cause_conflicts(h, causes)
    return "; ".join(problems) or None


# 2. 低保 / 特困 attribute without the transfer ----------------------------------------------


def breakdown_recorded(h: Mapping[str, Any]) -> bool:
    """A card whose income breakdown was filled in (some income column not empty): a
    registry without the breakdown says nothing about 低保金, so nothing is found there."""
    return any(h.get(c) is not None for c in INCOME_COLUMNS)


def check_attribute_income(h: Mapping[str, Any]) -> str | None:
    """Rule 2: a 低保贫困户 (or 特困供养户) whose card records no 低保金 (特困供养金)."""
    column = ATTRIBUTE_INCOME.get(h["attribute"])
    if column is None or not breakdown_recorded(h) or h.get(column):
        return None
    kind = h["attribute"].removesuffix("_exited")
    zh = ATTRIBUTE_ZH[kind]
    money = "低保金" if kind == "dibao" else "特困供养金"
    return f"{zh} household ({kind}) with no {money} in its income breakdown"


# 3. labour vs age and health -------------------------------------------------------------


def check_member_labour(m: Mapping[str, Any], year: int) -> str | None:
    """Rule 3 for a member (`born`: birth year, `labour_skill`, `health`): counted as labour
    outside working age, or as skilled labour while seriously ill (the detail does not
    name the condition: it is personal data)."""
    skill = m["labour_skill"]
    if skill not in LABOUR_SKILLS:
        return None
    years = year - int(m["born"])
    low, high = LABOUR_AGES
    if years < low or years > high:
        return f"aged {years}, counted as {skill} labour (working age {low}-{high})"
    if skill == "skilled" and m["health"] == "serious":
        return "counted as skilled labour, which the member's health record contradicts"
    return None


def check_household_labour(h: Mapping[str, Any], year: int) -> str | None:
    """Rule 3 for a household without member rows (`head_born`, `size`, `labour_count`):
    a lone head past ELDERLY_HEAD_AGE still counted as labour."""
    years = year - int(h["head_born"])
    if int(h["size"]) == 1 and int(h["labour_count"]) > 0 and years > ELDERLY_HEAD_AGE:
        return f"single-person household, head aged {years}, {h['labour_count']} labour counted"
    return None


# 4. poor household without a helper -------------------------------------------------------


def check_poor_without_helper(
    h: Mapping[str, Any], latest_cycle: int | None, helped: set[str]
) -> str | None:
    """Rule 4: registered poor and still poor, with no helper in the county's latest cycle
    (`helped`: the households with a helper then). No cycle yet: nothing to compare."""
    if latest_cycle is None or not (h["registered_poor"] and h["status"] == "poor"):
        return None
    if h["household_id"] in helped:
        return None
    return f"no helper (帮扶责任人) assigned in cycle {latest_cycle}"


# 5. helper who is himself poor ---------------------------------------------------------------


def check_helper_is_poor(cadre_id: str, poor_home: str | None) -> str | None:
    """Rule 5: the helper's ID number is the head's or a member's of a registered poor
    household (`poor_home`: that household, the first by number; None when none)."""
    if poor_home is None:
        return None
    return f"helper {cadre_id} is a member of registered poor household {poor_home}"


# 6. the same person twice ----------------------------------------------------------------------


def check_duplicate_person(households: int, counties: int) -> str | None:
    """Rule 6 for one person in one household, given in how many households and counties
    his ID number appears (as head or member)."""
    if households < 2:
        return None
    where = f" in {counties} counties" if counties > 1 else ""
    return f"the same person is registered in {households} households{where}"


# 7 and 8. ages out of range ----------------------------------------------------------------------


def check_head_age(head_born: int, year: int) -> str | None:
    """Rule 7: a household head under HEAD_MIN_AGE."""
    years = year - head_born
    return f"household head aged {years} (under {HEAD_MIN_AGE})" if years < HEAD_MIN_AGE else None


def check_member_age(born: int, year: int) -> str | None:
    """Rule 8: a person older than MEMBER_MAX_AGE (a wrong birth date in the ID number)."""
    years = year - born
    return f"aged {years} (over {MEMBER_MAX_AGE})" if years > MEMBER_MAX_AGE else None


# 9. monitored household without a development measure ------------------------------------------


def check_monitored_measure(
    opened_on: date, measures_since_opened: Iterable[str], today: date
) -> str | None:
    """Rule 9: an open monitoring case older than MEASURE_GRACE_DAYS whose household has no
    development measure (anything but FLOOR_MEASURES) in a strategy of the case's year or
    later, not rejected (`measures_since_opened`)."""
    if (today - opened_on).days < MEASURE_GRACE_DAYS:
        return None
    if DEVELOPMENT_MEASURES & set(measures_since_opened):
        return None
    days = (today - opened_on).days
    return f"monitored for {days} days with no development measure (only 兜底 or none)"
