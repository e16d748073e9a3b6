"""Creating, updating and deleting school announcements with their files."""

import logging

from flask_babel import gettext as _
from sqlalchemy import delete
from sqlalchemy.exc import SQLAlchemyError

from app.errors import SAVE_FAILED, DomainError
from app.models import Announcement, AnnouncementClass, AnnouncementRead, Attachment, db
from app.services.announcements.access import AnnouncementAccess, may_edit
from app.services.announcements.form import AnnouncementForm, AnnouncementInput, parse_form
from app.services.attachments import AttachmentError, remove_files, store_upload

log = logging.getLogger(__name__)


def _require_writer(access: AnnouncementAccess) -> None:
    if not access.writes:
        raise DomainError(
            _(
                "Announcements are written inside a school by its principal, school "
                "administrator or teachers. Open the school in the organisation menu."
            )
        )


def _commit(new_attachments, removed_attachments=()) -> None:
    """Commit the write; on failure drop the files just stored and raise a DomainError.

    Files of removed attachments are deleted only once the rows are gone for good.
    """
    try:
        db.session.commit()
    except SQLAlchemyError:
        log.exception("Saving an announcement failed")
        db.session.rollback()
        remove_files(new_attachments)
        raise DomainError(SAVE_FAILED) from None
    remove_files(removed_attachments)


def _abandon_files(files: list[Attachment], error: Exception) -> DomainError:
    """Roll the write back, delete the files stored so far and return the error to raise."""
    db.session.rollback()
    remove_files(files)
    if isinstance(error, AttachmentError):
        return DomainError(str(error))
    log.error("Storing announcement files failed: %s", type(error).__name__)
    return DomainError(
        _(
            "The files could not be stored on the server, so nothing was saved. Try again, "
            "and tell the administrator if it happens again."
        )
    )


def _store_uploads(school_id: int, announcement_id: int, uploads, user_id) -> list[Attachment]:
    stored = []
    try:
        for upload in uploads:
            stored.append(store_upload(school_id, upload, user_id, announcement_id=announcement_id))
    except (AttachmentError, OSError) as error:
        raise _abandon_files(stored, error) from None
    return stored


def _apply_input(announcement: Announcement, data: AnnouncementInput) -> None:
    announcement.title = data.title
    announcement.body = data.body
    announcement.display_from = data.display_from
    announcement.display_to = data.display_to
    announcement.audience = data.audience
    announcement.audience_roles = ",".join(data.role_codes)
    _set_classes(announcement, data.class_ids)


def _set_classes(announcement: Announcement, class_ids: list[int]) -> None:
    """Keep the class rows that stay and add the missing ones, so no unique key clashes."""
    requested_ids = set(class_ids)
    for link in list(announcement.classes):
        if link.class_id not in requested_ids:
            announcement.classes.remove(link)
    present = {link.class_id for link in announcement.classes}
    for class_id in class_ids:
        if class_id not in present:
            announcement.classes.append(
                AnnouncementClass(school_id=announcement.school_id, class_id=class_id)
            )


def create_announcement(
    access: AnnouncementAccess, form: AnnouncementForm, uploads=()
) -> Announcement:
    """Check the form and save a new announcement of the session's school with its files."""
    _require_writer(access)
    data = parse_form(access, form, uploads)
    scope = access.scope
    announcement = Announcement(
        school_id=scope.school_id, author_id=scope.user_id, audience_roles=""
    )
    _apply_input(announcement, data)
    db.session.add(announcement)
    db.session.flush()

    stored = _store_uploads(scope.school_id, announcement.id, uploads, scope.user_id)
    _commit(stored)
    log.info(
        "announcement %s created in school %s by user %s",
        announcement.id,
        scope.school_id,
        scope.user_id,
    )
    return announcement


def update_announcement(
    access: AnnouncementAccess, announcement: Announcement, form: AnnouncementForm, uploads=()
) -> Announcement:
    """Check the form and save it over an announcement the session may edit."""
    if not may_edit(access, announcement):
        raise DomainError(_("You may change only your own announcements."))
    data = parse_form(access, form, uploads)
    _apply_input(announcement, data)

    removed = _remove_attachments(announcement, form.remove_attachment_ids)
    db.session.flush()
    stored = _store_uploads(announcement.school_id, announcement.id, uploads, access.scope.user_id)
    _commit(stored, removed)
    log.info("announcement %s updated by user %s", announcement.id, access.scope.user_id)
    return announcement


def _remove_attachments(announcement: Announcement, attachment_ids) -> list[Attachment]:
    requested_ids = {str(value) for value in attachment_ids}
    removed = [a for a in announcement.attachments if str(a.id) in requested_ids]
    for attachment in removed:
        announcement.attachments.remove(attachment)
    return removed


def delete_announcement(access: AnnouncementAccess, announcement: Announcement) -> None:
    """Delete an announcement the session may edit, with its read marks and files."""
    if not may_edit(access, announcement):
        raise DomainError(_("You may delete only your own announcements."))
    files = list(announcement.attachments)
    announcement_id = announcement.id
    _delete_announcements([announcement])
    _commit([], files)
    log.info("announcement %s deleted by user %s", announcement_id, access.scope.user_id)


def _delete_announcements(announcements: list[Announcement]) -> None:
    """Delete announcements with their read marks; classes and attachments go by cascade.

    Read marks are deleted here because SQLite does not apply ON DELETE CASCADE unless
    foreign keys are switched on.
    """
    for announcement in announcements:
        db.session.execute(
            delete(AnnouncementRead).where(
                AnnouncementRead.school_id == announcement.school_id,
                AnnouncementRead.announcement_id == announcement.id,
            )
        )
        db.session.delete(announcement)
