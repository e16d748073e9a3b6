"""The lesson changes page in a real browser: the principal substitutes a teacher."""

import pytest

from app.models import db
from tests.browser import sign_in
from tests.factories import TEST_PASSWORD, WEEK_START, add_teacher, build_extra_school

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def school(app, world):
    with app.app_context():
        built = build_extra_school("chg4")
        add_teacher(built, "substitute_chg4")
        db.session.commit()
        return built


def test_principal_substitutes_teacher(page, live_server, school):
    sign_in(page, live_server, school.users["principal"], TEST_PASSWORD)
    page.goto(f"{live_server}/timetable-changes/?date={WEEK_START.isoformat()}")
    assert page.get_by_test_id("no-changes").is_visible()

    row = page.get_by_test_id("day-lessons").locator("tbody tr", has_text="Математика")
    with page.expect_navigation():
        row.get_by_test_id("change-lesson").click()
    form = page.locator("form", has=page.locator("input[name=action][value=substitute]"))
    form.locator("select[name=substitute_id]").select_option(label="Учителев substitute_chg4")
    form.locator("input[name=reason]").fill("курсы повышения квалификации")
    with page.expect_navigation():
        form.get_by_role("button", name="Сохранить замену").click()

    change = page.get_by_test_id("day-change")
    assert change.count() == 1
    assert "замена: Учителев" in change.inner_text()
    assert "курсы повышения квалификации" in change.inner_text()
