"""web UI tables (issue 4): instance summaries, substitutes, follow-up dates, comments,
attachments, application drafts, saved inbox filters

Revision ID: 0009
Revises: 0008
"""
import json

from alembic import op
import sqlalchemy as sa
import engine.core.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UTC = engine.core.models.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "instance_summaries",
        sa.Column("process_instance_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("started_by", sa.String(length=80), nullable=True),
        sa.Column("process_key", sa.String(length=200), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["process_instance_id"], ["process_instances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("process_instance_id"),
    )
    op.create_index("ix_instance_summaries_started_by", "instance_summaries", ["started_by"])

    op.create_table(
        "substitutions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("substitute", sa.String(length=80), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("revoked_at", UTC, nullable=True),
        sa.Column("revoked_by", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_substitutions_username", "substitutions", ["username"])
    op.create_index("ix_substitutions_substitute", "substitutions", ["substitute"])

    op.create_table(
        "follow_ups",
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("follow_up_on", sa.Date(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["human_tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("username", "task_id"),
    )
    op.create_index("ix_follow_ups_task_id", "follow_ups", ["task_id"])

    op.create_table(
        "task_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_instance_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("author", sa.String(length=80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["process_instance_id"], ["process_instances.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["task_id"], ["human_tasks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_task_comments_task_id", "task_comments", ["task_id"])
    op.create_index("ix_task_comments_instance", "task_comments", ["process_instance_id", "created_at"])

    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_instance_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("stored_name", sa.String(length=120), nullable=False),
        sa.Column("uploaded_by", sa.String(length=80), nullable=False),
        sa.Column("uploaded_at", UTC, nullable=False),
        sa.Column("removed_at", UTC, nullable=True),
        sa.Column("removed_by", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(["process_instance_id"], ["process_instances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_attachments_process_instance_id", "attachments", ["process_instance_id"])

    op.create_table(
        "application_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("process_key", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_application_drafts_username", "application_drafts", ["username"])

    op.create_table(
        "saved_filters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username", "name"),
    )
    op.create_index("ix_saved_filters_username", "saved_filters", ["username"])

    _backfill_summaries()


def _backfill_summaries() -> None:
    """Summaries for instances started before this migration, from their start events."""
    conn = op.get_bind()
    instances = sa.table("process_instances", sa.column("id", sa.Integer), sa.column("started_by", sa.String),
                         sa.column("process_key", sa.String), sa.column("updated_at", UTC))
    audit = sa.table("audit_events", sa.column("process_instance_id", sa.Integer),
                     sa.column("action", sa.String), sa.column("details", sa.JSON), sa.column("id", sa.Integer))
    summaries = sa.table("instance_summaries", sa.column("process_instance_id", sa.Integer),
                         sa.column("title", sa.String), sa.column("started_by", sa.String),
                         sa.column("process_key", sa.String), sa.column("updated_at", UTC))
    titles: dict[int, str] = {}
    events = conn.execute(sa.select(audit.c.process_instance_id, audit.c.details)
                          .where(audit.c.action.in_(["instance_started", "task_completed"]))
                          .order_by(audit.c.id))
    for instance_id, details in events:
        if isinstance(details, str):
            details = json.loads(details)
        data = (details or {}).get("data") or {}
        title = data.get("title") if isinstance(data, dict) else None
        if isinstance(title, str) and title.strip() and instance_id is not None:
            titles[instance_id] = title.strip()[:300]
    rows = [{"process_instance_id": i, "title": titles.get(i, ""), "started_by": by, "process_key": key,
             "updated_at": at} for i, by, key, at in conn.execute(
        sa.select(instances.c.id, instances.c.started_by, instances.c.process_key, instances.c.updated_at))]
    if rows:
        op.bulk_insert(summaries, rows)


def downgrade() -> None:
    for table in ("saved_filters", "application_drafts", "attachments", "task_comments", "follow_ups",
                  "substitutions", "instance_summaries"):
        op.drop_table(table)
