"""The engine's tables, as SQLAlchemy 2 typed models. The schema itself comes only from the
Alembic migrations in migrations/; these classes must match them.

Workflow state is one JSON document per instance (`ProcessInstance.state`), without the process
spec, which is stored once per definition version (`ProcessDefinition.spec`). Inboxes read the
`HumanTask`/`TaskCandidate` projection, never the document. `AuditEvent` is append-only."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, false, DateTime, ForeignKey, Index, Integer,
                        LargeBinary, String, Text, UniqueConstraint, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        from datetime import timezone
        return value.astimezone(timezone.utc) if dialect.name != "sqlite" else \
            value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        from datetime import timezone
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[str]: JSON}


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(200))
    org: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    groups: Mapped[list["Group"]] = relationship(secondary="memberships", lazy="selectin")

    @property
    def group_names(self) -> set[str]:
        return {g.name for g in self.groups}


class Group(Base):
    __tablename__ = "groups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)


class Membership(Base):
    __tablename__ = "memberships"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    # set for the named tokens an admin issues to another system (engine/core/user_admin.py)
    name: Mapped[str | None] = mapped_column(String(100))
    long_lived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class DefinitionFile(Base):
    """The text of a deployed .bpmn/.dmn/.form file, stored once per content hash."""

    __tablename__ = "definition_files"
    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(8))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class Deployment(Base):
    __tablename__ = "deployments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str | None] = mapped_column(String(80))
    files: Mapped[list[str]] = mapped_column(JSON, default=list)


class FormVersion(Base):
    __tablename__ = "form_versions"
    __table_args__ = (UniqueConstraint("form_key", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    form_key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    deployed_at: Mapped[datetime]


class ProcessDefinition(Base):
    """One deployed version of one executable process, with everything an instance needs."""

    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("key", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(255), default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    spec: Mapped[str] = mapped_column(Text, deferred=True)  # restored once per process (SPECS)
    # process-level conventions read from the XML: starters, initiator, start form, form versions
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source_files: Mapped[list[str]] = mapped_column(JSON, default=list)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str | None] = mapped_column(String(80))


class ProcessInstance(Base):
    __tablename__ = "process_instances"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int]
    state: Mapped[str] = mapped_column(String(16), index=True)
    # optimistic concurrency: every write checks and bumps it (SQLAlchemy version_id_col)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    # deferred: commands served from the workflow cache never read it (200 KB at 500 steps)
    document: Mapped[str] = mapped_column(Text, deferred=True)
    # the current process data as JSON, written with the document so reads need no workflow
    data: Mapped[str] = mapped_column(Text, default="{}")
    started_by: Mapped[str | None] = mapped_column(String(80))
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    error_element: Mapped[str | None] = mapped_column(String(200))
    error_message: Mapped[str | None] = mapped_column(Text)
    next_timer_at: Mapped[datetime | None] = mapped_column(index=True)
    # another system's name for the instance (messages correlate on it); unique per process
    # among instances that have not ended, which the partial index enforces against races
    business_key: Mapped[str | None] = mapped_column(String(200))
    definition: Mapped[ProcessDefinition] = relationship(lazy="joined")

    __table_args__ = (
        Index("ux_process_instances_business_key", "process_key", "business_key", unique=True,
              postgresql_where=text("business_key IS NOT NULL AND ended_at IS NULL"),
              sqlite_where=text("business_key IS NOT NULL AND ended_at IS NULL")),
        Index("ix_process_instances_business_key", "business_key"),
    )
    __mapper_args__ = {"version_id_col": revision}


class HumanTask(Base):
    """Projection of one user task, kept in step with the document by every command."""

    __tablename__ = "human_tasks"
    __table_args__ = (
        Index("ix_human_tasks_assignee_state", "assignee", "state"),
        Index("ix_human_tasks_completed_by", "completed_by", "completed_at"),
        Index("ix_human_tasks_state_due", "state", "due_at"),
        # every command reads its instance's open rows: by state, so closed ones are never read
        Index("ix_human_tasks_instance_state", "process_instance_id", "state"),
        # the scheduler's due-dated work: partial indexes, so closed tasks (NULL) cost nothing;
        # with the id, in the scheduler's claim order, so that a batch reads only its own rows
        # even when thousands of tasks are due at the same moment
        Index("ix_human_tasks_next_reminder_at", "next_reminder_at", "id",
              postgresql_where=text("next_reminder_at IS NOT NULL"),
              sqlite_where=text("next_reminder_at IS NOT NULL")),
        Index("ix_human_tasks_next_escalation_at", "next_escalation_at", "id",
              postgresql_where=text("next_escalation_at IS NOT NULL"),
              sqlite_where=text("next_escalation_at IS NOT NULL")),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    process_instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instances.id", ondelete="CASCADE"))
    process_key: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(255), default="")
    lane: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))
    assignee: Mapped[str | None] = mapped_column(String(80))
    candidate_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    candidate_users: Mapped[list[str]] = mapped_column(JSON, default=list)
    form_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(80))
    # reminders and escalation (engine/definitions/escalation_policy.py): the policy resolved when the task was
    # created, the step reached (0 none, 1 overdue notice sent, 2 escalation action taken) and
    # when the scheduler has to act next; NULL once there is nothing left to do
    escalation_policy: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_reminder_at: Mapped[datetime | None]
    next_escalation_at: Mapped[datetime | None]


class TaskCandidate(Base):
    """One row per (open task, candidate principal) so that "tasks I may claim" is an indexed
    lookup by principal, whatever the number of groups or of closed tasks. The row repeats
    what the inbox filters and sorts the claimable tasks by (claimed or not, due date, creation,
    kind),
    kept in step with the task by engine/runtime/projection.py, so that the first page of a
    principal's claimable tasks is read from the index alone and in order."""

    __tablename__ = "task_candidates"
    # principal first, then the inbox's default order (due date, nulls last as PostgreSQL's
    # ascending index keeps them; then creation and id): the page, its total and the poll read
    # the index alone and stop at the page's end (migration 0024)
    # the kind last: counting a user's claimable tasks by kind (the filter's choices, the menu
    # count and the poll in one pass) reads the index alone too
    __table_args__ = (Index("ix_task_candidates_inbox", "principal", "claimed", "due_at", "created_at", "task_id",
                            "kind"),)
    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id", ondelete="CASCADE"),
                                         primary_key=True)
    principal: Mapped[str] = mapped_column(String(100), primary_key=True)
    claimed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime | None]
    # what the inbox's task filter offers the task as, (process key, element id, title), as a
    # short digest: engine/runtime/projection.kind_of
    kind: Mapped[str | None] = mapped_column(String(16))


class AuditEvent(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    process_instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # the request or scheduler pass that made it (engine/core/tracing.py): logs lead here
    request_id: Mapped[str | None] = mapped_column(String(64), index=True)


class Attachment(Base):
    """A file added to an instance (engine/workspace/attachments.py owns the rules); here because
    who may see one is decided below the workspace (engine/runtime/access.py)."""
    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instances.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    sha256: Mapped[str] = mapped_column(String(64))
    stored_name: Mapped[str] = mapped_column(String(120))
    uploaded_by: Mapped[str] = mapped_column(String(80))
    uploaded_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]
    removed_by: Mapped[str | None] = mapped_column(String(80))
    # `applicant` or `internal` (engine/runtime/access.py decides who sees which)
    visibility: Mapped[str] = mapped_column(String(16), default="internal", server_default="internal")
