"""The diary's results block: term and year marks, the student's and the class average."""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from app.models import (
    Assignment,
    AssignmentType,
    Employee,
    FinalMark,
    Lesson,
    Mark,
    School,
    SchoolClass,
    Student,
    StudyGroup,
    db,
)
from app.services.diary_results import diary_results
from tests.factories import WEEK_START, add_course_with_lesson, build_extra_school

TODAY = dt.date(2026, 10, 20)
#: A week of quarter 2 (03.11–28.12.2026).
SECOND_QUARTER_WEEK = dt.date(2026, 11, 9)
#: A week of the autumn vacation, between quarters 1 and 2.
VACATION_WEEK = dt.date(2026, 10, 26)


def _mark(sid, assignment, student_id, value=None, kind="number"):
    db.session.add(
        Mark(
            school_id=sid,
            assignment_id=assignment.id,
            student_id=student_id,
            kind=kind,
            value=value,
        )
    )


def _lesson_with_assignment(sid, course_id, day, type_id, weight, text="Работа"):
    lesson = Lesson(school_id=sid, course_id=course_id, date=day, lesson_number=1)
    db.session.add(lesson)
    db.session.flush()
    assignment = Assignment(
        school_id=sid, lesson_id=lesson.id, type_id=type_id, weight=Decimal(weight), text=text
    )
    db.session.add(assignment)
    db.session.flush()
    return assignment


@pytest.fixture(scope="module")
def school(app, world):
    """Marks of three classmates in maths, a group course, a pass/fail course and a club.

    Maths marks in quarter 1, as mark (weight):

    - Anna 5 (2), 3 (0.5), 4 (1.5);
    - Maria 4 (0.5) and a duty mark;
    - Пётр 2 (0.5), 5 (1.5);
    - a student who left for 1А: 1 (1), which no longer counts.

    Anna also has a 2 (1) in quarter 2.
    """
    with app.app_context():
        built = build_extra_school("DR")
        sid = built.school_id
        anna, maria, petr = (
            built.ids["Student"],
            built.ids["SiblingStudent"],
            built.ids["OtherStudent"],
        )
        maths_id = db.session.get(Lesson, built.ids["Lesson"]).course_id
        type_id = db.session.scalar(
            select(AssignmentType.id).where(
                AssignmentType.school_id == sid, AssignmentType.name == "Контрольная работа"
            )
        )
        first_grade = db.session.scalar(
            select(SchoolClass).where(SchoolClass.school_id == sid, SchoolClass.name == "1А")
        )
        moved = Student(
            school_id=sid, class_id=first_grade.id, last_name="Ушедший", first_name="Иван", sex="m"
        )
        db.session.add(moved)
        db.session.flush()

        short = _lesson_with_assignment(sid, maths_id, dt.date(2026, 10, 6), type_id, "0.5")
        _mark(sid, short, anna, 3)
        _mark(sid, short, maria, 4)
        _mark(sid, short, petr, 2)
        _mark(sid, short, moved.id, 1)
        long = _lesson_with_assignment(sid, maths_id, dt.date(2026, 10, 7), type_id, "1.5")
        _mark(sid, long, anna, 4)
        _mark(sid, long, petr, 5)
        _mark(sid, long, maria, kind="duty")
        later = _lesson_with_assignment(sid, maths_id, dt.date(2026, 11, 10), type_id, "1")
        _mark(sid, later, anna, 2)
        db.session.add(
            FinalMark(school_id=sid, student_id=anna, course_id=maths_id, kind="year", value="5")
        )

        teacher = db.session.scalar(
            select(Employee).where(Employee.school_id == sid, Employee.position == "teacher")
        )
        english, _ = add_course_with_lesson(built, "Английский язык", teachers=[teacher])
        # The group contains Anna only, so Пётр's mark in its lessons does not count.
        english.group_id = db.session.scalar(
            select(StudyGroup.id).where(StudyGroup.school_id == sid)
        )
        spoken = _lesson_with_assignment(sid, english.id, dt.date(2026, 10, 8), type_id, "1")
        _mark(sid, spoken, anna, 4)
        _mark(sid, spoken, petr, 2)

        add_course_with_lesson(built, "Физкультура", teachers=[teacher], assessment="pass_fail")
        add_course_with_lesson(built, "Шахматы", teachers=[teacher], kind="extracurricular")
        add_course_with_lesson(built, "Окружающий мир", class_name="1А", teachers=[teacher])
        db.session.commit()
        return built


def results_of(app, student_id, week=WEEK_START):
    with app.app_context():
        return diary_results(db.session.get(Student, student_id), week, TODAY)


def line_of(results, subject):
    return next(line for line in results.subjects if line.subject == subject)


def test_results_list_marked_courses_by_name(app, school):
    results = results_of(app, school.ids["Student"])
    assert [line.subject for line in results.subjects] == [
        "Английский язык",
        "Математика",
        "Физкультура",
    ]
    assert [term.name for term in results.terms] == [
        "1 четверть",
        "2 четверть",
        "3 четверть",
        "4 четверть",
    ]
    assert results.average_term.name == "1 четверть"


def test_results_student_average_is_weighted(app, school):
    maths = line_of(results_of(app, school.ids["Student"]), "Математика")
    # (5 × 2 + 3 × 0.5 + 4 × 1.5) / 4 = 4.375
    assert maths.average == Decimal("4.375")


def test_class_average_pools_current_students_marks(app, school):
    maths = line_of(results_of(app, school.ids["Student"]), "Математика")
    # (10 + 1.5 + 6 + 2 + 1 + 7.5) / (2 + 0.5 + 1.5 + 0.5 + 0.5 + 1.5) = 28 / 6.5;
    # the mean of the three students' averages would be 4.21.
    assert maths.class_average == Decimal(28) / Decimal("6.5")
    assert maths.class_average.quantize(Decimal("0.01")) == Decimal("4.31")


def test_class_average_is_the_same_for_classmates(app, school):
    anna = line_of(results_of(app, school.ids["Student"]), "Математика")
    petr = line_of(results_of(app, school.ids["OtherStudent"]), "Математика")
    assert petr.class_average == anna.class_average
    # (2 × 0.5 + 5 × 1.5) / 2 = 4.25
    assert petr.average == Decimal("4.25")


def test_group_class_average_counts_group_members(app, school):
    english = line_of(results_of(app, school.ids["Student"]), "Английский язык")
    assert english.average == Decimal(4)
    assert english.class_average == Decimal(4)


def test_group_course_hidden_from_non_members(app, school):
    subjects = [line.subject for line in results_of(app, school.ids["OtherStudent"]).subjects]
    assert subjects == ["Математика", "Физкультура"]


def test_pass_fail_course_has_no_averages(app, school):
    line = line_of(results_of(app, school.ids["Student"]), "Физкультура")
    assert line.average is None
    assert line.class_average is None
    assert line.average_text == "—"


def test_term_and_year_marks(app, school):
    results = results_of(app, school.ids["Student"])
    maths = line_of(results, "Математика")
    first_term = results.terms[0]
    assert maths.term_marks == {first_term.id: "5"}
    assert maths.year_mark == "5"
    assert line_of(results, "Английский язык").year_mark is None


def test_week_of_second_term_shows_its_averages(app, school):
    results = results_of(app, school.ids["Student"], SECOND_QUARTER_WEEK)
    assert results.average_term.name == "2 четверть"
    maths = line_of(results, "Математика")
    assert maths.average == Decimal(2)
    assert maths.class_average == Decimal(2)
    assert line_of(results, "Английский язык").average is None


def test_vacation_week_shows_term_of_today(app, school):
    results = results_of(app, school.ids["Student"], VACATION_WEEK)
    assert results.average_term.name == "1 четверть"


def test_plain_means_when_weighting_is_off(app, school):
    with app.app_context():
        db.session.get(School, school.school_id).weighting_enabled = False
        db.session.commit()
    try:
        maths = line_of(results_of(app, school.ids["Student"]), "Математика")
        # (5 + 3 + 4) / 3 and (5 + 3 + 4 + 4 + 2 + 5) / 6
        assert maths.average == Decimal(4)
        assert maths.class_average == Decimal(23) / Decimal(6)
    finally:
        with app.app_context():
            db.session.get(School, school.school_id).weighting_enabled = True
            db.session.commit()


def test_first_grade_has_no_results(app, school):
    # Grade 1 is taught without marks, so its course gives no line.
    with app.app_context():
        first_grader = db.session.scalar(
            select(Student).where(
                Student.school_id == school.school_id, Student.last_name == "Ушедший"
            )
        )
        assert diary_results(first_grader, WEEK_START, TODAY) is None


def test_results_take_five_queries(app, school):
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
            diary_results(student, WEEK_START, TODAY)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    # Courses, terms, final marks, the student's marks, the class's sums.
    assert len(statements) == 5


def test_page_shows_results_block(school, login):
    page = login(school.users["parent"]).get(f"/diary/?week={WEEK_START}")
    assert page.status_code == 200
    assert 'data-testid="results"' in page.text
    assert page.text.count('data-testid="results-subject"') == 3
    assert '<td data-testid="average">4,38</td>' in page.text
    assert '<td data-testid="class-average">4,31</td>' in page.text
    assert '<td data-testid="year-mark">5</td>' in page.text
