"""The administration walk in a real browser, on the Chinese pages of a desktop: an admin creates
a user, deactivates them (after a confirmation) and sees they cannot sign in, and imports users
from Excel, where the bad row is shown and nothing can be confirmed until the file is fixed."""
from __future__ import annotations

import io
import re

from openpyxl import Workbook
from playwright.sync_api import expect

from engine.core import commands, users

from .conftest import PASSWORD

GOOD = "Quiet-river-2026"


def workbook(*rows: list[object]) -> bytes:
    book = Workbook()
    book.active.append(["用户名 username", "姓名 display_name", "邮箱 email", "用户组 groups", "初始密码 password"])
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_admin_creates_deactivates_and_imports_users_in_chinese(page, db):
    commands.execute(db, users.create_user, "root", PASSWORD, ["admins"], None, None, "管理员", password_policy=False)
    page.goto("/login")
    page.fill("#username", "root")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    page.wait_for_url(re.compile(r"/(inbox|applications|admin)"))
    # the menu leads to the user list
    page.locator("nav a", has_text="用户").first.click()
    expect(page.locator("h1")).to_have_text("用户管理")
    expect(page.locator("#users-table tr[data-user='root']")).to_contain_text("系统管理员")
    # a new expert
    page.locator(".tabs a", has_text="新建用户").click()
    page.fill("#f-username", "wang.fang")
    page.fill("#f-display_name", "王芳")
    page.fill("#f-password", GOOD)
    page.locator("label", has_text="评审专家").locator("input").check()
    page.click("#create-user-button")
    expect(page.locator(".flash")).to_contain_text("已创建用户 王芳")
    expect(page.locator("#groups input[value='experts']")).to_be_checked()
    # deactivated after a confirmation, the account cannot sign in
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#deactivate-button")
    expect(page.locator("#reactivate-button")).to_have_text("重新启用")
    expect(page.locator("#no-open-tasks")).to_have_text("没有分配给该用户的未完成任务。")
    assert not commands.query(db, users.find, "wang.fang").active
    # an import with a bad row: the row is named and there is nothing to confirm
    page.locator(".tabs a", has_text="从 Excel 导入").click()
    page.set_input_files("#f-file", files=[{"name": "users.xlsx", "mimeType": "application/octet-stream",
                                            "buffer": workbook(["zhou.bo", "周波", "", "experts", GOOD],
                                                               ["xu.li", "徐丽", "", "巫师", GOOD])}])
    page.click("#preview-button")
    expect(page.locator("#import-errors")).to_contain_text("第 3 行：未知的用户组：巫师")
    expect(page.locator("#confirm-import-button")).to_have_count(0)
    # fixed, it is confirmed and taken whole
    page.click("#upload-again")
    page.set_input_files("#f-file", files=[{"name": "users.xlsx", "mimeType": "application/octet-stream",
                                            "buffer": workbook(["zhou.bo", "周波", "", "experts", GOOD],
                                                               ["xu.li", "徐丽", "", "评审专家", GOOD])}])
    page.click("#preview-button")
    expect(page.locator("#preview-table tbody tr")).to_have_count(2)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#confirm-import-button")
    expect(page.locator(".flash")).to_contain_text("已导入 2 行")
    expect(page.locator("#users-table tr[data-user='xu.li']")).to_contain_text("评审专家")
    for english in ("Users", "Deactivate", "Import", "Groups", "active"):
        expect(page.locator("main")).not_to_contain_text(english)
