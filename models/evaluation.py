"""Progress evaluation and relapse monitoring (防止返贫监测)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel


class Evaluation(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("household_id", "period", name="uq_evaluation"),
        Index("ix_evaluation_village_period", "village_code", "period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    household_id: str = Field(foreign_key="household.household_id", max_length=32)
    village_code: str = Field(max_length=12)
    period: str = Field(max_length=7)  # YYYY-MM
    per_capita_income_yuan: float
    income_ok: bool
    guarantees_ok: bool
    outcome: str = Field(max_length=10)  # remain / exit / monitor / relapse
    reason: str = ""


class VillageStatus(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("village_code", "period", name="uq_village_status"),)

    id: int | None = Field(default=None, primary_key=True)
    village_code: str = Field(foreign_key="village.village_code", max_length=12)
    period: str = Field(max_length=7)
    poverty_incidence: float
    exit_eligible: bool


class MonitoringCase(SQLModel, table=True):
    """A household under monitoring (防止返贫监测对象): at most one live case (pending or
    open) per household, by the database. `pending` while its `monitor` procedure runs;
    `open` from the announcement (`opened_on` is then the day it became a monitoring
    object); `closed` when its `relieve` procedure is announced (风险消除)."""

    __table_args__ = (
        Index(
            "uq_monitoring_open",
            "household_id",
            unique=True,
            sqlite_where=text("status IN ('open', 'pending')"),
            postgresql_where=text("status IN ('open', 'pending')"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    # indexed for every case of a household, whatever its status (the partial unique index
    # serves live cases only): the monthly run reads a chunk's cases through the household
    household_id: str = Field(foreign_key="household.household_id", max_length=32, index=True)
    village_code: str = Field(max_length=12, index=True)
    category: str = Field(max_length=24)  # unstable_exited / sudden_hardship / edge
    trigger: str  # income_below_threshold / shock:<kind>
    opened_period: str = Field(max_length=7)
    opened_on: date
    status: str = Field(default="open", max_length=10)  # MonitoringStatus
    stable_since: str | None = Field(default=None, max_length=7)
    closed_period: str | None = Field(default=None, max_length=7)
    closed_reason: str | None = None
    # 风险类型 (zhucun.models.monitoring.RiskType codes) found when the case opened
    risk_types: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # the daily clock found no development measure a month after identification (once)
    measure_flagged_on: date | None = None


class ExitProposal(SQLModel, table=True):
    """预退出: a household the evaluation found ready to exit, proposed — never exited.

    The status stays poor; the exit procedure (民主评议 → 核实 → 户认可 → 公示 → 公告 → 销号)
    decides later, through review stages. `reasons_met` lists the conditions the household
    met (income steadily above the line over the surveys named, guarantees, strategy
    approved, measures delivered)."""

    __table_args__ = (
        UniqueConstraint("household_id", "period", name="uq_exit_proposal"),
        Index("ix_exit_proposal_village_period", "village_code", "period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    household_id: str = Field(foreign_key="household.household_id", max_length=32)
    village_code: str = Field(max_length=12)
    period: str = Field(max_length=7)
    reasons_met: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="proposed", max_length=12)
    proposed_on: date
