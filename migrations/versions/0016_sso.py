"""single sign-on: the identity provider's subject (issuer, sub) each SSO user signs in as
(engine/core/sso.py), so that a user renamed at the provider stays the same account here

Revision ID: 0016_sso
Revises: 0015_integration
"""
from alembic import op
import sqlalchemy as sa

from engine.core.models import UtcDateTime

revision = "0016_sso"
down_revision = "0015_integration"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sso_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("last_sign_in_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issuer", "subject", name="uq_sso_identities_subject"),
    )
    op.create_index("ix_sso_identities_user_id", "sso_identities", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_sso_identities_user_id", table_name="sso_identities")
    op.drop_table("sso_identities")
