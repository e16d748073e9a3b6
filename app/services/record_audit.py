"""Audit rows for journal records written through the generic REST APIs.

The journal pages audit their own writes; the REST APIs of marks, attendance and final
marks (app/views/records.py) are generic, so they describe each write here from the row's
attribute history, in the same transaction as the write.
"""

from sqlalchemy import inspect

from app.models import Assignment, Attendance, AttendanceCode, Course, FinalMark, Lesson, Mark, db
from app.services.journal_audit import attendance_text, mark_text, record_change


def _before(item, name):
    """Return the attribute's value as loaded from the database, before this request."""
    history = inspect(item).attrs[name].history
    if history.deleted:
        return history.deleted[0]
    if history.added and inspect(item).persistent:
        return None
    return getattr(item, name)


def _code(code_id) -> AttendanceCode | None:
    return db.session.get(AttendanceCode, code_id) if code_id else None


def _texts(item, action: str) -> tuple[str | None, str | None]:
    """Old and new value of the row as the journal prints them."""
    if isinstance(item, Mark):
        new = mark_text(item.kind, item.value)
        old = mark_text(_before(item, "kind"), _before(item, "value"))
    elif isinstance(item, Attendance):
        new = attendance_text(_code(item.code_id), _code(item.reason_id))
        old = attendance_text(_code(_before(item, "code_id")), _code(_before(item, "reason_id")))
    else:
        new, old = item.value, _before(item, "value")
    if action == "create":
        return None, new
    if action == "delete":
        return old, None
    return old, new


def _lesson(item) -> Lesson | None:
    if isinstance(item, Mark):
        assignment = db.session.get(Assignment, item.assignment_id)
        return assignment.lesson if assignment is not None else None
    if isinstance(item, Attendance):
        return db.session.get(Lesson, item.lesson_id)
    return None


ENTITIES = {Mark: "mark", Attendance: "attendance", FinalMark: "final_mark"}


def audit_record_write(item, action: str, user_id: int | None) -> None:
    """Add the audit row of a REST create, change or delete of a journal record.

    A change that leaves the printed value as it was (a mark's comment only) is recorded
    too, since the comment is part of the record.
    """
    old, new = _texts(item, action)
    lesson = _lesson(item)
    course_id = getattr(item, "course_id", None)
    class_id = None
    if course_id is not None:
        course = db.session.get(Course, course_id)
        class_id = course.class_id if course is not None else None
    record_change(
        ENTITIES[type(item)],
        action,
        school_id=item.school_id,
        user_id=user_id,
        record_id=item.id,
        lesson=lesson,
        course_id=course_id,
        class_id=class_id,
        student_id=item.student_id,
        assignment_id=getattr(item, "assignment_id", None),
        term_id=getattr(item, "term_id", None),
        old=old,
        new=new,
        old_comment=_before(item, "comment") if isinstance(item, Mark) else None,
        new_comment=item.comment if isinstance(item, Mark) and action != "delete" else None,
    )
