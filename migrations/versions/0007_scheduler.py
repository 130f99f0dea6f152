"""reminders, escalations and notifications (issue 6)

Revision ID: 0007
Revises: 0001
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa
import engine.core.models

revision = "0007"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = engine.core.models.UtcDateTime(timezone=True)


def _partial(column: str) -> dict:
    return {"postgresql_where": sa.text(f"{column} IS NOT NULL"),
            "sqlite_where": sa.text(f"{column} IS NOT NULL")}


def upgrade() -> None:
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("escalation_policy", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("escalation_level", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("next_reminder_at", UTC, nullable=True))
        batch_op.add_column(sa.Column("next_escalation_at", UTC, nullable=True))
        batch_op.create_index("ix_human_tasks_next_reminder_at", ["next_reminder_at", "id"],
                              unique=False, **_partial("next_reminder_at"))
        batch_op.create_index("ix_human_tasks_next_escalation_at", ["next_escalation_at", "id"],
                              unique=False, **_partial("next_escalation_at"))

    op.create_table(
        "mail_outbox",
        sa.Column("id", _ID, nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("notification_ids", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC, nullable=True),
        sa.Column("lease_owner", sa.String(length=120), nullable=True),
        sa.Column("sent_at", UTC, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_mail_outbox_username", ["username"], unique=False)
        batch_op.create_index("ix_mail_outbox_next_attempt_at", ["next_attempt_at"], unique=False,
                              **_partial("next_attempt_at"))

    op.create_table(
        "notifications",
        sa.Column("id", _ID, nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("process_instance_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("read_at", UTC, nullable=True),
        sa.Column("email_after", UTC, nullable=True),
        sa.Column("outbox_id", _ID, nullable=True),
        sa.Column("digest_key", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["outbox_id"], ["mail_outbox.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_user_read", ["username", "read_at"], unique=False)
        batch_op.create_index("ix_notifications_user_created", ["username", "created_at"], unique=False)
        batch_op.create_index("ix_notifications_email_after", ["email_after"], unique=False,
                              **_partial("email_after"))
        # only the gathered notifications that still take events have a key (partial index)
        batch_op.create_index("ux_notifications_digest_key", ["digest_key"], unique=True,
                              **_partial("digest_key"))

    op.create_table(
        "instance_watches",
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("stuck_after", sa.Integer(), nullable=False),
        sa.Column("check_at", UTC, nullable=True),
        sa.Column("stuck_since", UTC, nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("instance_id"),
    )
    with op.batch_alter_table("instance_watches", schema=None) as batch_op:
        batch_op.create_index("ix_instance_watches_check_at", ["check_at", "instance_id"], unique=False,
                              **_partial("check_at"))

    # APScheduler's SQLAlchemyJobStore table (`scheduler run`), so that the schema comes only
    # from migrations; its layout is APScheduler 3's own
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_apscheduler_jobs_next_run_time", "apscheduler_jobs", ["next_run_time"])

    _backfill()


def _backfill() -> None:
    """Open tasks that exist already: escalate from their due date with the default policy;
    live instances: watched, looked at by the first pass."""
    conn = op.get_bind()
    now = datetime.now(timezone.utc)
    tasks = sa.table("human_tasks", sa.column("id", sa.String), sa.column("state", sa.String),
                     sa.column("due_at", UTC), sa.column("next_escalation_at", UTC))
    conn.execute(tasks.update().where(tasks.c.state == "open", tasks.c.due_at.isnot(None))
                 .values(next_escalation_at=tasks.c.due_at))
    instances = sa.table("process_instances", sa.column("id", sa.Integer),
                         sa.column("state", sa.String))
    watches = sa.table("instance_watches", sa.column("instance_id", sa.Integer),
                       sa.column("stuck_after", sa.Integer), sa.column("check_at", UTC))
    live = conn.execute(sa.select(instances.c.id).where(instances.c.state.in_(["running", "error"]))).scalars().all()
    if live:
        conn.execute(watches.insert(), [{"instance_id": i, "stuck_after": 10, "check_at": now} for i in live])


def downgrade() -> None:
    op.drop_index("ix_apscheduler_jobs_next_run_time", table_name="apscheduler_jobs")
    op.drop_table("apscheduler_jobs")
    with op.batch_alter_table("instance_watches", schema=None) as batch_op:
        batch_op.drop_index("ix_instance_watches_check_at")
    op.drop_table("instance_watches")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ux_notifications_digest_key")
        batch_op.drop_index("ix_notifications_email_after")
        batch_op.drop_index("ix_notifications_user_created")
        batch_op.drop_index("ix_notifications_user_read")
    op.drop_table("notifications")
    with op.batch_alter_table("mail_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_outbox_next_attempt_at")
        batch_op.drop_index("ix_mail_outbox_username")
    op.drop_table("mail_outbox")
    with op.batch_alter_table("human_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_human_tasks_next_escalation_at")
        batch_op.drop_index("ix_human_tasks_next_reminder_at")
        batch_op.drop_column("next_escalation_at")
        batch_op.drop_column("next_reminder_at")
        batch_op.drop_column("escalation_level")
        batch_op.drop_column("escalation_policy")
