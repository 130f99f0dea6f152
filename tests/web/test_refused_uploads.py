"""An upload is checked (who may add a file to this application now, and the file itself)
before its bytes go to disk: a refused upload leaves the storage folder exactly as it was, no
instance folder and no file; an accepted one is stored and listed."""
from __future__ import annotations

import re

import pytest

from .conftest import PASSWORD, start_application

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def storage(app, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    folder = tmp_path / "attachments"
    folder.mkdir()
    monkeypatch.setitem(app.config, "ATTACHMENT_DIR", str(folder))
    return folder


def _signed_in(client, name: str) -> str:  # type: ignore[no-untyped-def]
    token = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"csrf_token": token, "username": name, "password": PASSWORD}).status_code == 302
    return re.search(r'"X-CSRFToken": "([^"]+)"', client.get("/inbox").get_data(as_text=True)).group(1)


def _upload(client, token: str, instance_id: int, name: str = "批件.pdf", content: bytes = PDF):  # type: ignore[no-untyped-def]
    from io import BytesIO
    return client.post(f"/files/instances/{instance_id}", data={"csrf_token": token, "file": (BytesIO(content), name)},
                       content_type="multipart/form-data", follow_redirects=True)


@pytest.mark.parametrize("who, instance, name, content", [
    ("li", "zhangs", "批件.pdf", PDF),             # another applicant: may not add to this application
    ("wang", "zhangs", "批件.pdf", PDF),           # staff with no open task of theirs there (and not a candidate)
    ("zhang", "missing", "批件.pdf", PDF),         # no such application
    ("zhang", "zhangs", "run.exe", b"MZ\x90\x00"),  # a refused type
    ("zhang", "zhangs", "fake.pdf", b"not a pdf"),  # content that does not match the name
])
def test_a_refused_upload_leaves_the_storage_folder_untouched(client, people, db, storage, who, instance, name,
                                                               content):
    application = start_application(db)
    target = application.id if instance == "zhangs" else application.id + 1000
    token = _signed_in(client, who)
    # when the upload is refused
    response = _upload(client, token, target, name, content)
    # then the page says so, and nothing was created on disk: no instance folder, no file
    assert "文件未能添加" in response.get_data(as_text=True) or response.status_code in (403, 404)
    assert list(storage.rglob("*")) == []


def test_an_accepted_upload_is_stored_under_the_instances_folder(client, people, db, storage):
    application = start_application(db)
    token = _signed_in(client, "zhang")
    response = _upload(client, token, application.id)
    assert response.status_code == 200 and "批件.pdf" in response.get_data(as_text=True)
    [stored] = [p for p in storage.rglob("*") if p.is_file()]
    assert stored.parent.name == str(application.id) and stored.read_bytes() == PDF
