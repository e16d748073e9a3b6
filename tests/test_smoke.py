"""The application starts, migrates and answers its health check."""


def test_health_reports_database_ok(app):
    response = app.test_client().get("/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_anonymous_start_page_redirects_to_login(app):
    response = app.test_client().get("/")
    assert response.status_code == 302
    assert "/login" in response.location


def test_each_school_role_reaches_start_page(app, world, login):
    for code, username in world["A"].users.items():
        response = login(username).get("/")
        assert response.status_code == 200, code
