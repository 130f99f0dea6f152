"""Helpers for the scheduler's tests: a recording SMTP handler, bureau wall-clock moments, a pass
at such a moment, and one-task processes with escalation properties written as real BPMN."""
from __future__ import annotations

import email
import email.policy
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.core import clock, commands
from engine.runtime import instances, tasks
from engine.scheduling import scheduler
from engine.core.calendar import BUREAU_TZ
from engine.notify.mailer import MailSettings
from engine.core.principals import Actor

PASSWORD = "pw-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Mailbox:
    """What the SMTP server received; `reply` makes it answer DATA with an error instead."""

    messages: list[email.message.EmailMessage] = field(default_factory=list)
    reply: str | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.reply:
            return self.reply
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def notification_ids(self) -> list[int]:
        """Every notification id mentioned by every e-mail received (duplicates kept)."""
        return [int(i) for m in self.messages
                for i in (m["X-Workflow-Notifications"] or "").split(",") if i]


def bureau(text: str) -> datetime:
    """A bureau wall-clock moment: '2025-10-09 10:00' in Asia/Shanghai."""
    return datetime.fromisoformat(text).replace(tzinfo=BUREAU_TZ)


def tick(db: Any, when: str, mail: MailSettings | None = None, batch_size: int = 500) -> scheduler.TickReport:
    with clock.frozen_at(bureau(when)):
        return scheduler.tick(db, mail, batch_size)


def process_xml(key: str, task_properties: dict[str, str], process_properties: dict[str, str] | None = None,
                assignment: str = 'camunda:assignee="${expert}" camunda:candidateGroups="experts"') -> bytes:
    """A one-task process whose task and process carry the given extension properties."""
    def props(values: dict[str, str]) -> str:
        if not values:
            return ""
        inner = "".join(f'<camunda:property name="{k}" value="{v}" />' for k, v in values.items())
        return f"<bpmn:extensionElements><camunda:properties>{inner}</camunda:properties></bpmn:extensionElements>"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs_{key}" targetNamespace="http://scitech.example/test">
  <bpmn:process id="{key}" name="专家评审 · Expert review stage" isExecutable="true">
    {props(process_properties or {})}
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="专家评审 · Expert review" {assignment}>
      {props(task_properties)}
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>""".encode()


def start(db: Any, key: str, when: str, data: dict[str, Any] | None = None) -> tuple[int, str]:
    """Start `key` at a bureau time; (instance id, id of its open task)."""
    with clock.frozen_at(bureau(when)):
        instance = commands.execute(db, instances.start, Actor("applicant"), key, data or {})
    [task] = commands.query(db, tasks.open_tasks, instance.id)
    return instance.id, task.id


def gathered(db: Any, username: str, kind: str) -> list[str]:
    """The task ids (or instance ids) listed in `username`'s gathered notifications of `kind`,
    over all such rows, in order; each row also counts them (asserted here to match)."""
    from sqlalchemy import select

    from engine.notify.notifications import Notification

    def read(session: Any) -> list[str]:
        rows = session.scalars(select(Notification).where(
            Notification.username == username, Notification.kind == kind).order_by(Notification.id))
        listed = []
        for row in rows:
            items = row.params["items"]
            assert row.params["count"] == len(items), "more than DIGEST_ITEMS: not listed one by one"
            listed += [i["task_id"] or i["instance_id"] for i in items]
        return listed
    return commands.query(db, read)
