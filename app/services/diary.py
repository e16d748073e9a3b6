"""The diary: which students a session may see, and one student's week as plain data.

:func:`diary_week` is the stable entry point; the diary page and the tests that check an
imported «Сетевой Город» week both read its :class:`DiaryWeek`.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from flask import abort
from sqlalchemy import CompoundSelect, Select, bindparam, false, literal, or_, select, union_all
from sqlalchemy.orm import aliased, joinedload

from app.models import (
    Assignment,
    AssignmentType,
    Attachment,
    Attendance,
    AttendanceCode,
    BellPeriod,
    BellSchedule,
    Course,
    Employee,
    Guardian,
    Holiday,
    Lesson,
    Mark,
    Room,
    SchoolClass,
    Student,
    Subject,
    Vacation,
    course_teacher,
    db,
    study_group_student,
)
from app.models.base import person_short_name
from app.models.curriculum import course_gives_marks
from app.models.journal import mark_display
from app.models.schoolyear import rank_bell_schedules, vacation_class
from app.security.criteria import built_once, core_rows, in_school
from app.security.scope import Scope, apply_scope, scoped_get_or_404
from app.services.numbers import format_weight

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


def _rows(statement, params: dict):
    """Run a diary statement past the ORM; each one filters by the student's school."""
    return core_rows(db.session, statement, params)


class _DiaryStatements(NamedTuple):
    """The diary week's statements, built once by :func:`_statements`."""

    courses: Select
    lessons: Select
    course_teachers: Select
    substitutes: Select
    marks: Select
    attendance: Select
    homework_given: Select
    homework_due: Select
    homework_files: Select
    holidays_and_vacations: CompoundSelect
    bell_periods: Select


#: The teacher's code and the reason set later, both rows of attendance_code.
_MARKED_CODE = aliased(AttendanceCode)
_REASON_CODE = aliased(AttendanceCode)


@built_once
def _statements() -> _DiaryStatements:
    """Build the diary week's statements once, with bound parameters.

    Every parent opens the diary, so its statements are built once rather than on every
    request: building them took the page about as long as running them past the ORM.
    Lists of ids are expanding parameters. Each statement names the student's school on
    every school-owned table, joins included, as the ORM criterion would.
    """
    school, student, monday, sunday = (
        bindparam("school"),
        bindparam("student"),
        bindparam("monday"),
        bindparam("sunday"),
    )
    courses, lessons = bindparam("courses", expanding=True), bindparam("lessons", expanding=True)
    code, reason = _MARKED_CODE, _REASON_CODE
    names = (Employee.last_name, Employee.first_name, Employee.middle_name)
    assignment_type = in_school(AssignmentType, AssignmentType.id == Assignment.type_id, school)
    homework = (
        select(
            Assignment.id,
            Assignment.text,
            Assignment.due_date,
            AssignmentType.name.label("type_name"),
            Lesson.id.label("lesson_id"),
            Lesson.course_id,
            Lesson.date,
            Lesson.lesson_number,
        )
        .join(Lesson, in_school(Lesson, Lesson.id == Assignment.lesson_id, school))
        .join(AssignmentType, assignment_type)
        .where(
            Assignment.school_id == school,
            AssignmentType.is_homework.is_(True),
            Lesson.course_id.in_(courses),
        )
    )
    class_vacations = select(vacation_class.c.vacation_id).where(
        vacation_class.c.class_id == bindparam("class")
    )
    return _DiaryStatements(
        courses=select(Course.id, Subject.name, Course.kind, Course.assessment, SchoolClass.grade)
        .join(Subject, in_school(Subject, Subject.id == Course.subject_id, school))
        .outerjoin(SchoolClass, in_school(SchoolClass, SchoolClass.id == Course.class_id, school))
        .where(Course.school_id == school, _attends_course(student, bindparam("class")))
        .order_by(Subject.name, Course.id),
        lessons=select(
            Lesson.id,
            Lesson.course_id,
            Lesson.date,
            Lesson.lesson_number,
            Lesson.starts_at,
            Lesson.ends_at,
            Lesson.topic,
            Lesson.is_cancelled,
            Lesson.cancel_reason,
            Lesson.substitute_id,
            Room.name.label("room"),
        )
        .outerjoin(Room, in_school(Room, Room.id == Lesson.room_id, school))
        .where(
            Lesson.school_id == school,
            Lesson.course_id.in_(courses),
            Lesson.date >= monday,
            Lesson.date <= sunday,
        )
        .order_by(Lesson.date, Lesson.lesson_number, Lesson.id),
        course_teachers=select(course_teacher.c.course_id, *names)
        .join(Employee, Employee.id == course_teacher.c.employee_id)
        .where(Employee.school_id == school, course_teacher.c.course_id.in_(courses))
        .order_by(course_teacher.c.course_id, Employee.id),
        substitutes=select(Employee.id, *names).where(
            Employee.school_id == school, Employee.id.in_(bindparam("employees", expanding=True))
        ),
        marks=select(
            Assignment.lesson_id,
            Mark.kind,
            Mark.value,
            Mark.comment,
            AssignmentType.name,
            Assignment.weight,
            Assignment.text,
        )
        .join(Assignment, in_school(Assignment, Assignment.id == Mark.assignment_id, school))
        .join(AssignmentType, assignment_type)
        .where(
            Mark.school_id == school,
            Mark.student_id == student,
            Assignment.lesson_id.in_(lessons),
        )
        .order_by(Assignment.id),
        attendance=select(Attendance.lesson_id, code.code, code.name, reason.code, reason.name)
        .join(code, in_school(code, code.id == Attendance.code_id, school))
        .outerjoin(reason, in_school(reason, reason.id == Attendance.reason_id, school))
        .where(
            Attendance.school_id == school,
            Attendance.student_id == student,
            Attendance.lesson_id.in_(lessons),
        ),
        # Two lookups, each served by an index: homework given in the week's lessons, and
        # homework due on the week's days. Joined by OR in one statement, PostgreSQL joined
        # every homework of the school's year first; a UNION of the two ran slower than both.
        homework_given=homework.where(Assignment.lesson_id.in_(lessons)),
        homework_due=homework.where(Assignment.due_date.between(monday, sunday)),
        homework_files=select(Attachment.assignment_id, Attachment.id, Attachment.filename)
        .where(
            Attachment.school_id == school,
            Attachment.assignment_id.in_(bindparam("assignments", expanding=True)),
        )
        .order_by(Attachment.id),
        # Holidays and vacations in one statement, a union, to save a round trip.
        holidays_and_vacations=union_all(
            select(literal("holiday").label("kind"), Holiday.date, Holiday.name).where(
                Holiday.school_id == school,
                Holiday.date.between(monday, sunday),
                Holiday.is_working_day.is_(False),
            ),
            select(literal("vacation"), Vacation.start_date, Vacation.name).where(
                Vacation.school_id == school,
                Vacation.start_date <= sunday,
                Vacation.end_date >= monday,
                or_(
                    Vacation.id.not_in(select(vacation_class.c.vacation_id)),
                    Vacation.id.in_(class_vacations),
                ),
            ),
        ).order_by("kind", "date"),
        bell_periods=select(
            BellSchedule.id,
            BellSchedule.shift,
            BellSchedule.grade_from,
            BellSchedule.grade_to,
            BellSchedule.weekday,
            BellSchedule.valid_from,
            BellSchedule.valid_to,
            BellPeriod.lesson_number,
            BellPeriod.starts_at,
            BellPeriod.ends_at,
        )
        .join(BellPeriod, in_school(BellPeriod, BellPeriod.schedule_id == BellSchedule.id, school))
        .where(
            BellSchedule.school_id == school,
            BellSchedule.grade_from <= bindparam("grade"),
            BellSchedule.grade_to >= bindparam("grade"),
            BellSchedule.shift == bindparam("shift"),
        )
        .order_by(BellSchedule.id, BellPeriod.lesson_number),
    )


@dataclass(frozen=True)
class StudentCourse:
    """A course the student attends, as the diary's blocks read it."""

    id: int
    subject: str
    kind: str
    assessment: str
    #: The grade of the course's class; None for a course of a group without a class.
    grade: int | None

    @property
    def gives_marks(self) -> bool:
        return course_gives_marks(self.kind, self.assessment, self.grade)


def student_course_rows(student: Student) -> list[StudentCourse]:
    """List the courses the student attends with their subjects, by subject name.

    The diary page reads them once and hands them to the week, the results and the
    overdue list, which would otherwise each ask for them again.
    """
    params = {"school": student.school_id, "student": student.id, "class": student.class_id}
    return [StudentCourse(*row) for row in _rows(_statements().courses, params)]


def diary_week(
    student: Student, week_start: dt.date, courses: list[StudentCourse] | None = None
) -> DiaryWeek:
    """Assemble the diary week of ``student`` that contains ``week_start``.

    ``week_start`` may be any day of the week; the week runs from its Monday. Days are
    Monday to Friday, plus Saturday when the class has a six-day week or any lesson falls
    on Saturday (and Sunday only when a lesson falls on it). Each day lists its lessons by
    lesson number (two lessons in one slot both appear, cancelled ones flagged), with
    time, subject, room, topic, homework due and given, the student's marks with
    assignment type and weight, and attendance. ``courses`` are the student's courses
    when the caller has read them already. The caller must have checked that the session
    may see this student.
    """
    monday = monday_of(week_start)
    sunday = monday + dt.timedelta(days=6)
    if courses is None:
        courses = student_course_rows(student)
    # The ids are sent as a list: with a subquery in its place, PostgreSQL scanned the
    # school's lessons of the whole year by date.
    subjects = {course.id: course.subject for course in courses}
    course_ids = list(subjects) or [-1]
    lessons = _week_lessons(student, course_ids, monday, sunday)
    lesson_ids = [lesson.id for lesson in lessons] or [-1]

    schedules = bell_schedules(student)
    teachers = _lesson_teachers(student.school_id, lessons)
    diary_lessons = {
        lesson.id: _diary_lesson(lesson, subjects, teachers, bell_times(student, lesson, schedules))
        for lesson in lessons
    }
    _add_marks(student, lesson_ids, diary_lessons)
    _add_attendance(student, lesson_ids, diary_lessons)

    dates = [monday + dt.timedelta(days=offset) for offset in range(7)]
    days = {date: DiaryDay(date) for date in dates}
    for lesson in lessons:
        days[lesson.date].lessons.append(diary_lessons[lesson.id])
    _add_homework(student, subjects, lessons, monday, sunday, days, diary_lessons)
    vacations = _add_holidays_and_vacations(student, monday, sunday, days)

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
        vacations=vacations,
    )


def student_courses(student: Student):
    """Build a select() of the ids of the courses the student attends: class and groups."""
    return select(Course.id).where(
        Course.school_id == student.school_id, _attends_course(student.id, student.class_id)
    )


def _attends_course(student_id, class_id):
    """Build the condition on Course for the courses of a student's class and groups.

    The ids are values or bound parameters.
    """
    groups = select(study_group_student.c.group_id).where(
        study_group_student.c.student_id == student_id
    )
    return or_(
        (Course.class_id == class_id) & Course.group_id.is_(None),
        Course.group_id.in_(groups),
    )


def _week_lessons(student: Student, course_ids, monday: dt.date, sunday: dt.date) -> list:
    """Read the week's lessons of the courses as plain rows, with the room's name.

    Rows instead of ORM objects: building a lesson object with its relations cost the
    diary more than the query itself.
    """
    params = {
        "school": student.school_id,
        "courses": course_ids,
        "monday": monday,
        "sunday": sunday,
    }
    return list(_rows(_statements().lessons, params))


class BellTime(NamedTuple):
    lesson_number: int
    starts_at: dt.time
    ends_at: dt.time


@dataclass
class BellVariant:
    """A bell schedule read as plain data, with the ranking rules of :class:`BellSchedule`."""

    id: int
    shift: int
    grade_from: int
    grade_to: int
    weekday: int | None
    valid_from: dt.date | None
    valid_to: dt.date | None
    periods: list[BellTime] = field(default_factory=list)

    # The model's own rules, so that a variant and a schedule rank alike.
    applies = BellSchedule.applies
    specificity = BellSchedule.specificity


def bell_schedules(student: Student) -> list[BellVariant]:
    """Load the bell schedules of the student's grade and shift with their periods.

    They are read as plain rows, like the rest of the week, because every diary page
    reads them and an ORM load with its periods costs more CPU.
    """
    school_class = student.school_class
    if school_class is None:
        return []
    params = {
        "school": student.school_id,
        "grade": school_class.grade,
        "shift": school_class.shift,
    }
    variants: dict[int, BellVariant] = {}
    for row in _rows(_statements().bell_periods, params):
        variant = variants.get(row.id)
        if variant is None:
            variant = variants[row.id] = BellVariant(*row[:7])
        variant.periods.append(BellTime(*row[7:]))
    return list(variants.values())


def bell_times(student, lesson, schedules) -> tuple[dt.time | None, dt.time | None]:
    """Return the lesson's own times, else those of the class's bell schedule that day."""
    if lesson.starts_at is not None:
        return lesson.starts_at, lesson.ends_at
    school_class = student.school_class
    if school_class is None:
        return None, None
    grade, shift = school_class.grade, school_class.shift
    # A lesson number missing from the most specific variant is taken from the next one.
    for schedule in rank_bell_schedules(schedules, grade, shift, lesson.date):
        for period in schedule.periods:
            if period.lesson_number == lesson.lesson_number:
                return period.starts_at, period.ends_at
    return None, None


@dataclass
class _WeekTeachers:
    """Short names of the week's teachers: each course's own, and the substitutes by id."""

    by_course: dict[int, list[str]]
    by_employee: dict[int, str]


def _lesson_teachers(school_id: int, lessons) -> _WeekTeachers:
    """Read the short names of the courses' teachers, and of substitutes when there are any."""
    course_ids = {lesson.course_id for lesson in lessons}
    substitute_ids = {lesson.substitute_id for lesson in lessons} - {None}
    teachers = _WeekTeachers(defaultdict(list), {})
    statements = _statements()
    if course_ids:
        params = {"school": school_id, "courses": list(course_ids)}
        for course_id, *name in _rows(statements.course_teachers, params):
            teachers.by_course[course_id].append(person_short_name(*name))
    if substitute_ids:
        params = {"school": school_id, "employees": list(substitute_ids)}
        for employee_id, *name in _rows(statements.substitutes, params):
            teachers.by_employee[employee_id] = person_short_name(*name)
    return teachers


def _diary_lesson(lesson, subjects: dict[int, str], teachers: _WeekTeachers, times) -> DiaryLesson:
    if lesson.substitute_id is not None:
        teacher = teachers.by_employee.get(lesson.substitute_id)
    else:
        teacher = ", ".join(teachers.by_course.get(lesson.course_id, ())) or None
    return DiaryLesson(
        lesson_id=lesson.id,
        number=lesson.lesson_number,
        starts_at=times[0],
        ends_at=times[1],
        subject=subjects[lesson.course_id],
        room=lesson.room,
        topic=lesson.topic,
        is_cancelled=lesson.is_cancelled,
        cancel_reason=lesson.cancel_reason,
        teacher=teacher,
        is_substitution=lesson.substitute_id is not None,
    )


def _add_marks(student, lesson_ids, diary_lessons) -> None:
    params = {"school": student.school_id, "student": student.id, "lessons": lesson_ids}
    for lesson_id, kind, value, comment, type_name, weight, text in _rows(
        _statements().marks, params
    ):
        diary_lessons[lesson_id].marks.append(
            DiaryMark(
                text=mark_display(kind, value),
                kind=kind,
                value=value,
                assignment_type=type_name,
                weight=format_weight(weight),
                assignment_text=text,
                comment=comment,
            )
        )


def _add_attendance(student, lesson_ids, diary_lessons) -> None:
    """Show the reason once the class teacher has set it, else the teacher's «Н» or «ОП»."""
    params = {"school": student.school_id, "student": student.id, "lessons": lesson_ids}
    for lesson_id, code_code, code_name, reason_code, reason_name in _rows(
        _statements().attendance, params
    ):
        diary_lesson = diary_lessons[lesson_id]
        diary_lesson.attendance = reason_code or code_code
        diary_lesson.attendance_name = reason_name or code_name


def _add_homework(student, subjects, lessons, monday, sunday, days, diary_lessons) -> None:
    """Attach homework given in the week's lessons, and homework due on the week's days."""
    week_ids = [lesson.id for lesson in lessons] or [-1]
    if not subjects:
        return
    statements = _statements()
    params = {
        "school": student.school_id,
        "courses": list(subjects),
        "lessons": week_ids,
        "monday": monday,
        "sunday": sunday,
    }
    found_rows = {}
    for row in _rows(statements.homework_given, params):
        found_rows[row.id] = row
    for row in _rows(statements.homework_due, params):
        found_rows.setdefault(row.id, row)
    ordered = sorted(found_rows.values(), key=lambda row: (row.date, row.lesson_number, row.id))
    first_lesson_of_course = defaultdict(dict)
    for lesson in lessons:
        first_lesson_of_course[lesson.date].setdefault(lesson.course_id, lesson.id)

    found = []
    for row in ordered:
        homework = DiaryHomework(
            text=row.text,
            assignment_type=row.type_name,
            subject=subjects[row.course_id],
            due_date=row.due_date,
            given_on=row.date,
            assignment_id=row.id,
        )
        found.append(homework)
        if row.lesson_id in diary_lessons:
            diary_lessons[row.lesson_id].homework_given.append(homework)
        due = row.due_date
        if due is None or not (monday <= due <= sunday):
            continue
        target = first_lesson_of_course[due].get(row.course_id)
        if target is not None:
            diary_lessons[target].homework_due.append(homework)
        else:
            days[due].homework_due.append(homework)
    _add_homework_files(student.school_id, found)


def _add_homework_files(school_id: int, homework: list[DiaryHomework]) -> None:
    """Fill in the files of the week's homework with one query, in upload order."""
    by_assignment = {item.assignment_id: item for item in homework}
    if not by_assignment:
        return
    params = {"school": school_id, "assignments": list(by_assignment)}
    for assignment_id, attachment_id, filename in _rows(_statements().homework_files, params):
        by_assignment[assignment_id].files.append((attachment_id, filename))


def _add_holidays_and_vacations(student, monday, sunday, days) -> list[str]:
    """Name the week's public holidays on their days; return the vacations of the week.

    Both come in one statement, a union of the two tables, to save the diary a round trip.
    """
    params = {
        "school": student.school_id,
        "class": student.class_id,
        "monday": monday,
        "sunday": sunday,
    }
    names = []
    for kind, date, name in _rows(_statements().holidays_and_vacations, params):
        if kind == "holiday":
            days[date].holiday = name
        else:
            names.append(name)
    return names


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
    # The class comes along: the diary reads it for the week's days and the bell times.
    statement = visible_students_query(personal).options(joinedload(Student.school_class))
    return list(db.session.scalars(statement))


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
