"""inbox: the candidate rows carry what the inbox filters and sorts claimable tasks by (claimed or
not, due date, creation, and the task's kind for the filter's choices), indexed after the principal in the inbox's order, so that the first page
of a user's claimable tasks, its total and the poll are read from the index alone (issue 19). The
index replaces the one on (principal, task_id), of which its prefix does the same work. Existing
rows are filled from their tasks.

Revision ID: 0024_inbox
Revises: 0019_perf
"""
import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0024_inbox"
down_revision = "0019_perf"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task_candidates") as batch:
        batch.add_column(sa.Column("claimed", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("kind", sa.String(16), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            UPDATE task_candidates AS c SET claimed = COALESCE(t.assignee, '') <> '', due_at = t.due_at,
                                            created_at = t.created_at,
                                            kind = left(md5(t.process_key || chr(31) || t.name || chr(31) || t.title), 16)
            FROM human_tasks AS t WHERE t.id = c.task_id
        """)
    else:
        op.execute("""
        UPDATE task_candidates SET
            claimed = (SELECT COALESCE(t.assignee, '') <> '' FROM human_tasks t WHERE t.id = task_candidates.task_id),
            due_at = (SELECT t.due_at FROM human_tasks t WHERE t.id = task_candidates.task_id),
            created_at = (SELECT t.created_at FROM human_tasks t WHERE t.id = task_candidates.task_id)
        """)
        # SQLite has no md5(): the digests are computed here, as projection.kind_of does
        connection = op.get_bind()
        found = connection.execute(sa.text(
            "SELECT id, process_key, name, title FROM human_tasks WHERE id IN (SELECT task_id FROM task_candidates)"))
        kinds = [{"kind": _kind(key, name, title), "id": task_id} for task_id, key, name, title in found]
        if kinds:
            connection.execute(sa.text("UPDATE task_candidates SET kind = :kind WHERE task_id = :id"), kinds)
    op.create_index("ix_task_candidates_inbox", "task_candidates",
                    ["principal", "claimed", "due_at", "created_at", "task_id", "kind"])
    op.drop_index("ix_task_candidates_principal_task", table_name="task_candidates")


def _kind(process_key: str, name: str, title: str) -> str:
    # a copy of engine/runtime/projection.kind_of as it was at this revision
    return hashlib.md5(f"{process_key}\x1f{name}\x1f{title}".encode()).hexdigest()[:16]


def downgrade() -> None:
    op.create_index("ix_task_candidates_principal_task", "task_candidates", ["principal", "task_id"])
    op.drop_index("ix_task_candidates_inbox", table_name="task_candidates")
    with op.batch_alter_table("task_candidates") as batch:
        batch.drop_column("kind")
        batch.drop_column("created_at")
        batch.drop_column("due_at")
        batch.drop_column("claimed")
