"""/api/v1/notifications: the signed-in user's in-app notifications (reminders, overdue notices,
escalations, stuck processes) with the unread count, marking them read; and
/api/v1/tasks/{id}/escalations: a task's escalation policy, where it stands and its history.
Texts come in the language asked for (`?lang=en|zh_CN`, else the page language, else the
Accept-Language header; Chinese by default)."""
from __future__ import annotations

from flask import jsonify, request, session
from marshmallow import EXCLUDE, Schema, fields, validate

from engine.core import commands
from engine.scheduling import escalation
from engine.notify import notifications
from engine.runtime import tasks
from engine.notify.texts import LANGUAGES, language_of

from web import engine_db
from web.api.blueprint import api
from web.api.auth import current_actor, load_body, load_query
from web.converters import BIGINT_MAX
from web.api.schemas import Id, StrictSchema


class NotificationQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    unread = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))
    lang = fields.String(load_default=None, validate=validate.OneOf(["zh_CN", "zh", "en"]))


class DigestItemOut(Schema):
    task_id = fields.String(allow_none=True)
    process_instance_id = fields.Integer(allow_none=True)
    title = fields.String(allow_none=True)


class NotificationOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    task_id = fields.String(allow_none=True)
    process_instance_id = fields.Integer(allow_none=True)
    count = fields.Integer()
    items = fields.List(fields.Nested(DigestItemOut), allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
    read = fields.Boolean()


class NotificationPage(Schema):
    items = fields.List(fields.Nested(NotificationOut))
    total = fields.Integer()
    unread = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class UnreadOut(Schema):
    unread = fields.Integer()


class MarkReadRequest(StrictSchema):
    ids = fields.List(Id(BIGINT_MAX), load_default=None, validate=validate.Length(max=1000))


class MarkedOut(Schema):
    marked = fields.Integer()
    unread = fields.Integer()


class EscalationEventOut(Schema):
    at = fields.DateTime()
    action = fields.String()
    actor = fields.String(allow_none=True)
    details = fields.Dict()


class EscalationOut(Schema):
    task_id = fields.String()
    due_at = fields.DateTime(allow_none=True)
    escalation_level = fields.Integer()
    next_reminder_at = fields.DateTime(allow_none=True)
    next_escalation_at = fields.DateTime(allow_none=True)
    policy = fields.Dict()
    history = fields.List(fields.Nested(EscalationEventOut))


def _language(asked: str | None) -> str:
    if asked:
        return language_of(asked)
    chosen = session.get("lang") if session else None
    if chosen in LANGUAGES:
        return chosen
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"])
    return language_of(best)


@api.get("/v1/notifications")
def list_notifications():  # type: ignore[no-untyped-def]
    actor = current_actor()
    query = load_query(NotificationQuery())
    language = _language(query["lang"])

    def _reader(s):  # type: ignore[no-untyped-def]
        rows, total, unread = notifications.list_for(s, actor, query["unread"], query["page"],
                                                     query["per_page"])
        return {"items": [notifications.render(r, language) for r in rows], "total": total,
                "unread": unread, "page": query["page"], "per_page": query["per_page"]}

    return jsonify(NotificationPage().dump(commands.query(engine_db(), _reader)))


@api.get("/v1/notifications/unread-count")
def unread_notifications():  # type: ignore[no-untyped-def]
    actor = current_actor()
    return jsonify(UnreadOut().dump({"unread": commands.query(engine_db(), notifications.unread_count, actor)}))


@api.post("/v1/notifications/<bigid:notification_id>/read")
def read_notification(notification_id: int):  # type: ignore[no-untyped-def]
    actor = current_actor()
    language = _language(request.args.get("lang"))
    row = commands.execute(engine_db(), notifications.mark_read, actor, notification_id)
    return jsonify(NotificationOut().dump(notifications.render(row, language)))


@api.post("/v1/notifications/read-all")
def read_all_notifications():  # type: ignore[no-untyped-def]
    actor = current_actor()
    body = load_body(MarkReadRequest()) if request.get_data() else {"ids": None}
    marked = commands.execute(engine_db(), notifications.mark_all_read, actor, body["ids"])
    unread = commands.query(engine_db(), notifications.unread_count, actor)
    return jsonify(MarkedOut().dump({"marked": marked, "unread": unread}))


@api.get("/v1/tasks/<task_id>/escalations")
def task_escalations(task_id: str):  # type: ignore[no-untyped-def]
    actor = current_actor()

    def _reader(s):  # type: ignore[no-untyped-def]
        return escalation.history(s, tasks.get_visible(s, actor, task_id))

    return jsonify(EscalationOut().dump(commands.query(engine_db(), _reader)))
