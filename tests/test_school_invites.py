"""Invitations by code: an existing login of another school joins this school."""

import datetime as dt
import re

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.models import Employee, Guardian, InviteCode, Membership, School, db
from app.security.roles import ROLES
from app.services import invites
from tests.factories import add_membership, build_extra_school, make_user

#: The other school's name, which must never appear on the inviting school's pages.
OTHER_SCHOOL_NAME = "Школа № adm_inv_other"


@pytest.fixture(scope="module")
def schools(app, world):
    """The inviting school and another school where the invited people already work."""
    with app.app_context():
        inviting = build_extra_school("adm_inv")
        other = build_extra_school("adm_inv_other")
        newcomer = Employee(
            school_id=inviting.school_id,
            last_name="Новенькая",
            first_name="Вера",
            position="Учитель",
        )
        db.session.add(newcomer)
        db.session.commit()
        inviting.ids["Newcomer"] = newcomer.id
        return inviting, other


def _person(app, other, username, code="teacher", first_name="Ольга", last_name="Ученикова"):
    """Create a login with a membership in the other school only."""
    with app.app_context():
        user = make_user(username, first_name=first_name, last_name=last_name)
        add_membership(user, code, school=db.session.get(School, other.school_id))
        db.session.commit()
        return user.id


def _make_code(login, username) -> str:
    client = login(username)
    response = client.post("/account/invite-code/")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    match = re.search(r'data-testid="invite-code">([A-Z0-9-]+)<', response.get_data(as_text=True))
    assert match, "the page shows no code"
    return match.group(1)


def _role_id(app, code):
    with app.app_context():
        return app.appbuilder.sm.find_role(ROLES[code].name).id


def _membership(app, user_id, school_id):
    with app.app_context():
        membership = db.session.scalars(
            select(Membership).where(
                Membership.user_id == user_id, Membership.school_id == school_id
            )
        ).first()
        if membership is None:
            return None
        return sorted(role.name for role in membership.roles)


def _invite(client, username, code, **fields):
    data = {"username": username, "code": code, **fields}
    return client.post("/school-users/invite", data=data)


def test_code_alphabet_has_no_lookalikes():
    for character in "0O1IL":
        assert character not in invites.CODE_ALPHABET


def test_code_stored_hashed_and_shown_once(app, schools, login):
    _inviting, other = schools
    user_id = _person(app, other, "adm_inv_hash")
    code = _make_code(login, "adm_inv_hash")
    plain = code.replace("-", "")
    assert len(plain) == invites.CODE_LENGTH
    with app.app_context():
        row = db.session.get(InviteCode, user_id)
        assert plain not in row.code_hash
        assert row.expires_at - row.created_at == dt.timedelta(hours=24)
    page = login("adm_inv_hash").get("/account/invite-code/").get_data(as_text=True)
    assert plain[:4] not in page
    assert 'data-testid="invite-code-valid"' in page


def test_parent_joins_with_children(app, schools, login):
    inviting, other = schools
    user_id = _person(app, other, "adm_inv_parent", code="parent")
    code = _make_code(login, "adm_inv_parent")
    admin = login(inviting.users["school_admin"])
    response = _invite(
        admin,
        "adm_inv_parent",
        code.lower(),
        student_id=[inviting.ids["Student"], inviting.ids["OtherStudent"]],
    )
    assert response.status_code == 302
    assert _membership(app, user_id, inviting.school_id) == [ROLES["parent"].name]
    with app.app_context():
        linked = db.session.scalars(
            select(Guardian.student_id).where(
                Guardian.school_id == inviting.school_id, Guardian.user_id == user_id
            )
        ).all()
        assert sorted(linked) == sorted([inviting.ids["Student"], inviting.ids["OtherStudent"]])
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "adm_inv_parent" in page
    assert OTHER_SCHOOL_NAME not in page


def test_teacher_joins_with_staff_record(app, schools, login):
    inviting, other = schools
    user_id = _person(app, other, "adm_inv_teacher")
    code = _make_code(login, "adm_inv_teacher")
    admin = login(inviting.users["school_admin"])
    response = _invite(
        admin,
        "adm_inv_teacher",
        code,
        employee_id=inviting.ids["Newcomer"],
        role_id=[_role_id(app, "teacher")],
    )
    assert response.status_code == 302
    assert _membership(app, user_id, inviting.school_id) == [ROLES["teacher"].name]
    with app.app_context():
        assert db.session.get(Employee, inviting.ids["Newcomer"]).user_id == user_id
    # The other school's membership is untouched.
    assert _membership(app, user_id, other.school_id) == [ROLES["teacher"].name]


def test_used_code_rejected(app, schools, login):
    inviting, other = schools
    _person(app, other, "adm_inv_twice", code="parent")
    code = _make_code(login, "adm_inv_twice")
    admin = login(inviting.users["school_admin"])
    first = _invite(admin, "adm_inv_twice", code, student_id=[inviting.ids["SiblingStudent"]])
    assert first.status_code == 302
    # The school removes the membership again; the used code still must not bring it back.
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == "adm_inv_twice"))
        membership = db.session.scalars(
            select(Membership).where(
                Membership.user_id == user_id, Membership.school_id == inviting.school_id
            )
        ).one()
        db.session.delete(membership)
        db.session.commit()
    second = _invite(admin, "adm_inv_twice", code, student_id=[inviting.ids["SiblingStudent"]])
    assert second.status_code == 400
    assert "уже использован" in second.get_data(as_text=True)


def test_expired_code_rejected(app, schools, login):
    inviting, other = schools
    user_id = _person(app, other, "adm_inv_expired", code="parent")
    code = _make_code(login, "adm_inv_expired")
    with app.app_context():
        row = db.session.get(InviteCode, user_id)
        row.expires_at = row.created_at - dt.timedelta(minutes=1)
        db.session.commit()
    admin = login(inviting.users["school_admin"])
    response = _invite(admin, "adm_inv_expired", code, student_id=[inviting.ids["Student"]])
    assert response.status_code == 400
    assert "истёк" in response.get_data(as_text=True)
    assert _membership(app, user_id, inviting.school_id) is None


def test_five_wrong_codes_invalidate_code(app, schools, login):
    inviting, other = schools
    user_id = _person(app, other, "adm_inv_guess", code="parent")
    code = _make_code(login, "adm_inv_guess")
    wrong = "ZZZZ-ZZZZ" if code != "ZZZZ-ZZZZ" else "YYYY-YYYY"
    admin = login(inviting.users["school_admin"])
    for attempt in range(1, invites.INVITE_CODE_MAX_ATTEMPTS + 1):
        response = _invite(admin, "adm_inv_guess", wrong, student_id=[inviting.ids["Student"]])
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert f"Код {wrong} неверен" in page, attempt
    assert "больше не действует" in page
    response = _invite(admin, "adm_inv_guess", code, student_id=[inviting.ids["Student"]])
    assert response.status_code == 400
    assert _membership(app, user_id, inviting.school_id) is None


def test_wrong_code_counts_remaining_attempts(app, schools, login):
    inviting, other = schools
    _person(app, other, "adm_inv_typo", code="parent")
    code = _make_code(login, "adm_inv_typo")
    wrong = "ZZZZ-ZZZZ" if code != "ZZZZ-ZZZZ" else "YYYY-YYYY"
    admin = login(inviting.users["school_admin"])
    response = _invite(admin, "adm_inv_typo", wrong, student_id=[inviting.ids["Student"]])
    assert "Осталось попыток: 4" in response.get_data(as_text=True)


def test_unknown_login_message(schools, login):
    inviting, _other = schools
    admin = login(inviting.users["school_admin"])
    response = _invite(admin, "adm_inv_nobody", "ABCD-EFGH", student_id=[inviting.ids["Student"]])
    assert response.status_code == 400
    assert "Для логина adm_inv_nobody нет кода приглашения" in response.get_data(as_text=True)


def test_member_of_school_rejected(app, schools, login):
    inviting, _other = schools
    username = inviting.users["teacher"]
    code = _make_code(login, username)
    admin = login(inviting.users["school_admin"])
    response = _invite(admin, username, code, role_id=[_role_id(app, "teacher")])
    assert response.status_code == 400
    assert "уже пользователь этой школы" in response.get_data(as_text=True)


def test_foreign_student_is_404_and_not_counted(app, schools, login):
    inviting, other = schools
    user_id = _person(app, other, "adm_inv_foreign", code="parent")
    code = _make_code(login, "adm_inv_foreign")
    admin = login(inviting.users["school_admin"])
    response = _invite(admin, "adm_inv_foreign", code, student_id=[other.ids["Student"]])
    assert response.status_code == 404
    response = _invite(admin, "adm_inv_foreign", code, employee_id=other.ids["Employee"])
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(InviteCode, user_id).failed_attempts == 0
    assert _membership(app, user_id, inviting.school_id) is None


def test_invite_page_names_no_other_school(schools, login):
    inviting, _other = schools
    admin = login(inviting.users["school_admin"])
    page = admin.get("/school-users/invite").get_data(as_text=True)
    assert "Добавить существующий логин по коду" in page
    assert OTHER_SCHOOL_NAME not in page


@pytest.mark.parametrize("role", ["teacher", "secretary", "principal"])
def test_invite_only_for_school_admin(schools, login, role):
    inviting, _other = schools
    client = login(inviting.users[role])
    assert client.get("/school-users/invite").status_code == 403
    response = _invite(client, "adm_inv_nobody", "ABCD-EFGH")
    assert response.status_code == 403


def test_profile_links_to_invite_code(schools, login):
    inviting, _other = schools
    page = login(inviting.users["teacher"]).get("/users/userinfo/").get_data(as_text=True)
    assert 'data-testid="profile-invite-code"' in page
    assert "/account/invite-code/" in page
