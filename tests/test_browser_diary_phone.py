"""The diary on a phone: a parent reads a week at 375 × 740 in a real Chromium.

The page must not scroll sideways: wide tables scroll inside their own container, and the
lessons, marks, overdue assignments and results must be on the page.
"""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import Assignment, AssignmentType, Employee, Lesson, Mark, db
from tests.browser import sign_in
from tests.factories import TEST_PASSWORD, WEEK_START, build_extra_school

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="module")
def phone_school(app, world):
    """A week with a substitution, a long homework text, a commented mark and a duty mark."""
    with app.app_context():
        built = build_extra_school("DP")
        sid = built.school_id
        lesson = db.session.get(Lesson, built.ids["Lesson"])
        substitute = Employee(school_id=sid, last_name="Заменова", first_name="Ирина")
        db.session.add(substitute)
        db.session.flush()
        lesson.substitute_id = substitute.id
        homework_type = db.session.scalar(
            select(AssignmentType).where(
                AssignmentType.school_id == sid, AssignmentType.is_homework.is_(True)
            )
        )
        essay = Assignment(
            school_id=sid,
            lesson_id=lesson.id,
            type_id=homework_type.id,
            weight=Decimal("1"),
            text="Прочитать параграф 12 и письменно ответить на вопросы 1–5 в конце параграфа; "
            "учебник-стр-112-очень-длинное-обозначение-задания-без-единого-пробела",
            due_date=WEEK_START + dt.timedelta(days=3),
        )
        db.session.add(essay)
        db.session.flush()
        db.session.add(
            Mark(
                school_id=sid,
                assignment_id=essay.id,
                student_id=built.ids["Student"],
                kind="duty",
                comment="Не сдано, принести к четвергу",
            )
        )
        db.session.commit()
        return built


@pytest.fixture()
def phone_page(chromium):
    context = chromium.new_context(
        locale="ru-RU", viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    page = context.new_page()
    yield page
    context.close()


def page_width(page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth")


def fits_screen(locator) -> bool:
    """Tell whether the element lies within the phone's width, not scrolled out of sight."""
    box = locator.bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def test_parent_reads_week_on_phone(phone_page, live_server, phone_school):
    page = phone_page
    sign_in(page, live_server, phone_school.users["parent"], TEST_PASSWORD)
    page.goto(f"{live_server}/diary/?week={WEEK_START.isoformat()}")

    assert page_width(page) <= PHONE["width"]
    monday = page.locator(f"[data-testid=diary-day][data-date='{WEEK_START.isoformat()}']")
    maths = monday.get_by_test_id("diary-lesson").filter(has_text="Математика")
    assert maths.is_visible()
    assert maths.get_by_test_id("substitution").is_visible()
    marks = maths.get_by_test_id("diary-mark")
    assert marks.first.is_visible()
    assert marks.all_inner_texts() == ["5", "•"]
    assert maths.get_by_test_id("mark-comment").is_visible()
    for part in (
        marks.last,
        maths.get_by_test_id("mark-comment"),
        maths.get_by_test_id("homework-given").last,
    ):
        assert fits_screen(part), part
    overdue = page.get_by_test_id("overdue")
    assert overdue.is_visible()
    assert overdue.get_by_test_id("overdue-assignment").count() == 1
    assert overdue.get_by_test_id("overdue-assignment").is_visible()
    assert fits_screen(overdue.get_by_test_id("days-overdue"))
    results = page.get_by_test_id("results")
    assert results.is_visible()
    assert results.get_by_test_id("results-subject").first.is_visible()


def test_phone_week_navigation_and_jump(phone_page, live_server, phone_school):
    page = phone_page
    sign_in(page, live_server, phone_school.users["parent"], TEST_PASSWORD)
    page.goto(f"{live_server}/diary/?week={WEEK_START.isoformat()}")

    with page.expect_navigation():
        page.get_by_test_id("next-week").click()
    next_monday = WEEK_START + dt.timedelta(days=7)
    assert page.locator(f"[data-testid=diary-day][data-date='{next_monday.isoformat()}']").count()
    assert page_width(page) <= PHONE["width"]

    jump = page.get_by_test_id("jump-to-date")
    jump.locator("input[name=week]").fill("2026-09-16")
    with page.expect_navigation():
        jump.locator("button[type=submit]").click()
    assert "week=2026-09-16" in page.url
    assert page.locator("[data-testid=diary-day][data-date='2026-09-14']").count() == 1
    assert page_width(page) <= PHONE["width"]
