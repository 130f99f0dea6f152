"""designer (issue 5): process drafts edited in the browser and their test runs

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa
import engine.core.models

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UTC = engine.core.models.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "process_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("based_on_key", sa.String(length=200), nullable=True),
        sa.Column("based_on_version", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("deployed_at", UTC, nullable=True),
        sa.Column("deployed", sa.JSON(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "process_trial_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("process_key", sa.String(length=200), nullable=False),
        sa.Column("specs", sa.Text(), nullable=False),
        sa.Column("forms", sa.JSON(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("log", sa.JSON(), nullable=False),
        sa.Column("started_by", sa.String(length=80), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_process_trial_runs_draft_id", "process_trial_runs", ["draft_id"])


def downgrade() -> None:
    op.drop_index("ix_process_trial_runs_draft_id", table_name="process_trial_runs")
    op.drop_table("process_trial_runs")
    op.drop_table("process_drafts")
