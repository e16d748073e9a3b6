"""The login sheet of a class in a real browser: create the logins, print, download, sign in."""

import itertools

import openpyxl
import pytest

from tests.browser import sign_in
from tests.factories import TEST_PASSWORD, build_extra_school

pytestmark = pytest.mark.browser

_school_numbers = itertools.count(1)


@pytest.fixture()
def school(app):
    with app.app_context():
        return build_extra_school(f"BRL{next(_school_numbers)}")


def test_admin_creates_and_prints_class_logins(page, live_server, school, tmp_path):
    sign_in(page, live_server, school.users["school_admin"], TEST_PASSWORD)
    page.goto(f"{live_server}/school-users/")
    page.click("[data-testid=class-logins]")
    page.click("[data-testid=classes] a >> text=5А")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=person-row]").count() >= 3

    page.click("[data-testid=create-logins]")
    page.wait_for_load_state("networkidle")

    slips = page.locator("[data-testid=login-slip]")
    assert slips.count() == 2, "two students of 5А had no login"
    assert "только один раз" in page.locator("[data-testid=print-now]").inner_text()
    usernames = page.locator("[data-testid=slip-username]").all_inner_texts()
    passwords = page.locator("[data-testid=slip-password]").all_inner_texts()
    assert all(passwords)

    # The printed page shows the slips and hides the menu and the buttons.
    page.emulate_media(media="print")
    assert page.locator(".navbar").first.is_hidden()
    assert page.locator("[data-testid=print]").is_hidden()
    assert slips.first.is_visible()
    page.emulate_media(media="screen")

    with page.expect_download() as download_info:
        page.click("[data-testid=download-xlsx]")
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx")
    path = tmp_path / "sheet.xlsx"
    download.save_as(path)
    rows = list(openpyxl.load_workbook(path).active.iter_rows(min_row=4, values_only=True))
    assert sorted(row[3] for row in rows) == sorted(usernames)
    assert sorted(row[4] for row in rows) == sorted(passwords)


def test_new_login_chooses_own_password(page, live_server, school):
    sign_in(page, live_server, school.users["school_admin"], TEST_PASSWORD)
    page.goto(f"{live_server}/class-logins/")
    page.click("[data-testid=classes] a >> text=5А")
    page.click("[data-testid=create-logins]")
    page.wait_for_load_state("networkidle")
    username = page.locator("[data-testid=slip-username]").first.inner_text()
    password = page.locator("[data-testid=slip-password]").first.inner_text()
    page.context.clear_cookies()

    sign_in(page, live_server, username, password)
    assert page.url.endswith("/account/password/")
    page.goto(f"{live_server}/timetable/")
    assert page.url.endswith("/account/password/")

    page.fill("#current_password", password)
    page.fill("#new_password", "Своё-слово-7")
    page.fill("#repeat_password", "Своё-слово-7")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/account/password" not in page.url
    assert page.locator("h2").first.inner_text() == "Стартовая страница"
