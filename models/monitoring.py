"""Clues of the monitoring against falling back into poverty (防止返贫动态监测): a hint that a
rural household — registered poor, exited or ordinary — may be at risk, from one of the
three channels (农户自主申报, 基层干部排查, 部门筛查预警).

A clue starts the 15-day clock (policy `monitoring_clue_days`). It never silently
disappears: it becomes a case (`case`, linked to the `MonitoringCase`) or is dismissed
with a reason by someone allowed to (`dismissed`, who and why). Rows are never deleted
(a trigger refuses DELETE, on SQLite and PostgreSQL, also created by migration 0006).

The codes below are stable (files, JSON); the Chinese is what people read."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import DDL, Index, UniqueConstraint, event
from sqlmodel import Field, SQLModel


class ClueChannel(StrEnum):
    self_report = "self_report"  # 农户自主申报 (in person, in writing, 12317, an app)
    visit = "visit"  # 基层干部排查 (helper, resident team, village cadres)
    sector = "sector"  # 部门筛查预警 (a sector's data push)


class ClueSector(StrEnum):
    medical = "medical"  # 医保
    civil_affairs = "civil_affairs"  # 民政
    education = "education"  # 教育
    emergency = "emergency"  # 应急管理
    housing = "housing"  # 住建


class ClueKind(StrEnum):
    """What the clue says happened (a sector's alert, a visit's finding, a report)."""

    medical_bill = "medical_bill"  # 大额医疗支出 (合规自付; never the diagnosis)
    dropout = "dropout"  # 辍学
    education_cost = "education_cost"  # 教育支出大
    disaster = "disaster"  # 受灾
    house_damage = "house_damage"  # 房屋受损
    accident = "accident"  # 意外事故
    unemployment = "unemployment"  # 务工就业不稳
    industry_failure = "industry_failure"  # 产业失败
    income_drop = "income_drop"  # 收入骤减
    other = "other"


class ClueStatus(StrEnum):
    open = "open"  # the clock runs
    case = "case"  # it led to a monitoring case (case_id)
    dismissed = "dismissed"  # checked and dismissed, with the reason and who


class RiskType(StrEnum):
    """风险类型 of a monitored household ([GK] the national system's list, abridged)."""

    illness = "illness"  # 因病
    disability = "disability"  # 因残
    schooling = "schooling"  # 因学
    disaster = "disaster"  # 因灾
    accident = "accident"  # 因意外事故
    industry_failure = "industry_failure"  # 因产业项目失败
    unstable_employment = "unstable_employment"  # 因务工就业不稳
    labour = "labour"  # 缺劳动力
    housing = "housing"  # 住房出现安全问题
    water = "water"  # 饮水安全问题
    other = "other"  # 其他


class MonitoringCategory(StrEnum):
    unstable_exited = "unstable_exited"  # 脱贫不稳定户
    edge = "edge"  # 边缘易致贫户
    sudden_hardship = "sudden_hardship"  # 突发严重困难户


CHANNEL_ZH: dict[ClueChannel, str] = {
    ClueChannel.self_report: "农户自主申报",
    ClueChannel.visit: "干部走访排查",
    ClueChannel.sector: "部门筛查预警",
}
SECTOR_ZH: dict[ClueSector, str] = {
    ClueSector.medical: "医保",
    ClueSector.civil_affairs: "民政",
    ClueSector.education: "教育",
    ClueSector.emergency: "应急管理",
    ClueSector.housing: "住建",
}
CLUE_KIND_ZH: dict[ClueKind, str] = {
    ClueKind.medical_bill: "大额医疗支出",
    ClueKind.dropout: "辍学",
    ClueKind.education_cost: "教育支出大",
    ClueKind.disaster: "受灾",
    ClueKind.house_damage: "房屋受损",
    ClueKind.accident: "意外事故",
    ClueKind.unemployment: "务工就业不稳",
    ClueKind.industry_failure: "产业失败",
    ClueKind.income_drop: "收入骤减",
    ClueKind.other: "其他",
}
CLUE_STATUS_ZH: dict[ClueStatus, str] = {
    ClueStatus.open: "待核实",
    ClueStatus.case: "已纳入监测",
    ClueStatus.dismissed: "已排除",
}
RISK_TYPE_ZH: dict[RiskType, str] = {
    RiskType.illness: "因病",
    RiskType.disability: "因残",
    RiskType.schooling: "因学",
    RiskType.disaster: "因灾",
    RiskType.accident: "因意外事故",
    RiskType.industry_failure: "因产业项目失败",
    RiskType.unstable_employment: "因务工就业不稳",
    RiskType.labour: "缺劳动力",
    RiskType.housing: "住房出现安全问题",
    RiskType.water: "饮水安全问题",
    RiskType.other: "其他",
}
MONITORING_CATEGORY_ZH: dict[MonitoringCategory, str] = {
    MonitoringCategory.unstable_exited: "脱贫不稳定户",
    MonitoringCategory.edge: "边缘易致贫户",
    MonitoringCategory.sudden_hardship: "突发严重困难户",
}


class MonitoringClue(SQLModel, table=True):
    """One clue about one household. The same clue imported twice is one row (household,
    channel, sector, kind, day); `note` is stored masked (no ID, phone or bank numbers, no
    diagnosis: a sector writes "大额医疗支出", not the illness)."""

    __table_args__ = (
        UniqueConstraint(
            "household_id", "channel", "sector", "kind", "reported_on", name="uq_monitoring_clue"
        ),
        Index("ix_clue_household_status", "household_id", "status"),
        Index("ix_clue_village_status_due", "village_code", "status", "due_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    household_id: str = Field(foreign_key="household.household_id", max_length=32)
    village_code: str = Field(max_length=12)
    channel: str = Field(max_length=12)  # ClueChannel
    sector: str = Field(default="", max_length=14)  # ClueSector for a sector push, else ""
    kind: str = Field(max_length=20)  # ClueKind
    amount_yuan: float | None = None  # the bill, the loss, the income lost — when known
    reported_on: date
    due_on: date  # reported_on + monitoring_clue_days: decided by then
    reported_by: str = Field(default="", max_length=32)  # cadre / official ID, "household"
    note: str = ""
    status: str = Field(default="open", max_length=10)  # ClueStatus
    overdue_flagged_on: date | None = None  # the daily clock flagged it (once)
    case_id: int | None = Field(default=None, foreign_key="monitoringcase.id")
    decided_on: date | None = None
    decided_by: str | None = Field(default=None, max_length=32)
    reason: str | None = None  # why dismissed (masked)


# --- Never deleted: a trigger refuses DELETE (also created by migration 0006) -------------

CLUE_TABLE = "monitoringclue"
SQLITE_NO_DELETE = (
    f"CREATE TRIGGER IF NOT EXISTS {CLUE_TABLE}_no_delete BEFORE DELETE ON {CLUE_TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{CLUE_TABLE} rows are never deleted'); END"
)
PG_NO_DELETE = (
    "CREATE OR REPLACE FUNCTION zhucun_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION '% rows are never deleted', TG_TABLE_NAME; END $$",
    f"DROP TRIGGER IF EXISTS {CLUE_TABLE}_no_delete ON {CLUE_TABLE}",
    f"CREATE TRIGGER {CLUE_TABLE}_no_delete BEFORE DELETE ON {CLUE_TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION zhucun_no_delete()",
)

event.listen(
    MonitoringClue.__table__,  # type: ignore[attr-defined]
    "after_create",
    DDL(SQLITE_NO_DELETE).execute_if(dialect="sqlite"),
)
for _sql in PG_NO_DELETE:
    event.listen(
        MonitoringClue.__table__,  # type: ignore[attr-defined]
        "after_create",
        DDL(_sql.replace("%", "%%")).execute_if(dialect="postgresql"),
    )
