"""E-mail: a real SMTP server (aiosmtpd) receives what the scheduler sends. A failing server
loses nothing: the in-app notification is there at once and the e-mail is retried later.
Supervisors' reports wait for the daily digest; each user gets one e-mail per pass."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.core import clock, commands
from engine.notify import mailer, notifications
from engine.notify.mailer import MailSettings
from engine.notify.notifications import Notification, OutboxMessage
from engine.core.principals import Actor

from .support import bureau, free_port, start, tick

SLA = {"dueWorkingDays": "1", "escalationAction": "none"}
ERIN = Actor("erin", frozenset({"experts"}))


def _outbox(db) -> list[OutboxMessage]:
    return commands.query(db, lambda s: list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))))


def _overdue_task(db, deploy_process, person) -> str:
    """erin's review, overdue at 2025-10-09 10:00 (created 2025-09-30 10:00, 1 working day)."""
    deploy_process("sla_review", SLA)
    person("erin", ("experts",))
    return start(db, "sla_review", "2025-09-30 10:00", {"expert": "erin"})[1]


def test_a_refused_connection_loses_nothing_and_is_retried(db, deploy_process, person, smtp):
    box, good = smtp
    _overdue_task(db, deploy_process, person)
    down = MailSettings(host="127.0.0.1", port=free_port(), timeout=2, language="en")
    # when the overdue notice is due while the mail server is down
    report = tick(db, "2025-10-09 10:00", down)
    # then the notice is in erin's app at once, and its e-mail waits in the outbox
    assert report.overdue and report.mail.sent == 0 and report.mail.retrying == 1
    assert "cannot connect" in report.mail.errors[0]
    assert commands.query(db, notifications.unread_count, ERIN) == 1
    [queued] = _outbox(db)
    assert queued.state == "queued" and queued.attempts == 1 and "cannot connect" in queued.last_error
    assert queued.next_attempt_at == bureau("2025-10-09 10:01")
    # when the server is back, the next pass after the retry delay delivers it, once
    assert tick(db, "2025-10-09 10:00:30", good).mail.sent == 0
    assert tick(db, "2025-10-09 10:01", good).mail.sent == 1
    assert tick(db, "2025-10-09 11:00", good).mail.sent == 0
    [message] = box.messages
    assert message["To"] == "erin@bureau.example" and message["Subject"] == "Task overdue: Expert review"
    [sent] = _outbox(db)
    assert sent.state == "sent" and sent.attempts == 2 and sent.sent_at == bureau("2025-10-09 10:01")


def test_a_temporary_smtp_error_is_retried_with_growing_delays(db, deploy_process, person, smtp):
    box, mail = smtp
    _overdue_task(db, deploy_process, person)
    box.reply = "451 4.3.0 Mail server temporarily rejected message"
    tick(db, "2025-10-09 10:00", mail)
    tick(db, "2025-10-09 10:01", mail)
    [queued] = _outbox(db)
    assert queued.attempts == 2 and queued.last_error.startswith("451")
    assert queued.next_attempt_at == bureau("2025-10-09 10:06")  # 1, then 5 minutes
    assert box.messages == []
    box.reply = None
    assert tick(db, "2025-10-09 10:06", mail).mail.sent == 1
    assert len(box.messages) == 1 and _outbox(db)[0].state == "sent"


def test_a_permanent_refusal_is_recorded_and_not_retried(db, deploy_process, person, smtp):
    box, mail = smtp
    _overdue_task(db, deploy_process, person)
    box.reply = "550 5.1.1 No such mailbox"
    report = tick(db, "2025-10-09 10:00", mail)
    assert report.mail.failed == 1
    [failed] = _outbox(db)
    assert failed.state == "failed" and failed.next_attempt_at is None and "550" in failed.last_error
    box.reply = None
    assert tick(db, "2025-10-10 10:00", mail).mail.sent == 0
    assert commands.query(db, notifications.unread_count, ERIN) == 1  # still in the app


def test_an_email_not_delivered_within_three_days_is_given_up(db, deploy_process, person):
    _overdue_task(db, deploy_process, person)
    down = MailSettings(host="127.0.0.1", port=free_port(), timeout=2)
    tick(db, "2025-10-09 10:00", down)
    with clock.frozen_at(bureau("2025-10-12 10:01")):
        mailer.deliver_due(db, down)
    [given_up] = _outbox(db)
    assert given_up.state == "failed" and given_up.last_error.startswith("given up")


def test_supervisor_reports_wait_for_the_daily_digest_after_the_holiday(db, deploy_process, person, smtp):
    box, mail = smtp
    # given two reviews that become overdue on the last afternoon before National Day
    deploy_process("sla_review", {"dueWorkingDays": "1", "escalationAction": "none"})
    person("sam", ("supervisors",))
    for name in ("erin", "eddie"):
        person(name, ("experts",))
        start(db, "sla_review", "2025-09-29 15:00", {"expert": name})
    # when they become overdue
    tick(db, "2025-09-30 15:00", mail)
    # then the experts are e-mailed at once; the supervisor finds one report of both in the app
    assert {m["To"] for m in box.messages} == {"erin@bureau.example", "eddie@bureau.example"}
    _, total, unread = commands.query(db, notifications.list_for, Actor("sam"))
    [report] = [notifications.render(n, "en") for n in _]
    assert (total, unread, report["count"], report["title"]) == (1, 1, 2, "2 tasks overdue")
    assert [item["title"] for item in report["items"]] == ["Expert review", "Expert review"]
    # and gets it by e-mail in the digest, at 08:30 on the first working day after the holiday
    for moment in ("2025-10-01 08:30", "2025-10-08 08:30", "2025-10-09 08:29"):
        tick(db, moment, mail)
        assert box.to("sam@bureau.example") == [], moment
    tick(db, "2025-10-09 08:30", mail)
    [digest] = box.to("sam@bureau.example")
    assert digest["Subject"] == "2 tasks overdue"
    body = digest.get_content()
    assert body.startswith("Dear Sam,") and "2 tasks became overdue:" in body
    assert body.count("is overdue since 2025-09-30 15:00") == 2


def test_reports_of_one_day_gather_in_one_digest_notification(db, deploy_process, person, smtp):
    box, mail = smtp
    # given three reviews becoming overdue at different times of one day
    deploy_process("sla_review", {"dueWorkingDays": "1", "escalationAction": "none"})
    person("sam", ("supervisors",))
    person("erin", ("experts",))
    for hour in (9, 11, 15):
        start(db, "sla_review", f"2025-10-13 {hour:02d}:00", {"expert": "erin"})
    # when the supervisor reads the first report before the others come in
    tick(db, "2025-10-14 09:00", mail)
    [first] = commands.query(db, notifications.list_for, Actor("sam"))[0]
    commands.execute(db, notifications.mark_read, Actor("sam"), first.id)
    tick(db, "2025-10-14 11:00", mail)
    tick(db, "2025-10-14 15:00", mail)
    # then it is still one notification, unread again, counting all three; one e-mail next morning
    rows, total, unread = commands.query(db, notifications.list_for, Actor("sam"))
    assert (total, unread, rows[0].params["count"], rows[0].id) == (1, 1, 3, first.id)
    tick(db, "2025-10-15 08:30", mail)
    [digest] = box.to("sam@bureau.example")
    assert digest["Subject"] == "3 tasks overdue"


def test_a_digest_lists_twenty_and_counts_the_rest():
    from engine.notify.texts import render
    items = [{"title": f"Review {n}", "instance_id": n, "due_at": "2025-10-09T02:00:00+00:00",
              "holder": "erin"} for n in range(20)]
    subject, body = render("task_overdue_report", {"count": 57, "items": items}, "en")
    assert subject == "57 tasks overdue"
    assert body.count("\n- ") == 20 and body.endswith("... and 37 more: see the supervisor's lists.")
    subject, body = render("task_overdue_report", {"count": 57, "items": items}, "zh_CN")
    assert subject == "57 项任务已逾期" and body.endswith("……另有 37 项，请在督办页面查看。")


def test_the_digest_moment_skips_weekends_and_holidays():
    assert notifications.next_digest(bureau("2025-09-30 15:00")) == bureau("2025-10-09 08:30")
    assert notifications.next_digest(bureau("2025-10-10 07:00")) == bureau("2025-10-10 08:30")
    assert notifications.next_digest(bureau("2025-10-10 08:30")) == bureau("2025-10-11 08:30")  # make-up Saturday
    assert notifications.next_digest(bureau("2025-10-11 09:00")) == bureau("2025-10-13 08:30")


def test_people_without_an_address_get_the_in_app_notification_only(db, deploy_process, person, smtp):
    box, mail = smtp
    deploy_process("sla_review", SLA)
    person("erin", ("experts",), email=False)
    start(db, "sla_review", "2025-09-30 10:00", {"expert": "erin"})
    report = tick(db, "2025-10-09 10:00", mail)
    assert report.notifications_emailed == 1 and box.messages == [] and _outbox(db) == []
    assert commands.query(db, notifications.unread_count, ERIN) == 1
    # and nothing stays due for e-mail
    assert commands.query(db, lambda s: s.scalar(select(Notification.email_after))) is None


def test_without_smtp_the_outbox_keeps_the_emails_and_the_report_says_so(db, deploy_process, person):
    _overdue_task(db, deploy_process, person)
    report = tick(db, "2025-10-09 10:00")
    assert report.mail is None and report.mail_waiting == 1
    assert "SMTP not configured (SMTP_HOST), 1 e-mail(s) waiting" in report.lines()[1]


def test_emails_speak_chinese_by_default(db, deploy_process, person, smtp):
    box, mail = smtp
    _overdue_task(db, deploy_process, person)
    tick(db, "2025-10-09 10:00", MailSettings(host=mail.host, port=mail.port))
    [message] = box.messages
    assert message["Subject"] == "任务已逾期：专家评审"
    assert "任务「专家评审」已于 2025-10-09 10:00 到期" in message.get_content()
    assert message["From"] == "workflow@localhost"


def test_a_lease_taken_over_after_expiry_is_not_overwritten_by_the_first_owner(db, deploy_process, person):
    _overdue_task(db, deploy_process, person)
    tick(db, "2025-10-09 10:00")  # composes the e-mail; no SMTP configured
    with clock.frozen_at(bureau("2025-10-09 10:00")):
        [first] = commands.execute(db, mailer._lease, "scheduler-a", 10)
    # scheduler-a stalls; after the lease expires scheduler-b takes the message over
    with clock.frozen_at(bureau("2025-10-09 10:00") + mailer.leases.MAIL_LEASE + timedelta(seconds=1)):
        [second] = commands.execute(db, mailer._lease, "scheduler-b", 10)
        commands.execute(db, mailer._record, "scheduler-b", [(second.id, None, False)])
        commands.execute(db, mailer._record, "scheduler-a", [(first.id, "451 too late", False)])
    [row] = _outbox(db)
    assert first.id == second.id and row.state == "sent" and row.attempts == 1 and row.last_error is None
