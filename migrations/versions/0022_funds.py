"""funds: the funds ledger (planned tranches, payments, withheld funds, recoveries due and
repaid) and the budget tables of a project (as requested, as fixed in the contract)

Existing projects have no ledger rows; their releases before this revision stay in
projects.funds_released only.

Revision ID: 0019_funds
Revises: 0018_observability
"""
from alembic import op
import sqlalchemy as sa

from engine.core.models import UtcDateTime

revision = "0019_funds"
down_revision = "0019_units"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "funds_ledger",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=120)),
        sa.Column("note", sa.Text()),
        sa.Column("source_key", sa.String(length=200), nullable=False, unique=True),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=80)))
    op.create_index("ix_funds_ledger_project_id", "funds_ledger", ["project_id"])
    op.create_table(
        "project_budgets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False))
    op.create_index("ix_project_budgets_project_id", "project_budgets", ["project_id"])


def downgrade() -> None:
    op.drop_index("ix_project_budgets_project_id", "project_budgets")
    op.drop_table("project_budgets")
    op.drop_index("ix_funds_ledger_project_id", "funds_ledger")
    op.drop_table("funds_ledger")
