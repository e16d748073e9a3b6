"""Term and year results of the authority's schools, as authorities collect them from schools.

The report has a row per school and grade, a total row per school and the authority
total. Each row counts these students:

- with a period mark;
- отличники (only «5») and хорошисты (only «4» and «5», at least one «4»);
- with exactly one «3» (the rest «4» and «5»);
- failing (a «1», «2» or «незач») and with a «н/а».

It ends with the pass and quality rates, and the students who arrived and departed.

The period marks counted are those of the authority summary (``counted_marks``): blanks,
«осв», grade 1 and courses without marks are left out, and «зач» passes without affecting
quality. A term period reads term marks; a year period reads year marks.

Everything is folded in the database: one row per student first, then one per school and
grade. Only those rows reach Python, where the subtotals are summed.

Arrivals and departures are the admissions and departures recorded as student movements
within the dates of the period's terms (of the school year for year marks), in the grade
of the class. A grade with movements but no period marks still gets its row.

The students at the start and at the end come from the same stays, so that each row adds
up: at the start + arrived + transferred in − departed − transferred out = at the end.
A stay counts at the start when it began before the period's first day. A stay recorded
without an order (``is_backfilled``) also counts at the start when it begins within the
period, because its start date is only the first day known.
"""

from collections import Counter
from dataclasses import dataclass, field
from functools import partial

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, or_, select, true

from app.models import AcademicYear, Enrollment, FinalMark, School, SchoolClass, Term, db
from app.reports.authority import (
    DateRange,
    TermPeriod,
    YearPeriod,
    below_quality_expression,
    fails_expression,
    mark_number,
    per_student,
    rows_with_totals,
    term_condition,
)
from app.reports.school import NOT_ATTESTED
from app.reports.xlsx import INTEGER, PERCENT_1
from app.services.movement import arrived_between, departed_between

#: Counts of a row, in column order. The rates are computed from them.
COUNTS = (
    "students",
    "excellent",
    "good",
    "one_three",
    "failing",
    "not_attested",
    "passed",
    "quality",
)
MOVEMENT_COUNTS = ("arrived", "departed")

#: Stays counted at the period's edges and moved between classes within it.
HEAD_COUNTS = ("at_start", "transferred_in", "transferred_out", "at_end")


def _count_of(value: str):
    return func.sum(case((FinalMark.value == value, 1), else_=0))


def _per_student(authority_id: int, period):
    """Build a subquery with one row per school, grade and student, counting marks by kind."""
    value = FinalMark.value
    fails = fails_expression(value)
    # «н/а» fails, but has its own column: the failing column counts the other failing marks.
    failing_mark = case((and_(fails == 1, value != NOT_ATTESTED), 1), else_=0)
    return per_student(
        authority_id,
        period,
        func.count(mark_number(value)).label("numeric_marks"),
        _count_of("5").label("fives"),
        _count_of("4").label("fours"),
        _count_of("3").label("threes"),
        func.sum(below_quality_expression(value)).label("below_quality"),
        func.max(fails).label("any_fail"),
        func.max(failing_mark).label("any_failing_mark"),
        func.max(case((value == NOT_ATTESTED, 1), else_=0)).label("any_not_attested"),
    )


def _flag_sum(condition):
    return func.sum(case((condition, 1), else_=0))


def _grade_rows(authority_id: int, period):
    """Read one row per school and grade with the counts of :data:`COUNTS`."""
    student = _per_student(authority_id, period).c
    only_four_five = student.below_quality == 0
    statement = (
        select(
            School.id.label("school_id"),
            School.name.label("school"),
            student.grade,
            func.count().label("students"),
            # NOTE: on a scale above 5 (School.max_mark) marks 6 and up keep a student out
            # of отличники and хорошисты, since only «5» and «4» are counted by value.
            _flag_sum(
                and_(only_four_five, student.fives == student.numeric_marks, student.fives > 0)
            ).label("excellent"),
            _flag_sum(and_(only_four_five, student.fours > 0)).label("good"),
            _flag_sum(and_(student.below_quality == 1, student.threes == 1)).label("one_three"),
            func.sum(student.any_failing_mark).label("failing"),
            func.sum(student.any_not_attested).label("not_attested"),
            _flag_sum(student.any_fail == 0).label("passed"),
            _flag_sum(only_four_five).label("quality"),
        )
        .join(School, School.id == student.school_id)
        .group_by(School.id, School.name, student.grade)
        .order_by(School.name, School.id, student.grade)
    )
    return db.session.execute(statement).all()


@dataclass(frozen=True)
class ResultsColumns:
    """Column names of the results report, in the user's language."""

    school: str
    grade: str
    students: str
    excellent: str
    good: str
    one_three: str
    failing: str
    not_attested: str
    passed: str
    quality: str
    pass_rate: str
    quality_rate: str
    at_start: str
    arrived: str
    departed: str
    transferred_in: str
    transferred_out: str
    at_end: str

    @classmethod
    def translated(cls) -> "ResultsColumns":
        return cls(
            school=_("School"),
            grade=_("Grade"),
            students=_("Students with period marks"),
            excellent=_("Excellent students (only «5»)"),
            good=_("Good students (only «4» and «5», at least one «4»)"),
            one_three=_("One «3»"),
            failing=_("Failing («1», «2», «незач»)"),
            not_attested=_("Not attested («н/а»)"),
            passed=_("Students passing"),
            quality=_("Students with only 4 and 5"),
            pass_rate=_("Pass rate"),
            quality_rate=_("Quality rate"),
            at_start=_("Students at the start"),
            arrived=_("Arrived"),
            departed=_("Departed"),
            transferred_in=_("Transferred in from another class"),
            transferred_out=_("Transferred out to another class"),
            at_end=_("Students at the end"),
        )

    def names(self) -> list[str]:
        return [
            self.school,
            self.grade,
            *(getattr(self, name) for name in COUNTS),
            self.pass_rate,
            self.quality_rate,
            self.at_start,
            self.arrived,
            self.departed,
            self.transferred_in,
            self.transferred_out,
            self.at_end,
        ]

    def formats(self) -> dict[str, str]:
        formats = {self.grade: INTEGER, self.pass_rate: PERCENT_1, self.quality_rate: PERCENT_1}
        counts = COUNTS + MOVEMENT_COUNTS + HEAD_COUNTS
        formats.update({getattr(self, name): INTEGER for name in counts})
        return formats


@dataclass
class _GradeCounts:
    """The counts of one school and grade, from the period marks and the movements."""

    school_id: int
    school: str
    grade: int
    counts: Counter = field(default_factory=Counter)


def _movement_dates(period: TermPeriod | DateRange | YearPeriod):
    """Return the table that dates the period, its join and condition, and its start and end."""
    if isinstance(period, YearPeriod):
        join = and_(AcademicYear.id == SchoolClass.year_id, AcademicYear.name == period.year_name)
        return AcademicYear, join, true(), (AcademicYear.start_date, AcademicYear.end_date)
    join = and_(
        Term.school_id == SchoolClass.school_id,
        Term.year_id == SchoolClass.year_id,
        SchoolClass.grade.between(Term.grade_from, Term.grade_to),
    )
    return Term, join, term_condition(period), (Term.start_date, Term.end_date)


def _movement_rows(authority_id: int, period) -> list:
    """Count each school and grade's arrivals and departures within the period's dates."""
    table, join, condition, (start, end) = _movement_dates(period)
    arrived = arrived_between(start, end)
    departed = departed_between(start, end)
    statement = (
        select(
            School.id.label("school_id"),
            School.name.label("school"),
            SchoolClass.grade,
            func.sum(case((arrived, 1), else_=0)).label("arrived"),
            func.sum(case((departed, 1), else_=0)).label("departed"),
        )
        .select_from(Enrollment)
        .join(
            SchoolClass,
            and_(
                SchoolClass.id == Enrollment.class_id,
                SchoolClass.school_id == Enrollment.school_id,
            ),
        )
        .join(School, School.id == Enrollment.school_id)
        .join(table, join)
        .where(School.authority_id == authority_id, condition, or_(arrived, departed))
        .group_by(School.id, School.name, SchoolClass.grade)
    )
    return db.session.execute(statement).all()


def _head_count_rows(authority_id: int, period) -> list:
    """Count each school and grade's stays at the period's start and end, and its transfers.

    Only stays that overlap the period are read, so every counted stay is either at the
    start or arrived or transferred in, and either at the end or departed or transferred out.
    """
    table, join, condition, (start, end) = _movement_dates(period)
    began_before = or_(
        Enrollment.start_date < start,
        and_(Enrollment.is_backfilled.is_(True), Enrollment.start_date <= end),
    )
    transferred_in = and_(
        Enrollment.start_kind == "transfer",
        Enrollment.is_backfilled.is_(False),
        Enrollment.start_date.between(start, end),
    )
    transferred_out = and_(
        Enrollment.end_kind == "transfer", Enrollment.end_date.between(start, end)
    )
    still_there = or_(Enrollment.end_date.is_(None), Enrollment.end_date > end)
    overlaps = and_(
        Enrollment.start_date <= end,
        or_(Enrollment.end_date.is_(None), Enrollment.end_date >= start),
    )

    def count(flag):
        return func.sum(case((flag, 1), else_=0))

    statement = (
        select(
            School.id.label("school_id"),
            School.name.label("school"),
            SchoolClass.grade,
            count(began_before).label("at_start"),
            count(transferred_in).label("transferred_in"),
            count(transferred_out).label("transferred_out"),
            count(still_there).label("at_end"),
        )
        .select_from(Enrollment)
        .join(
            SchoolClass,
            and_(
                SchoolClass.id == Enrollment.class_id,
                SchoolClass.school_id == Enrollment.school_id,
            ),
        )
        .join(School, School.id == Enrollment.school_id)
        .join(table, join)
        .where(School.authority_id == authority_id, condition, overlaps)
        .group_by(School.id, School.name, SchoolClass.grade)
    )
    return db.session.execute(statement).all()


def _merged_rows(authority_id: int, period) -> list[_GradeCounts]:
    """Join the mark counts and the movement counts of each school and grade, in name order."""
    merged: dict[tuple[int, int], _GradeCounts] = {}
    for source, names in (
        (_grade_rows(authority_id, period), COUNTS),
        (_movement_rows(authority_id, period), MOVEMENT_COUNTS),
        (_head_count_rows(authority_id, period), HEAD_COUNTS),
    ):
        for row in source:
            key = (row.school_id, int(row.grade))
            item = merged.setdefault(key, _GradeCounts(row.school_id, row.school, int(row.grade)))
            item.counts.update({name: int(getattr(row, name) or 0) for name in names})
    return sorted(merged.values(), key=lambda item: (item.school, item.school_id, item.grade))


def _record(columns: ResultsColumns, school: str, grade, counts: Counter) -> dict:
    """Build one frame row from its counts. Rates are fractions of the students."""
    record = {columns.school: school, columns.grade: grade}
    names = COUNTS + MOVEMENT_COUNTS + HEAD_COUNTS
    record.update({getattr(columns, name): counts[name] for name in names})
    students = counts["students"]
    record[columns.pass_rate] = counts["passed"] / students if students else None
    record[columns.quality_rate] = counts["quality"] / students if students else None
    return record


def authority_results(
    authority_id: int,
    period: TermPeriod | DateRange | YearPeriod,
    columns: ResultsColumns | None = None,
) -> pd.DataFrame:
    """Build the results frame with a total row after each school and the authority total last.

    Grade rows carry the grade number; a school's total row carries «Итого» in the grade
    column, and the authority total also in the school column. A student with marks in
    courses of two grades counts in both. An authority without marks or movements gets an
    empty frame.
    """
    columns = columns or ResultsColumns.translated()
    rows = _merged_rows(authority_id, period)
    records = rows_with_totals(rows, lambda row: row.counts, partial(_record, columns))
    return pd.DataFrame.from_records(records, columns=columns.names())
