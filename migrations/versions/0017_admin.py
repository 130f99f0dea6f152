"""user administration: API tokens get a name and a long-lived flag, for the tokens an admin
issues to another system (engine/core/user_admin.py). Existing tokens are the 12-hour sign-in
tokens: unnamed, not long-lived.

Revision ID: 0017_admin
Revises: 0016_sso
"""
from alembic import op
import sqlalchemy as sa

revision = "0017_admin"
down_revision = "0016_sso"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("name", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("long_lived", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("long_lived")
        batch.drop_column("name")
