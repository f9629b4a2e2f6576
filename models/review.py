"""Review under mutual supervision: where each item waits (and since when), escalations of
conflicts of interest, publicity windows (公示) and the objections filed in them.

The decisions themselves are the append-only `Decision` ledger in `models.audit`. These
tables hold state the ledger cannot: the clock of each stage (overdue detection), which
level must decide a stage after a conflict, and the publicity window of an approved item.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel


class ReviewState(SQLModel, table=True):
    """The stage one strategy or plan waits for, and when it entered it.

    Refreshed whenever the item's (status, version) changes — by a decision here, or by a
    redraft in `draft_strategies` / `draft_plans` that the next sync notices. `stage` is
    None for an item that waits for nobody (approved, rejected, returned)."""

    __table_args__ = (
        UniqueConstraint("subject", "subject_id", "cycle_year", name="uq_review_state"),
        Index("ix_review_state_village", "village_code", "cycle_year", "stage"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=10)  # strategy / plan
    subject_id: str = Field(max_length=32)  # household_id / village_code
    cycle_year: int
    village_code: str = Field(max_length=12)
    status: str = Field(max_length=20)
    version: int = 1
    stage: str | None = Field(default=None, max_length=12)
    entered_at: datetime


class ReviewEscalation(SQLModel, table=True):
    """A stage of one item that a higher level must decide (a conflict of interest, or the
    优亲厚友 rule). Kept across versions: a conflict is about people, not a draft."""

    __table_args__ = (
        UniqueConstraint(
            "subject", "subject_id", "cycle_year", "stage", name="uq_review_escalation"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=10)
    subject_id: str = Field(max_length=32)
    cycle_year: int
    village_code: str = Field(max_length=12, index=True)
    stage: str = Field(max_length=12)  # the stage that is escalated
    level: str = Field(max_length=12)  # the level whose roles now decide it
    reason: str
    at: datetime


class Publicity(SQLModel, table=True):
    """The 公示 of one approved item: open from `opens_on` until `closes_on` (exclusive).

    status: open → closed (no objection: the item is final) or objected (sent back)."""

    __table_args__ = (
        UniqueConstraint(
            "subject", "subject_id", "cycle_year", "version", "stage", name="uq_publicity_item"
        ),
        Index("ix_publicity_village", "village_code", "cycle_year", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=10)
    subject_id: str = Field(max_length=32)
    cycle_year: int
    version: int = 1
    # the procedure stage the window belongs to (identification has two); '' for the
    # publicity of an approved strategy or plan
    stage: str = Field(default="", max_length=12)
    village_code: str = Field(max_length=12)
    opens_on: date
    closes_on: date
    status: str = Field(default="open", max_length=10)
    closed_at: datetime | None = None


class Objection(SQLModel, table=True):
    """An objection filed against an item in its publicity window (village meeting, a
    letter, the 12317 hotline). `filed_by` is a name as given; never an ID number."""

    id: int | None = Field(default=None, primary_key=True)
    publicity_id: int = Field(foreign_key="publicity.id", index=True)
    subject: str = Field(max_length=10)
    subject_id: str = Field(max_length=32)
    cycle_year: int
    filed_by: str
    reason: str
    filed_on: date
    received_at: datetime
