"""designer drafts and migrations (issue 5) (released empty)

Revision ID: 0006
Revises: 0005

This revision was released as an empty placeholder, so databases exist that are at it. Its
tables are created by revision 0011; this one stays empty so that such databases upgrade
through 0011 like new ones.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import engine.core.models  # noqa: F401

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
