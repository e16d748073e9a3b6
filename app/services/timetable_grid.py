"""Weekly timetable grids of a class, a teacher or a room, from the template or a dated week.

Every query here is scoped with :func:`apply_scope`, and students and parents are limited to
their own classes by :func:`visible_class_ids`.
"""

import datetime as dt
import logging
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select

from app.errors import DomainError
from app.models import (
    AcademicYear,
    BellSchedule,
    Course,
    Employee,
    Guardian,
    Lesson,
    Room,
    SchoolClass,
    Student,
    Term,
    TimetableEntry,
    course_teacher,
    db,
    study_group_student,
)
from app.security.scope import Scope, apply_scope

log = logging.getLogger(__name__)

#: Role codes that see the timetable of a child only, never the school's.
FAMILY_ROLES = frozenset({"student", "parent"})


def weekday_label(weekday: int) -> str:
    labels = {
        1: _("Monday"),
        2: _("Tuesday"),
        3: _("Wednesday"),
        4: _("Thursday"),
        5: _("Friday"),
        6: _("Saturday"),
        7: _("Sunday"),
    }
    return labels[weekday]


# --- Who may see which class ------------------------------------------------------


def is_family_only(scope: Scope) -> bool:
    """Tell whether the session holds only student or parent roles in its school."""
    if scope.level != "school":
        return False
    return bool(scope.role_codes) and scope.role_codes <= FAMILY_ROLES


def room_label(name: str) -> str:
    """Write a room for a timetable: «Кабинет 204» for a number or code, a name as it is.

    A name with a space and no leading digit (Спортивный зал 1) reads alone, while a
    number or a code without spaces (204, A-101) needs the word «Кабинет».
    """
    name = str(name)
    if name[:1].isdigit() or (" " not in name and any(ch.isdigit() for ch in name)):
        return _("Room %(name)s", name=name)
    return name


def class_students(scope: Scope, school_class: SchoolClass) -> list[Student]:
    """List the active students of a class the staff session may open, by name."""
    if is_family_only(scope):
        return []
    statement = apply_scope(select(Student), Student, scope).where(
        Student.class_id == school_class.id, Student.is_active.is_(True)
    )
    statement = statement.order_by(Student.last_name, Student.first_name, Student.id)
    return list(db.session.scalars(statement))


@dataclass(frozen=True)
class ChildClass:
    """A child of a parent (or the student themself) and the class they are in."""

    student_id: int
    student_name: str
    class_id: int
    class_name: str


def family_classes(scope: Scope) -> list[ChildClass]:
    """Classes of the session's own student record and of the children it is a parent of.

    A guardian barred by the secretary gets nothing for that child.
    """
    if scope.level != "school" or scope.user_id is None:
        return []
    own = select(Student.id).where(Student.user_id == scope.user_id)
    children = select(Guardian.student_id).where(
        Guardian.school_id == scope.school_id,
        Guardian.user_id == scope.user_id,
        Guardian.is_barred.is_(False),
    )
    conditions = []
    if scope.has_role("student"):
        conditions.append(Student.id.in_(own))
    if scope.has_role("parent"):
        conditions.append(Student.id.in_(children))
    if not conditions:
        return []
    statement = (
        select(Student, SchoolClass)
        .join(SchoolClass, SchoolClass.id == Student.class_id)
        .where(or_(*conditions), Student.is_active.is_(True))
        .order_by(Student.last_name, Student.first_name)
    )
    statement = apply_scope(apply_scope(statement, Student, scope), SchoolClass, scope)
    return [
        ChildClass(student.id, student.short_name, school_class.id, school_class.name)
        for student, school_class in db.session.execute(statement)
    ]


def visible_class_ids(scope: Scope) -> set[int] | None:
    """Class ids a student or parent may open; None when the session sees every class."""
    if not is_family_only(scope):
        return None
    return {child.class_id for child in family_classes(scope)}


# --- Choosers ----------------------------------------------------------------------


def current_year(scope: Scope, today: dt.date) -> AcademicYear | None:
    """Return the year containing ``today``, else the latest one begun, else the first."""
    statement = apply_scope(select(AcademicYear), AcademicYear, scope)
    years = list(db.session.scalars(statement.order_by(AcademicYear.start_date)))
    if not years:
        return None
    for year in years:
        if year.contains(today):
            return year
    started = [year for year in years if year.start_date <= today]
    return started[-1] if started else years[0]


@dataclass
class Choices:
    classes: list
    teachers: list
    rooms: list
    terms: list


def chooser_choices(scope: Scope, today: dt.date) -> Choices:
    """Classes, teachers and rooms of the current school year, and its terms for generation."""
    year = current_year(scope, today)
    year_id = year.id if year else -1

    classes = apply_scope(
        select(SchoolClass).where(SchoolClass.year_id == year_id), SchoolClass, scope
    ).order_by(SchoolClass.grade, SchoolClass.name)
    teaching = (
        select(course_teacher.c.employee_id)
        .join(Course, Course.id == course_teacher.c.course_id)
        .where(Course.year_id == year_id)
    )
    teachers = apply_scope(
        select(Employee).where(Employee.id.in_(teaching)), Employee, scope
    ).order_by(Employee.last_name, Employee.first_name)
    rooms = apply_scope(select(Room), Room, scope).order_by(Room.name)
    terms = apply_scope(select(Term).where(Term.year_id == year_id), Term, scope).order_by(
        Term.grade_from, Term.number
    )
    return Choices(
        classes=list(db.session.scalars(classes)),
        teachers=list(db.session.scalars(teachers)),
        rooms=list(db.session.scalars(rooms)),
        terms=list(db.session.scalars(terms)),
    )


# --- The grid ------------------------------------------------------------------------


@dataclass
class CellItem:
    """One lesson in a cell of the grid, ready to print."""

    subject: str
    target: str
    teacher: str
    room: str
    #: Short notes: odd/even weeks, dates of validity, substitution, cancellation.
    notes: list[str] = field(default_factory=list)
    is_cancelled: bool = False
    is_substituted: bool = False
    #: True when the course is taught to a group, not to the whole class.
    is_group: bool = False
    #: True when the lesson was changed by hand: substituted, moved, given another room.
    is_changed: bool = False


@dataclass
class GridRow:
    lesson_number: int
    starts_at: dt.time | None
    ends_at: dt.time | None


@dataclass
class Grid:
    """A week of lessons: rows are lesson numbers, columns are weekdays."""

    title: str
    weekdays: list[int]
    rows: list[GridRow]
    cells: dict[tuple[int, int], list[CellItem]]
    #: Dates of the columns when the grid shows a dated week; empty for the template.
    dates: dict[int, dt.date] = field(default_factory=dict)

    def cell(self, weekday: int, lesson_number: int) -> list[CellItem]:
        return self.cells.get((weekday, lesson_number), [])

    @property
    def is_empty(self) -> bool:
        return not self.cells


def week_monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _course_target(course: Course) -> str:
    if course.group is not None:
        return course.group.name
    return course.school_class.name


def _teacher_names(course: Course) -> str:
    return ", ".join(teacher.short_name for teacher in course.teachers)


def _parity_note(parity: str) -> str | None:
    if parity == "odd":
        return _("odd weeks")
    if parity == "even":
        return _("even weeks")
    return None


def _entry_item(entry: TimetableEntry) -> CellItem:
    notes = []
    parity = _parity_note(entry.week_parity)
    if parity:
        notes.append(parity)
    if entry.valid_from:
        notes.append(_("from %(date)s", date=entry.valid_from.strftime("%d.%m.%Y")))
    if entry.valid_to:
        notes.append(_("until %(date)s", date=entry.valid_to.strftime("%d.%m.%Y")))
    return CellItem(
        subject=entry.course.subject.name,
        target=_course_target(entry.course),
        teacher=_teacher_names(entry.course),
        room=entry.room.name if entry.room else "",
        notes=notes,
        is_group=entry.course.group is not None,
    )


def _lesson_item(lesson: Lesson) -> CellItem:
    notes = []
    teacher = _teacher_names(lesson.course)
    if lesson.substitute is not None:
        notes.append(_("substitution: %(name)s", name=lesson.substitute.short_name))
        teacher = lesson.substitute.short_name
    if lesson.room_changed:
        notes.append(_("room changed"))
    if lesson.moved_from_date is not None:
        notes.append(
            _(
                "moved from lesson %(number)s on %(date)s",
                number=lesson.moved_from_number,
                date=lesson.moved_from_date.strftime("%d.%m.%Y"),
            )
        )
    if lesson.is_cancelled:
        notes.append(_("cancelled"))
    return CellItem(
        subject=lesson.course.subject.name,
        target=_course_target(lesson.course),
        teacher=teacher,
        room=lesson.room.name if lesson.room else "",
        notes=notes,
        is_cancelled=lesson.is_cancelled,
        is_substituted=lesson.substitute is not None,
        is_group=lesson.course.group is not None,
        is_changed=lesson.changed_at is not None,
    )


def bell_times(
    scope: Scope, day: dt.date, grade: int | None = None, shift: int = 1
) -> dict[int, tuple[dt.time, dt.time]]:
    """Start and end times per lesson number from the bell schedule that fits best.

    The schedule chosen is one of ``shift`` that covers ``grade`` (any grade when None),
    has no weekday variant and is valid on ``day``.
    """
    statement = apply_scope(
        select(BellSchedule).where(
            BellSchedule.shift == shift,
            BellSchedule.weekday.is_(None),
            or_(BellSchedule.valid_from.is_(None), BellSchedule.valid_from <= day),
            or_(BellSchedule.valid_to.is_(None), BellSchedule.valid_to >= day),
        ),
        BellSchedule,
        scope,
    ).order_by(BellSchedule.id)
    schedules = list(db.session.scalars(statement))
    if grade is not None:
        schedules = [s for s in schedules if s.grade_from <= grade <= s.grade_to]
    if not schedules:
        return {}
    # NOTE: teacher and room grids span grades, so they print the times of the schedule
    # that covers the most grades; variants by weekday are not shown in the row headers.
    schedules.sort(key=lambda s: (-(s.grade_to - s.grade_from), s.id))
    return {p.lesson_number: (p.starts_at, p.ends_at) for p in schedules[0].periods}


def build_grid(
    title: str,
    items: list[tuple[int, int, CellItem]],
    times: dict[int, tuple[dt.time, dt.time]],
    six_day_week: bool = False,
    dates: dict[int, dt.date] | None = None,
) -> Grid:
    """Lay items out by (weekday, lesson number); Saturday and Sunday only when used."""
    cells: dict[tuple[int, int], list[CellItem]] = {}
    for weekday, number, item in items:
        cells.setdefault((weekday, number), []).append(item)

    used_days = {weekday for weekday, _number, _item in items}
    weekdays = [1, 2, 3, 4, 5]
    if six_day_week or 6 in used_days:
        weekdays.append(6)
    if 7 in used_days:
        weekdays.append(7)

    numbers = {number for _weekday, number, _item in items} | set(times)
    if numbers:
        first = min(numbers | {1})
        rows = [GridRow(n, *(times.get(n) or (None, None))) for n in range(first, max(numbers) + 1)]
    else:
        rows = []
    visible_dates = {d: day for d, day in (dates or {}).items() if d in weekdays}
    return Grid(title=title, weekdays=weekdays, rows=rows, cells=cells, dates=visible_dates)


# --- What each grid shows --------------------------------------------------------------


@dataclass(frozen=True)
class GridSubject:
    """Whose timetable a grid is: a class, a student, a teacher or a room, with its filters."""

    kind: str
    title: str
    grade: int | None
    shift: int
    six_day_week: bool
    year_id: int | None
    entry_filter: object
    lesson_filter: object


def class_subject(school_class: SchoolClass) -> GridSubject:
    return GridSubject(
        kind="class",
        title=_("Timetable of class %(name)s", name=school_class.name),
        grade=school_class.grade,
        shift=school_class.shift,
        six_day_week=school_class.six_day_week,
        year_id=school_class.year_id,
        entry_filter=Course.class_id == school_class.id,
        lesson_filter=Course.class_id == school_class.id,
    )


def student_subject(student: Student) -> GridSubject:
    """Build the timetable of one student: their class's lessons and their own groups'."""
    school_class = student.school_class
    group_ids = select(study_group_student.c.group_id).where(
        study_group_student.c.student_id == student.id
    )
    own = or_(
        and_(Course.class_id == student.class_id, Course.group_id.is_(None)),
        Course.group_id.in_(group_ids),
    )
    return GridSubject(
        kind="student",
        title=_(
            "Timetable of %(name)s, class %(class_name)s",
            name=student.short_name,
            class_name=school_class.name,
        ),
        grade=school_class.grade,
        shift=school_class.shift,
        six_day_week=school_class.six_day_week,
        year_id=school_class.year_id,
        entry_filter=own,
        lesson_filter=own,
    )


def teacher_subject(employee: Employee, year: AcademicYear | None) -> GridSubject:
    taught = select(course_teacher.c.course_id).where(course_teacher.c.employee_id == employee.id)
    return GridSubject(
        kind="teacher",
        title=_("Timetable of teacher %(name)s", name=employee.short_name),
        grade=None,
        shift=1,
        six_day_week=False,
        year_id=year.id if year else None,
        entry_filter=Course.id.in_(taught),
        # A teacher's week shows their own lessons, substituted ones marked, and the
        # lessons they substitute in.
        lesson_filter=or_(Course.id.in_(taught), Lesson.substitute_id == employee.id),
    )


def room_subject(room: Room, year: AcademicYear | None) -> GridSubject:
    return GridSubject(
        kind="room",
        title=_("Timetable of room %(name)s", name=room.name),
        grade=None,
        shift=1,
        six_day_week=False,
        year_id=year.id if year else None,
        entry_filter=TimetableEntry.room_id == room.id,
        lesson_filter=Lesson.room_id == room.id,
    )


def template_grid(scope: Scope, subject: GridSubject, today: dt.date) -> Grid:
    """The weekly template of a class, teacher or room.

    Entries with dates of validity are all shown, each with its dates, so that a change
    of the template in the middle of the year stays visible.
    """
    statement = (
        select(TimetableEntry)
        .join(Course, Course.id == TimetableEntry.course_id)
        .where(subject.entry_filter)
        .order_by(TimetableEntry.weekday, TimetableEntry.lesson_number, TimetableEntry.id)
    )
    if subject.year_id is not None:
        statement = statement.where(Course.year_id == subject.year_id)
    statement = apply_scope(apply_scope(statement, TimetableEntry, scope), Course, scope)
    entries = list(db.session.scalars(statement).unique())
    items = [(e.weekday, e.lesson_number, _entry_item(e)) for e in entries]
    times = bell_times(scope, today, subject.grade, subject.shift)
    return build_grid(subject.title, items, times, subject.six_day_week)


def _dated_items(
    scope: Scope, subject: GridSubject, first: dt.date, last: dt.date
) -> list[tuple[int, int, CellItem]]:
    statement = (
        select(Lesson)
        .join(Course, Course.id == Lesson.course_id)
        .where(subject.lesson_filter, Lesson.date >= first, Lesson.date <= last)
        .order_by(Lesson.date, Lesson.lesson_number, Lesson.id)
    )
    statement = apply_scope(apply_scope(statement, Lesson, scope), Course, scope)
    lessons = list(db.session.scalars(statement).unique())
    return [
        (lesson.date.isoweekday(), lesson.lesson_number, _lesson_item(lesson)) for lesson in lessons
    ]


def week_grid(scope: Scope, subject: GridSubject, day: dt.date) -> Grid:
    """Return the dated lessons of the week of ``day``, with substitutions and cancellations."""
    monday = week_monday(day)
    sunday = monday + dt.timedelta(days=6)
    items = _dated_items(scope, subject, monday, sunday)
    times = bell_times(scope, monday, subject.grade, subject.shift)
    dates = {n: monday + dt.timedelta(days=n - 1) for n in range(1, 8)}
    title = _("%(title)s, week of %(date)s", title=subject.title, date=monday.strftime("%d.%m.%Y"))
    return build_grid(title, items, times, subject.six_day_week, dates)


def day_grid(scope: Scope, subject: GridSubject, day: dt.date) -> Grid:
    """Return the dated lessons of one day, in a grid of one column."""
    items = _dated_items(scope, subject, day, day)
    times = bell_times(scope, day, subject.grade, subject.shift)
    title = _(
        "%(title)s, %(weekday)s %(date)s",
        title=subject.title,
        weekday=weekday_label(day.isoweekday()),
        date=day.strftime("%d.%m.%Y"),
    )
    grid = build_grid(title, items, times, subject.six_day_week)
    grid.weekdays = [day.isoweekday()]
    grid.dates = {day.isoweekday(): day}
    return grid


def parse_week(value: str | None) -> dt.date | None:
    """Read ``?week=YYYY-MM-DD``; raise ValueError on anything else."""
    if not value:
        return None
    return dt.date.fromisoformat(value)


def generate_term_lessons(scope: Scope, term: Term) -> int:
    """Create the dated lessons of ``term``'s dates from the template; return how many.

    The lessons are written for every class of the school over the term's dates, whatever
    grades the term names: a quarter of grades 1–9 also fills grades 10–11 for those dates.
    Lessons that already exist are kept, so generating twice creates nothing new.
    """
    from app.services.timetable import generate_lessons

    check_term_open(scope, term)
    created = generate_lessons(
        term.school_id, term.start_date, term.end_date, today=term.start_date
    )
    db.session.commit()
    log.info("User %s generated %d lessons for term %d", scope.user_id, created, term.id)
    return created


def check_term_open(scope: Scope, term: Term) -> None:
    """Raise DomainError unless the term is of the session's school and open."""
    if scope.level != "school" or term.school_id != scope.school_id:
        raise DomainError(_("Open the school of the term first, then generate its lessons."))
    if term.is_closed or term.year.is_closed:
        raise DomainError(
            _(
                "The term %(name)s is closed, so its lessons cannot be generated. "
                "Ask the principal to reopen it first.",
                name=term.name,
            )
        )
