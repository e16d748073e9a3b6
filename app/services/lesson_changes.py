"""Changes of single dated lessons (замены): substitution, room change, move, cancellation.

Each change carries a reason and the time it was saved. A clash with another lesson of the
substitute teacher, the room, the class or the course's teachers is reported as a warning,
and the change is saved only when the user confirms it. A change is refused outright when
the lesson's term or year is closed, or when a cancelled lesson already has marks or
attendance (it was held), or when it moves onto a Sunday.
"""

import datetime as dt
import logging
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import selectinload

from app.errors import FormErrors
from app.models import (
    AcademicYear,
    Assignment,
    Attendance,
    Course,
    Employee,
    Holiday,
    Lesson,
    Room,
    SchoolClass,
    Term,
    course_teacher,
    db,
)
from app.security.scope import Scope, apply_scope, scoped_get_or_404
from app.services.dates import format_date, parse_date_field
from app.services.journal import lesson_term
from app.services.timetable import _BellTimes, _vacation_days

log = logging.getLogger(__name__)

#: The changes the form offers, by the value of its ``action`` field.
ACTIONS = ("substitute", "room", "move", "cancel", "restore")

#: Lesson numbers a lesson may be moved to, as the template allows.
LESSON_NUMBERS = range(0, 13)


class LessonChangeError(FormErrors):
    """The change cannot be saved as asked; nothing was changed."""


class LessonChangeConflict(FormErrors):
    """The change clashes with other lessons; it is saved only when the user confirms it."""


@dataclass
class ChangeRequest:
    """The typed form of one change."""

    action: str = ""
    substitute_id: str = ""
    room_id: str = ""
    date_text: str = ""
    number_text: str = ""
    reason: str = ""
    #: True when the user saw the warnings and asked to save anyway.
    confirmed: bool = False

    @classmethod
    def from_form(cls, form) -> "ChangeRequest":
        return cls(
            action=form.get("action", "").strip(),
            substitute_id=form.get("substitute_id", "").strip(),
            room_id=form.get("room_id", "").strip(),
            date_text=form.get("date", "").strip(),
            number_text=form.get("lesson_number", "").strip(),
            reason=form.get("reason", "").strip(),
            confirmed=form.get("confirmed") == "1",
        )


# --- Who and what is busy -----------------------------------------------------------


def lesson_teacher_ids(lesson: Lesson) -> set[int]:
    """Employees who give the lesson: the substitute, else the course's own teachers."""
    if lesson.substitute_id is not None:
        return {lesson.substitute_id}
    return {teacher.id for teacher in lesson.course.teachers}


def _held_at(school_id: int, day: dt.date, number: int, exclude_id: int | None):
    """Build a select() of the lessons held at a date and lesson number, cancelled ones aside."""
    statement = select(Lesson).where(
        Lesson.school_id == school_id,
        Lesson.date == day,
        Lesson.lesson_number == number,
        Lesson.is_cancelled.is_(False),
    )
    if exclude_id is not None:
        statement = statement.where(Lesson.id != exclude_id)
    return statement


def teacher_lessons_at(
    school_id: int, employee_ids: set[int], day: dt.date, number: int, exclude_id=None
) -> list[Lesson]:
    """Lessons the employees give at that time, as substitutes or as the course's teachers."""
    if not employee_ids:
        return []
    taught = select(course_teacher.c.course_id).where(
        course_teacher.c.employee_id.in_(employee_ids)
    )
    statement = _held_at(school_id, day, number, exclude_id).where(
        or_(
            Lesson.substitute_id.in_(employee_ids),
            and_(Lesson.substitute_id.is_(None), Lesson.course_id.in_(taught)),
        )
    )
    return list(db.session.scalars(statement))


def room_lessons_at(
    school_id: int, room_id: int, day: dt.date, number: int, exclude_id=None
) -> list[Lesson]:
    statement = _held_at(school_id, day, number, exclude_id).where(Lesson.room_id == room_id)
    return list(db.session.scalars(statement))


def class_lessons_at(lesson: Lesson, day: dt.date, number: int) -> list[Lesson]:
    """Lessons of the lesson's class at that time; two different groups of it may share it."""
    course = lesson.course
    statement = (
        _held_at(lesson.school_id, day, number, lesson.id)
        .join(Course, Course.id == Lesson.course_id)
        .where(Course.class_id == course.class_id)
    )
    clashes = []
    for other in db.session.scalars(statement):
        groups = (course.group_id, other.course.group_id)
        if None not in groups and groups[0] != groups[1]:
            continue
        clashes.append(other)
    return clashes


def _describe(lesson: Lesson) -> str:
    course = lesson.course
    return _(
        "%(subject)s of %(target)s, lesson %(number)s on %(date)s",
        subject=course.subject.name,
        target=course.group.name if course.group else course.school_class.name,
        number=lesson.lesson_number,
        date=format_date(lesson.date),
    )


# --- The change -------------------------------------------------------------------------


def _check_open(lesson: Lesson) -> None:
    year = lesson.course.year
    if year is not None and year.is_closed:
        raise LessonChangeError(
            [
                _(
                    "The school year %(name)s is closed, so its lessons cannot be changed.",
                    name=year.name,
                )
            ]
        )
    term = lesson_term(lesson)
    if term is not None and term.is_closed:
        raise LessonChangeError(
            [
                _(
                    "The term %(name)s is closed, so its lessons cannot be changed. "
                    "Reopen the term first.",
                    name=term.name,
                )
            ]
        )


def _require_reason(request: ChangeRequest, errors: list) -> None:
    if not request.reason:
        errors.append(_("Enter the reason of the change, for example «болезнь учителя»."))


def _raise_conflicts(request: ChangeRequest, warnings: list[str]) -> None:
    if warnings and not request.confirmed:
        raise LessonChangeConflict(warnings)


def change_lesson(
    scope: Scope, lesson: Lesson, request: ChangeRequest, now: dt.datetime | None = None
) -> str:
    """Apply one change to the lesson and commit; return the message for the page.

    Raises :class:`LessonChangeError` for invalid input and :class:`LessonChangeConflict`
    for clashes the user has not confirmed; nothing is written in either case.
    """
    if request.action not in ACTIONS:
        raise LessonChangeError(
            [_("Choose what to change: substitution, room, move or cancellation.")]
        )
    _check_open(lesson)

    handlers = {
        "substitute": _substitute,
        "room": _change_room,
        "move": _move,
        "cancel": _cancel,
        "restore": _restore,
    }
    message = handlers[request.action](scope, lesson, request)
    lesson.changed_at = now or dt.datetime.now()
    db.session.commit()
    log.info(
        "User %s changed lesson %d of school %d: %s",
        scope.user_id,
        lesson.id,
        lesson.school_id,
        request.action,
    )
    return message


def _substitute(scope: Scope, lesson: Lesson, request: ChangeRequest) -> str:
    if not request.substitute_id:
        lesson.substitute_id = None
        lesson.change_reason = request.reason or None
        return _("The substitution was removed: the course's own teacher gives the lesson.")

    errors: list[str] = []
    _require_reason(request, errors)
    substitute = scoped_get_or_404(Employee, request.substitute_id, scope)
    if substitute.id in {teacher.id for teacher in lesson.course.teachers}:
        errors.append(
            _(
                "%(name)s already teaches this course. Choose another teacher as the substitute.",
                name=substitute.short_name,
            )
        )
    if errors:
        raise LessonChangeError(errors)

    busy = teacher_lessons_at(
        lesson.school_id, {substitute.id}, lesson.date, lesson.lesson_number, lesson.id
    )
    _raise_conflicts(
        request,
        [
            _(
                "%(name)s already gives %(lesson)s.",
                name=substitute.short_name,
                lesson=_describe(other),
            )
            for other in busy
        ],
    )
    lesson.substitute_id = substitute.id
    lesson.change_reason = request.reason
    return _("%(name)s now substitutes in the lesson.", name=substitute.short_name)


def _change_room(scope: Scope, lesson: Lesson, request: ChangeRequest) -> str:
    errors: list[str] = []
    _require_reason(request, errors)
    if not request.room_id:
        errors.append(_("Choose the room the lesson moves to."))
    if errors:
        raise LessonChangeError(errors)
    room = scoped_get_or_404(Room, request.room_id, scope)

    busy = room_lessons_at(lesson.school_id, room.id, lesson.date, lesson.lesson_number, lesson.id)
    _raise_conflicts(
        request,
        [
            _("Room %(room)s is taken by %(lesson)s.", room=room.name, lesson=_describe(other))
            for other in busy
        ],
    )
    lesson.room_id = room.id
    lesson.room_changed = True
    lesson.change_reason = request.reason
    return _("The lesson is now in room %(room)s.", room=room.name)


def _read_target(lesson: Lesson, request: ChangeRequest) -> tuple[dt.date, int]:
    errors: list[str] = []
    _require_reason(request, errors)
    day = parse_date_field(
        request.date_text,
        _("Enter the date the lesson moves to, for example 05.02.2027."),
        _("«%(value)s» is not a date: write it as 05.02.2027.", value=request.date_text),
        errors,
    )

    number = None
    try:
        number = int(request.number_text)
    except ValueError:
        pass
    if number not in LESSON_NUMBERS:
        errors.append(
            _(
                "«%(value)s» is not a lesson number: enter a number from 0 to 12.",
                value=request.number_text,
            )
        )
    year = lesson.course.year
    if day is not None and year is not None and not year.contains(day):
        errors.append(
            _(
                "%(date)s is outside the school year %(name)s: "
                "choose a date from %(start)s to %(end)s.",
                date=format_date(day),
                name=year.name,
                start=format_date(year.start_date),
                end=format_date(year.end_date),
            )
        )
    if day is not None and (day, number) == (lesson.date, lesson.lesson_number):
        errors.append(_("The lesson is already at that date and number: choose another one."))

    if day is not None and day.isoweekday() == 7 and not _is_working_day(lesson.school_id, day):
        errors.append(
            _(
                "%(date)s is a Sunday, and lessons are not moved to a Sunday: choose a "
                "day from Monday to Saturday.",
                date=format_date(day),
            )
        )
    if errors:
        raise LessonChangeError(errors)
    return day, number


def _is_working_day(school_id: int, day: dt.date) -> bool:
    """Tell whether the school entered ``day`` as a working day moved from a weekday."""
    statement = select(Holiday.id).where(
        Holiday.school_id == school_id, Holiday.date == day, Holiday.is_working_day.is_(True)
    )
    return db.session.scalar(statement) is not None


def term_lessons_generated(scope: Scope, day: dt.date) -> bool:
    """Tell whether the school has lessons in the term of ``day``, or ``day`` is in no term.

    The day page then reports a day without lessons instead of asking to generate them.
    """
    term = db.session.scalars(
        select(Term)
        .join(AcademicYear, AcademicYear.id == Term.year_id)
        .where(
            AcademicYear.school_id == scope.school_id,
            Term.start_date <= day,
            Term.end_date >= day,
        )
    ).first()
    if term is None:
        return True
    statement = select(Lesson.id).where(
        Lesson.school_id == scope.school_id,
        Lesson.date >= term.start_date,
        Lesson.date <= term.end_date,
    )
    return db.session.scalar(statement.limit(1)) is not None


def _move(scope: Scope, lesson: Lesson, request: ChangeRequest) -> str:
    day, number = _read_target(lesson, request)
    same_course = db.session.scalar(
        select(Lesson.id).where(
            Lesson.school_id == lesson.school_id,
            Lesson.course_id == lesson.course_id,
            Lesson.date == day,
            Lesson.lesson_number == number,
        )
    )
    if same_course is not None:
        raise LessonChangeError(
            [_("The course already has a lesson at that date and number: choose another one.")]
        )

    warnings = day_off_warnings(lesson, day)
    warnings += [
        _("The class already has %(lesson)s.", lesson=_describe(other))
        for other in class_lessons_at(lesson, day, number)
    ]
    teachers = lesson_teacher_ids(lesson)
    for other in teacher_lessons_at(lesson.school_id, teachers, day, number, lesson.id):
        warnings.append(_("The teacher already gives %(lesson)s.", lesson=_describe(other)))
    if lesson.room_id is not None:
        for other in room_lessons_at(lesson.school_id, lesson.room_id, day, number, lesson.id):
            warnings.append(_("The room is taken by %(lesson)s.", lesson=_describe(other)))
    _raise_conflicts(request, warnings)

    if lesson.moved_from_date is None:
        lesson.moved_from_date = lesson.date
        lesson.moved_from_number = lesson.lesson_number
    elif (lesson.moved_from_date, lesson.moved_from_number) == (day, number):
        lesson.moved_from_date = None
        lesson.moved_from_number = None
    school_class = lesson.course.school_class
    times = _BellTimes(lesson.school_id).periods(school_class.grade, school_class.shift, day)
    lesson.date = day
    lesson.lesson_number = number
    lesson.starts_at, lesson.ends_at = times.get(number, (None, None))
    lesson.change_reason = request.reason
    return _(
        "The lesson was moved to lesson %(number)s on %(date)s.",
        number=number,
        date=format_date(day),
    )


def day_off_warnings(lesson: Lesson, day: dt.date) -> list[str]:
    """Warn when ``day`` is a public holiday, a vacation day of the class, or a Sunday."""
    holiday = db.session.scalar(
        select(Holiday).where(Holiday.school_id == lesson.school_id, Holiday.date == day)
    )
    if holiday is not None and not holiday.is_working_day:
        return [
            _("%(date)s is a public holiday: %(name)s.", date=format_date(day), name=holiday.name)
        ]
    school_days, class_days = _vacation_days(lesson.school_id, lesson.course.year_id)
    if day in school_days or day in class_days.get(lesson.course.class_id, ()):
        return [_("%(date)s falls in a vacation of the class.", date=format_date(day))]
    if day.isoweekday() == 7 and holiday is None:
        return [_("%(date)s is a Sunday.", date=format_date(day))]
    return []


def has_journal_entries(lesson: Lesson) -> bool:
    """Tell whether the lesson has marks or attendance, so it was held."""
    marked = select(Assignment.id).where(Assignment.lesson_id == lesson.id)
    attended = select(Attendance.id).where(Attendance.lesson_id == lesson.id)
    return bool(db.session.scalar(select(exists(marked) | exists(attended))))


def _cancel(scope: Scope, lesson: Lesson, request: ChangeRequest) -> str:
    errors: list[str] = []
    _require_reason(request, errors)
    if has_journal_entries(lesson):
        errors.append(
            _(
                "The lesson has assignments or attendance, so it was held and cannot be "
                "cancelled. Remove them in the journal first."
            )
        )
    if errors:
        raise LessonChangeError(errors)
    lesson.is_cancelled = True
    lesson.cancel_reason = request.reason
    return _("The lesson was cancelled.")


def _restore(scope: Scope, lesson: Lesson, request: ChangeRequest) -> str:
    if not lesson.is_cancelled:
        raise LessonChangeError([_("The lesson is not cancelled, so there is nothing to restore.")])
    lesson.is_cancelled = False
    lesson.cancel_reason = None
    return _("The lesson was restored.")


# --- The day's lessons and changes ----------------------------------------------------


@dataclass
class DayLesson:
    """A lesson of the day as the changes page lists it."""

    lesson: Lesson
    class_name: str
    teacher: str
    #: Short texts of its changes: substitution, room, move, cancellation.
    changes: list[str] = field(default_factory=list)
    reason: str = ""


def _change_texts(lesson: Lesson) -> list[str]:
    texts = []
    if lesson.substitute is not None:
        texts.append(_("substitution: %(name)s", name=lesson.substitute.short_name))
    if lesson.room_changed and lesson.room is not None:
        texts.append(_("room changed to %(room)s", room=lesson.room.name))
    if lesson.moved_from_date is not None:
        texts.append(
            _(
                "moved from lesson %(number)s on %(date)s",
                number=lesson.moved_from_number,
                date=format_date(lesson.moved_from_date),
            )
        )
    if lesson.is_cancelled:
        texts.append(_("cancelled"))
    return texts


def _day_lesson(lesson: Lesson) -> DayLesson:
    teachers = ", ".join(teacher.short_name for teacher in lesson.course.teachers)
    reason = lesson.cancel_reason if lesson.is_cancelled else lesson.change_reason
    return DayLesson(
        lesson=lesson,
        class_name=lesson.course.school_class.name,
        teacher=teachers,
        changes=_change_texts(lesson),
        reason=reason or "",
    )


def _with_details(statement):
    """Load what the page prints of each lesson in a few queries, not a few per lesson."""
    return statement.options(
        selectinload(Lesson.substitute),
        selectinload(Lesson.course).selectinload(Course.group),
    )


def day_lessons(scope: Scope, day: dt.date) -> list[DayLesson]:
    """List every lesson of the school on ``day``, by class and lesson number."""
    statement = (
        apply_scope(select(Lesson), Lesson, scope)
        .join(Course, Course.id == Lesson.course_id)
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .where(Lesson.date == day)
        .order_by(SchoolClass.grade, SchoolClass.name, Lesson.lesson_number, Lesson.id)
    )
    return [_day_lesson(lesson) for lesson in db.session.scalars(_with_details(statement)).unique()]


def day_changes(scope: Scope, day: dt.date) -> list[DayLesson]:
    """List the changed lessons of ``day``, those moved away from it included."""
    statement = (
        apply_scope(select(Lesson), Lesson, scope)
        .join(Course, Course.id == Lesson.course_id)
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .where(
            or_(
                and_(Lesson.date == day, Lesson.changed_at.is_not(None)),
                Lesson.moved_from_date == day,
            )
        )
        .order_by(SchoolClass.grade, SchoolClass.name, Lesson.lesson_number, Lesson.id)
    )
    return [
        item
        for item in (
            _day_lesson(lesson) for lesson in db.session.scalars(_with_details(statement)).unique()
        )
        if item.changes
    ]


def substitute_choices(scope: Scope) -> list[Employee]:
    """Active employees of the school, for the choice of a substitute."""
    statement = apply_scope(select(Employee), Employee, scope).where(Employee.is_active.is_(True))
    return list(db.session.scalars(statement.order_by(Employee.last_name, Employee.first_name)))


def room_choices(scope: Scope) -> list[Room]:
    return list(db.session.scalars(apply_scope(select(Room), Room, scope).order_by(Room.name)))
