"""Rules of the concepts the web UI added to the engine: substitutes, summaries, drafts,
attachments, comments and what an applicant may see of the history."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from engine.workspace import attachments, comments, application_drafts, history, inbox, substitutes
from engine.core import commands, summaries
from engine.runtime import instances, tasks
from engine.core.errors import Forbidden, InvalidData
from engine.workspace.inbox import InboxQuery
from engine.core.models import AuditEvent

from .conftest import actor, open_task, start_application

TODAY = date.today()


def name_substitute(db, absent: str, substitute: str, days: int = 5, by: str | None = None):  # type: ignore[no-untyped-def]
    return commands.execute(db, substitutes.name, actor(by or absent), absent, substitute,
                            TODAY.isoformat(), (TODAY + timedelta(days=days)).isoformat(), "annual leave")


def test_a_substitute_gets_the_absent_users_tasks_and_takes_one_over_audited(db, people):
    # given wang claimed a task and goes on leave with chen (a colleague in the same group) as substitute
    instance = start_application(db)
    task = open_task(db, instance.id)
    commands.execute(db, tasks.claim, actor("wang"), task.id)
    start_application(db, title="Group task")
    name_substitute(db, "wang", "chen")
    # then chen's inbox shows wang's assigned task marked for wang, and the group's open one as chen's own
    assigned = commands.query(db, inbox.search, actor("chen"), InboxQuery(scope="assigned")).rows
    group = commands.query(db, inbox.search, actor("chen"), InboxQuery(scope="group")).rows
    assert [(r.task.id, r.on_behalf_of) for r in assigned] == [(task.id, "wang")]
    assert [r.on_behalf_of for r in group] == [None]
    # when chen takes the assigned one over, it is chen's, and the audit says on whose behalf
    commands.execute(db, substitutes.take_over, actor("chen"), task.id)
    assert open_task(db, instance.id).assignee == "chen"
    event = commands.query(db, lambda s: s.scalars(select(AuditEvent).where(
        AuditEvent.action == "task_taken_over")).one())
    assert event.actor == "chen" and event.details["on_behalf_of"] == "wang" and event.details["before"] == "wang"
    # and chen can complete it
    commands.execute(db, tasks.complete, actor("chen"), task.id, {"decision": "accept"})


def test_without_an_active_substitution_nothing_reaches_anyone_else(db, people):
    instance = start_application(db)
    task = open_task(db, instance.id)
    commands.execute(db, tasks.claim, actor("wang"), task.id)
    row = name_substitute(db, "wang", "chen")
    commands.execute(db, substitutes.revoke, actor("wang"), row.id)
    assert commands.query(db, inbox.search, actor("chen"), InboxQuery(scope="assigned")).total == 0
    with pytest.raises(Forbidden):
        commands.execute(db, substitutes.take_over, actor("chen"), task.id)
    revoked = commands.query(db, lambda s: s.scalar(select(AuditEvent.id).where(AuditEvent.action == "substitute_revoked")))
    assert revoked is not None


def test_a_future_substitution_is_not_active_yet(db, people):
    commands.execute(db, substitutes.name, actor("wang"), "wang", "chen",
                     (TODAY + timedelta(days=3)).isoformat(), (TODAY + timedelta(days=9)).isoformat())
    assert commands.query(db, substitutes.covering, actor("chen")) == []


@pytest.mark.parametrize("substitute, start, end, field", [
    ("nobody", 0, 3, "substitute"),
    ("wang", 0, 3, "substitute"),
    ("liu", 0, 3, "substitute"),   # an expert shares no working group with a reviewer
    ("zhang", 0, 3, "substitute"),  # nor does an applicant
    ("chen", 3, 1, "ends_on"),
    ("chen", -10, -5, "ends_on"),
    ("chen", 0, 400, "ends_on"),
])
def test_bad_substitutions_are_refused_with_the_field_named(db, people, substitute, start, end, field):
    with pytest.raises(InvalidData) as error:
        commands.execute(db, substitutes.name, actor("wang"), "wang", substitute,
                         (TODAY + timedelta(days=start)).isoformat(), (TODAY + timedelta(days=end)).isoformat())
    assert field in error.value.fields


def test_overlapping_substitutions_and_naming_for_others_are_refused(db, people):
    name_substitute(db, "wang", "chen")
    with pytest.raises(InvalidData) as error:
        name_substitute(db, "wang", "ma")
    assert "overlaps" in error.value.message
    with pytest.raises(Forbidden):
        name_substitute(db, "chen", "wang", by="wang")
    # a supervisor may name one for someone else
    assert name_substitute(db, "chen", "wang", by="zhao").created_by == "zhao"


def test_the_summary_follows_the_title_through_a_correction(db, people):
    # given an application returned for correction
    instance = start_application(db, title="First title")
    commands.execute(db, tasks.complete, actor("wang"), open_task(db, instance.id).id,
                     {"decision": "return", "review_comment": "请修改题目"})
    assert commands.query(db, summaries.get, instance.id).title == "First title"
    # when the applicant corrects the title
    correction = open_task(db, instance.id)
    commands.execute(db, tasks.complete, actor("zhang"), correction.id,
                     {"title": "Better title", "budget": 100, "abstract": "x" * 30, "correction_note": "改了题目"})
    # then lists show the new title
    assert commands.query(db, summaries.get, instance.id).title == "Better title"
    assert commands.query(db, summaries.get, instance.id).started_by == "zhang"


def test_a_draft_keeps_half_filled_data_and_submitting_it_starts_the_process_and_removes_it(db, people):
    draft = commands.execute(db, application_drafts.save, actor("zhang"), "application_formal_review",
                             {"title": "Half done", "budget": "12"})
    assert commands.query(db, application_drafts.listed, actor("zhang"))[0].title == "Half done"
    assert commands.query(db, application_drafts.listed, actor("li")) == []
    with pytest.raises(Forbidden):
        commands.query(db, application_drafts.get, actor("li"), draft.id)
    # an incomplete submit is refused and keeps the draft
    with pytest.raises(InvalidData):
        commands.execute(db, application_drafts.submit, actor("zhang"), "application_formal_review", {"title": "Half done"}, draft.id)
    assert len(commands.query(db, application_drafts.listed, actor("zhang"))) == 1
    from .conftest import APPLICATION
    instance = commands.execute(db, application_drafts.submit, actor("zhang"), "application_formal_review", APPLICATION, draft.id)
    assert instance.state == instances.RUNNING
    assert commands.query(db, application_drafts.listed, actor("zhang")) == []


def test_a_draft_refuses_keys_the_start_form_does_not_have_and_non_starters(db, people):
    with pytest.raises(InvalidData) as error:
        commands.execute(db, application_drafts.save, actor("zhang"), "application_formal_review", {"is_admin": True})
    assert "is_admin" in error.value.fields
    with pytest.raises(Forbidden):
        commands.execute(db, application_drafts.save, actor("wang"), "application_formal_review", {"title": "x"})


PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.mark.parametrize("name, content, accepted", [
    ("伦理审查批件.pdf", PDF, True),
    ("budget.txt", "预算说明".encode("utf-8"), True),
    ("photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20, True),
    ("virus.exe", b"MZ\x90\x00", False),
    ("renamed.pdf", b"MZ\x90\x00 not a pdf", False),
    ("notes.txt", b"\x00\x01\x02binary", False),
    ("empty.pdf", b"", False),
    ("../../etc/passwd.txt", b"root:x:0:0", True),
])
def test_uploads_are_checked_for_type_content_and_size(name, content, accepted):
    if accepted:
        clean, _ = attachments.check_file(name, content)
        assert "/" not in clean and clean
    else:
        with pytest.raises(InvalidData):
            attachments.check_file(name, content)


def test_a_file_larger_than_the_limit_is_refused():
    with pytest.raises(InvalidData) as error:
        attachments.check_file("big.pdf", PDF + b"0" * attachments.MAX_BYTES)
    assert "MB" in error.value.fields["file"][0]


def test_attachments_are_stored_on_disk_and_readable_only_by_those_who_see_the_instance(db, people, tmp_path):
    instance = start_application(db)
    stored = attachments.write(tmp_path, instance.id, PDF)
    row = commands.execute(db, attachments.add, actor("zhang"), instance.id, None, "批件.pdf", PDF, stored)
    # the applicant and the institution's reviewers may read it; an outsider may not
    assert commands.query(db, attachments.readable, actor("wang"), row.id).filename == "批件.pdf"
    assert attachments.open_file(tmp_path, row).read_bytes() == PDF
    with pytest.raises(Forbidden):
        commands.query(db, attachments.readable, actor("li"), row.id)
    # an outsider cannot add files either
    other = attachments.write(tmp_path, instance.id, PDF)
    with pytest.raises(Forbidden):
        commands.execute(db, attachments.add, actor("li"), instance.id, None, "x.pdf", PDF, other)


def test_comments_are_seen_by_those_who_see_the_task_not_by_the_applicant(db, people):
    instance = start_application(db)
    task = open_task(db, instance.id)
    commands.execute(db, comments.add, actor("wang"), task.id, "已电话联系申报人")
    assert [c.body for c, _ in commands.query(db, comments.for_instance, actor("chen"), instance.id)] == ["已电话联系申报人"]
    assert commands.query(db, comments.for_instance, actor("zhang"), instance.id) == []
    with pytest.raises(InvalidData):
        commands.execute(db, comments.add, actor("wang"), task.id, "   ")
    with pytest.raises(Forbidden):
        commands.execute(db, comments.add, actor("liu"), task.id, "not mine")


def test_the_applicant_sees_decisions_without_names_or_internal_fields(db, people):
    # given a return for correction with checks (internal) and a comment (for the applicant)
    instance = start_application(db)
    commands.execute(db, tasks.complete, actor("wang"), open_task(db, instance.id).id,
                     {"decision": "return", "checks_passed": ["complete"], "review_comment": "请补充伦理审查批件"})

    def entries(name):  # type: ignore[no-untyped-def]
        return commands.query(db, lambda s: history.decisions(s, actor(name), instances.get(s, instance.id)))

    # then the applicant sees the decision's label and the comment, not who decided nor the checks
    [decision] = entries("zhang")
    shown = {f.key: f.value for f in decision.fields}
    assert decision.actor is None
    assert shown == {"decision": "退回修改 · Return for correction", "review_comment": "请补充伦理审查批件"}
    # while a supervisor sees everything, with the reviewer's name
    [staff_view] = entries("zhao")
    assert staff_view.actor == "wang" and {f.key for f in staff_view.fields} >= {"checks_passed", "decision"}
    # and the applicant's timeline has no internal events (claims, task creation)
    timeline = commands.query(db, lambda s: history.timeline(s, actor("zhang"), instances.get(s, instance.id)))
    assert {e.action for e in timeline} <= history.APPLICANT_ACTIONS
