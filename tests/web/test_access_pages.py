"""Files and comments carry a visibility chosen when added, and the pages and downloads keep to
it (engine/runtime/access.py), as the applicant who found internal files on their own task page: a
reviewer's internal file and note stay internal, the shared ones reach the applicant."""
from __future__ import annotations

import io
import re

from engine.core import commands
from engine.runtime import tasks

from .conftest import PASSWORD, actor, csrf_from, open_task, start_application

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def sign_in(client, name: str):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"csrf_token": token, "username": name, "password": PASSWORD}).status_code == 302
    return client


def upload(client, instance_id: int, task_id: str, name: str, visibility: str | None):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get(f"/tasks/{task_id}").get_data(as_text=True))
    data = {"csrf_token": token, "task_id": task_id, "file": (io.BytesIO(PDF), name), "next": f"/tasks/{task_id}"}
    if visibility is not None:
        data["visibility"] = visibility
    return client.post(f"/files/instances/{instance_id}", data=data, content_type="multipart/form-data")


def comment(client, task_id: str, body: str, visibility: str | None):  # type: ignore[no-untyped-def]
    token = csrf_from(client.get(f"/tasks/{task_id}").get_data(as_text=True))
    data = {"csrf_token": token, "body": body}
    if visibility is not None:
        data["visibility"] = visibility
    return client.post(f"/tasks/{task_id}/comments", data=data)


def file_ids(html: str) -> dict[str, int]:
    return {name: int(n) for n, name in re.findall(r'href="/files/(\d+)">([^<]+)</a>', html)}


def test_the_applicant_sees_only_the_files_and_notes_shared_with_them(app, client, people, db, tmp_path):
    app.config["ATTACHMENT_DIR"] = str(tmp_path)
    # given a reviewer on the formal review adds an internal file and note (the default) and shared ones
    instance = start_application(db)
    review = open_task(db, instance.id)
    commands.execute(db, tasks.claim, actor("wang"), review.id)
    staff = sign_in(app.test_client(), "wang")
    assert upload(staff, instance.id, review.id, "内部审查记录.pdf", None).status_code == 302
    assert upload(staff, instance.id, review.id, "修改意见.pdf", "applicant").status_code == 302
    comment(staff, review.id, "申报人单位有不良记录，内部掌握", None)
    comment(staff, review.id, "请补充伦理审查批件", "applicant")
    staff_page = staff.get(f"/tasks/{review.id}").get_data(as_text=True)
    files = file_ids(staff_page)
    assert set(files) == {"内部审查记录.pdf", "修改意见.pdf"} and "内部掌握" in staff_page
    # and returns the application for correction
    commands.execute(db, tasks.complete, actor("wang"), review.id,
                     {"decision": "return", "review_comment": "请补充材料", "checks_passed": ["complete"]})
    correction = open_task(db, instance.id)
    # when the applicant opens their correction task and the instance page
    applicant = sign_in(client, "zhang")
    for path in (f"/tasks/{correction.id}", f"/instances/{instance.id}"):
        html = applicant.get(path).get_data(as_text=True)
        # then the shared file is listed, the internal one is not, and no reviewer's name is shown
        assert "修改意见.pdf" in html and "内部审查记录.pdf" not in html
        assert "wang" not in html
    # and the internal file cannot be downloaded by its number, the shared one can
    assert applicant.get(f"/files/{files['内部审查记录.pdf']}").status_code == 403
    shared = applicant.get(f"/files/{files['修改意见.pdf']}")
    assert shared.status_code == 200 and shared.data == PDF
    # and of the notes on the reviewer's task, only the shared one reaches the applicant
    from engine.workspace import comments
    seen = [c.body for c, _ in commands.query(db, comments.for_instance, actor("zhang"), instance.id)]
    assert "内部掌握" not in "".join(seen)


def test_the_applicants_own_uploads_are_shared_by_default_and_a_bad_visibility_is_refused(app, client, people, db,
                                                                                          tmp_path):
    app.config["ATTACHMENT_DIR"] = str(tmp_path)
    instance = start_application(db)
    applicant = sign_in(client, "zhang")
    token = csrf_from(applicant.get(f"/instances/{instance.id}").get_data(as_text=True))
    response = applicant.post(f"/files/instances/{instance.id}", content_type="multipart/form-data", data={
        "csrf_token": token, "file": (io.BytesIO(PDF), "批件.pdf")})
    assert response.status_code == 302
    from engine.workspace.attachments import Attachment
    [row] = commands.query(db, lambda s: list(s.query(Attachment)))
    assert row.visibility == "applicant"
    # a visibility that does not exist is refused and nothing is added
    token = csrf_from(applicant.get(f"/instances/{instance.id}").get_data(as_text=True))
    applicant.post(f"/files/instances/{instance.id}", content_type="multipart/form-data", data={
        "csrf_token": token, "file": (io.BytesIO(PDF), "x.pdf"), "visibility": "everyone"})
    assert len(commands.query(db, lambda s: list(s.query(Attachment)))) == 1
    assert list(tmp_path.rglob("*")) == [p for p in tmp_path.rglob("*") if p.is_dir() or p.name == row.stored_name]


def test_the_upload_and_comment_forms_offer_the_choice_in_both_languages(app, client, people, db):
    instance = start_application(db)
    review = open_task(db, instance.id)
    commands.execute(db, tasks.claim, actor("wang"), review.id)
    staff = sign_in(client, "wang")
    html = staff.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert html.count('name="visibility"') == 2 and "仅内部可见" in html
    assert re.search(r'<option value="internal" selected>', html)
