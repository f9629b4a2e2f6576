"""an index on monitoringcase.household_id for every case of a household: the partial unique
index serves live cases only, so reading a household's cases whatever their status (the
monthly run through the household, the procedures, the clocks) scanned the table

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 11:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_monitoringcase_household_id", "monitoringcase", ["household_id"])


def downgrade() -> None:
    op.drop_index("ix_monitoringcase_household_id", table_name="monitoringcase")
