"""Procedures on the review engine: a household's identification (识别) or exit (退出), a
village's exit, as a case passing its policy stages; and the sector findings that the
identification's data cross-check (数据比对) reads.

The decisions are the `Decision` ledger (subject = the procedure); the stage clock, the
escalations and the publicity windows are the review tables. This table holds only where
the case stands and how it ended: the household's status changes at announcement only."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class ProcedureCase(SQLModel, table=True):
    """One passage of a household (or a village) through a procedure in a cycle year.

    status: the stage the case waits for, then `done` (announced) or `rejected` (refused,
    with the reason: the household keeps its status). A return or an objection sends the
    case back to the first stage as a new version; every version stays in the ledger."""

    __table_args__ = (
        UniqueConstraint("procedure", "subject_id", "cycle_year", name="uq_procedure_case"),
        Index("ix_procedure_village", "village_code", "cycle_year", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    procedure: str = Field(max_length=10)  # identify / exit / vexit
    subject_id: str = Field(max_length=32)  # household_id / village_code
    cycle_year: int
    village_code: str = Field(max_length=12)
    status: str = Field(max_length=12)
    version: int = 1
    origin: str = Field(max_length=16)  # application / evaluation / clue / incidence
    opened_on: date
    closed_on: date | None = None
    reason: str | None = None  # why it was refused or sent back (never personal data)


class CrossCheckFinding(SQLModel, table=True):
    """A sector's finding about a household (公安 vehicle, 住建 commercial housing, 人社/财政
    payroll, 市场监管 business, the village committees' roster), from a cross-check file.
    `detail` is what the sector wrote, without ID numbers (the file is checked)."""

    __table_args__ = (
        UniqueConstraint("household_id", "kind", "source", name="uq_crosscheck_finding"),
    )

    id: int | None = Field(default=None, primary_key=True)
    household_id: str = Field(foreign_key="household.household_id", max_length=32, index=True)
    kind: str = Field(max_length=20)  # payroll / vehicle / commercial_housing / business / …
    source: str = Field(max_length=16)  # the sector that found it
    found_on: date
    detail: str = ""
