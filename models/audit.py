"""Append-only audit trail and review ledger: who decided what, when, and in which run.

Append-only is the database's job, not a convention: triggers refuse UPDATE and DELETE on
`decision` and `auditevent` (SQLite and PostgreSQL). They are attached to the tables'
`after_create` here, so `create_all` (tests) makes them, and migration 0003 makes the same
ones (`APPEND_ONLY_SQL`) for databases built by Alembic.

Exactly once is the database's job too: `uq_decision_person` allows one accepted decision
per person (normalised ID number) for a stage of an item's version, and `uq_decision_seq`
numbers the accepted decisions of a stage (1…approvers), so two concurrent decisions that
both read "nobody decided yet" cannot both land; `AppliedFile` keys each decisions file by
its sha256 so a file is applied once, whoever applies it.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import DDL, JSON, Column, Index, event, text
from sqlmodel import Field, SQLModel

APPEND_ONLY_TABLES = ("decision", "auditevent")
ACCEPTED = "outcome = 'accepted'"


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
        Index(
            "uq_decision_person",
            "subject",
            "subject_id",
            "cycle_year",
            "version",
            "stage",
            "person",
            unique=True,
            sqlite_where=text(ACCEPTED),
            postgresql_where=text(ACCEPTED),
        ),
        Index(
            "uq_decision_seq",
            "subject",
            "subject_id",
            "cycle_year",
            "version",
            "stage",
            "seq",
            unique=True,
            sqlite_where=text(ACCEPTED),
            postgresql_where=text(ACCEPTED),
        ),
    )

    decision_id: int | None = Field(default=None, primary_key=True)
    stage: str = Field(max_length=12)
    subject: str = Field(max_length=10)  # strategy / plan
    subject_id: str = Field(max_length=32)
    cycle_year: int
    version: int = 1  # the item's version the decision was about (a redraft starts anew)
    village_code: str = Field(max_length=12, index=True)
    reviewer_id: str = Field(max_length=32)
    # The person behind reviewer_id: their normalised ID number (a cadre ID and an official's
    # person ID of one human are one person). None for rows before 0003 and unknown IDs.
    person: str | None = Field(default=None, max_length=40)
    # Accepted decisions only: the n-th accepted decision of this stage and version
    # (1…the stage's approvers); a concurrent duplicate collides on uq_decision_seq.
    seq: int | None = None
    decision: str = Field(max_length=10)
    reason: str | None = None
    decided_on: date
    received_at: datetime
    channel: str = Field(max_length=10)  # ui / cli / file / auto
    flow_run_id: str | None = None
    outcome: str = Field(max_length=10)  # accepted / refused
    refusal_reason: str | None = None
    # What a procedure stage records beside the decision: the appraisal's tally
    # (representatives, present, in_favour), who of the household acknowledged an exit.
    details: dict | None = Field(default=None, sa_column=Column(JSON))


class AppliedFile(SQLModel, table=True):
    """A decisions file that was applied, keyed by the sha256 of its bytes: the same file
    is applied once, however many times (or however concurrently) it is imported."""

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, unique=True)
    name: str
    cycle_year: int
    decisions: int = 0
    applied_at: datetime
    flow_run_id: str | None = None


# --- Append-only triggers (also created by migration 0003) ---------------------------------


def sqlite_append_only(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END"
        for op in ("UPDATE", "DELETE")
    ]


PG_APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION zhucun_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END
$$
"""


def pg_append_only(table: str) -> list[str]:
    return [
        PG_APPEND_ONLY_FUNCTION,
        f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION zhucun_append_only()",
    ]


for _model in (Decision, AuditEvent):
    _name = _model.__tablename__
    for _sql in sqlite_append_only(_name):
        event.listen(_model.__table__, "after_create", DDL(_sql).execute_if(dialect="sqlite"))
    for _sql in pg_append_only(_name):
        # DDL() formats with %, so the function's % placeholders are doubled.
        _ddl = DDL(_sql.replace("%", "%%")).execute_if(dialect="postgresql")
        event.listen(_model.__table__, "after_create", _ddl)
