"""Attachments: files that belong to a process instance (an ethics approval, a budget sheet),
uploaded on a task or with an application. The bytes live on disk under one storage folder
(`instance/attachments/` by default), in a sub-folder per instance, under a random name; the
database keeps the metadata (original name, type, size, SHA-256, who and when). Uploads are
checked for size, for an allowed extension and for content that matches it (a .pdf must start
like a PDF), so a renamed executable is refused. Who may upload: whoever may work an open task
of the instance, or its applicant while it runs. Each file carries a visibility (`applicant` or
`internal`) chosen when added; who may list and download it is decided by engine/runtime/access.py.
Files are never overwritten; removal is for the uploader while the task is open, and audited."""
from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.runtime import access, instances, projection, tasks
from engine.core import audit, clock
from engine.core.errors import Forbidden, InvalidData, NotFound
from engine.core.models import Attachment, HumanTask, ProcessInstance
from engine.core.principals import Actor

MAX_BYTES = 20 * 1024 * 1024
MAX_PER_INSTANCE = 100

# extension -> (content type, the first bytes it must start with; None: any text/office check)
ALLOWED: dict[str, tuple[str, tuple[bytes, ...] | None]] = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", (b"PK\x03\x04",)),
    "doc": ("application/msword", (b"\xd0\xcf\x11\xe0",)),
    "xls": ("application/vnd.ms-excel", (b"\xd0\xcf\x11\xe0",)),
    "zip": ("application/zip", (b"PK\x03\x04",)),
    "ofd": ("application/ofd", (b"PK\x03\x04",)),
    "txt": ("text/plain", None),
    "csv": ("text/csv", None),
}


def clean_filename(name: str) -> str:
    """The last path part, without control characters; Chinese names stay readable."""
    name = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = re.sub(r"[\x00-\x1f\x7f<>:\"|?*]", "", name).strip().lstrip(".")
    return name[:200]


def check_file(filename: str, content: bytes) -> tuple[str, str]:
    """(clean name, content type), or InvalidData saying what is wrong with the file."""
    name = clean_filename(filename)
    if not name:
        raise InvalidData("the file has no name", {"file": ["Choose a file."]})
    if not content:
        raise InvalidData("the file is empty", {"file": ["The file is empty."]})
    if len(content) > MAX_BYTES:
        raise InvalidData("the file is too large",
                          {"file": [f"At most {MAX_BYTES // (1024 * 1024)} MB per file."]})
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in ALLOWED:
        raise InvalidData("this type of file is not accepted",
                          {"file": [f"Allowed types: {', '.join(sorted(ALLOWED))}."]})
    content_type, magic = ALLOWED[extension]
    if magic is not None and not content.startswith(magic):
        raise InvalidData("the file's content does not match its type",
                          {"file": [f"This is not a real .{extension} file."]})
    if magic is None and not _looks_like_text(content):
        raise InvalidData("the file's content does not match its type",
                          {"file": [f"A .{extension} file must be text."]})
    return name, content_type


def _looks_like_text(content: bytes) -> bool:
    sample = content[:8192]
    if b"\x00" in sample:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            sample.decode(encoding)
            return True
        except UnicodeDecodeError as error:
            if error.start >= len(sample) - 4:  # a character cut by the sample's end
                return True
    return False


def may_upload(session: Session, actor: Actor, instance: ProcessInstance, task: HumanTask | None) -> bool:
    if instance.state != instances.RUNNING:
        return False
    if task is not None:
        return task.process_instance_id == instance.id and task.state == projection.OPEN and (
            task.assignee == actor.username or (task.assignee is None and tasks.is_candidate(task, actor))
            or actor.is_supervisor)
    return instance.started_by == actor.username or actor.is_supervisor


def check_upload(session: Session, actor: Actor, instance_id: int, task_id: str | None, filename: str,
                 content: bytes) -> None:
    """What `add` refuses before it records anything (who may add a file here now, and the file
    itself), asked before the bytes go to disk, so a refused upload leaves no folder or file."""
    instance = instances.get(session, instance_id)
    if not may_upload(session, actor, instance, tasks.get(session, task_id) if task_id else None):
        raise Forbidden("you may not add files to this application now")
    check_file(filename, content)


def write(storage: Path, instance_id: int, content: bytes) -> str:
    """Put the bytes on disk under a fresh random name; returns that name. Called before the
    `add` command; if the command fails the caller removes the file with `delete_file`, so a
    row never points at a missing file and no failed upload stays on disk."""
    stored = secrets.token_hex(16)
    path = _path(storage, instance_id, stored)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return stored


def delete_file(storage: Path, instance_id: int, stored_name: str) -> None:
    _path(storage, instance_id, stored_name).unlink(missing_ok=True)


def add(session: Session, actor: Actor, instance_id: int, task_id: str | None, filename: str,
        content: bytes, stored_name: str, visibility: str | None = None) -> Attachment:
    instance = instances.get(session, instance_id)
    task = tasks.get(session, task_id) if task_id else None
    if not may_upload(session, actor, instance, task):
        raise Forbidden("you may not add files to this application now")
    chosen = access.check_item_visibility(visibility, access.view_of(session, actor, instance))
    name, content_type = check_file(filename, content)
    count = len(session.scalars(select(Attachment.id).where(
        Attachment.process_instance_id == instance_id, Attachment.removed_at.is_(None))).all())
    if count >= MAX_PER_INSTANCE:
        raise InvalidData("too many files", {"file": [f"At most {MAX_PER_INSTANCE} files per application."]})
    row = Attachment(process_instance_id=instance_id, task_id=task_id, filename=name,
                     content_type=content_type, size=len(content),
                     sha256=hashlib.sha256(content).hexdigest(), stored_name=stored_name,
                     uploaded_by=actor.username, uploaded_at=clock.now(), visibility=chosen)
    session.add(row)
    session.flush()
    audit.record(session, "attachment_added", actor.username, instance_id=instance_id, task_id=task_id,
                 attachment_id=row.id, filename=name, size=len(content), sha256=row.sha256,
                 visibility=chosen)
    return row


def _path(storage: Path, instance_id: int, stored_name: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{32}", stored_name):
        raise NotFound("no such file")
    return Path(storage) / str(int(instance_id)) / stored_name


def listed(session: Session, instance_id: int) -> list[Attachment]:
    """Every current file of the instance: for staff screens; pages show `visible_to`."""
    return list(session.scalars(select(Attachment).where(
        Attachment.process_instance_id == instance_id, Attachment.removed_at.is_(None))
        .order_by(Attachment.uploaded_at, Attachment.id)))


def visible_to(session: Session, view: "access.View") -> list[Attachment]:
    """The instance's current files this viewer may see (engine/runtime/access.py decides)."""
    return [row for row in listed(session, view.instance.id) if view.sees_item(row.visibility, row.uploaded_by)]


def readable(session: Session, actor: Actor, attachment_id: int) -> Attachment:
    row = session.get(Attachment, attachment_id)
    if row is None or row.removed_at is not None:
        raise NotFound("no such file")
    try:
        view = access.view_of(session, actor, instances.get(session, row.process_instance_id))
    except Forbidden:
        raise Forbidden("you may not read this file") from None
    if not view.sees_item(row.visibility, row.uploaded_by):
        raise Forbidden("you may not read this file")
    return row


def open_file(storage: Path, row: Attachment) -> Path:
    path = _path(storage, row.process_instance_id, row.stored_name)
    if not path.is_file():
        raise NotFound("the file is missing from the storage; tell an administrator")
    return path


def remove(session: Session, actor: Actor, attachment_id: int) -> Attachment:
    row = readable(session, actor, attachment_id)
    task = tasks.get(session, row.task_id) if row.task_id else None
    still_open = task is None or task.state == projection.OPEN
    instance = instances.get(session, row.process_instance_id)
    if not ((row.uploaded_by == actor.username and still_open and instance.state == instances.RUNNING)
            or actor.is_supervisor):
        raise Forbidden("only the uploader may remove a file, while its task is open")
    row.removed_at, row.removed_by = clock.now(), actor.username
    audit.record(session, "attachment_removed", actor.username, instance_id=row.process_instance_id,
                 task_id=row.task_id, attachment_id=row.id, filename=row.filename)
    return row
