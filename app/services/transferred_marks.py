"""Marks brought by an arriving student from another school's extract of current marks.

The secretary or the student's class teacher enters each mark of the extract against a
course of the student's new class, with its date, value and weight. The course grid, the
diary results with the class average, the suggested term marks and the school reports of
current averages add these marks to the journal's own marks of the term containing their
date, under the same weighted-average rule.
"""

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import select

from app.errors import DomainError, FormErrors
from app.models import (
    AcademicYear,
    Course,
    Employee,
    Enrollment,
    SchoolClass,
    Student,
    Term,
    TransferredMark,
    db,
)
from app.security.scope import Scope, apply_scope, scoped_get_or_404
from app.services.dates import format_date, parse_user_date
from app.services.journal_audit import record_change

log = logging.getLogger(__name__)

#: Largest weight that fits the Numeric(5, 2) column.
MAX_WEIGHT = Decimal("999.99")
MAX_SOURCE_LENGTH = 255

#: Roles that enter marks from an extract for any student of their school.
WHOLE_SCHOOL_ROLES = ("secretary", "principal", "server_admin")


class TransferredMarkInputError(FormErrors):
    """One or more values of the form of a mark from an extract are invalid."""


# --- Marks in averages ------------------------------------------------------------------


def transferred_marks_query(
    school_id: int,
    course_ids,
    start: dt.date | None,
    end: dt.date | None,
    student_id: int | None = None,
):
    """Build a select() of the transferred marks of the courses dated ``start``..``end``.

    Without dates every mark of the courses is selected, as the grid shows a course
    without terms.
    """
    statement = select(TransferredMark).where(
        TransferredMark.school_id == school_id,
        TransferredMark.course_id.in_(list(course_ids)),
    )
    if start is not None:
        statement = statement.where(TransferredMark.date >= start)
    if end is not None:
        statement = statement.where(TransferredMark.date <= end)
    if student_id is not None:
        statement = statement.where(TransferredMark.student_id == student_id)
    return statement


def transferred_pairs(
    school_id: int, course_ids, start: dt.date | None, end: dt.date | None
) -> dict[tuple[int, int], list[tuple[int, Decimal]]]:
    """Map (student id, course id) to the (value, weight) pairs of the transferred marks."""
    statement = transferred_marks_query(school_id, course_ids, start, end).with_only_columns(
        TransferredMark.student_id,
        TransferredMark.course_id,
        TransferredMark.value,
        TransferredMark.weight,
    )
    pairs: dict[tuple[int, int], list[tuple[int, Decimal]]] = defaultdict(list)
    for student, course, value, weight in db.session.execute(statement):
        pairs[(student, course)].append((value, Decimal(str(weight))))
    return pairs


# --- Who enters them --------------------------------------------------------------------


@dataclass(frozen=True)
class TransferredAccess:
    """Whose marks from an extract a session may read and enter."""

    scope: Scope
    may_write: bool
    reads_whole_school: bool
    #: Classes whose class teacher is this session's staff row.
    led_class_ids: frozenset


def transferred_access(scope: Scope, may_write: bool) -> TransferredAccess:
    """Work out the session's rights from its roles and the permission matrix."""
    led = frozenset()
    if scope.user_id is not None and scope.has_role("teacher"):
        employees = select(Employee.id).where(
            Employee.school_id == scope.school_id, Employee.user_id == scope.user_id
        )
        led = frozenset(
            db.session.scalars(
                select(SchoolClass.id).where(
                    SchoolClass.school_id == scope.school_id,
                    SchoolClass.class_teacher_id.in_(employees),
                )
            )
        )
    whole = scope.level == "server" or scope.has_role(*WHOLE_SCHOOL_ROLES)
    return TransferredAccess(scope, may_write, whole, led)


def student_or_404(access: TransferredAccess, student_id) -> Student:
    """Load a student whose marks the session may open; a class teacher gets own class only."""
    student = scoped_get_or_404(Student, student_id, access.scope)
    if not access.reads_whole_school and student.class_id not in access.led_class_ids:
        abort(404)
    return student


def open_students(access: TransferredAccess) -> list[Student]:
    """List the present students whose marks the session may open, by name."""
    statement = apply_scope(select(Student), Student, access.scope).where(
        Student.is_active.is_(True)
    )
    if not access.reads_whole_school:
        statement = statement.where(Student.class_id.in_(list(access.led_class_ids)))
    return list(db.session.scalars(statement.order_by(Student.last_name, Student.first_name)))


def mark_or_404(access: TransferredAccess, mark_id) -> TransferredMark:
    """Load a mark from an extract of a student the session may open, else 404."""
    mark = scoped_get_or_404(TransferredMark, mark_id, access.scope)
    student_or_404(access, mark.student_id)
    return mark


def student_courses(student: Student) -> list[Course]:
    """List the courses with numeric marks that the student attends in their current class."""
    if student.school_class is None:
        return []
    school_class = student.school_class
    courses = db.session.scalars(
        select(Course)
        .where(
            Course.school_id == student.school_id,
            Course.year_id == school_class.year_id,
            Course.class_id == school_class.id,
            Course.assessment == "marks",
        )
        .order_by(Course.id)
    )
    return [
        course
        for course in courses
        if course.gives_marks and student.id in {s.id for s in course.students()}
    ]


def student_marks(student: Student) -> list[TransferredMark]:
    """List the student's marks from extracts, by course and date."""
    return list(
        db.session.scalars(
            select(TransferredMark)
            .where(
                TransferredMark.school_id == student.school_id,
                TransferredMark.student_id == student.id,
            )
            .order_by(TransferredMark.course_id, TransferredMark.date, TransferredMark.id)
        )
    )


def arrival_school(student: Student) -> str:
    """Return the school named in the student's latest admission, or an empty string."""
    source = db.session.scalar(
        select(Enrollment.arrived_from)
        .where(
            Enrollment.school_id == student.school_id,
            Enrollment.student_id == student.id,
            Enrollment.arrived_from.is_not(None),
        )
        .order_by(Enrollment.start_date.desc())
        .limit(1)
    )
    return source or ""


# --- Entering and deleting --------------------------------------------------------------


@dataclass
class TransferredMarkForm:
    """The typed values of the form, kept to refill it after an error."""

    course_id: str = ""
    date: str = ""
    value: str = ""
    weight: str = "1"
    source_school: str = ""


def _read_date(text: str, year: AcademicYear, errors: list) -> dt.date | None:
    day = parse_user_date(text)
    if day is None:
        errors.append(_("Date «%(value)s» is invalid: enter it as DD.MM.YYYY.", value=text.strip()))
        return None
    if not year.start_date <= day <= year.end_date:
        errors.append(
            _(
                "Date %(date)s is outside the academic year %(year)s: enter a date from "
                "%(start)s to %(end)s.",
                date=format_date(day),
                year=year.name,
                start=format_date(year.start_date),
                end=format_date(year.end_date),
            )
        )
        return None
    return day


def _read_value(text: str, max_mark: int, errors: list) -> int | None:
    text = text.strip()
    if not text.isdigit() or not 1 <= int(text) <= max_mark:
        errors.append(
            _(
                "Mark «%(value)s» is invalid: enter a whole number from 1 to %(max)s.",
                value=text,
                max=max_mark,
            )
        )
        return None
    return int(text)


def _read_weight(text: str, errors: list) -> Decimal | None:
    text = text.strip().replace(",", ".") or "1"
    try:
        weight = Decimal(text)
    except InvalidOperation:
        weight = None
    if weight is None or not weight.is_finite() or not 0 <= weight <= MAX_WEIGHT:
        errors.append(
            _(
                "Weight «%(value)s» is invalid: enter a number from 0 to %(max)s, "
                "for example 1 or 0.5.",
                value=text,
                max=MAX_WEIGHT,
            )
        )
        return None
    return weight


def _read_source(text: str, errors: list) -> str | None:
    text = text.strip()
    if not text:
        errors.append(_("School is missing: enter the school that issued the extract."))
        return None
    if len(text) > MAX_SOURCE_LENGTH:
        errors.append(
            _(
                "School is too long: %(length)s characters, at most %(limit)s allowed.",
                length=len(text),
                limit=MAX_SOURCE_LENGTH,
            )
        )
        return None
    return text


def _closed_period_problem(course: Course, day: dt.date) -> str | None:
    """Return why ``day`` is read-only in the course: a closed year or term, else None."""
    if course.year.is_closed:
        return _(
            "The academic year %(year)s is closed: ask the principal to reopen it.",
            year=course.year.name,
        )
    grade = course.school_class.grade
    closed = db.session.scalars(
        select(Term).where(
            Term.school_id == course.school_id,
            Term.year_id == course.year_id,
            Term.grade_from <= grade,
            Term.grade_to >= grade,
            Term.start_date <= day,
            Term.end_date >= day,
            Term.is_closed.is_(True),
        )
    ).first()
    if closed is None:
        return None
    return _(
        "%(term)s is closed, so %(date)s is read-only: ask the principal to reopen the term.",
        term=closed.name,
        date=format_date(day),
    )


def add_transferred_mark(
    access: TransferredAccess, student: Student, form: TransferredMarkForm
) -> TransferredMark:
    """Validate and save one mark from an extract, with its journal audit row."""
    if not access.may_write:
        abort(403)
    errors: list[str] = []
    courses = {str(course.id): course for course in student_courses(student)}
    course = courses.get(form.course_id.strip())
    if course is None:
        errors.append(_("Choose the subject of the mark from the list."))
    day = _read_date(form.date, course.year, errors) if course is not None else None
    if day is not None:
        problem = _closed_period_problem(course, day)
        if problem:
            errors.append(problem)
    value = _read_value(form.value, student.school.max_mark, errors)
    weight = _read_weight(form.weight, errors)
    source = _read_source(form.source_school, errors)
    if errors:
        raise TransferredMarkInputError(errors)

    mark = TransferredMark(
        school_id=student.school_id,
        student_id=student.id,
        course_id=course.id,
        date=day,
        value=value,
        weight=weight,
        source_school=source,
        entered_by_id=access.scope.user_id,
    )
    db.session.add(mark)
    db.session.flush()
    record_change(
        "transferred_mark",
        "create",
        school_id=student.school_id,
        user_id=access.scope.user_id,
        record_id=mark.id,
        course_id=course.id,
        class_id=course.class_id,
        student_id=student.id,
        new=str(value),
    )
    log.info(
        "transferred mark %s of student %s in course %s entered by user %s",
        mark.id,
        student.id,
        course.id,
        access.scope.user_id,
    )
    db.session.commit()
    return mark


def delete_transferred_mark(access: TransferredAccess, mark: TransferredMark) -> None:
    """Delete a mark entered by mistake, with its journal audit row."""
    if not access.may_write:
        abort(403)
    problem = _closed_period_problem(mark.course, mark.date)
    if problem:
        raise DomainError(problem)
    record_change(
        "transferred_mark",
        "delete",
        school_id=mark.school_id,
        user_id=access.scope.user_id,
        record_id=mark.id,
        course_id=mark.course_id,
        class_id=mark.course.class_id,
        student_id=mark.student_id,
        old=str(mark.value),
    )
    log.info("transferred mark %s deleted by user %s", mark.id, access.scope.user_id)
    db.session.delete(mark)
    db.session.commit()
