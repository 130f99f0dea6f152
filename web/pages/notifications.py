"""The notification centre's pages: the bell's unread count in the header of every signed-in page
(refreshed by a light htmx poll), the list of the user's notifications (newest first, paginated,
each linked to its task or project when the reader may open it), opening one (from the list or
an e-mail: marks it read and goes where it leads) and marking one or all read. The reads and
the rule of where a notification leads are engine/workspace/notification_centre.py's."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from engine.core import commands
from engine.notify import notifications as engine_notifications
from engine.workspace import notification_centre

from web import engine_db
from web.auth import current_actor
from web.i18n import current_language, safe_next
from web.pages.common import Pager, int_arg, protected

notification_pages = protected(Blueprint("notification_pages", __name__, url_prefix="/notifications"))


def place_url(place: notification_centre.Place | None) -> str | None:
    if place is None:
        return None
    if place.kind == notification_centre.TASK:
        return url_for("task_pages.show", task_id=place.target)
    return url_for("instance_pages.show", instance_id=place.target)


@notification_pages.get("")
def index():  # type: ignore[no-untyped-def]
    page = int_arg("page", 1)
    view = commands.query(engine_db(), notification_centre.centre_view, current_actor(), current_language(),
                          page, 20)
    return render_template("notifications/index.html", view=view, unread=view.unread,
                           pager=Pager(view.page, view.per_page, view.total), place_url=place_url)


@notification_pages.get("/<bigid:notification_id>")
def open_one(notification_id: int):  # type: ignore[no-untyped-def]
    """Where a notification leads (the list's and e-mails' links): reading it is opening it."""
    place = commands.execute(engine_db(), notification_centre.open_notification, current_actor(), notification_id)
    url = place_url(place)
    if url is None:
        flash(_("This notification has nothing you may open now; it is marked as read."), "info")
        return redirect(url_for("notification_pages.index"))
    return redirect(url)


@notification_pages.post("/<bigid:notification_id>/read")
def read_one(notification_id: int):  # type: ignore[no-untyped-def]
    commands.execute(engine_db(), engine_notifications.mark_read, current_actor(), notification_id)
    return redirect(safe_next(request.form.get("next"), url_for("notification_pages.index")))


@notification_pages.post("/read-all")
def read_all():  # type: ignore[no-untyped-def]
    marked = commands.execute(engine_db(), engine_notifications.mark_all_read, current_actor(), None)
    if marked:
        flash(_("All notifications are marked as read."), "success")
    return redirect(safe_next(request.form.get("next"), url_for("notification_pages.index")))


@notification_pages.get("/bell")
def bell():  # type: ignore[no-untyped-def]
    """The bell alone, for the header's poll."""
    return render_template("notifications/_bell.html", unread=_unread())


def _unread() -> int:
    return commands.query(engine_db(), notification_centre.unread_count, current_actor())


def init_app(app: Flask) -> None:
    app.config.setdefault("NOTIFICATION_POLL_SECONDS", 60)
    app.register_blueprint(notification_pages)

    @app.context_processor
    def _bell() -> dict[str, Any]:
        # a function, so pages that never show the header (errors before sign-in) never query
        return {"bell_unread": _unread if current_user.is_authenticated else (lambda: 0),
                "bell_poll_seconds": current_app.config["NOTIFICATION_POLL_SECONDS"]}
