"""Account safety: lock-out after failed sign-ins, the forced password change, session lifetime."""

import datetime as dt
import html
import re
import threading
import time

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select, update

from app.models import LoginState, School, db
from app.services import accounts
from tests.factories import TEST_PASSWORD, add_membership, make_user

_counter = iter(range(1, 10_000))


def _new_login(app, world, *codes, school_key="A") -> tuple[str, int, int]:
    """Create a fresh login with roles in a school; return (username, user id, membership id)."""
    with app.app_context():
        school = db.session.get(School, world[school_key].school_id)
        user = make_user(f"acct_{codes[0]}_{next(_counter)}")
        membership = add_membership(user, *codes, school=school)
        db.session.commit()
        return user.username, user.id, membership.id


def _sign_in(app, username, password=TEST_PASSWORD, remember=False):
    client = app.test_client()
    data = {"username": username, "password": password}
    if remember:
        data["remember"] = "y"
    response = client.post("/login/", data=data)
    return client, response


def _state(app, user_id):
    with app.app_context():
        row = db.session.get(LoginState, user_id)
        if row is None:
            return None
        return row.failed_count, row.locked_until, row.must_change_password


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _signed_in(client) -> bool:
    response = client.get("/")
    return response.status_code == 200


# --- Lock-out -------------------------------------------------------------------------


def test_ten_failures_lock_login(app, world):
    username, user_id, _m = _new_login(app, world, "teacher")
    for _attempt in range(9):
        _sign_in(app, username, "wrong-password")
    assert _state(app, user_id)[1] is None

    _client, response = _sign_in(app, username, "wrong-password")
    assert response.status_code == 302
    assert _state(app, user_id)[1] is not None


def test_locked_login_rejects_right_password(app, world):
    username, user_id, _m = _new_login(app, world, "teacher")
    for _attempt in range(10):
        _sign_in(app, username, "wrong-password")

    client, response = _sign_in(app, username)
    assert response.status_code == 302
    assert "/login" in response.location
    page = _page(client.get(response.location))
    assert "заблокирован" in page
    with app.app_context():
        label = accounts.local_time_label(_state(app, user_id)[1])
    assert label in page
    assert not _signed_in(client)


def test_failures_outside_window_do_not_lock(app, world):
    _username, user_id, _m = _new_login(app, world, "teacher")
    start = dt.datetime(2026, 12, 1, 10, 0)
    with app.test_request_context():
        for minute in range(9):
            accounts.record_failure(user_id, now=start + dt.timedelta(minutes=minute))
        # The tenth failure comes after the 15-minute window of the first: the count restarts.
        locked = accounts.record_failure(user_id, now=start + dt.timedelta(minutes=16))
    assert locked is None
    assert _state(app, user_id)[0] == 1


def test_lock_ends_after_lock_time(app, world):
    username, user_id, _m = _new_login(app, world, "teacher")
    for _attempt in range(10):
        _sign_in(app, username, "wrong-password")
    with app.app_context():
        until = _state(app, user_id)[1]
        assert until - accounts.utc_now() <= dt.timedelta(minutes=15)
        # Move the lock into the past, as if 15 minutes had gone by.
        db.session.execute(
            update(LoginState)
            .where(LoginState.user_id == user_id)
            .values(locked_until=accounts.utc_now() - dt.timedelta(seconds=1))
        )
        db.session.commit()

    client, response = _sign_in(app, username)
    assert "/login" not in response.location
    assert _signed_in(client)


def test_success_resets_failure_count(app, world):
    username, user_id, _m = _new_login(app, world, "teacher")
    for _attempt in range(5):
        _sign_in(app, username, "wrong-password")
    _sign_in(app, username)
    assert _state(app, user_id)[0] == 0


def test_concurrent_failures_all_counted(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LOCK_FAILURES", 1000)
    _username, user_id, _m = _new_login(app, world, "teacher")
    errors = []

    def fail_once():
        try:
            with app.app_context():
                accounts.record_failure(user_id)
                db.session.remove()
        except Exception as error:  # noqa: BLE001 - the assert below reports it
            errors.append(error)

    threads = [threading.Thread(target=fail_once) for _i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert _state(app, user_id)[0] == 8


def test_admin_sees_and_lifts_lock(app, world, login):
    username, user_id, membership_id = _new_login(app, world, "teacher")
    for _attempt in range(10):
        _sign_in(app, username, "wrong-password")
    admin = login(world["A"].users["school_admin"])

    listing = _page(admin.get("/school-users/?locked=1"))
    assert username in listing
    assert 'data-testid="locked"' in listing
    edit = _page(admin.get(f"/school-users/{membership_id}"))
    assert 'data-testid="lock-notice"' in edit

    response = admin.post(f"/school-users/{membership_id}/unlock")
    assert response.status_code == 302
    assert _state(app, user_id)[1] is None
    client, _response = _sign_in(app, username)
    assert _signed_in(client)


def test_locked_only_list_hides_unlocked(app, world, login):
    username, _user_id, _m = _new_login(app, world, "teacher")
    admin = login(world["A"].users["school_admin"])
    locked = _page(admin.get(f"/school-users/?locked=1&q={username}"))
    everyone = _page(admin.get(f"/school-users/?q={username}"))
    assert locked.count('data-testid="membership-row"') == 0
    assert everyone.count('data-testid="membership-row"') == 1


def test_other_school_cannot_lift_lock(app, world, login):
    username, user_id, membership_id = _new_login(app, world, "teacher", school_key="B")
    for _attempt in range(10):
        _sign_in(app, username, "wrong-password")
    admin = login(world["A"].users["school_admin"])
    assert admin.post(f"/school-users/{membership_id}/unlock").status_code == 404
    assert _state(app, user_id)[1] is not None


def test_reset_while_locked_lets_sign_in(app, world, login):
    username, user_id, membership_id = _new_login(app, world, "teacher")
    for _attempt in range(10):
        _sign_in(app, username, "wrong-password")
    admin = login(world["A"].users["school_admin"])

    response = admin.post(f"/school-users/{membership_id}/password")
    password = re.search(r'data-testid="new-password">([^<]+)<', _page(response)).group(1)
    failures, locked_until, must_change = _state(app, user_id)
    assert locked_until is None
    assert failures == 0
    assert must_change is True

    client, response = _sign_in(app, username, password)
    assert response.status_code == 302
    assert "/login" not in response.location


def test_unknown_login_failure_shows_plain_message(app, world):
    client, response = _sign_in(app, "no_such_login_anywhere", "wrong-password")
    page = _page(client.get(response.location))
    assert "заблокирован" not in page


# --- Forced password change -----------------------------------------------------------


def _given_password_login(app, world, login):
    """A login whose password the school administrator reset, signed in with it."""
    username, user_id, membership_id = _new_login(app, world, "teacher")
    admin = login(world["A"].users["school_admin"])
    response = admin.post(f"/school-users/{membership_id}/password")
    password = re.search(r'data-testid="new-password">([^<]+)<', _page(response)).group(1)
    client, _response = _sign_in(app, username, password)
    return client, password, user_id


def test_given_password_forces_change(app, world, login):
    client, _password, _user_id = _given_password_login(app, world, login)
    for path in ("/", "/timetable/", "/messages/inbox"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.location.endswith("/account/password/"), path
    page = _page(client.get("/account/password/"))
    assert 'data-testid="password-change-required"' in page


def test_forced_change_blocks_api(app, world, login):
    client, _password, _user_id = _given_password_login(app, world, login)
    response = client.get("/api/v1/room/")
    assert response.status_code == 403


def test_forced_change_blocks_api_token(app, world, login):
    client, password, _user_id = _given_password_login(app, world, login)
    username = _username_of(app, _user_id)
    api = app.test_client()
    token = api.post(
        "/api/v1/security/login",
        json={"username": username, "password": password, "provider": "db"},
    ).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    refused = api.get("/api/v1/student/", headers=headers)
    assert refused.status_code == 403
    assert "пароль" in refused.get_json()["message"].lower()

    client.post(
        "/account/password/",
        data={
            "current_password": password,
            "new_password": "Own-choice-42",
            "repeat_password": "Own-choice-42",
        },
    )
    after = api.get("/api/v1/student/", headers=headers)
    assert after.status_code == 200, after.get_json()


@pytest.mark.parametrize(
    ("current", "new", "repeated", "message"),
    [
        ("wrong", "Brand-new-1", "Brand-new-1", "Текущий пароль неверен"),
        (None, "short", "short", "слишком короткий"),
        (None, None, None, "совпадает с текущим"),
        (None, "Brand-new-1", "Brand-new-2", "не совпадают"),
    ],
)
def test_password_change_rejects_bad_input(app, world, login, current, new, repeated, message):
    client, password, user_id = _given_password_login(app, world, login)
    data = {
        "current_password": password if current is None else current,
        "new_password": password if new is None else new,
        "repeat_password": password if repeated is None else repeated,
    }
    response = client.post("/account/password/", data=data)
    assert response.status_code == 400
    assert message in _page(response)
    assert _state(app, user_id)[2] is True


def test_password_change_opens_other_pages(app, world, login):
    client, password, user_id = _given_password_login(app, world, login)
    data = {
        "current_password": password,
        "new_password": "Own-choice-42",
        "repeat_password": "Own-choice-42",
    }
    response = client.post("/account/password/", data=data)
    assert response.status_code == 302
    assert _state(app, user_id)[2] is False
    assert client.get("/").status_code == 200
    fresh, response = _sign_in(app, _username_of(app, user_id), "Own-choice-42")
    assert "/login" not in response.location


def _username_of(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).username


def test_created_login_must_change_password(app, world, login):
    with app.app_context():
        from app.models import Employee

        employee = Employee(school_id=world["A"].school_id, last_name="Свежева", first_name="Ия")
        db.session.add(employee)
        db.session.commit()
        person = f"employee:{employee.id}"
    admin = login(world["A"].users["school_admin"])
    username = f"svezheva{next(_counter)}"
    response = admin.post(
        "/school-users/new", data={"person": person, "username": username, "email": ""}
    )
    assert response.status_code == 200
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
    assert _state(app, user_id)[2] is True


# --- Session lifetime -----------------------------------------------------------------


def _age_session(client, seconds):
    """Make the session's last request ``seconds`` old."""
    with client.session_transaction() as session:
        session["last_seen"] = int(time.time()) - seconds


def test_session_ends_after_role_timeout(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_TIMEOUT", {"default": 3600, "teacher": 600})
    username, _user_id, _m = _new_login(app, world, "teacher")
    client, _response = _sign_in(app, username)
    assert _signed_in(client)

    _age_session(client, 700)
    response = client.get("/")
    assert response.status_code == 302
    assert "/login" in response.location
    assert not _signed_in(client)


def test_session_default_timeout_for_other_roles(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_TIMEOUT", {"default": 3600, "teacher": 600})
    username, _user_id, _m = _new_login(app, world, "secretary")
    client, _response = _sign_in(app, username)
    _age_session(client, 700)
    assert _signed_in(client)
    _age_session(client, 3700)
    assert not _signed_in(client)


def test_shortest_role_timeout_wins(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_TIMEOUT", {"default": 3600, "teacher": 600})
    username, _user_id, _m = _new_login(app, world, "secretary", "teacher")
    client, _response = _sign_in(app, username)
    _age_session(client, 700)
    assert not _signed_in(client)


@pytest.mark.parametrize("code", ["student", "parent"])
def test_family_remembered_for_thirty_days(app, world, code):
    username, _user_id, _m = _new_login(app, world, code)
    client, response = _sign_in(app, username, remember=True)
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    expires = re.search(r"Expires=([^;]+)", cookie).group(1)
    expiry = dt.datetime.strptime(expires, "%a, %d %b %Y %H:%M:%S GMT")
    days_left = (expiry - dt.datetime.now(dt.UTC).replace(tzinfo=None)).days
    assert days_left in (29, 30)

    _age_session(client, 5 * 24 * 3600)
    assert _signed_in(client)


def test_remembered_session_ends_after_thirty_days(app, world):
    username, _user_id, _m = _new_login(app, world, "student")
    client, _response = _sign_in(app, username, remember=True)
    with client.session_transaction() as session:
        session["remember_until"] = int(time.time()) - 1
    assert not _signed_in(client)


@pytest.mark.parametrize("codes", [("teacher",), ("school_admin",), ("parent", "teacher")])
def test_staff_never_remembered(app, world, codes):
    username, _user_id, _m = _new_login(app, world, *codes)
    client, _response = _sign_in(app, username, remember=True)
    with client.session_transaction() as session:
        assert "remember_until" not in session
    _age_session(client, 2 * 3600)
    assert not _signed_in(client)


def test_parent_with_staff_membership_not_remembered(app, world):
    username, user_id, _m = _new_login(app, world, "parent")
    with app.app_context():
        user = db.session.get(User, user_id)
        school = db.session.get(School, world["B"].school_id)
        add_membership(user, "teacher", school=school)
        db.session.commit()
    client, _response = _sign_in(app, username, remember=True)
    with client.session_transaction() as session:
        assert "remember_until" not in session


def test_student_without_tick_has_idle_timeout(app, world):
    username, _user_id, _m = _new_login(app, world, "student")
    client, _response = _sign_in(app, username)
    _age_session(client, 2 * 3600)
    assert not _signed_in(client)


def test_fab_password_reset_lifts_lock(app, world):
    username, user_id, _m = _new_login(app, world, "teacher")
    for _attempt in range(10):
        _sign_in(app, username, "wrong-password")
    assert _state(app, user_id)[1] is not None

    with app.test_request_context():
        app.appbuilder.sm.reset_password(user_id, "Server-set-99")

    assert _state(app, user_id)[1] is None
    _client, response = _sign_in(app, username, "Server-set-99")
    assert "/login" not in response.location
