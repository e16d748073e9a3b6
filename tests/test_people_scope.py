"""Row rules inside one school, and working in one organisation at a time.

A parent reaches only their own children and a student only themself; a teacher lists
only the students of classes they teach or lead; a login with memberships in two
schools sees one school at a time and can choose only its own active memberships.
"""

import datetime as dt
import re
from decimal import Decimal

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.models import Course, Guardian, Membership, School, SchoolClass, Student, db
from tests.factories import add_membership, make_user

TWO_SCHOOLS_USER = "secretary_A_and_B"


def diary_url(student_id: int) -> str:
    return f"/diary/?student={student_id}&week=2026-10-05"


@pytest.fixture()
def diary(app):
    """Skip when the diary page is not registered: the parent and student rules live there."""
    if not any(type(view).__name__ == "DiaryView" for view in app.appbuilder.baseviews):
        pytest.skip("DiaryView is not registered yet: parent and student rules are untested")


def listed_student_links(page: str) -> set[int]:
    return {int(pk) for pk in re.findall(r"/students/show/(\d+)", page)}


# --- Parents and students -------------------------------------------------------------------


def test_parent_opens_own_children_only(world, login, diary):
    ids = world["A"].ids
    client = login(world["A"].users["parent"])

    assert client.get(diary_url(ids["Student"])).status_code == 200
    assert client.get(diary_url(ids["SiblingStudent"])).status_code == 200
    assert client.get(diary_url(ids["OtherStudent"])).status_code == 404
    assert client.get(diary_url(world["B"].ids["Student"])).status_code == 404
    assert client.get(diary_url(world["C"].ids["Student"])).status_code == 404


def test_student_opens_own_diary_only(world, login, diary):
    ids = world["A"].ids
    client = login(world["A"].users["student"])

    assert client.get(diary_url(ids["Student"])).status_code == 200
    assert client.get(diary_url(ids["SiblingStudent"])).status_code == 404
    assert client.get(diary_url(ids["OtherStudent"])).status_code == 404
    assert client.get(diary_url(world["B"].ids["Student"])).status_code == 404


def test_parent_and_student_get_no_student_records(world, login):
    for code in ("parent", "student"):
        client = login(world["A"].users[code])
        assert client.get("/students/list/").status_code == 403, code
        assert client.get(f"/api/v1/student/{world['A'].ids['Student']}").status_code == 403, code
        assert client.get(f"/api/v1/mark/{world['A'].ids['Mark']}").status_code == 403, code


@pytest.fixture()
def barred_guardian(app, world):
    """Bar parent_A from the first child for one test, then lift the bar."""

    def set_barred(value: bool) -> None:
        with app.app_context():
            guardian = db.session.get(Guardian, world["A"].ids["Guardian"])
            guardian.is_barred = value
            db.session.commit()

    set_barred(True)
    yield
    set_barred(False)


def test_barred_parent_loses_child(world, login, diary, barred_guardian):
    ids = world["A"].ids
    client = login(world["A"].users["parent"])

    assert client.get(diary_url(ids["Student"])).status_code == 404
    assert client.get(diary_url(ids["SiblingStudent"])).status_code == 200


# --- Teachers ----------------------------------------------------------------------------------


@pytest.fixture()
def extra_classes(app, world):
    """Add two classes to school A, one taught by the teacher and one not.

    Returns the id of one new student in each, by class name.
    """
    school = world["A"]
    created = []
    with app.app_context():
        teacher = _employee_of(school.users["teacher"], school.school_id)
        other_teacher = _employee_of(school.users["principal"], school.school_id)
        students = {}
        for name, grade, course_teacher in (("6Б", 6, teacher), ("7В", 7, other_teacher)):
            school_class = SchoolClass(
                school_id=school.school_id,
                year_id=school.ids["AcademicYear"],
                grade=grade,
                letter=name[-1],
                name=name,
            )
            db.session.add(school_class)
            db.session.flush()
            course = Course(
                school_id=school.school_id,
                year_id=school.ids["AcademicYear"],
                subject_id=school.ids["Subject"],
                class_id=school_class.id,
                hours_per_week=Decimal("2"),
                teachers=[course_teacher],
            )
            student = Student(
                school_id=school.school_id,
                class_id=school_class.id,
                last_name="Новикова",
                first_name=name,
                sex="f",
                birth_date=dt.date(2014, 3, 1),
            )
            db.session.add_all([course, student])
            db.session.flush()
            created += [(Student, student.id), (Course, course.id), (SchoolClass, school_class.id)]
            students[name] = student.id
        db.session.commit()
    yield students
    with app.app_context():
        for model, row_id in created:
            db.session.delete(db.session.get(model, row_id))
        db.session.commit()


def _employee_of(username: str, school_id: int):
    from app.models import Employee

    return db.session.scalar(
        select(Employee)
        .join(User, User.id == Employee.user_id)
        .where(User.username == username, Employee.school_id == school_id)
    )


def test_teacher_lists_taught_students_only(world, login, extra_classes):
    ids = world["A"].ids
    led_class = {ids["Student"], ids["SiblingStudent"], ids["OtherStudent"]}
    taught = extra_classes["6Б"]
    untaught = extra_classes["7В"]
    client = login(world["A"].users["teacher"])

    page = client.get("/students/list/").get_data(as_text=True)
    listed = listed_student_links(page)
    assert led_class <= listed
    assert taught in listed
    assert untaught not in listed

    api_ids = set(client.get("/api/v1/student/?q=(page_size:200)").json["ids"])
    assert led_class <= api_ids
    assert taught in api_ids
    assert untaught not in api_ids

    assert client.get(f"/students/show/{taught}").status_code == 200
    assert client.get(f"/students/show/{untaught}").status_code == 404
    assert client.get(f"/api/v1/student/{untaught}").status_code == 404


def test_teacher_opens_taught_diaries_only(world, login, diary, extra_classes):
    client = login(world["A"].users["teacher"])

    assert client.get(diary_url(extra_classes["6Б"])).status_code == 200
    assert client.get(diary_url(extra_classes["7В"])).status_code == 404


def test_principal_lists_every_student(world, login, extra_classes):
    client = login(world["A"].users["principal"])

    api_ids = set(client.get("/api/v1/student/?q=(page_size:200)").json["ids"])

    assert extra_classes["6Б"] in api_ids
    assert extra_classes["7В"] in api_ids
    assert world["A"].ids["Student"] in api_ids
    assert world["B"].ids["Student"] not in api_ids


# --- One login, two schools ------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_schools(app, world):
    """A secretary working in schools A and B; returns the membership ids by school key."""
    with app.app_context():
        user = make_user(TWO_SCHOOLS_USER)
        memberships = {}
        for key in ("A", "B"):
            school = db.session.get(School, world[key].school_id)
            memberships[key] = add_membership(user, "secretary", school=school).id
        db.session.commit()
    yield memberships
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == TWO_SCHOOLS_USER))
        for membership in db.session.scalars(
            select(Membership).where(Membership.user_id == user.id)
        ):
            db.session.delete(membership)
        db.session.delete(user)
        db.session.commit()


def _student_ids(client) -> set[int]:
    response = client.get("/api/v1/student/?q=(page_size:200)")
    assert response.status_code == 200
    return set(response.json["ids"])


def test_two_school_login_must_choose_first(login, two_schools):
    client = login(TWO_SCHOOLS_USER)

    response = client.get("/students/list/")

    assert response.status_code == 302
    assert "/organisation/choose" in response.location
    assert client.get("/api/v1/student/").status_code == 403


def test_two_school_login_switches_schools(world, login, two_schools):
    client = login(TWO_SCHOOLS_USER, membership_id=two_schools["A"])
    in_a = _student_ids(client)
    page_a = client.get("/students/list/").get_data(as_text=True)

    response = client.post("/organisation/choose", data={"membership_id": two_schools["B"]})
    assert response.status_code == 302
    in_b = _student_ids(client)
    page_b = client.get("/students/list/").get_data(as_text=True)

    assert world["A"].ids["Student"] in in_a
    assert world["B"].ids["Student"] not in in_a
    assert world["B"].ids["Student"] in in_b
    assert world["A"].ids["Student"] not in in_b
    assert world["A"].ids["Student"] in listed_student_links(page_a)
    assert world["B"].ids["Student"] not in listed_student_links(page_a)
    assert world["B"].ids["Student"] in listed_student_links(page_b)
    assert world["A"].ids["Student"] not in listed_student_links(page_b)
    assert client.get(f"/students/show/{world['A'].ids['Student']}").status_code == 404


def _membership_of(app, username: str, school_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(Membership.id)
            .join(User, User.id == Membership.user_id)
            .where(User.username == username, Membership.school_id == school_id)
        )


def test_other_users_membership_cannot_be_chosen(app, world, login, two_schools):
    client = login(TWO_SCHOOLS_USER, membership_id=two_schools["A"])
    foreign = _membership_of(app, world["B"].users["teacher"], world["B"].school_id)

    response = client.post("/organisation/choose", data={"membership_id": foreign})

    assert response.status_code == 404
    assert world["B"].ids["Student"] not in _student_ids(client)


def test_invalid_membership_id_is_not_found(login, two_schools):
    client = login(TWO_SCHOOLS_USER)

    for value in ("", "abc", "-1", "999999"):
        response = client.post("/organisation/choose", data={"membership_id": value})
        assert response.status_code == 404, value


@pytest.fixture()
def blocked_membership(app, two_schools):
    """Block the two-school login's membership in B for one test, then unblock it."""

    def set_active(value: bool) -> None:
        with app.app_context():
            db.session.get(Membership, two_schools["B"]).is_active = value
            db.session.commit()

    yield lambda: set_active(False)
    set_active(True)


def test_blocked_membership_cannot_be_chosen(login, two_schools, blocked_membership):
    client = login(TWO_SCHOOLS_USER, membership_id=two_schools["A"])
    blocked_membership()

    response = client.post("/organisation/choose", data={"membership_id": two_schools["B"]})

    assert response.status_code == 404


def test_blocking_ends_work_in_that_school(world, login, two_schools, blocked_membership):
    client = login(TWO_SCHOOLS_USER, membership_id=two_schools["B"])
    assert world["B"].ids["Student"] in _student_ids(client)

    blocked_membership()

    response = client.get("/students/list/")
    assert response.status_code == 302
    assert "/organisation/choose" in response.location
    assert client.get("/api/v1/student/").status_code == 403
