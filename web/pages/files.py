"""Attachment upload, download and removal. The permission and the file are checked first,
then the bytes go to disk (under a random name), then the engine command records them; if the
command still refuses (a race, the count limit) the file is removed again. Downloads are permission-checked by the engine and always sent as an
attachment with the stored content type, never rendered inline, so an uploaded file cannot run
in the application's origin."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, current_app, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _

from engine.workspace import attachments
from engine.core import commands
from engine.core.errors import EngineError, InvalidData

from web import engine_db
from web.auth import current_actor
from web.i18n import field_error, safe_next
from web.pages.common import protected

files = protected(Blueprint("files", __name__, url_prefix="/files"))


@files.post("/instances/<int:instance_id>")
def upload(instance_id: int):  # type: ignore[no-untyped-def]
    back = safe_next(request.form.get("next"), url_for("instance_pages.show", instance_id=instance_id))
    upload_file = request.files.get("file")
    if upload_file is None or not upload_file.filename:
        flash(_("Choose a file first."), "error")
        return redirect(back + "#attachments")
    content = upload_file.stream.read(attachments.MAX_BYTES + 1)
    actor, task_id = current_actor(), request.form.get("task_id") or None
    storage = attachment_dir(current_app)
    stored = None
    try:
        # nothing reaches the disk before the permission and the file are checked
        commands.query(engine_db(), attachments.check_upload, actor, instance_id, task_id, upload_file.filename,
                       content)
        stored = attachments.write(storage, instance_id, content)
        commands.execute(engine_db(), attachments.add, actor, instance_id, task_id, upload_file.filename, content,
                         stored, request.form.get("visibility") or None)
    except EngineError as error:
        if stored:
            attachments.delete_file(storage, instance_id, stored)
        flash(_("The file was not added: %(why)s", why=_why(error)), "error")
    except BaseException:
        if stored:
            attachments.delete_file(storage, instance_id, stored)
        raise
    else:
        flash(_("File added."), "success")
    return redirect(back + "#attachments")


def _why(error: EngineError) -> str:
    if isinstance(error, InvalidData) and error.fields.get("visibility"):
        return _translate_file_problem(error.message, error.fields["visibility"][0])
    if isinstance(error, InvalidData) and error.fields.get("file"):
        return _translate_file_problem(error.message, error.fields["file"][0])
    return error.message


def _translate_file_problem(message: str, detail: str) -> str:
    if message == "the file is too large":
        return _("it is larger than %(n)s MB.", n=attachments.MAX_BYTES // (1024 * 1024))
    if message == "this type of file is not accepted":
        return _("this type of file is not accepted (%(types)s).", types=", ".join(sorted(attachments.ALLOWED)))
    if message == "the file's content does not match its type":
        return _("its content does not match its name's type.")
    if message == "the file is empty":
        return _("the file is empty.")
    if message == "unknown visibility":
        return _("choose who may see it.")
    return field_error(detail)


@files.get("/<int:attachment_id>")
def download(attachment_id: int):  # type: ignore[no-untyped-def]
    row = commands.query(engine_db(), attachments.readable, current_actor(), attachment_id)
    path = attachments.open_file(attachment_dir(current_app), row)
    return send_file(path, mimetype=row.content_type, as_attachment=True, download_name=row.filename,
                     max_age=0)


@files.post("/<int:attachment_id>/remove")
def remove(attachment_id: int):  # type: ignore[no-untyped-def]
    row = commands.execute(engine_db(), attachments.remove, current_actor(), attachment_id)
    flash(_("File removed."), "success")
    return redirect(safe_next(request.form.get("next"),
                              url_for("instance_pages.show", instance_id=row.process_instance_id)) + "#attachments")


def attachment_dir(app: Flask) -> Path:
    return Path(app.config["ATTACHMENT_DIR"])
