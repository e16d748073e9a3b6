"""The lesson form: saving marks, attendance, topics and assignments, and rejecting bad input."""

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
    Term,
    db,
)
from tests.factories import add_course_with_lesson, build_extra_school


@pytest.fixture(scope="module")
def school(app, world):
    """A school of its own, so that saved marks do not leak into the shared world."""
    with app.app_context():
        return build_extra_school("J1")


def lesson_ids(app, school):
    with app.app_context():
        lesson = db.session.get(Lesson, school.ids["Lesson"])
        # The first two are the world's test and homework; tests may add more.
        return lesson.id, [a.id for a in lesson.assignments][:2], lesson.course_id


def mark_of(app, assignment_id, student_id):
    with app.app_context():
        return db.session.scalar(
            select(Mark).where(Mark.assignment_id == assignment_id, Mark.student_id == student_id)
        )


def code_id(app, school, code):
    with app.app_context():
        return db.session.scalar(
            select(AttendanceCode.id).where(
                AttendanceCode.school_id == school.school_id, AttendanceCode.code == code
            )
        )


def first_term_id(app, school):
    """Return the first quarter: it contains the test lessons whatever today's date is."""
    with app.app_context():
        return db.session.scalar(
            select(Term.id).where(
                Term.school_id == school.school_id, Term.number == 1, Term.kind == "quarter"
            )
        )


def test_teacher_saves_marks_and_attendance(app, school, login):
    lesson_id, (test_id, homework_id), course_id = lesson_ids(app, school)
    student, other, sibling = (
        school.ids["Student"],
        school.ids["OtherStudent"],
        school.ids["SiblingStudent"],
    )
    client = login(school.users["teacher"])
    page = client.get(f"/journal/lesson/{lesson_id}")
    assert page.status_code == 200
    stored_cell = page.text.split(f'name="mark-{test_id}-{student}"')[1].split(">")[0]
    assert 'value="5"' in stored_cell
    assert "Причина: Б — Болезнь" in page.text

    response = client.post(
        f"/journal/lesson/{lesson_id}",
        data={
            "topic": "Сложение натуральных чисел",
            f"mark-{test_id}-{student}": "5",
            f"mark-{homework_id}-{student}": "3",
            f"mark-{test_id}-{sibling}": "4",
            f"comment-{test_id}-{sibling}": "ошибка в задаче 2",
            f"mark-{homework_id}-{sibling}": ".",
            f"attendance-{other}": str(code_id(app, school, "Н")),
            f"attendance-{sibling}": str(code_id(app, school, "ОП")),
        },
    )
    assert response.status_code == 302

    with app.app_context():
        teacher_user_id = db.session.scalar(
            select(Mark.changed_by_id).where(
                Mark.assignment_id == test_id, Mark.student_id == sibling
            )
        )
        assert teacher_user_id is not None
        lesson = db.session.get(Lesson, lesson_id)
        assert lesson.topic == "Сложение натуральных чисел"
        attendance = {
            a.student_id: a
            for a in db.session.scalars(select(Attendance).where(Attendance.lesson_id == lesson_id))
        }
    assert mark_of(app, test_id, sibling).value == 4
    assert mark_of(app, test_id, sibling).comment == "ошибка в задаче 2"
    assert mark_of(app, homework_id, sibling).kind == "duty"
    assert mark_of(app, homework_id, student).value == 3
    assert attendance[sibling].code.code == "ОП"
    assert attendance[sibling].changed_by_id == teacher_user_id
    # The reason set earlier stays while the code is unchanged.
    assert attendance[other].display() == "Б"

    grid = client.get(f"/journal/course/{course_id}?term={first_term_id(app, school)}")
    assert grid.status_code == 200
    row = grid.text.split(f'data-student="{student}"')[1].split("</tr>")[0]
    # 5 with weight 2 and 3 with weight 1: 13 / 3.
    assert "4,33" in row
    assert "Контрольная работа, вес 2" in row
    assert ">5<" in row
    assert ">3<" in row
    sibling_row = grid.text.split(f'data-student="{sibling}"')[1].split("</tr>")[0]
    assert ">4<" in sibling_row
    assert "•" in sibling_row
    assert "ОП" in sibling_row
    assert "4,00" in sibling_row
    other_row = grid.text.split(f'data-student="{other}"')[1].split("</tr>")[0]
    assert "Б" in other_row
    assert "—" in other_row


def test_empty_value_deletes_mark_and_attendance(app, school, login):
    lesson_id, (test_id, homework_id), _ = lesson_ids(app, school)
    sibling = school.ids["SiblingStudent"]
    client = login(school.users["teacher"])
    client.post(
        f"/journal/lesson/{lesson_id}",
        data={
            f"mark-{test_id}-{sibling}": "2",
            f"attendance-{sibling}": str(code_id(app, school, "Н")),
        },
    )
    assert mark_of(app, test_id, sibling).value == 2

    response = client.post(f"/journal/lesson/{lesson_id}", data={f"mark-{test_id}-{sibling}": ""})
    assert response.status_code == 302
    assert mark_of(app, test_id, sibling) is None
    with app.app_context():
        absent = db.session.scalar(
            select(Attendance).where(
                Attendance.lesson_id == lesson_id, Attendance.student_id == sibling
            )
        )
    assert absent is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", "Отметка «7» недопустима: введите целое число от 1 до 5"),
        ("abc", "Отметка «abc» недопустима"),
        ("зач", "Отметка «зач» недопустима"),
    ],
)
def test_invalid_mark_saves_nothing(app, school, login, value, expected):
    lesson_id, (test_id, homework_id), _ = lesson_ids(app, school)
    student, sibling = school.ids["Student"], school.ids["SiblingStudent"]
    before = mark_of(app, homework_id, student)
    before_value = before.value if before else None
    with app.app_context():
        topic_before = db.session.get(Lesson, lesson_id).topic

    client = login(school.users["teacher"])
    response = client.post(
        f"/journal/lesson/{lesson_id}",
        data={
            "topic": "Тема, которая не должна сохраниться",
            f"mark-{homework_id}-{student}": "2",
            f"mark-{test_id}-{sibling}": value,
        },
    )
    assert response.status_code == 400
    assert expected in response.text.replace("&#34;", '"').replace("&quot;", '"')
    assert "Ничего не сохранено" in response.text
    # The user's input is shown again.
    assert "Тема, которая не должна сохраниться" in response.text
    assert f'value="{value}"' in response.text

    after = mark_of(app, homework_id, student)
    assert (after.value if after else None) == before_value
    with app.app_context():
        assert db.session.get(Lesson, lesson_id).topic == topic_before


def test_new_assignment_takes_type_default_weight(app, school, login):
    lesson_id, _, _ = lesson_ids(app, school)
    with app.app_context():
        test_type = db.session.scalar(
            select(AssignmentType).where(
                AssignmentType.school_id == school.school_id,
                AssignmentType.name == "Контрольная работа",
            )
        )
        type_id = test_type.id
    client = login(school.users["teacher"])
    response = client.post(
        f"/journal/lesson/{lesson_id}",
        data={"new_type": str(type_id), "new_text": "Самостоятельная работа", "new_due": ""},
    )
    assert response.status_code == 302
    with app.app_context():
        added = db.session.scalar(
            select(Assignment).where(
                Assignment.lesson_id == lesson_id, Assignment.text == "Самостоятельная работа"
            )
        )
        assert added.weight == Decimal("2")
        assert added.school_id == school.school_id


def test_new_assignment_rejects_bad_weight_and_date(app, school, login):
    lesson_id, _, _ = lesson_ids(app, school)
    with app.app_context():
        type_id = db.session.scalar(
            select(AssignmentType.id).where(AssignmentType.school_id == school.school_id)
        )
    client = login(school.users["teacher"])
    response = client.post(
        f"/journal/lesson/{lesson_id}",
        data={"new_type": str(type_id), "new_weight": "heavy", "new_text": "Тест весов"},
    )
    assert response.status_code == 400
    assert "Вес «heavy» недопустим" in response.text
    response = client.post(
        f"/journal/lesson/{lesson_id}",
        data={"new_type": str(type_id), "new_due": "31.31.2026", "new_text": "Тест дат"},
    )
    assert response.status_code == 400
    assert "31.31.2026" in response.text
    with app.app_context():
        texts = db.session.scalars(select(Assignment.text).where(Assignment.lesson_id == lesson_id))
        assert not {"Тест весов", "Тест дат"} & set(texts)


def test_new_assignment_type_of_other_school_rejected(app, world, school, login):
    lesson_id, _, _ = lesson_ids(app, school)
    with app.app_context():
        foreign_type = db.session.scalar(
            select(AssignmentType.id).where(AssignmentType.school_id == world["B"].school_id)
        )
    client = login(school.users["teacher"])
    response = client.post(
        f"/journal/lesson/{lesson_id}",
        data={"new_type": str(foreign_type), "new_text": "Чужой тип"},
    )
    assert response.status_code == 400
    assert "Выберите тип нового задания" in response.text


def test_first_grade_marks_are_refused(app, school, login):
    with app.app_context():
        teacher = db.session.scalar(
            select(Employee).where(
                Employee.school_id == school.school_id, Employee.position == "teacher"
            )
        )
        course, lesson = add_course_with_lesson(
            school, "Окружающий мир", class_name="1А", teachers=[teacher]
        )
        homework_type = db.session.scalar(
            select(AssignmentType).where(
                AssignmentType.school_id == school.school_id, AssignmentType.is_homework.is_(True)
            )
        )
        db.session.add(
            Assignment(
                school_id=school.school_id,
                lesson_id=lesson.id,
                type_id=homework_type.id,
                weight=Decimal("1"),
                text="Рисунок",
            )
        )
        first_grader = _add_student(school, course.class_id)
        db.session.commit()
        lesson_id, assignment_id, course_id = lesson.id, lesson.assignments[0].id, course.id
        assert not course.gives_marks

    client = login(school.users["teacher"])
    page = client.get(f"/journal/course/{course_id}?term={first_term_id(app, school)}")
    assert page.status_code == 200
    assert "По этому предмету отметки не ставятся" in page.text
    assert 'data-testid="average"' not in page.text

    response = client.post(
        f"/journal/lesson/{lesson_id}",
        data={f"mark-{assignment_id}-{first_grader}": "5", "topic": "Времена года"},
    )
    assert response.status_code == 400
    assert "отметки не ставятся" in response.text
    assert mark_of(app, assignment_id, first_grader) is None

    # Topics and attendance are still kept.
    response = client.post(
        f"/journal/lesson/{lesson_id}",
        data={
            "topic": "Времена года",
            f"attendance-{first_grader}": str(code_id(app, school, "Н")),
        },
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Lesson, lesson_id).topic == "Времена года"


def _add_student(school, class_id) -> int:
    student = Student(
        school_id=school.school_id,
        class_id=class_id,
        last_name="Первоклассник",
        first_name="Иван",
        sex="m",
    )
    db.session.add(student)
    db.session.flush()
    return student.id


def test_principal_corrects_mark(app, school, login):
    lesson_id, (test_id, _), _ = lesson_ids(app, school)
    other = school.ids["OtherStudent"]
    client = login(school.users["principal"])
    response = client.post(f"/journal/lesson/{lesson_id}", data={f"mark-{test_id}-{other}": "4"})
    assert response.status_code == 302
    assert mark_of(app, test_id, other).value == 4


def test_grid_shows_term_mark_and_terms(app, school, login):
    _, _, course_id = lesson_ids(app, school)
    client = login(school.users["teacher"])
    with app.app_context():
        first = db.session.scalar(
            select(Term).where(
                Term.school_id == school.school_id, Term.number == 1, Term.kind == "quarter"
            )
        )
        second = db.session.scalar(
            select(Term).where(
                Term.school_id == school.school_id, Term.number == 2, Term.kind == "quarter"
            )
        )
        first_id, second_id = first.id, second.id
    page = client.get(f"/journal/course/{course_id}?term={first_id}")
    student_row = page.text.split(f'data-student="{school.ids["Student"]}"')[1].split("</tr>")[0]
    assert 'data-testid="term-mark">5<' in student_row
    assert "2 четверть" in page.text
    empty = client.get(f"/journal/course/{course_id}?term={second_id}")
    assert empty.status_code == 200
    assert 'data-testid="no-lessons"' in empty.text
    assert client.get(f"/journal/course/{course_id}?term=999999").status_code == 404


def test_lesson_date_defaults_term(app, school):
    from app.services.journal import default_term

    class FakeTerm:
        def __init__(self, start, end):
            self.start_date, self.end_date = start, end

    terms = [
        FakeTerm(dt.date(2026, 9, 1), dt.date(2026, 10, 24)),
        FakeTerm(dt.date(2026, 11, 3), dt.date(2026, 12, 28)),
    ]
    assert default_term(terms, dt.date(2026, 10, 1)) is terms[0]
    assert default_term(terms, dt.date(2026, 11, 10)) is terms[1]
    assert default_term(terms, dt.date(2026, 10, 30)) is terms[1]
    assert default_term([], dt.date(2026, 10, 30)) is None
