"""Shared fixtures: one application on a real database, and two schools to test against.

The database is a fresh SQLite file, or the PostgreSQL database named by
TEST_DATABASE_URL, which is emptied first. The schema comes from the migrations, as in
production.
"""

import os

import pytest
from sqlalchemy import create_engine, text

from tests.factories import TEST_PASSWORD, build_world

#: The live server and Chromium fixtures of the browser tests.
pytest_plugins = ["tests.browser"]


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    from app import create_app
    from app.commands import prepare_database

    application = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": _database_url(tmp_path_factory),
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "AUTH_RATE_LIMITED": False,
            "DEMO_LOGINS_FILE": str(tmp_path_factory.mktemp("demo") / "demo-logins.csv"),
            "PUBLIC_URL": "https://school.example.test",
            "ATTACHMENTS_DIR": str(tmp_path_factory.mktemp("attachments")),
            "IMPORT_DIR": str(tmp_path_factory.mktemp("imports")),
        }
    )
    with application.app_context():
        prepare_database()
    return application


@pytest.fixture(scope="session")
def world(app):
    """Two schools of one authority and a school of another, each with one of everything."""
    with app.app_context():
        return build_world()


@pytest.fixture()
def db_session(app):
    from app.models import db

    with app.app_context():
        yield db.session
        db.session.rollback()


@pytest.fixture()
def login(app):
    """Return a function that logs a username in and gives back its test client."""

    def _login(username: str, password: str = TEST_PASSWORD, membership_id: int | None = None):
        client = app.test_client()
        response = client.post("/login/", data={"username": username, "password": password})
        assert response.status_code == 302, f"login of {username} failed"
        if membership_id is not None:
            response = client.post("/organisation/choose", data={"membership_id": membership_id})
            assert response.status_code == 302
        return client

    return _login
