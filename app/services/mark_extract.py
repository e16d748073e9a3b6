"""The extract of current marks (выписка текущих отметок) for a student who transfers.

Per course of the student's class: every mark of the current term up to the day of the
extract, with its date and weight, and the term average so far by the journal's rule.
Marks the student brought from an earlier school's extract are listed too, with a note,
because they count in that average.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from app.models import Assignment, AssignmentType, Lesson, Mark, Student, Term, db
from app.models.journal import mark_display
from app.services.journal import format_average, weighted_average
from app.services.transferred_marks import student_courses, transferred_marks_query


@dataclass
class ExtractMark:
    """One mark as the extract lists it."""

    date: dt.date
    text: str
    weight: Decimal
    #: The kind of work, or where a mark from an earlier extract came from.
    note: str


@dataclass
class ExtractLine:
    """The marks of one course and the average they give."""

    subject: str
    marks: list[ExtractMark] = field(default_factory=list)
    average: Decimal | None = None

    @property
    def average_text(self) -> str:
        return format_average(self.average)


@dataclass
class MarkExtract:
    """The whole extract of one student on one day."""

    student: Student
    day: dt.date
    #: The term the marks are of; None when the student's grade has no term by that day.
    term: Term | None
    lines: list[ExtractLine]


def current_term(student: Student, day: dt.date) -> Term | None:
    """Return the term of the student's grade containing ``day``, else the last one begun."""
    school_class = student.school_class
    if school_class is None:
        return None
    terms = db.session.scalars(
        select(Term)
        .where(
            Term.school_id == student.school_id,
            Term.year_id == school_class.year_id,
            Term.grade_from <= school_class.grade,
            Term.grade_to >= school_class.grade,
            Term.start_date <= day,
        )
        .order_by(Term.start_date.desc())
    ).all()
    for term in terms:
        if term.end_date >= day:
            return term
    return terms[0] if terms else None


def _journal_marks(student: Student, course_ids, start: dt.date, end: dt.date):
    """Read (course id, date, kind, value, weight, type name) of the student's marks."""
    return db.session.execute(
        select(
            Lesson.course_id,
            Lesson.date,
            Mark.kind,
            Mark.value,
            Assignment.weight,
            AssignmentType.name,
        )
        .join(Assignment, Assignment.id == Mark.assignment_id)
        .join(Lesson, Lesson.id == Assignment.lesson_id)
        .join(AssignmentType, AssignmentType.id == Assignment.type_id)
        .where(
            Mark.school_id == student.school_id,
            Mark.student_id == student.id,
            Mark.kind != "duty",
            Lesson.course_id.in_(course_ids),
            Lesson.date >= start,
            Lesson.date <= end,
        )
        .order_by(Lesson.date, Lesson.lesson_number, Assignment.id)
    )


def mark_extract(student: Student, day: dt.date) -> MarkExtract:
    """Collect the student's current-term marks up to ``day`` with each course's average."""
    term = current_term(student, day)
    courses = student_courses(student)
    if term is None or not courses:
        return MarkExtract(student, day, term, [])

    end = min(term.end_date, day)
    lines = {course.id: ExtractLine(subject=course.subject.name) for course in courses}
    pairs: dict[int, list] = {course.id: [] for course in courses}
    for course_id, date, kind, value, weight, type_name in _journal_marks(
        student, list(lines), term.start_date, end
    ):
        lines[course_id].marks.append(
            ExtractMark(date, mark_display(kind, value), Decimal(str(weight)), type_name)
        )
        if kind == "number":
            pairs[course_id].append((value, weight))

    brought = transferred_marks_query(
        student.school_id, list(lines), term.start_date, end, student_id=student.id
    )
    for mark in db.session.scalars(brought):
        note = _("from the extract of %(school)s", school=mark.source_school)
        lines[mark.course_id].marks.append(
            ExtractMark(mark.date, str(mark.value), Decimal(str(mark.weight)), note)
        )
        pairs[mark.course_id].append((mark.value, mark.weight))

    weighting = student.school.weighting_enabled
    for course_id, line in lines.items():
        line.marks.sort(key=lambda mark: mark.date)
        line.average = weighted_average(pairs[course_id], weighting)
    ordered = sorted(lines.values(), key=lambda line: line.subject)
    return MarkExtract(student, day, term, ordered)
