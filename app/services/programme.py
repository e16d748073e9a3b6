"""«Выполнение программы»: planned against given hours per course, from the thematic plans.

For a period (the school year's start to today by default), each course gets:

- planned hours: the hours of its plan items that fall in the period. An item with a
  planned date falls on that date. An item without one falls on the lessons it covers by
  position: the course's lessons that are not cancelled, in date order, take the items in
  turn, an item of two hours covering two lessons, as the topic pre-fill does;
- given hours: lessons held in the period, that is not cancelled and with a topic;
- lag = planned − given, and the share given / planned;
- the plan's total for the year.

A course without a plan is planned at its hours a week times the weeks of the period,
and the report marks such rows.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import case, func, or_, select

from app.models import (
    AcademicYear,
    Course,
    Employee,
    Lesson,
    PlanItem,
    SchoolClass,
    Subject,
    course_teacher,
    db,
)
from app.security.scope import Scope, apply_scope, scoped_get_or_404
from app.services.dates import format_date, parse_user_date
from app.services.journal import JournalAccess, visible_courses_query
from app.services.journal_fill import current_year
from app.services.thematic_plan import item_offsets

DAYS_IN_WEEK = Decimal(7)
ONE_DECIMAL = Decimal("0.1")


@dataclass
class ProgrammeFilters:
    """The period and the optional class, subject and teacher of the report."""

    date_from: dt.date
    date_to: dt.date
    year: AcademicYear | None = None
    school_class: SchoolClass | None = None
    subject: Subject | None = None
    teacher: Employee | None = None
    errors: list[str] = field(default_factory=list)

    def period_end(self, today: dt.date) -> dt.date:
        """Return the last day counted, because lessons after today are not given yet."""
        return min(self.date_to, today)


@dataclass
class ProgrammeRow:
    """Planned and given hours of one course in the period."""

    course_id: int
    school_class: str
    subject: str
    teachers: str
    planned: Decimal
    given: int
    year_total: Decimal
    #: False when the course has no plan and the plan is hours a week × weeks.
    has_plan: bool

    @property
    def lag(self) -> Decimal:
        return self.planned - self.given

    @property
    def share(self) -> float | None:
        """Given hours as a fraction of the planned ones; None when nothing was planned."""
        return float(self.given / self.planned) if self.planned else None


# --- The filters --------------------------------------------------------------------


def parse_filters(scope: Scope, args, today: dt.date) -> ProgrammeFilters:
    """Read ?date_from=, ?date_to=, ?class=, ?subject= and ?teacher= of the request.

    An id of another school, an unknown or non-numeric id aborts with 404. The period is
    the current school year's start to today unless both dates are given. Invalid dates
    go to ``errors``, and then the default period is used.
    """
    errors: list[str] = []
    school_class = _scoped_id(args.get("class"), SchoolClass, scope)
    subject = _scoped_id(args.get("subject"), Subject, scope)
    teacher = _scoped_id(args.get("teacher"), Employee, scope)
    year = current_year(scope, today)

    date_from = _parse_date(args.get("date_from"), errors)
    date_to = _parse_date(args.get("date_to"), errors)
    if date_from is not None and date_to is not None:
        if date_from <= date_to:
            year = _year_containing(scope, date_to) or year
            return ProgrammeFilters(
                date_from, date_to, year, school_class, subject, teacher, errors
            )
        errors.append(
            _(
                "The period starts on %(start)s after its end %(end)s: swap the dates.",
                start=format_date(date_from),
                end=format_date(date_to),
            )
        )
    elif date_from is not None or date_to is not None:
        errors.append(_("Enter both dates of the period, or neither for the school year."))

    start = year.start_date if year is not None else today - dt.timedelta(days=30)
    return ProgrammeFilters(start, today, year, school_class, subject, teacher, errors)


def _scoped_id(value: str | None, model, scope: Scope):
    if not value:
        return None
    if not value.isdigit():
        abort(404)
    return scoped_get_or_404(model, int(value), scope)


def _parse_date(value: str | None, errors: list[str]) -> dt.date | None:
    if not value:
        return None
    day = parse_user_date(value)
    if day is None:
        errors.append(
            _(
                "The date «%(value)s» is invalid: choose it in the calendar "
                "or enter it as 05.10.2026.",
                value=value,
            )
        )
    return day


def _year_containing(scope: Scope, day: dt.date) -> AcademicYear | None:
    statement = apply_scope(select(AcademicYear), AcademicYear, scope).where(
        AcademicYear.start_date <= day, AcademicYear.end_date >= day
    )
    return db.session.scalars(statement).first()


def school_choices(scope: Scope) -> dict:
    """List the school's classes, subjects and teachers of courses, for the selectors."""
    classes = apply_scope(select(SchoolClass), SchoolClass, scope).order_by(
        SchoolClass.grade, SchoolClass.name
    )
    subjects = apply_scope(select(Subject), Subject, scope).order_by(Subject.name)
    teachers = (
        apply_scope(select(Employee), Employee, scope)
        .where(Employee.id.in_(select(course_teacher.c.employee_id)))
        .order_by(Employee.last_name, Employee.first_name)
    )
    return {
        "classes": list(db.session.scalars(classes)),
        "subjects": list(db.session.scalars(subjects)),
        "teachers": list(db.session.scalars(teachers)),
    }


def describe_filters(filters: ProgrammeFilters, today: dt.date) -> str:
    """Describe the period and filters in words, for the line above an export's header."""
    parts = [
        _(
            "Hours from %(start)s to %(end)s",
            start=format_date(filters.date_from),
            end=format_date(filters.period_end(today)),
        )
    ]
    if filters.school_class is not None:
        parts.append(_("class %(name)s", name=filters.school_class.name))
    if filters.subject is not None:
        parts.append(_("subject %(name)s", name=filters.subject.name))
    if filters.teacher is not None:
        parts.append(_("teacher %(name)s", name=filters.teacher.short_name))
    return ", ".join(parts) + "."


# --- The report -----------------------------------------------------------------------


def _courses(access: JournalAccess, filters: ProgrammeFilters) -> list[Course]:
    """Load the courses of the period's year that the session may open, in class order."""
    if filters.year is None:
        return []
    statement = visible_courses_query(access).where(Course.year_id == filters.year.id)
    if filters.school_class is not None:
        statement = statement.where(Course.class_id == filters.school_class.id)
    if filters.subject is not None:
        statement = statement.where(Course.subject_id == filters.subject.id)
    if filters.teacher is not None:
        statement = statement.where(
            Course.id.in_(
                select(course_teacher.c.course_id).where(
                    course_teacher.c.employee_id == filters.teacher.id
                )
            )
        )
    statement = (
        statement.join(Subject, Subject.id == Course.subject_id)
        .order_by(None)
        .order_by(SchoolClass.grade, SchoolClass.name, Subject.name, Course.id)
    )
    return list(db.session.scalars(statement).unique())


def _lessons_by_course(school_id: int, course_ids: list[int], last_day: dt.date) -> dict:
    """(date, has topic) of every lesson not cancelled up to ``last_day``, per course, in order."""
    has_topic = case((or_(Lesson.topic.is_(None), func.trim(Lesson.topic) == ""), 0), else_=1)
    statement = (
        select(Lesson.course_id, Lesson.date, has_topic)
        .where(
            Lesson.school_id == school_id,
            Lesson.course_id.in_(course_ids),
            Lesson.is_cancelled.is_(False),
            Lesson.date <= last_day,
        )
        .order_by(Lesson.course_id, Lesson.date, Lesson.lesson_number, Lesson.id)
    )
    lessons = defaultdict(list)
    for course_id, day, topic_flag in db.session.execute(statement):
        lessons[course_id].append((day, bool(topic_flag)))
    return lessons


def _plans_by_course(school_id: int, course_ids: list[int]) -> dict:
    statement = (
        select(PlanItem)
        .where(PlanItem.school_id == school_id, PlanItem.course_id.in_(course_ids))
        .order_by(PlanItem.course_id, PlanItem.position)
    )
    plans = defaultdict(list)
    for item in db.session.scalars(statement):
        plans[item.course_id].append(item)
    return plans


def planned_hours(
    items: list[PlanItem], lesson_dates: list[dt.date], first: dt.date, last: dt.date
):
    """Sum the plan hours that fall in ``first``..``last``.

    ``lesson_dates`` are the course's lessons not cancelled up to ``last``, in order. An
    item without a planned date counts the part of its hours that covers lessons of the
    period: the lessons before ``first`` take the plan's first hours.
    """
    period_start = Decimal(sum(1 for day in lesson_dates if day < first))
    period_end = Decimal(len(lesson_dates))
    total = Decimal(0)
    for item, (start, end) in zip(items, item_offsets(items), strict=True):
        if item.planned_date is not None:
            if first <= item.planned_date <= last:
                total += Decimal(item.hours)
            continue
        overlap = min(end, period_end) - max(start, period_start)
        if overlap > 0:
            total += overlap
    return total


def _weekly_plan(course: Course, first: dt.date, last: dt.date) -> Decimal:
    """Hours a week × the weeks from ``first`` to ``last``, to one decimal place."""
    # NOTE: vacations and holidays are not subtracted, so in a period with a vacation
    # the plan of a course without a thematic plan is too high.
    days = (last - first).days + 1
    if days <= 0:
        return Decimal(0)
    weeks = Decimal(days) / DAYS_IN_WEEK
    return (Decimal(course.hours_per_week) * weeks).quantize(ONE_DECIMAL, ROUND_HALF_UP)


def programme_rows(
    access: JournalAccess, filters: ProgrammeFilters, today: dt.date
) -> list[ProgrammeRow]:
    """Compute planned and given hours of every course the session may open."""
    courses = _courses(access, filters)
    if not courses:
        return []
    first, last = filters.date_from, filters.period_end(today)
    school_id = access.scope.school_id
    course_ids = [course.id for course in courses]
    lessons = _lessons_by_course(school_id, course_ids, last)
    plans = _plans_by_course(school_id, course_ids)

    rows = []
    for course in courses:
        course_lessons = lessons.get(course.id, [])
        items = plans.get(course.id, [])
        given = sum(1 for day, has_topic in course_lessons if day >= first and has_topic)
        if items:
            dates = [day for day, _has_topic in course_lessons]
            planned = planned_hours(items, dates, first, last)
            year_total = sum((Decimal(item.hours) for item in items), Decimal(0))
        else:
            planned = _weekly_plan(course, first, last)
            year_total = _weekly_plan(course, filters.year.start_date, filters.year.end_date)
        rows.append(
            ProgrammeRow(
                course_id=course.id,
                school_class=course.school_class.name,
                subject=course.subject.name,
                teachers=", ".join(teacher.short_name for teacher in course.teachers),
                planned=planned,
                given=given,
                year_total=year_total,
                has_plan=bool(items),
            )
        )
    return rows
