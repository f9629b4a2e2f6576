"""The registry a county keeps (建档立卡): geography, households, cadres, officials, relations,
and the progress surveys. Natural keys from the exchange format are the primary keys, so
imports upsert by key and every other table can refer to them directly."""

from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class County(SQLModel, table=True):
    county_code: str = Field(primary_key=True, max_length=6)
    name: str
    province: str
    region: str = Field(max_length=10)  # east / central / west: decides exit thresholds


class Township(SQLModel, table=True):
    township_code: str = Field(primary_key=True, max_length=9)
    name: str
    county_code: str = Field(foreign_key="county.county_code", index=True, max_length=6)


class VillageBase(SQLModel):
    name: str
    township_code: str = Field(foreign_key="township.township_code", index=True, max_length=9)
    county_code: str = Field(foreign_key="county.county_code", index=True, max_length=6)
    registered_poor: bool = False
    population: int = 0
    collective_income_yuan: float = 0.0
    road_paved: bool = False
    safe_water: bool = False
    electricity: bool = False
    broadband: bool = False
    clinic: bool = False
    school: bool = False
    cultural_center: bool = False
    terrain: str = Field(default="plain", max_length=10)
    distance_to_county_km: float = 0.0
    main_industries: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Village(VillageBase, table=True):
    village_code: str = Field(primary_key=True, max_length=12)
    # 贫困村退出: the year its exit was announced (the vexit procedure); never imported
    exit_year: int | None = None


class HouseholdBase(SQLModel):
    village_code: str = Field(foreign_key="village.village_code", max_length=12)
    head_name: str
    head_id_number: str = Field(max_length=18, index=True)
    size: int
    labour_count: int
    skilled_labour: int
    per_capita_income_yuan: float
    registered_poor: bool
    attribute: str = Field(max_length=10)
    housing_grade: str = Field(max_length=1)
    food_clothing_secure: bool
    compulsory_education_ok: bool
    basic_medical_ok: bool
    safe_water_ok: bool
    chronic_illness_members: int = 0
    serious_illness_members: int = 0
    disabled_members: int = 0
    students: int = 0
    medical_spending_yuan: float = 0.0
    education_spending_yuan: float = 0.0
    land_mu: float | None = 0.0  # None: not recorded (the national export has no land)
    disaster_loss_yuan: float = 0.0
    road_access: bool = True
    has_credit_access: bool = False
    low_motivation: bool = False
    head_birth_year: int | None = None
    # What a real household card (建档立卡户信息) carries beyond the rules' inputs; all
    # optional, so a county that has only the original contract keeps working.
    identification_year: int | None = None  # 首次识别年度
    registered_main_cause: str | None = Field(default=None, max_length=12)  # 主要致贫原因
    identification_standard: str | None = Field(default=None, max_length=12)
    planned_exit_year: int | None = None
    exit_year: int | None = None  # 脱贫年度
    wage_income_yuan: float | None = None  # 工资性收入 (household, per year)
    business_income_yuan: float | None = None  # 生产经营性收入
    property_income_yuan: float | None = None  # 财产性收入
    transfer_income_yuan: float | None = None  # 转移性收入, of which:
    dibao_income_yuan: float | None = None  # 低保金
    tekun_income_yuan: float | None = None  # 特困供养金 / 五保金
    pension_income_yuan: float | None = None  # 养老金
    eco_compensation_yuan: float | None = None  # 生态补偿金
    production_cost_yuan: float | None = None  # 生产经营性支出
    dangerous_house: bool | None = None  # 危房户
    house_area_m2: float | None = None
    drinking_water_difficulty: bool | None = None
    road_type: str | None = Field(default=None, max_length=10)  # 入户路类型
    sanitary_toilet: bool | None = None
    fuel: str | None = Field(default=None, max_length=12)
    cooperative_member: bool | None = None
    phone: str | None = Field(default=None, max_length=20)  # personal data: masked outside
    bank_name: str | None = None
    bank_account: str | None = Field(default=None, max_length=32)  # personal data
    # How the counts were obtained: "members" when derived from members.csv, else "household".
    counts_source: str = Field(default="household", max_length=10)


class Household(HouseholdBase, table=True):
    __table_args__ = (Index("ix_household_village_poor", "village_code", "registered_poor"),)

    household_id: str = Field(primary_key=True, max_length=32)
    # Lifecycle status (未脱贫/已脱贫/返贫); set by import from registered_poor, then by evaluation.
    status: str = Field(default="poor", max_length=10, index=True)
    exited_period: str | None = Field(default=None, max_length=7)


class CadreBase(SQLModel):
    name: str
    id_number: str = Field(max_length=18, index=True)
    gender: str = Field(max_length=1)
    agency: str = Field(index=True)
    agency_level: str = Field(max_length=12)
    home_village_code: str | None = Field(default=None, max_length=12)
    home_county_code: str = Field(max_length=6)
    party_member: bool = False
    party_join_year: int | None = None
    work_start_year: int
    skills: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    available: bool = True
    spouse_cadre_id: str | None = Field(default=None, max_length=32)
    # 派驻县: the county whose villages the cadre may be sent to (先定村、再定人 is coordinated
    # per county: its own units, and the units paired with it); None: any county.
    serving_county_code: str | None = Field(default=None, max_length=6, index=True)


class Cadre(CadreBase, table=True):
    cadre_id: str = Field(primary_key=True, max_length=32)


class OfficialBase(SQLModel):
    name: str
    id_number: str = Field(max_length=18, index=True)
    level: str = Field(max_length=10)
    area_code: str = Field(max_length=12, index=True)
    role: str = Field(max_length=24)


class Official(OfficialBase, table=True):
    person_id: str = Field(primary_key=True, max_length=32)


class Relation(SQLModel, table=True):
    """A declared near-relative pair, stored once with id_number_a < id_number_b (symmetric)."""

    __table_args__ = (
        UniqueConstraint("id_number_a", "id_number_b", name="uq_relation_pair"),
        Index("ix_relation_b", "id_number_b"),
    )

    id: int | None = Field(default=None, primary_key=True)
    id_number_a: str = Field(max_length=18)
    id_number_b: str = Field(max_length=18)
    relation: str = Field(max_length=12)


class MemberBase(SQLModel):
    household_id: str = Field(foreign_key="household.household_id", index=True, max_length=32)
    name: str
    id_number: str = Field(max_length=18, index=True)  # personal data
    relation: str = Field(max_length=32)  # 与户主关系 (code list `relation`)
    gender: str = Field(max_length=1)
    ethnicity: str | None = Field(default=None, max_length=16)
    education: str | None = Field(default=None, max_length=12)
    school_status: str = Field(default="none", max_length=12)
    health: str = Field(default="healthy", max_length=10)  # personal data (health)
    disability_grade: int | None = None
    disability_cert: str | None = Field(default=None, max_length=22)  # personal data
    labour_skill: str = Field(max_length=10)
    migrant_months: int = 0  # 务工时间（月）
    medical_insurance: bool = False  # 城乡居民基本医疗保险
    serious_illness_insurance: bool = False  # 大病保险
    pension_insurance: bool = False  # 城乡居民基本养老保险
    phone: str | None = Field(default=None, max_length=20)  # personal data


class Member(MemberBase, table=True):
    """A person of a household (家庭成员), the unit the national system keeps."""

    member_id: str = Field(primary_key=True, max_length=32)


class Survey(SQLModel, table=True):
    """A progress survey of one household on one date (surveys.csv)."""

    __table_args__ = (UniqueConstraint("household_id", "survey_date", name="uq_survey"),)

    id: int | None = Field(default=None, primary_key=True)
    household_id: str = Field(foreign_key="household.household_id", max_length=32)
    survey_date: date
    per_capita_income_yuan: float
    food_clothing_secure: bool
    compulsory_education_ok: bool
    basic_medical_ok: bool
    safe_water_ok: bool
    housing_grade: str = Field(max_length=1)
    shock: str = Field(default="none", max_length=12)
