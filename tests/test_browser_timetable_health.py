"""Health warnings in the template editor, in a real browser: shown, then gone after a move."""

import itertools
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from app.models import Course, SchoolClass, Subject, TimetableEntry, db
from tests.browser import sign_in
from tests.factories import TEST_PASSWORD, build_extra_school

pytestmark = pytest.mark.browser

_SCHOOL_NUMBERS = itertools.count(1)


@pytest.fixture()
def crowded_tuesday(app, world):
    """A school whose 5А has seven lessons on Tuesday, one over the grade's maximum.

    Returns the school, the class id and the id of Tuesday's seventh lesson.
    """
    with app.app_context():
        built = build_extra_school(f"hlthB{next(_SCHOOL_NUMBERS)}")
        sid = built.school_id
        db.session.execute(TimetableEntry.__table__.delete().where(TimetableEntry.school_id == sid))
        school_class = db.session.get(SchoolClass, built.ids["SchoolClass"])
        subject = Subject(school_id=sid, name="Русский язык")
        db.session.add(subject)
        db.session.flush()
        course = Course(
            school_id=sid,
            year_id=school_class.year_id,
            subject_id=subject.id,
            class_id=school_class.id,
            hours_per_week=Decimal(10),
        )
        db.session.add(course)
        db.session.flush()
        lines = [
            TimetableEntry(school_id=sid, course_id=course.id, weekday=2, lesson_number=number)
            for number in range(1, 8)
        ]
        db.session.add_all(lines)
        db.session.commit()
        return built, school_class.id, lines[-1].id


def test_warning_shown_then_gone_after_move(page, live_server, crowded_tuesday):
    school, class_id, seventh = crowded_tuesday
    sign_in(page, live_server, school.users["principal"], TEST_PASSWORD)
    page.goto(f"{live_server}/timetable-editor/class/{class_id}")

    warnings = page.get_by_test_id("editor-warnings")
    expect(warnings).to_be_visible()
    expect(warnings.get_by_test_id("editor-warning")).to_have_text(
        ["5А, вторник: 7 уроков при допустимых 6 (СанПиН 1.2.3685-21, табл. 6.6)."]
    )

    with page.expect_navigation():
        page.drag_and_drop(
            f".editor-entry[data-entry='{seventh}']", "[data-testid=editor-cell-3-1]"
        )
    expect(page.get_by_test_id("editor-warnings")).to_be_hidden()
    wednesday = page.get_by_test_id("editor-cell-3-1")
    expect(wednesday.locator(f".editor-entry[data-entry='{seventh}']")).to_have_count(1)
