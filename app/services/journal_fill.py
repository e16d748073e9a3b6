"""«Контроль заполнения журнала»: held lessons without a topic, attendance or marks.

Every count is aggregated in SQL: one row per lesson with three flags is built as a
subquery, and the summaries group it by class or by teacher. Only the lists of lessons
of one class or teacher are loaded row by row, and they are capped.

A lesson is *held* when its date is in the period, not after today, and it is not
cancelled. Its teacher is the substitute when one is set, else every teacher of the
course. A lesson counts as *without marks* only in a course that takes marks (a lesson
course of grade 2 or above whose assessment is not «безотметочное»).
"""

import datetime as dt
from dataclasses import dataclass, field

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import and_, case, exists, func, or_, select, union_all

from app.models import (
    AcademicYear,
    Assignment,
    Attendance,
    Course,
    Employee,
    Lesson,
    Mark,
    SchoolClass,
    Subject,
    Term,
    course_teacher,
    db,
)
from app.security.scope import Scope, apply_scope, scoped_get_or_404

#: The maximum number of lessons a page lists. The XLSX file contains them all.
LESSON_LIST_LIMIT = 500


@dataclass
class Filters:
    """The period and the optional class and teacher of the report."""

    date_from: dt.date
    date_to: dt.date
    term: Term | None = None
    school_class: SchoolClass | None = None
    teacher: Employee | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def grade_range(self) -> tuple[int, int] | None:
        """A term applies to some grades only (quarters for 1–9, half-years for 10–11)."""
        if self.term is None:
            return None
        return self.term.grade_from, self.term.grade_to


@dataclass
class FillRow:
    """Counts of one class or one teacher."""

    key: int
    name: str
    held: int
    markable: int
    no_topic: int
    no_attendance: int
    no_marks: int

    @staticmethod
    def _share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def no_topic_share(self) -> float | None:
        return self._share(self.no_topic, self.held)

    @property
    def no_attendance_share(self) -> float | None:
        return self._share(self.no_attendance, self.held)

    @property
    def no_marks_share(self) -> float | None:
        # Only courses that take marks can lack them.
        return self._share(self.no_marks, self.markable)

    @property
    def has_gaps(self) -> bool:
        return bool(self.no_topic or self.no_attendance or self.no_marks)


@dataclass
class GapLesson:
    """A held lesson with at least one gap, for the expanded list."""

    lesson_id: int
    date: dt.date
    lesson_number: int
    school_class: str
    subject: str
    teachers: str
    no_topic: bool
    no_attendance: bool
    no_marks: bool


# --- The period and filters ---------------------------------------------------------


def current_year(scope: Scope, today: dt.date) -> AcademicYear | None:
    """Find the school's year containing today, else its latest year that has begun."""
    statement = apply_scope(select(AcademicYear), AcademicYear, scope)
    containing = statement.where(AcademicYear.start_date <= today, AcademicYear.end_date >= today)
    year = db.session.scalars(containing).first()
    if year is not None:
        return year
    begun = statement.where(AcademicYear.start_date <= today)
    return db.session.scalars(begun.order_by(AcademicYear.start_date.desc())).first()


def year_terms(scope: Scope, year: AcademicYear | None) -> list[Term]:
    """List the terms of the year by grade scheme and date, for the selector."""
    if year is None:
        return []
    statement = (
        apply_scope(select(Term), Term, scope)
        .where(Term.year_id == year.id)
        .order_by(Term.grade_from, Term.start_date)
    )
    return list(db.session.scalars(statement))


def default_term(terms: list[Term], today: dt.date) -> Term | None:
    """Pick the current term of the scheme for the lowest grades (quarters for 1–9, say).

    That is the term containing today. In a vacation it is the last term that has begun,
    and before the first term it is the first one. The selector offers the other schemes.
    """
    if not terms:
        return None
    lowest = min(term.grade_from for term in terms)
    scheme = sorted((t for t in terms if t.grade_from == lowest), key=lambda t: t.start_date)
    begun = [term for term in scheme if term.start_date <= today]
    return begun[-1] if begun else scheme[0]


def parse_filters(scope: Scope, args, today: dt.date) -> Filters:
    """Read ?term=, ?date_from=, ?date_to=, ?class= and ?teacher= of the request.

    An id of another school, an unknown id or a non-numeric one aborts with 404. Invalid
    dates go to ``Filters.errors`` and the term is used instead. Explicit dates take
    precedence over a term.
    """
    errors: list[str] = []
    school_class = _scoped_id(args.get("class"), SchoolClass, scope)
    teacher = _scoped_id(args.get("teacher"), Employee, scope)
    term = _scoped_id(args.get("term"), Term, scope)

    date_from = _parse_date(args.get("date_from"), errors)
    date_to = _parse_date(args.get("date_to"), errors)
    if date_from is not None or date_to is not None:
        if date_from is None or date_to is None:
            errors.append(_("Enter both dates of the period, or choose a term."))
        elif date_from > date_to:
            errors.append(
                _(
                    "The period starts on %(start)s after its end %(end)s: "
                    "swap the dates or choose a term.",
                    start=date_from.strftime("%d.%m.%Y"),
                    end=date_to.strftime("%d.%m.%Y"),
                )
            )
        else:
            return Filters(date_from, date_to, None, school_class, teacher, errors)

    if term is None:
        term = default_term(year_terms(scope, current_year(scope, today)), today)
    if term is None:
        # A school without terms still gets a report: its lessons of the last month.
        return Filters(today - dt.timedelta(days=30), today, None, school_class, teacher, errors)
    return Filters(term.start_date, term.end_date, term, school_class, teacher, errors)


def _scoped_id(value: str | None, model, scope: Scope):
    if not value:
        return None
    if not value.isdigit():
        abort(404)
    return scoped_get_or_404(model, int(value), scope)


def _parse_date(value: str | None, errors: list[str]) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors.append(
            _(
                "The date «%(value)s» is invalid: choose it in the calendar "
                "or enter it as 2026-10-05.",
                value=value,
            )
        )
        return None


# --- The queries --------------------------------------------------------------------


def gap_columns() -> list:
    """Build a lesson's flags, 1 or 0: ``markable``, ``no_topic``, ``no_attendance``, ``no_marks``.

    The caller's statement joins ``Lesson`` with its ``Course`` and the course's
    ``SchoolClass``.
    """
    has_attendance = exists().where(
        Attendance.school_id == Lesson.school_id, Attendance.lesson_id == Lesson.id
    )

    # TODO: the journal stores absences and lateness only (an empty cell means present),
    # so a lesson where attendance was taken and everybody came looks the same as one where
    # it was never taken. An "attendance taken" flag on Lesson would tell them apart.

    # Nested rather than one join, because with a join SQLite scanned every mark of the
    # school for each lesson. Nested, each step is one lookup in an index.
    assignment_has_mark = exists().where(
        Mark.school_id == Assignment.school_id, Mark.assignment_id == Assignment.id
    )
    has_mark = exists().where(
        Assignment.school_id == Lesson.school_id,
        Assignment.lesson_id == Lesson.id,
        assignment_has_mark,
    )

    takes_marks = and_(Course.kind == "lesson", Course.assessment != "none", SchoolClass.grade > 1)
    no_topic = or_(Lesson.topic.is_(None), func.trim(Lesson.topic) == "")
    return [
        case((takes_marks, 1), else_=0).label("markable"),
        case((no_topic, 1), else_=0).label("no_topic"),
        case((has_attendance, 0), else_=1).label("no_attendance"),
        case((and_(takes_marks, ~has_mark), 1), else_=0).label("no_marks"),
    ]


def _lesson_flags(scope: Scope, filters: Filters, today: dt.date, as_cte: bool = False):
    """Build a subquery with one row per held lesson: its class, subject and three gap flags.

    A query that reads the rows twice takes them as a CTE, which PostgreSQL computes once.
    """
    last_day = min(filters.date_to, today)
    statement = (
        apply_scope(select(), Lesson, scope)
        .add_columns(
            Lesson.id.label("lesson_id"),
            Lesson.school_id.label("school_id"),
            Lesson.date.label("date"),
            Lesson.lesson_number.label("lesson_number"),
            Lesson.substitute_id.label("substitute_id"),
            Lesson.course_id.label("course_id"),
            Course.class_id.label("class_id"),
            Course.subject_id.label("subject_id"),
            *gap_columns(),
        )
        .join(Course, and_(Course.id == Lesson.course_id, Course.school_id == Lesson.school_id))
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .where(Lesson.is_cancelled.is_(False))
        .where(Lesson.date >= filters.date_from, Lesson.date <= last_day)
    )
    if filters.grade_range is not None:
        low, high = filters.grade_range
        statement = statement.where(SchoolClass.grade >= low, SchoolClass.grade <= high)
    if filters.school_class is not None:
        statement = statement.where(Course.class_id == filters.school_class.id)
    if filters.teacher is not None:
        statement = statement.where(_taught_by(filters.teacher.id))
    return statement.cte("lesson_flags") if as_cte else statement.subquery("lesson_flags")


def _taught_by(employee_id: int):
    """Build the condition that the employee held the lesson, as substitute or course teacher."""
    own = exists().where(
        course_teacher.c.course_id == Lesson.course_id,
        course_teacher.c.employee_id == employee_id,
    )
    return or_(
        Lesson.substitute_id == employee_id,
        and_(Lesson.substitute_id.is_(None), own),
    )


def _lesson_teachers(flags):
    """Build (lesson id, employee id) pairs: the substitute, or every teacher of the course."""
    substitutes = select(flags.c.lesson_id, flags.c.substitute_id.label("employee_id")).where(
        flags.c.substitute_id.is_not(None)
    )
    own = (
        select(flags.c.lesson_id, course_teacher.c.employee_id)
        .join(course_teacher, course_teacher.c.course_id == flags.c.course_id)
        .where(flags.c.substitute_id.is_(None))
    )
    return union_all(substitutes, own).subquery("lesson_teacher")


def _sums(flags):
    return (
        func.count(flags.c.lesson_id).label("held"),
        func.coalesce(func.sum(flags.c.markable), 0).label("markable"),
        func.coalesce(func.sum(flags.c.no_topic), 0).label("no_topic"),
        func.coalesce(func.sum(flags.c.no_attendance), 0).label("no_attendance"),
        func.coalesce(func.sum(flags.c.no_marks), 0).label("no_marks"),
    )


def _row(key, name, values) -> FillRow:
    return FillRow(key, name, *(int(value) for value in values))


def by_class(scope: Scope, filters: Filters, today: dt.date) -> list[FillRow]:
    """Count held lessons and their gaps per class, in grade and name order."""
    flags = _lesson_flags(scope, filters, today)
    statement = (
        select(SchoolClass.id, SchoolClass.name, *_sums(flags))
        .join(flags, flags.c.class_id == SchoolClass.id)
        .group_by(SchoolClass.id, SchoolClass.name, SchoolClass.grade)
        .order_by(SchoolClass.grade, SchoolClass.name)
    )
    return [_row(row[0], row[1], row[2:]) for row in db.session.execute(statement)]


def by_teacher(scope: Scope, filters: Filters, today: dt.date) -> list[FillRow]:
    """Count held lessons and their gaps per teacher. A lesson with two teachers counts for each."""
    flags = _lesson_flags(scope, filters, today, as_cte=True)
    pairs = _lesson_teachers(flags)
    statement = (
        select(
            Employee.id,
            Employee.last_name,
            Employee.first_name,
            Employee.middle_name,
            *_sums(flags),
        )
        .join(pairs, pairs.c.employee_id == Employee.id)
        .join(flags, flags.c.lesson_id == pairs.c.lesson_id)
        .where(Employee.school_id == scope.school_id)
        .group_by(Employee.id, Employee.last_name, Employee.first_name, Employee.middle_name)
        .order_by(Employee.last_name, Employee.first_name, Employee.id)
    )
    rows = []
    for row in db.session.execute(statement):
        name = " ".join(part for part in row[1:4] if part)
        rows.append(_row(row[0], name, row[4:]))
    if filters.teacher is not None:
        rows = [row for row in rows if row.key == filters.teacher.id]
    return rows


def totals(class_rows: list[FillRow]) -> FillRow:
    """Add up the class rows: every lesson belongs to one class, so each counts once."""
    sums = [0, 0, 0, 0, 0]
    for row in class_rows:
        values = (row.held, row.markable, row.no_topic, row.no_attendance, row.no_marks)
        sums = [total + value for total, value in zip(sums, values, strict=True)]
    return FillRow(0, _("Total"), *sums)


def gap_lessons(
    scope: Scope, filters: Filters, today: dt.date, limit: int | None = LESSON_LIST_LIMIT
) -> list[GapLesson]:
    """List held lessons with at least one gap, by date and lesson number."""
    flags = _lesson_flags(scope, filters, today)
    statement = (
        select(flags, SchoolClass.name.label("class_name"), Subject.name.label("subject_name"))
        .join(SchoolClass, SchoolClass.id == flags.c.class_id)
        .join(Subject, Subject.id == flags.c.subject_id)
        .where(or_(flags.c.no_topic == 1, flags.c.no_attendance == 1, flags.c.no_marks == 1))
        .order_by(flags.c.date, flags.c.lesson_number, SchoolClass.name, flags.c.lesson_id)
    )
    if limit is not None:
        statement = statement.limit(limit)
    rows = db.session.execute(statement).mappings().all()
    names = _teacher_names([row["lesson_id"] for row in rows], scope)
    return [
        GapLesson(
            lesson_id=row["lesson_id"],
            date=row["date"],
            lesson_number=row["lesson_number"],
            school_class=row["class_name"],
            subject=row["subject_name"],
            teachers=", ".join(names.get(row["lesson_id"], [])),
            no_topic=bool(row["no_topic"]),
            no_attendance=bool(row["no_attendance"]),
            no_marks=bool(row["no_marks"]),
        )
        for row in rows
    ]


def _teacher_names(lesson_ids: list[int], scope: Scope) -> dict[int, list[str]]:
    """Load the short names of the teachers of the listed lessons in one query."""
    if not lesson_ids:
        return {}
    own = (
        select(Lesson.id, course_teacher.c.employee_id)
        .join(course_teacher, course_teacher.c.course_id == Lesson.course_id)
        .where(Lesson.id.in_(lesson_ids), Lesson.substitute_id.is_(None))
    )
    substitutes = select(Lesson.id, Lesson.substitute_id).where(
        Lesson.id.in_(lesson_ids), Lesson.substitute_id.is_not(None)
    )
    pairs = union_all(own, substitutes).subquery()
    statement = (
        select(pairs.c[0], Employee)
        .join(Employee, Employee.id == pairs.c[1])
        .where(Employee.school_id == scope.school_id)
        .order_by(Employee.last_name, Employee.first_name)
    )
    names: dict[int, list[str]] = {}
    for lesson_id, employee in db.session.execute(statement):
        names.setdefault(lesson_id, []).append(employee.short_name)
    return names


def school_choices(scope: Scope) -> dict:
    """List the school's classes and the employees who teach a course, for the selectors."""
    classes = apply_scope(select(SchoolClass), SchoolClass, scope).order_by(
        SchoolClass.grade, SchoolClass.name
    )
    teachers = (
        apply_scope(select(Employee), Employee, scope)
        .where(exists().where(course_teacher.c.employee_id == Employee.id))
        .order_by(Employee.last_name, Employee.first_name)
    )
    return {
        "classes": list(db.session.scalars(classes)),
        "teachers": list(db.session.scalars(teachers)),
    }
