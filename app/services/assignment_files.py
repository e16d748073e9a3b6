"""Files of assignments: a homework worksheet or a scan of the task.

The teachers who write the course's journal attach and remove files.
Everyone who sees the assignment downloads them: journal readers through the journal, and
students and parents through the diary of a student who takes the course.
"""

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import exists, select
from werkzeug.exceptions import NotFound

from app.errors import FormErrors
from app.models import Assignment, Attachment, Course, db
from app.security.scope import Scope, scoped_get_or_404
from app.services import diary
from app.services.attachments import (
    AttachmentError,
    files_by_assignment,
    remove_files,
    store_upload,
)
from app.services.journal import get_lesson_or_404, journal_access, may_write_lesson

#: Files one assignment may carry.
MAX_FILES = 10


class AssignmentFilesError(FormErrors):
    """Uploads that were not stored; none of the request's files were kept."""


def assignment_for_journal_or_404(scope: Scope, assignment_id, may_write: bool) -> Assignment:
    """Load an assignment of a lesson the session opens in the journal; else 404."""
    assignment = scoped_get_or_404(Assignment, assignment_id, scope)
    get_lesson_or_404(journal_access(scope, may_write), assignment.lesson_id)
    return assignment


def may_attach(scope: Scope, assignment: Assignment) -> bool:
    """Tell whether the session writes the assignment's lesson, and so its files."""
    access = journal_access(scope, may_write=True)
    return may_write_lesson(access, assignment.lesson)


def _diary_sees(scope: Scope, assignment: Assignment) -> bool:
    """Tell whether a student whose diary the session opens takes the assignment's course.

    Students and parents open one or a few diaries, so the loop stays short; staff who
    open many read the file through the journal instead.
    """
    if diary.sees_whole_school(scope):
        return True
    course_id = assignment.lesson.course_id
    for student in db.session.scalars(diary.visible_students_query(scope)):
        taken = select(
            exists().where(Course.id == course_id, Course.id.in_(diary.student_courses(student)))
        )
        if db.session.scalar(taken):
            return True
    return False


def _journal_opens(scope: Scope, assignment: Assignment) -> bool:
    try:
        get_lesson_or_404(journal_access(scope, may_write=False), assignment.lesson_id)
    except NotFound:
        return False
    return True


def file_or_404(scope: Scope, attachment_id, may_read_journal: bool) -> Attachment:
    """Load an assignment's file the session may download; any other id raises 404."""
    attachment = scoped_get_or_404(Attachment, attachment_id, scope)
    if attachment.assignment_id is None:
        abort(404)
    assignment = db.session.get(Assignment, attachment.assignment_id)
    if may_read_journal and _journal_opens(scope, assignment):
        return attachment
    if _diary_sees(scope, assignment):
        return attachment
    abort(404)


def add_files(assignment: Assignment, uploads: list, user_id: int | None) -> int:
    """Store the uploads as files of the assignment, all or none; return the count."""
    present = len(files_by_assignment(assignment.school_id, [assignment.id]).get(assignment.id, []))
    if not uploads:
        raise AssignmentFilesError([_("Choose at least one file to attach.")])
    if present + len(uploads) > MAX_FILES:
        raise AssignmentFilesError(
            [
                _(
                    "Files of the assignment would number %(total)s, but at most %(limit)s "
                    "are allowed. Remove a file or attach fewer.",
                    total=present + len(uploads),
                    limit=MAX_FILES,
                )
            ]
        )

    stored = []
    try:
        for upload in uploads:
            stored.append(
                store_upload(assignment.school_id, upload, user_id, assignment_id=assignment.id)
            )
        db.session.commit()
    except AttachmentError as error:
        db.session.rollback()
        remove_files(stored)
        raise AssignmentFilesError([str(error)]) from None
    return len(stored)


def delete_file(assignment: Assignment, attachment_id) -> None:
    """Remove one file of the assignment, row and disk file."""
    attachment = db.session.scalar(
        select(Attachment).where(
            Attachment.id == attachment_id,
            Attachment.assignment_id == assignment.id,
            Attachment.school_id == assignment.school_id,
        )
    )
    if attachment is None:
        abort(404)
    db.session.delete(attachment)
    db.session.commit()
    remove_files([attachment])
