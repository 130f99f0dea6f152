"""Imports every module that defines tables, so that `Base.metadata` is complete wherever the
whole schema matters (Alembic autogenerate, tests that empty every table). Add a line here when
a new module defines models."""
from __future__ import annotations

from . import models, fragments  # noqa: F401
from . import summaries, substitutes, follow_up, comments, attachments, drafts, saved_filters  # noqa: F401,E501  web UI (issue 4)
from . import notifications, scheduler, stuck_instances  # noqa: F401  scheduler (issue 6)
from . import organisations, projects, changes, expert_pool, integrity, credit, duplicates  # noqa: F401,E501  lifecycle (issue 3)
from . import archive, attention, dashboard  # noqa: F401  supervisor console (issue 7)
from . import process_drafts, trial_runs  # noqa: F401  designer (issue 5)
from . import web_sessions, sign_in  # noqa: F401  sign-in (issue 13)
from .models import Base

__all__ = ["Base"]
