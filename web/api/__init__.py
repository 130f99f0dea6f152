"""REST API v1 (the contract's /api/v1): one blueprint, JSON in and out, bearer-token auth, and
errors as `{"error": {"code", "message", "fields"?}}` with the status each engine error names."""
from __future__ import annotations

from flask import Blueprint

api = Blueprint("api", __name__, url_prefix="/api")

from . import errors, auth, definitions, instances, tasks, supervisor, openapi  # noqa: E402,F401
from . import notifications  # noqa: E402,F401  scheduler (issue 6)
from . import interventions, dashboard, inspection, archive  # noqa: E402,F401  supervisor console (issue 7)
from . import design  # noqa: E402,F401  process designer (issue 5)
