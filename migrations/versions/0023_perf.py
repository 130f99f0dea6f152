"""perf: the candidate index covers the task id, so "tasks I may claim" is read from the index
alone (PostgreSQL's index-only scan) instead of one table row per candidate; it replaces the
index on the principal alone, of which it is a superset.

Revision ID: 0019_perf
Revises: 0018_observability
"""
from alembic import op

revision = "0019_perf"
down_revision = "0019_funds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_task_candidates_principal_task", "task_candidates", ["principal", "task_id"])
    op.drop_index("ix_task_candidates_principal", table_name="task_candidates")


def downgrade() -> None:
    op.create_index("ix_task_candidates_principal", "task_candidates", ["principal"])
    op.drop_index("ix_task_candidates_principal_task", table_name="task_candidates")
