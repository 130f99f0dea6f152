"""Fixtures for the scheduler's tests: a real SMTP server (aiosmtpd) on a free localhost port
that records what it receives and can be told to fail; processes with escalation properties;
people with e-mail addresses."""
from __future__ import annotations

from typing import Iterator

import pytest
from aiosmtpd.controller import Controller

from engine.core import commands, users
from engine.definitions import deployment
from engine.notify.mailer import MailSettings

from .support import PASSWORD, Mailbox, free_port, process_xml


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, MailSettings]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, MailSettings(host="127.0.0.1", port=port, sender="workflow@bureau.example",
                                timeout=5, language="en", app_url="http://workflow.example")
    finally:
        controller.stop()


@pytest.fixture
def deploy_process(db):  # type: ignore[no-untyped-def]
    def _deploy(key: str, task_properties: dict[str, str], process_properties: dict[str, str] | None = None,
                **kwargs: str) -> None:
        commands.execute(db, deployment.deploy,
                         [(f"{key}.bpmn", process_xml(key, task_properties, process_properties, **kwargs))], "test")
    return _deploy


@pytest.fixture
def person(db):  # type: ignore[no-untyped-def]
    """A user with an e-mail address (name@bureau.example) unless email=False."""
    def _make(name: str, groups: tuple[str, ...] = (), email: bool = True) -> str:
        commands.execute(db, users.create_user, name, PASSWORD, list(groups), None,
                         f"{name}@bureau.example" if email else None, name.title(),
                         password_policy=False)
        return name
    return _make
