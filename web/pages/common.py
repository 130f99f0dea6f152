"""What all HTML blueprints share: every page needs a signed-in user; engine errors become a
readable error page in the user's language (403 not yours, 404 not found, 409 changed
meanwhile, 422 invalid) instead of the API's JSON; htmx requests get the same message as a
fragment; and the pagination helper the lists use."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from flask import Blueprint, Flask, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import HTTPException

from engine.core import bilingual
from engine.core.errors import Conflict, EngineError, InvalidData
from web.i18n import field_error, is_chinese

log = logging.getLogger(__name__)


def protected(blueprint: Blueprint) -> Blueprint:
    """Every view of the blueprint requires sign-in; errors render as HTML pages."""

    @blueprint.before_request
    @login_required
    def _signed_in() -> None:
        return None

    blueprint.register_error_handler(EngineError, engine_error_page)
    return blueprint


def _titles() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Bad request"), _("The request could not be understood.")),
        401: (_("Please sign in"), _("Please sign in to see this page.")),
        403: (_("Not allowed"), _("You may not open this page.")),
        404: (_("Not found"), _("There is nothing here. It may have been removed, or the link is wrong.")),
        405: (_("Not allowed"), _("This page cannot be used that way.")),
        409: (_("Changed meanwhile"), _("Someone else changed this meanwhile.")),
        413: (_("Too large"), _("The upload is too large.")),
        422: (_("Invalid data"), _("Some of the data is invalid.")),
        500: (_("Something went wrong"), _("An unexpected error occurred; nothing was changed.")),
    }


def error_page(status: int, detail: str = "", fields: dict[str, list[str]] | None = None):  # type: ignore[no-untyped-def]
    title, text = _titles().get(status, _titles()[500])
    template = "errors/fragment.html" if request.headers.get("HX-Request") else "errors/page.html"
    return render_template(template, status=status, title=title, text=text, detail=detail,
                           fields=fields or {}), status


def engine_error_page(error: EngineError):  # type: ignore[no-untyped-def]
    detail = _conflict_text(error) if isinstance(error, Conflict) else error.message
    fields = error.fields if isinstance(error, InvalidData) else None
    return error_page(error.status, _readable(detail), fields)


def _readable(detail: str) -> str:
    """The engine's own words for what went wrong, when the reader can read them: translated when
    known, else shown in English pages only (the page's title and text already say it in Chinese)."""
    translated = field_error(detail)
    if is_chinese() and not bilingual.has_chinese(translated):
        return ""
    return translated


def _conflict_text(error: Conflict) -> str:
    message = error.message
    if "no longer open" in message or "no longer waiting" in message:
        return _("This task was completed or cancelled meanwhile. Nothing you entered was saved.")
    if "already claimed" in message:
        return _("Someone else claimed this task meanwhile.")
    if "assigned directly" in message:
        return _("This task was assigned to you directly and has no group: released, nobody could take it. "
                 "A supervisor may reassign it.")
    if "changed by someone else" in message:
        return _("The application was changed by someone else meanwhile. Reload the page and try again.")
    return message


def _http_error(error: HTTPException):  # type: ignore[no-untyped-def]
    if request.path.startswith("/api/"):
        from flask import jsonify
        code = (error.name or "error").lower().replace(" ", "_")
        return jsonify({"error": {"code": code, "message": error.description or error.name}}), error.code
    return error_page(error.code or 500)


def init_app(app: Flask) -> None:
    for status in (400, 403, 404, 405, 413, 500):
        app.register_error_handler(status, _http_error)


@dataclass(frozen=True)
class Pager:
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def window(self, size: int = 7) -> list[int]:
        first = max(1, min(self.page - size // 2, self.pages - size + 1))
        return list(range(first, min(self.pages, first + size - 1) + 1))


def int_arg(name: str, default: int, low: int = 1, high: int = 10_000) -> int:
    try:
        value = int(request.args.get(name, default))
    except (TypeError, ValueError):
        return default
    return min(max(value, low), high)


def signed_in() -> bool:
    return bool(current_user and current_user.is_authenticated)

