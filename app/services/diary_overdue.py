"""Overdue assignments («Просроченные задания») of one student, listed apart from the week.

An assignment is overdue for a student when either

- the student has a duty mark («точка») for it, whatever its date, because the duty mark
  itself records that the work is owed; or
- it is mandatory, its due date (the lesson date when it has none) is before today, and the
  student has no mark for it at all.

Mandatory means: its assignment type is flagged as an assessment procedure (tests, ВПР,
diagnostic work). Homework and other types are not mandatory, because teachers do not mark
every piece of them. A student absent from the lesson still owes the work, so attendance
does not matter. Assignments of cancelled lessons and of courses that take no marks (grade
1, courses assessed without marks, extra-curricular courses) are left out.
"""

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import exists, func, not_, select

from app.models import (
    Assignment,
    AssignmentType,
    Course,
    Lesson,
    Mark,
    Student,
    Subject,
    db,
)
from app.services.diary import StudentCourse, student_course_rows


@dataclass
class OverdueAssignment:
    """One assignment the student owes, as the overdue list shows it."""

    assignment_id: int
    subject: str
    #: The date of the lesson the assignment was given in.
    lesson_date: dt.date
    assignment_type: str
    text: str
    #: The assignment's own due date; None when it has none and the lesson date applies.
    due_date: dt.date | None
    #: Whole days from the due date (or the lesson date) to today; 0 when not yet due.
    days_overdue: int
    #: True when the student has a duty mark for it, False when it is merely unmarked.
    is_duty: bool


def _marked_course_ids(courses: list[StudentCourse]) -> list[int]:
    """Return the ids of the courses with marks: assessed lessons of a class above grade 1."""
    return [
        course.id
        for course in courses
        if course.kind == "lesson"
        and course.assessment != "none"
        and course.grade is not None
        and course.grade > 1
    ]


def _procedure_type_ids(school_id: int) -> list[int]:
    statement = select(AssignmentType.id).where(
        AssignmentType.school_id == school_id,
        AssignmentType.is_assessment_procedure.is_(True),
    )
    return list(db.session.scalars(statement))


def overdue_assignments(
    student: Student, today: dt.date, courses: list[StudentCourse] | None = None
) -> list[OverdueAssignment]:
    """List the assignments ``student`` owes on ``today``, oldest due date first.

    The student's courses, duty marks and the school's procedure types are read first as
    short id lists, so that the two main queries start from the student's own lessons
    instead of every assignment of the school, whatever the size of the school's year.
    """
    if courses is None:
        courses = student_course_rows(student)
    course_ids = _marked_course_ids(courses)
    if not course_ids:
        return []
    base = (
        select(
            Assignment.id,
            Subject.name,
            Lesson.date,
            AssignmentType.name,
            Assignment.text,
            Assignment.due_date,
        )
        .join(Lesson, Lesson.id == Assignment.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .join(Subject, Subject.id == Course.subject_id)
        .join(AssignmentType, AssignmentType.id == Assignment.type_id)
        .where(
            Assignment.school_id == student.school_id,
            Lesson.school_id == student.school_id,
            Lesson.course_id.in_(course_ids),
            Lesson.is_cancelled.is_(False),
        )
    )
    rows = []

    duty_ids = list(
        db.session.scalars(
            select(Mark.assignment_id).where(
                Mark.school_id == student.school_id,
                Mark.student_id == student.id,
                Mark.kind == "duty",
            )
        )
    )
    if duty_ids:
        duty = base.where(Assignment.id.in_(duty_ids))
        rows += [(row, True) for row in db.session.execute(duty)]

    type_ids = _procedure_type_ids(student.school_id)
    if type_ids:
        student_mark = exists().where(
            Mark.school_id == student.school_id,
            Mark.assignment_id == Assignment.id,
            Mark.student_id == student.id,
        )
        unmarked = base.where(
            Assignment.type_id.in_(type_ids),
            func.coalesce(Assignment.due_date, Lesson.date) < today,
            not_(student_mark),
        )
        rows += [(row, False) for row in db.session.execute(unmarked)]

    overdue = [_overdue(row, is_duty, today) for row, is_duty in rows]
    overdue.sort(key=lambda item: (item.due_date or item.lesson_date, item.assignment_id))
    return overdue


def _overdue(row, is_duty: bool, today: dt.date) -> OverdueAssignment:
    assignment_id, subject, lesson_date, type_name, text, due_date = row
    due = due_date or lesson_date
    return OverdueAssignment(
        assignment_id=assignment_id,
        subject=subject,
        lesson_date=lesson_date,
        assignment_type=type_name,
        text=text,
        due_date=due_date,
        days_overdue=max((today - due).days, 0),
        is_duty=is_duty,
    )
