"""Overdue assignments in the diary: duty marks and unmarked assessment procedures."""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import (
    Assignment,
    AssignmentType,
    Attendance,
    AttendanceCode,
    Employee,
    Lesson,
    Mark,
    Student,
    StudyGroup,
    db,
)
from app.services.diary_overdue import overdue_assignments
from tests.factories import WEEK_START, add_course_with_lesson, build_extra_school

#: The day the lists are computed for. Quarter 1 runs to 24.10.2026.
TODAY = dt.date(2026, 10, 20)


def _type(sid: int, name: str) -> AssignmentType:
    return db.session.scalar(
        select(AssignmentType).where(AssignmentType.school_id == sid, AssignmentType.name == name)
    )


def _lesson(sid, course_id, day, number=1, cancelled=False) -> Lesson:
    lesson = Lesson(
        school_id=sid, course_id=course_id, date=day, lesson_number=number, is_cancelled=cancelled
    )
    db.session.add(lesson)
    db.session.flush()
    return lesson


def _assignment(sid, lesson, assignment_type, text, due=None) -> Assignment:
    assignment = Assignment(
        school_id=sid,
        lesson_id=lesson.id,
        type_id=assignment_type.id,
        weight=assignment_type.default_weight,
        text=text,
        due_date=due,
    )
    db.session.add(assignment)
    db.session.flush()
    return assignment


@pytest.fixture(scope="module")
def school(app, world):
    """Assignments around TODAY: overdue, not yet due, marked, cancelled, unmarked courses."""
    with app.app_context():
        built = build_extra_school("DO")
        sid = built.school_id
        anna = built.ids["Student"]
        maths_id = db.session.get(Lesson, built.ids["Lesson"]).course_id
        test = _type(sid, "Контрольная работа")
        homework = _type(sid, "Домашнее задание")
        check = AssignmentType(
            school_id=sid,
            name="Проверочная работа",
            default_weight=Decimal("1.5"),
            is_assessment_procedure=True,
        )
        db.session.add(check)
        db.session.flush()

        early = _lesson(sid, maths_id, dt.date(2026, 9, 21))
        _assignment(sid, early, check, "Проверочная по дробям", due=dt.date(2026, 9, 28))

        # Anna missed this lesson, but she still owes the test.
        missed = _lesson(sid, maths_id, dt.date(2026, 10, 8))
        _assignment(sid, missed, test, "Контрольная работа № 2")
        absent = db.session.scalar(
            select(AttendanceCode).where(
                AttendanceCode.school_id == sid, AttendanceCode.code == "Н"
            )
        )
        db.session.add(
            Attendance(school_id=sid, lesson_id=missed.id, student_id=anna, code_id=absent.id)
        )

        owed = _lesson(sid, maths_id, dt.date(2026, 10, 12))
        essay = _assignment(sid, owed, homework, "Сочинение по задаче", due=dt.date(2026, 10, 14))
        db.session.add(Mark(school_id=sid, assignment_id=essay.id, student_id=anna, kind="duty"))
        # Unmarked homework is not mandatory.
        _assignment(sid, owed, homework, "№ 101", due=dt.date(2026, 10, 13))

        later = _lesson(sid, maths_id, dt.date(2026, 10, 16))
        _assignment(sid, later, test, "Контрольная работа № 3", due=dt.date(2026, 10, 21))
        _assignment(sid, later, test, "Контрольная работа № 4", due=TODAY)

        cancelled = _lesson(sid, maths_id, dt.date(2026, 10, 9), cancelled=True)
        _assignment(sid, cancelled, test, "Отменённая контрольная")

        teacher = db.session.scalar(
            select(Employee).where(Employee.school_id == sid, Employee.position == "teacher")
        )
        _, club = add_course_with_lesson(
            built, "Шахматы", teachers=[teacher], day=dt.date(2026, 10, 6), kind="extracurricular"
        )
        _assignment(sid, club, test, "Турнир")

        # The English group contains Anna only.
        english, group_lesson = add_course_with_lesson(
            built, "Английский язык", teachers=[teacher], day=dt.date(2026, 10, 13)
        )
        english.group_id = db.session.scalar(
            select(StudyGroup.id).where(StudyGroup.school_id == sid)
        )
        _assignment(sid, group_lesson, test, "Test 1")
        db.session.commit()
        return built


def overdue_of(app, student_id):
    with app.app_context():
        return overdue_assignments(db.session.get(Student, student_id), TODAY)


def test_overdue_lists_duty_and_unmarked_oldest_first(app, school):
    overdue = overdue_of(app, school.ids["Student"])
    assert [item.text for item in overdue] == [
        "Проверочная по дробям",
        "Контрольная работа № 2",
        "Test 1",
        "Сочинение по задаче",
    ]
    assert [item.days_overdue for item in overdue] == [22, 12, 7, 6]
    assert [item.is_duty for item in overdue] == [False, False, False, True]


def test_overdue_item_fields(app, school):
    first = overdue_of(app, school.ids["Student"])[0]
    assert first.subject == "Математика"
    assert first.assignment_type == "Проверочная работа"
    assert first.lesson_date == dt.date(2026, 9, 21)
    assert first.due_date == dt.date(2026, 9, 28)
    missed = overdue_of(app, school.ids["Student"])[1]
    # Without a due date the lesson date counts.
    assert missed.due_date is None
    assert missed.lesson_date == dt.date(2026, 10, 8)


def test_overdue_of_classmate(app, school):
    # Пётр has no mark for the first test, which Anna wrote, and is not in the English group.
    overdue = overdue_of(app, school.ids["OtherStudent"])
    assert [(item.text, item.days_overdue) for item in overdue] == [
        ("Проверочная по дробям", 22),
        ("Контрольная работа № 1", 15),
        ("Контрольная работа № 2", 12),
    ]


def test_overdue_skips_marked_work(app, school):
    texts = [item.text for item in overdue_of(app, school.ids["Student"])]
    assert "Контрольная работа № 1" not in texts


def test_overdue_skips_work_not_yet_due(app, school):
    texts = [item.text for item in overdue_of(app, school.ids["Student"])]
    assert "Контрольная работа № 3" not in texts
    assert "Контрольная работа № 4" not in texts


def test_overdue_skips_cancelled_and_unmarked_courses(app, school):
    texts = [item.text for item in overdue_of(app, school.ids["Student"])]
    assert "Отменённая контрольная" not in texts
    assert "Турнир" not in texts


def test_mark_removes_assignment_from_overdue(app, school):
    with app.app_context():
        assignment = db.session.scalar(
            select(Assignment).where(
                Assignment.school_id == school.school_id, Assignment.text == "Test 1"
            )
        )
        mark = Mark(
            school_id=school.school_id,
            assignment_id=assignment.id,
            student_id=school.ids["Student"],
            kind="number",
            value=4,
        )
        db.session.add(mark)
        db.session.commit()
        mark_id = mark.id
    try:
        texts = [item.text for item in overdue_of(app, school.ids["Student"])]
        assert "Test 1" not in texts
        assert len(texts) == 3
    finally:
        with app.app_context():
            db.session.delete(db.session.get(Mark, mark_id))
            db.session.commit()


def test_overdue_of_sibling_without_marks(app, school):
    # Maria has no marks at all, so every past test of her courses is owed.
    overdue = overdue_of(app, school.ids["SiblingStudent"])
    assert [item.text for item in overdue] == [
        "Проверочная по дробям",
        "Контрольная работа № 1",
        "Контрольная работа № 2",
    ]


def test_parent_page_shows_overdue_block(school, login):
    # The page counts from the real today, and a duty mark is listed whatever the date.
    page = login(school.users["parent"]).get(f"/diary/?week={WEEK_START}")
    assert page.status_code == 200
    assert 'data-testid="overdue"' in page.text
    assert "Сочинение по задаче" in page.text
    assert "14.10.2026" in page.text
    assert page.text.count('data-testid="overdue-duty"') == 1
