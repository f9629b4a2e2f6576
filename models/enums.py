"""Enumerations of the national registry and of zhucun's lifecycle.

Values are the English codes of DATA_FORMAT.md; `label_zh` gives the registry's Chinese
term, so a report or a form can show what a county operator knows.
"""

from __future__ import annotations

from enum import StrEnum


class Region(StrEnum):
    east = "east"
    central = "central"
    west = "west"


class Terrain(StrEnum):
    plain = "plain"
    hill = "hill"
    mountain = "mountain"
    plateau = "plateau"


class Attribute(StrEnum):
    general = "general"
    dibao = "dibao"
    tekun = "tekun"


class HousingGrade(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


class Gender(StrEnum):
    M = "M"
    F = "F"


class AgencyLevel(StrEnum):
    central = "central"
    provincial = "provincial"
    prefectural = "prefectural"
    county = "county"


class Skill(StrEnum):
    agriculture = "agriculture"
    health = "health"
    education = "education"
    finance = "finance"
    infrastructure = "infrastructure"
    ecommerce = "ecommerce"
    tourism = "tourism"
    governance = "governance"
    social_work = "social_work"


class OfficialLevel(StrEnum):
    village = "village"
    township = "township"
    county = "county"


class OfficialRole(StrEnum):
    party_secretary = "party_secretary"
    committee_director = "committee_director"
    committee_member = "committee_member"
    reviewer = "reviewer"
    approver = "approver"


OFFICIAL_ROLE_ZH: dict[OfficialRole, str] = {
    OfficialRole.party_secretary: "村党组织书记",
    OfficialRole.committee_director: "村委会主任",
    OfficialRole.committee_member: "村委会委员",
    OfficialRole.reviewer: "审核人",
    OfficialRole.approver: "审批人",
}


class RelationKind(StrEnum):
    spouse = "spouse"
    parent = "parent"
    child = "child"
    sibling = "sibling"
    grandparent = "grandparent"
    grandchild = "grandchild"
    in_law = "in_law"


class Shock(StrEnum):
    none = "none"
    illness = "illness"
    accident = "accident"
    disaster = "disaster"
    unemployment = "unemployment"


class Cause(StrEnum):
    illness = "illness"
    disability = "disability"
    schooling = "schooling"
    disaster = "disaster"
    land = "land"
    water = "water"
    skills = "skills"
    labour = "labour"
    capital = "capital"
    transport = "transport"
    motivation = "motivation"
    other = "other"


CAUSE_ZH: dict[Cause, str] = {
    Cause.illness: "因病",
    Cause.disability: "因残",
    Cause.schooling: "因学",
    Cause.disaster: "因灾",
    Cause.land: "缺土地",
    Cause.water: "缺水",
    Cause.skills: "缺技术",
    Cause.labour: "缺劳力",
    Cause.capital: "缺资金",
    Cause.transport: "交通条件落后",
    Cause.motivation: "自身发展动力不足",
    Cause.other: "其它",
}


class Measure(StrEnum):
    industry = "industry"
    employment = "employment"
    skills_training = "skills_training"
    microcredit = "microcredit"
    education = "education"
    health = "health"
    disability_support = "disability_support"
    social_security = "social_security"
    housing = "housing"
    water = "water"
    relocation = "relocation"
    ecological = "ecological"
    public_welfare_job = "public_welfare_job"
    asset_income = "asset_income"
    disaster_relief = "disaster_relief"
    motivation = "motivation"


MEASURE_ZH: dict[Measure, str] = {
    Measure.industry: "产业扶贫",
    Measure.employment: "就业扶贫",
    Measure.skills_training: "技能培训",
    Measure.microcredit: "小额信贷",
    Measure.education: "教育扶持",
    Measure.health: "健康扶贫",
    Measure.disability_support: "残疾人补贴",
    Measure.social_security: "社会保障兜底",
    Measure.housing: "危房改造",
    Measure.water: "饮水安全",
    Measure.relocation: "易地扶贫搬迁",
    Measure.ecological: "生态补偿",
    Measure.public_welfare_job: "公益岗位",
    Measure.asset_income: "资产收益",
    Measure.disaster_relief: "灾害救助",
    Measure.motivation: "扶志扶智",
}


class Gap(StrEnum):
    """Infrastructure and service gaps of a village (a missing flag in villages.csv)."""

    road = "road"
    water = "water"
    power = "power"
    broadband = "broadband"
    clinic = "clinic"
    school = "school"
    cultural = "cultural"
    collective_income = "collective_income"
    industry = "industry"


class PlanCategory(StrEnum):
    infrastructure = "infrastructure"
    industry = "industry"
    culture = "culture"
    public_service = "public_service"


class FundingSource(StrEnum):
    sponsor_unit = "sponsor_unit"
    integrated_county_funds = "integrated_county_funds"
    donations = "donations"


class TeamStatus(StrEnum):
    active = "active"
    ended = "ended"
    recalled = "recalled"


class MemberRole(StrEnum):
    first_secretary = "first_secretary"
    member = "member"


MEMBER_ROLE_ZH: dict[MemberRole, str] = {
    MemberRole.first_secretary: "第一书记",
    MemberRole.member: "队员",
}


class AssessmentSource(StrEnum):
    rule = "rule"
    override = "override"


class StrategyStatus(StrEnum):
    draft = "draft"
    team_signed = "team_signed"
    committee_signed = "committee_signed"
    approved = "approved"
    returned = "returned"
    rejected = "rejected"
    superseded = "superseded"  # an approved version replaced by its approved revision


class PlanStatus(StrEnum):
    draft = "draft"
    team_signed = "team_signed"
    committee_signed = "committee_signed"
    township_approved = "township_approved"
    approved = "approved"
    returned = "returned"
    rejected = "rejected"


class ReviewStage(StrEnum):
    team = "team"
    committee = "committee"
    township = "township"
    county = "county"
    # stages of the procedures (identification, exit): zhucun/policy/procedures.toml
    appraisal = "appraisal"
    acknowledge = "acknowledge"
    publicity = "publicity"
    publicity1 = "publicity1"
    publicity2 = "publicity2"
    crosscheck = "crosscheck"
    announce = "announce"


class ReviewSubject(StrEnum):
    strategy = "strategy"
    plan = "plan"
    identify = "identify"
    exit = "exit"
    vexit = "vexit"
    monitor = "monitor"
    relieve = "relieve"


REVIEW_STAGE_ZH: dict[ReviewStage, str] = {
    ReviewStage.team: "工作队",
    ReviewStage.committee: "村两委",
    ReviewStage.township: "乡镇",
    ReviewStage.county: "县",
    ReviewStage.appraisal: "民主评议",
    ReviewStage.acknowledge: "户认可",
    ReviewStage.publicity: "公示",
    ReviewStage.publicity1: "第一次公示",
    ReviewStage.publicity2: "第二次公示",
    ReviewStage.crosscheck: "数据比对",
    ReviewStage.announce: "公告",
}

REVIEW_SUBJECT_ZH: dict[ReviewSubject, str] = {
    ReviewSubject.strategy: "一户一策",
    ReviewSubject.plan: "村发展规划",
    ReviewSubject.identify: "贫困户识别",
    ReviewSubject.exit: "贫困户退出",
    ReviewSubject.vexit: "贫困村退出",
    ReviewSubject.monitor: "监测对象识别",
    ReviewSubject.relieve: "风险消除",
}


class DecisionKind(StrEnum):
    approve = "approve"
    reject = "reject"
    return_ = "return"


DECISION_ZH: dict[DecisionKind, str] = {
    DecisionKind.approve: "同意",
    DecisionKind.reject: "不予批准",
    DecisionKind.return_: "退回修改",
}


class DecisionOutcome(StrEnum):
    accepted = "accepted"
    refused = "refused"


DECISION_OUTCOME_ZH: dict[DecisionOutcome, str] = {
    DecisionOutcome.accepted: "已受理",
    DecisionOutcome.refused: "不予受理",
}


class HouseholdStatus(StrEnum):
    """Poverty status of a household (national 脱贫标志, simplified)."""

    poor = "poor"  # 未脱贫
    exited = "exited"  # 已脱贫
    relapsed = "relapsed"  # 返贫
    non_poor = "non_poor"  # never registered


class EvaluationOutcome(StrEnum):
    remain = "remain"
    exit = "exit"
    monitor = "monitor"
    relapse = "relapse"


class MonitoringStatus(StrEnum):
    """pending: found by the monthly run, its `monitor` procedure under way — not yet a
    monitoring object; open: announced (纳入监测); closed: 风险消除 announced; rejected: the
    procedure refused it (the row stays, as history)."""

    pending = "pending"
    open = "open"
    closed = "closed"
    rejected = "rejected"


class DeliveryState(StrEnum):
    """Where one measure of an approved strategy stands (措施落实)."""

    planned = "planned"  # 未启动
    in_delivery = "in_delivery"  # 实施中
    delivered = "delivered"  # 已落实
    not_delivered = "not_delivered"  # 未落实 (with the reason in the note)
