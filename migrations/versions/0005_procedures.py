"""procedures on the review engine: identification, household and village exit cases;
sector cross-check findings; a decision's details (the appraisal tally, who acknowledged);
the stage of a publicity window (identification has two)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "procedurecase",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("procedure", _S(length=10), nullable=False),
        sa.Column("subject_id", _S(length=32), nullable=False),
        sa.Column("cycle_year", sa.Integer(), nullable=False),
        sa.Column("village_code", _S(length=12), nullable=False),
        sa.Column("status", _S(length=12), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("origin", _S(length=16), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("reason", _S(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("procedure", "subject_id", "cycle_year", name="uq_procedure_case"),
    )
    op.create_index(
        "ix_procedure_village", "procedurecase", ["village_code", "cycle_year", "status"]
    )
    op.create_table(
        "crosscheckfinding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", _S(length=32), nullable=False),
        sa.Column("kind", _S(length=20), nullable=False),
        sa.Column("source", _S(length=16), nullable=False),
        sa.Column("found_on", sa.Date(), nullable=False),
        sa.Column("detail", _S(), nullable=False),
        sa.ForeignKeyConstraint(["household_id"], ["household.household_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("household_id", "kind", "source", name="uq_crosscheck_finding"),
    )
    op.create_index(
        op.f("ix_crosscheckfinding_household_id"), "crosscheckfinding", ["household_id"]
    )
    op.add_column("village", sa.Column("exit_year", sa.Integer(), nullable=True))
    # The ledger is append-only (triggers refuse UPDATE/DELETE); adding a column is neither.
    op.add_column("decision", sa.Column("details", sa.JSON(), nullable=True))
    with op.batch_alter_table("publicity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage", _S(length=12), nullable=False, server_default=""))
        batch_op.drop_constraint("uq_publicity_item", type_="unique")
        batch_op.create_unique_constraint(
            "uq_publicity_item", ["subject", "subject_id", "cycle_year", "version", "stage"]
        )


def downgrade() -> None:
    with op.batch_alter_table("publicity", schema=None) as batch_op:
        batch_op.drop_constraint("uq_publicity_item", type_="unique")
        batch_op.create_unique_constraint(
            "uq_publicity_item", ["subject", "subject_id", "cycle_year", "version"]
        )
        batch_op.drop_column("stage")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_column("details")
    with op.batch_alter_table("village", schema=None) as batch_op:
        batch_op.drop_column("exit_year")
    op.drop_index(op.f("ix_crosscheckfinding_household_id"), table_name="crosscheckfinding")
    op.drop_table("crosscheckfinding")
    op.drop_index("ix_procedure_village", table_name="procedurecase")
    op.drop_table("procedurecase")
