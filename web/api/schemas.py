"""marshmallow schemas at the API's edge: request bodies are loaded through them (400/422 on bad
shape) and responses dumped through them; the OpenAPI document is generated from them."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, fields, post_dump, validate

from web.converters import INTEGER_MAX


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


def Id(column_max: int = INTEGER_MAX, **kwargs: Any) -> fields.Integer:  # noqa: N802  (a field, like fields.Integer)
    """An id or version number in a body or query string: it is looked up in a column of fixed
    width, so one past that range is invalid data (422), never a query that overflows."""
    return fields.Integer(validate=validate.Range(min=1, max=column_max), **kwargs)


# the moments a query may name: wide enough for any record, narrow enough that a week or a
# working day computed from one never leaves the calendar datetime can hold
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2200, 1, 1, tzinfo=timezone.utc)


def Moment(**kwargs: Any) -> fields.AwareDateTime:  # noqa: N802  (a field, like fields.AwareDateTime)
    """A moment with its time zone in a query or body, between 1970 and 2200 (422 otherwise)."""
    return fields.AwareDateTime(validate=validate.Range(min=EARLIEST, max=LATEST), **kwargs)


class TokenRequest(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class TokenResponse(Schema):
    token = fields.String()
    expires_at = fields.DateTime()


class DefinitionOut(Schema):
    key = fields.String()
    name = fields.String()
    version = fields.Integer()
    deployed_at = fields.DateTime()


class DeployedOut(Schema):
    key = fields.String()
    version = fields.Integer()
    kind = fields.String()
    changed = fields.Boolean()
    # set when a process not among the files was deployed again because it calls a changed
    # process or uses a changed DMN table ("calls establishment_review")
    because = fields.String(allow_none=True)

    @post_dump
    def _only_when_redeployed(self, data: dict, **_kwargs: object) -> dict:
        if data.get("because") is None:
            data.pop("because", None)
        return data


class StartRequest(StrictSchema):
    process_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    data = fields.Dict(load_default=dict)
    business_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))


class TaskOut(Schema):
    id = fields.String()
    name = fields.String()
    title = fields.String()
    process_instance_id = fields.Integer()
    process_key = fields.String()
    state = fields.String()
    assignee = fields.String(allow_none=True)
    candidate_groups = fields.List(fields.String())
    candidate_users = fields.List(fields.String())
    form_key = fields.String(allow_none=True)
    created_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)


class TaskDetailOut(TaskOut):
    form = fields.Dict(allow_none=True)
    data = fields.Dict()


class InstanceOut(Schema):
    id = fields.Integer()
    process_key = fields.String()
    version = fields.Integer()
    state = fields.String()
    data = fields.Dict()
    tasks = fields.List(fields.Nested(TaskOut))
    started_by = fields.String(allow_none=True)
    started_at = fields.DateTime()
    error = fields.Dict(allow_none=True)
    business_key = fields.String(allow_none=True)


class TaskPage(Schema):
    items = fields.List(fields.Nested(TaskOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class TaskQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    scope = fields.String(load_default="assigned",
                          validate=validate.OneOf(["assigned", "candidate", "completed"]))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=200))


class CompleteRequest(StrictSchema):
    data = fields.Dict(load_default=dict)


class CompleteResponse(Schema):
    task = fields.Nested(TaskOut)
    process_instance = fields.Nested(InstanceOut)


class AssignRequest(StrictSchema):
    assignee = fields.String(required=True, validate=validate.Length(min=1, max=80))


class ReasonRequest(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class RetryRequest(StrictSchema):
    data = fields.Dict(load_default=dict)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ErrorBody(Schema):
    code = fields.String()
    message = fields.String()
    fields = fields.Dict()


class ErrorOut(Schema):
    error = fields.Nested(ErrorBody)


class PageQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class StuckOut(Schema):
    id = fields.Integer()
    process_key = fields.String()
    version = fields.Integer()
    state = fields.String()
    updated_at = fields.DateTime()
    next_timer_at = fields.DateTime(allow_none=True)
    error = fields.Dict(allow_none=True)


class StuckPage(Schema):
    items = fields.List(fields.Nested(StuckOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
