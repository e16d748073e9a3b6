"""The template editor in a real browser: a move onto a busy teacher, refused, then overridden."""

import itertools

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.models import TimetableEntry, db
from tests.browser import sign_in
from tests.factories import TEST_PASSWORD
from tests.timetable_editor_setup import build_editor_school

pytestmark = pytest.mark.browser

#: The message the editor shows when 5А's Russian lands on Monday's lesson 3 of 5Б.
TEACHER_BUSY = "Учитель Иванова И. И. уже ведёт урок «Русский язык» в 5Б в понедельник, 3-й урок."


def _add_entry(setup, course_id, weekday, number) -> int:
    row = TimetableEntry(
        school_id=setup.school_id, course_id=course_id, weekday=weekday, lesson_number=number
    )
    db.session.add(row)
    db.session.commit()
    return row.id


_SCHOOL_NUMBERS = itertools.count(1)


@pytest.fixture()
def editor_school(app, world):
    """A school where Иванова teaches 5Б on Monday, lesson 3, and 5А on Tuesday, lesson 3.

    Returns the school and the id of 5А's line, the one the tests move.
    """
    with app.app_context():
        setup = build_editor_school(f"editB{next(_SCHOOL_NUMBERS)}")
        _add_entry(setup, setup.russian_b, 1, 3)
        return setup, _add_entry(setup, setup.russian_a, 2, 3)


def _stored(app, entry_id):
    with app.app_context():
        return db.session.execute(
            select(
                TimetableEntry.weekday,
                TimetableEntry.lesson_number,
                TimetableEntry.override_by_id,
                TimetableEntry.override_at,
            ).where(TimetableEntry.id == entry_id)
        ).one()


def _expect_conflict_then_override(page, app, entry_id):
    conflicts = page.get_by_test_id("editor-conflicts")
    expect(conflicts).to_be_visible()
    expect(conflicts.get_by_test_id("editor-conflict")).to_have_text([TEACHER_BUSY])
    stored = _stored(app, entry_id)
    assert (stored.weekday, stored.lesson_number) == (2, 3)

    save = page.get_by_test_id("editor-override-save")
    expect(save).to_be_disabled()
    page.get_by_test_id("editor-override-check").check()
    with page.expect_navigation():
        save.click()

    monday = page.get_by_test_id("editor-cell-1-3")
    expect(monday.locator(f".editor-entry[data-entry='{entry_id}']")).to_have_count(1)
    expect(monday.get_by_test_id("editor-override")).to_have_count(1)
    tuesday = page.get_by_test_id("editor-cell-2-3")
    expect(tuesday.get_by_test_id("editor-entry")).to_have_count(0)
    stored = _stored(app, entry_id)
    assert (stored.weekday, stored.lesson_number) == (1, 3)
    assert stored.override_by_id is not None
    assert stored.override_at is not None


def test_drag_onto_busy_teacher_then_override(page, live_server, app, editor_school):
    school, entry_id = editor_school
    sign_in(page, live_server, school.users["principal"], TEST_PASSWORD)
    page.goto(f"{live_server}/timetable-editor/class/{school.class_a}")

    source = page.locator(f".editor-entry[data-entry='{entry_id}']")
    page.drag_and_drop(f".editor-entry[data-entry='{entry_id}']", "[data-testid=editor-cell-1-3]")
    expect(source).to_be_visible()
    _expect_conflict_then_override(page, app, entry_id)


def test_move_form_onto_busy_teacher_then_override(page, live_server, app, editor_school):
    school, entry_id = editor_school
    sign_in(page, live_server, school.users["school_admin"], TEST_PASSWORD)
    page.goto(f"{live_server}/timetable-editor/class/{school.class_a}")

    page.locator(f".editor-entry[data-entry='{entry_id}']").click()
    form = page.get_by_test_id("move-form")
    expect(form.locator("select[name=entry]")).to_have_value(str(entry_id))
    form.locator("select[name=weekday]").select_option(label="Понедельник")
    form.locator("select[name=lesson_number]").select_option("3")
    form.get_by_test_id("move-submit").click()
    _expect_conflict_then_override(page, app, entry_id)
