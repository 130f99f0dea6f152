"""The REST API's one blueprint (/api): its views register on it; web/api/__init__.py imports
them all so that registering the blueprint brings every route."""
from __future__ import annotations

from flask import Blueprint

api = Blueprint("api", __name__, url_prefix="/api")
