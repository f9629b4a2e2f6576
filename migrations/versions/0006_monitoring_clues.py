"""monitoring clues (防止返贫监测线索) from self-reports, cadre visits and sector pushes, never
deleted (a trigger refuses DELETE); a monitoring case's risk types and the day the daily
clock found it without a development measure

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from zhucun.models.monitoring import CLUE_TABLE, PG_NO_DELETE, SQLITE_NO_DELETE

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "monitoringclue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", _S(length=32), nullable=False),
        sa.Column("village_code", _S(length=12), nullable=False),
        sa.Column("channel", _S(length=12), nullable=False),
        sa.Column("sector", _S(length=14), nullable=False),
        sa.Column("kind", _S(length=20), nullable=False),
        sa.Column("amount_yuan", sa.Float(), nullable=True),
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("reported_by", _S(length=32), nullable=False),
        sa.Column("note", _S(), nullable=False),
        sa.Column("status", _S(length=10), nullable=False),
        sa.Column("overdue_flagged_on", sa.Date(), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("decided_by", _S(length=32), nullable=True),
        sa.Column("reason", _S(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["monitoringcase.id"]),
        sa.ForeignKeyConstraint(["household_id"], ["household.household_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "household_id", "channel", "sector", "kind", "reported_on", name="uq_monitoring_clue"
        ),
    )
    op.create_index("ix_clue_household_status", "monitoringclue", ["household_id", "status"])
    op.create_index(
        "ix_clue_village_status_due", "monitoringclue", ["village_code", "status", "due_on"]
    )
    with op.batch_alter_table("monitoringcase", schema=None) as batch_op:
        batch_op.add_column(sa.Column("risk_types", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("measure_flagged_on", sa.Date(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE_NO_DELETE)
    else:
        for sql in PG_NO_DELETE:
            op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER IF EXISTS {CLUE_TABLE}_no_delete")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {CLUE_TABLE}_no_delete ON {CLUE_TABLE}")
        op.execute("DROP FUNCTION IF EXISTS zhucun_no_delete()")
    with op.batch_alter_table("monitoringcase", schema=None) as batch_op:
        batch_op.drop_column("measure_flagged_on")
        batch_op.drop_column("risk_types")
    op.drop_index("ix_clue_village_status_due", table_name="monitoringclue")
    op.drop_index("ix_clue_household_status", table_name="monitoringclue")
    op.drop_table("monitoringclue")
