"""The school card and a staff record filled in through a real browser."""

import pytest
from sqlalchemy import select

from app.models import Employee, db
from tests.browser import sign_in
from tests.factories import TEST_PASSWORD, build_extra_school

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def school(app):
    with app.app_context():
        return build_extra_school("browser-records")


def test_admin_fixes_invalid_inn_in_browser(page, live_server, school):
    sign_in(page, live_server, school.users["school_admin"], TEST_PASSWORD)
    page.goto(f"{live_server}/school-card/edit")

    page.fill("#inn", "7707083894")
    page.fill("#design_capacity", "900")
    page.click("button[type=submit]")

    assert "неверная контрольная цифра" in page.locator("[data-testid=errors]").inner_text()
    assert page.input_value("#design_capacity") == "900"

    page.fill("#inn", "7707083893")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")

    assert page.url.endswith("/school-card/")
    card = page.locator("[data-testid=card-section]").first.inner_text()
    assert "7707083893" in card


def test_hr_adds_position_in_browser(app, page, live_server, school):
    with app.app_context():
        employee_id = db.session.scalar(
            select(Employee.id).where(
                Employee.school_id == school.school_id, Employee.first_name == "medical"
            )
        )
    sign_in(page, live_server, school.users["hr"], TEST_PASSWORD)
    page.goto(f"{live_server}/staff-records/{employee_id}")

    page.fill("input[name=title]", "Медицинская сестра")
    page.fill("input[name=rate]", "0,5")
    page.locator("input[name=date_from]").first.fill("01.09.2026")
    page.locator("input[name=title]").press("Enter")
    page.wait_for_load_state("networkidle")

    positions = page.locator("[data-testid=positions]").inner_text()
    assert "Медицинская сестра" in positions
    assert "0,50" in positions
