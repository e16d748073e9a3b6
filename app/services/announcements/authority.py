"""Authority announcements and their copies in every school of the authority."""

import logging
from collections import Counter
from dataclasses import dataclass

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.models import Announcement, AnnouncementRead, Attachment, AuthorityAnnouncement, School, db
from app.security.scope import Scope
from app.services.announcements.form import (
    AnnouncementForm,
    AnnouncementInput,
    AnnouncementInputError,
    _check_uploads,
    _parse_common,
)
from app.services.announcements.writing import (
    _abandon_files,
    _commit,
    _delete_announcements,
    _store_uploads,
)
from app.services.attachments import copy_attachment

log = logging.getLogger(__name__)


@dataclass
class AuthorityRow:
    """An authority announcement in the authority's list."""

    announcement: AuthorityAnnouncement
    #: Schools holding a copy.
    schools: int
    #: Read marks of all copies together; names stay inside the schools.
    reads: int


def _require_authority(scope: Scope) -> int:
    """Return the scope's authority; other levels may only read, so they get 403."""
    if scope.level != "authority" or scope.authority_id is None:
        abort(403)
    return scope.authority_id


def authority_rows(scope: Scope) -> list[AuthorityRow]:
    """List the authority's announcements, or every authority's at server level."""
    statement = select(AuthorityAnnouncement)
    if scope.level == "authority":
        statement = statement.where(AuthorityAnnouncement.authority_id == scope.authority_id)
    elif scope.level != "server":
        return []
    originals = list(
        db.session.scalars(
            statement.order_by(
                AuthorityAnnouncement.display_from.desc(), AuthorityAnnouncement.id.desc()
            )
        )
    )
    ids = [original.id for original in originals] or [-1]
    schools = dict(
        db.session.execute(
            select(Announcement.authority_announcement_id, func.count(Announcement.id))
            .where(Announcement.authority_announcement_id.in_(ids))
            .group_by(Announcement.authority_announcement_id)
        ).all()
    )
    reads = dict(
        db.session.execute(
            select(Announcement.authority_announcement_id, func.count(AnnouncementRead.id))
            .join(AnnouncementRead, AnnouncementRead.announcement_id == Announcement.id)
            .where(Announcement.authority_announcement_id.in_(ids))
            .group_by(Announcement.authority_announcement_id)
        ).all()
    )
    return [
        AuthorityRow(original, schools.get(original.id, 0), reads.get(original.id, 0))
        for original in originals
    ]


def get_authority_announcement_or_404(scope: Scope, announcement_id) -> AuthorityAnnouncement:
    """Load an authority announcement of the scope's authority (any at server level).

    Authority announcements are not school data, so the school scope does not cover
    them. This is their one scoped lookup, and another authority's id raises 404.
    """
    try:
        announcement_id = int(announcement_id)
    except (TypeError, ValueError):
        abort(404)
    statement = select(AuthorityAnnouncement).where(AuthorityAnnouncement.id == announcement_id)
    if scope.level == "authority":
        statement = statement.where(AuthorityAnnouncement.authority_id == scope.authority_id)
    elif scope.level != "server":
        abort(404)
    original = db.session.scalars(statement).first()
    if original is None:
        abort(404)
    return original


def authority_copies(original: AuthorityAnnouncement) -> list[Announcement]:
    """Return the school copies of an authority announcement, oldest first."""
    statement = (
        select(Announcement)
        .where(Announcement.authority_announcement_id == original.id)
        .order_by(Announcement.id)
    )
    return list(db.session.scalars(statement))


def authority_attachments(original: AuthorityAnnouncement) -> list[Attachment]:
    """Return the files of an authority announcement, as its oldest copy stores them."""
    copies = authority_copies(original)
    return list(copies[0].attachments) if copies else []


def get_authority_attachment_or_404(original: AuthorityAnnouncement, attachment_id) -> Attachment:
    """Return a file of any copy of an authority announcement loaded through its scope."""
    try:
        attachment_id = int(attachment_id)
    except (TypeError, ValueError):
        abort(404)
    copies = select(Announcement.id).where(Announcement.authority_announcement_id == original.id)
    attachment = db.session.scalars(
        select(Attachment).where(
            Attachment.id == attachment_id, Attachment.announcement_id.in_(copies)
        )
    ).first()
    if attachment is None:
        abort(404)
    return attachment


def _authority_schools(authority_id: int) -> list[School]:
    statement = select(School).where(School.authority_id == authority_id).order_by(School.id)
    return list(db.session.scalars(statement))


def parse_authority_form(form: AnnouncementForm, uploads=()) -> AnnouncementInput:
    """Check an authority announcement form: title, text, dates and files."""
    errors: list[str] = []
    title, body, display_from, display_to = _parse_common(form, errors)
    _check_uploads(uploads, errors)
    if errors:
        raise AnnouncementInputError(errors)
    return AnnouncementInput(
        title=title, body=body, display_from=display_from, display_to=display_to
    )


def _school_copy(original: AuthorityAnnouncement, school_id: int) -> Announcement:
    return Announcement(
        school_id=school_id,
        title=original.title,
        body=original.body,
        audience="school",
        audience_roles="",
        display_from=original.display_from,
        display_to=original.display_to,
        author_id=original.author_id,
        authority_announcement_id=original.id,
    )


def _apply_to_copy(original: AuthorityAnnouncement, copy: Announcement) -> None:
    copy.title = original.title
    copy.body = original.body
    copy.display_from = original.display_from
    copy.display_to = original.display_to


def _fan_out_uploads(copies: list[Announcement], uploads, user_id) -> list[Attachment]:
    """Store each upload in the first copy's school and copy the file into the others."""
    if not copies:
        return []
    first, others = copies[0], copies[1:]
    stored = _store_uploads(first.school_id, first.id, uploads, user_id)
    copied = []
    try:
        for source in stored:
            for copy in others:
                copied.append(copy_attachment(source, copy.school_id, announcement_id=copy.id))
    except OSError as error:
        raise _abandon_files(stored + copied, error) from None
    return stored + copied


def _check_schools_for_files(schools: list, uploads) -> None:
    if uploads and not schools:
        raise AnnouncementInputError(
            [
                _(
                    "Your authority has no schools yet, and files are kept in the schools: "
                    "save the announcement without files."
                )
            ]
        )


def publish_authority_announcement(
    scope: Scope, form: AnnouncementForm, uploads=()
) -> AuthorityAnnouncement:
    """Save an authority announcement and copy it, files included, into every school."""
    authority_id = _require_authority(scope)
    data = parse_authority_form(form, uploads)
    schools = _authority_schools(authority_id)
    _check_schools_for_files(schools, uploads)

    original = AuthorityAnnouncement(
        authority_id=authority_id,
        title=data.title,
        body=data.body,
        display_from=data.display_from,
        display_to=data.display_to,
        author_id=scope.user_id,
    )
    db.session.add(original)
    db.session.flush()
    copies = [_school_copy(original, school.id) for school in schools]
    db.session.add_all(copies)
    db.session.flush()

    stored = _fan_out_uploads(copies, uploads, scope.user_id)
    _commit(stored)
    log.info(
        "authority announcement %s published to %s schools by user %s",
        original.id,
        len(copies),
        scope.user_id,
    )
    return original


def _attachment_keys(attachments) -> dict[int, tuple]:
    """Key each attachment by name, size and its rank among files of that name and size.

    Copies are made in the same order in every school, so equal keys mark the copies of
    one file across the schools.
    """
    seen = Counter()
    keys = {}
    for attachment in sorted(attachments, key=lambda a: a.id):
        pair = (attachment.filename, attachment.size)
        keys[attachment.id] = (*pair, seen[pair])
        seen[pair] += 1
    return keys


def update_authority_announcement(
    scope: Scope, original: AuthorityAnnouncement, form: AnnouncementForm, uploads=()
) -> AuthorityAnnouncement:
    """Save the form over an authority announcement and bring every school copy in line.

    Schools added to the authority since publishing get their copy now, with the files.
    """
    authority_id = _require_authority(scope)
    if original.authority_id != authority_id:
        abort(404)
    data = parse_authority_form(form, uploads)
    original.title = data.title
    original.body = data.body
    original.display_from = data.display_from
    original.display_to = data.display_to

    copies = authority_copies(original)
    removed = _remove_authority_attachments(copies, form.remove_attachment_ids)
    for copy in copies:
        _apply_to_copy(original, copy)
    db.session.flush()

    schools = _authority_schools(authority_id)
    _check_schools_for_files(schools, uploads)
    new_copies, copied = _add_missing_copies(original, copies, schools)
    stored = _fan_out_uploads(copies + new_copies, uploads, scope.user_id)
    _commit(copied + stored, removed)
    log.info(
        "authority announcement %s updated by user %s: %s copies, %s new",
        original.id,
        scope.user_id,
        len(copies) + len(new_copies),
        len(new_copies),
    )
    return original


def _remove_authority_attachments(copies: list[Announcement], attachment_ids) -> list[Attachment]:
    """Remove the files ticked on the first copy from every copy."""
    if not copies or not attachment_ids:
        return []
    requested_ids = {str(value) for value in attachment_ids}
    reference_keys = _attachment_keys(copies[0].attachments)
    removed_keys = {
        key for attachment_id, key in reference_keys.items() if str(attachment_id) in requested_ids
    }
    removed = []
    for copy in copies:
        keys = _attachment_keys(copy.attachments)
        for attachment in list(copy.attachments):
            if keys[attachment.id] in removed_keys:
                copy.attachments.remove(attachment)
                removed.append(attachment)
    return removed


def _add_missing_copies(original, copies, schools):
    """Copy the announcement and the first copy's files into schools that lack it."""
    present = {copy.school_id for copy in copies}
    new_copies = [_school_copy(original, s.id) for s in schools if s.id not in present]
    if not new_copies:
        return [], []
    db.session.add_all(new_copies)
    db.session.flush()
    sources = list(copies[0].attachments) if copies else []
    copied = []
    try:
        for copy in new_copies:
            for source in sources:
                copied.append(copy_attachment(source, copy.school_id, announcement_id=copy.id))
    except OSError as error:
        raise _abandon_files(copied, error) from None
    return new_copies, copied


def delete_authority_announcement(scope: Scope, original: AuthorityAnnouncement) -> None:
    """Delete an authority announcement, its copy in every school and all their files."""
    authority_id = _require_authority(scope)
    if original.authority_id != authority_id:
        abort(404)
    copies = authority_copies(original)
    files = [attachment for copy in copies for attachment in copy.attachments]
    original_id = original.id
    _delete_announcements(copies)
    # The copies go first. No relationship links them to the original, so the ORM might
    # delete it first, and PostgreSQL would then delete the copies by cascade and leave
    # the ORM's DELETE of them no rows.
    db.session.flush()
    db.session.delete(original)
    _commit([], files)
    log.info(
        "authority announcement %s deleted with %s copies by user %s",
        original_id,
        len(copies),
        scope.user_id,
    )
