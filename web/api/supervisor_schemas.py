"""marshmallow schemas of the supervisor console's API (attention list, interventions, bulk
operations, dashboard, instance detail, archive): queries and bodies are loaded through them,
answers dumped through them, and the OpenAPI document is generated from them."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from engine.core.principals import MAX_REASON
from engine.supervision import attention, interventions, selection

from web.api.schemas import Id, Moment, StrictSchema, TaskOut


class _Query(Schema):
    class Meta:
        unknown = EXCLUDE


def _split(values: object) -> list[str]:
    if isinstance(values, list):
        return [v.strip() for item in values for v in str(item).split(",") if v.strip()]
    return [v.strip() for v in str(values).split(",") if v.strip()]


class AttentionQuery(_Query):
    kind = fields.List(fields.String(validate=validate.OneOf(attention.KINDS)), load_default=None,
                       metadata={"description": "kinds to list (repeat or comma-separate); default all"})
    process_key = fields.String(load_default=None)
    element = fields.String(load_default=None)
    waiting_for = fields.String(load_default=None, metadata={"description": "a user or group name"})
    q = fields.String(load_default=None, validate=validate.Length(max=200),
                      metadata={"description": "part of the project title, or an instance id"})
    min_age_days = fields.Integer(load_default=0, validate=validate.Range(min=0, max=3650))
    quiet_days = fields.Integer(load_default=attention.QUIET_DAYS_DEFAULT, validate=validate.Range(min=1, max=365))
    timer_grace_minutes = fields.Integer(load_default=attention.TIMER_GRACE_MINUTES_DEFAULT,
                                         validate=validate.Range(min=0, max=10080))
    sort = fields.String(load_default="-age", validate=validate.OneOf(attention.SORTS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class ExportQuery(AttentionQuery):
    format = fields.String(load_default="csv", validate=validate.OneOf(["csv", "xlsx"]))
    lang = fields.String(load_default="zh_CN", validate=validate.OneOf(["zh_CN", "en"]))


class AttentionItemOut(Schema):
    kind = fields.String()
    instance_id = fields.Integer()
    process_key = fields.String()
    process_name = fields.String()
    stage = fields.String(metadata={"description": "the stage process the element sits in (the process itself when flat)"})
    version = fields.Integer()
    state = fields.String()
    title = fields.String()
    element = fields.String(allow_none=True)
    element_name = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    since = fields.DateTime()
    age_days = fields.Integer(metadata={"description": "whole working days since `since`"})
    age_hours = fields.Float()
    waiting_for = fields.List(fields.String(), metadata={"description": "user names, group:NAME, scheduler"})
    message = fields.String()


class AttentionPage(Schema):
    items = fields.List(fields.Nested(AttentionItemOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())


class ReassignRequest(StrictSchema):
    assignee = fields.String(required=True, validate=validate.Length(min=1, max=80))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=MAX_REASON))
    outside_groups = fields.Boolean(load_default=False, metadata={
        "description": "confirm giving the task to someone outside its candidate groups and users"})


class DataReasonRequest(StrictSchema):
    data = fields.Dict(load_default=dict)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=MAX_REASON))


class RetryFormOut(Schema):
    instance_id = fields.Integer()
    element_id = fields.String(allow_none=True)
    element_name = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    form_key = fields.String(allow_none=True)
    form = fields.Dict(allow_none=True)
    values = fields.Dict()


class SkipOut(Schema):
    task = fields.Nested(TaskOut)
    process_instance_id = fields.Integer()
    state = fields.String()


class SelectionIn(StrictSchema):
    ids = fields.List(Id(), load_default=list, validate=validate.Length(max=selection.MAX_SELECTED))
    process_key = fields.String(load_default=None)
    version = Id(load_default=None)
    states = fields.List(fields.String(validate=validate.OneOf(selection.STATES)), load_default=list)
    element = fields.String(load_default=None)
    started_after = Moment(load_default=None)
    started_before = Moment(load_default=None)
    updated_before = Moment(load_default=None)
    q = fields.String(load_default=None, validate=validate.Length(max=200))
    attention_kind = fields.String(load_default=None, validate=validate.OneOf(attention.KINDS))


class BulkRequest(StrictSchema):
    action = fields.String(required=True, validate=validate.OneOf(interventions.ACTIONS))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=MAX_REASON))
    assignee = fields.String(load_default=None, validate=validate.Length(min=1, max=80))
    element = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    data = fields.Dict(load_default=dict)
    selection = fields.Nested(SelectionIn, required=True)


class PlannedOut(Schema):
    instance_id = fields.Integer()
    process_key = fields.String()
    state = fields.String()
    will = fields.String(metadata={"description": "change or refuse"})
    description = fields.String()


class PreviewOut(Schema):
    action = fields.String()
    total = fields.Integer()
    changing = fields.Integer()
    items = fields.List(fields.Nested(PlannedOut))


class OutcomeOut(Schema):
    instance_id = fields.Integer()
    ok = fields.Boolean()
    state = fields.String(allow_none=True)
    code = fields.String(allow_none=True)
    message = fields.String()


class BulkReportOut(Schema):
    action = fields.String()
    total = fields.Integer()
    succeeded = fields.Integer()
    failed = fields.Integer()
    outcomes = fields.List(fields.Nested(OutcomeOut))


class PeriodQuery(_Query):
    since = Moment(load_default=None)
    until = Moment(load_default=None)
    process_key = fields.String(load_default=None)


class HeatmapQuery(PeriodQuery):
    process_key = fields.String(required=True)
    version = Id(load_default=None)
    stage = fields.String(load_default=None, validate=validate.Length(min=1, max=200),
                          metadata={"description": "a stage process the root calls: that stage's diagram"})


class WeekOut(Schema):
    week = fields.String(metadata={"description": "ISO week, e.g. 2025-W10"})
    week_start = fields.Date()
    started = fields.Integer()
    completed = fields.Integer()
    tasks_closed = fields.Integer()


class BacklogRowOut(Schema):
    reviewer = fields.String()
    group = fields.String()
    open = fields.Integer()
    overdue = fields.Integer()
    oldest_created_at = fields.DateTime()
    oldest_age_days = fields.Integer()


class BacklogOut(Schema):
    reviewers = fields.List(fields.Nested(BacklogRowOut))
    groups = fields.List(fields.Nested(BacklogRowOut))


class DashboardOut(Schema):
    since = fields.DateTime()
    until = fields.DateTime()
    process_key = fields.String(allow_none=True)
    instances_per_stage = fields.Dict()
    throughput = fields.List(fields.Nested(WeekOut))
    cycle_times = fields.List(fields.Dict())
    sla = fields.Dict()
    backlog = fields.Nested(BacklogOut)


class HeatmapOut(Schema):
    process_key = fields.String()
    version = fields.Integer()
    name = fields.String()
    since = fields.DateTime()
    until = fields.DateTime()
    elements = fields.List(fields.Dict())
    stage = fields.String(allow_none=True)
    stage_name = fields.String(allow_none=True)
    stages = fields.List(fields.Dict(), metadata={"description": "the stages the root calls: key, call activity element, name"})
    diagram = fields.String(metadata={"description": "the BPMN XML shown (the stage's when `stage` is given)"})


class AuditEventOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String(allow_none=True)
    action = fields.String()
    task_id = fields.String(allow_none=True)
    details = fields.Dict()


class AuditPage(Schema):
    items = fields.List(fields.Nested(AuditEventOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class AuditQuery(_Query):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=500, validate=validate.Range(min=1, max=5000))


class DataHistoryOut(Schema):
    instance_id = fields.Integer()
    data = fields.Dict()
    keys = fields.List(fields.Dict())


class TokenPathOut(Schema):
    instance_id = fields.Integer()
    process_key = fields.String()
    version = fields.Integer()
    state = fields.String()
    path = fields.List(fields.Dict())
    markers = fields.Dict()


class ArchiveQuery(_Query):
    q = fields.String(load_default=None, validate=validate.Length(max=200))
    process_key = fields.String(load_default=None)
    started_by = fields.String(load_default=None)
    state = fields.String(load_default=None, validate=validate.OneOf(["completed", "terminated"]))
    ended_after = Moment(load_default=None)
    ended_before = Moment(load_default=None)
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class ArchivedOut(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    process_key = fields.String()
    version = fields.Integer()
    process_name = fields.String()
    title = fields.String()
    started_by = fields.String(allow_none=True)
    state = fields.String()
    started_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    archived_at = fields.DateTime()
    task_count = fields.Integer()
    event_count = fields.Integer()


class ArchivePage(Schema):
    items = fields.List(fields.Nested(ArchivedOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class ArchivedRecordOut(Schema):
    archive = fields.Nested(ArchivedOut)
    record = fields.Dict(metadata={"description": "the archived line: instance, data, tasks, audit, related"})


class ArchivePlanQuery(_Query):
    older_than_days = fields.Integer(load_default=None, validate=validate.Range(min=0, max=36500))


class ArchivePlanOut(Schema):
    before = fields.DateTime()
    total = fields.Integer()
    by_process = fields.Dict(keys=fields.String(), values=fields.Integer())


def normalise_lists(args: dict, names: tuple[str, ...]) -> dict:
    """Query lists arrive as repeated or comma-separated parameters: both become one list."""
    result = dict(args)
    for name in names:
        if name in result:
            result[name] = _split(result[name])
    return result
