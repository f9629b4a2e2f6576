"""Every file of the exchange contract (DATA_FORMAT.md) as data: columns with their English
and Chinese headers, parsers and whether a column may be absent or a cell empty.

The validator, the importer, the exporter and the tests all read these specs, so the
contract is written down once in code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from zhucun.exchange.codelists import code_list_parser
from zhucun.exchange.parsers import (
    Parser,
    at_least,
    between,
    digits,
    enum,
    enum_list,
    parse_bank_account,
    parse_bool,
    parse_date,
    parse_disability_cert,
    parse_id_number,
    parse_int,
    parse_number,
    parse_phone,
    parse_str,
    str_list,
)
from zhucun.models.enums import (
    CAUSE_ZH,
    AgencyLevel,
    Cause,
    Gender,
    HousingGrade,
    OfficialLevel,
    OfficialRole,
    Region,
    RelationKind,
    Shock,
    Skill,
    Terrain,
)

THIS_YEAR = date.today().year


@dataclass(frozen=True)
class Col:
    """One column. `column_optional`: the header may be missing; `cell_optional`: a cell may
    be empty (then `default`). The contract's "optional" columns are both."""

    name: str
    parse: Parser
    zh: str | None = None
    cell_optional: bool = False
    column_optional: bool = False
    default: Any = None


def optional(name: str, parse: Parser, zh: str | None = None, default: Any = None) -> Col:
    return Col(name, parse, zh, cell_optional=True, column_optional=True, default=default)


@dataclass(frozen=True)
class FileSpec:
    name: str
    table: str
    key: tuple[str, ...]
    columns: tuple[Col, ...]

    def by_header(self) -> dict[str, Col]:
        """Header text → column, English and Chinese."""
        out: dict[str, Col] = {}
        for col in self.columns:
            out[col.name] = col
            if col.zh:
                out[col.zh] = col
        return out

    @property
    def headers(self) -> list[str]:
        return [c.name for c in self.columns]


def derived(name: str, parse: Parser, zh: str) -> Col:
    """A household count that members.csv can supply instead (see `rules.members`)."""
    return Col(name, parse, zh, cell_optional=True, column_optional=True, default=None)


def _enum(values: type, aliases: Mapping[str, str] | None = None) -> Parser:
    return enum([m.value for m in values], aliases)


NON_NEGATIVE_INT = at_least(parse_int, 0)
NON_NEGATIVE = at_least(parse_number, 0)
BOOL = parse_bool
TEXT = parse_str

REGION = _enum(Region, {"东部": "east", "中部": "central", "西部": "west"})
# 贫困户属性 with the system's spellings, post-exit ones included (一般脱贫户 → general_exited):
# the importer keeps the kind in `attribute` and marks the household exited.
ATTRIBUTE = code_list_parser("attribute")
YEAR = between(parse_int, 2000, THIS_YEAR + 10)
CAUSE = _enum(Cause, {zh: c.value for c, zh in CAUSE_ZH.items()} | {"其他": "other"})
TERRAIN = _enum(Terrain, {"平原": "plain", "丘陵": "hill", "山区": "mountain", "高原": "plateau"})
GENDER = _enum(Gender, {"男": "M", "女": "F"})
HOUSING = _enum(HousingGrade)
VILLAGE_ROLES = ("party_secretary", "committee_director", "committee_member")
ROLES_BY_LEVEL: dict[str, tuple[str, ...]] = {
    "village": VILLAGE_ROLES,
    "township": ("reviewer",),
    "county": ("approver",),
}
CODE_LENGTH_BY_LEVEL = {"village": 12, "township": 9, "county": 6}

# The household card (建档立卡户信息) beyond the rules' inputs; every column optional.
HOUSEHOLD_CARD: tuple[Col, ...] = (
    optional("identification_year", between(parse_int, 2014, THIS_YEAR), "首次识别年度"),
    # the cause the registry recorded (主要致贫原因): zhucun assesses its own, and `zhucun
    # check` compares the two with the household's data
    optional("registered_main_cause", CAUSE, "主要致贫原因"),
    optional("identification_standard", code_list_parser("identification_standard"), "识别标准"),
    optional("planned_exit_year", YEAR, "计划脱贫年度"),
    optional("exit_year", between(parse_int, 2014, THIS_YEAR), "脱贫年度"),
    optional("wage_income_yuan", NON_NEGATIVE, "工资性收入"),
    optional("business_income_yuan", NON_NEGATIVE, "生产经营性收入"),
    optional("property_income_yuan", NON_NEGATIVE, "财产性收入"),
    optional("transfer_income_yuan", NON_NEGATIVE, "转移性收入"),
    optional("dibao_income_yuan", NON_NEGATIVE, "低保金"),
    optional("tekun_income_yuan", NON_NEGATIVE, "特困供养金"),
    optional("pension_income_yuan", NON_NEGATIVE, "养老金"),
    optional("eco_compensation_yuan", NON_NEGATIVE, "生态补偿金"),
    optional("production_cost_yuan", NON_NEGATIVE, "生产经营性支出"),
    optional("dangerous_house", BOOL, "是否危房户"),
    optional("house_area_m2", NON_NEGATIVE, "住房面积（平方米）"),
    optional("drinking_water_difficulty", BOOL, "是否饮水困难"),
    optional("road_type", code_list_parser("road_type"), "入户路类型"),
    optional("sanitary_toilet", BOOL, "是否有卫生厕所"),
    optional("fuel", code_list_parser("fuel"), "主要燃料类型"),
    optional("cooperative_member", BOOL, "是否加入农民专业合作社"),
    optional("phone", parse_phone, "联系电话"),
    optional("bank_name", TEXT, "开户银行"),
    optional("bank_account", parse_bank_account, "银行账号"),
)

VILLAGES = FileSpec(
    "villages.csv",
    "village",
    ("village_code",),
    (
        Col("village_code", digits(12), "村代码"),
        Col("name", TEXT, "村名"),
        Col("township_code", digits(9), "乡镇代码"),
        Col("township_name", TEXT, "乡镇"),
        Col("county_code", digits(6), "县代码"),
        Col("county_name", TEXT, "县"),
        Col("province", TEXT, "省"),
        Col("region", REGION, "区域"),
        Col("registered_poor", BOOL, "贫困村"),
        Col("population", NON_NEGATIVE_INT, "人口"),
        Col("collective_income_yuan", NON_NEGATIVE, "村集体收入"),
        Col("road_paved", BOOL),
        Col("safe_water", BOOL),
        Col("electricity", BOOL),
        Col("broadband", BOOL),
        Col("clinic", BOOL),
        Col("school", BOOL),
        Col("cultural_center", BOOL),
        Col("terrain", TERRAIN, "地形"),
        Col("distance_to_county_km", NON_NEGATIVE),
        optional("main_industries", str_list, "主导产业", default=[]),
    ),
)

HOUSEHOLDS = FileSpec(
    "households.csv",
    "household",
    ("household_id",),
    (
        Col("household_id", TEXT, "户编号"),
        Col("village_code", digits(12), "村代码"),
        Col("head_name", TEXT, "户主姓名"),
        Col("head_id_number", parse_id_number, "证件号码"),
        # The counts may be left out (column or cell) for a household whose members are in
        # members.csv: they are derived from them, and checked against them when given.
        derived("size", at_least(parse_int, 1), "家庭人口"),
        derived("labour_count", NON_NEGATIVE_INT, "劳动力人数"),
        derived("skilled_labour", NON_NEGATIVE_INT, "技能劳动力"),
        Col("per_capita_income_yuan", NON_NEGATIVE, "人均纯收入"),
        Col("registered_poor", BOOL, "贫困户"),
        Col("attribute", ATTRIBUTE, "贫困户属性"),
        Col("housing_grade", HOUSING, "住房等级"),
        Col("food_clothing_secure", BOOL, "吃穿不愁"),
        Col("compulsory_education_ok", BOOL, "义务教育保障"),
        Col("basic_medical_ok", BOOL, "基本医疗保障"),
        Col("safe_water_ok", BOOL, "饮水安全"),
        derived("chronic_illness_members", NON_NEGATIVE_INT, "慢性病人数"),
        derived("serious_illness_members", NON_NEGATIVE_INT, "大病人数"),
        derived("disabled_members", NON_NEGATIVE_INT, "残疾人数"),
        derived("students", NON_NEGATIVE_INT, "在校生人数"),
        Col("medical_spending_yuan", NON_NEGATIVE),
        Col("education_spending_yuan", NON_NEGATIVE),
        Col("land_mu", NON_NEGATIVE, "耕地面积", cell_optional=True),  # empty: not recorded
        Col("disaster_loss_yuan", NON_NEGATIVE, "灾害损失"),
        Col("road_access", BOOL, "通路"),
        Col("has_credit_access", BOOL, "可获得信贷"),
        Col("low_motivation", BOOL, "内生动力不足"),
        optional("head_birth_year", between(parse_int, 1900, THIS_YEAR)),
        *HOUSEHOLD_CARD,
    ),
)

MEMBERS = FileSpec(
    "members.csv",
    "member",
    ("member_id",),
    (
        Col("member_id", TEXT, "人编号"),
        Col("household_id", TEXT, "户编号"),
        Col("name", TEXT, "姓名"),
        Col("id_number", parse_id_number, "证件号码"),
        Col("relation", code_list_parser("relation"), "与户主关系"),
        Col("gender", GENDER, "性别"),
        optional("ethnicity", code_list_parser("ethnicity"), "民族"),
        optional("education", code_list_parser("education"), "文化程度"),
        optional("school_status", code_list_parser("school_status"), "在校生状况", "none"),
        Col("health", code_list_parser("health"), "健康状况"),
        optional("disability_grade", between(parse_int, 1, 4), "残疾等级"),
        optional("disability_cert", parse_disability_cert, "残疾证号"),
        Col("labour_skill", code_list_parser("labour_skill"), "劳动技能"),
        optional("migrant_months", between(parse_int, 0, 12), "务工时间（月）", 0),
        optional("medical_insurance", BOOL, "是否参加城乡居民基本医疗保险", False),
        optional("serious_illness_insurance", BOOL, "是否参加大病保险", False),
        optional("pension_insurance", BOOL, "是否参加城乡居民基本养老保险", False),
        optional("phone", parse_phone, "联系电话"),
    ),
)

CADRES = FileSpec(
    "cadres.csv",
    "cadre",
    ("cadre_id",),
    (
        Col("cadre_id", TEXT, "干部编号"),
        Col("name", TEXT, "姓名"),
        Col("id_number", parse_id_number, "证件号码"),
        Col("gender", GENDER, "性别"),
        Col("agency", TEXT, "派出单位"),
        Col("agency_level", _enum(AgencyLevel), "单位层级"),
        optional("home_village_code", digits(12), "籍贯村代码"),
        Col("home_county_code", digits(6), "籍贯县代码"),
        Col("party_member", BOOL, "党员"),
        Col("party_join_year", parse_int, "入党年份", cell_optional=True),
        Col("work_start_year", parse_int, "参加工作年份"),
        Col("skills", enum_list([s.value for s in Skill]), "专长"),
        Col("available", BOOL, "可选派"),
        optional("spouse_cadre_id", TEXT, "配偶干部编号"),
        optional("serving_county_code", digits(6), "派驻县代码"),
    ),
)

OFFICIALS = FileSpec(
    "officials.csv",
    "official",
    ("person_id",),
    (
        Col("person_id", TEXT, "人员编号"),
        Col("name", TEXT),
        Col("id_number", parse_id_number),
        Col("level", _enum(OfficialLevel)),
        Col("area_code", TEXT),
        Col("role", _enum(OfficialRole)),
    ),
)

RELATIONS = FileSpec(
    "relations.csv",
    "relation",
    ("id_number_a", "id_number_b"),
    (
        Col("id_number_a", parse_id_number),
        Col("id_number_b", parse_id_number),
        Col("relation", _enum(RelationKind)),
    ),
)

SURVEYS = FileSpec(
    "surveys.csv",
    "survey",
    ("household_id", "survey_date"),
    (
        Col("household_id", TEXT),
        Col("survey_date", parse_date),
        Col("per_capita_income_yuan", NON_NEGATIVE),
        Col("food_clothing_secure", BOOL),
        Col("compulsory_education_ok", BOOL),
        Col("basic_medical_ok", BOOL),
        Col("safe_water_ok", BOOL),
        Col("housing_grade", HOUSING),
        optional("shock", _enum(Shock), "突发困难", default="none"),
    ),
)

# In dependency order: a file may refer only to files before it (and to the database).
INPUT_FILES: tuple[FileSpec, ...] = (
    VILLAGES,
    HOUSEHOLDS,
    MEMBERS,
    CADRES,
    OFFICIALS,
    RELATIONS,
    SURVEYS,
)
INPUT_BY_NAME: dict[str, FileSpec] = {spec.name: spec for spec in INPUT_FILES}

# decisions.csv is an input of the contract too, but it is applied by `zhucun review import`
# (every row goes through the review rules), never by the registry import.
DECISIONS_FILE = "decisions.csv"

OUTPUT_COLUMNS: dict[str, tuple[str, ...]] = {
    "teams.csv": (
        "team_id",
        "village_code",
        "cycle_year",
        "term_start",
        "term_end",
        "leader_cadre_id",
        "status",
    ),
    "team_members.csv": ("team_id", "cadre_id", "role"),
    "helpers.csv": ("household_id", "cadre_id"),
    "shortages.csv": ("village_code", "cycle_year", "missing_members", "reason"),
    "village_assessments.csv": (
        "village_code",
        "cycle_year",
        "poverty_incidence",
        "gaps",
        "top_causes",
    ),
    "household_assessments.csv": (
        "household_id",
        "cycle_year",
        "main_cause",
        "other_causes",
        "source",
    ),
    "plan_items.csv": (
        "village_code",
        "cycle_year",
        "category",
        "item",
        "answers",
        "cost_yuan",
        "funding_source",
        "status",
    ),
    "strategies.csv": (
        "household_id",
        "cycle_year",
        "measures",
        "cost_yuan",
        "status",
        "approved_by",
        "approved_on",
    ),
    "decisions.csv": (
        "stage",
        "subject",
        "subject_id",
        "reviewer_id",
        "decision",
        "reason",
        "decided_on",
        "decision_id",
        "flow_run_id",
        "outcome",
        "refusal_reason",
    ),
    # the register of identification and exit (识别 / 退出 / 贫困村退出): one row per case;
    # the stages each passed, who and when, are its rows in decisions.csv (subject =
    # procedure, subject_id = the household or village)
    "procedures.csv": (
        "procedure",
        "subject_id",
        "village_code",
        "cycle_year",
        "status",
        "version",
        "origin",
        "opened_on",
        "closed_on",
        "reason",
    ),
    "evaluations.csv": (
        "household_id",
        "period",
        "per_capita_income_yuan",
        "income_ok",
        "guarantees_ok",
        "outcome",
    ),
    "village_status.csv": ("village_code", "period", "poverty_incidence", "exit_eligible"),
    "audit.csv": (
        "at",
        "actor",
        "action",
        "entity",
        "entity_id",
        "before",
        "after",
        "flow_run_id",
    ),
}
