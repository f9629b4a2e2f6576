"""Append-only audit trail and review ledger: who decided what, when, and in which run."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel


class AuditEvent(SQLModel, table=True):
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    before: dict | None = Field(default=None, sa_column=Column(JSON))
    after: dict | None = Field(default=None, sa_column=Column(JSON))
    flow_run_id: str | None = None


class Decision(SQLModel, table=True):
    """One review decision as received, accepted or refused. Never updated or deleted."""

    __table_args__ = (
        Index("ix_decision_subject", "subject", "subject_id", "stage"),
        Index("ix_decision_reviewer", "reviewer_id"),
    )

    decision_id: int | None = Field(default=None, primary_key=True)
    stage: str = Field(max_length=12)
    subject: str = Field(max_length=10)  # strategy / plan
    subject_id: str = Field(max_length=32)
    cycle_year: int
    version: int = 1  # the item's version the decision was about (a redraft starts anew)
    village_code: str = Field(max_length=12, index=True)
    reviewer_id: str = Field(max_length=32)
    decision: str = Field(max_length=10)
    reason: str | None = None
    decided_on: date
    received_at: datetime
    channel: str = Field(max_length=10)  # ui / cli / file / auto
    flow_run_id: str | None = None
    outcome: str = Field(max_length=10)  # accepted / refused
    refusal_reason: str | None = None
