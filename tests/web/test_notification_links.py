"""Where a notification leads, through the Flask test client: opening it (the list's link and
the e-mail's `/notifications/ID`) marks it read and goes to its task when the reader may open
it, to nothing they may not; someone else's notification does not exist for them; marking
read is a POST with the CSRF token."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.core import clock, commands
from engine.core.models import User
from engine.notify import notifications
from engine.runtime import instances

from .conftest import PASSWORD, actor, csrf_from, open_task, start_application


def _signed_in(client: Any, name: str) -> tuple[Any, str]:
    token = csrf_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"csrf_token": token, "username": name, "password": PASSWORD})
    return client, csrf_from(client.get("/notifications").get_data(as_text=True))


def _notify(db: Any, username: str, task_id: str, instance_id: int) -> int:
    def add(session: Any) -> int:
        row = notifications.Notification(username=username, kind="task_overdue", task_id=task_id,
                                         process_instance_id=instance_id, created_at=clock.now(),
                                         params={"title": "形式审查 · Formal review"})
        session.add(row)
        session.flush()
        return row.id
    return commands.execute(db, add)


def _give_address(session: Any, name: str) -> None:
    session.scalar(select(User).where(User.username == name)).email = f"{name}@example.org"


def _due_now(session: Any, notification_id: int) -> None:
    session.get(notifications.Notification, notification_id).email_after = clock.now()


def _unread(db: Any, name: str) -> int:
    return commands.query(db, notifications.unread_count, actor(name))


def test_an_emails_link_marks_the_notification_read_and_leads_to_the_task(client, people, db):
    # given a notification to a reviewer about their group's task, and its e-mail
    instance = start_application(db)
    task = open_task(db, instance.id)
    mine = _notify(db, "wang", task.id, instance.id)
    commands.execute(db, _give_address, "wang")
    commands.execute(db, _due_now, mine)
    commands.execute(db, notifications.queue_emails, "zh_CN", "https://workflow.example/")
    body = commands.query(db, lambda s: s.scalar(select(notifications.OutboxMessage.body)))
    assert f"查看：https://workflow.example/notifications/{mine}" in body
    # when they follow the link, signed in
    client, _ = _signed_in(client, "wang")
    response = client.get(f"/notifications/{mine}")
    # then they land on the task and the notification is read
    assert response.status_code == 302 and response.headers["Location"] == f"/tasks/{task.id}"
    assert _unread(db, "wang") == 0


def test_a_notification_leads_nowhere_the_reader_may_not_open_and_others_do_not_exist(client, people, db):
    # given a reviewer's notification about an expert's task they have no part in
    other = commands.execute(db, instances.start, actor("zhang"), "expert_scoring", {"expert": "zhou"})
    foreign = _notify(db, "wang", open_task(db, other.id).id, other.id)
    theirs = _notify(db, "chen", open_task(db, other.id).id, other.id)
    client, token = _signed_in(client, "wang")
    # when they open it, it is marked read but leads back to the list with a message
    response = client.get(f"/notifications/{foreign}", follow_redirects=True)
    assert response.request.path == "/notifications" and "已标为已读" in response.get_data(as_text=True)
    assert _unread(db, "wang") == 0
    # and a colleague's notification is not found, whether opened or marked read
    assert client.get(f"/notifications/{theirs}").status_code == 404
    assert client.post(f"/notifications/{theirs}/read", data={"csrf_token": token}).status_code == 404
    assert _unread(db, "chen") == 1
    # and marking read without the CSRF token is refused
    again = _notify(db, "wang", open_task(db, other.id).id, other.id)
    assert client.post(f"/notifications/{again}/read").status_code == 400
    assert client.post("/notifications/read-all").status_code == 400
    assert _unread(db, "wang") == 1
    assert client.post(f"/notifications/{again}/read", data={"csrf_token": token}).status_code == 302
    assert _unread(db, "wang") == 0


def test_a_gathered_notification_links_each_item_the_reader_may_open(client, people, db):
    # given a report gathering two overdue tasks: one of the reader's group, one an expert's
    mine = open_task(db, start_application(db).id)
    scoring = commands.execute(db, instances.start, actor("zhang"), "expert_scoring", {"expert": "zhou"})
    foreign = open_task(db, scoring.id)
    items = [{"title": "形式审查 · Formal review", "task_id": mine.id, "instance_id": mine.process_instance_id,
              "due_at": clock.now().isoformat()},
             {"title": "专家评分 · Expert scoring", "task_id": foreign.id, "instance_id": scoring.id,
              "due_at": clock.now().isoformat()}]

    def add(session: Any) -> None:
        session.add(notifications.Notification(username="wang", kind="task_overdue_report", created_at=clock.now(),
                                               params={"count": 2, "items": items}))
    commands.execute(db, add)
    # when the reader opens the list
    client, _ = _signed_in(client, "wang")
    html = client.get("/notifications").get_data(as_text=True)
    # then it says what it gathers, links their group's task and names the other without a link
    assert "2 项任务已逾期" in html
    assert f'href="/tasks/{mine.id}"' in html and f"/tasks/{foreign.id}" not in html
    assert "专家评分" in html
