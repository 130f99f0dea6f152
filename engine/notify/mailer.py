"""Delivering the outbox (engine/notify/notifications.py) over SMTP, with retries. Settings come from
the web app's configuration (SMTP_HOST, SMTP_PORT, MAIL_FROM, and optionally SMTP_USERNAME,
SMTP_PASSWORD, SMTP_STARTTLS, MAIL_LANGUAGE, APP_URL), which reads them from the environment.

A pass leases a batch of due e-mails (engine/core/leases.py), sends them over one SMTP connection
outside any transaction, and records each outcome only if it still holds the lease. A temporary
failure (connection refused, timeout, a 4xx reply such as 451) keeps the e-mail queued with a
growing delay; a permanent one (a 5xx reply, an address the server refuses) marks it failed
after saying why. The in-app notification exists either way, so nothing is lost. An e-mail
still undelivered after MAX_AGE is given up: a week-old reminder helps nobody."""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Mapping

from sqlalchemy import select

from engine.core import clock, commands, leases
from engine.core.db import Database
from engine.notify.notifications import FAILED, QUEUED, SENT, OutboxMessage

# delay before attempt n+1 after n failures; the last one repeats until MAX_AGE
RETRY_DELAYS = [timedelta(minutes=m) for m in (1, 5, 15, 30, 60, 120, 240)]
MAX_AGE = timedelta(days=3)
BATCH = 100


@dataclass(frozen=True)
class MailSettings:
    host: str | None = None
    port: int = 25
    sender: str = "workflow@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0
    language: str = "zh_CN"
    app_url: str = "http://127.0.0.1:5000"

    @property
    def configured(self) -> bool:
        return bool(self.host)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "MailSettings":
        """From a mapping such as Flask's app.config or os.environ; absent keys keep defaults."""
        def get(key: str, default: Any = None) -> Any:
            value = config.get(key)
            return default if value in (None, "") else value
        try:
            port = int(get("SMTP_PORT", 25))
        except (TypeError, ValueError):
            raise ValueError(f"SMTP_PORT must be a port number, not {config.get('SMTP_PORT')!r}") from None
        return cls(host=get("SMTP_HOST"), port=port, sender=get("MAIL_FROM", cls.sender),
                   username=get("SMTP_USERNAME"), password=get("SMTP_PASSWORD"),
                   starttls=str(get("SMTP_STARTTLS", "")).lower() in ("1", "true", "yes", "on"),
                   language=get("MAIL_LANGUAGE", cls.language), app_url=get("APP_URL", cls.app_url))

    def as_dict(self) -> dict[str, Any]:
        """Plain values, to be stored with a persistent APScheduler job."""
        return {"SMTP_HOST": self.host, "SMTP_PORT": self.port, "MAIL_FROM": self.sender,
                "SMTP_USERNAME": self.username, "SMTP_PASSWORD": self.password,
                "SMTP_STARTTLS": self.starttls, "MAIL_LANGUAGE": self.language,
                "APP_URL": self.app_url}


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Leased:
    id: int
    recipient: str
    subject: str
    body: str
    created_at: datetime
    notification_ids: tuple[int, ...]


def deliver_due(db: Database, settings: MailSettings, limit: int = BATCH) -> DeliveryReport:
    """Send every e-mail that is due, batch by batch, until none is left or a batch fails
    entirely (the server is down: no point hammering it in the same pass)."""
    report = DeliveryReport()
    while True:
        batch = commands.execute(db, _lease, leases.owner_id(), limit)
        if not batch:
            return report
        outcomes = _send(settings, batch)
        commands.execute(db, _record, leases.owner_id(), outcomes)
        for _, error, permanent in outcomes:
            if error is None:
                report.sent += 1
            elif permanent:
                report.failed += 1
            else:
                report.retrying += 1
            if error is not None and error not in report.errors:
                report.errors.append(error)
        if all(error is not None for _, error, _ in outcomes):
            return report


def _lease(session: Any, owner: str, limit: int) -> list[_Leased]:
    now = clock.now()
    rows = session.scalars(leases.claim_rows(session, select(OutboxMessage).where(
        OutboxMessage.next_attempt_at <= now).order_by(OutboxMessage.next_attempt_at).limit(limit))).all()
    leased = []
    for row in rows:
        if now - row.created_at > MAX_AGE:
            row.state, row.next_attempt_at = FAILED, None
            row.last_error = f"given up: not delivered within {MAX_AGE.days} days ({row.last_error or 'no attempt'})"
            continue
        # the lease: nobody else picks it up until it expires, even if we die mid-send
        row.lease_owner, row.next_attempt_at = owner, now + leases.MAIL_LEASE
        leased.append(_Leased(row.id, row.recipient, row.subject, row.body, row.created_at,
                              tuple(row.notification_ids or ())))
    return leased


def _record(session: Any, owner: str, outcomes: list[tuple[int, str | None, bool]]) -> None:
    now = clock.now()
    for message_id, error, permanent in outcomes:
        row = session.get(OutboxMessage, message_id, with_for_update=True)
        if row is None or row.lease_owner != owner or row.state != QUEUED:
            continue  # the lease expired and someone else took the message over
        row.attempts += 1
        row.lease_owner = None
        if error is None:
            row.state, row.sent_at, row.next_attempt_at, row.last_error = SENT, now, None, None
        elif permanent:
            row.state, row.next_attempt_at, row.last_error = FAILED, None, error
        else:
            delay = RETRY_DELAYS[min(row.attempts, len(RETRY_DELAYS)) - 1]
            row.next_attempt_at, row.last_error = now + delay, error


def _email(settings: MailSettings, item: _Leased) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = item.recipient
    message["Subject"] = item.subject
    message["Date"] = format_datetime(item.created_at)
    # stable per outbox row: a duplicate after a crash mid-send is recognisable as one
    domain = settings.sender.rsplit("@", 1)[-1] or "localhost"
    message["Message-ID"] = f"<outbox-{item.id}@{domain}>"
    message["X-Workflow-Notifications"] = ",".join(str(i) for i in item.notification_ids)
    message.set_content(item.body)
    return message


def _send(settings: MailSettings, batch: list[_Leased]) -> list[tuple[int, str | None, bool]]:
    """(message id, error or None, permanent?) for each message of the batch."""
    try:
        connection = smtplib.SMTP(settings.host or "", settings.port, timeout=settings.timeout)
    except (OSError, smtplib.SMTPException) as error:
        reason = f"cannot connect to {settings.host}:{settings.port}: {error}"
        return [(item.id, reason, False) for item in batch]
    outcomes = []
    try:
        if settings.starttls:
            connection.starttls(context=ssl.create_default_context())
        if settings.username:
            connection.login(settings.username, settings.password or "")
        for item in batch:
            outcomes.append((item.id, *_send_one(connection, settings, item)))
    except (OSError, smtplib.SMTPException) as error:
        # the connection broke: everything not yet sent is retried later
        done = {o[0] for o in outcomes}
        outcomes += [(item.id, f"SMTP session failed: {error}", False)
                     for item in batch if item.id not in done]
    finally:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()
    return outcomes


def _send_one(connection: smtplib.SMTP, settings: MailSettings,
              item: _Leased) -> tuple[str | None, bool]:
    try:
        refused = connection.send_message(_email(settings, item))
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        return f"recipient refused: {error.recipients}", all(c >= 500 for c in codes)
    except smtplib.SMTPResponseException as error:
        text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) \
            else str(error.smtp_error)
        return f"{error.smtp_code} {text}", error.smtp_code >= 500
    if refused:
        return f"recipient refused: {refused}", True
    return None, False
