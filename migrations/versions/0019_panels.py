"""panels: the institution's ratings of experts after each review (timeliness and quality), which
the expert pool's draw reads (engine/lifecycle/expert_pool.py)

No existing expert has a rating; the draw judges nobody until they have RATING_MIN_COUNT.

Revision ID: 0019_panels
Revises: 0018_observability
"""
from alembic import op
import sqlalchemy as sa

from engine.core.models import UtcDateTime

revision = "0019_panels"
down_revision = "0018_observability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "expert_ratings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("timeliness", sa.Integer(), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text()),
        sa.Column("rated_by", sa.String(length=80)),
        sa.Column("rated_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["expert_id"], ["experts.id"]),
        sa.ForeignKeyConstraint(["draw_id"], ["expert_draws.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("draw_id", "expert_id"))
    op.create_index("ix_expert_ratings_expert_id", "expert_ratings", ["expert_id"])


def downgrade() -> None:
    op.drop_index("ix_expert_ratings_expert_id", "expert_ratings")
    op.drop_table("expert_ratings")
