"""A principal imports an aSc Timetables export through the browser: preview, confirm."""

from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import AcademicYear, Course, TimetableEntry, db
from tests.browser import sign_in
from tests.factories import TEST_PASSWORD, build_extra_school

pytestmark = pytest.mark.browser

KEY = "fetbrowser"
ASC_FILE = Path(__file__).parent / "data" / "asc_small.xml"


@pytest.fixture(scope="module")
def school(app):
    with app.app_context():
        return build_extra_school(KEY)


def _counts(school_id: int) -> tuple[int, int]:
    year_id = db.session.scalar(select(AcademicYear.id).where(AcademicYear.school_id == school_id))
    courses = db.session.scalar(
        select(func.count()).select_from(Course).where(Course.year_id == year_id)
    )
    entries = db.session.scalar(
        select(func.count())
        .select_from(TimetableEntry)
        .join(Course, Course.id == TimetableEntry.course_id)
        .where(Course.year_id == year_id)
    )
    return courses, entries


def test_principal_imports_asc_timetable_in_browser(app, page, live_server, school, tmp_path):
    with app.app_context():
        courses_before, entries_before = _counts(school.school_id)
    sign_in(page, live_server, f"principal_{KEY}", TEST_PASSWORD)
    page.goto(f"{live_server}/timetable/import/")
    page.select_option("select[name=file_format]", "asc")
    page.set_input_files("input[name=file]", str(ASC_FILE))
    page.click("[data-testid=import-upload] button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(tmp_path / "preview.png"), full_page=True)

    assert (
        page.locator("[data-testid=import-counts] tr[data-kind=course]").get_attribute("data-new")
        == "4"
    )
    assert page.locator("[data-testid=import-problems] tr[data-kind=class]").count() == 1
    page.click("[data-testid=import-confirm] button[type=submit]")
    page.wait_for_load_state("networkidle")

    assert "Расписание импортировано" in page.content()
    with app.app_context():
        courses, entries = _counts(school.school_id)
    assert courses - courses_before == 4
    assert entries - entries_before == 5
