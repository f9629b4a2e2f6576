"""strategymeasure: drop ix_strategymeasure_strategy_id, the leading column of
uq_strategy_measure (strategy_id, measure) already indexes it; one index fewer to keep up on
each of a county's ~3.4 measure rows per strategy (on PostgreSQL a quarter of the measure
rows' insert)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 16:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_strategymeasure_strategy_id", table_name="strategymeasure")


def downgrade() -> None:
    op.create_index("ix_strategymeasure_strategy_id", "strategymeasure", ["strategy_id"])
