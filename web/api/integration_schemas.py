"""marshmallow schemas of the calls other systems make: messages, signals and external tasks."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from web.api.schemas import Id, StrictSchema

Name = lambda: fields.String(required=True, validate=validate.Length(min=1, max=200))  # noqa: E731
WORKER = validate.Length(min=1, max=200)
DAY_MS = 24 * 3600 * 1000


class MessageRequest(StrictSchema):
    name = Name()
    business_key = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    process_instance_id = Id(load_default=None, allow_none=True)
    correlation = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=200)), load_default=dict)
    data = fields.Dict(load_default=dict)


class MessageResponse(Schema):
    process_instance_id = fields.Integer()


class SignalRequest(StrictSchema):
    name = Name()
    data = fields.Dict(load_default=dict)


class SignalResponse(Schema):
    delivered = fields.Integer()


class TopicRequest(StrictSchema):
    name = Name()
    lock_duration = fields.Integer(required=True, validate=validate.Range(min=1, max=7 * DAY_MS))
    # Camunda's fetch-and-lock `variables`: only these keys of the data (all the worker may see if absent)
    variables = fields.List(Name(), load_default=None, validate=validate.Length(max=100))


class FetchAndLockRequest(StrictSchema):
    worker_id = fields.String(required=True, validate=WORKER)
    max_tasks = fields.Integer(required=True, validate=validate.Range(min=1, max=100))
    topics = fields.List(fields.Nested(TopicRequest), required=True, validate=validate.Length(min=1, max=50))


class LockedTaskOut(Schema):
    id = fields.String()
    topic = fields.String()
    process_instance_id = fields.Integer()
    business_key = fields.String(allow_none=True)
    data = fields.Dict()
    lock_expires_at = fields.DateTime()


class ExternalCompleteRequest(StrictSchema):
    worker_id = fields.String(required=True, validate=WORKER)
    data = fields.Dict(load_default=dict)


class ExternalFailureRequest(StrictSchema):
    worker_id = fields.String(required=True, validate=WORKER)
    error_message = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    retries = fields.Integer(required=True, validate=validate.Range(min=0, max=1000))
    retry_timeout = fields.Integer(required=True, validate=validate.Range(min=0, max=7 * DAY_MS))


class ExternalBpmnErrorRequest(StrictSchema):
    worker_id = fields.String(required=True, validate=WORKER)
    error_code = fields.String(required=True, validate=validate.Length(min=1, max=200))
    data = fields.Dict(load_default=dict)


class ExternalRetryRequest(StrictSchema):
    retries = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1000))
    reason = fields.String(required=True, validate=validate.Length(max=2000))


class ExternalTaskOut(Schema):
    id = fields.String()
    topic = fields.String()
    process_instance_id = fields.Integer()
    element_id = fields.String()
    state = fields.String()
    worker_id = fields.String(allow_none=True)
    lock_expires_at = fields.DateTime(allow_none=True)
    retries = fields.Integer(allow_none=True)
    error_message = fields.String(allow_none=True)
