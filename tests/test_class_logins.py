"""Logins of a class: bulk creation with a login sheet, resets and contacts by class teachers."""

import base64
import html
import io
import itertools
import re

import openpyxl
import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.models import Guardian, LoginState, Membership, School, SchoolClass, Student, db
from app.security.roles import ROLES
from tests.factories import add_membership, add_teacher, build_extra_school

_school_numbers = itertools.count(1)


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture()
def school(app, world):
    """A school of its own whose class 5А has students and parents without logins.

    5А has the factory's student (with a login) and two students without one. The fixture
    adds a third student, a mother of two of them with identical rows, and a barred father.
    """
    with app.app_context():
        built = build_extra_school(f"CL{next(_school_numbers):02d}")
        sid = built.school_id
        five_a = db.session.scalars(
            select(SchoolClass).where(SchoolClass.school_id == sid, SchoolClass.name == "5А")
        ).one()
        other = db.session.get(Student, built.ids["OtherStudent"])
        third = Student(
            school_id=sid, class_id=five_a.id, last_name="Другая", first_name="Вера", sex="f"
        )
        db.session.add(third)
        db.session.flush()
        for child in (other, third):
            db.session.add(
                Guardian(
                    school_id=sid,
                    student_id=child.id,
                    last_name="Другая",
                    first_name="Мария",
                    middle_name="Ивановна",
                    phone="+7 900 000-00-01",
                    kind="mother",
                )
            )
        db.session.add(
            Guardian(
                school_id=sid,
                student_id=other.id,
                last_name="Другой",
                first_name="Иван",
                kind="father",
                is_barred=True,
            )
        )
        five_b = SchoolClass(school_id=sid, year_id=five_a.year_id, grade=5, letter="Б", name="5Б")
        db.session.add(five_b)
        db.session.flush()
        teacher_b = add_teacher(built, f"teacher_b_{sid}")
        five_b.class_teacher_id = teacher_b.id
        db.session.commit()
        built.ids["5А"] = five_a.id
        built.ids["5Б"] = five_b.id
        built.ids["ThirdStudent"] = third.id
        built.users["teacher_b"] = f"teacher_b_{sid}"
        return built


def _people_logins(app, school_id, class_id):
    """Return {(kind, person id): user id} for the active students and parents of a class."""
    with app.app_context():
        students = db.session.scalars(
            select(Student).where(Student.school_id == school_id, Student.class_id == class_id)
        ).all()
        result = {("student", s.id): s.user_id for s in students}
        for student in students:
            for guardian in student.guardians:
                result[("guardian", guardian.id)] = guardian.user_id
        return result


def _create(client, class_id):
    return client.post(f"/class-logins/{class_id}/logins")


def _slips(page):
    names = re.findall(r'data-testid="slip-name">([^<]+)<', page)
    roles = re.findall(r'data-testid="slip-role">([^<]+)<', page)
    usernames = re.findall(r'data-testid="slip-username">([^<]+)<', page)
    passwords = re.findall(r'data-testid="slip-password">([^<]+)<', page)
    return list(zip(names, roles, usernames, passwords, strict=True))


# --- Bulk creation --------------------------------------------------------------------


def test_bulk_creates_missing_logins(app, school, login):
    admin = login(school.users["school_admin"])
    class_id = school.ids["5А"]

    response = _create(admin, class_id)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    slips = _slips(_page(response))
    roles = sorted(role for _name, role, _user, _password in slips)
    assert roles == ["Родитель", "Учащийся", "Учащийся", "Учащийся"]

    logins = _people_logins(app, school.school_id, class_id)
    with app.app_context():
        barred = db.session.scalars(select(Guardian).where(Guardian.is_barred.is_(True))).all()
    barred_ids = {g.id for g in barred}
    for (kind, person_id), user_id in logins.items():
        if kind == "guardian" and person_id in barred_ids:
            assert user_id is None, "a barred parent got a login"
        else:
            assert user_id is not None, f"{kind} {person_id} has no login"


def test_bulk_gives_right_roles_and_flags(app, school, login):
    admin = login(school.users["school_admin"])
    slips = _slips(_page(_create(admin, school.ids["5А"])))
    with app.app_context():
        for _name, _role, username, _password in slips:
            user = db.session.scalars(select(User).where(User.username == username)).one()
            membership = db.session.scalars(
                select(Membership).where(Membership.user_id == user.id)
            ).one()
            codes = {role.name for role in membership.roles}
            assert membership.school_id == school.school_id
            assert codes <= {ROLES["student"].name, ROLES["parent"].name}
            assert db.session.get(LoginState, user.id).must_change_password is True
            assert user.email.endswith(".invalid")


def test_bulk_one_login_per_parent(app, school, login):
    admin = login(school.users["school_admin"])
    _create(admin, school.ids["5А"])
    with app.app_context():
        mothers = db.session.scalars(
            select(Guardian).where(
                Guardian.school_id == school.school_id, Guardian.first_name == "Мария"
            )
        ).all()
        assert len(mothers) == 2
        assert mothers[0].user_id is not None
        assert mothers[0].user_id == mothers[1].user_id


def test_bulk_second_run_creates_nothing(app, school, login):
    admin = login(school.users["school_admin"])
    class_id = school.ids["5А"]
    _create(admin, class_id)
    with app.app_context():
        users_before = db.session.scalar(select(db.func.count(User.id)))

    response = _create(admin, class_id)

    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(db.func.count(User.id))) == users_before


def test_sheet_passwords_sign_in(app, school, login):
    admin = login(school.users["school_admin"])
    slips = _slips(_page(_create(admin, school.ids["5А"])))
    _name, _role, username, password = slips[0]
    client = app.test_client()
    response = client.post("/login/", data={"username": username, "password": password})
    assert response.status_code == 302
    assert "/login" not in response.location
    assert client.get("/").location.endswith("/account/password/")


def test_sheet_not_readable_later(app, school, login):
    admin = login(school.users["school_admin"])
    class_id = school.ids["5А"]
    slips = _slips(_page(_create(admin, class_id)))
    page = _page(admin.get(f"/class-logins/{class_id}"))
    for _name, _role, username, password in slips:
        assert username in page
        assert password not in page


def test_sheet_xlsx_reads_back(app, school, login):
    admin = login(school.users["school_admin"])
    page = _page(_create(admin, school.ids["5А"]))
    slips = _slips(page)
    href = re.search(r'href="data:[^;]+;base64,([^"]+)"', page).group(1)

    workbook = openpyxl.load_workbook(io.BytesIO(base64.b64decode(href)))
    sheet = workbook.active
    header = [cell.value for cell in sheet[3]]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=4)]

    assert header == ["Класс", "ФИО", "Роль", "Логин", "Начальный пароль", "Адрес сайта"]
    assert len(rows) == len(slips)
    assert {(row[3], row[4]) for row in rows} == {(s[2], s[3]) for s in slips}
    assert {row[0] for row in rows} == {"5А"}
    assert {row[5] for row in rows} == {"https://school.example.test"}


def test_other_school_class_is_404(app, school, world, login):
    admin = login(school.users["school_admin"])
    with app.app_context():
        foreign = db.session.scalars(
            select(SchoolClass.id).where(SchoolClass.school_id == world["A"].school_id)
        ).first()
    assert admin.get(f"/class-logins/{foreign}").status_code == 404
    assert _create(admin, foreign).status_code == 404


def test_class_teacher_creates_own_class(app, school, login):
    teacher = login(school.users["teacher"])
    response = _create(teacher, school.ids["5А"])
    assert response.status_code == 200
    assert len(_slips(_page(response))) == 4


def test_class_teacher_of_other_class_gets_404(app, school, login):
    teacher_b = login(school.users["teacher_b"])
    class_id = school.ids["5А"]
    assert teacher_b.get(f"/class-logins/{class_id}").status_code == 404
    assert _create(teacher_b, class_id).status_code == 404
    assert teacher_b.get(f"/class-logins/{school.ids['5Б']}").status_code == 200
    logins = _people_logins(app, school.school_id, class_id)
    assert logins[("student", school.ids["OtherStudent"])] is None


def test_setting_off_closes_class_teacher(app, school, login):
    with app.app_context():
        db.session.get(School, school.school_id).class_teachers_manage_logins = False
        db.session.commit()
    teacher = login(school.users["teacher"])
    class_id = school.ids["5А"]
    assert teacher.get(f"/class-logins/{class_id}").status_code == 404
    assert _create(teacher, class_id).status_code == 404
    admin = login(school.users["school_admin"])
    assert admin.get(f"/class-logins/{class_id}").status_code == 200


def test_other_roles_have_no_access(app, school, login):
    for code in ("secretary", "medical", "psychologist"):
        client = login(school.users[code])
        assert client.get(f"/class-logins/{school.ids['5А']}").status_code == 403, code


def test_class_list_shows_own_classes_only(app, school, login):
    page = _page(login(school.users["teacher"]).get("/class-logins/"))
    assert f'data-testid="class-{school.ids["5А"]}"' in page
    assert f'data-testid="class-{school.ids["5Б"]}"' not in page
    admin_page = _page(login(school.users["school_admin"]).get("/class-logins/"))
    assert f'data-testid="class-{school.ids["5Б"]}"' in admin_page


# --- One person -----------------------------------------------------------------------


def test_class_teacher_resets_student_password(app, school, login):
    teacher = login(school.users["teacher"])
    student_id = school.ids["Student"]
    response = teacher.post(f"/class-logins/{school.ids['5А']}/students/{student_id}/password")
    assert response.status_code == 200
    slips = _slips(_page(response))
    assert len(slips) == 1
    assert slips[0][2] == school.users["student"]
    client = app.test_client()
    signed = client.post("/login/", data={"username": slips[0][2], "password": slips[0][3]})
    assert "/login" not in signed.location


def test_reset_of_other_class_person_is_404(app, school, login):
    teacher_b = login(school.users["teacher_b"])
    student_id = school.ids["Student"]
    own_class = school.ids["5Б"]
    url = f"/class-logins/{own_class}/students/{student_id}/password"
    assert teacher_b.post(url).status_code == 404
    assert (
        teacher_b.get(f"/class-logins/{own_class}/students/{student_id}/contacts").status_code
        == 404
    )


def test_reset_of_staff_parent_refused(app, school, login):
    with app.app_context():
        guardian = db.session.get(Guardian, school.ids["Guardian"])
        user = db.session.get(User, guardian.user_id)
        add_membership(user, "secretary", school=db.session.get(School, school.school_id))
        db.session.commit()
        hash_before = user.password
    teacher = login(school.users["teacher"])
    url = f"/class-logins/{school.ids['5А']}/guardians/{school.ids['Guardian']}/password"
    response = teacher.post(url, follow_redirects=True)
    assert "администратор системы" in _page(response)
    with app.app_context():
        assert db.session.get(User, user.id).password == hash_before


def test_class_teacher_edits_parent_contacts(app, school, login):
    teacher = login(school.users["teacher"])
    url = f"/class-logins/{school.ids['5А']}/guardians/{school.ids['Guardian']}/contacts"
    assert teacher.get(url).status_code == 200
    response = teacher.post(url, data={"phone": "+7 912 345-67-89", "email": "olga@example.ru"})
    assert response.status_code == 302
    with app.app_context():
        guardian = db.session.get(Guardian, school.ids["Guardian"])
        assert guardian.phone == "+7 912 345-67-89"
        assert guardian.email == "olga@example.ru"
        assert db.session.get(User, guardian.user_id).email == "olga@example.ru"


def test_invalid_phone_shows_message(app, school, login):
    teacher = login(school.users["teacher"])
    url = f"/class-logins/{school.ids['5А']}/guardians/{school.ids['Guardian']}/contacts"
    response = teacher.post(url, data={"phone": "call me", "email": ""})
    assert response.status_code == 400
    assert "Номер телефона call me неверен" in _page(response)
    with app.app_context():
        assert db.session.get(Guardian, school.ids["Guardian"]).phone is None


def test_student_contacts_set_login_email(app, school, login):
    teacher = login(school.users["teacher"])
    url = f"/class-logins/{school.ids['5А']}/students/{school.ids['Student']}/contacts"
    response = teacher.post(url, data={"email": "anna@example.ru"})
    assert response.status_code == 302
    with app.app_context():
        student = db.session.get(Student, school.ids["Student"])
        assert db.session.get(User, student.user_id).email == "anna@example.ru"
