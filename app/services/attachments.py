"""Files attached to messages and announcements: checks, storage per school, download.

A file is kept under ``ATTACHMENTS_DIR/<school id>/`` with a random name; the name the
user gave it is stored in :class:`~app.models.Attachment` and used only on download. The
size limit and the accepted extensions are the settings ``ATTACHMENT_MAX_BYTES`` and
``ATTACHMENT_EXTENSIONS``.
"""

import logging
import mimetypes
import secrets
import shutil
from pathlib import Path

from flask import current_app, send_file
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from app.models import Attachment, db

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024


class AttachmentError(ValueError):
    """An upload that is rejected; the message is shown to the user as it is."""


def _extension(filename: str) -> str:
    return Path(filename).suffix.lower().lstrip(".")


def _school_folder(school_id: int) -> Path:
    folder = Path(current_app.config["ATTACHMENTS_DIR"]) / str(int(school_id))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stored_path(attachment: Attachment) -> Path:
    """Return where the attachment's file lies on disk."""
    return _school_folder(attachment.school_id) / attachment.stored_name


def format_size(size: int) -> str:
    """Write a file size as people read it: «512 Б», «1,5 МБ»."""
    if size < 1024:
        return _("%(size)d B", size=size)
    if size < 1024 * 1024:
        return _("%(size)s KB", size=_decimal_comma(size / 1024))
    return _("%(size)s MB", size=_decimal_comma(size / 1024 / 1024))


def _decimal_comma(number: float) -> str:
    return f"{number:.1f}".replace(".", ",")


def check_upload(upload: FileStorage) -> None:
    """Raise :class:`AttachmentError` unless the upload has an accepted type and size.

    The size is measured by reading the stream, not taken from the request headers.
    """
    filename = (upload.filename or "").strip()
    if not filename:
        raise AttachmentError(_("The file has no name. Choose the file again."))

    allowed = current_app.config["ATTACHMENT_EXTENSIONS"]
    extension = _extension(filename)
    if extension not in allowed:
        raise AttachmentError(
            _(
                "The file «%(name)s» is of a type that cannot be attached. "
                "Attach documents or images: %(types)s.",
                name=filename,
                types=", ".join(sorted(allowed)),
            )
        )

    size = _stream_size(upload)
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    if size > limit:
        raise AttachmentError(
            _(
                "The file «%(name)s» is %(size)s, larger than the limit of %(limit)s. "
                "Attach a smaller file or compress it.",
                name=filename,
                size=format_size(size),
                limit=format_size(limit),
            )
        )
    if size == 0:
        raise AttachmentError(_("The file «%(name)s» is empty.", name=filename))


def _stream_size(upload: FileStorage) -> int:
    stream = upload.stream
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def store_upload(
    school_id: int,
    upload: FileStorage,
    uploaded_by_id: int | None,
    *,
    message_id: int | None = None,
    announcement_id: int | None = None,
    assignment_id: int | None = None,
) -> Attachment:
    """Check an upload, write it into the school's folder and add its row to the session.

    The caller commits. The file is written first, so a failed commit leaves at most an
    unreferenced file on disk, never a row without its file.
    """
    check_upload(upload)
    filename = Path(upload.filename.strip()).name
    attachment = Attachment(
        school_id=school_id,
        message_id=message_id,
        announcement_id=announcement_id,
        assignment_id=assignment_id,
        filename=filename[:255],
        stored_name=secrets.token_hex(16),
        content_type=_content_type(filename),
        size=_stream_size(upload),
        uploaded_by_id=uploaded_by_id,
    )
    upload.save(stored_path(attachment))
    db.session.add(attachment)
    log.info("attachment stored: school %s, %s bytes", school_id, attachment.size)
    return attachment


def copy_attachment(source: Attachment, school_id: int, **owner) -> Attachment:
    """Copy an attachment into another school's folder, for an announcement fanned out."""
    copy = Attachment(
        school_id=school_id,
        filename=source.filename,
        stored_name=secrets.token_hex(16),
        content_type=source.content_type,
        size=source.size,
        uploaded_by_id=source.uploaded_by_id,
        **owner,
    )
    shutil.copyfile(stored_path(source), stored_path(copy))
    db.session.add(copy)
    return copy


def files_by_assignment(school_id: int, assignment_ids) -> dict[int, list[Attachment]]:
    """Group the files of the given assignments by assignment, in upload order."""
    ids = list(assignment_ids)
    if not ids:
        return {}
    statement = (
        select(Attachment)
        .where(Attachment.school_id == school_id, Attachment.assignment_id.in_(ids))
        .order_by(Attachment.id)
    )
    grouped: dict[int, list[Attachment]] = {}
    for attachment in db.session.scalars(statement):
        grouped.setdefault(attachment.assignment_id, []).append(attachment)
    return grouped


def remove_files(attachments) -> None:
    """Delete the files of attachments whose rows are being deleted."""
    for attachment in attachments:
        try:
            stored_path(attachment).unlink(missing_ok=True)
        except OSError as error:
            log.warning("attachment %s: file not removed: %s", attachment.id, error)


def _content_type(filename: str) -> str:
    guessed, _encoding = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


def send_attachment(attachment: Attachment):
    """Send the file as a download under the name the user gave it.

    Callers must have found the attachment through a scoped lookup of its message or
    announcement first: this function checks nothing.
    """
    return send_file(
        stored_path(attachment),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename,
        max_age=0,
    )
