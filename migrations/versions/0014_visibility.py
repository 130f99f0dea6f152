"""attachments and comments carry a visibility (`applicant` or `internal`, engine/runtime/access.py)

Existing rows: what the instance's starter (the applicant) added becomes `applicant`, since it is
theirs and the applicant's pages already showed it to them; everything else becomes `internal`.
Nobody chose to share a staff or expert file or note with the applicant, and `internal` can only
hide something from non-staff, never show it to someone who could not see it before: staff see
both kinds. An uploader can add a shared copy if the applicant needs one.

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_STARTER = "(SELECT p.started_by FROM process_instances p WHERE p.id = {table}.process_instance_id)"


def upgrade() -> None:
    for table, author in (("attachments", "uploaded_by"), ("task_comments", "author")):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("visibility", sa.String(length=16), nullable=False,
                                       server_default="internal"))
        op.execute(f"UPDATE {table} SET visibility = 'applicant' WHERE {author} = {_STARTER.format(table=table)}")


def downgrade() -> None:
    for table in ("attachments", "task_comments"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("visibility")
