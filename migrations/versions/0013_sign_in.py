"""sign-in that holds: server-side records of browser sessions (engine/core/web_sessions.py), so that
signing out, a password change or deactivation ends them, and the failed sign-ins the throttle
counts (engine/core/sign_in.py), shared by every server process

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa

from engine.core.models import UtcDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("ended_because", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sign_in_failures_address", "sign_in_failures", ["address", "failed_at"])
    op.create_index("ix_sign_in_failures_username", "sign_in_failures", ["username", "address"])


def downgrade() -> None:
    op.drop_index("ix_sign_in_failures_username", table_name="sign_in_failures")
    op.drop_index("ix_sign_in_failures_address", table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
    op.drop_index("ix_web_sessions_user_id", table_name="web_sessions")
    op.drop_table("web_sessions")
