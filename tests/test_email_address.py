"""Setting one's own e-mail address, and the school administrator editing a login's address."""

import html
import re

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.errors import DomainError
from app.models import EducationAuthority, Membership, NotificationSetting, OutgoingMail, School, db
from app.services import users
from app.services.notifications import deliverable_address, notify
from app.services.users import check_email_address
from tests.factories import add_membership, build_extra_school, make_user

EMAIL_FIELD = re.compile(r'name="email"[^>]*value="([^"]*)"')


def _user(username: str) -> User:
    return db.session.scalars(select(User).where(User.username == username)).one()


def _stored_email(app, username: str) -> str:
    with app.app_context():
        return _user(username).email


def _field_value(page: str) -> str:
    match = EMAIL_FIELD.search(page)
    assert match, "the page has no e-mail field"
    return html.unescape(match.group(1))


def _membership_id(app, username: str, school_id: int) -> int:
    with app.app_context():
        statement = (
            select(Membership.id)
            .join(User, User.id == Membership.user_id)
            .where(User.username == username, Membership.school_id == school_id)
        )
        return db.session.scalar(statement)


def _message(app, text_of) -> str:
    """Render a service message the way a page of the application shows it."""
    with app.test_request_context():
        return html.escape(text_of(), quote=False)


def _rejection(app, email: str) -> str:
    """Return the message check_email_address gives for an address."""

    def text():
        with pytest.raises(DomainError) as caught:
            check_email_address(email)
        return str(caught.value)

    return _message(app, text)


# --- The own address on the settings page ---------------------------------------------------


@pytest.fixture(scope="module")
def own_school(app, world):
    """A school whose parent changes the address, and a login that owns another address."""
    with app.app_context():
        school = build_extra_school("EA1")
        owner = make_user("owner_ea1", first_name="Евлампия", last_name="Собственникова")
        owner.email = "owner.ea1@example.ru"
        add_membership(owner, "teacher", school=db.session.get(School, school.school_id))
        db.session.commit()
        return school


def test_main_save_keeps_typed_address(app, own_school, login):
    username = own_school.users["student"]
    client = login(username)

    response = client.post(
        "/notifications/settings",
        data={"email": "student.ea1@example.org", "message_email": "1"},
    )
    assert response.status_code == 302
    assert _stored_email(app, username) == "student.ea1@example.org"
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert 'checked data-testid="message-email"' in page

    # An invalid address is reported with the typed value; the ticks are still saved.
    response = client.post(
        "/notifications/settings", data={"email": "not an address", "message_email": ""}
    )
    assert response.status_code == 200
    assert _field_value(response.get_data(as_text=True)) == "not an address"
    assert _stored_email(app, username) == "student.ea1@example.org"
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert 'checked data-testid="message-email"' not in page


def test_own_address_set_change_clear(app, own_school, login):
    username = own_school.users["parent"]
    client = login(username)

    response = client.post("/notifications/settings/email", data={"email": " Ivan.Petrov@Mail.RU "})
    assert response.status_code == 302
    assert _stored_email(app, username) == "Ivan.Petrov@mail.ru"
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert 'data-testid="address"' in page
    assert _field_value(page) == "Ivan.Petrov@mail.ru"

    response = client.post("/notifications/settings/email", data={"email": "ivan@почта.рф"})
    assert response.status_code == 302
    assert _stored_email(app, username) == "ivan@xn--80a1acny.xn--p1ai"

    response = client.post("/notifications/settings/email", data={"email": ""})
    assert response.status_code == 302
    placeholder = f"{username.lower()}@school-{own_school.school_id}.invalid"
    assert _stored_email(app, username) == placeholder
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert 'data-testid="no-address"' in page
    assert _field_value(page) == ""
    assert placeholder not in page


def test_own_address_resave_unchanged(app, own_school, login):
    username = own_school.users["teacher"]
    client = login(username)

    client.post("/notifications/settings/email", data={"email": "teacher.ea1@example.ru"})
    response = client.post(
        "/notifications/settings/email", data={"email": "teacher.ea1@example.ru"}
    )

    assert response.status_code == 302
    assert _stored_email(app, username) == "teacher.ea1@example.ru"


def test_clearing_twice_keeps_placeholder(app, own_school, login):
    username = own_school.users["student"]
    client = login(username)

    client.post("/notifications/settings/email", data={"email": ""})
    first = _stored_email(app, username)
    client.post("/notifications/settings/email", data={"email": "   "})

    assert first == f"{username.lower()}@school-{own_school.school_id}.invalid"
    assert _stored_email(app, username) == first


@pytest.mark.parametrize(
    "typed",
    ["ivan@@mail.ru", "ivan.petrov", "ivan@mail", "Иван <ivan@mail.ru>", "иван@mail.ru"],
)
def test_own_address_invalid_kept_in_form(app, own_school, login, typed):
    username = own_school.users["secretary"]
    before = _stored_email(app, username)
    client = login(username)

    response = client.post("/notifications/settings/email", data={"email": typed})

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _field_value(page) == typed
    assert _rejection(app, typed) in page
    assert _stored_email(app, username) == before


def test_own_address_duplicate_hides_owner(app, own_school, login):
    username = own_school.users["hr"]
    before = _stored_email(app, username)
    client = login(username)

    response = client.post("/notifications/settings/email", data={"email": "Owner.EA1@EXAMPLE.ru"})

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _rejection(app, "Owner.EA1@EXAMPLE.ru") in page
    assert "Owner.EA1@EXAMPLE.ru" in page
    assert "owner_ea1" not in page
    assert "Собственникова" not in page
    assert "Евлампия" not in page
    assert _stored_email(app, username) == before
    assert _stored_email(app, "owner_ea1") == "owner.ea1@example.ru"


@pytest.mark.parametrize(
    "typed", ["someone@school-1.invalid", "Someone@Demo.INVALID", "someone@invalid"]
)
def test_own_address_placeholder_rejected(app, own_school, login, typed):
    username = own_school.users["medical"]
    before = _stored_email(app, username)
    client = login(username)

    response = client.post("/notifications/settings/email", data={"email": typed})

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _field_value(page) == typed
    assert _rejection(app, typed) in page
    assert _stored_email(app, username) == before


def test_placeholder_message_differs_from_invalid(app):
    placeholder = _rejection(app, "someone@school-1.invalid")
    invalid = _rejection(app, "someone@@school")

    assert "someone@school-1.invalid" in placeholder
    assert placeholder.replace("someone@school-1.invalid", "") != invalid.replace(
        "someone@@school", ""
    )


def test_concurrent_duplicate_becomes_domain_error(app, own_school, monkeypatch):
    # Another transaction may store the address between the check and the write: the
    # unique constraint then rejects it, and the user gets the usual message.
    monkeypatch.setattr(users, "_email_taken", lambda addresses, except_user_id=None: False)
    with app.test_request_context():
        user = _user(own_school.users["psychologist"])
        before = user.email
        with pytest.raises(DomainError) as caught:
            users.store_email(user, "owner.ea1@example.ru", own_school.school_id)
        db.session.rollback()

        assert "owner.ea1@example.ru" in str(caught.value)
        assert _user(own_school.users["psychologist"]).email == before


# --- The school administrator's edit page ------------------------------------------------------


@pytest.fixture(scope="module")
def admin_school(app, world):
    """A school whose administrator edits addresses; one login also works for an authority."""
    with app.app_context():
        school = build_extra_school("EA2")
        school_row = db.session.get(School, school.school_id)
        both = make_user("both_levels_ea2")
        add_membership(both, "teacher", school=school_row)
        add_membership(
            both, "authority", authority=db.session.get(EducationAuthority, school_row.authority_id)
        )
        owner = make_user("owner_ea2", first_name="Агафья", last_name="Владельцева")
        owner.email = "owner.ea2@example.ru"
        db.session.commit()
        return school


def test_admin_sets_changes_clears_address(app, admin_school, login):
    username = admin_school.users["teacher"]
    membership_id = _membership_id(app, username, admin_school.school_id)
    client = login(admin_school.users["school_admin"])
    page = client.get(f"/school-users/{membership_id}").get_data(as_text=True)
    assert _field_value(page) == ""

    response = client.post(
        f"/school-users/{membership_id}/email", data={"email": "Uchitel@Example.RU"}
    )
    assert response.status_code == 302
    assert _stored_email(app, username) == "Uchitel@example.ru"
    page = client.get(f"/school-users/{membership_id}").get_data(as_text=True)
    assert _field_value(page) == "Uchitel@example.ru"

    response = client.post(
        f"/school-users/{membership_id}/email", data={"email": "uchitel.new@example.ru"}
    )
    assert response.status_code == 302
    assert _stored_email(app, username) == "uchitel.new@example.ru"

    response = client.post(f"/school-users/{membership_id}/email", data={"email": ""})
    assert response.status_code == 302
    assert _stored_email(app, username) == (
        f"{username.lower()}@school-{admin_school.school_id}.invalid"
    )


@pytest.mark.parametrize("typed", ["no-at-sign", "x@school-5.invalid", "Owner.EA2@example.ru"])
def test_admin_rejection_keeps_typed_value(app, admin_school, login, typed):
    username = admin_school.users["principal"]
    membership_id = _membership_id(app, username, admin_school.school_id)
    before = _stored_email(app, username)
    client = login(admin_school.users["school_admin"])

    response = client.post(f"/school-users/{membership_id}/email", data={"email": typed})

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert _field_value(page) == typed
    assert _rejection(app, typed) in page
    assert "owner_ea2" not in page
    assert "Владельцева" not in page
    assert _stored_email(app, username) == before


def test_admin_other_school_login_404(app, admin_school, world, login):
    username = world["B"].users["teacher"]
    other = _membership_id(app, username, world["B"].school_id)
    before = _stored_email(app, username)
    client = login(admin_school.users["school_admin"])

    assert client.get(f"/school-users/{other}").status_code == 404
    response = client.post(f"/school-users/{other}/email", data={"email": "stolen@example.ru"})

    assert response.status_code == 404
    assert _stored_email(app, username) == before


def test_admin_skips_authority_level_login(app, admin_school, login):
    membership_id = _membership_id(app, "both_levels_ea2", admin_school.school_id)
    before = _stored_email(app, "both_levels_ea2")
    client = login(admin_school.users["school_admin"])

    response = client.post(
        f"/school-users/{membership_id}/email", data={"email": "both.levels@example.ru"}
    )

    assert response.status_code == 200
    assert _field_value(response.get_data(as_text=True)) == "both.levels@example.ru"
    assert _stored_email(app, "both_levels_ea2") == before


def test_other_roles_cannot_edit_addresses(app, admin_school, login):
    username = admin_school.users["student"]
    membership_id = _membership_id(app, username, admin_school.school_id)
    before = _stored_email(app, username)

    for code in ("principal", "teacher", "parent"):
        client = login(admin_school.users[code])
        response = client.post(
            f"/school-users/{membership_id}/email", data={"email": "pupil.ea2@example.ru"}
        )
        assert response.status_code == 403, code
    assert _stored_email(app, username) == before


# --- E-mail delivery after the address is set ------------------------------------------------


def _queued_mail(school_id: int) -> list[tuple[str, str]]:
    statement = select(OutgoingMail).where(
        OutgoingMail.school_id == school_id, OutgoingMail.kind == "message"
    )
    return [(mail.recipient, mail.subject) for mail in db.session.scalars(statement)]


def _notify_message(school_id: int, user_id: int, subject: str) -> None:
    notify(
        school_id,
        user_id,
        "message",
        "Новое сообщение от учителя",
        "/messages/",
        mail_subject=subject,
        mail_body="Откройте сообщения в дневнике.",
    )
    db.session.commit()


def test_new_address_receives_message_mail(app, world, login):
    with app.app_context():
        school = build_extra_school("EA3")
    username = school.users["parent"]
    client = login(username)
    response = client.post("/notifications/settings", data={"message_email": "1"})
    assert response.status_code == 302

    with app.app_context():
        parent = _user(username)
        assert deliverable_address(parent) is None
        _notify_message(school.school_id, parent.id, "До адреса")
        assert _queued_mail(school.school_id) == []

    response = client.post("/notifications/settings/email", data={"email": "Mama.EA3@Example.RU"})
    assert response.status_code == 302

    with app.app_context():
        parent = _user(username)
        setting = db.session.scalars(
            select(NotificationSetting).where(
                NotificationSetting.user_id == parent.id,
                NotificationSetting.student_id.is_(None),
            )
        ).one()
        assert setting.message_email is True
        _notify_message(school.school_id, parent.id, "После адреса")
        assert _queued_mail(school.school_id) == [("Mama.EA3@example.ru", "После адреса")]
