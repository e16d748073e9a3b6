"""The authority's comparison of its schools: indicators per subject, and a ranking of schools.

Both reports read the period marks that the authority summary counts (``counted_marks``):
blanks, «осв», grade 1 and courses without marks are left out. A term period reads term
marks, with half-year grades reading the half-year that contains the quarter's end, and a
year period reads year marks, of any school year: closed past years included.

Subjects are matched across schools by name, because each school keeps its own subject
list. A part of a subject (Алгебра) is reported apart from its whole (Математика), because
each part gets period marks of its own.

Indicators of one subject, over the students with a counted period mark in it:

* average mark: the mean of the numeric period marks;
* pass rate: students without a failing mark («1», «2», «н/а», «незач»);
* quality rate: students with a «4» or «5» among the students with a mark on the scale or
  «н/а»; students assessed pass/fail are left out of it, so a pass/fail subject has none;
* СОУ = (n5 · 1.00 + n4 · 0.64 + n3 · 0.36 + n2 · 0.16 + n1 · 0.08) / n over the numeric
  marks and «н/а», which weighs as «1».

Across subjects (the ranking without a subject) the rates follow the summary. A student
passes when every counted mark passes, and counts toward quality when every counted mark is
«4», «5» or «зач». The average and СОУ cover every counted mark.

The database groups the marks by student first, then by school. Only one row per school
(and subject) reaches Python, where the authority totals are summed from those rows.
"""

from dataclasses import dataclass, fields
from fractions import Fraction
from itertools import groupby

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, literal, or_, select

from app.models import AcademicYear, Course, FinalMark, School, SchoolClass, Subject, db
from app.reports.authority import (
    NOT_ATTESTED,
    TermPeriod,
    YearPeriod,
    indicator_aggregates,
    mark_number,
    marked_course_condition,
    per_student,
    sou_weight,
)
from app.reports.charts import BAR, ChartSpec
from app.reports.xlsx import DECIMAL_2, INTEGER, PERCENT_1

#: Grades whose period marks the reports can be narrowed to: grade 1 gets no marks.
GRADES = tuple(range(2, 12))

#: Indicators a ranking can order schools by; the first is the default.
INDICATORS = ("quality_rate", "average", "pass_rate", "sou")
DEFAULT_INDICATOR = INDICATORS[0]


@dataclass(frozen=True)
class Selection:
    """The marks a report reads: a period of a school year, optionally one grade and subject."""

    period: TermPeriod | YearPeriod
    grade: int | None = None
    #: A subject's name, the same in every school.
    subject: str | None = None


@dataclass
class Counts:
    """Sums over students that the indicators divide; counts of schools add up to the total."""

    students: int = 0
    passed: int = 0
    #: Students whose every counted mark is «4», «5» or «зач».
    quality: int = 0
    #: Students with a mark on the scale or «н/а», and those of them with only «4» and «5».
    graded: int = 0
    graded_quality: int = 0
    mark_sum: int = 0
    mark_count: int = 0
    #: СОУ weights of the numeric marks and «н/а», in hundredths, and their number.
    sou_sum: int = 0
    sou_count: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(
            **{
                item.name: getattr(self, item.name) + getattr(other, item.name)
                for item in fields(self)
            }
        )

    def indicator(self, name: str, per_subject: bool) -> Fraction | None:
        """Compute one of :data:`INDICATORS` exactly; None where nothing is there to divide.

        ``per_subject`` chooses the quality rate of one subject over the one across subjects.
        """
        if name == "average":
            return Fraction(self.mark_sum, self.mark_count) if self.mark_count else None
        if name == "pass_rate":
            return Fraction(self.passed, self.students) if self.students else None
        if name == "sou":
            return Fraction(self.sou_sum, 100 * self.sou_count) if self.sou_count else None
        if per_subject:
            return Fraction(self.graded_quality, self.graded) if self.graded else None
        return Fraction(self.quality, self.students) if self.students else None


# --- Queries ------------------------------------------------------------------------------


def _per_student(authority_id: int, selection: Selection, by_subject: bool):
    """Build a subquery with one row per student (and subject) and its indicator sums."""
    value = FinalMark.value
    weight = sou_weight(value)
    graded = case((or_(mark_number(value).is_not(None), value == NOT_ATTESTED), 1), else_=0)
    conditions = []
    if selection.grade is not None:
        conditions.append(SchoolClass.grade == selection.grade)
    if selection.subject is not None:
        conditions.append(Subject.name == selection.subject)
    return per_student(
        authority_id,
        selection.period,
        *indicator_aggregates(),
        func.max(graded).label("graded"),
        func.sum(weight).label("sou_sum"),
        func.count(weight).label("sou_count"),
        name="per_student_subject",
        keys=(Subject.name.label("subject"),) if by_subject else (),
        conditions=conditions,
        with_subject=by_subject or selection.subject is not None,
    )


def _school_rows(authority_id: int, selection: Selection, by_subject: bool):
    """Read one row of :class:`Counts` per school, or per subject and school, in name order."""
    student = _per_student(authority_id, selection, by_subject).c
    keys = [student.subject] if by_subject else []
    only_four_five = and_(student.graded == 1, student.any_below_quality == 0)
    statement = (
        select(
            School.name.label("school"),
            *keys,
            func.count().label("students"),
            func.sum(literal(1) - student.any_fail).label("passed"),
            func.sum(literal(1) - student.any_below_quality).label("quality"),
            func.sum(student.graded).label("graded"),
            func.sum(case((only_four_five, 1), else_=0)).label("graded_quality"),
            func.sum(student.mark_sum).label("mark_sum"),
            func.sum(student.mark_count).label("mark_count"),
            func.sum(student.sou_sum).label("sou_sum"),
            func.sum(student.sou_count).label("sou_count"),
        )
        .join(School, School.id == student.school_id)
        .group_by(*keys, School.id, School.name)
        .order_by(*keys, School.name, School.id)
    )
    return db.session.execute(statement).all()


def _counts(row) -> Counts:
    return Counts(**{item.name: int(getattr(row, item.name) or 0) for item in fields(Counts)})


def subject_names(authority_id: int, year_name: str | None) -> list[str]:
    """List the names of the subjects with marks taught in the year in the authority's schools."""
    if year_name is None:
        return []
    statement = (
        select(Subject.name)
        .join(Course, and_(Course.subject_id == Subject.id, Course.school_id == Subject.school_id))
        .join(
            AcademicYear,
            and_(AcademicYear.id == Course.year_id, AcademicYear.school_id == Course.school_id),
        )
        .join(School, School.id == Subject.school_id)
        .where(
            School.authority_id == authority_id,
            AcademicYear.name == year_name,
            marked_course_condition(),
        )
        .group_by(Subject.name)
        .order_by(Subject.name)
    )
    return list(db.session.scalars(statement))


# --- Per subject across schools -----------------------------------------------------------


@dataclass(frozen=True)
class SubjectColumns:
    """Column names of the report per subject, in the user's language."""

    subject: str
    school: str
    students: str
    average: str
    pass_rate: str
    quality_rate: str
    sou: str

    @classmethod
    def translated(cls) -> "SubjectColumns":
        return cls(
            subject=_("Subject"),
            school=_("School"),
            students=_("Students with period marks"),
            average=_("Average mark"),
            pass_rate=_("Pass rate"),
            quality_rate=_("Quality rate"),
            sou=_("Degree of learning (СОУ)"),
        )

    def names(self) -> list[str]:
        return [getattr(self, item.name) for item in fields(self)]

    def formats(self) -> dict[str, str]:
        return {
            self.students: INTEGER,
            self.average: DECIMAL_2,
            self.pass_rate: PERCENT_1,
            self.quality_rate: PERCENT_1,
            self.sou: PERCENT_1,
        }


def _as_float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _subject_record(columns: SubjectColumns, subject: str, school: str, counts: Counts) -> dict:
    record = {columns.subject: subject, columns.school: school, columns.students: counts.students}
    for name in INDICATORS:
        record[getattr(columns, name)] = _as_float(counts.indicator(name, per_subject=True))
    return record


def subjects_frame(
    authority_id: int, selection: Selection, columns: SubjectColumns | None = None
) -> pd.DataFrame:
    """Build the indicators per subject and school, each subject ending with its authority total.

    Rows are ordered by subject, then school; the total row carries «Все школы» in the
    school column. Rates and СОУ are fractions (0.75 for 75 %), and an indicator with
    nothing to divide is empty.
    """
    columns = columns or SubjectColumns.translated()
    records = []
    rows = _school_rows(authority_id, selection, by_subject=True)
    for subject, subject_rows in groupby(rows, key=lambda row: row.subject):
        total = Counts()
        for row in subject_rows:
            counts = _counts(row)
            records.append(_subject_record(columns, subject, row.school, counts))
            total += counts
        records.append(_subject_record(columns, subject, _("All schools"), total))
    return pd.DataFrame.from_records(records, columns=columns.names())


# --- Ranking of schools -------------------------------------------------------------------


def indicator_label(name: str) -> str:
    """Return the name of one of :data:`INDICATORS` in the user's language."""
    labels = {
        "quality_rate": _("Quality rate"),
        "average": _("Average mark"),
        "pass_rate": _("Pass rate"),
        "sou": _("Degree of learning (СОУ)"),
    }
    return labels[name]


@dataclass(frozen=True)
class RankingColumns:
    """Column names of the ranking, in the user's language; ``value`` names the indicator."""

    rank: str
    school: str
    students: str
    value: str
    authority_value: str
    difference: str

    @classmethod
    def translated(cls, indicator: str) -> "RankingColumns":
        return cls(
            rank=_("Rank"),
            school=_("School"),
            students=_("Students with period marks"),
            value=indicator_label(indicator),
            authority_value=_("Authority value"),
            difference=_("Difference from the authority"),
        )

    def names(self) -> list[str]:
        return [getattr(self, item.name) for item in fields(self)]

    def formats(self, indicator: str) -> dict[str, str]:
        number = DECIMAL_2 if indicator == "average" else PERCENT_1
        return {
            self.rank: INTEGER,
            self.students: INTEGER,
            self.value: number,
            self.authority_value: number,
            self.difference: number,
        }


def ranking_chart(columns: RankingColumns, indicator: str) -> ChartSpec:
    """Describe the ranking's chart: the indicator per school in bars, the authority's value
    beside them as the reference."""
    percent = () if indicator == "average" else (columns.value, columns.authority_value)
    return ChartSpec(
        kind=BAR,
        category=columns.school,
        values=(columns.value, columns.authority_value),
        title=columns.value,
        references=(columns.authority_value,),
        percent=percent,
    )


def competition_ranks(values: list[Fraction | None]) -> list[int | None]:
    """Rank values from the highest: equal values share a rank and the next one skips.

    So 0.9, 0.8, 0.8, 0.7 get 1, 2, 2, 4. A missing value gets no rank.
    """
    ordered = sorted((value for value in values if value is not None), reverse=True)
    first_place: dict[Fraction, int] = {}
    for place, value in enumerate(ordered, start=1):
        first_place.setdefault(value, place)
    return [None if value is None else first_place[value] for value in values]


def ranking_frame(
    authority_id: int,
    selection: Selection,
    indicator: str = DEFAULT_INDICATOR,
    columns: RankingColumns | None = None,
) -> pd.DataFrame:
    """Rank the authority's schools by ``indicator``, one of :data:`INDICATORS`.

    With a subject in ``selection`` the indicators are those of that subject, else those
    across subjects. Each row carries the authority's value of the same indicator (over
    all its students) and the school's difference from it. Schools are ordered by rank,
    then name; a school without a value (an average of pass/fail marks only) comes last
    without a rank.
    """
    if indicator not in INDICATORS:
        raise ValueError(f"Unknown indicator {indicator!r}; expected one of {INDICATORS}.")
    columns = columns or RankingColumns.translated(indicator)
    per_subject = selection.subject is not None
    rows = _school_rows(authority_id, selection, by_subject=False)
    counts = [_counts(row) for row in rows]
    values = [item.indicator(indicator, per_subject) for item in counts]
    authority_value = sum(counts, Counts()).indicator(indicator, per_subject)

    records = []
    for row, item, value, rank in zip(rows, counts, values, competition_ranks(values), strict=True):
        difference = None
        if value is not None and authority_value is not None:
            difference = value - authority_value
        records.append(
            {
                columns.rank: rank,
                columns.school: row.school,
                columns.students: item.students,
                columns.value: _as_float(value),
                columns.authority_value: _as_float(authority_value),
                columns.difference: _as_float(difference),
            }
        )
    # The rows come in name order, and sorted() keeps that order among equal ranks.
    records = sorted(records, key=lambda record: _rank_order(record[columns.rank]))
    return pd.DataFrame.from_records(records, columns=columns.names())


def _rank_order(rank: int | None) -> tuple[bool, int]:
    return (rank is None, rank or 0)
