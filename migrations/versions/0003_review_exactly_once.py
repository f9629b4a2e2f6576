"""review exactly once: decision.person and .seq with partial unique indexes, the
appliedfile table, append-only triggers on decision and auditevent

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 19:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from zhucun.models.audit import (
    ACCEPTED,
    APPEND_ONLY_TABLES,
    pg_append_only,
    sqlite_append_only,
)

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ITEM = ["subject", "subject_id", "cycle_year", "version", "stage"]


def upgrade() -> None:
    op.create_table(
        "appliedfile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("cycle_year", sa.Integer(), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.Column("applied_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("flow_run_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    op.add_column(
        "decision", sa.Column("person", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
    )
    op.add_column("decision", sa.Column("seq", sa.Integer(), nullable=True))
    for name, last in (("uq_decision_person", "person"), ("uq_decision_seq", "seq")):
        op.create_index(
            name,
            "decision",
            [*_ITEM, last],
            unique=True,
            sqlite_where=sa.text(ACCEPTED),
            postgresql_where=sa.text(ACCEPTED),
        )
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY_TABLES:
        for sql in sqlite_append_only(table) if dialect == "sqlite" else pg_append_only(table):
            op.execute(sql)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY_TABLES:
        if dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS zhucun_append_only()")
    for name in ("uq_decision_seq", "uq_decision_person"):
        op.drop_index(
            name,
            table_name="decision",
            sqlite_where=sa.text(ACCEPTED),
            postgresql_where=sa.text(ACCEPTED),
        )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_column("seq")
        batch_op.drop_column("person")
    op.drop_table("appliedfile")
