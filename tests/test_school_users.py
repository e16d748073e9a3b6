"""The school administrator's user management: own school only, school roles only."""

import re

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.models import EducationAuthority, Employee, Guardian, Membership, School, Student, db
from app.security.roles import ROLES
from tests.factories import TEST_PASSWORD, add_membership, build_school_under, make_user


class Lookup:
    """Database checks, each in an app context of its own.

    Requests made inside an app context that a test keeps open share its ``g``, where the session's
    scope is cached, so no check keeps a context open around requests.
    """

    def __init__(self, app):
        self.app = app

    def run(self, query):
        with self.app.app_context():
            return query(db.session)

    def membership(self, username, school_id):
        statement = (
            select(Membership.id)
            .join(User, User.id == Membership.user_id)
            .where(User.username == username, Membership.school_id == school_id)
        )
        return self.run(lambda session: session.scalar(statement))

    def role(self, code):
        def find(_session):
            return self.app.appbuilder.sm.find_role(ROLES[code].name).id

        return self.run(find)

    def user(self, username):
        """Return (user id, e-mail, server role count) of a login, or None."""

        def find(session):
            user = session.scalars(select(User).where(User.username == username)).first()
            return None if user is None else (user.id, user.email, len(user.roles))

        return self.run(find)

    def membership_state(self, membership_id):
        """Return (is_active, sorted role ids) of a membership."""

        def find(session):
            membership = session.get(Membership, membership_id)
            return membership.is_active, sorted(role.id for role in membership.roles)

        return self.run(find)


@pytest.fixture()
def lookup(app):
    return Lookup(app)


def _password_on(page):
    match = re.search(r'data-testid="new-password">([^<]+)<', page)
    assert match, "the page shows no password"
    return match.group(1)


@pytest.fixture(scope="module")
def school(app, world):
    """A school of its own, so that creating logins and blocking leave the world alone."""
    with app.app_context():
        # Under an authority of its own: the first authority's reports count its schools.
        authority = EducationAuthority(name="Управление школы U", short_name="УО-U")
        db.session.add(authority)
        db.session.commit()
        built = build_school_under("U", authority.id)
        employee = Employee(
            school_id=built.school_id, last_name="Новикова", first_name="Ирина", position="Учитель"
        )
        guardian = Guardian(
            school_id=built.school_id,
            student_id=built.ids["OtherStudent"],
            last_name="Другая",
            first_name="Анна",
            kind="mother",
        )
        db.session.add_all([employee, guardian])
        db.session.commit()
        built.ids["NewEmployee"] = employee.id
        built.ids["NewGuardian"] = guardian.id
        # A teacher of school U who also works in school B.
        both = make_user("teacher_u_and_b")
        add_membership(both, "teacher", school=db.session.get(School, built.school_id))
        add_membership(both, "teacher", school=db.session.get(School, world["B"].school_id))
        db.session.commit()
        return built


def test_list_shows_own_school_only(world, login):
    client = login(world["A"].users["school_admin"])
    response = client.get("/school-users/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "teacher_A" in page
    assert "Сотрудник teacher" in page
    assert "teacher_B" not in page
    assert "principal_C" not in page


def test_server_admin_outside_school_is_sent_to_list(world, login, lookup):
    membership = lookup.membership(world["A"].users["teacher"], world["A"].school_id)
    client = login(world.users["server_admin"])
    response = client.get(f"/school-users/{membership}", follow_redirects=True)
    assert response.status_code == 200
    assert "Сначала откройте школу" in response.get_data(as_text=True)


def test_other_school_membership_is_404(world, login, lookup):
    other = lookup.membership(world["B"].users["teacher"], world["B"].school_id)
    teacher_role = lookup.role("teacher")
    before = lookup.membership_state(other)
    client = login(world["A"].users["school_admin"])
    assert client.get(f"/school-users/{other}").status_code == 404
    assert client.post(f"/school-users/{other}/active", data={"active": "0"}).status_code == 404
    assert client.post(f"/school-users/{other}/password").status_code == 404
    response = client.post(f"/school-users/{other}/roles", data={"role_id": [teacher_role]})
    assert response.status_code == 404
    assert lookup.membership_state(other) == before


def test_other_membership_of_same_login_hidden(school, world, login, lookup):
    in_b = lookup.membership("teacher_u_and_b", world["B"].school_id)
    client = login(school.users["school_admin"])
    page = client.get("/school-users/").get_data(as_text=True)
    assert "teacher_u_and_b" in page
    assert f"/school-users/{in_b}" not in page
    assert client.get(f"/school-users/{in_b}").status_code == 404


def test_other_roles_have_no_access(world, login):
    for code in ("principal", "teacher", "secretary"):
        client = login(world["A"].users[code])
        assert client.get("/school-users/").status_code == 403, code
    client = login(world.users["authority"])
    assert client.get("/school-users/").status_code == 403


def test_create_login_for_employee(school, login, lookup):
    teacher_role = lookup.role("teacher")
    key = f"employee:{school.ids['NewEmployee']}"
    client = login(school.users["school_admin"])
    form = client.get("/school-users/new").get_data(as_text=True)
    assert key in form

    response = client.post(
        "/school-users/new",
        data={"person": key, "username": "novikova_u", "email": "", "role_id": [teacher_role]},
    )
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    password = _password_on(response.get_data(as_text=True))

    user_id, email, server_roles = lookup.user("novikova_u")
    assert email == f"novikova_u@school-{school.school_id}.invalid"
    assert server_roles == 0
    employee_user = lookup.run(lambda s: s.get(Employee, school.ids["NewEmployee"]).user_id)
    assert employee_user == user_id
    membership_id = lookup.membership("novikova_u", school.school_id)
    assert lookup.membership_state(membership_id) == (True, [teacher_role])
    memberships = lookup.run(
        lambda s: len(s.scalars(select(Membership).where(Membership.user_id == user_id)).all())
    )
    assert memberships == 1

    new_client = login("novikova_u", password)
    # An administrator's password is temporary: the first page is the password change.
    response = new_client.get("/timetable/")
    assert response.status_code == 302
    assert response.location.endswith("/account/password/")
    response = new_client.post(
        "/account/password/",
        data={
            "current_password": password,
            "new_password": "Own-pass-123",
            "repeat_password": "Own-pass-123",
        },
    )
    assert response.status_code == 302
    assert new_client.get("/timetable/").status_code == 200


def test_create_login_taken_username(school, login, lookup):
    student_id = lookup.run(
        lambda s: s.scalars(
            select(Student.id).where(
                Student.school_id == school.school_id, Student.user_id.is_(None)
            )
        ).first()
    )
    client = login(school.users["school_admin"])
    response = client.post(
        "/school-users/new",
        data={"person": f"student:{student_id}", "username": "Teacher_A"},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Teacher_A" in page
    assert "new-password" not in page
    assert lookup.run(lambda s: s.get(Student, student_id).user_id) is None


def test_create_login_invalid_username(school, login, lookup):
    student_id = lookup.run(
        lambda s: s.scalars(
            select(Student.id).where(
                Student.school_id == school.school_id, Student.user_id.is_(None)
            )
        ).first()
    )
    client = login(school.users["school_admin"])
    response = client.post(
        "/school-users/new", data={"person": f"student:{student_id}", "username": "иван петров"}
    )
    assert response.status_code == 200
    assert "иван петров" in response.get_data(as_text=True)
    assert lookup.user("иван петров") is None


def test_create_login_student_default_role(school, login, lookup):
    student_id = lookup.run(
        lambda s: s.scalars(
            select(Student.id).where(
                Student.school_id == school.school_id, Student.user_id.is_(None)
            )
        ).first()
    )
    client = login(school.users["school_admin"])
    response = client.post(
        "/school-users/new",
        data={
            "person": f"student:{student_id}",
            "username": "pupil_u",
            "email": "pupil@example.ru",
        },
    )
    assert response.status_code == 200
    _user_id, email, _server_roles = lookup.user("pupil_u")
    assert email == "pupil@example.ru"
    membership_id = lookup.membership("pupil_u", school.school_id)
    assert lookup.membership_state(membership_id) == (True, [lookup.role("student")])


def test_create_login_rejects_admin_roles(school, login, lookup):
    guardian_id = school.ids["NewGuardian"]
    forged_roles = {code: lookup.role(code) for code in ("server_admin", "authority")}
    client = login(school.users["school_admin"])
    for code, role_id in forged_roles.items():
        response = client.post(
            "/school-users/new",
            data={
                "person": f"guardian:{guardian_id}",
                "username": f"forged_{code}",
                "role_id": [role_id],
            },
        )
        assert response.status_code == 400, code
        assert lookup.user(f"forged_{code}") is None, code
    assert lookup.run(lambda s: s.get(Guardian, guardian_id).user_id) is None


def test_create_login_for_other_school_person_is_404(school, world, login, lookup):
    other_student = world["B"].ids["SiblingStudent"]
    client = login(school.users["school_admin"])
    response = client.post(
        "/school-users/new", data={"person": f"student:{other_student}", "username": "stolen_b"}
    )
    assert response.status_code == 404
    assert lookup.user("stolen_b") is None


def test_grant_server_admin_is_refused(world, login, lookup):
    target = lookup.membership(world["A"].users["teacher"], world["A"].school_id)
    teacher_role = lookup.role("teacher")
    forged_roles = [lookup.role("server_admin"), lookup.role("authority")]
    client = login(world["A"].users["school_admin"])
    for role_id in forged_roles:
        response = client.post(
            f"/school-users/{target}/roles", data={"role_id": [teacher_role, role_id]}
        )
        assert response.status_code == 400, role_id
    for forged in ("999999", "abc"):
        response = client.post(f"/school-users/{target}/roles", data={"role_id": [forged]})
        assert response.status_code == 400, forged
    assert lookup.membership_state(target) == (True, [teacher_role])


def test_grant_form_offers_school_roles_only(world, login, lookup):
    target = lookup.membership(world["A"].users["teacher"], world["A"].school_id)
    offered = {code: lookup.role(code) for code in ("principal", "server_admin", "authority")}
    client = login(world["A"].users["school_admin"])
    page = client.get(f"/school-users/{target}").get_data(as_text=True)
    assert f'name="role_id" value="{offered["principal"]}"' in page
    assert f'name="role_id" value="{offered["server_admin"]}"' not in page
    assert f'name="role_id" value="{offered["authority"]}"' not in page


def test_set_roles_changes_membership(school, login, lookup):
    target = lookup.membership(school.users["hr"], school.school_id)
    roles = sorted([lookup.role("hr"), lookup.role("teacher")])
    client = login(school.users["school_admin"])
    response = client.post(f"/school-users/{target}/roles", data={"role_id": roles})
    assert response.status_code == 302
    assert lookup.membership_state(target) == (True, roles)


def test_admin_keeps_own_admin_role(school, login, lookup):
    own = lookup.membership(school.users["school_admin"], school.school_id)
    before = lookup.membership_state(own)
    client = login(school.users["school_admin"])
    client.post(f"/school-users/{own}/roles", data={"role_id": [lookup.role("teacher")]})
    assert lookup.membership_state(own) == before


def test_block_and_unblock_membership(school, login, lookup):
    target = lookup.membership(school.users["medical"], school.school_id)
    admin = login(school.users["school_admin"])

    assert admin.post(f"/school-users/{target}/active", data={"active": "0"}).status_code == 302
    assert lookup.membership_state(target)[0] is False
    blocked = login(school.users["medical"])
    response = blocked.get("/")
    assert response.status_code == 302
    assert "/organisation/choose" in response.location

    assert admin.post(f"/school-users/{target}/active", data={"active": "1"}).status_code == 302
    assert lookup.membership_state(target)[0] is True
    assert login(school.users["medical"]).get("/").status_code == 200


def test_block_keeps_other_school_membership(school, world, login, lookup):
    in_u = lookup.membership("teacher_u_and_b", school.school_id)
    in_b = lookup.membership("teacher_u_and_b", world["B"].school_id)
    admin = login(school.users["school_admin"])
    admin.post(f"/school-users/{in_u}/active", data={"active": "0"})
    assert lookup.membership_state(in_u)[0] is False
    assert lookup.membership_state(in_b)[0] is True


def test_admin_cannot_block_self(school, login, lookup):
    own = lookup.membership(school.users["school_admin"], school.school_id)
    admin = login(school.users["school_admin"])
    admin.post(f"/school-users/{own}/active", data={"active": "0"})
    assert lookup.membership_state(own)[0] is True


def test_reset_password_shows_new_one(school, login, lookup):
    target = lookup.membership(school.users["psychologist"], school.school_id)
    admin = login(school.users["school_admin"])
    response = admin.post(f"/school-users/{target}/password")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    password = _password_on(response.get_data(as_text=True))
    assert password != TEST_PASSWORD
    response = login(school.users["psychologist"], password).get("/")
    assert response.status_code == 302
    assert response.location.endswith("/account/password/")


def test_reset_password_of_authority_login_refused(app, school, login, lookup):
    with app.app_context():
        school_row = db.session.get(School, school.school_id)
        user = make_user("authority_and_u")
        add_membership(user, "teacher", school=school_row)
        add_membership(user, "authority", authority=school_row.authority)
        db.session.commit()
    target = lookup.membership("authority_and_u", school.school_id)
    admin = login(school.users["school_admin"])
    response = admin.post(f"/school-users/{target}/password")
    assert response.status_code == 302
    # The shared test password still works, so nothing was changed.
    login("authority_and_u")


def test_user_list_pages_and_search(app, world, login):
    client = login(world["A"].users["school_admin"])

    found = client.get("/school-users/?q=TEACHER_a")
    assert found.status_code == 200
    assert "teacher_A" in found.text
    assert "secretary_A" not in found.text

    missing = client.get("/school-users/?q=nobody-like-this")
    assert 'data-testid="membership-row"' not in missing.text


def test_membership_pages_split_the_list(app, world):
    from app.models import Membership, db
    from app.security.scope import scope_of
    from app.services import users

    with app.app_context():
        admin_membership = db.session.scalars(
            select(Membership).where(Membership.school_id == world["A"].school_id)
        ).first()
        scope = scope_of(admin_membership, admin_membership.user_id)
        everyone, total = users.list_memberships(scope, page_size=1000)
        first, first_total = users.list_memberships(scope, page=1, page_size=3)
        second, _ = users.list_memberships(scope, page=2, page_size=3)

    assert total == len(everyone)
    assert first_total == total
    assert len(first) == 3
    assert [row.username for row in first + second] == [row.username for row in everyone[:6]]
