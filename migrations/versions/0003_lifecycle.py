"""domain tables of the project lifecycle (issue 3) (released empty)

Revision ID: 0003
Revises: 0002

This revision was released as an empty placeholder, so databases exist that are at it. Its
tables are created by revision 0008; this one stays empty so that such databases upgrade
through 0008 like new ones.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import engine.core.models  # noqa: F401

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
