"""Imports every module that defines tables, so that `Base.metadata` is complete wherever the
whole schema matters (Alembic autogenerate, tests that empty every table). Add a line here when
a new module defines models."""
from __future__ import annotations

from engine.core import models
from engine.runtime import finished_tasks  # noqa: F401
from engine.core import summaries
from engine.workspace import substitutes, follow_up, comments, attachments, application_drafts, saved_filters  # noqa: F401,E501  web UI (issue 4)
from engine.notify import notifications
from engine.scheduling import scheduler
from engine.runtime import stuck_instances  # noqa: F401  scheduler (issue 6)
from engine.lifecycle import organisations, projects, changes, expert_pool, integrity, credit, duplicates  # noqa: F401,E501  lifecycle (issue 3)
from engine.lifecycle import calls  # noqa: F401  calls for proposals (issue 16)
from engine.supervision import archive, attention, dashboard  # noqa: F401  supervisor console (issue 7)
from engine.designer import process_drafts, trial_runs  # noqa: F401  designer (issue 5)
from engine.core import web_sessions, sign_in  # noqa: F401  sign-in (issue 13)
from engine.core import sso  # noqa: F401  single sign-on (issue 19)
from engine.runtime import subscriptions, worker_tasks  # noqa: F401  other systems (issue 18)
from engine.scheduling import heartbeat  # noqa: F401  observability (issue 19)
from engine.lifecycle import funds  # noqa: F401  project funds (issue 17)
from engine.core.models import Base

__all__ = ["Base"]
