"""The diary: which students a session may see, and one student's week as plain data.

:func:`diary_week` is the stable entry point; the diary page and the tests that check an
imported «Сетевой Город» week both read its :class:`DiaryWeek`.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from flask import abort
from sqlalchemy import false, or_, select
from sqlalchemy.orm import joinedload, lazyload, selectinload

from app.models import (
    Assignment,
    AssignmentType,
    Attendance,
    BellSchedule,
    Course,
    Employee,
    Guardian,
    Holiday,
    Lesson,
    Mark,
    SchoolClass,
    Student,
    Vacation,
    course_teacher,
    db,
    study_group_student,
)
from app.models.schoolyear import vacation_class
from app.security.scope import Scope, apply_scope, scoped_get_or_404
from app.services.attachments import files_by_assignment

#: Roles that see the diary of any student of their school.
WHOLE_SCHOOL_ROLES = ("principal", "psychologist", "server_admin")

SATURDAY = 5


# --- The week as plain data -----------------------------------------------------


@dataclass
class DiaryMark:
    """A mark as the diary shows it: «5», «зач», «незач» or «•» for a duty mark."""

    text: str
    #: "number", "pass", "fail" or "duty"
    kind: str
    value: int | None
    assignment_type: str
    weight: str
    assignment_text: str
    comment: str | None = None


@dataclass
class DiaryHomework:
    """Homework: an assignment of a homework type, with the files the teacher attached."""

    text: str
    assignment_type: str
    subject: str
    due_date: dt.date | None
    #: The date of the lesson it was given in.
    given_on: dt.date
    assignment_id: int = 0
    #: (attachment id, file name) pairs, for download links.
    files: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class DiaryLesson:
    """One lesson of the student's day."""

    lesson_id: int
    number: int
    starts_at: dt.time | None
    ends_at: dt.time | None
    subject: str
    room: str | None
    topic: str | None
    is_cancelled: bool
    cancel_reason: str | None
    #: The teacher who gives the lesson: the substitute when there is one, else the
    #: course's teachers, comma-separated.
    teacher: str | None = None
    #: True when another teacher substitutes for the course's own (замена).
    is_substitution: bool = False
    #: Homework of this course due on this day, given in earlier lessons.
    homework_due: list[DiaryHomework] = field(default_factory=list)
    #: Homework given in this lesson.
    homework_given: list[DiaryHomework] = field(default_factory=list)
    marks: list[DiaryMark] = field(default_factory=list)
    #: «Н», «ОП», or the reason code once set; None when present.
    attendance: str | None = None
    attendance_name: str | None = None


@dataclass
class DiaryDay:
    date: dt.date
    lessons: list[DiaryLesson] = field(default_factory=list)
    #: Homework due on this day in a course that has no lesson that day.
    homework_due: list[DiaryHomework] = field(default_factory=list)
    #: Name of the public holiday on this day, if any.
    holiday: str | None = None


@dataclass
class DiaryWeek:
    """One student's school week, Monday to Friday or Saturday."""

    student_id: int
    student_name: str
    class_name: str | None
    week_start: dt.date
    days: list[DiaryDay]
    #: Names of the vacations that overlap the week for this student's class.
    vacations: list[str] = field(default_factory=list)

    @property
    def week_end(self) -> dt.date:
        return self.days[-1].date

    @property
    def has_lessons(self) -> bool:
        return any(day.lessons for day in self.days)

    @property
    def previous_week(self) -> dt.date:
        return self.week_start - dt.timedelta(days=7)

    @property
    def next_week(self) -> dt.date:
        return self.week_start + dt.timedelta(days=7)


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def diary_week(student: Student, week_start: dt.date) -> DiaryWeek:
    """Assemble the diary week of ``student`` that contains ``week_start``.

    ``week_start`` may be any day of the week; the week runs from its Monday. Days are
    Monday to Friday, plus Saturday when the class has a six-day week or any lesson falls
    on Saturday (and Sunday only when a lesson falls on it). Each day lists its lessons by
    lesson number (two lessons in one slot both appear, cancelled ones flagged), with
    time, subject, room, topic, homework due and given, the student's marks with
    assignment type and weight, and attendance. The caller must have checked that the
    session may see this student.
    """
    monday = monday_of(week_start)
    sunday = monday + dt.timedelta(days=6)
    # The ids are read first and sent as a list: with the subquery in its place,
    # PostgreSQL scanned the school's lessons of the whole year by date.
    course_ids = list(db.session.scalars(student_courses(student))) or [-1]
    lessons = _week_lessons(student, course_ids, monday, sunday)
    lesson_ids = [lesson.id for lesson in lessons] or [-1]

    schedules = bell_schedules(student)
    diary_lessons = {
        lesson.id: _diary_lesson(lesson, bell_times(student, lesson, schedules))
        for lesson in lessons
    }
    _add_marks(student, lesson_ids, diary_lessons)
    _add_attendance(student, lesson_ids, diary_lessons)

    dates = [monday + dt.timedelta(days=offset) for offset in range(7)]
    days = {date: DiaryDay(date) for date in dates}
    for lesson in lessons:
        days[lesson.date].lessons.append(diary_lessons[lesson.id])
    _add_homework(student, course_ids, lessons, monday, sunday, days, diary_lessons)
    _add_holidays(student, monday, sunday, days)

    school_days = [day for day in days.values() if day.date.weekday() < SATURDAY]
    six_day = student.school_class is not None and student.school_class.six_day_week
    saturday = days[monday + dt.timedelta(days=SATURDAY)]
    if six_day or saturday.lessons:
        school_days.append(saturday)
    sunday_day = days[sunday]
    if sunday_day.lessons:
        school_days.append(sunday_day)

    return DiaryWeek(
        student_id=student.id,
        student_name=student.full_name,
        class_name=student.school_class.name if student.school_class else None,
        week_start=monday,
        days=school_days,
        vacations=_vacations(student, monday, sunday),
    )


def student_courses(student: Student):
    """Build a select() of the ids of the courses the student attends: class and groups."""
    groups = select(study_group_student.c.group_id).where(
        study_group_student.c.student_id == student.id
    )
    return select(Course.id).where(
        Course.school_id == student.school_id,
        or_(
            (Course.class_id == student.class_id) & Course.group_id.is_(None),
            Course.group_id.in_(groups),
        ),
    )


def _week_lessons(student: Student, course_ids, monday: dt.date, sunday: dt.date) -> list[Lesson]:
    statement = (
        select(Lesson)
        .where(
            Lesson.school_id == student.school_id,
            Lesson.course_id.in_(course_ids),
            Lesson.date >= monday,
            Lesson.date <= sunday,
        )
        .options(selectinload(Lesson.substitute), lazyload(Lesson.assignments))
        .order_by(Lesson.date, Lesson.lesson_number, Lesson.id)
    )
    return list(db.session.scalars(statement))


def bell_schedules(student: Student) -> list[BellSchedule]:
    statement = select(BellSchedule).where(BellSchedule.school_id == student.school_id)
    return list(db.session.scalars(statement))


def bell_times(student, lesson, schedules) -> tuple[dt.time | None, dt.time | None]:
    """Return the lesson's own times, else those of the class's bell schedule that day."""
    if lesson.starts_at is not None:
        return lesson.starts_at, lesson.ends_at
    school_class = student.school_class
    if school_class is None:
        return None, None
    grade, shift = school_class.grade, school_class.shift
    matching = [s for s in schedules if s.applies(grade, shift, lesson.date)]
    # A variant for this weekday wins over the everyday schedule.
    matching.sort(key=lambda s: s.weekday is None)
    for schedule in matching:
        for period in schedule.periods:
            if period.lesson_number == lesson.lesson_number:
                return period.starts_at, period.ends_at
    return None, None


def _lesson_teacher(lesson: Lesson) -> str | None:
    if lesson.substitute is not None:
        return lesson.substitute.short_name
    names = [teacher.short_name for teacher in lesson.course.teachers]
    return ", ".join(names) or None


def _diary_lesson(lesson: Lesson, times) -> DiaryLesson:
    return DiaryLesson(
        lesson_id=lesson.id,
        number=lesson.lesson_number,
        starts_at=times[0],
        ends_at=times[1],
        subject=lesson.course.subject.name,
        room=lesson.room.name if lesson.room else None,
        topic=lesson.topic,
        is_cancelled=lesson.is_cancelled,
        cancel_reason=lesson.cancel_reason,
        teacher=_lesson_teacher(lesson),
        is_substitution=lesson.substitute_id is not None,
    )


def _format_weight(weight) -> str:
    text = f"{weight:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _add_marks(student, lesson_ids, diary_lessons) -> None:
    statement = (
        select(Mark, Assignment, AssignmentType)
        .join(Assignment, Assignment.id == Mark.assignment_id)
        .join(AssignmentType, AssignmentType.id == Assignment.type_id)
        .where(
            Mark.school_id == student.school_id,
            Mark.student_id == student.id,
            Assignment.lesson_id.in_(lesson_ids),
        )
        .options(lazyload(Assignment.marks))
        .order_by(Assignment.id)
    )
    for mark, assignment, assignment_type in db.session.execute(statement):
        diary_lessons[assignment.lesson_id].marks.append(
            DiaryMark(
                text=mark.display(),
                kind=mark.kind,
                value=mark.value,
                assignment_type=assignment_type.name,
                weight=_format_weight(assignment.weight),
                assignment_text=assignment.text,
                comment=mark.comment,
            )
        )


def _add_attendance(student, lesson_ids, diary_lessons) -> None:
    statement = select(Attendance).where(
        Attendance.school_id == student.school_id,
        Attendance.student_id == student.id,
        Attendance.lesson_id.in_(lesson_ids),
    )
    for entry in db.session.scalars(statement):
        diary_lesson = diary_lessons[entry.lesson_id]
        diary_lesson.attendance = entry.display()
        diary_lesson.attendance_name = (entry.reason or entry.code).name


def _add_homework(student, course_ids, lessons, monday, sunday, days, diary_lessons) -> None:
    """Attach homework given in the week's lessons, and homework due on the week's days."""
    week_ids = {lesson.id for lesson in lessons}
    homework_types = list(
        db.session.scalars(
            select(AssignmentType.id).where(
                AssignmentType.school_id == student.school_id,
                AssignmentType.is_homework.is_(True),
            )
        )
    )
    if not course_ids or not homework_types:
        return
    base = (
        select(Assignment, Lesson)
        .join(Lesson, Lesson.id == Assignment.lesson_id)
        .where(
            Assignment.school_id == student.school_id,
            Assignment.type_id.in_(homework_types),
            Lesson.course_id.in_(course_ids),
        )
        .options(
            lazyload(Assignment.marks),
            lazyload(Lesson.assignments),
            joinedload(Lesson.course).lazyload(Course.teachers),
        )
    )
    # Two lookups by short id lists, each served by an index: homework given in the
    # week's lessons, and homework due on the week's days. One query with both
    # conditions made PostgreSQL join every homework of the school's year first.
    found_rows = {}
    if week_ids:
        for row in db.session.execute(base.where(Assignment.lesson_id.in_(list(week_ids)))):
            found_rows[row[0].id] = row
    for row in db.session.execute(base.where(Assignment.due_date.between(monday, sunday))):
        found_rows.setdefault(row[0].id, row)
    ordered = sorted(
        found_rows.values(),
        key=lambda row: (row[1].date, row[1].lesson_number, row[0].id),
    )
    first_lesson_of_course = defaultdict(dict)
    for lesson in lessons:
        first_lesson_of_course[lesson.date].setdefault(lesson.course_id, lesson.id)

    found = []
    for assignment, lesson in ordered:
        homework = DiaryHomework(
            text=assignment.text,
            assignment_type=assignment.type.name,
            subject=lesson.course.subject.name,
            due_date=assignment.due_date,
            given_on=lesson.date,
            assignment_id=assignment.id,
        )
        found.append(homework)
        if lesson.id in week_ids:
            diary_lessons[lesson.id].homework_given.append(homework)
        due = assignment.due_date
        if due is None or not (monday <= due <= sunday):
            continue
        target = first_lesson_of_course[due].get(lesson.course_id)
        if target is not None:
            diary_lessons[target].homework_due.append(homework)
        else:
            days[due].homework_due.append(homework)
    _add_homework_files(student.school_id, found)


def _add_homework_files(school_id: int, homework: list[DiaryHomework]) -> None:
    """Fill in the files of the week's homework with one query."""
    by_assignment = {item.assignment_id: item for item in homework}
    if not by_assignment:
        return
    for assignment_id, files in files_by_assignment(school_id, by_assignment).items():
        by_assignment[assignment_id].files = [(f.id, f.filename) for f in files]


def _add_holidays(student, monday, sunday, days) -> None:
    statement = select(Holiday).where(
        Holiday.school_id == student.school_id,
        Holiday.date.between(monday, sunday),
        Holiday.is_working_day.is_(False),
    )
    for holiday in db.session.scalars(statement):
        days[holiday.date].holiday = holiday.name


def _vacations(student, monday, sunday) -> list[str]:
    for_class = select(vacation_class.c.vacation_id).where(
        vacation_class.c.class_id == student.class_id
    )
    any_class = select(vacation_class.c.vacation_id)
    statement = (
        select(Vacation.name)
        .where(
            Vacation.school_id == student.school_id,
            Vacation.start_date <= sunday,
            Vacation.end_date >= monday,
            or_(Vacation.id.not_in(any_class), Vacation.id.in_(for_class)),
        )
        .order_by(Vacation.start_date)
    )
    return list(db.session.scalars(statement))


# --- Whose diary a session may open ---------------------------------------------


def sees_whole_school(scope: Scope) -> bool:
    return scope.level == "server" or scope.has_role(*WHOLE_SCHOOL_ROLES)


def _teacher_employee_ids(scope: Scope):
    return select(Employee.id).where(
        Employee.school_id == scope.school_id, Employee.user_id == scope.user_id
    )


def _visible_condition(scope: Scope):
    """Build the WHERE condition on Student for the diaries this session may open."""
    if sees_whole_school(scope):
        return None
    if scope.level != "school" or scope.user_id is None:
        return false()

    conditions = []
    if scope.has_role("student"):
        conditions.append(Student.user_id == scope.user_id)
    if scope.has_role("parent"):
        children = select(Guardian.student_id).where(
            Guardian.school_id == scope.school_id,
            Guardian.user_id == scope.user_id,
            Guardian.is_barred.is_(False),
        )
        conditions.append(Student.id.in_(children))
    if scope.has_role("teacher"):
        employees = _teacher_employee_ids(scope)
        taught_classes = (
            select(Course.class_id)
            .join(course_teacher, course_teacher.c.course_id == Course.id)
            .where(course_teacher.c.employee_id.in_(employees))
        )
        led_classes = select(SchoolClass.id).where(SchoolClass.class_teacher_id.in_(employees))
        taught_groups = (
            select(Course.group_id)
            .join(course_teacher, course_teacher.c.course_id == Course.id)
            .where(course_teacher.c.employee_id.in_(employees), Course.group_id.is_not(None))
        )
        group_students = select(study_group_student.c.student_id).where(
            study_group_student.c.group_id.in_(taught_groups)
        )
        conditions.append(
            or_(
                Student.class_id.in_(taught_classes),
                Student.class_id.in_(led_classes),
                Student.id.in_(group_students),
            )
        )
    return or_(*conditions) if conditions else false()


def visible_students_query(scope: Scope):
    """Build a select() of the students whose diary the session may open, by name."""
    statement = apply_scope(select(Student), Student, scope)
    condition = _visible_condition(scope)
    if condition is not None:
        statement = statement.where(condition)
    return statement.order_by(Student.last_name, Student.first_name, Student.id)


def diary_student_or_404(scope: Scope, student_id) -> Student:
    """Load a student whose diary the session may open; any other id raises 404."""
    student = scoped_get_or_404(Student, student_id, scope)
    condition = _visible_condition(scope)
    if condition is None:
        return student
    allowed = db.session.scalar(select(Student.id).where(Student.id == student.id, condition))
    if allowed is None:
        abort(404)
    return student


def own_students(scope: Scope) -> list[Student]:
    """List the session's own diaries: the student themself, or a parent's children."""
    if scope.level != "school" or not scope.has_role("student", "parent"):
        return []
    personal = Scope(
        user_id=scope.user_id,
        membership_id=scope.membership_id,
        level=scope.level,
        school_id=scope.school_id,
        role_codes=scope.role_codes & {"student", "parent"},
    )
    return list(db.session.scalars(visible_students_query(personal)))


def visible_classes(scope: Scope) -> list[SchoolClass]:
    """List the classes with at least one student whose diary the session may open."""
    class_ids = select(visible_students_query(scope).subquery().c.class_id)
    statement = apply_scope(select(SchoolClass), SchoolClass, scope).where(
        SchoolClass.id.in_(class_ids)
    )
    return list(db.session.scalars(statement.order_by(SchoolClass.grade, SchoolClass.name)))


def visible_students_of_class(scope: Scope, class_id: int) -> list[Student]:
    statement = visible_students_query(scope).where(Student.class_id == class_id)
    return list(db.session.scalars(statement))
