"""strategy revisions (动态调整): a household has one current strategy version per cycle; a
revision supersedes the approved version, which stays in the table

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("strategy", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_current", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(sa.Column("supersedes", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_strategy_supersedes", "strategy", ["supersedes"], ["id"])
        batch_op.drop_constraint("uq_strategy", type_="unique")
        batch_op.create_unique_constraint(
            "uq_strategy_version", ["household_id", "cycle_year", "version"]
        )
    op.create_index(
        "uq_strategy_current",
        "strategy",
        ["household_id", "cycle_year"],
        unique=True,
        sqlite_where=sa.text("is_current"),
        postgresql_where=sa.text("is_current"),
    )


def downgrade() -> None:
    # one row per household and cycle again: the current version stays
    op.execute("UPDATE strategy SET supersedes = NULL")
    op.execute(
        "DELETE FROM strategymeasure WHERE strategy_id IN "
        "(SELECT id FROM strategy WHERE NOT is_current)"
    )
    op.execute("DELETE FROM strategy WHERE NOT is_current")
    op.drop_index("uq_strategy_current", table_name="strategy")
    with op.batch_alter_table("strategy", schema=None) as batch_op:
        batch_op.drop_constraint("uq_strategy_version", type_="unique")
        batch_op.create_unique_constraint("uq_strategy", ["household_id", "cycle_year"])
        batch_op.drop_constraint("fk_strategy_supersedes", type_="foreignkey")
        batch_op.drop_column("supersedes")
        batch_op.drop_column("is_current")
