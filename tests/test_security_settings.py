"""Security settings: CSRF protection, the production secret key, and database errors.

The session app of the other tests runs with CSRF off, so the CSRF tests start a second
app on the same database with the production setting (CSRF on).
"""

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app.errors import SAVE_FAILED
from app.models import Room, db
from tests.factories import TEST_PASSWORD

REPO_ROOT = Path(__file__).resolve().parent.parent
SQL_TEXT_MARKERS = ("IntegrityError", "UNIQUE", "duplicate key", "INSERT", "sqlite3", "psycopg")
CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(page: str) -> str:
    match = CSRF_INPUT.search(page)
    assert match is not None, "the page has no CSRF token"
    return match.group(1)


@pytest.fixture(scope="module")
def csrf_app(app, tmp_path_factory):
    """A second app on the session app's database, with CSRF protection on."""
    from app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "TESTING": True,
            "WTF_CSRF_ENABLED": True,
            "RATELIMIT_ENABLED": False,
            "AUTH_RATE_LIMITED": False,
            "DEMO_LOGINS_FILE": str(tmp_path_factory.mktemp("csrf") / "demo-logins.csv"),
        }
    )


@pytest.fixture()
def scratch_room(app, world):
    """A room of school A that a test may try to delete; removed afterwards if still there."""
    with app.app_context():
        room = Room(school_id=world["A"].school_id, name="A-CSRF", capacity=5)
        db.session.add(room)
        db.session.commit()
        room_id = room.id
    yield room_id
    with app.app_context():
        leftover = db.session.get(Room, room_id)
        if leftover is not None:
            db.session.delete(leftover)
            db.session.commit()


def room_exists(app, room_id: int) -> bool:
    with app.app_context():
        return db.session.get(Room, room_id) is not None


def login_with_csrf(csrf_app, username: str):
    client = csrf_app.test_client()
    token = csrf_token(client.get("/login/").get_data(as_text=True))
    response = client.post(
        "/login/", data={"username": username, "password": TEST_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, f"login of {username} failed"
    return client


# --- CSRF ------------------------------------------------------------------------------------


def test_login_without_csrf_token_fails(csrf_app, world):
    client = csrf_app.test_client()

    client.post(
        "/login/", data={"username": world["A"].users["school_admin"], "password": TEST_PASSWORD}
    )

    assert client.get("/rooms/list/").status_code == 302


def test_post_delete_without_token_keeps_row(app, csrf_app, world, scratch_room):
    client = login_with_csrf(csrf_app, world["A"].users["school_admin"])

    response = client.post(f"/rooms/delete/{scratch_room}")

    assert response.status_code == 400
    assert room_exists(app, scratch_room)


def test_post_delete_with_wrong_token_keeps_row(app, csrf_app, world, scratch_room):
    client = login_with_csrf(csrf_app, world["A"].users["school_admin"])

    response = client.post(f"/rooms/delete/{scratch_room}", data={"csrf_token": "forged"})

    assert response.status_code == 400
    assert room_exists(app, scratch_room)


def test_get_delete_keeps_row(app, csrf_app, world, scratch_room):
    client = login_with_csrf(csrf_app, world["A"].users["school_admin"])

    response = client.get(f"/rooms/delete/{scratch_room}")

    assert response.status_code == 302
    assert room_exists(app, scratch_room)


def test_get_action_keeps_row(app, csrf_app, world, scratch_room):
    client = login_with_csrf(csrf_app, world["A"].users["school_admin"])

    response = client.get(f"/rooms/action/muldelete/{scratch_room}")

    assert response.status_code in (302, 404)
    assert room_exists(app, scratch_room)


def test_post_delete_with_token_deletes_row(app, csrf_app, world, scratch_room):
    """The control case: with its token the same request does delete."""
    client = login_with_csrf(csrf_app, world["A"].users["school_admin"])
    token = csrf_token(client.get("/rooms/add").get_data(as_text=True))

    response = client.post(f"/rooms/delete/{scratch_room}", data={"csrf_token": token})

    assert response.status_code == 302
    assert not room_exists(app, scratch_room)


def test_session_cookie_is_http_only_and_same_site(csrf_app, world):
    client = csrf_app.test_client()
    token = csrf_token(client.get("/login/").get_data(as_text=True))

    response = client.post(
        "/login/",
        data={
            "username": world["A"].users["school_admin"],
            "password": TEST_PASSWORD,
            "csrf_token": token,
        },
    )

    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


# --- Production settings ---------------------------------------------------------------------


def import_config(tmp_path, **environment):
    """Import config.py in a fresh interpreter with the given environment."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("SECRET_KEY", "DATABASE_URL", "PRODUCTION")
    }
    env["INSTANCE_PATH"] = str(tmp_path)
    env.update(environment)
    return subprocess.run(
        [sys.executable, "-c", "import config"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_start_without_secret_key(tmp_path):
    result = import_config(
        tmp_path, PRODUCTION="1", DATABASE_URL="postgresql+psycopg://school@127.0.0.1/school"
    )

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_production_refuses_start_without_database_url(tmp_path):
    result = import_config(tmp_path, PRODUCTION="1", SECRET_KEY="k" * 64)

    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_production_starts_with_secret_key(tmp_path):
    result = import_config(
        tmp_path,
        PRODUCTION="1",
        SECRET_KEY="k" * 64,
        DATABASE_URL="postgresql+psycopg://school@127.0.0.1/school",
    )

    assert result.returncode == 0, result.stderr


# --- Database errors -------------------------------------------------------------------------


def expected_save_failed(app) -> str:
    """The message for a rejected write in the session's default locale."""
    with app.test_request_context(), force_locale(app.config["BABEL_DEFAULT_LOCALE"]):
        return str(SAVE_FAILED)


def room_count(app, school_id: int) -> int:
    with app.app_context():
        statement = select(func.count()).select_from(Room).where(Room.school_id == school_id)
        return db.session.scalar(statement)


def assert_no_sql_text(text: str) -> None:
    for marker in SQL_TEXT_MARKERS:
        assert marker not in text, marker


def test_duplicate_room_in_form_shows_message(app, world, login):
    client = login(world["A"].users["school_admin"])
    rooms = room_count(app, world["A"].school_id)

    response = client.post(
        "/rooms/add", data={"name": "A-101", "capacity": "20", "floor": "1"}, follow_redirects=True
    )

    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert expected_save_failed(app) in page
    assert_no_sql_text(page)
    assert room_count(app, world["A"].school_id) == rooms


def test_duplicate_room_in_rest_post_returns_message(app, world, login):
    client = login(world["A"].users["school_admin"])
    rooms = room_count(app, world["A"].school_id)

    response = client.post("/api/v1/room/", json={"name": "A-101", "capacity": 20})

    assert response.status_code == 422
    assert response.json["message"] == expected_save_failed(app)
    assert_no_sql_text(response.get_data(as_text=True))
    assert room_count(app, world["A"].school_id) == rooms


def test_duplicate_room_in_rest_put_returns_message(app, world, login, scratch_room):
    client = login(world["A"].users["school_admin"])

    response = client.put(f"/api/v1/room/{scratch_room}", json={"name": "A-101"})

    assert response.status_code == 422
    assert response.json["message"] == expected_save_failed(app)
    assert_no_sql_text(response.get_data(as_text=True))


def test_same_room_name_in_another_school_is_allowed(app, world, login):
    """Uniqueness is per school: school A may add a room named like school B's."""
    client = login(world["A"].users["school_admin"])

    response = client.post("/api/v1/room/", json={"name": "B-101", "capacity": 20})

    assert response.status_code == 201
    with app.app_context():
        created = db.session.get(Room, response.json["id"])
        assert created.school_id == world["A"].school_id
        db.session.delete(created)
        db.session.commit()


# --- Sign-in redirects --------------------------------------------------------------------


def _redirect_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "Invalid redirect" in r.getMessage()]


def test_plain_sign_in_logs_no_redirect_warning(app, world, caplog):
    client = app.test_client()
    user = world["A"].users["teacher"]

    with caplog.at_level("WARNING", logger="flask_appbuilder"):
        response = client.post("/login/", data={"username": user, "password": TEST_PASSWORD})

    assert response.status_code == 302
    assert _redirect_warnings(caplog) == []


def test_sign_in_to_other_site_is_logged(app, world, caplog):
    client = app.test_client()
    user = world["A"].users["teacher"]

    with caplog.at_level("WARNING", logger="flask_appbuilder"):
        response = client.post(
            "/login/?next=https://example.org/",
            data={"username": user, "password": TEST_PASSWORD},
        )

    assert response.status_code == 302
    assert "example.org" not in response.headers["Location"]
    assert len(_redirect_warnings(caplog)) == 1
