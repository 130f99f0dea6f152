"""calls: calls for proposals (申报指南) and the call an application was made under

Existing projects belong to no call (call_key NULL): they keep the per-project path.

Revision ID: 0019_calls
Revises: 0018_observability
"""
from alembic import op
import sqlalchemy as sa

from engine.core.models import UtcDateTime

revision = "0019_calls"
down_revision = "0019_panels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(length=40), nullable=False, unique=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("opens_at", UtcDateTime()),
        sa.Column("closes_at", UtcDateTime()),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("quotas", sa.JSON(), nullable=False),
        sa.Column("eligibility", sa.JSON(), nullable=False),
        sa.Column("extensions", sa.JSON(), nullable=False),
        sa.Column("template_key", sa.String(length=40)),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("published_at", UtcDateTime()),
        sa.Column("closed_at", UtcDateTime()),
        sa.Column("updated_at", UtcDateTime(), nullable=False))
    op.create_index("ix_calls_year", "calls", ["year"])
    op.create_index("ix_calls_status", "calls", ["status"])
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("call_key", sa.String(length=40), nullable=True))
    op.create_index("ix_projects_call_key", "projects", ["call_key"])


def downgrade() -> None:
    op.drop_index("ix_projects_call_key", "projects")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("call_key")
    op.drop_table("calls")
