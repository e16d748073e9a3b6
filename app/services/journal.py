"""The class journal: who may open which course, the course grid, and saving a lesson.

Views only parse the request and render. Every rule of the journal lives here: the
weighted average, the mark values a course accepts, what a session may read or write, and
the one-transaction save of a lesson's topic, assignments, marks and attendance.
"""

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cached_property
from typing import TYPE_CHECKING, NamedTuple

from flask import abort
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import Select, bindparam, delete, func, insert, or_, select, union_all, update
from sqlalchemy.orm import aliased, joinedload, lazyload

from app.errors import FormErrors
from app.models import (
    AcademicYear,
    Assignment,
    AssignmentType,
    Attendance,
    AttendanceCode,
    Course,
    Employee,
    FinalMark,
    Lesson,
    Mark,
    School,
    SchoolClass,
    Student,
    Term,
    TransferredMark,
    course_teacher,
    db,
    study_group_student,
)
from app.models.base import PersonName
from app.models.journal import mark_display
from app.security.criteria import built_once, core_rows, in_school
from app.security.scope import Scope, apply_scope, scoped_get_or_404
from app.services import absence_notes, thematic_plan
from app.services.assessment_procedures import check_procedure
from app.services.journal_audit import (
    attendance_text,
    insert_change,
    last_change,
    mark_text,
    record_change,
)
from app.services.numbers import format_weight, locale_decimal_symbol
from app.services.regulation import grade2_mark_rejection
from app.services.transferred_marks import transferred_marks_query

if TYPE_CHECKING:
    from app.services.journal_course import JournalCourse

log = logging.getLogger(__name__)

#: Roles that read and correct every course of their school.
WHOLE_SCHOOL_ROLES = ("principal", "server_admin")

#: Shown where there is nothing to average.
NO_AVERAGE = "—"

DUTY_INPUTS = {".", "точка", "•"}
PASS_INPUTS = {"зач": "pass", "незач": "fail"}

#: Largest weight that fits the Numeric(5, 2) column of assignments.
MAX_WEIGHT = Decimal("999.99")
MAX_TOPIC_LENGTH = 500
MAX_COMMENT_LENGTH = 500


# --- Averages -------------------------------------------------------------------


def _numeric_pair(mark) -> tuple[int, Decimal] | None:
    """(value, weight) of a mark that counts toward the average, else None.

    Accepts a ``Mark`` row (its weight is its assignment's) or a ``(value, weight)`` pair
    whose value is an int, or anything else for a mark that does not count.
    """
    if isinstance(mark, Mark | GridMark):
        if mark.kind != "number" or mark.value is None:
            return None
        weight = mark.weight if isinstance(mark, GridMark) else mark.assignment.weight
        return mark.value, Decimal(weight)
    value, weight = mark
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value, Decimal(str(weight))


class AverageTally:
    """The running sums of one student's numeric marks, from which the average follows.

    The course grid adds each mark as it reads it: building a list of pairs per student
    and summing it three times cost the page more than the query of the marks.
    """

    __slots__ = ("weighted", "weights", "values", "count")

    def __init__(self) -> None:
        self.weighted = Decimal(0)
        self.weights = Decimal(0)
        self.values = 0
        self.count = 0

    def add(self, value: int, weight: Decimal) -> None:
        self.weighted += value * weight
        self.weights += weight
        self.values += value
        self.count += 1

    def average(self, weighting_enabled: bool = True) -> Decimal | None:
        """Σ(mark × weight) / Σ(weight), or the plain mean; see :func:`weighted_average`."""
        if not self.count:
            return None
        if not weighting_enabled or self.weights == 0:
            return Decimal(self.values) / self.count
        return self.weighted / self.weights


def weighted_average(marks: Iterable, weighting_enabled: bool = True) -> Decimal | None:
    """Compute the weighted average Σ(mark × weight) / Σ(weight), unrounded.

    Only numeric marks count: blanks, duty marks and pass/fail marks are skipped. A mark
    of weight 0 counts only when every weight is 0; then, and when the school turned
    weighting off, the plain mean is returned. Returns None when nothing counts.
    """
    tally = AverageTally()
    for mark in marks:
        pair = _numeric_pair(mark)
        if pair is not None:
            tally.add(*pair)
    return tally.average(weighting_enabled)


def format_average(average: Decimal | None, decimal_symbol: str | None = None) -> str:
    """Show an average with two decimals in the user's locale («4,17»), or «—» for none.

    A page that shows many averages passes the locale's ``decimal_symbol``
    (:func:`app.services.numbers.locale_decimal_symbol`), read once.
    """
    if average is None:
        return NO_AVERAGE
    rounded = average.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    decimal_symbol = decimal_symbol or locale_decimal_symbol()
    if decimal_symbol is None:
        return format_decimal(rounded, format="0.00")
    # The pattern "0.00" has no grouping, so the locale adds only its decimal sign:
    # Babel's formatter cost a grid row as much as its twenty cells.
    return f"{rounded:f}".replace(".", decimal_symbol)


# --- Mark values ----------------------------------------------------------------


class JournalInputError(FormErrors):
    """One or more values of a journal form are invalid; nothing was saved."""


@dataclass(frozen=True)
class MarkValue:
    """A parsed mark: its kind (number, pass, fail, duty) and the number for numeric marks."""

    kind: str
    value: int | None = None


def allowed_marks_message(value: str, course: Course, max_mark: int) -> str:
    """Build the error for an invalid mark, naming the value and what the course accepts."""
    if course.assessment == "pass_fail":
        return _(
            'Mark "%(value)s" is invalid: this course is assessed pass/fail, so enter '
            '"зач", "незач" or "." for a duty mark.',
            value=value,
        )
    return _(
        'Mark "%(value)s" is invalid: enter a whole number from 1 to %(max)s '
        'or "." for a duty mark.',
        value=value,
        max=max_mark,
    )


def parse_mark_value(text: str, course: Course, max_mark: int) -> MarkValue | None:
    """Parse what a teacher typed in a mark cell; None means the cell is empty.

    Numbers 1..``max_mark`` are taken in courses with marks, «зач» and «незач» in pass/fail
    courses, and «.» or «точка» (a duty mark) in both. Raises ``ValueError`` with the
    user's message for anything else.
    """
    cleaned = (text or "").strip().lower()
    if not cleaned:
        return None
    if cleaned in DUTY_INPUTS:
        return MarkValue("duty")
    if course.assessment == "pass_fail":
        if cleaned in PASS_INPUTS:
            return MarkValue(PASS_INPUTS[cleaned])
    elif cleaned.isdigit() and 1 <= int(cleaned) <= max_mark:
        return MarkValue("number", int(cleaned))
    raise ValueError(allowed_marks_message(text.strip(), course, max_mark))


def mark_input_value(mark: Mark | None) -> str:
    """Format a stored mark for an input, in a form the parser reads back unchanged."""
    if mark is None:
        return ""
    if mark.kind == "duty":
        return "."
    return mark.display()


def assignment_title(type_name: str, weight) -> str:
    """The type and weight of an assignment, as the tooltip of its marks begins."""
    return _("%(type)s, weight %(weight)s", type=type_name, weight=format_weight(weight))


def mark_title(mark: Mark) -> str:
    """Tooltip of a mark: assignment type and weight, and the comment if any."""
    title = assignment_title(mark.assignment.type.name, mark.assignment.weight)
    if mark.comment:
        title = f"{title}: {mark.comment}"
    return title


# --- Who may open what ----------------------------------------------------------


@dataclass(frozen=True)
class JournalAccess:
    """What one session may do in the journal of its school.

    ``whole_school`` sessions (the principal, the server administrator, and any other
    role the matrix gave journal rights) may open every course. A teacher may open the
    courses they teach and those where they substitute a lesson, and, when the school
    allows it, every course of the class they lead.
    """

    scope: Scope
    employee_ids: frozenset
    whole_school: bool
    #: Whether the permission matrix grants writing to the journal at all.
    may_write: bool
    #: Classes whose every course the session opens and writes as their class teacher,
    #: when the school allows it (``School.class_teacher_enters_all``).
    led_class_ids: frozenset = frozenset()

    @property
    def corrects_everything(self) -> bool:
        return self.may_write and (
            self.scope.level == "server" or self.scope.has_role(*WHOLE_SCHOOL_ROLES)
        )


@built_once
def _access_statement():
    """Build the query of the session's employee ids and the school's class-teacher setting.

    Every journal page runs it first. It runs past the ORM, which costs the page less.
    """
    school = bindparam("school")
    return (
        select(Employee.id, School.class_teacher_enters_all)
        .select_from(School)
        .outerjoin(Employee, in_school(Employee, Employee.user_id == bindparam("user"), school))
        .where(School.id == school)
    )


def journal_access(scope: Scope, may_write: bool) -> JournalAccess:
    """Work out the journal rights of a session from its scope and the permission matrix."""
    employee_ids = frozenset()
    enters_all = False
    if scope.school_id is not None and scope.user_id is not None:
        params = {"school": scope.school_id, "user": scope.user_id}
        rows = core_rows(db.session, _access_statement(), params)
        employee_ids = frozenset(row[0] for row in rows if row[0] is not None)
        enters_all = any(row[1] for row in rows)
    teacher_only = scope.has_role("teacher") and not scope.has_role(*WHOLE_SCHOOL_ROLES)
    whole_school = scope.level == "server" or not teacher_only
    led_class_ids = frozenset()
    if teacher_only and employee_ids and enters_all:
        led_class_ids = frozenset(
            db.session.scalars(
                select(SchoolClass.id).where(
                    SchoolClass.school_id == scope.school_id,
                    SchoolClass.class_teacher_id.in_(employee_ids),
                )
            )
        )
    return JournalAccess(scope, employee_ids, whole_school, may_write, led_class_ids)


def leads_class_of(access: JournalAccess, course: Course) -> bool:
    """Tell whether the session writes the course as the class teacher of its class."""
    return course.class_id in access.led_class_ids


def _taught_course_ids(access: JournalAccess):
    return select(course_teacher.c.course_id).where(
        course_teacher.c.employee_id.in_(access.employee_ids)
    )


def _substituted_course_ids(access: JournalAccess):
    return select(Lesson.course_id).where(
        Lesson.school_id == access.scope.school_id,
        Lesson.substitute_id.in_(access.employee_ids),
    )


def visible_courses_query(access: JournalAccess):
    """Build a select() of the courses the session may open, ordered by class."""
    statement = apply_scope(select(Course), Course, access.scope)
    if not access.whole_school:
        statement = statement.where(
            or_(
                Course.id.in_(_taught_course_ids(access)),
                Course.id.in_(_substituted_course_ids(access)),
                Course.class_id.in_(list(access.led_class_ids)),
            )
        )
    return statement.join(SchoolClass, SchoolClass.id == Course.class_id).order_by(
        SchoolClass.grade, SchoolClass.name, Course.id
    )


@dataclass
class CourseGroup:
    """Courses of one class, as the course list shows them."""

    school_class: SchoolClass
    courses: list[Course] = field(default_factory=list)


def visible_courses(access: JournalAccess) -> list[CourseGroup]:
    """List the courses the session may open, grouped by class."""
    groups: dict[int, CourseGroup] = {}
    for course in db.session.scalars(visible_courses_query(access)).unique():
        group = groups.setdefault(course.class_id, CourseGroup(course.school_class))
        group.courses.append(course)
    return list(groups.values())


def teaches(access: JournalAccess, course: Course) -> bool:
    return any(teacher.id in access.employee_ids for teacher in course.teachers)


def get_course_or_404(access: JournalAccess, course_id) -> Course:
    """Load a course the session may open.

    A course of another school, or one outside a teacher's own courses, raises 404 like a
    missing id.
    """
    course = scoped_get_or_404(Course, course_id, access.scope)
    check_course_access(access, course)
    return course


def check_course_access(access: JournalAccess, course: "Course | JournalCourse") -> None:
    """Raise 404 unless the session may open the course.

    It may when its roles cover the whole school, when it teaches the course or leads
    the course's class, or when it substitutes one of the course's lessons.
    """
    if access.whole_school or teaches(access, course) or leads_class_of(access, course):
        return
    substitutes = db.session.scalar(
        select(func.count(Lesson.id)).where(
            Lesson.school_id == course.school_id,
            Lesson.course_id == course.id,
            Lesson.substitute_id.in_(access.employee_ids),
        )
    )
    if not substitutes:
        abort(404)


def get_lesson_or_404(access: JournalAccess, lesson_id) -> Lesson:
    """Load a lesson the session may open: of a course it may open, or one it substitutes."""
    lesson = scoped_get_or_404(Lesson, lesson_id, access.scope)
    if not _may_open_lesson(access, lesson):
        abort(404)
    return lesson


def _may_open_lesson(access: JournalAccess, lesson: Lesson) -> bool:
    course = lesson.course
    if access.whole_school or teaches(access, course) or leads_class_of(access, course):
        return True
    return lesson.substitute_id in access.employee_ids


def may_write_course(access: JournalAccess, course: Course) -> bool:
    """Tell whether the session may change the course's lessons (substitutions aside)."""
    if not access.may_write:
        return False
    return access.corrects_everything or teaches(access, course) or leads_class_of(access, course)


def may_write_lesson(access: JournalAccess, lesson: Lesson) -> bool:
    if may_write_course(access, lesson.course):
        return True
    return access.may_write and lesson.substitute_id in access.employee_ids


# --- The course grid ------------------------------------------------------------


def course_terms(course: Course) -> list[Term]:
    """Terms of the course's year that apply to its class's grade, in date order."""
    grade = course.school_class.grade
    statement = (
        select(Term)
        .where(Term.school_id == course.school_id, Term.year_id == course.year_id)
        .where(Term.grade_from <= grade, Term.grade_to >= grade)
        .order_by(Term.start_date)
    )
    return list(db.session.scalars(statement))


def default_term(terms: list[Term], today: dt.date) -> Term | None:
    """Pick the term containing ``today``, else the last one, or None without terms."""
    for term in terms:
        if term.start_date <= today <= term.end_date:
            return term
    return terms[-1] if terms else None


@dataclass(frozen=True, slots=True)
class GridAssignment:
    """An assignment as the course grid's header and tooltips show it."""

    id: int
    text: str | None
    weight: Decimal
    type_name: str
    is_homework: bool


@dataclass(slots=True)
class GridLesson:
    """A lesson as the course grid shows it: a column, read as plain columns.

    The grid of a full term has some 60 lessons with 100 assignments; as ORM rows with
    their relationships they cost the page more than the queries that read them.
    """

    id: int
    date: dt.date
    lesson_number: int
    topic: str | None
    is_cancelled: bool
    assignments: list[GridAssignment] = field(default_factory=list)


class GridMark(NamedTuple):
    """A mark as the course grid shows it, read as plain columns rather than a ``Mark``.

    A full term has over a thousand marks; loading them as ORM rows cost the page more
    than the query that fetched them. A named tuple rather than a frozen dataclass: it is
    made in C, straight from the row of the grid's statement, whose columns come in the
    order of the fields.
    """

    assignment_id: int
    kind: str
    value: int | None
    comment: str | None
    weight: Decimal
    #: The cell of the grid: left at 0 for marks that are not in a grid.
    student_id: int = 0
    lesson_id: int = 0

    def display(self) -> str:
        return mark_display(self.kind, self.value)


class GridAttendance(NamedTuple):
    """An attendance entry as the course grid shows it: the code and the reason, if any."""

    code: str
    code_name: str
    reason_code: str | None
    reason_name: str | None
    #: The cell of the grid, last, as the grid's statement reads them.
    student_id: int = 0
    lesson_id: int = 0

    def display(self) -> str:
        return self.reason_code or self.code

    @property
    def title(self) -> str:
        if self.reason_name:
            return f"{self.code_name}: {self.reason_name}"
        return self.code_name


class GridTransferred(NamedTuple):
    """A mark brought from another school's extract, as the grid's own column shows it."""

    value: int
    weight: Decimal
    date: dt.date
    source_school: str


class GridCell:
    """Marks and attendance of one student in one lesson.

    A plain class with slots: a term's grid makes a thousand of them, and a dataclass
    with a list factory cost noticeably more to build.
    """

    __slots__ = ("marks", "attendance")

    def __init__(self) -> None:
        self.marks: list[GridMark] = []
        self.attendance: GridAttendance | None = None


#: A student as a row of the course grid shows it.
GridStudent = PersonName


@dataclass
class GridRow:
    student: GridStudent
    cells: dict[int, GridCell]
    average: Decimal | None
    #: The value of the student's term mark in the course, as stored.
    term_mark: str | None
    #: Marks of the term brought from another school's extract; they count in ``average``.
    transferred: list[GridTransferred] = field(default_factory=list)

    @property
    def average_text(self) -> str:
        return format_average(self.average)


@dataclass
class CourseGrid:
    """Students × lessons of one course in one term, as the journal page shows it."""

    course: Course
    term: Term | None
    terms: list[Term]
    lessons: list[GridLesson]
    rows: list[GridRow]
    gives_marks: bool

    @cached_property
    def shows_transferred(self) -> bool:
        """Tell whether the grid has a column of marks brought from extracts."""
        return self.gives_marks and any(row.transferred for row in self.rows)


def _term_lessons_query(course: Course, term: Term | None):
    """Build a select() of the course's lessons in the term (all of them without a term)."""
    statement = select(Lesson).where(
        Lesson.school_id == course.school_id, Lesson.course_id == course.id
    )
    if term is not None:
        statement = statement.where(Lesson.date >= term.start_date, Lesson.date <= term.end_date)
    return statement


def student_average(course: Course, marks: Iterable) -> Decimal | None:
    """Compute the average of a student's marks in a course, weighted as the school decided."""
    return weighted_average(marks, course.school.weighting_enabled)


def student_term_average_text(course: Course, term: Term | None, student_id: int) -> str:
    """Compute the average text that the course grid shows in the student's row for the term."""
    lesson_ids = _term_lessons_query(course, term).with_only_columns(Lesson.id)
    # (value, weight) pairs of the numeric marks: no ORM object is built for them.
    own = (
        select(Mark.value, Assignment.weight)
        .join(Assignment, Assignment.id == Mark.assignment_id)
        .where(
            Mark.school_id == course.school_id,
            Mark.student_id == student_id,
            Mark.kind == "number",
            Assignment.lesson_id.in_(lesson_ids),
        )
    )
    # Marks from another school's extract join in the same statement: the cell save
    # that returns this average is kept to few statements.
    brought = transferred_marks_query(
        course.school_id,
        [course.id],
        term.start_date if term is not None else None,
        term.end_date if term is not None else None,
        student_id=student_id,
    ).with_only_columns(TransferredMark.value, TransferredMark.weight)
    pairs = db.session.execute(union_all(own, brought))
    return format_average(student_average(course, (tuple(pair) for pair in pairs)))


def course_grid(
    course: "Course | JournalCourse", term: Term | None, terms: list[Term]
) -> CourseGrid:
    """Assemble the grid of a course for one term (all its lessons when there is no term)."""
    statements = _grid_statements()
    params = _grid_params(course, term)
    lessons = _grid_lessons(statements, params)

    cells: dict[int, dict[int, GridCell]] = defaultdict(lambda: defaultdict(GridCell))
    tallies: dict[int, AverageTally] = defaultdict(AverageTally)
    for mark in map(GridMark._make, core_rows(db.session, statements.marks, params)):
        cells[mark.student_id][mark.lesson_id].marks.append(mark)
        if mark.kind == "number" and mark.value is not None:
            tallies[mark.student_id].add(mark.value, mark.weight)
    attendance = core_rows(db.session, statements.attendance, params)
    for entry in map(GridAttendance._make, attendance):
        cells[entry.student_id][entry.lesson_id].attendance = entry
    transferred = _grid_transferred(statements, params)
    for student_id, marks in transferred.items():
        for mark in marks:
            tallies[student_id].add(mark.value, mark.weight)
    term_marks = _grid_term_marks(statements, course, term)

    weighting = course.school.weighting_enabled
    no_marks = AverageTally()
    rows = []
    for student in _grid_students(statements, course):
        rows.append(
            GridRow(
                student=student,
                cells=cells.get(student.id, {}),
                average=tallies.get(student.id, no_marks).average(weighting),
                term_mark=term_marks.get(student.id),
                transferred=transferred.get(student.id, []),
            )
        )
    return CourseGrid(course, term, terms, lessons, rows, course.gives_marks)


#: The code and the reason of an attendance entry, both rows of attendance_code.
_ATTENDANCE_CODE = aliased(AttendanceCode, name="code")
_ATTENDANCE_REASON = aliased(AttendanceCode, name="reason")


class _GridStatements(NamedTuple):
    """The course grid's statements, built once by :func:`_grid_statements`."""

    class_students: Select
    group_students: Select
    lessons: Select
    assignments: Select
    marks: Select
    attendance: Select
    transferred: Select
    term_marks: Select


@built_once
def _grid_statements() -> _GridStatements:
    """Build the grid's statements once, with bound parameters for the course and term.

    Building a grid statement anew cost about 0.4 ms a render. That is as much as its
    run past the ORM took beyond the database's own work. A statement built once also
    keeps its cache key and the metadata of its rows. Each statement runs past the ORM
    (:func:`core_rows`) and names the school on every table, joins included.
    """
    school = bindparam("school")
    course, term = bindparam("course"), bindparam("term")
    start, end = bindparam("start"), bindparam("end")
    lesson_ids = select(Lesson.id).where(
        Lesson.school_id == school,
        Lesson.course_id == course,
        Lesson.date >= start,
        Lesson.date <= end,
    )
    code, reason = _ATTENDANCE_CODE, _ATTENDANCE_REASON
    student_names = select(Student.id, Student.last_name, Student.first_name, Student.middle_name)
    return _GridStatements(
        # The order and the choice of Course.students(): a group lists all its students,
        # a class its active ones.
        class_students=student_names.where(
            Student.school_id == school,
            Student.class_id == bindparam("class"),
            Student.is_active.is_(True),
        ).order_by(Student.last_name, Student.first_name, Student.id),
        group_students=student_names.join(
            study_group_student, study_group_student.c.student_id == Student.id
        )
        .where(Student.school_id == school, study_group_student.c.group_id == bindparam("group"))
        .order_by(Student.last_name, Student.first_name, Student.id),
        lessons=lesson_ids.with_only_columns(
            Lesson.id, Lesson.date, Lesson.lesson_number, Lesson.topic, Lesson.is_cancelled
        ).order_by(Lesson.date, Lesson.lesson_number),
        assignments=select(
            Assignment.lesson_id,
            Assignment.id,
            Assignment.text,
            Assignment.weight,
            AssignmentType.name,
            AssignmentType.is_homework,
        )
        .join(
            AssignmentType,
            in_school(AssignmentType, AssignmentType.id == Assignment.type_id, school),
        )
        .where(Assignment.school_id == school, Assignment.lesson_id.in_(lesson_ids))
        .order_by(Assignment.id),
        # The columns of GridMark and GridAttendance, in their order.
        marks=select(
            Mark.assignment_id,
            Mark.kind,
            Mark.value,
            Mark.comment,
            Assignment.weight,
            Mark.student_id,
            Assignment.lesson_id,
        )
        .join(Assignment, in_school(Assignment, Assignment.id == Mark.assignment_id, school))
        .where(Mark.school_id == school, Assignment.lesson_id.in_(lesson_ids))
        .order_by(Mark.assignment_id),
        attendance=select(
            code.code,
            code.name,
            reason.code,
            reason.name,
            Attendance.student_id,
            Attendance.lesson_id,
        )
        .join(code, in_school(code, code.id == Attendance.code_id, school))
        .outerjoin(reason, in_school(reason, reason.id == Attendance.reason_id, school))
        .where(Attendance.school_id == school, Attendance.lesson_id.in_(lesson_ids)),
        transferred=select(
            TransferredMark.student_id,
            TransferredMark.value,
            TransferredMark.weight,
            TransferredMark.date,
            TransferredMark.source_school,
        )
        .where(
            TransferredMark.school_id == school,
            TransferredMark.course_id == course,
            TransferredMark.date >= start,
            TransferredMark.date <= end,
        )
        .order_by(TransferredMark.date, TransferredMark.id),
        term_marks=select(FinalMark.student_id, FinalMark.value).where(
            FinalMark.school_id == school,
            FinalMark.course_id == course,
            FinalMark.kind == "term",
            FinalMark.term_id == term,
        ),
    )


def _grid_params(course: Course, term: Term | None) -> dict:
    """Bind the grid's statements to the course and the term's dates.

    A course without terms shows all its lessons: its dates span every possible date.
    """
    return {
        "school": course.school_id,
        "course": course.id,
        "start": term.start_date if term is not None else dt.date.min,
        "end": term.end_date if term is not None else dt.date.max,
    }


def _grid_students(statements: _GridStatements, course: Course) -> list[GridStudent]:
    """Read the course's students, as ``Course.students`` chooses and orders them."""
    if course.group_id is not None:
        statement, params = statements.group_students, {"group": course.group_id}
    else:
        statement, params = statements.class_students, {"class": course.class_id}
    params["school"] = course.school_id
    return [GridStudent._make(row) for row in core_rows(db.session, statement, params)]


def _grid_lessons(statements: _GridStatements, params: dict) -> list[GridLesson]:
    """Read the lessons of the grid in date order, each with its assignments by id."""
    rows = core_rows(db.session, statements.lessons, params)
    lessons = {row[0]: GridLesson(*row) for row in rows}
    for lesson_id, *values in core_rows(db.session, statements.assignments, params):
        lessons[lesson_id].assignments.append(GridAssignment(*values))
    return list(lessons.values())


def _grid_transferred(
    statements: _GridStatements, params: dict
) -> dict[int, list[GridTransferred]]:
    """Map student ids to the course's marks from extracts in the term, in date order."""
    marks: dict[int, list[GridTransferred]] = defaultdict(list)
    for student_id, value, weight, date, source in core_rows(
        db.session, statements.transferred, params
    ):
        marks[student_id].append(GridTransferred(value, Decimal(str(weight)), date, source))
    return marks


def _grid_term_marks(
    statements: _GridStatements, course: Course, term: Term | None
) -> dict[int, str]:
    """Map student ids to the value of their term mark in the course."""
    if term is None:
        return {}
    params = {"school": course.school_id, "course": course.id, "term": term.id}
    return dict(core_rows(db.session, statements.term_marks, params))


# --- Saving a lesson ------------------------------------------------------------


@dataclass
class NewAssignment:
    """The new-assignment row of the lesson form, as typed."""

    type_id: str = ""
    weight: str = ""
    text: str = ""
    due_date: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.type_id or self.weight.strip() or self.text.strip() or self.due_date)


@dataclass
class LessonForm:
    """Values of the lesson form, keyed by ids, as the view read them from the request."""

    topic: str = ""
    new_assignment: NewAssignment = field(default_factory=NewAssignment)
    #: (assignment id, student id) → typed mark value
    marks: dict[tuple[int, int], str] = field(default_factory=dict)
    #: (assignment id, student id) → comment
    comments: dict[tuple[int, int], str] = field(default_factory=dict)
    #: student id → attendance code id as text, "" for present
    attendance: dict[int, str] = field(default_factory=dict)
    #: What the page showed when it was loaded, per cell, to detect a concurrent edit:
    #: (assignment id, student id) → (mark as shown, comment); student id → code id.
    #: A cell missing here is saved without the check (a form without the hidden fields).
    seen_marks: dict[tuple[int, int], tuple[str, str]] = field(default_factory=dict)
    seen_attendance: dict[int, str] = field(default_factory=dict)


def lesson_form_from_lesson(lesson: Lesson, students: list[Student]) -> LessonForm:
    """Fill the form with what is stored, for the first display of the lesson page."""
    # A lesson without a topic offers the thematic plan's topic, saved with the form.
    form = LessonForm(topic=lesson.topic or thematic_plan.planned_topic(lesson) or "")
    for assignment in lesson.assignments:
        for mark in assignment.marks:
            key = (assignment.id, mark.student_id)
            form.marks[key] = mark_input_value(mark)
            form.comments[key] = mark.comment or ""
    stored = lesson_attendance(lesson)
    for student in students:
        entry = stored.get(student.id)
        form.attendance[student.id] = str(entry.code_id) if entry else ""
    mark_as_seen(form, lesson, students)
    return form


def mark_as_seen(form: LessonForm, lesson: Lesson, students: list[Student]) -> None:
    """Record the stored values as the ones the user sees, for the hidden fields."""
    stored_marks = {
        (mark.assignment_id, mark.student_id): mark
        for assignment in lesson.assignments
        for mark in assignment.marks
    }
    stored_attendance = lesson_attendance(lesson)
    for assignment in lesson.assignments:
        for student in students:
            mark = stored_marks.get((assignment.id, student.id))
            form.seen_marks[(assignment.id, student.id)] = (
                mark_input_value(mark),
                (mark.comment or "") if mark else "",
            )
    for student in students:
        entry = stored_attendance.get(student.id)
        form.seen_attendance[student.id] = str(entry.code_id) if entry else ""


def lesson_attendance_codes(school_id: int) -> list[AttendanceCode]:
    """Codes a teacher sets in the lesson: absent («Н») and late («ОП»)."""
    return list(
        db.session.scalars(
            select(AttendanceCode)
            .where(
                AttendanceCode.school_id == school_id, AttendanceCode.kind.in_(["absent", "late"])
            )
            .order_by(AttendanceCode.kind, AttendanceCode.code)
        )
    )


def school_assignment_types(school_id: int) -> list[AssignmentType]:
    return list(
        db.session.scalars(
            select(AssignmentType)
            .where(AssignmentType.school_id == school_id)
            .order_by(AssignmentType.name)
        )
    )


def lesson_attendance(lesson: Lesson) -> dict[int, Attendance]:
    """Map student ids to the stored attendance entries of a lesson."""
    rows = db.session.scalars(
        select(Attendance).where(
            Attendance.school_id == lesson.school_id, Attendance.lesson_id == lesson.id
        )
    )
    return {row.student_id: row for row in rows}


def _parse_new_assignment(new: NewAssignment, school_id: int, errors: list[str]):
    """Check the new-assignment row; return (type, weight, text, due date) or None."""
    if new.is_empty:
        return None
    types = {str(t.id): t for t in school_assignment_types(school_id)}
    assignment_type = types.get(new.type_id)
    if assignment_type is None:
        errors.append(_("Choose the type of the new assignment from the list."))
        return None

    weight = assignment_type.default_weight
    if new.weight.strip():
        try:
            weight = Decimal(new.weight.strip().replace(",", "."))
        except InvalidOperation:
            weight = None
        if weight is None or not weight.is_finite() or not (0 <= weight <= MAX_WEIGHT):
            errors.append(
                _(
                    'Weight "%(value)s" is invalid: enter a number from 0 to %(max)s, '
                    "for example 1 or 0.5.",
                    value=new.weight.strip(),
                    max=MAX_WEIGHT,
                )
            )
            return None

    due_date = None
    if new.due_date.strip():
        try:
            due_date = dt.date.fromisoformat(new.due_date.strip())
        except ValueError:
            errors.append(
                _(
                    'Due date "%(value)s" is invalid: enter a date as YYYY-MM-DD.',
                    value=new.due_date.strip(),
                )
            )
            return None
    return assignment_type, weight, new.text.strip(), due_date


def _parse_mark_cell(
    course: Course,
    max_mark: int,
    assignment: Assignment,
    student: Student,
    text: str | None,
    term: Term | None = None,
) -> MarkValue | None:
    """Parse one mark cell of the journal; None means the cell is empty.

    Raises ``ValueError`` with the user's message, which names the student, the
    assignment, the value and what the course accepts. ``term`` is the lesson's term,
    which decides whether a grade-2 course takes marks yet.
    """
    text = text or ""
    try:
        value = parse_mark_value(text, course, max_mark)
    except ValueError as error:
        raise ValueError(
            _(
                "%(student)s, %(assignment)s: %(error)s",
                student=student.short_name,
                assignment=assignment.type.name,
                error=str(error),
            )
        ) from None
    if value is not None and not course.gives_marks:
        raise ValueError(
            _(
                'Mark "%(value)s" is refused: the course %(course)s gives no '
                "marks (grade 1, extra-curricular or without marks). "
                "Leave the mark cells empty.",
                value=text.strip(),
                course=str(course),
            )
        )
    if value is not None:
        rejection = grade2_mark_rejection(course, term, text.strip())
        if rejection is not None:
            raise ValueError(rejection)
    return value


def _parse_marks(lesson, students, form, errors) -> dict[tuple[int, int], MarkValue | None]:
    course = lesson.course
    max_mark = lesson.school.max_mark
    term = lesson_term(lesson)
    parsed = {}
    for assignment in lesson.assignments:
        for student in students:
            key = (assignment.id, student.id)
            try:
                value = _parse_mark_cell(
                    course, max_mark, assignment, student, form.marks.get(key), term
                )
            except ValueError as error:
                errors.append(str(error))
                continue
            comment = form.comments.get(key, "").strip()
            if len(comment) > MAX_COMMENT_LENGTH:
                errors.append(
                    _(
                        "A comment is too long: %(length)s characters; "
                        "shorten it to at most %(max)s.",
                        length=len(comment),
                        max=MAX_COMMENT_LENGTH,
                    )
                )
            parsed[key] = value
    return parsed


def _parse_attendance(students, form, codes, errors) -> dict[int, AttendanceCode | None]:
    by_id = {str(code.id): code for code in codes}
    parsed = {}
    for student in students:
        text = form.attendance.get(student.id, "")
        if not text:
            parsed[student.id] = None
        elif text in by_id:
            parsed[student.id] = by_id[text]
        else:
            allowed = ", ".join(code.code for code in codes)
            errors.append(
                _(
                    'Attendance code "%(value)s" is invalid: choose one of %(allowed)s, '
                    "or leave it empty for a student who was present.",
                    value=text,
                    allowed=allowed,
                )
            )
    return parsed


class JournalLockedError(JournalInputError):
    """The lesson is locked for this session: nothing was saved."""


@dataclass
class SaveResult:
    """What a save did: the number of changed records and the cells it did not write."""

    changed: int = 0
    #: One message per cell another user changed since the page was loaded.
    conflicts: list[str] = field(default_factory=list)
    #: Placing rules of assessment procedures the new assignment breaks; saved anyway.
    warnings: list[str] = field(default_factory=list)


@dataclass
class MarkChange:
    """One mark cell whose stored value differs from the typed one."""

    assignment: Assignment
    student: Student
    stored: Mark | None
    value: MarkValue | None
    comment: str | None


@dataclass
class AttendanceChange:
    student: Student
    stored: Attendance | None
    code: AttendanceCode | None


# --- Locks ----------------------------------------------------------------------


@dataclass(frozen=True)
class LessonLock:
    """Why a lesson's journal entries are locked: a closed year or term, or the N-day lock."""

    kind: str  # "year", "term" or "days"
    message: str
    term: Term | None = None

    @property
    def closes_lesson(self) -> bool:
        """A closed period locks the whole lesson; the N-day lock only marks and attendance."""
        return self.kind in ("year", "term")


def lesson_term(lesson: Lesson) -> Term | None:
    """The term of the lesson's class (by its grade range) that contains the lesson date."""
    course = lesson.course
    grade = course.school_class.grade
    return db.session.scalar(
        select(Term)
        .where(
            Term.school_id == lesson.school_id,
            Term.year_id == course.year_id,
            Term.grade_from <= grade,
            Term.grade_to >= grade,
            Term.start_date <= lesson.date,
            Term.end_date >= lesson.date,
        )
        .order_by(Term.start_date)
        .limit(1)
        # A term closed by another session since this one loaded it must lock the save.
        .execution_options(populate_existing=True)
    )


def lesson_lock(
    lesson: Lesson, today: dt.date | None = None, terms: list[Term] | None = None
) -> LessonLock | None:
    """Tell whether and why the lesson's entries are locked; None when they are open.

    ``terms`` are the course's terms in date order (``course_terms``), when the caller
    has them: the course grid checks many lessons without a query for each.
    """
    # The relationship keeps the year on the course: a session.get() here would load it
    # again for every lesson of the grid, the identity map holding objects weakly.
    year = lesson.course.year
    if year is not None and year.is_closed:
        term = None
    elif terms is None:
        term = lesson_term(lesson)
    else:
        term = term_on(terms, lesson.date)
    return dated_lock(lesson.course, lesson.date, term, today)


def term_on(terms: list[Term], day: dt.date) -> Term | None:
    """The term of the list that contains the day, if any."""
    return next((t for t in terms if t.start_date <= day <= t.end_date), None)


def dated_lock(
    course: Course, day: dt.date, term: Term | None, today: dt.date | None = None
) -> LessonLock | None:
    """Tell whether and why entries of the course dated ``day``, in ``term``, are locked."""
    year = course.year
    if year is not None and year.is_closed:
        return LessonLock(
            "year",
            _(
                "The school year %(year)s is closed: its lessons are read-only. Only the "
                "principal may correct an entry, and every correction is recorded.",
                year=year.name,
            ),
        )
    if term is not None and term.is_closed:
        return LessonLock(
            "term",
            _(
                "The term «%(term)s» is closed: its lessons are read-only. Ask the principal "
                "to reopen the term or to correct the entry; every correction is recorded.",
                term=term.name,
            ),
            term,
        )
    days = course.school.mark_lock_days
    today = today or dt.date.today()
    if days and days > 0 and today > day + dt.timedelta(days=days):
        return LessonLock(
            "days",
            _(
                "Marks and attendance of this lesson are locked: the school locks them "
                "%(days)s days after the lesson date (%(date)s). Only the principal may "
                "correct them, and every correction is recorded.",
                days=days,
                date=day.strftime("%d.%m.%Y"),
            ),
            term,
        )
    return None


def may_correct_locked(access: JournalAccess) -> bool:
    """Only the principal (and the server administrator) corrects locked entries."""
    return access.corrects_everything


def _lock_lesson_row(lesson: Lesson, expire: bool = True) -> None:
    """Serialise saves of one lesson and reread what another save may have committed.

    On PostgreSQL the row lock makes a second save of the same lesson wait until the first
    commits, so its check of the seen values reads the committed marks. SQLite ignores
    FOR UPDATE and serialises writers by itself. A caller that rereads the one mark it
    checks (``expire=False``) spares reloading the whole lesson.
    """
    db.session.execute(
        select(Lesson.id)
        .where(Lesson.school_id == lesson.school_id, Lesson.id == lesson.id)
        .with_for_update()
    )
    if expire:
        db.session.expire_all()


def _open_for_save(lesson: Lesson, may_correct: bool, expire: bool = True) -> LessonLock | None:
    """Lock the lesson row and refuse a closed period to those who may not correct it.

    Returns the lesson's lock, if any: under the N-day lock the caller refuses only
    changes of marks and attendance (``_refuse_locked_changes``).
    """
    _lock_lesson_row(lesson, expire)
    lock = lesson_lock(lesson)
    if lock is not None and lock.closes_lesson and not may_correct:
        raise JournalLockedError([lock.message])
    return lock


def _refuse_locked_changes(lock: LessonLock | None, may_correct: bool, changes: bool) -> None:
    if lock is not None and not may_correct and changes:
        raise JournalLockedError([lock.message])


# --- Saving ---------------------------------------------------------------------


def save_lesson(
    lesson: Lesson, form: LessonForm, acting_user_id: int | None, may_correct: bool = False
) -> SaveResult:
    """Save the lesson form in one transaction.

    Every value is checked first; when any is invalid, ``JournalInputError`` lists them
    all and nothing is written. A lesson in a closed term or year is refused
    (``JournalLockedError``) unless ``may_correct``; under the N-day lock only changes of
    marks and attendance are refused. A cell another user changed since the page was
    loaded is left as it is and reported in ``SaveResult.conflicts``. Every change of a
    mark or attendance entry gets its audit row in the same transaction.
    """
    lock = _open_for_save(lesson, may_correct)
    students = lesson.course.students()
    errors: list[str] = []
    topic = form.topic.strip()
    if len(topic) > MAX_TOPIC_LENGTH:
        errors.append(
            _(
                "The topic is too long: %(length)s characters; shorten it to at most %(max)s.",
                length=len(topic),
                max=MAX_TOPIC_LENGTH,
            )
        )
    new_assignment = _parse_new_assignment(form.new_assignment, lesson.school_id, errors)
    marks = _parse_marks(lesson, students, form, errors)
    attendance = _parse_attendance(
        students, form, lesson_attendance_codes(lesson.school_id), errors
    )
    if errors:
        raise JournalInputError(errors)

    result = SaveResult()
    mark_changes = _mark_changes(lesson, students, marks, form)
    attendance_changes = _attendance_changes(lesson, students, attendance)
    mark_changes = [c for c in mark_changes if not _mark_conflict(lesson, c, form, result)]
    attendance_changes = [
        c for c in attendance_changes if not _attendance_conflict(lesson, c, form, result)
    ]
    _refuse_locked_changes(lock, may_correct, bool(mark_changes or attendance_changes))

    correction = lock is not None
    if (lesson.topic or "") != topic:
        lesson.topic = topic or None
        result.changed += 1
    result.changed += _apply_marks(lesson, mark_changes, acting_user_id, correction)
    newly_absent: list[Attendance] = []
    result.changed += _apply_attendance(
        lesson, attendance_changes, acting_user_id, correction, newly_absent
    )
    if new_assignment is not None:
        assignment_type, weight, text, due_date = new_assignment
        result.warnings = check_procedure(lesson, assignment_type)
        db.session.add(
            Assignment(
                school_id=lesson.school_id,
                lesson_id=lesson.id,
                type_id=assignment_type.id,
                weight=weight,
                text=text,
                due_date=due_date,
            )
        )
        result.changed += 1
    # Parents' absence notes: an accepted note gives its reason to the absences at once,
    # and parents hear of an absence in today's lesson, in this same transaction.
    absence_notes.apply_accepted_notes(lesson, acting_user_id)
    absence_notes.notify_same_day_absences(lesson, newly_absent)
    db.session.commit()
    log.info(
        "User %s saved lesson %s: %s changes, %s conflicts%s",
        acting_user_id,
        lesson.id,
        result.changed,
        len(result.conflicts),
        " (correction of a locked lesson)" if correction else "",
    )
    return result


# --- Saving one cell of the course grid --------------------------------------------


@dataclass
class CellResult:
    """A saved grid cell: the mark as its input and the grid show it, and the row's average."""

    value: str
    display: str
    #: The stored mark's kind (number, pass, fail, duty), None for an empty cell.
    kind: str | None
    average_text: str
    changed: bool
    correction: bool


class JournalConflictError(Exception):
    """Another user changed the cell since the page showed it; nothing was saved."""

    def __init__(self, message: str, mark: Mark | None, changed_by: str):
        super().__init__(message)
        self.message = message
        self.value = mark_input_value(mark)
        self.display = mark.display() if mark is not None else ""
        self.kind = mark.kind if mark is not None else None
        self.changed_by = changed_by


@dataclass
class OpenCell:
    """A grid cell ready to save: its lesson row locked, its mark read after the lock."""

    lesson: Lesson
    student: Student
    #: The addressed assignment of the lesson, or its first; None when it has none.
    assignment: Assignment | None
    #: The cell's mark as committed when the lock was taken.
    stored: Mark | None
    #: The course's terms in date order (``course_terms``), read after the lock.
    terms: list[Term]
    #: The term whose average the response gives; None for every lesson of the course.
    term: Term | None


def open_cell(access: JournalAccess, lesson_id, student_id, assignment_id, term_id) -> OpenCell:
    """Lock a lesson the session may open and read one of its mark cells, in few queries.

    The lesson row is locked first (``SELECT ... FOR UPDATE`` on PostgreSQL) with its
    course, class, year and school in the same query; the student, the assignment and the
    mark are read after the lock, so a save waiting for another one of the same lesson
    reads the mark that one committed. Not found, whatever the cause, is 404: a lesson the
    session may not open, a student outside the course, an assignment of another lesson
    and a term of another year are answered alike.
    """
    lesson = _lock_cell_lesson_or_404(access, lesson_id)
    student, assignment, stored = _cell_row_or_404(lesson, student_id, assignment_id)
    terms = _fresh_course_terms(lesson.course)
    term = None
    if term_id not in (None, ""):
        term = next((t for t in terms if str(t.id) == str(term_id)), None)
        if term is None:
            abort(404)
    return OpenCell(lesson, student, assignment, stored, terms, term)


def _lock_cell_lesson_or_404(access: JournalAccess, lesson_id) -> Lesson:
    """Load and lock the lesson with its course, class, year and school in one query."""
    try:
        lesson_id = int(lesson_id)
    except (TypeError, ValueError):
        abort(404)
    statement = (
        apply_scope(select(Lesson).where(Lesson.id == lesson_id), Lesson, access.scope)
        .options(
            joinedload(Lesson.course).joinedload(Course.year),
            joinedload(Lesson.school),
            lazyload(Lesson.assignments),
            lazyload(Lesson.room),
            # The course's teachers tell whether a teacher may open and write the lesson;
            # those who correct every course do not need them.
            lazyload(Lesson.course, Course.teachers)
            if access.corrects_everything
            else joinedload(Lesson.course, Course.teachers),
        )
        .with_for_update(of=Lesson)
        # A year closed by another session since this one loaded it must lock the save.
        .execution_options(populate_existing=True)
    )
    lesson = db.session.scalars(statement).unique().first()
    if lesson is None or not _may_open_lesson(access, lesson):
        abort(404)
    return lesson


#: The largest value of an INTEGER column: a larger number is the id of no row.
MAX_ID = 2**31 - 1


def _id_text(value) -> str | None:
    """Return the id as the request gave it (a number or a string of digits), else None."""
    text = str(value)
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_ID:
        return None
    return text


def _cell_row_or_404(lesson: Lesson, student_id, assignment_id):
    """Read the student, the assignment and their mark in one query; 404 when not found.

    The student must be one of the course's (``Course.students``). Without an assignment
    id the lesson's first assignment (the lowest id) is taken, as the grid shows it.
    """
    student_text = _id_text(student_id)
    if student_text is None:
        abort(404)
    has_assignment_id = assignment_id not in (None, "")
    assignment_text = _id_text(assignment_id) if has_assignment_id else None
    if has_assignment_id and assignment_text is None:
        abort(404)
    course = lesson.course
    if course.group_id is not None:
        in_course = Student.id.in_(
            select(study_group_student.c.student_id).where(
                study_group_student.c.group_id == course.group_id
            )
        )
    else:
        in_course = (Student.class_id == course.class_id) & Student.is_active.is_(True)
    on_assignment = (Assignment.school_id == lesson.school_id) & (Assignment.lesson_id == lesson.id)
    if has_assignment_id:
        on_assignment = on_assignment & (Assignment.id == int(assignment_text))
    row = db.session.execute(
        select(Student, Assignment, Mark)
        .select_from(Student)
        .outerjoin(Assignment, on_assignment)
        .outerjoin(
            Mark,
            (Mark.school_id == lesson.school_id)
            & (Mark.assignment_id == Assignment.id)
            & (Mark.student_id == Student.id),
        )
        .where(Student.school_id == lesson.school_id, Student.id == int(student_text), in_course)
        .order_by(Assignment.id)
        .limit(1)
        .options(lazyload(Assignment.marks))
        # Read the mark as committed, even when the session contains an older copy.
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        abort(404)
    student, assignment, stored = row
    if has_assignment_id and assignment is None:
        abort(404)
    return student, assignment, stored


def _fresh_course_terms(course: Course) -> list[Term]:
    """Read the course's terms as ``course_terms`` lists them, as committed now."""
    grade = course.school_class.grade
    return list(
        db.session.scalars(
            select(Term)
            .where(Term.school_id == course.school_id, Term.year_id == course.year_id)
            .where(Term.grade_from <= grade, Term.grade_to >= grade)
            .order_by(Term.start_date)
            # A term closed by another session since this one loaded it must lock the save.
            .execution_options(populate_existing=True)
        )
    )


def grid_locks(course: Course, lessons: list[GridLesson], terms: list[Term]) -> dict:
    """The locks of the grid's lessons, by lesson id; open lessons are left out."""
    locks = {}
    # A closed year or term locks its lessons with one message; it is worked out once.
    period_locks = {}
    for lesson in lessons:
        term = term_on(terms, lesson.date)
        lock = period_locks.get(term.id if term else None)
        if lock is None:
            lock = dated_lock(course, lesson.date, term)
            if lock is not None and lock.closes_lesson:
                period_locks[term.id if term else None] = lock
        if lock is not None:
            locks[lesson.id] = lock
    return locks


def save_cell(
    cell: OpenCell,
    text: str,
    seen: str | None,
    acting_user_id: int | None,
    may_correct: bool = False,
) -> CellResult:
    """Save one mark cell of the course grid in its own transaction.

    ``cell`` comes from :func:`open_cell`, which locked the lesson row. The rules are the
    lesson form's: the same parser and messages (``JournalInputError``), the same locks
    (``JournalLockedError``), the audit row, and the check of ``seen``, the value the
    grid showed: when another user changed the mark since, nothing is written and
    ``JournalConflictError`` tells the current value. A comment of the mark stays as it
    is. The average returned is of ``cell.term``, as the grid shows it.
    """
    lesson, assignment, student, stored = cell.lesson, cell.assignment, cell.student, cell.stored
    lock = lesson_lock(lesson, terms=cell.terms)
    if lock is not None and lock.closes_lesson and not may_correct:
        raise JournalLockedError([lock.message])
    try:
        value = _parse_mark_cell(
            lesson.course,
            lesson.school.max_mark,
            assignment,
            student,
            text,
            term_on(cell.terms, lesson.date),
        )
    except ValueError as error:
        raise JournalInputError([str(error)]) from None

    comment = stored.comment if stored is not None else None
    change = _mark_change(assignment, student, stored, value, comment)
    if change is None:
        kind, number = (stored.kind, stored.value) if stored is not None else (None, None)
    else:
        if seen is not None and mark_input_value(stored) != seen.strip():
            changer = _mark_changer(lesson, change)
            raise JournalConflictError(
                _mark_conflict_message(lesson, change, changer), stored, changer
            )
        _refuse_locked_changes(lock, may_correct, True)
        _write_cell_mark(lesson, change, acting_user_id, lock is not None)
        kind, number = (value.kind, value.value) if value is not None else (None, None)

    # The response is built from what was just written, before the commit, which expires
    # every loaded row.
    display = mark_display(kind, number) if kind is not None else ""
    result = CellResult(
        value="." if kind == "duty" else display,
        display=display,
        kind=kind,
        average_text=student_term_average_text(lesson.course, cell.term, student.id),
        changed=change is not None,
        correction=change is not None and lock is not None,
    )
    if change is not None:
        student_id, assignment_id = student.id, assignment.id
        db.session.commit()
        log.info(
            "User %s saved the mark of student %s for assignment %s%s",
            acting_user_id,
            student_id,
            assignment_id,
            " (correction of a locked lesson)" if result.correction else "",
        )
    return result


def _write_cell_mark(lesson: Lesson, change: MarkChange, acting_user_id, correction) -> None:
    """Write one mark change and its audit row as two statements, without ORM flushes.

    The rules are ``_apply_marks``'s: a deletion drops the comment, a new mark's audit
    row names its id.
    """
    mark, value = change.stored, change.value
    audit = _mark_audit_fields(lesson, change, acting_user_id, correction)
    # The session's copy of the mark is not updated: nothing reads it before the commit.
    unsynchronised = {"synchronize_session": False}
    if value is None:
        db.session.execute(delete(Mark).where(Mark.id == mark.id), execution_options=unsynchronised)
        insert_change(
            "mark",
            "delete",
            record_id=mark.id,
            old=mark_text(mark.kind, mark.value),
            old_comment=mark.comment,
            **audit,
        )
        return
    written = dict(
        kind=value.kind,
        value=value.value,
        comment=change.comment,
        changed_by_id=acting_user_id,
        changed_at=func.now(),
    )
    if mark is None:
        mark_id = db.session.scalar(
            insert(Mark)
            .values(
                school_id=lesson.school_id,
                assignment_id=change.assignment.id,
                student_id=change.student.id,
                **written,
            )
            .returning(Mark.id)
        )
        insert_change(
            "mark",
            "create",
            record_id=mark_id,
            new=mark_text(value.kind, value.value),
            new_comment=change.comment,
            **audit,
        )
        return
    db.session.execute(
        update(Mark).where(Mark.id == mark.id).values(**written),
        execution_options=unsynchronised,
    )
    insert_change(
        "mark",
        "change",
        record_id=mark.id,
        old=mark_text(mark.kind, mark.value),
        new=mark_text(value.kind, value.value),
        old_comment=mark.comment,
        new_comment=change.comment,
        **audit,
    )


def _stored_marks(lesson: Lesson) -> dict[tuple[int, int], Mark]:
    return {
        (mark.assignment_id, mark.student_id): mark
        for assignment in lesson.assignments
        for mark in assignment.marks
    }


def _mark_changes(lesson, students, parsed, form) -> list[MarkChange]:
    """The mark cells whose typed value or comment differs from the stored one."""
    stored = _stored_marks(lesson)
    by_id = {student.id: student for student in students}
    assignments = {assignment.id: assignment for assignment in lesson.assignments}
    changes = []
    for (assignment_id, student_id), value in parsed.items():
        comment = form.comments.get((assignment_id, student_id), "").strip() or None
        change = _mark_change(
            assignments[assignment_id],
            by_id[student_id],
            stored.get((assignment_id, student_id)),
            value,
            comment,
        )
        if change is not None:
            changes.append(change)
    return changes


def _mark_change(assignment, student, mark: Mark | None, value, comment) -> MarkChange | None:
    """The change of one mark cell, or None when the typed value and comment are stored."""
    if value is None:
        if mark is None:
            return None
        comment = None
    elif mark is not None and (mark.kind, mark.value, mark.comment) == (
        value.kind,
        value.value,
        comment,
    ):
        return None
    return MarkChange(assignment, student, mark, value, comment)


def _attendance_changes(lesson, students, parsed) -> list[AttendanceChange]:
    stored = lesson_attendance(lesson)
    by_id = {student.id: student for student in students}
    changes = []
    for student_id, code in parsed.items():
        entry = stored.get(student_id)
        if code is None and entry is None:
            continue
        if code is not None and entry is not None and entry.code_id == code.id:
            continue
        changes.append(AttendanceChange(by_id[student_id], entry, code))
    return changes


def _changer_name(lesson: Lesson, entity: str, student_id: int, assignment_id=None) -> str:
    """Name of whoever last changed a cell, from the audit log (the row may be deleted)."""
    audit = last_change(lesson.school_id, entity, lesson.id, student_id, assignment_id)
    user = audit.user if audit is not None else None
    if user is None:
        return _("another user")
    return " ".join(part for part in (user.first_name, user.last_name) if part) or user.username


def _mark_conflict(lesson, change: MarkChange, form: LessonForm, result: SaveResult) -> bool:
    """Tell whether another user changed the cell since the page was loaded; report it."""
    key = (change.assignment.id, change.student.id)
    seen = form.seen_marks.get(key)
    if seen is None:
        return False
    mark = change.stored
    current = (mark_input_value(mark), (mark.comment or "") if mark else "")
    if current == (seen[0].strip(), seen[1].strip()):
        return False
    result.conflicts.append(_mark_conflict_message(lesson, change, _mark_changer(lesson, change)))
    return True


def _mark_changer(lesson, change: MarkChange) -> str:
    return _changer_name(lesson, "mark", change.student.id, change.assignment.id)


def _mark_conflict_message(lesson, change: MarkChange, changer: str) -> str:
    mark = change.stored
    return _(
        "The mark of %(student)s for «%(assignment)s» was already changed by %(user)s: "
        "it is now «%(value)s». Check it and save again.",
        student=change.student.short_name,
        assignment=change.assignment.type.name,
        user=changer,
        value=mark.display() if mark is not None else _("no mark"),
    )


def _attendance_conflict(lesson, change: AttendanceChange, form, result) -> bool:
    seen = form.seen_attendance.get(change.student.id)
    if seen is None:
        return False
    entry = change.stored
    if (str(entry.code_id) if entry else "") == seen:
        return False
    result.conflicts.append(
        _(
            "The attendance of %(student)s was already changed by %(user)s: it is now "
            "«%(value)s». Check it and save again.",
            student=change.student.short_name,
            user=_changer_name(lesson, "attendance", change.student.id),
            value=entry.display() if entry is not None else _("present"),
        )
    )
    return True


def _mark_audit_fields(lesson, change: MarkChange, acting_user_id, correction) -> dict:
    """Return the audit fields that every change of one mark shares, old and new value aside."""
    return dict(
        school_id=lesson.school_id,
        user_id=acting_user_id,
        lesson=lesson,
        student_id=change.student.id,
        assignment_id=change.assignment.id,
        correction=correction,
    )


def _apply_marks(lesson, changes: list[MarkChange], acting_user_id, correction) -> int:
    """Write the mark changes, each with its audit row."""
    created = []
    for change in changes:
        mark, value = change.stored, change.value
        audit = _mark_audit_fields(lesson, change, acting_user_id, correction)
        if value is None:
            record_change(
                "mark",
                "delete",
                record_id=mark.id,
                old=mark_text(mark.kind, mark.value),
                old_comment=mark.comment,
                **audit,
            )
            db.session.delete(mark)
            continue
        if mark is None:
            mark = Mark(
                school_id=lesson.school_id,
                assignment_id=change.assignment.id,
                student_id=change.student.id,
            )
            db.session.add(mark)
            row = record_change(
                "mark",
                "create",
                new=mark_text(value.kind, value.value),
                new_comment=change.comment,
                **audit,
            )
            created.append((row, mark))
        else:
            record_change(
                "mark",
                "change",
                record_id=mark.id,
                old=mark_text(mark.kind, mark.value),
                new=mark_text(value.kind, value.value),
                old_comment=mark.comment,
                new_comment=change.comment,
                **audit,
            )
        mark.kind = value.kind
        mark.value = value.value
        mark.comment = change.comment
        mark.changed_by_id = acting_user_id
        mark.changed_at = func.now()
    _link_created(created)
    return len(changes)


def _link_created(created: list) -> None:
    """Give the audit rows of new records the ids the flush assigned to them."""
    if not created:
        return
    db.session.flush()
    for row, record in created:
        row.record_id = record.id


def _apply_attendance(
    lesson, changes: list[AttendanceChange], acting_user_id, correction, newly_absent=None
) -> int:
    """Write the attendance changes with their audit rows; new absences go into ``newly_absent``."""
    created = []
    for change in changes:
        entry, code = change.stored, change.code
        audit = dict(
            school_id=lesson.school_id,
            user_id=acting_user_id,
            lesson=lesson,
            student_id=change.student.id,
            correction=correction,
        )
        was_absent = entry is not None and entry.code.kind == "absent"
        if code is None:
            record_change(
                "attendance",
                "delete",
                record_id=entry.id,
                old=attendance_text(entry.code, entry.reason),
                **audit,
            )
            db.session.delete(entry)
            continue
        if entry is None:
            entry = Attendance(
                school_id=lesson.school_id, lesson_id=lesson.id, student_id=change.student.id
            )
            db.session.add(entry)
            row = record_change("attendance", "create", new=attendance_text(code), **audit)
            created.append((row, entry))
        else:
            record_change(
                "attendance",
                "change",
                record_id=entry.id,
                old=attendance_text(entry.code, entry.reason),
                new=attendance_text(code, entry.reason),
                **audit,
            )
        entry.code_id = code.id
        entry.changed_by_id = acting_user_id
        entry.changed_at = func.now()
        # A late mark («ОП») changed to «Н» is a new absence too; «Н» saved again is not.
        if newly_absent is not None and code.kind == "absent" and not was_absent:
            newly_absent.append(entry)
    _link_created(created)
    return len(changes)


# --- Closing and reopening terms ------------------------------------------------


def may_close_periods(scope: Scope) -> bool:
    """Closing and reopening terms is the principal's (and the server administrator's)."""
    return scope.level == "server" or scope.has_role("principal")


def school_terms(scope: Scope) -> list[Term]:
    """Terms of the school's years, newest year first, in date and grade order."""
    statement = (
        apply_scope(select(Term), Term, scope)
        .join(AcademicYear, AcademicYear.id == Term.year_id)
        .order_by(AcademicYear.start_date.desc(), Term.grade_from, Term.start_date)
    )
    return list(db.session.scalars(statement))


def set_term_closed(term: Term, closed: bool, acting_user_id: int | None) -> bool:
    """Close or reopen a term, recorded in the audit log; False when nothing changed."""
    if term.is_closed == closed:
        return False
    term.is_closed = closed
    record_change(
        "term",
        "close" if closed else "reopen",
        school_id=term.school_id,
        user_id=acting_user_id,
        record_id=term.id,
        term_id=term.id,
    )
    db.session.commit()
    log.info("User %s %s term %s", acting_user_id, "closed" if closed else "reopened", term.id)
    return True
