"""reminders, escalations and notifications (issue 6) (released empty)

Revision ID: 0002
Revises: 0001

This revision was released as an empty placeholder, so databases exist that are at it. Its
tables are created by revision 0007; this one stays empty so that such databases upgrade
through 0007 like new ones.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import engine.core.models  # noqa: F401

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
