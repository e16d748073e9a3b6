"""The secretary's movement pages in a real browser: a transfer and the class list at a date."""

import pytest

from app.models import SchoolClass, db
from tests.browser import sign_in
from tests.factories import TEST_PASSWORD, build_extra_school

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def movement_school(app, world):
    """A school of its own with classes 5А and 5Б, so the transfer stays out of the world."""
    with app.app_context():
        school = build_extra_school("BV")
        fifth = db.session.get(SchoolClass, school.ids["SchoolClass"])
        db.session.add(
            SchoolClass(
                school_id=school.school_id, year_id=fifth.year_id, grade=5, letter="Б", name="5Б"
            )
        )
        db.session.commit()
        return school


def follow(page, locator) -> None:
    with page.expect_navigation():
        locator.click()


def test_secretary_transfers_and_reads_class_list(page, live_server, movement_school):
    sign_in(page, live_server, movement_school.users["secretary"], TEST_PASSWORD)
    page.goto(f"{live_server}/movement/")
    page.fill("#q", "Друг")
    follow(page, page.get_by_role("button", name="Найти"))
    follow(page, page.get_by_test_id("students").get_by_role("link", name="Другой Пётр"))

    form = page.get_by_test_id("transfer")
    form.locator("select[name=class_id]").select_option(label="5Б (2026/2027)")
    form.locator("input[name=date]").fill("10.11.2026")
    form.locator("input[name=order_number]").fill("17-у")
    form.locator("input[name=order_date]").fill("09.11.2026")
    follow(page, form.get_by_role("button", name="Перевести"))

    assert "Движение оформлено." in page.content()
    stays = page.get_by_test_id("stays").locator("tbody tr")
    assert stays.count() == 2
    assert "Перевод в другой класс, № 17-у от 09.11.2026" in stays.nth(0).inner_text()

    page.goto(f"{live_server}/movement/class-list")
    page.locator("select[name=class]").select_option(label="5А (2026/2027)")
    page.fill("#date", "09.11.2026")
    follow(page, page.get_by_role("button", name="Показать"))
    assert "Другой Пётр" in page.get_by_test_id("class-list").inner_text()

    page.fill("#date", "10.11.2026")
    follow(page, page.get_by_role("button", name="Показать"))
    names = page.get_by_test_id("class-list").inner_text()
    assert "Другой Пётр" not in names
    assert "Ученикова Анна" in names
