"""supervisor console and archive (issue 7)

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa
import engine.core.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UTC = engine.core.models.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "archived_instances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("process_key", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("process_name", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("started_by", sa.String(length=80), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", UTC, nullable=False),
        sa.Column("ended_at", UTC, nullable=True),
        sa.Column("archived_at", UTC, nullable=False),
        sa.Column("archived_by", sa.String(length=80), nullable=True),
        sa.Column("file", sa.String(length=500), nullable=False),
        sa.Column("offset", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("task_count", sa.Integer(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("archived_instances", schema=None) as batch_op:
        batch_op.create_index("ix_archived_instances_instance_id", ["instance_id"], unique=False)
        batch_op.create_index("ix_archived_instances_process_key", ["process_key"], unique=False)
        batch_op.create_index("ix_archived_instances_started_by", ["started_by"], unique=False)
        batch_op.create_index("ix_archived_instances_ended_at", ["ended_at"], unique=False)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_task_id", ["task_id"], unique=False)
        batch_op.create_index("ix_audit_events_action_at", ["action", "at"], unique=False)
    with op.batch_alter_table("process_instances", schema=None) as batch_op:
        batch_op.create_index("ix_process_instances_state_ended_at", ["state", "ended_at"], unique=False)
        batch_op.create_index("ix_process_instances_state_updated_at", ["state", "updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("process_instances", schema=None) as batch_op:
        batch_op.drop_index("ix_process_instances_state_updated_at")
        batch_op.drop_index("ix_process_instances_state_ended_at")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_action_at")
        batch_op.drop_index("ix_audit_events_task_id")
    with op.batch_alter_table("archived_instances", schema=None) as batch_op:
        batch_op.drop_index("ix_archived_instances_ended_at")
        batch_op.drop_index("ix_archived_instances_started_by")
        batch_op.drop_index("ix_archived_instances_process_key")
        batch_op.drop_index("ix_archived_instances_instance_id")
    op.drop_table("archived_instances")
