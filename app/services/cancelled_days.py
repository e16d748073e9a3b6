"""Cancelled days (актированные дни, карантин): a day's lessons of a class or the school.

A cancelled day marks the lessons, not the students, so no student is absent on it. Only
lessons without marks or attendance are cancelled, because a lesson that has them was held.
"""

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import exists, select

from app.errors import FormErrors
from app.models import AcademicYear, Assignment, Attendance, Course, Lesson, Mark, SchoolClass, db
from app.security.scope import Scope, apply_scope, scoped_get_or_404
from app.services.dates import format_date, parse_date_field
from app.services.journal import lesson_lock

#: Lessons named in a refusal; the rest are counted.
LISTED_LESSONS = 5


class CancelledDayError(FormErrors):
    """The day cannot be cancelled or restored as asked; nothing was changed."""


@dataclass
class CancelRequest:
    """The typed form: a date, the classes (none for the whole school) and the reason."""

    date_text: str = ""
    class_ids: list[str] = field(default_factory=list)
    reason: str = ""

    @classmethod
    def from_form(cls, form) -> "CancelRequest":
        return cls(
            date_text=form.get("date", "").strip(),
            class_ids=[value for value in form.getlist("class_id") if value],
            reason=form.get("reason", "").strip(),
        )


@dataclass
class CancelledDay:
    """One cancelled day as the list shows it: the date, the reason and the classes."""

    date: dt.date
    reason: str
    class_names: list[str]
    lessons: int


def school_classes(scope: Scope) -> list[SchoolClass]:
    """Classes of the school's current and future years, for the form's choice."""
    statement = (
        apply_scope(select(SchoolClass), SchoolClass, scope)
        .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
        .where(AcademicYear.is_closed.is_(False))
        .order_by(SchoolClass.grade, SchoolClass.letter)
    )
    return list(db.session.scalars(statement))


def _read_request(scope: Scope, form: CancelRequest, need_reason: bool):
    errors = []
    day = parse_date_field(
        form.date_text,
        _("Enter the date of the cancelled day, for example 05.02.2027."),
        _("«%(value)s» is not a date: write it as 05.02.2027.", value=form.date_text),
        errors,
    )
    if need_reason and not form.reason:
        errors.append(_("Enter the reason, for example «актированный день» or «карантин»."))
    classes = [_class_or_404(scope, value) for value in form.class_ids]
    if errors:
        raise CancelledDayError(errors)
    return day, classes


def _class_or_404(scope: Scope, value: str) -> SchoolClass:
    try:
        class_id = int(value)
    except ValueError:
        class_id = 0
    return scoped_get_or_404(SchoolClass, class_id, scope)


def _day_lessons(scope: Scope, day: dt.date, classes: list[SchoolClass], cancelled: bool):
    statement = (
        apply_scope(select(Lesson), Lesson, scope)
        .join(Course, Course.id == Lesson.course_id)
        .where(Lesson.date == day, Lesson.is_cancelled.is_(cancelled))
        .order_by(Lesson.lesson_number, Lesson.id)
        .with_for_update(of=Lesson)
    )
    if classes:
        statement = statement.where(Course.class_id.in_([c.id for c in classes]))
    return list(db.session.scalars(statement))


def _held(lesson_ids: list[int]) -> set[int]:
    """Ids of the lessons that have a mark or an attendance entry."""
    marked = select(Assignment.lesson_id).where(
        Assignment.lesson_id.in_(lesson_ids),
        exists().where(Mark.assignment_id == Assignment.id, Mark.school_id == Assignment.school_id),
    )
    attended = select(Attendance.lesson_id).where(Attendance.lesson_id.in_(lesson_ids))
    return set(db.session.scalars(marked)) | set(db.session.scalars(attended))


def _lesson_name(lesson: Lesson) -> str:
    return _(
        "lesson %(number)s, %(course)s", number=lesson.lesson_number, course=str(lesson.course)
    )


def _reject_held_lessons(lessons: list[Lesson], day: dt.date) -> None:
    held = _held([lesson.id for lesson in lessons])
    if not held:
        return
    names = [_lesson_name(lesson) for lesson in lessons if lesson.id in held]
    listed = "; ".join(names[:LISTED_LESSONS])
    if len(names) > LISTED_LESSONS:
        listed += _(" and %(count)s more", count=len(names) - LISTED_LESSONS)
    raise CancelledDayError(
        [
            _(
                "On %(date)s these lessons already have marks or attendance, so they were "
                "held: %(lessons)s. Remove their entries first, or cancel other classes "
                "only.",
                date=format_date(day),
                lessons=listed,
            )
        ]
    )


def _reject_locked_lessons(lessons: list[Lesson]) -> None:
    for lesson in lessons:
        lock = lesson_lock(lesson)
        if lock is not None and lock.closes_lesson:
            raise CancelledDayError([lock.message])


def cancel_day(scope: Scope, form: CancelRequest) -> int:
    """Cancel the day's lessons of the chosen classes (all classes when none); return the count."""
    day, classes = _read_request(scope, form, need_reason=True)
    lessons = _day_lessons(scope, day, classes, cancelled=False)
    if not lessons:
        raise CancelledDayError(
            [_("On %(date)s the chosen classes have no lessons to cancel.", date=format_date(day))]
        )
    _reject_locked_lessons(lessons)
    _reject_held_lessons(lessons, day)

    for lesson in lessons:
        lesson.is_cancelled = True
        lesson.cancel_reason = form.reason
    db.session.commit()
    return len(lessons)


def restore_day(scope: Scope, form: CancelRequest) -> int:
    """Give the cancelled lessons of the day back to the timetable; return the count."""
    day, classes = _read_request(scope, form, need_reason=False)
    lessons = _day_lessons(scope, day, classes, cancelled=True)
    if not lessons:
        raise CancelledDayError(
            [_("On %(date)s the chosen classes have no cancelled lessons.", date=format_date(day))]
        )
    _reject_locked_lessons(lessons)

    for lesson in lessons:
        lesson.is_cancelled = False
        lesson.cancel_reason = None
    db.session.commit()
    return len(lessons)


def cancelled_days(scope: Scope) -> list[CancelledDay]:
    """Days with cancelled lessons in open school years, newest first, per reason."""
    statement = (
        apply_scope(select(Lesson.date, Lesson.cancel_reason, SchoolClass.name), Lesson, scope)
        .join(Course, Course.id == Lesson.course_id)
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .join(AcademicYear, AcademicYear.id == Course.year_id)
        .where(Lesson.is_cancelled.is_(True), AcademicYear.is_closed.is_(False))
        .order_by(Lesson.date.desc(), SchoolClass.grade, SchoolClass.letter)
    )
    days: dict[tuple, CancelledDay] = {}
    for day, reason, class_name in db.session.execute(statement):
        key = (day, reason or "")
        entry = days.setdefault(key, CancelledDay(day, reason or "", [], 0))
        entry.lessons += 1
        if class_name not in entry.class_names:
            entry.class_names.append(class_name)
    return list(days.values())
