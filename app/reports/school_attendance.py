"""Attendance reports: missed lessons and whole missed days per student or class.

Counts are grouped in the database per student and day, so a date range of a whole
school reads one row per student, day and reason rather than every attendance entry.

* A student is scheduled for the lessons of their class's courses taught to the whole
  class and of the group courses of their groups. Cancelled lessons are not scheduled.
* A missed lesson is an absence («Н») of a scheduled lesson whose code and reason do
  not count as present (school business such as an olympiad counts as present).
* A missed day is a day on which the student missed every lesson scheduled for them.
"""

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import and_, false, func, or_, select, union_all
from sqlalchemy.orm import aliased

from app.models import (
    AcademicYear,
    Attendance,
    AttendanceCode,
    Course,
    Lesson,
    SchoolClass,
    Student,
    db,
    study_group_student,
)
from app.reports.charts import BAR, ChartSpec
from app.reports.school import student_name
from app.reports.xlsx import INTEGER, Frame

#: Course kinds whose lessons a student is scheduled for.
# NOTE: extra-curricular activities and after-school groups are left out, because their
# absences are not missed lessons of the curriculum.
SCHEDULED_COURSE_KINDS = ("lesson", "home")


@dataclass
class AttendanceRow:
    """Missed lessons and whole days of one student (or class) in a date range."""

    label: str
    lessons: int = 0
    #: Reason id (None: no reason yet) → missed lessons.
    lessons_by_reason: Counter = field(default_factory=Counter)
    days: int = 0
    #: Reason id, None, or MIXED_REASONS → missed days.
    days_by_reason: Counter = field(default_factory=Counter)
    late: int = 0

    def add(self, other: "AttendanceRow") -> None:
        self.lessons += other.lessons
        self.lessons_by_reason.update(other.lessons_by_reason)
        self.days += other.days
        self.days_by_reason.update(other.days_by_reason)
        self.late += other.late


#: Key of the days whose missed lessons have different reasons.
MIXED_REASONS = "mixed"


def _student_lessons(school_id: int, student_ids_statement, date_from, date_to):
    """Select (student id, lesson id, date) of every lesson a student is scheduled for."""
    whole_class = (
        select(Student.id.label("student_id"), Course.id.label("course_id"))
        .join(
            Course,
            and_(
                Course.school_id == Student.school_id,
                Course.class_id == Student.class_id,
                Course.group_id.is_(None),
            ),
        )
        .where(Student.id.in_(student_ids_statement), Course.kind.in_(SCHEDULED_COURSE_KINDS))
    )
    in_groups = (
        select(study_group_student.c.student_id, Course.id.label("course_id"))
        .join(Course, Course.group_id == study_group_student.c.group_id)
        .where(
            study_group_student.c.student_id.in_(student_ids_statement),
            Course.school_id == school_id,
            Course.kind.in_(SCHEDULED_COURSE_KINDS),
        )
    )
    taken = union_all(whole_class, in_groups).subquery("taken")
    return (
        select(taken.c.student_id, Lesson.id.label("lesson_id"), Lesson.date)
        .join(Lesson, Lesson.course_id == taken.c.course_id)
        .where(
            Lesson.school_id == school_id,
            Lesson.is_cancelled.is_(False),
            Lesson.date >= date_from,
            Lesson.date <= date_to,
        )
        .subquery("scheduled")
    )


def _absence_statements(scheduled, school_id: int):
    """Build the selects of missed lessons per (student, day, reason) and of lates per student."""
    code = aliased(AttendanceCode)
    reason = aliased(AttendanceCode)
    marked = (
        select()
        .select_from(scheduled)
        .join(
            Attendance,
            and_(
                Attendance.school_id == school_id,
                Attendance.lesson_id == scheduled.c.lesson_id,
                Attendance.student_id == scheduled.c.student_id,
            ),
        )
        .join(code, code.id == Attendance.code_id)
        .outerjoin(reason, reason.id == Attendance.reason_id)
    )
    # School business (олимпиада) counts as present, whether set as the code or the reason.
    not_present = and_(
        code.counts_as_present.is_(False),
        or_(reason.id.is_(None), reason.counts_as_present.is_(False)),
    )

    missed = (
        marked.add_columns(
            scheduled.c.student_id, scheduled.c.date, Attendance.reason_id, func.count()
        )
        .where(code.kind == "absent", not_present)
        .group_by(scheduled.c.student_id, scheduled.c.date, Attendance.reason_id)
    )
    late = (
        marked.add_columns(scheduled.c.student_id, func.count())
        .where(code.kind == "late", not_present)
        .group_by(scheduled.c.student_id)
    )
    return missed, late


def _attendance_counts(school_id, student_ids_statement, date_from, date_to):
    """Return scheduled lessons per (student, day), missed per (student, day, reason), and lates."""
    scheduled = _student_lessons(school_id, student_ids_statement, date_from, date_to)
    per_day = select(scheduled.c.student_id, scheduled.c.date, func.count()).group_by(
        scheduled.c.student_id, scheduled.c.date
    )
    missed, late = _absence_statements(scheduled, school_id)

    scheduled_counts = {(s, d): n for s, d, n in db.session.execute(per_day)}
    missed_counts: dict[tuple[int, dt.date], Counter] = defaultdict(Counter)
    for student_id, day, reason_id, number in db.session.execute(missed):
        missed_counts[(student_id, day)][reason_id] += number
    late_counts = dict(db.session.execute(late).all())
    return scheduled_counts, missed_counts, late_counts


def attendance_by_student(
    school_id: int, students: list[Student], date_from: dt.date, date_to: dt.date
) -> dict[int, AttendanceRow]:
    """Count each student's missed lessons and whole missed days in the date range.

    A missed day's reason is the reason shared by its missed lessons. A day whose
    lessons have different reasons counts under «different reasons».
    """
    rows = {s.id: AttendanceRow(student_name(s)) for s in students}
    if not students:
        return rows
    student_ids = select(Student.id).where(
        Student.school_id == school_id, Student.id.in_([s.id for s in students])
    )
    scheduled, missed, late = _attendance_counts(school_id, student_ids, date_from, date_to)
    for (student_id, day), reasons in missed.items():
        row = rows[student_id]
        lessons = sum(reasons.values())
        row.lessons += lessons
        row.lessons_by_reason.update(reasons)
        if lessons >= scheduled.get((student_id, day), 0):
            row.days += 1
            key = next(iter(reasons)) if len(reasons) == 1 else MIXED_REASONS
            row.days_by_reason[key] += 1
    for student_id, number in late.items():
        rows[student_id].late = number
    return rows


def reason_codes(school_id: int, rows) -> list[AttendanceCode]:
    """List the school's reason codes and any other code used as a reason in the rows."""
    used = {key for row in rows for key in row.lessons_by_reason if key is not None}
    statement = select(AttendanceCode).where(
        AttendanceCode.school_id == school_id,
        or_(AttendanceCode.kind == "reason", AttendanceCode.id.in_(used) if used else false()),
    )
    return list(db.session.scalars(statement.order_by(AttendanceCode.code)))


def attendance_frame(label_column: str, rows: list[AttendanceRow], reasons) -> Frame:
    """Build rows of missed lessons and days, in total and by reason, and a totals row.

    The reason columns of lessons add up to the lessons total, and those of days (with
    «no reason» and «different reasons») add up to the days total.
    """
    lessons_total = _("Missed lessons, total")
    days_total = _("Missed whole days, total")
    no_reason = None
    lesson_columns = [(r.id, _("Lessons: %(code)s", code=r.code)) for r in reasons]
    lesson_columns.append((no_reason, _("Lessons: no reason")))
    day_columns = [(r.id, _("Days: %(code)s", code=r.code)) for r in reasons]
    day_columns.append((no_reason, _("Days: no reason")))
    day_columns.append((MIXED_REASONS, _("Days: different reasons")))
    late = _("Late arrivals")

    total = AttendanceRow(_("Total"))
    records = []
    for row in [*rows, total]:
        if row is not total:
            total.add(row)
        record = {label_column: row.label, lessons_total: row.lessons}
        record.update({name: row.lessons_by_reason.get(key, 0) for key, name in lesson_columns})
        record[days_total] = row.days
        record.update({name: row.days_by_reason.get(key, 0) for key, name in day_columns})
        record[late] = row.late
        records.append(record)
    names = [label_column, lessons_total, *[n for _k, n in lesson_columns], days_total]
    names += [n for _k, n in day_columns] + [late]
    frame = pd.DataFrame.from_records(records, columns=names)
    return _("Attendance"), frame, {name: INTEGER for name in names[1:]}


def attendance_chart(frame: Frame) -> ChartSpec:
    """Describe the attendance chart: each row's missed lessons by reason, without the total."""
    names = [str(name) for name in frame[1].columns]
    first = names.index(_("Missed lessons, total")) + 1
    last = names.index(_("Missed whole days, total"))
    return ChartSpec(
        kind=BAR,
        category=names[0],
        values=tuple(names[first:last]),
        title=_("Missed lessons by reason"),
        without_total=True,
    )


def classes_in_range(school_id: int, date_from: dt.date, date_to: dt.date) -> list[SchoolClass]:
    """List the classes of the school years that overlap the date range."""
    statement = (
        select(SchoolClass)
        .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
        .where(
            SchoolClass.school_id == school_id,
            AcademicYear.start_date <= date_to,
            AcademicYear.end_date >= date_from,
        )
        .order_by(SchoolClass.grade, SchoolClass.name)
    )
    return list(db.session.scalars(statement))


def attendance_by_class(
    school_id: int, classes: list[SchoolClass], date_from: dt.date, date_to: dt.date
) -> list[AttendanceRow]:
    """Sum the students' rows of each class."""
    students = list(
        db.session.scalars(
            select(Student).where(
                Student.school_id == school_id,
                Student.class_id.in_([c.id for c in classes]),
                Student.is_active.is_(True),
            )
        )
    )
    per_student = attendance_by_student(school_id, students, date_from, date_to)
    rows = {c.id: AttendanceRow(c.name) for c in classes}
    for student in students:
        rows[student.class_id].add(per_student[student.id])
    return [rows[c.id] for c in classes]
