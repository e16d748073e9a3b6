"""The substitution report: per teacher, lessons given as a substitute and lessons substituted.

Cancelled lessons are not counted, because they were not held.
"""

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import select

from app.models import Course, Employee, Lesson, SchoolClass, course_teacher, db
from app.security.scope import Scope, apply_scope
from app.services.dates import format_date


@dataclass
class TeacherCounts:
    """One line of the report."""

    employee_id: int
    name: str
    #: Lessons the teacher gave in place of another teacher.
    given: int = 0
    #: Lessons of the teacher's own courses that another teacher gave.
    substituted: int = 0


@dataclass
class SubstitutionLine:
    """One substituted lesson, for the detailed list."""

    date: dt.date
    lesson_number: int
    class_name: str
    subject: str
    own_teachers: str
    substitute: str
    reason: str


@dataclass
class SubstitutionReport:
    start: dt.date
    end: dt.date
    teachers: list[TeacherCounts]
    lines: list[SubstitutionLine]


def _substituted_lessons(scope: Scope, start: dt.date, end: dt.date) -> list[Lesson]:
    statement = (
        apply_scope(select(Lesson), Lesson, scope)
        .join(Course, Course.id == Lesson.course_id)
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .where(
            Lesson.date >= start,
            Lesson.date <= end,
            Lesson.substitute_id.is_not(None),
            Lesson.is_cancelled.is_(False),
        )
        .order_by(Lesson.date, Lesson.lesson_number, SchoolClass.grade, SchoolClass.name)
    )
    return list(db.session.scalars(statement).unique())


def substitution_report(scope: Scope, start: dt.date, end: dt.date) -> SubstitutionReport:
    """Count the substitutions of ``start``–``end`` per teacher, and list them."""
    lessons = _substituted_lessons(scope, start, end)
    course_ids = {lesson.course_id for lesson in lessons}
    own_teachers: dict[int, set[int]] = {}
    if course_ids:
        pairs = db.session.execute(
            select(course_teacher.c.course_id, course_teacher.c.employee_id).where(
                course_teacher.c.course_id.in_(course_ids)
            )
        )
        for course_id, employee_id in pairs:
            own_teachers.setdefault(course_id, set()).add(employee_id)

    counts: dict[int, TeacherCounts] = {}
    employee_ids = {lesson.substitute_id for lesson in lessons}
    for teachers in own_teachers.values():
        employee_ids |= teachers
    if employee_ids:
        employees = apply_scope(
            select(Employee).where(Employee.id.in_(employee_ids)), Employee, scope
        )
        for employee in db.session.scalars(employees):
            counts[employee.id] = TeacherCounts(employee.id, employee.full_name)

    lines = []
    for lesson in lessons:
        if lesson.substitute_id in counts:
            counts[lesson.substitute_id].given += 1
        for employee_id in own_teachers.get(lesson.course_id, set()) - {lesson.substitute_id}:
            if employee_id in counts:
                counts[employee_id].substituted += 1
        lines.append(
            SubstitutionLine(
                date=lesson.date,
                lesson_number=lesson.lesson_number,
                class_name=lesson.course.school_class.name,
                subject=lesson.course.subject.name,
                own_teachers=", ".join(t.short_name for t in lesson.course.teachers),
                substitute=lesson.substitute.short_name,
                reason=lesson.change_reason or "",
            )
        )
    teachers = sorted(counts.values(), key=lambda item: item.name)
    return SubstitutionReport(start, end, teachers, lines)


def report_frames(report: SubstitutionReport) -> list:
    """Build the two sheets of the report for :func:`app.reports.xlsx.frame_to_xlsx`."""
    teacher_column = _("Teacher")
    given_column = _("Lessons given as a substitute")
    substituted_column = _("Own lessons substituted")
    totals = pd.DataFrame(
        [(t.name, t.given, t.substituted) for t in report.teachers],
        columns=[teacher_column, given_column, substituted_column],
    )
    date_column = _("Date")
    details = pd.DataFrame(
        [
            (
                line.date,
                line.lesson_number,
                line.class_name,
                line.subject,
                line.own_teachers,
                line.substitute,
                line.reason,
            )
            for line in report.lines
        ],
        columns=[
            date_column,
            _("Lesson"),
            _("Class"),
            _("Subject"),
            _("Teacher of the course"),
            _("Substitute"),
            _("Reason"),
        ],
    )
    return [
        (_("By teacher"), totals, {given_column: "0", substituted_column: "0"}),
        (_("Substitutions"), details, {date_column: "dd.mm.yyyy"}),
    ]


def report_filters(report: SubstitutionReport) -> str:
    return _(
        "From %(start)s to %(end)s",
        start=format_date(report.start),
        end=format_date(report.end),
    )
