"""The administration pages (web/pages/admin.py): only admins get in; an admin creates a user,
sets groups, resets a password, deactivates someone who then cannot sign in or use a token,
revokes a token (401 at once), issues a long-lived token to an integration, and imports users
from Excel, where a bad row is shown in the preview and the import is refused until fixed."""
from __future__ import annotations

import base64
import io
import re
from datetime import date, timedelta

from openpyxl import Workbook

from engine.core import commands, users
from engine.runtime import tasks

from .conftest import PASSWORD, actor, csrf_from, open_task, start_application

GOOD = "Quiet-river-2026"


def signed_in(client, name: str):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"csrf_token": token, "username": name, "password": PASSWORD}).status_code == 302
    return client


def post(client, path: str, data: dict, page: str = "/admin"):  # type: ignore[no-untyped-def]
    data = {"csrf_token": csrf_from(client.get(page).get_data(as_text=True))} | data
    return client.post(path, data=data)


def bearer(client, token: str) -> int:  # type: ignore[no-untyped-def]
    return client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code


def workbook(*rows: list[object]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["用户名 username", "姓名 display_name", "邮箱 email", "用户组 groups", "初始密码 password"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_only_admins_reach_the_administration_pages(client, make_user):
    make_user("root", ["admins"])
    make_user("zhao", ["supervisors"])
    assert signed_in(client, "zhao").get("/admin").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/inbox").get_data(as_text=True))})
    page = signed_in(client, "root").get("/admin", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "系统管理员" in page and 'data-user="root"' in page


def test_an_admin_creates_a_user_under_the_policy_and_sets_groups(client, db, make_user):
    make_user("root", ["admins"])
    signed_in(client, "root")
    refused = post(client, "/admin/new", {"username": "wang.fang", "password": "short", "groups": ["experts"]}, "/admin/new")
    assert refused.status_code == 422 and "10" in refused.get_data(as_text=True)
    created = post(client, "/admin/new", {"username": "wang.fang", "display_name": "王芳", "password": GOOD,
                                          "groups": ["experts"]}, "/admin/new")
    assert created.status_code == 302 and created.headers["Location"].endswith("/admin/users/wang.fang")
    saved = post(client, "/admin/users/wang.fang/groups", {"groups": ["experts", "applicants"]})
    assert saved.status_code == 302
    assert sorted(commands.query(db, users.find, "wang.fang").group_names) == ["applicants", "experts"]
    listed = client.get("/admin?group=experts").get_data(as_text=True)
    assert 'data-user="wang.fang"' in listed and 'data-user="root"' not in listed


def test_a_deactivated_user_is_refused_at_sign_in_and_with_a_token_and_their_tasks_are_listed(client, make_user):
    make_user("root", ["admins"])
    make_user("li.na", ["applicants"])
    token = client.post("/api/v1/auth/token", json={"username": "li.na", "password": PASSWORD}).get_json()["token"]
    assert bearer(client, token) == 200
    signed_in(client, "root")
    assert post(client, "/admin/users/li.na/active", {"active": "false"}).status_code == 302
    assert bearer(client, token) == 401
    assert client.post("/api/v1/auth/token", json={"username": "li.na", "password": PASSWORD}).status_code == 401
    elsewhere = client.application.test_client()
    token = csrf_from(elsewhere.get("/login").get_data(as_text=True))
    refused = elsewhere.post("/login", data={"csrf_token": token, "username": "li.na", "password": PASSWORD})
    assert refused.status_code != 302 and elsewhere.get("/inbox").status_code == 302  # still signed out
    page = client.get("/admin/users/li.na").get_data(as_text=True)
    assert 'id="reactivate-button"' in page and 'id="no-open-tasks"' in page
    assert post(client, "/admin/users/root/active", {"active": "false"}).status_code == 422


def test_a_password_reset_needs_a_reason(client, make_user):
    make_user("root", ["admins"])
    make_user("li.na", ["applicants"])
    signed_in(client, "root")
    assert post(client, "/admin/users/li.na/password", {"password": GOOD, "reason": ""}).status_code == 422
    assert post(client, "/admin/users/li.na/password", {"password": GOOD, "reason": "forgot"}).status_code == 302
    assert client.post("/api/v1/auth/token", json={"username": "li.na", "password": GOOD}).status_code == 201


def test_a_revoked_token_gets_401_at_once_and_a_long_lived_one_is_shown_once(client, make_user):
    make_user("root", ["admins"])
    make_user("robot", ["integrations"])
    signed_in(client, "root")
    until = (date.today() + timedelta(days=90)).isoformat()
    issued = post(client, "/admin/users/robot/tokens", {"name": "OA", "expires_on": until})
    assert issued.status_code == 201
    token = re.search(r'id="new-token-value">([^<]+)<', issued.get_data(as_text=True)).group(1)
    assert bearer(client, token) == 200
    page = client.get("/admin/users/robot").get_data(as_text=True)
    assert token not in page
    handle = re.search(r'data-token="([0-9a-f]+)"', page).group(1)
    assert post(client, f"/admin/users/robot/tokens/{handle}/revoke", {}).status_code == 302
    assert bearer(client, token) == 401
    assert 'id="no-tokens"' in client.get("/admin/users/robot").get_data(as_text=True)


def test_an_excel_import_with_a_bad_row_is_previewed_and_refused_until_fixed(client, db, make_user):
    make_user("root", ["admins"])
    signed_in(client, "root")
    template = client.get("/admin/import/template.xlsx")
    assert template.status_code == 200 and template.data[:2] == b"PK"
    bad = workbook(["wang.fang", "王芳", "", "评审专家", GOOD], ["zhou.bo", "周波", "", "wizards", GOOD])
    token = csrf_from(client.get("/admin/import").get_data(as_text=True))
    preview = client.post("/admin/import/preview", data={"csrf_token": token, "file": (io.BytesIO(bad), "u.xlsx")},
                          content_type="multipart/form-data", headers={"Accept-Language": "zh-CN"})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 422 and 'data-row="3" class="has-error"' in html and "wizards" in html
    assert 'id="confirm-import-button"' not in html
    # a forged confirm of the bad file is refused too, and nothing is written
    content = base64.b64encode(bad).decode()
    assert client.post("/admin/import/confirm", data={"csrf_token": token, "content": content}).status_code == 422
    assert commands.query(db, users.find, "wang.fang") is None
    # fixed, it previews clean and imports whole
    good = workbook(["wang.fang", "王芳", "", "评审专家", GOOD], ["zhou.bo", "周波", "", "experts", GOOD])
    preview = client.post("/admin/import/preview", data={"csrf_token": token, "file": (io.BytesIO(good), "u.xlsx")},
                          content_type="multipart/form-data")
    assert preview.status_code == 200 and 'id="confirm-import-button"' in preview.get_data(as_text=True)
    content = re.search(r'name="content" value="([^"]+)"', preview.get_data(as_text=True)).group(1)
    assert client.post("/admin/import/confirm", data={"csrf_token": token, "content": content}).status_code == 302
    assert commands.query(db, users.find, "zhou.bo").group_names == {"experts"}


def test_a_file_that_is_not_a_workbook_is_refused_with_a_message(client, make_user):
    make_user("root", ["admins"])
    signed_in(client, "root")
    token = csrf_from(client.get("/admin/import").get_data(as_text=True))
    refused = client.post("/admin/import/preview", data={"csrf_token": token, "file": (io.BytesIO(b"a,b"), "u.csv")},
                          content_type="multipart/form-data")
    assert refused.status_code == 422 and "Excel" in refused.get_data(as_text=True)


def test_a_deactivated_users_open_tasks_are_listed_for_a_supervisor_to_reassign(client, db, people, make_user):
    # given wang claimed a formal review
    instance = start_application(db)
    task = open_task(db, instance.id)
    commands.execute(db, tasks.claim, actor("wang"), task.id)
    make_user("root", ["admins"])
    signed_in(client, "root")
    # when an admin deactivates wang
    assert post(client, "/admin/users/wang/active", {"active": "false"}).status_code == 302
    # then wang's page lists the task, with a word that a supervisor should reassign it
    page = client.get("/admin/users/wang").get_data(as_text=True)
    assert 'id="open-tasks"' in page and f"#{instance.id}" in page
    assert "重新分配" in page  # the pages speak Chinese by default
    # and an admin who is not a supervisor gets no link to the supervisor's pages, which would refuse them
    assert f"/supervisor/instances/{instance.id}" not in page
    # while an admin who also supervises follows the task straight there
    make_user("root2", ["admins", "supervisors"])
    other = signed_in(client.application.test_client(), "root2")
    assert f"/supervisor/instances/{instance.id}" in other.get("/admin/users/wang").get_data(as_text=True)


def test_in_english_the_pages_and_a_previews_row_problems_are_english(client, make_user):
    make_user("root", ["admins"])
    make_user("robot", ["integrations"])
    signed_in(client, "root")
    post(client, "/language", {"lang": "en", "next": "/admin"})
    assert "User administration" in client.get("/admin").get_data(as_text=True)
    page = client.get("/admin/users/robot").get_data(as_text=True)
    assert "Issue a long-lived token" in page and "Other systems" in page and "对接系统" not in page
    token = csrf_from(page)
    bad = workbook(["zhou.bo", "", "", "wizards", "short"])
    html = client.post("/admin/import/preview", data={"csrf_token": token, "file": (io.BytesIO(bad), "u.xlsx")},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "Row 2: Unknown group: wizards" in html and "Use at least 10 characters." in html
