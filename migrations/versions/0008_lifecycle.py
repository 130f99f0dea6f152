"""domain tables of the project lifecycle (issue 3): organisations, the project register and its
change requests, duplicate-detection terms, the expert pool and draws, the integrity list with
its history, credit records

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa
import engine.core.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC = engine.core.models.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("recommender_code", sa.String(length=40), nullable=True),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("plan_category", sa.String(length=40), nullable=False),
        sa.Column("discipline", sa.String(length=40), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("investigator", sa.String(length=80), nullable=False),
        sa.Column("applicant", sa.String(length=80), nullable=True),
        sa.Column("team", sa.JSON(), nullable=False),
        sa.Column("partners", sa.JSON(), nullable=False),
        sa.Column("budget", sa.Float(), nullable=False),
        sa.Column("period_months", sa.Integer(), nullable=False),
        sa.Column("approved_funding", sa.Float(), nullable=True),
        sa.Column("funds_released", sa.Float(), nullable=False),
        sa.Column("funding_suspended", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("submitted_at", UTC, nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("acceptance_due", sa.Date(), nullable=True),
        sa.Column("period_changes", sa.Integer(), nullable=False),
        sa.Column("reports_done", sa.Integer(), nullable=False),
        sa.Column("midterm_done", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("recommendation", sa.String(length=30), nullable=True),
        sa.Column("rating", sa.String(length=20), nullable=True),
        sa.Column("outcome_reason", sa.Text(), nullable=True),
        sa.Column("terms_norm", sa.Float(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_projects_status", "projects", ["status"])
    op.create_index("ix_projects_organisation", "projects", ["organisation"])
    op.create_index("ix_projects_applicant", "projects", ["applicant"])
    op.create_index("ix_projects_investigator_status", "projects", ["investigator", "status"])
    op.create_index("ix_projects_category_status", "projects", ["plan_category", "status"])

    op.create_table(
        "project_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("major", sa.Boolean(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("refusals", sa.JSON(), nullable=False),
        sa.Column("reviews", sa.JSON(), nullable=False),
        sa.Column("requested_at", UTC, nullable=False),
        sa.Column("requested_by", sa.String(length=80), nullable=True),
        sa.Column("decided_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_project_changes_project_id", "project_changes", ["project_id"])

    op.create_table(
        "project_terms",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("tf", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "term"),
    )
    op.create_index("ix_project_terms_term", "project_terms", ["term"])

    op.create_table(
        "experts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=True),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=40), nullable=False),
        sa.Column("discipline", sa.String(length=40), nullable=False),
        sa.Column("other_disciplines", sa.JSON(), nullable=False),
        sa.Column("avoid_units", sa.JSON(), nullable=False),
        sa.Column("avoid_persons", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_index("ix_experts_discipline", "experts", ["discipline"])

    op.create_table(
        "expert_draws",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("discipline", sa.String(length=40), nullable=False),
        sa.Column("mode", sa.String(length=10), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("backup_count", sa.Integer(), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=40), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("eligible", sa.JSON(), nullable=False),
        sa.Column("excluded", sa.JSON(), nullable=False),
        sa.Column("drawn_at", UTC, nullable=False),
        sa.Column("drawn_by", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("purpose"),
    )
    op.create_index("ix_expert_draws_project_id", "expert_draws", ["project_id"])

    op.create_table(
        "expert_draw_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draw_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("expert_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["draw_id"], ["expert_draws.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["expert_id"], ["experts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("draw_id", "rank"),
    )
    op.create_index("ix_expert_draw_members_draw_id", "expert_draw_members", ["draw_id"])

    op.create_table(
        "integrity_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=20), nullable=False),
        sa.Column("subject_name", sa.String(length=200), nullable=False),
        sa.Column("subject_key", sa.String(length=40), nullable=True),
        sa.Column("grade", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("penalty_start", sa.Date(), nullable=False),
        sa.Column("penalty_end", sa.Date(), nullable=True),
        sa.Column("document_no", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=True),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_integrity_subject", "integrity_entries", ["subject_type", "subject_name"])

    op.create_table(
        "integrity_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["integrity_entries.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_integrity_history_entry_id", "integrity_history", ["entry_id"])

    op.create_table(
        "credit_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=20), nullable=False),
        sa.Column("subject_name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("project_title", sa.String(length=300), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.Column("recorded_by", sa.String(length=80), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source_key"),
    )
    op.create_index("ix_credit_records_project_id", "credit_records", ["project_id"])
    op.create_index("ix_credit_subject", "credit_records", ["subject_type", "subject_name", "recorded_at"])


def downgrade() -> None:
    for index, table in [("ix_credit_subject", "credit_records"), ("ix_credit_records_project_id", "credit_records")]:
        op.drop_index(index, table_name=table)
    op.drop_table("credit_records")
    op.drop_index("ix_integrity_history_entry_id", table_name="integrity_history")
    op.drop_table("integrity_history")
    op.drop_index("ix_integrity_subject", table_name="integrity_entries")
    op.drop_table("integrity_entries")
    op.drop_index("ix_expert_draw_members_draw_id", table_name="expert_draw_members")
    op.drop_table("expert_draw_members")
    op.drop_index("ix_expert_draws_project_id", table_name="expert_draws")
    op.drop_table("expert_draws")
    op.drop_index("ix_experts_discipline", table_name="experts")
    op.drop_table("experts")
    op.drop_index("ix_project_terms_term", table_name="project_terms")
    op.drop_table("project_terms")
    op.drop_index("ix_project_changes_project_id", table_name="project_changes")
    op.drop_table("project_changes")
    for index in ("ix_projects_category_status", "ix_projects_investigator_status", "ix_projects_applicant",
                  "ix_projects_organisation", "ix_projects_status"):
        op.drop_index(index, table_name="projects")
    op.drop_table("projects")
    op.drop_table("organisations")
