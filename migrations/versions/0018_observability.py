"""observability: the request id on audit events (a log line leads to the change it made) and
the scheduler heartbeat (a silent scheduler shows on the supervisor console)

Existing audit events have no request id.

Revision ID: 0018_observability
Revises: 0017_admin
"""
from alembic import op
import sqlalchemy as sa

from engine.core.models import UtcDateTime

revision = "0018_observability"
down_revision = "0017_admin"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))
    op.create_index("ix_audit_events_request_id", "audit_events", ["request_id"])
    op.create_table(
        "scheduler_heartbeats",
        sa.Column("id", sa.String(length=200), primary_key=True),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("beat_at", UtcDateTime(), nullable=False),
        sa.Column("pass_started_at", UtcDateTime()),
        sa.Column("pass_ended_at", UtcDateTime()),
        sa.Column("pass_seconds", sa.Float()),
        sa.Column("lag_seconds", sa.Float()),
        sa.Column("passes", sa.Integer(), nullable=False),
        sa.Column("busy_seconds", sa.Float(), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("last_error_at", UtcDateTime()))
    op.create_index("ix_scheduler_heartbeats_beat_at", "scheduler_heartbeats", ["beat_at"])


def downgrade() -> None:
    op.drop_table("scheduler_heartbeats")
    op.drop_index("ix_audit_events_request_id", "audit_events")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("request_id")
