"""The application starts, migrates and answers its health check."""


def test_health_reports_database_ok(app):
    response = app.test_client().get("/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_favicon_served_without_login(app):
    response = app.test_client().get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    assert response.data[:4] == b"\x00\x00\x01\x00"


def test_anonymous_start_page_redirects_to_login(app):
    response = app.test_client().get("/")
    assert response.status_code == 302
    assert "/login" in response.location


def test_each_school_role_reaches_start_page(app, world, login):
    for code, username in world["A"].users.items():
        response = login(username).get("/")
        assert response.status_code == 200, code


def test_openapi_spec_lists_core_apis(app, world, login):
    client = login(world.users["server_admin"])
    response = client.get("/api/v1/_openapi")
    assert response.status_code == 200
    paths = response.json["paths"]
    for resource in ("student", "course", "lesson", "mark", "attendance", "final_mark"):
        assert f"/api/v1/{resource}/" in paths, resource


def test_russian_is_default_locale(app, world, login):
    client = login(world["A"].users["teacher"])
    page = client.get("/").get_data(as_text=True)
    assert 'lang="ru"' in page or "Выход" in page or "Выйти" in page


def test_page_names_its_language(app, world, login):
    client = login(world["A"].users["teacher"])

    russian = client.get("/").get_data(as_text=True)
    client.get("/lang/en")
    english = client.get("/").get_data(as_text=True)

    assert '<html lang="ru">' in russian
    assert '<html lang="en">' in english


def _locale_menu(page: str) -> str:
    start = page.index('data-testid="locale-menu"')
    return page[start : page.index("</ul>", start)]


def test_language_menu_offers_other_language(app, world, login):
    client = login(world["A"].users["teacher"])

    russian = _locale_menu(client.get("/").get_data(as_text=True))
    client.get("/lang/en")
    english = _locale_menu(client.get("/").get_data(as_text=True))

    assert 'class="flag ru"' in russian
    assert 'href="/lang/en"' in russian
    assert 'href="/lang/ru"' not in russian
    assert 'aria-label="Язык"' in russian
    assert 'class="flag gb"' in english
    assert 'href="/lang/ru"' in english
    assert 'href="/lang/en"' not in english
    assert 'aria-label="Language"' in english


def test_language_switch_returns_to_referrer(app, world, login):
    client = login(world["A"].users["teacher"])

    back = client.get("/lang/en", headers={"Referer": "http://localhost/journal/?a=1"})
    english = client.get("/journal/").get_data(as_text=True)
    foreign = client.get("/lang/ru", headers={"Referer": "http://elsewhere.example/journal/"})
    bare = client.get("/lang/en")

    assert back.status_code == 302
    assert back.headers["Location"] == "/journal/?a=1"
    assert '<html lang="en">' in english
    assert foreign.headers["Location"] == "/"
    assert bare.headers["Location"] == "/"
    assert client.get("/lang/xx").status_code == 404


def test_static_file_leaves_session_cookie_alone(app, world, login):
    """A stylesheet served during a language switch must not write back an older session."""
    client = login(world["A"].users["teacher"])

    response = client.get("/static/school.css")

    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_lists_write_dates_and_numbers_in_russian(app, world, login):
    client = login(world["A"].users["principal"])

    terms = client.get("/terms/list/").get_data(as_text=True)
    assert "01.09.2026" in terms
    assert "2026-09-01" not in terms

    types = client.get("/assignment-types/list/").get_data(as_text=True)
    assert "Контрольная работа" in types
    assert "2.00" not in types
    assert "None" not in types


#: Reports of one school, and their addresses.
SCHOOL_ONLY_LINKS = ("/journal-fill/", "/journal/programme/", "/assessment-schedule/")


def test_server_admin_menu_hides_school_reports(app, world, login):
    """The server administrator has every permission but works in no school."""
    admin_page = login(world.users["server_admin"]).get("/").get_data(as_text=True)
    principal_page = login(world["A"].users["principal"]).get("/").get_data(as_text=True)

    for link in SCHOOL_ONLY_LINKS:
        assert f'href="{link}' not in admin_page, link
        assert f'href="{link}' in principal_page, link


def test_alert_dialog_button_is_russian(app, world, login):
    page = login(world["A"].users["teacher"]).get("/").get_data(as_text=True)

    alert = page[page.index('id="modal-alert"') :]
    alert = alert[: alert.index("</button>")]
    assert alert.endswith(">ОК")
