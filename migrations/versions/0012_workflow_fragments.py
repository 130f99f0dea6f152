"""finished tasks stored once each (engine/runtime/finished_tasks.py), so that a save writes what changed;
an instance's open task rows found by (instance, state), without reading its closed ones

Documents written before hold every task and load as they are; their finished tasks move to
this table at the instance's next save.

Revision ID: 0012
Revises: 0011
"""
import json

from alembic import op
import sqlalchemy as sa

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workflow_fragments",
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("workflow", sa.String(length=36), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["process_instances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("instance_id", "task_id"),
    )
    # the new index starts with the old one's column, so it serves the old one's lookups too
    op.create_index("ix_human_tasks_instance_state", "human_tasks", ["process_instance_id", "state"])
    op.drop_index("ix_human_tasks_process_instance_id", table_name="human_tasks")


def downgrade() -> None:
    op.create_index("ix_human_tasks_process_instance_id", "human_tasks", ["process_instance_id"])
    op.drop_index("ix_human_tasks_instance_state", table_name="human_tasks")
    # the finished tasks go back into each document first, so no state is lost
    conn = op.get_bind()
    instances = sa.table("process_instances", sa.column("id", sa.Integer), sa.column("document", sa.Text))
    fragments = sa.table("workflow_fragments", sa.column("instance_id", sa.Integer),
                         sa.column("task_id", sa.String), sa.column("workflow", sa.String),
                         sa.column("body", sa.Text))
    ids = conn.execute(sa.select(fragments.c.instance_id).distinct()).scalars().all()
    for instance_id in ids:
        document = conn.execute(sa.select(instances.c.document).where(instances.c.id == instance_id)).scalar()
        state = json.loads(document)
        rows = conn.execute(sa.select(fragments.c.workflow, fragments.c.task_id, fragments.c.body)
                            .where(fragments.c.instance_id == instance_id)).all()
        for workflow, task_id, body in rows:
            target = state if workflow == "" else state["subprocesses"].get(workflow)
            if target is not None:
                target["tasks"].setdefault(task_id, json.loads(body))
        for flow in (state, *state.get("subprocesses", {}).values()):
            flow["tasks"] = _parents_first(flow["tasks"], flow["root"])
        conn.execute(instances.update().where(instances.c.id == instance_id).values(document=json.dumps(state)))
    op.drop_table("workflow_fragments")


def _parents_first(tasks: dict, root: str) -> dict:
    """SpiffWorkflow restores a task's data as a change against its parent's: parents first.
    (engine/runtime/finished_tasks.py does the same; a migration keeps its own copy so that it still runs
    the same way after the engine's code has moved on.)"""
    ordered: dict = {}
    stack = [root]
    while stack:
        task_id = stack.pop()
        task = tasks.get(task_id)
        if task is None or task_id in ordered:
            continue
        ordered[task_id] = task
        stack.extend(reversed(task["children"]))
    for task_id, task in tasks.items():
        ordered.setdefault(task_id, task)
    return ordered
