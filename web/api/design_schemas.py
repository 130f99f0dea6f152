"""marshmallow schemas of the designer's API (/api/v1/designer/...): drafts and their files,
validation findings, version comparisons, migration previews and reports, test runs."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from web.api.schemas import Id, StrictSchema


class DraftCreateRequest(StrictSchema):
    name = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    from_key = fields.String(load_default=None, validate=validate.Length(min=1, max=200),
                             metadata={"description": "start from this deployed process (its files and pinned forms)"})
    from_version = Id(load_default=None)
    files = fields.Dict(keys=fields.String(), values=fields.String(), load_default=None,
                        metadata={"description": "filename -> text, for a draft made from scratch"})


class FileSaveRequest(StrictSchema):
    content = fields.String(required=True)
    revision = Id(load_default=None, metadata={"description": "the draft revision this edit starts from; 409 if it moved"})


class FileOut(Schema):
    filename = fields.String()
    kind = fields.String()
    bytes = fields.Integer()


class DraftOut(Schema):
    id = fields.Integer()
    name = fields.String()
    revision = fields.Integer()
    based_on_key = fields.String(allow_none=True)
    based_on_version = fields.Integer(allow_none=True)
    created_by = fields.String()
    created_at = fields.DateTime()
    updated_by = fields.String()
    updated_at = fields.DateTime()
    deployed_at = fields.DateTime(allow_none=True)
    deployed = fields.List(fields.Dict(), allow_none=True)
    files = fields.List(fields.Nested(FileOut))


class ProblemOut(Schema):
    file = fields.String()
    line = fields.Integer(allow_none=True)
    element_id = fields.String(allow_none=True)
    message = fields.String()


class LintOut(Schema):
    file = fields.String()
    rule = fields.String(metadata={"description": "bpmnlint rule; scitech/... are the bureau's own"})
    element_id = fields.String(allow_none=True)
    message = fields.String()
    category = fields.String()


class ValidateQuery(Schema):
    lint = fields.Boolean(load_default=False, metadata={"description": "also run bpmnlint (advice, never blocking)"})


class AlsoDeployedOut(Schema):
    key = fields.String()
    because = fields.String()


class ValidationOut(Schema):
    valid = fields.Boolean()
    problems = fields.List(fields.Nested(ProblemOut))
    processes = fields.List(fields.String())
    lint = fields.List(fields.Nested(LintOut))
    lint_unavailable = fields.String(allow_none=True)
    # deployed processes that embed what the files change and would get new versions too
    also = fields.List(fields.Nested(AlsoDeployedOut))


class VersionOut(Schema):
    version = fields.Integer()
    name = fields.String()
    deployed_at = fields.DateTime()
    deployed_by = fields.String(allow_none=True)
    live = fields.Integer(metadata={"description": "instances running, suspended or failed on this version"})
    total = fields.Integer()


class ProcessVersionsOut(Schema):
    key = fields.String()
    name = fields.String()
    versions = fields.List(fields.Nested(VersionOut))


class CompareQuery(Schema):
    from_version = Id(data_key="from", required=True)
    to_version = Id(data_key="to", required=True)


class ElementChangeOut(Schema):
    id = fields.String()
    type = fields.String()
    name = fields.String(allow_none=True)
    changes = fields.List(fields.Dict())


class ComparisonOut(Schema):
    key = fields.String()
    from_version = fields.Integer()
    to_version = fields.Integer()
    added = fields.List(fields.Nested(ElementChangeOut))
    removed = fields.List(fields.Nested(ElementChangeOut))
    changed = fields.List(fields.Nested(ElementChangeOut))
    forms = fields.List(fields.Dict())


class MigrationPreviewRequest(StrictSchema):
    to_version = Id(required=True)
    from_version = Id(load_default=None,
                      metadata={"description": "all live instances on this version, when no ids are given"})
    instance_ids = fields.List(Id(), load_default=None,
                               validate=validate.Length(max=5000))


class MigrationRequest(MigrationPreviewRequest):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class PlanOut(Schema):
    instance_id = fields.Integer()
    from_version = fields.Integer()
    possible = fields.Boolean()
    reason = fields.String()
    waiting_at = fields.List(fields.String())
    changed = fields.List(fields.String())


class MigrationReportOut(Schema):
    to_version = fields.Integer()
    migrated = fields.List(fields.Integer())
    failures = fields.List(fields.Dict())


class TrialStartRequest(StrictSchema):
    process_key = fields.String(load_default=None, validate=validate.Length(min=1, max=200))
    data = fields.Dict(load_default=dict)


class TrialCompleteRequest(StrictSchema):
    data = fields.Dict(load_default=dict)
    as_role = fields.String(load_default=None, validate=validate.Length(max=200),
                            metadata={"description": "the role the designer acts as (for the log)"})


class TrialTaskOut(Schema):
    id = fields.String()
    element = fields.String()
    title = fields.String()
    lane = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    candidate_users = fields.List(fields.String())
    candidate_groups = fields.List(fields.String())
    form_key = fields.String(allow_none=True)
    form = fields.Dict(allow_none=True)


class TrialOut(Schema):
    id = fields.Integer()
    draft_id = fields.Integer()
    process_key = fields.String()
    state = fields.String()
    error = fields.String(allow_none=True)
    log = fields.List(fields.Dict())
    tasks = fields.List(fields.Nested(TrialTaskOut))
    data = fields.Dict()
    done = fields.List(fields.String())
