"""measure delivery (措施落实), exit proposals (预退出), a loan's principal kept apart from
the fiscal cost of a strategy measure

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.add_column("strategymeasure", sa.Column("principal_yuan", sa.Float(), nullable=True))
    # A microcredit row written before held the loan as its cost: keep it as the principal
    # (the next redraft rewrites the cost as the fiscal cost).
    op.execute(
        "UPDATE strategymeasure SET principal_yuan = cost_yuan WHERE measure = 'microcredit'"
    )
    op.create_table(
        "measuredelivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", _S(length=32), nullable=False),
        sa.Column("village_code", _S(length=12), nullable=False),
        sa.Column("cycle_year", sa.Integer(), nullable=False),
        sa.Column("measure", _S(length=24), nullable=False),
        sa.Column("state", _S(length=14), nullable=False),
        sa.Column("state_on", sa.Date(), nullable=True),
        sa.Column("spent_yuan", sa.Float(), nullable=True),
        sa.Column("recorded_by", _S(length=32), nullable=True),
        sa.Column("note", _S(), nullable=False),
        sa.Column("not_started_flagged_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["household_id"], ["household.household_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("household_id", "cycle_year", "measure", name="uq_measure_delivery"),
    )
    op.create_index("ix_delivery_village_cycle", "measuredelivery", ["village_code", "cycle_year"])
    op.create_table(
        "exitproposal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", _S(length=32), nullable=False),
        sa.Column("village_code", _S(length=12), nullable=False),
        sa.Column("period", _S(length=7), nullable=False),
        sa.Column("reasons_met", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", _S(length=12), nullable=False),
        sa.Column("proposed_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["household.household_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("household_id", "period", name="uq_exit_proposal"),
    )
    op.create_index("ix_exit_proposal_village_period", "exitproposal", ["village_code", "period"])


def downgrade() -> None:
    op.drop_index("ix_exit_proposal_village_period", table_name="exitproposal")
    op.drop_table("exitproposal")
    op.drop_index("ix_delivery_village_cycle", table_name="measuredelivery")
    op.drop_table("measuredelivery")
    with op.batch_alter_table("strategymeasure", schema=None) as batch_op:
        batch_op.drop_column("principal_yuan")
