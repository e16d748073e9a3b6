"""Assessment procedures (оценочные процедуры): the federal placing rules and the schedule.

An assignment is an assessment procedure when its type is flagged
(``AssignmentType.is_assessment_procedure``). The federal recommendations on their placing
are checked when one is added. Broken rules are reported as warnings, not errors, because
the school may have its reasons. The rules:

- at most one procedure per class per day,
- not in the first or last lesson of the class's day, except in subjects of one hour a week,
- at most 10 % of the subject's annual hours in the year.

The schedule (график оценочных процедур) lists them per class for parents.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.models import (
    AcademicYear,
    Assignment,
    AssignmentType,
    Course,
    Lesson,
    SchoolClass,
    Subject,
    db,
)
from app.security.scope import Scope, apply_scope, scoped_get_or_404
from app.services.dates import format_date
from app.services.journal_fill import current_year

# NOTE: the study weeks are not a school setting yet, so a school with another number
# of study weeks gets a 10 % limit computed from these.
#: Study weeks of a school year: 33 in grade 1 and 34 in grades 2–11, the usual federal values.
STUDY_WEEKS = 34
FIRST_GRADE_STUDY_WEEKS = 33

#: Largest share of a subject's annual hours that assessment procedures may take.
MAX_ANNUAL_SHARE = Decimal("0.10")

#: Subjects of at most this many hours a week may have procedures in the first or last lesson.
ONE_HOUR_A_WEEK = Decimal(1)

#: Roles that only read their own or their children's class schedule.
FAMILY_ROLES = frozenset({"student", "parent"})


# --- The placing rules ------------------------------------------------------------


def check_procedure(
    lesson: Lesson, assignment_type: AssignmentType, exclude_assignment_id: int | None = None
) -> list[str]:
    """List the placing rules an assessment procedure of this type in ``lesson`` breaks.

    Each warning names the rule and what clashes with it. An empty list means that every
    rule is satisfied or that the type is not an assessment procedure.
    ``exclude_assignment_id`` leaves the assignment being edited out of the counts.
    Cancelled lessons do not count.
    """
    if not assignment_type.is_assessment_procedure:
        return []

    warnings = []
    same_day = _same_day_warning(lesson, exclude_assignment_id)
    if same_day:
        warnings.append(same_day)
    edge = _edge_lesson_warning(lesson)
    if edge:
        warnings.append(edge)
    share = _annual_share_warning(lesson, exclude_assignment_id)
    if share:
        warnings.append(share)
    return warnings


def _procedures_query(school_id: int, exclude_assignment_id: int | None):
    """Select (assignment, lesson) pairs of the school's procedures in lessons held."""
    statement = (
        select(Assignment, Lesson)
        .join(Lesson, Lesson.id == Assignment.lesson_id)
        .join(AssignmentType, AssignmentType.id == Assignment.type_id)
        .join(Course, Course.id == Lesson.course_id)
        .where(
            Assignment.school_id == school_id,
            AssignmentType.is_assessment_procedure.is_(True),
            Lesson.is_cancelled.is_(False),
        )
    )
    if exclude_assignment_id is not None:
        statement = statement.where(Assignment.id != exclude_assignment_id)
    return statement


def _same_day_warning(lesson: Lesson, exclude_assignment_id: int | None) -> str | None:
    """Warn when the class already has a procedure on the lesson's date."""
    # NOTE: procedures of two groups of the class on one day clash too, although each
    # student sits only one of them.
    course = lesson.course
    statement = (
        _procedures_query(lesson.school_id, exclude_assignment_id)
        .where(Course.class_id == course.class_id, Lesson.date == lesson.date)
        .order_by(Lesson.lesson_number, Assignment.id)
    )
    clashes = [
        _(
            "%(type)s, %(subject)s, lesson %(number)s",
            type=assignment.type.name,
            subject=other.course.subject.name,
            number=other.lesson_number,
        )
        for assignment, other in db.session.execute(statement)
    ]
    if not clashes:
        return None
    return _(
        "%(class)s already has an assessment procedure on %(date)s: %(clashes)s. "
        "At most one a day is recommended.",
        **{"class": course.school_class.name},
        date=format_date(lesson.date),
        clashes="; ".join(clashes),
    )


def _edge_lesson_warning(lesson: Lesson) -> str | None:
    """Warn when the lesson is the first or last of the class's day.

    The class's day is made of its lessons of that date that are not cancelled, including
    the lessons of its groups. Subjects of one hour a week are exempt.
    """
    course = lesson.course
    if Decimal(course.hours_per_week) <= ONE_HOUR_A_WEEK:
        return None

    statement = (
        select(Lesson.lesson_number)
        .join(Course, Course.id == Lesson.course_id)
        .where(
            Lesson.school_id == lesson.school_id,
            Course.class_id == course.class_id,
            Lesson.date == lesson.date,
            Lesson.is_cancelled.is_(False),
        )
    )
    numbers = set(db.session.scalars(statement)) | {lesson.lesson_number}
    values = {
        "number": lesson.lesson_number,
        "class": course.school_class.name,
        "date": format_date(lesson.date),
    }
    if lesson.lesson_number == min(numbers):
        return _(
            "Lesson %(number)s is the first lesson of %(class)s on %(date)s. Assessment "
            "procedures are not recommended in the first or last lesson of the day, except "
            "in subjects of one hour a week.",
            **values,
        )
    if lesson.lesson_number == max(numbers):
        return _(
            "Lesson %(number)s is the last lesson of %(class)s on %(date)s. Assessment "
            "procedures are not recommended in the first or last lesson of the day, except "
            "in subjects of one hour a week.",
            **values,
        )
    return None


def annual_hours(course: Course) -> Decimal:
    """Return the course's hours in the year: weekly hours × the grade's study weeks."""
    weeks = STUDY_WEEKS
    if course.school_class is not None and course.school_class.grade == 1:
        weeks = FIRST_GRADE_STUDY_WEEKS
    return Decimal(course.hours_per_week) * weeks


def annual_limit(course: Course) -> int:
    """Return how many procedures the course may have in the year: 10 % of its hours, floored."""
    limit = annual_hours(course) * MAX_ANNUAL_SHARE
    return int(limit.to_integral_value(rounding=ROUND_FLOOR))


def _annual_share_warning(lesson: Lesson, exclude_assignment_id: int | None) -> str | None:
    """Warn when one more procedure takes the course over 10 % of its annual hours."""
    course = lesson.course
    statement = _procedures_query(lesson.school_id, exclude_assignment_id).where(
        Lesson.course_id == course.id
    )
    existing = db.session.scalar(select(func.count()).select_from(statement.subquery()))
    count = existing + 1
    limit = annual_limit(course)
    if count <= limit:
        return None
    hours = annual_hours(course)
    return _(
        "This is assessment procedure number %(count)s in %(subject)s in %(class)s this "
        "year, but at most %(limit)s are recommended: 10 %% of the subject's %(hours)s "
        "hours a year.",
        count=count,
        subject=course.subject.name,
        limit=limit,
        hours=_format_hours(hours),
        **{"class": course.school_class.name},
    )


def _format_hours(hours: Decimal) -> str:
    text = f"{hours.normalize():f}"
    return text.replace(".", ",")


# --- The schedule -----------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleRow:
    """One assessment procedure of the schedule."""

    class_id: int
    class_name: str
    date: dt.date
    lesson_number: int
    subject: str
    assignment_type: str
    text: str


def procedure_schedule(
    school_id: int, date_from: dt.date, date_to: dt.date, class_id: int | None = None
) -> list[ScheduleRow]:
    """List a school's procedures from ``date_from`` to ``date_to``, for one class or all.

    Rows are ordered by class, date and lesson number. Procedures in cancelled lessons
    are left out, since they were not held.
    """
    statement = (
        select(
            SchoolClass.id,
            SchoolClass.name,
            Lesson.date,
            Lesson.lesson_number,
            Subject.name,
            AssignmentType.name,
            Assignment.text,
        )
        .select_from(Assignment)
        .join(Lesson, Lesson.id == Assignment.lesson_id)
        .join(AssignmentType, AssignmentType.id == Assignment.type_id)
        .join(Course, Course.id == Lesson.course_id)
        .join(Subject, Subject.id == Course.subject_id)
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .where(
            Assignment.school_id == school_id,
            AssignmentType.is_assessment_procedure.is_(True),
            Lesson.is_cancelled.is_(False),
            Lesson.date >= date_from,
            Lesson.date <= date_to,
        )
        .order_by(
            SchoolClass.grade,
            SchoolClass.name,
            Lesson.date,
            Lesson.lesson_number,
            Assignment.id,
        )
    )
    if class_id is not None:
        statement = statement.where(Course.class_id == class_id)
    return [ScheduleRow(*row) for row in db.session.execute(statement)]


def default_period(scope: Scope, today: dt.date) -> tuple[dt.date, dt.date]:
    """Return the current school year as the default period, or just today without one."""
    year = current_year(scope, today)
    if year is None:
        return today, today
    return year.start_date, year.end_date


def reads_whole_school(scope: Scope) -> bool:
    """Tell whether the session reads every class's schedule: any staff role does."""
    return bool(scope.role_codes - FAMILY_ROLES)


def schedule_classes(scope: Scope, date_from: dt.date, date_to: dt.date) -> list[SchoolClass]:
    """List the classes whose schedule the session may read, for the class selector.

    Staff get the school's classes of the years that overlap the period. Students and
    parents get their own or their children's classes.
    """
    if reads_whole_school(scope):
        years = select(AcademicYear.id).where(
            AcademicYear.school_id == scope.school_id,
            AcademicYear.start_date <= date_to,
            AcademicYear.end_date >= date_from,
        )
        statement = apply_scope(select(SchoolClass), SchoolClass, scope).where(
            SchoolClass.year_id.in_(years)
        )
        return list(db.session.scalars(statement.order_by(SchoolClass.grade, SchoolClass.name)))

    # Deferred import: the journal service imports this module for its save path, and
    # the diary may import the journal service in turn.
    from app.services.diary import own_students

    classes = {s.school_class.id: s.school_class for s in own_students(scope) if s.school_class}
    return sorted(classes.values(), key=lambda c: (c.grade, c.name))


def schedule_class_or_404(scope: Scope, class_id) -> SchoolClass:
    """Load a class whose schedule the session may read, or abort with 404 for any other id."""
    school_class = scoped_get_or_404(SchoolClass, class_id, scope)
    if reads_whole_school(scope):
        return school_class
    from app.services.diary import own_students

    own_class_ids = {s.class_id for s in own_students(scope)}
    if school_class.id not in own_class_ids:
        abort(404)
    return school_class
