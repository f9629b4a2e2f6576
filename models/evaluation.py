"""Progress evaluation and relapse monitoring (防止返贫监测)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Index, UniqueConstraint, text
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
    """A household under relapse monitoring; at most one open case per household."""

    __table_args__ = (
        Index(
            "uq_monitoring_open",
            "household_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    household_id: str = Field(foreign_key="household.household_id", max_length=32)
    village_code: str = Field(max_length=12, index=True)
    category: str = Field(max_length=24)  # unstable_exited / sudden_hardship / edge
    trigger: str  # income_below_threshold / shock:<kind>
    opened_period: str = Field(max_length=7)
    opened_on: date
    status: str = Field(default="open", max_length=10)
    stable_since: str | None = Field(default=None, max_length=7)
    closed_period: str | None = Field(default=None, max_length=7)
    closed_reason: str | None = None
