"""Errors reach users as pages in their language, and sign-in failures are limited."""

from app import create_app
from tests.factories import TEST_PASSWORD


def test_missing_page_is_russian(app, world, login):
    response = login(world["A"].users["teacher"]).get("/no-such-page/")
    assert response.status_code == 404
    assert "не найдена" in response.text
    assert "Not Found" not in response.text


def test_forbidden_page_is_russian(app, world, login):
    response = login(world["A"].users["student"]).get("/employees/list/")
    assert response.status_code == 403
    assert "нет прав" in response.text


def test_wrong_method_page_is_russian(app, world, login):
    response = login(world["A"].users["teacher"]).get("/journal/lesson/1/cell")

    assert response.status_code == 405
    assert "принимает данные формы" in response.text
    assert "Method Not Allowed" not in response.text
    assert "POST" in response.headers["Allow"]


def test_oversized_upload_page_is_russian(app, world, login):
    client = login(world["A"].users["parent"])
    limit = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        response = client.post("/messages/compose", data={"body": "x" * 4096})
    finally:
        app.config["MAX_CONTENT_LENGTH"] = limit
    assert response.status_code == 413
    assert "слишком велики" in response.text


def test_form_without_token_page_is_russian(app, world, login):
    client = login(world["A"].users["parent"])
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/messages/compose", data={"body": "text"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert "Форма устарела" in response.text
    assert "CSRF" not in response.text


def test_api_errors_stay_json(app, world, login):
    response = login(world["A"].users["teacher"]).get("/api/v1/no-such-api/")
    assert response.status_code == 404
    assert response.is_json


def _limited_app(app):
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            "LOGIN_FAILURE_LIMIT": "3 per minute",
        }
    )


def test_successful_logins_are_not_limited(app, world):
    client = _limited_app(app).test_client()
    for _attempt in range(6):
        response = client.post(
            "/login/", data={"username": world["A"].users["teacher"], "password": TEST_PASSWORD}
        )
        assert response.status_code == 302
        assert "/login" not in response.location
        client.get("/logout/")


def test_failed_logins_are_limited(app, world):
    client = _limited_app(app).test_client()
    wrong = {"username": world["A"].users["teacher"], "password": "wrong-password"}
    for _attempt in range(3):
        assert client.post("/login/", data=wrong).status_code == 302

    blocked = client.post("/login/", data=wrong)
    assert blocked.status_code == 429
    assert "Слишком много неудачных попыток входа" in blocked.text


def test_every_role_opens_own_profile(app, world, login):
    for code, username in world["A"].users.items():
        client = login(username)
        assert client.get("/users/userinfo/").status_code == 200, code
        assert client.get("/resetmypassword/form").status_code == 200, code


def test_school_role_cannot_list_all_users(app, world, login):
    response = login(world["A"].users["school_admin"]).get("/users/list/")
    assert response.status_code == 403
