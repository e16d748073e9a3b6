"""The authority's summary of its schools: students, average mark, quality and pass rates.

Everything is aggregated in the database in one query, grouped by school and grade, over
the term marks (``FinalMark`` of kind "term") of the authority's own schools, so raw marks
never leave the database.

Which marks count:

* only lesson courses with marks or pass/fail (courses without marks are left out), and
  no grade 1 (no marks there);
* «осв» (exempt) removes the student from that subject only, and a blank mark is not
  counted;
* a numeric mark passes at 3 and counts toward quality at 4 or 5; «1», «2», «н/а» and
  «незач» fail; «зач» passes and leaves quality to the student's other marks;
* across subjects, a student passes when every counted mark passes, and counts toward
  quality when every counted mark is 4 or 5 (or «зач»);
* the average mark is the mean of the numeric term marks, and СОУ weighs each numeric mark
  and «н/а» by :data:`SOU_WEIGHTS`;
* missed lessons are the absences («Н») in the lessons of the grade's courses within the
  dates of the period's terms, unless the code or its reason counts as present.

Rates are fractions of the students with at least one counted term mark, and the missed
lessons are divided by those students too. Each school ends with a total row, and the
authority total comes last.
"""

import datetime as dt
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields
from functools import partial

import pandas as pd
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Integer, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import aliased

from app.models import (
    AcademicYear,
    Attendance,
    AttendanceCode,
    Course,
    FinalMark,
    Lesson,
    School,
    SchoolClass,
    Subject,
    Term,
    db,
)
from app.reports.charts import BAR, ChartSpec
from app.reports.xlsx import DECIMAL_2, INTEGER, PERCENT_1, frame_to_xlsx

#: On the 5-point scale a period mark passes at 3 and counts toward quality at 4.
# NOTE: schools on other scales (School.max_mark) use the same thresholds until the
# thresholds become school settings.
PASS_THRESHOLD = 3
QUALITY_THRESHOLD = 4

FAILING_WORDS = ("н/а", "незач")
PASSING_WORDS = ("зач",)
EXEMPT = "осв"
NOT_ATTESTED = "н/а"

#: СОУ weight of each mark in hundredths. «н/а» weighs as «1».
# NOTE: the weights are the usual defaults and not yet a school setting. A school on
# another scale (School.max_mark above 5) gets no weight for marks above 5.
SOU_WEIGHTS = {5: 100, 4: 64, 3: 36, 2: 16, 1: 8}


@dataclass(frozen=True)
class TermPeriod:
    """Term number N of a school year, by the year's name (for example «2026/2027»).

    N is the Nth term of each grade's own scheme. Grades on half-years (or trimesters)
    report the term that contains the end date of the school's quarter N of that year; a
    school with no quarters at all falls back to the term numbered N.
    """

    year_name: str
    number: int


@dataclass(frozen=True)
class DateRange:
    """Every term that ends between the two dates, inclusive."""

    start: dt.date
    end: dt.date


def term_condition(period: TermPeriod | DateRange):
    """Build the condition on ``Term`` that picks the terms of a period."""
    if isinstance(period, DateRange):
        return and_(Term.end_date >= period.start, Term.end_date <= period.end)

    quarter = aliased(Term)
    quarter_end = (
        select(func.max(quarter.end_date))
        .where(
            quarter.school_id == Term.school_id,
            quarter.year_id == Term.year_id,
            quarter.kind == "quarter",
            quarter.number == period.number,
        )
        .correlate(Term)
        .scalar_subquery()
    )
    year_ids = select(AcademicYear.id).where(AcademicYear.name == period.year_name)
    return and_(
        Term.year_id.in_(year_ids),
        or_(
            and_(Term.kind == "quarter", Term.number == period.number),
            and_(
                Term.kind != "quarter",
                Term.start_date <= quarter_end,
                Term.end_date >= quarter_end,
            ),
            and_(Term.kind != "quarter", quarter_end.is_(None), Term.number == period.number),
        ),
    )


@dataclass(frozen=True)
class YearPeriod:
    """The year marks of a school year, by the year's name (for example «2026/2027»)."""

    year_name: str


def mark_number(value):
    """Build the SQL value of a numeric mark as an integer, NULL for «н/а», «зач» and the like."""
    is_number = and_(value != "", func.ltrim(value, "0123456789") == "")
    return case((is_number, cast(value, Integer)), else_=None)


def fails_expression(value):
    """Build 1 for a failing mark («1», «2», «н/а», «незач»), else 0."""
    number = mark_number(value)
    return case(
        (number < PASS_THRESHOLD, 1),
        (value.in_(FAILING_WORDS), 1),
        else_=0,
    )


def below_quality_expression(value):
    """Build 1 for a mark that keeps a student out of quality (below 4, «н/а», «незач»), else 0."""
    number = mark_number(value)
    return case(
        (number >= QUALITY_THRESHOLD, 0),
        (value.in_(PASSING_WORDS), 0),
        else_=1,
    )


def sou_weight(value):
    """Build the СОУ weight of a mark in hundredths, NULL for «зач» and «незач».

    «н/а» weighs as «1». A mark above 5 (on a school's larger scale) weighs 0.
    """
    number = mark_number(value)
    weights = [(number == mark, weight) for mark, weight in SOU_WEIGHTS.items()]
    return case(
        *weights,
        (value == NOT_ATTESTED, SOU_WEIGHTS[1]),
        (number.is_not(None), 0),
        else_=None,
    )


def marked_course_condition():
    """Build the condition on ``Course`` for courses whose period marks count.

    Those are lessons assessed by marks or pass/fail: extra-curricular courses and
    courses without marks are left out.
    """
    return and_(Course.kind == "lesson", Course.assessment.in_(("marks", "pass_fail")))


def counted_marks(
    authority_id: int, period: TermPeriod | DateRange | YearPeriod, with_subject: bool = False
):
    """Select from the period marks of the authority's schools that count, without columns.

    Term periods read term marks, a :class:`YearPeriod` reads year marks. Blank marks,
    «осв», grade 1 and courses without marks are left out. ``School`` and the course's
    ``SchoolClass`` are joined for the caller's columns and grouping, and the course's
    ``Subject`` too with ``with_subject``.
    """
    # The joins go by id only; the composite foreign keys keep the school's id equal anyway.
    # Repeated in each condition, it made PostgreSQL expect one row and choose nested loops.
    # A quarter of the city demo took 13 s instead of 1.5 s (docs/benchmarks.md, "Reports").
    statement = (
        select()
        .select_from(FinalMark)
        .join(Course, Course.id == FinalMark.course_id)
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .join(School, School.id == FinalMark.school_id)
    )
    if with_subject:
        statement = statement.join(Subject, Subject.id == Course.subject_id)
    statement = statement.where(
        School.authority_id == authority_id,
        FinalMark.value != "",
        FinalMark.value != EXEMPT,
        marked_course_condition(),
        SchoolClass.grade > 1,
    )
    if isinstance(period, YearPeriod):
        year_ids = select(AcademicYear.id).where(AcademicYear.name == period.year_name)
        return statement.where(FinalMark.kind == "year", Course.year_id.in_(year_ids))
    return statement.join(Term, Term.id == FinalMark.term_id).where(
        FinalMark.kind == "term", term_condition(period)
    )


def per_student(
    authority_id: int,
    period,
    *aggregates,
    name: str = "per_student",
    keys=(),
    conditions=(),
    with_subject: bool = False,
):
    """Build a subquery of the counted marks grouped by school, grade and student.

    Its columns are ``school_id``, ``grade``, ``student_id``, the labelled ``keys`` (also
    grouped by, such as the subject's name) and the labelled ``aggregates`` over each
    student's marks. ``conditions`` narrow the counted marks; ``with_subject`` joins
    ``Subject`` for keys and conditions that use it.
    """
    return (
        counted_marks(authority_id, period, with_subject=with_subject)
        .where(*conditions)
        .add_columns(
            School.id.label("school_id"),
            SchoolClass.grade.label("grade"),
            FinalMark.student_id.label("student_id"),
            *keys,
            *aggregates,
        )
        .group_by(School.id, SchoolClass.grade, FinalMark.student_id, *keys)
        .subquery(name)
    )


def indicator_aggregates() -> list:
    """Build the per-student aggregates of the rates and the average.

    ``any_fail`` and ``any_below_quality`` are the student's fail and quality flags;
    ``mark_sum`` and ``mark_count`` sum and count the numeric marks.
    """
    number = mark_number(FinalMark.value)
    return [
        func.max(fails_expression(FinalMark.value)).label("any_fail"),
        func.max(below_quality_expression(FinalMark.value)).label("any_below_quality"),
        func.sum(number).label("mark_sum"),
        func.count(number).label("mark_count"),
    ]


def _per_student(authority_id: int, period):
    """Fold each student's counted marks into fail and quality flags and the mark sums."""
    weight = sou_weight(FinalMark.value)
    return per_student(
        authority_id,
        period,
        *indicator_aggregates(),
        func.sum(weight).label("sou_sum"),
        func.count(weight).label("sou_count"),
    )


@dataclass(frozen=True)
class SummaryColumns:
    """Column names of the summary, in the user's language."""

    school: str
    grade: str
    students: str
    passed: str
    quality_students: str
    average: str
    quality_rate: str
    pass_rate: str
    sou: str
    missed_per_student: str

    @classmethod
    def translated(cls) -> "SummaryColumns":
        return cls(
            school=_("School"),
            grade=_("Grade"),
            students=_("Students with term marks"),
            passed=_("Students passing"),
            quality_students=_("Students with only 4 and 5"),
            average=_("Average mark"),
            quality_rate=_("Quality rate"),
            pass_rate=_("Pass rate"),
            sou=_("Degree of learning (СОУ)"),
            missed_per_student=_("Missed lessons per student"),
        )

    def names(self) -> list[str]:
        return [getattr(self, item.name) for item in fields(self)]

    def formats(self) -> dict[str, str]:
        return {
            self.grade: INTEGER,
            self.students: INTEGER,
            self.passed: INTEGER,
            self.quality_students: INTEGER,
            self.average: DECIMAL_2,
            self.quality_rate: PERCENT_1,
            self.pass_rate: PERCENT_1,
            self.sou: PERCENT_1,
            self.missed_per_student: DECIMAL_2,
        }


#: Sums of the term marks in a summary row. With the missed lessons, they are what the
#: row's indicators divide, and the total rows add them up.
MARK_SUMS = (
    "students",
    "passed",
    "quality_students",
    "mark_sum",
    "mark_count",
    "sou_sum",
    "sou_count",
)


def _grade_sums(authority_id: int, period: TermPeriod | DateRange) -> list:
    """Read the sums of each school and grade with counted term marks, in name order."""
    students = _per_student(authority_id, period)
    statement = (
        select(
            School.id.label("school_id"),
            School.name.label("school"),
            students.c.grade,
            func.count().label("students"),
            func.sum(literal(1) - students.c.any_fail).label("passed"),
            func.sum(literal(1) - students.c.any_below_quality).label("quality_students"),
            func.sum(students.c.mark_sum).label("mark_sum"),
            func.sum(students.c.mark_count).label("mark_count"),
            func.sum(students.c.sou_sum).label("sou_sum"),
            func.sum(students.c.sou_count).label("sou_count"),
        )
        .join(School, School.id == students.c.school_id)
        .group_by(School.id, School.name, students.c.grade)
        .order_by(School.name, School.id, students.c.grade)
    )
    return db.session.execute(statement).all()


def lesson_in_term():
    """Build the join condition of ``Term`` on a lesson that falls within the term.

    The term is one of the lesson's school and year whose grades contain the grade of the
    course's class, so the statement must join ``Lesson``, ``Course`` and ``SchoolClass``.
    """
    return and_(
        Term.school_id == Lesson.school_id,
        Term.year_id == Course.year_id,
        SchoolClass.grade.between(Term.grade_from, Term.grade_to),
        Lesson.date.between(Term.start_date, Term.end_date),
    )


def _missed_lessons(authority_id: int, period: TermPeriod | DateRange) -> dict:
    """Count the missed lessons of each school and grade within the dates of the period's terms.

    A term covers the lessons of its school, year and grades between its dates. The grade is
    that of the course's class, as for the marks.
    """
    code = aliased(AttendanceCode)
    reason = aliased(AttendanceCode)
    # The joins go by id only; the composite foreign keys keep the school's id equal anyway.
    # Repeated in each condition, it made PostgreSQL take about a million absences for one
    # row and choose nested loops. A quarter of the city demo took 60 s instead of 5 s
    # (docs/benchmarks.md, "Reports").
    statement = (
        select(Lesson.school_id, SchoolClass.grade, func.count().label("missed"))
        .select_from(Attendance)
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .join(Term, lesson_in_term())
        .join(School, School.id == Attendance.school_id)
        .join(code, code.id == Attendance.code_id)
        .outerjoin(reason, reason.id == Attendance.reason_id)
        .where(
            School.authority_id == authority_id,
            term_condition(period),
            code.kind == "absent",
            code.counts_as_present.is_(False),
            or_(reason.id.is_(None), reason.counts_as_present.is_(False)),
            Lesson.is_cancelled.is_(False),
            SchoolClass.grade > 1,
        )
        .group_by(Lesson.school_id, SchoolClass.grade)
    )
    return {(row.school_id, row.grade): int(row.missed) for row in db.session.execute(statement)}


def _start_missed_lessons(authority_id: int, period: TermPeriod | DateRange) -> Future:
    """Start counting the missed lessons, on PostgreSQL beside the term marks' query.

    The two aggregates read different tables, and each takes seconds at city scale, so on
    PostgreSQL the absences are counted on a second connection while this one sums the
    marks. Only committed rows reach the second connection, and a report reads no others.
    SQLite counts them in turn, on this connection.
    """
    future: Future = Future()
    if db.engine.dialect.name != "postgresql":
        future.set_result(_missed_lessons(authority_id, period))
        return future
    app = current_app._get_current_object()

    def count_in_own_context() -> dict:
        with app.app_context():
            try:
                return _missed_lessons(authority_id, period)
            finally:
                db.session.remove()

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="missed-lessons")
    future = pool.submit(count_in_own_context)
    pool.shutdown(wait=False)
    return future


def _summary_record(columns: SummaryColumns, school: str, grade, sums: Counter) -> dict:
    """Build one summary row from its sums; indicators with nothing to divide stay empty."""
    students = sums["students"]
    return {
        columns.school: school,
        columns.grade: grade,
        columns.students: students,
        columns.passed: sums["passed"],
        columns.quality_students: sums["quality_students"],
        columns.average: sums["mark_sum"] / sums["mark_count"] if sums["mark_count"] else None,
        columns.quality_rate: sums["quality_students"] / students,
        columns.pass_rate: sums["passed"] / students,
        columns.sou: sums["sou_sum"] / (100 * sums["sou_count"]) if sums["sou_count"] else None,
        columns.missed_per_student: sums["missed"] / students,
    }


def rows_with_totals(rows, sums_of, record) -> list[dict]:
    """Build a record per school and grade row, a total after each school's rows, and the
    authority total last.

    ``rows`` have ``school_id``, ``school`` and ``grade`` and come in school order.
    ``sums_of(row)`` returns the row's counts as a :class:`Counter`, and ``record(school,
    grade, sums)`` builds a record. Total rows carry «Итого» as the grade, and the
    authority total «Все школы» as the school.
    """
    records = []
    school_sums: Counter = Counter()
    authority_sums: Counter = Counter()
    for index, row in enumerate(rows):
        sums = sums_of(row)
        records.append(record(row.school, int(row.grade), sums))
        school_sums.update(sums)
        authority_sums.update(sums)

        last_of_school = index + 1 == len(rows) or rows[index + 1].school_id != row.school_id
        if last_of_school:
            records.append(record(row.school, _("Total"), school_sums))
            school_sums = Counter()
    if rows:
        records.append(record(_("All schools"), _("Total"), authority_sums))
    return records


def authority_summary(
    authority_id: int, period: TermPeriod | DateRange, columns: SummaryColumns | None = None
) -> pd.DataFrame:
    """Aggregate the term marks of the authority's schools by school and grade, with totals.

    Returns one row per school and grade that has counted term marks, ordered by school
    name and grade. A total row with «Итого» in the grade column follows each school, and
    the authority total («Все школы») comes last. Rates are fractions (0.75 for 75 %); the
    average and СОУ are empty when a row has only pass/fail marks.
    """
    columns = columns or SummaryColumns.translated()
    missed_lessons = _start_missed_lessons(authority_id, period)
    rows = _grade_sums(authority_id, period)
    missed = missed_lessons.result()

    def sums_of(row) -> Counter:
        sums = Counter({name: int(getattr(row, name) or 0) for name in MARK_SUMS})
        sums["missed"] = missed.get((row.school_id, row.grade), 0)
        return sums

    records = rows_with_totals(rows, sums_of, partial(_summary_record, columns))
    return pd.DataFrame.from_records(records, columns=columns.names())


def summary_period(year_name: str | None, term: int) -> TermPeriod:
    """Return the period of the summary's filters; without a year it matches no term."""
    if year_name is None:
        return TermPeriod("", 0)
    return TermPeriod(year_name, term)


def school_totals(frame: pd.DataFrame, columns: SummaryColumns) -> pd.DataFrame:
    """Return the summary's total row of each school, without the grade, in the summary's order.

    The authority total is left out, so a chart of the rows compares schools only.
    """
    # NOTE: the summary counts a student in the grade of each course's class. A student with
    # marks in courses of two grades is counted in both, here as in the grade rows.
    # Grade rows carry the grade's number and total rows text; the last total is the
    # authority's.
    total_rows = frame[frame[columns.grade].map(lambda grade: isinstance(grade, str))]
    totals = total_rows.iloc[:-1].drop(columns=[columns.grade])
    return totals.reset_index(drop=True)


def school_totals_formats(columns: SummaryColumns) -> dict[str, str]:
    formats = columns.formats()
    del formats[columns.grade]
    return formats


def summary_chart(columns: SummaryColumns) -> ChartSpec:
    """Describe the summary's chart: quality and pass rates of each school in bars."""
    return ChartSpec(
        kind=BAR,
        category=columns.school,
        values=(columns.quality_rate, columns.pass_rate),
        title=_("Quality and pass rates by school"),
        percent=(columns.quality_rate, columns.pass_rate),
    )


def summary_workbook(
    frame: pd.DataFrame, columns: SummaryColumns, authority_name: str, year_name, term: int
) -> tuple[str, bytes]:
    """Write the summary to XLSX; return the download name (without ``.xlsx``) and the bytes.

    The page's download and the background job both call this, so both files have the
    same sheets and values. A second sheet contains each school's totals with their chart.
    """
    title = _("Summary of schools")
    filters = _(
        "Authority: %(authority)s. School year: %(year)s. Term: %(term)s.",
        authority=authority_name,
        year=year_name or "—",
        term=term,
    )
    totals = (
        _("By school"),
        school_totals(frame, columns),
        school_totals_formats(columns),
        summary_chart(columns),
    )
    content = frame_to_xlsx([(title, frame, columns.formats()), totals], title, filters)
    file_name = _(
        "Summary of schools %(year)s term %(term)s",
        year=year_name or "",
        term=term,
    )
    return file_name, content


def year_names(authority_id: int) -> list[str]:
    """List the names of the school years of the authority's schools, newest first."""
    statement = (
        select(AcademicYear.name)
        .join(School, School.id == AcademicYear.school_id)
        .where(School.authority_id == authority_id)
        .group_by(AcademicYear.name)
        .order_by(func.max(AcademicYear.start_date).desc())
    )
    return list(db.session.scalars(statement))


def closed_year_names(authority_id: int) -> set[str]:
    """Return the names of the school years that every school of the authority has closed."""
    open_flag = case((AcademicYear.is_closed.is_(True), 0), else_=1)
    statement = (
        select(AcademicYear.name)
        .join(School, School.id == AcademicYear.school_id)
        .where(School.authority_id == authority_id)
        .group_by(AcademicYear.name)
        .having(func.max(open_flag) == 0)
    )
    return set(db.session.scalars(statement))


def default_year_name(authority_id: int, today: dt.date) -> str | None:
    """Return the name of the school year containing ``today`` in any school, else the newest."""
    statement = (
        select(AcademicYear.name)
        .join(School, School.id == AcademicYear.school_id)
        .where(
            School.authority_id == authority_id,
            AcademicYear.start_date <= today,
            AcademicYear.end_date >= today,
        )
        .limit(1)
    )
    current = db.session.scalar(statement)
    if current:
        return current
    names = year_names(authority_id)
    return names[0] if names else None


def default_term_number(authority_id: int, year_name: str | None, today: dt.date) -> int:
    """Return the latest quarter of ``year_name`` finished by ``today``, else the latest begun.

    A finished quarter is preferred because term marks exist only once a quarter ends.
    """
    if year_name is None:
        return 1
    quarters = (
        select(func.max(Term.number))
        .join(School, School.id == Term.school_id)
        .join(AcademicYear, AcademicYear.id == Term.year_id)
        .where(
            School.authority_id == authority_id,
            AcademicYear.name == year_name,
            Term.kind == "quarter",
        )
    )
    finished = db.session.scalar(quarters.where(Term.end_date < today))
    begun = db.session.scalar(quarters.where(Term.start_date <= today))
    return finished or begun or 1
