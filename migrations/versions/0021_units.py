"""units: the undertaking unit's yearly forwarding quota in the organisation register

Existing organisations have no quota (no limit).

Revision ID: 0019_units
Revises: 0018_observability
"""
from alembic import op
import sqlalchemy as sa

revision = "0019_units"
down_revision = "0019_calls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(sa.Column("yearly_quota", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organisations") as batch:
        batch.drop_column("yearly_quota")
