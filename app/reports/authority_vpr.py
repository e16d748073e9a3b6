"""ВПР results against the students' term marks, per school, grade and subject.

A ВПР (всероссийская проверочная работа) is recorded in the journal as an assignment whose
type is ВПР (:data:`VPR_TYPE_NAMES`, by the type's name or short name). Each numeric mark
of such an assignment is compared with the student's term mark in the same course. The term
is the last one that ended before the work's lesson. The federal form «Соответствие
отметок за выполненную работу и отметок по журналу» sorts the works the same way:

* lowered: the ВПР mark is below the term mark;
* confirmed: the two are equal;
* raised: the ВПР mark is above it.

A work without a numeric term mark to compare with (no earlier term, «н/а», «зач») is left
out. Everything is counted in the database, grouped by school, grade and subject.
"""

from collections import Counter
from dataclasses import dataclass, fields

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, or_, select

from app.models import (
    AcademicYear,
    Assignment,
    AssignmentType,
    Course,
    FinalMark,
    Lesson,
    Mark,
    School,
    SchoolClass,
    Subject,
    Term,
    db,
)
from app.reports.authority import mark_number
from app.reports.xlsx import INTEGER, PERCENT_1

#: Names by which an assignment type is taken for ВПР, as its name or short name.
# NOTE: ВПР is recognised by the type's name because assignment types carry no ВПР flag.
# The names are compared exactly, since SQLite's lower() leaves Cyrillic letters alone.
VPR_TYPE_NAMES = ("ВПР", "Всероссийская проверочная работа")

COUNTS = ("works", "lowered", "confirmed", "raised")


@dataclass(frozen=True)
class VprColumns:
    """Column names of the report, in the user's language."""

    school: str
    grade: str
    subject: str
    works: str
    lowered: str
    confirmed: str
    raised: str
    lowered_rate: str
    confirmed_rate: str
    raised_rate: str

    @classmethod
    def translated(cls) -> "VprColumns":
        return cls(
            school=_("School"),
            grade=_("Grade"),
            subject=_("Subject"),
            works=_("Works compared"),
            lowered=_("Lowered the term mark"),
            confirmed=_("Confirmed the term mark"),
            raised=_("Raised the term mark"),
            lowered_rate=_("Lowered, share"),
            confirmed_rate=_("Confirmed, share"),
            raised_rate=_("Raised, share"),
        )

    def names(self) -> list[str]:
        return [getattr(self, item.name) for item in fields(self)]

    def formats(self) -> dict[str, str]:
        formats = {getattr(self, name): INTEGER for name in COUNTS}
        formats[self.grade] = INTEGER
        for name in ("lowered_rate", "confirmed_rate", "raised_rate"):
            formats[getattr(self, name)] = PERCENT_1
        return formats


def _vpr_type_condition():
    """Build the condition that an assignment type is ВПР, by its name or short name."""
    return or_(
        AssignmentType.name.in_(VPR_TYPE_NAMES), AssignmentType.short_name.in_(VPR_TYPE_NAMES)
    )


def _previous_term_id():
    """Build the id of the last term of the lesson's grade that ended before the lesson."""
    return (
        select(Term.id)
        .where(
            Term.school_id == Lesson.school_id,
            Term.year_id == Course.year_id,
            SchoolClass.grade.between(Term.grade_from, Term.grade_to),
            Term.end_date < Lesson.date,
        )
        .order_by(Term.end_date.desc())
        .limit(1)
        .correlate(Lesson, Course, SchoolClass)
        .scalar_subquery()
    )


def _comparisons(authority_id: int, year_name: str):
    """Build a subquery with one row per ВПР mark: school, grade, subject and both marks."""
    year_ids = select(AcademicYear.id).where(AcademicYear.name == year_name)
    term_mark = mark_number(FinalMark.value)
    return (
        select(
            Lesson.school_id.label("school_id"),
            SchoolClass.grade.label("grade"),
            Subject.name.label("subject"),
            Mark.value.label("vpr_mark"),
            term_mark.label("term_mark"),
        )
        .select_from(Mark)
        .join(
            Assignment,
            and_(Assignment.id == Mark.assignment_id, Assignment.school_id == Mark.school_id),
        )
        .join(
            AssignmentType,
            and_(
                AssignmentType.id == Assignment.type_id,
                AssignmentType.school_id == Assignment.school_id,
            ),
        )
        .join(Lesson, and_(Lesson.id == Assignment.lesson_id, Lesson.school_id == Mark.school_id))
        .join(Course, and_(Course.id == Lesson.course_id, Course.school_id == Lesson.school_id))
        .join(
            SchoolClass,
            and_(SchoolClass.id == Course.class_id, SchoolClass.school_id == Course.school_id),
        )
        .join(Subject, and_(Subject.id == Course.subject_id, Subject.school_id == Course.school_id))
        .join(School, School.id == Mark.school_id)
        .join(
            FinalMark,
            and_(
                FinalMark.school_id == Mark.school_id,
                FinalMark.student_id == Mark.student_id,
                FinalMark.course_id == Course.id,
                FinalMark.kind == "term",
                FinalMark.term_id == _previous_term_id(),
            ),
        )
        .where(
            School.authority_id == authority_id,
            Course.year_id.in_(year_ids),
            Mark.kind == "number",
            Mark.value.is_not(None),
            term_mark.is_not(None),
            _vpr_type_condition(),
        )
        .subquery("vpr_mark")
    )


def _grade_rows(authority_id: int, year_name: str) -> list:
    """Read the counts of each school, grade and subject, in name order."""
    work = _comparisons(authority_id, year_name).c
    statement = (
        select(
            School.id.label("school_id"),
            School.name.label("school"),
            work.grade,
            work.subject,
            func.count().label("works"),
            func.sum(case((work.vpr_mark < work.term_mark, 1), else_=0)).label("lowered"),
            func.sum(case((work.vpr_mark == work.term_mark, 1), else_=0)).label("confirmed"),
            func.sum(case((work.vpr_mark > work.term_mark, 1), else_=0)).label("raised"),
        )
        .join(School, School.id == work.school_id)
        .group_by(School.id, School.name, work.grade, work.subject)
        .order_by(School.name, School.id, work.grade, work.subject)
    )
    return db.session.execute(statement).all()


def _record(columns: VprColumns, school: str, grade, subject: str, counts: Counter) -> dict:
    works = counts["works"]
    record = {columns.school: school, columns.grade: grade, columns.subject: subject}
    record.update({getattr(columns, name): counts[name] for name in COUNTS})
    for name in ("lowered", "confirmed", "raised"):
        record[getattr(columns, f"{name}_rate")] = counts[name] / works if works else None
    return record


def authority_vpr(
    authority_id: int, year_name: str | None, columns: VprColumns | None = None
) -> pd.DataFrame:
    """Build the report: a row per school, grade and subject, then the authority total.

    An authority without compared ВПР marks in the year gets an empty frame.
    """
    columns = columns or VprColumns.translated()
    rows = _grade_rows(authority_id, year_name or "")
    records = []
    total: Counter = Counter()
    for row in rows:
        counts = Counter({name: int(getattr(row, name) or 0) for name in COUNTS})
        records.append(_record(columns, row.school, int(row.grade), row.subject, counts))
        total.update(counts)
    if records:
        records.append(_record(columns, _("All schools"), _("Total"), "", total))
    return pd.DataFrame.from_records(records, columns=columns.names())
