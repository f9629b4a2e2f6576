"""cadre.serving_county_code (派驻县): the county whose villages a cadre may be sent to, so a
county's dispatch draws on its own pool, not on every cadre of a province

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cadre") as batch:
        batch.add_column(
            sa.Column(
                "serving_county_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True
            )
        )
    op.create_index("ix_cadre_serving_county_code", "cadre", ["serving_county_code"])


def downgrade() -> None:
    op.drop_index("ix_cadre_serving_county_code", table_name="cadre")
    with op.batch_alter_table("cadre") as batch:
        batch.drop_column("serving_county_code")
