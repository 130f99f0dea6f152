"""supervisor console and archive (issue 7) (released empty)

Revision ID: 0005
Revises: 0004

This revision was released as an empty placeholder, so databases exist that are at it. Its
tables are created by revision 0010; this one stays empty so that such databases upgrade
through 0010 like new ones.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import engine.core.models  # noqa: F401

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
