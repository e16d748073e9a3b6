"""Who may open and change which course and lesson of the journal."""

import pytest
from sqlalchemy import select

from app.models import Employee, Lesson, Mark, db
from tests.factories import add_course_with_lesson, add_teacher, build_extra_school


@pytest.fixture(scope="module")
def school(app, world):
    """A school with a second teacher's course and a lesson the first teacher substitutes."""
    with app.app_context():
        built = build_extra_school("J2")
        colleague = add_teacher(built, "colleague_J2")
        course, lesson = add_course_with_lesson(built, "Физика", teachers=[colleague])
        _, substituted = add_course_with_lesson(
            built, "Химия", teachers=[colleague], lesson_number=4
        )
        teacher = db.session.scalar(
            select(Employee).where(
                Employee.school_id == built.school_id, Employee.position == "teacher"
            )
        )
        substituted.substitute_id = teacher.id
        built.ids["ColleagueCourse"] = course.id
        built.ids["ColleagueLesson"] = lesson.id
        built.ids["SubstitutedLesson"] = substituted.id
        built.ids["SubstitutedCourse"] = substituted.course_id
        db.session.commit()
        return built


def test_teacher_lists_own_and_substituted_courses(school, login):
    page = login(school.users["teacher"]).get("/journal/")
    assert page.status_code == 200
    assert f"/journal/course/{school.ids['Course']}" in page.text
    assert f"/journal/course/{school.ids['SubstitutedCourse']}" in page.text
    assert f'/journal/course/{school.ids["ColleagueCourse"]}"' not in page.text


def test_teacher_gets_404_for_colleague_course(school, login):
    client = login(school.users["teacher"])
    assert client.get(f"/journal/course/{school.ids['ColleagueCourse']}").status_code == 404
    assert client.get(f"/journal/lesson/{school.ids['ColleagueLesson']}").status_code == 404
    response = client.post(f"/journal/lesson/{school.ids['ColleagueLesson']}", data={"topic": "x"})
    assert response.status_code == 404


def test_teacher_gets_404_for_other_school(world, school, login):
    client = login(school.users["teacher"])
    other = world["B"]
    assert client.get(f"/journal/course/{other.ids['Course']}").status_code == 404
    assert client.get(f"/journal/lesson/{other.ids['Lesson']}").status_code == 404
    response = client.post(
        f"/journal/lesson/{other.ids['Lesson']}",
        data={f"mark-{other.ids['Assignment']}-{other.ids['Student']}": "2"},
    )
    assert response.status_code == 404


def test_other_school_mark_unchanged_after_attempt(app, world, school, login):
    other = world["B"]
    login(school.users["teacher"]).post(
        f"/journal/lesson/{other.ids['Lesson']}",
        data={f"mark-{other.ids['Assignment']}-{other.ids['Student']}": "2"},
    )
    with app.app_context():
        value = db.session.scalar(
            select(Mark.value).where(
                Mark.assignment_id == other.ids["Assignment"],
                Mark.student_id == other.ids["Student"],
            )
        )
    assert value == 5


def test_substitute_writes_the_lesson(app, school, login):
    client = login(school.users["teacher"])
    lesson_id = school.ids["SubstitutedLesson"]
    page = client.get(f"/journal/lesson/{lesson_id}")
    assert page.status_code == 200
    assert 'data-testid="read-only"' not in page.text
    response = client.post(f"/journal/lesson/{lesson_id}", data={"topic": "Замена: оксиды"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Lesson, lesson_id).topic == "Замена: оксиды"


def test_substitute_reads_course_grid_only(school, login):
    client = login(school.users["teacher"])
    page = client.get(f"/journal/course/{school.ids['SubstitutedCourse']}")
    assert page.status_code == 200
    assert 'data-testid="read-only"' in page.text


def test_principal_opens_every_course(school, login):
    client = login(school.users["principal"])
    listing = client.get("/journal/")
    for key in ("Course", "ColleagueCourse", "SubstitutedCourse"):
        assert f"/journal/course/{school.ids[key]}" in listing.text
    page = client.get(f"/journal/course/{school.ids['ColleagueCourse']}")
    assert page.status_code == 200
    assert 'data-testid="read-only"' not in page.text


def test_principal_gets_404_for_other_school(world, school, login):
    client = login(school.users["principal"])
    assert client.get(f"/journal/course/{world['B'].ids['Course']}").status_code == 404


@pytest.mark.parametrize("role", ["student", "parent", "secretary", "hr"])
def test_roles_without_journal_get_403(school, login, role):
    client = login(school.users[role])
    assert client.get("/journal/").status_code == 403
    assert client.get(f"/journal/course/{school.ids['Course']}").status_code == 403


def test_menu_shows_journal_and_diary(school, login):
    teacher_page = login(school.users["teacher"]).get("/")
    assert "/journal/" in teacher_page.text
    parent_page = login(school.users["parent"]).get("/")
    assert "/diary/" in parent_page.text
    assert '/journal/"' not in parent_page.text
