"""other systems take part: business keys on instances, the event-subscription projection
(messages and signals find their waiting instances) and external tasks (fetch-and-lock)

A business key is unique per process among instances that have not ended (a partial unique
index, so two racing starts cannot both take one). Existing instances have no key. Instances
already waiting for a message or on an external task get their rows at their next save; none
of the deployed processes had either before this revision.

Revision ID: 0015_integration
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa

from engine.core.models import UtcDateTime

revision = "0015_integration"
down_revision = "0014"
branch_labels = None
depends_on = None

_OPEN_KEY = "business_key IS NOT NULL AND ended_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("process_instances") as batch:
        batch.add_column(sa.Column("business_key", sa.String(length=200), nullable=True))
    op.create_index("ix_process_instances_business_key", "process_instances", ["business_key"])
    op.create_index("ux_process_instances_business_key", "process_instances", ["process_key", "business_key"],
                    unique=True, postgresql_where=sa.text(_OPEN_KEY), sqlite_where=sa.text(_OPEN_KEY))
    op.create_table(
        "event_subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("process_instance_id", sa.Integer(),
                  sa.ForeignKey("process_instances.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False))
    op.create_index("ix_event_subscriptions_kind_name", "event_subscriptions", ["kind", "name"])
    op.create_index("ix_event_subscriptions_process_instance_id", "event_subscriptions", ["process_instance_id"])
    op.create_table(
        "external_tasks",
        sa.Column("id", sa.String(length=36), primary_key=True),
        sa.Column("process_instance_id", sa.Integer(),
                  sa.ForeignKey("process_instances.id", ondelete="CASCADE"), nullable=False),
        sa.Column("process_key", sa.String(length=200), nullable=False),
        sa.Column("element_id", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("worker_id", sa.String(length=200)),
        sa.Column("lock_expires_at", UtcDateTime()),
        sa.Column("retries", sa.Integer()),
        sa.Column("retry_at", UtcDateTime()),
        sa.Column("error_message", sa.Text()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("completed_at", UtcDateTime()))
    op.create_index("ix_external_tasks_topic_state", "external_tasks", ["topic", "state"])
    op.create_index("ix_external_tasks_instance_state", "external_tasks", ["process_instance_id", "state"])


def downgrade() -> None:
    op.drop_table("external_tasks")
    op.drop_table("event_subscriptions")
    op.drop_index("ux_process_instances_business_key", "process_instances")
    op.drop_index("ix_process_instances_business_key", "process_instances")
    with op.batch_alter_table("process_instances") as batch:
        batch.drop_column("business_key")
