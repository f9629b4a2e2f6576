"""monitoring on the procedure engine: a household has at most one live monitoring case,
pending (its `monitor` procedure under way) or open (announced), by the database

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = "status IN ('open', 'pending')"
_OPEN = "status = 'open'"


def _index(where: str) -> None:
    op.create_index(
        "uq_monitoring_open",
        "monitoringcase",
        ["household_id"],
        unique=True,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def upgrade() -> None:
    op.drop_index("uq_monitoring_open", table_name="monitoringcase")
    _index(_LIVE)


def downgrade() -> None:
    op.drop_index("uq_monitoring_open", table_name="monitoringcase")
    _index(_OPEN)
