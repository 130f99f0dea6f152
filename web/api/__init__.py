"""REST API v1 (the contract's /api/v1): one blueprint, JSON in and out, bearer-token auth, and
errors as `{"error": {"code", "message", "fields"?}}` with the status each engine error names."""
from __future__ import annotations

from web.api.blueprint import api

from web.api import errors, auth, definitions, instances, tasks, supervisor, openapi  # noqa: F401
from web.api import notifications  # noqa: F401  scheduler (issue 6)
from web.api import interventions, dashboard, inspection, archive  # noqa: F401  supervisor console (issue 7)
from web.api import design  # noqa: F401  process designer (issue 5)
from web.api import integration  # noqa: F401  other systems (issue 18)
from web.api import admin  # noqa: F401  user administration (issue 19)
from web.api import schedulers  # noqa: F401  observability (issue 19)
from web.api import calls  # noqa: F401  calls for proposals (issue 16)

__all__ = ["api"]
