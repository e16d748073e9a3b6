"""Keyboard entry in the course grid, in a real browser: each cell is saved as it is left."""

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.models import Assignment, Lesson, Term, db
from tests.browser import sign_in
from tests.factories import TEST_PASSWORD, WEEK_START, build_extra_school

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def grid_school(app, world):
    """A school of its own with a second lesson, so that the grid has two mark columns."""
    with app.app_context():
        built = build_extra_school("BG")
        first = db.session.get(Lesson, built.ids["Lesson"])
        second = Lesson(
            school_id=built.school_id,
            course_id=first.course_id,
            date=WEEK_START + dt.timedelta(days=1),
            lesson_number=first.lesson_number,
        )
        db.session.add(second)
        db.session.flush()
        db.session.add(
            Assignment(
                school_id=built.school_id,
                lesson_id=second.id,
                type_id=first.assignments[0].type_id,
                weight=Decimal("1"),
            )
        )
        built.ids["SecondLesson"] = second.id
        built.ids["FirstQuarter"] = db.session.scalar(
            select(Term.id).where(
                Term.school_id == built.school_id, Term.number == 1, Term.kind == "quarter"
            )
        )
        db.session.commit()
        return built


def cell(grid, student_id: int, lesson_id: int):
    return grid.locator(f"tr[data-student='{student_id}'] td[data-lesson='{lesson_id}']")


def average(grid, student_id: int):
    return grid.locator(f"tr[data-student='{student_id}']").get_by_test_id("average")


def focused_cell(page) -> tuple[int, int]:
    """(student id, lesson id) of the cell whose input has the focus."""
    found = page.evaluate(
        "() => { var td = document.activeElement.closest('td.grid-cell');"
        " return td && [td.parentNode.dataset.student, td.dataset.lesson]; }"
    )
    assert found is not None, "no grid cell has the focus"
    return int(found[0]), int(found[1])


def expect_state(grid, student_id, lesson_id, state: str) -> None:
    status = cell(grid, student_id, lesson_id).get_by_test_id("cell-status")
    expect(status).to_have_attribute("data-state", state)


def test_teacher_types_marks_from_keyboard(page, live_server, app, grid_school):
    first, second = grid_school.ids["Lesson"], grid_school.ids["SecondLesson"]
    url = (
        f"{live_server}/journal/course/{grid_school.ids['Course']}"
        f"?term={grid_school.ids['FirstQuarter']}"
    )
    sign_in(page, live_server, grid_school.users["teacher"], TEST_PASSWORD)
    page.goto(url)
    grid = page.get_by_test_id("journal-grid")
    rows = grid.locator("tbody tr")
    students = [int(rows.nth(i).get_attribute("data-student")) for i in range(rows.count())]
    anna = grid_school.ids["Student"]
    below = students[students.index(anna) + 1]
    expect(average(grid, anna)).to_have_text("5,00")

    # Click Anna's stored «5»: the cell opens as an input with the mark selected.
    cell(grid, anna, first).click()
    editor = cell(grid, anna, first).locator("input")
    expect(editor).to_have_value("5")
    page.keyboard.type("4")
    page.keyboard.press("Tab")
    assert focused_cell(page) == (anna, second)
    expect_state(grid, anna, first, "saved")
    expect(cell(grid, anna, first).locator(".grid-value")).to_have_text("4")
    expect(average(grid, anna)).to_have_text("4,00")

    # Enter saves and moves down; the weighted average follows: (4 × 2 + 5 × 1) / 3.
    page.keyboard.type("5")
    page.keyboard.press("Enter")
    assert focused_cell(page) == (below, second)
    expect_state(grid, anna, second, "saved")
    expect(average(grid, anna)).to_have_text("4,33")

    # The arrows move without saving an unchanged cell.
    page.keyboard.press("ArrowLeft")
    assert focused_cell(page) == (below, first)
    assert cell(grid, below, second).get_by_test_id("cell-status").count() == 0
    page.keyboard.type("3")
    page.keyboard.press("ArrowUp")
    assert focused_cell(page) == (anna, first)
    expect_state(grid, below, first, "saved")
    expect(average(grid, below)).to_have_text("3,00")

    # A wrong mark fails with the reason as a tooltip and as text for screen readers.
    page.keyboard.type("9")
    page.keyboard.press("Shift+Tab")
    expect_state(grid, anna, first, "failed")
    failed = cell(grid, anna, first)
    assert "9" in failed.get_attribute("title")
    assert "9" in failed.get_by_test_id("cell-status").inner_text()
    expect(failed.locator(".grid-value")).to_have_text("4")
    # Back in the cell, the typed value is there to correct; Esc restores the saved one.
    failed.click()
    expect(failed.locator("input")).to_have_value("9")
    page.keyboard.press("Escape")
    expect(failed.locator("input")).to_have_value("4")

    page.reload()
    grid = page.get_by_test_id("journal-grid")
    expect(cell(grid, anna, first).locator(".grid-value")).to_have_text("4")
    expect(cell(grid, anna, second).locator(".grid-value")).to_have_text("5")
    expect(cell(grid, below, first).locator(".grid-value")).to_have_text("3")
    expect(average(grid, anna)).to_have_text("4,33")
    expect(average(grid, below)).to_have_text("3,00")
