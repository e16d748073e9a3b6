"""Marks from another school's extract in the school reports and the diary's class average.

A history course of 5А has these quarter 1 marks (01.09–24.10.2026), as mark (weight):

- Anna: journal 5 (1) and 4 (1), extract 3 (2) → (5 + 4 + 6) / 4 = 3.75;
- Maria: extract 4 (1) only → 4;
- Пётр: journal 2 (1) and a duty mark → 2;
- a student who left for 1А: extract 1 (1), which no longer counts.

Anna also has an extract 5 (1) dated in quarter 2, which quarter 1 leaves out. In an
English course of the factory's study group, which contains Anna only, Anna has an extract
5 (1) and Пётр an extract 2 (1), which does not count because he is not in the group.
"""

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from sqlalchemy import event, select

from app.models import (
    Assignment,
    AssignmentType,
    Course,
    Employee,
    Lesson,
    Mark,
    School,
    SchoolClass,
    Student,
    StudyGroup,
    Term,
    TransferredMark,
    db,
)
from app.reports import school as reports
from app.reports import school_student
from app.services.diary_results import diary_results
from tests.factories import add_course_with_lesson, build_extra_school

SUBJECT = "История"
FIRST_QUARTER_WEEK = dt.date(2026, 10, 5)
TODAY = dt.date(2026, 10, 20)


def _extract_mark(sid, student_id, course_id, day, value, weight):
    db.session.add(
        TransferredMark(
            school_id=sid,
            student_id=student_id,
            course_id=course_id,
            date=day,
            value=value,
            weight=Decimal(weight),
            source_school="МБОУ СОШ № 7",
        )
    )


def _journal_assignment(sid, course_id, day, type_id):
    lesson = Lesson(school_id=sid, course_id=course_id, date=day, lesson_number=2)
    db.session.add(lesson)
    db.session.flush()
    assignment = Assignment(
        school_id=sid, lesson_id=lesson.id, type_id=type_id, weight=Decimal(1), text="Работа"
    )
    db.session.add(assignment)
    db.session.flush()
    return assignment


def _journal_mark(sid, assignment, student_id, value=None, kind="number"):
    db.session.add(
        Mark(
            school_id=sid,
            assignment_id=assignment.id,
            student_id=student_id,
            kind=kind,
            value=value,
        )
    )


@pytest.fixture(scope="module")
def school(app, world):
    with app.app_context():
        built = build_extra_school("xr-reports")
        sid = built.school_id
        anna, maria, petr = (
            built.ids["Student"],
            built.ids["SiblingStudent"],
            built.ids["OtherStudent"],
        )
        teacher = db.session.scalar(
            select(Employee).where(Employee.school_id == sid, Employee.position == "teacher")
        )
        history, _lesson = add_course_with_lesson(built, SUBJECT, teachers=[teacher])
        type_id = db.session.scalar(
            select(AssignmentType.id).where(AssignmentType.school_id == sid).limit(1)
        )
        first_grade = db.session.scalar(
            select(SchoolClass).where(SchoolClass.school_id == sid, SchoolClass.name == "1А")
        )
        moved = Student(
            school_id=sid, class_id=first_grade.id, last_name="Ушедший", first_name="Иван", sex="m"
        )
        db.session.add(moved)
        db.session.flush()

        first = _journal_assignment(sid, history.id, dt.date(2026, 10, 5), type_id)
        _journal_mark(sid, first, anna, 5)
        _journal_mark(sid, first, petr, 2)
        second = _journal_assignment(sid, history.id, dt.date(2026, 10, 6), type_id)
        _journal_mark(sid, second, anna, 4)
        _journal_mark(sid, second, petr, kind="duty")
        _extract_mark(sid, anna, history.id, dt.date(2026, 9, 15), 3, "2")
        _extract_mark(sid, maria, history.id, dt.date(2026, 9, 16), 4, "1")
        _extract_mark(sid, moved.id, history.id, dt.date(2026, 9, 16), 1, "1")
        _extract_mark(sid, anna, history.id, dt.date(2026, 11, 10), 5, "1")

        english, _lesson = add_course_with_lesson(built, "Английский язык", teachers=[teacher])
        english.group_id = db.session.scalar(
            select(StudyGroup.id).where(StudyGroup.school_id == sid)
        )
        _extract_mark(sid, anna, english.id, dt.date(2026, 10, 1), 5, "1")
        _extract_mark(sid, petr, english.id, dt.date(2026, 10, 1), 2, "1")
        db.session.commit()

        built.ids["History"] = history.id
        built.ids["FirstQuarter"] = db.session.scalar(
            select(Term.id).where(Term.school_id == sid, Term.kind == "quarter", Term.number == 1)
        )
        built.ids["Class"] = db.session.scalar(
            select(SchoolClass.id).where(SchoolClass.school_id == sid, SchoolClass.name == "5А")
        )
        return built


def _diary_line(student_id, subject=SUBJECT):
    results = diary_results(db.session.get(Student, student_id), FIRST_QUARTER_WEEK, TODAY)
    return next(line for line in results.subjects if line.subject == subject)


def _progress_row(school, student_key):
    student = db.session.get(Student, school.ids[student_key])
    rows = school_student.student_progress(
        student,
        db.session.get(SchoolClass, school.ids["Class"]),
        db.session.get(Term, school.ids["FirstQuarter"]),
    )
    return next(row for row in rows if row.subject == SUBJECT)


def _set_weighting(school, enabled):
    db.session.get(School, school.school_id).weighting_enabled = enabled
    db.session.commit()


def test_diary_class_average_counts_extract(app, school):
    with app.app_context():
        line = _diary_line(school.ids["Student"])
        # Journal 5, 4, 2 and extract 3 (weight 2), 4: (5 + 4 + 2 + 6 + 4) / 6.
        assert line.class_average == Decimal("3.5")
        assert line.average == Decimal("3.75")


def test_diary_extract_only_student(app, school):
    with app.app_context():
        line = _diary_line(school.ids["SiblingStudent"])
        assert line.average == Decimal(4)
        assert line.class_average == Decimal("3.5")


def test_diary_group_average_counts_members(app, school):
    with app.app_context():
        line = _diary_line(school.ids["Student"], "Английский язык")
    assert line.average == Decimal(5)
    assert line.class_average == Decimal(5)


def test_diary_class_average_plain_mean(app, school):
    with app.app_context():
        _set_weighting(school, False)
        try:
            line = _diary_line(school.ids["OtherStudent"])
        finally:
            _set_weighting(school, True)
        # (5 + 4 + 2 + 3 + 4) / 5.
        assert line.class_average == Decimal("3.6")
        assert line.average == Decimal(2)


def test_diary_results_take_five_queries(app, school):
    with app.app_context():
        student = db.session.get(Student, school.ids["Student"])
        # The school and the class are loaded once per request anyway, by the page.
        assert student.school.weighting_enabled
        assert student.school_class.grade == 5
        statements = []

        def count(*_):
            statements.append(1)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            diary_results(student, FIRST_QUARTER_WEEK, TODAY)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    # Courses, terms, final marks, the student's marks, the class's sums.
    assert len(statements) == 5


def test_progress_counts_extract_marks(app, school):
    with app.app_context():
        row = _progress_row(school, "Student")
    assert row.marks == [3, 5, 4]
    assert row.average == Fraction(15, 4)
    # Mean of the students' averages: (3.75 + 4 + 2) / 3.
    assert row.class_average == Fraction(13, 4)


def test_progress_extract_only_student(app, school):
    with app.app_context():
        row = _progress_row(school, "SiblingStudent")
    assert row.marks == [4]
    assert row.average == 4
    assert row.class_average == Fraction(13, 4)


def test_suggested_term_marks_count_extract(app, school):
    with app.app_context():
        results = reports.class_results(
            db.session.get(SchoolClass, school.ids["Class"]),
            db.session.get(Term, school.ids["FirstQuarter"]),
        )
        subject_id = db.session.get(Course, school.ids["History"]).subject_id
    suggested = {
        student_key: results.marks.get((school.ids[student_key], subject_id))
        for student_key in ("Student", "SiblingStudent", "OtherStudent")
    }
    # 3.75 rounds to 4; Maria's extract-only 4 stays 4; Пётр's 2 stays 2.
    assert suggested == {"Student": "4", "SiblingStudent": "4", "OtherStudent": "2"}
    assert (school.ids["SiblingStudent"], subject_id) in results.suggested
