"""The main pages in a real browser: journal, diary, timetable, summary, organisations, language.

Each test acts as a person would, through clicks and typing, and checks what the page shows.
The pages are in Russian, the default locale, unless a test switches the language.
"""

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.models import Mark, School, Student, db
from app.reports.xlsx import HEADER_ROW
from tests.browser import sign_in
from tests.factories import (
    TEST_PASSWORD,
    WEEK_START,
    add_membership,
    build_extra_school,
    make_user,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def journal_school(app, world):
    """A school of its own, so that the marks saved here do not reach the shared world."""
    with app.app_context():
        return build_extra_school("BJ")


def follow(page, locator) -> None:
    """Click a link or a submit button and wait until the page it leads to has loaded."""
    with page.expect_navigation():
        locator.click()


def short_name_of(app, student_id: int) -> str:
    with app.app_context():
        return db.session.get(Student, student_id).short_name


def student_row(table, name: str):
    """Return the row of one student in the lesson form or the course grid."""
    return table.locator("tbody tr", has_text=name)


def mark_field(lesson_grid, student_name: str, assignment_type: str):
    """Return the mark input of a student under the column of an assignment type."""
    headers = [text.strip() for text in lesson_grid.locator("thead th").all_inner_texts()]
    column = next(i for i, text in enumerate(headers) if text.startswith(assignment_type))
    cell = student_row(lesson_grid, student_name).locator("td").nth(column)
    return cell.locator("input[name^=mark-]")


def lesson_cell(grid, student_name: str, lesson_id: int):
    """Return the course grid cell of one student in one lesson."""
    return student_row(grid, student_name).locator(f"td[data-lesson='{lesson_id}']")


def open_first_quarter(page) -> None:
    follow(page, page.locator(".nav-tabs a", has_text="1 четверть"))


def open_lesson(page, grid) -> None:
    """Open the lesson of the test week from the date link in the course grid's header."""
    follow(page, grid.get_by_test_id("lesson-link").filter(has_text=WEEK_START.strftime("%d.%m")))


def test_teacher_enters_marks_in_journal(page, live_server, app, journal_school):
    lesson_id = journal_school.ids["Lesson"]
    anna = short_name_of(app, journal_school.ids["Student"])
    maria = short_name_of(app, journal_school.ids["SiblingStudent"])
    petr = short_name_of(app, journal_school.ids["OtherStudent"])
    sign_in(page, live_server, journal_school.users["teacher"], TEST_PASSWORD)

    follow(page, page.get_by_test_id("start-link").filter(has_text="Классный журнал"))
    course_list = page.get_by_test_id("journal-class").filter(has_text="5А")
    follow(page, course_list.get_by_test_id("journal-course").filter(has_text="Математика"))
    open_first_quarter(page)
    grid = page.get_by_test_id("journal-grid")
    assert student_row(grid, maria).get_by_test_id("average").inner_text() == "—"

    open_lesson(page, grid)
    assert "05.10.2026" in page.locator("h2").inner_text()
    lesson_grid = page.get_by_test_id("lesson-grid")
    mark_field(lesson_grid, maria, "Контрольная работа").fill("4")
    student_row(lesson_grid, anna).locator("select").select_option(label="Н — Отсутствовал")
    follow(page, page.get_by_role("button", name="Сохранить"))
    assert "Урок сохранён, изменений: 2." in page.locator(".alert").first.inner_text()

    follow(page, page.get_by_role("link", name="Назад к предмету"))
    open_first_quarter(page)
    grid = page.get_by_test_id("journal-grid")
    assert lesson_cell(grid, maria, lesson_id).inner_text().strip() == "4"
    assert student_row(grid, maria).get_by_test_id("average").inner_text() == "4,00"
    assert lesson_cell(grid, anna, lesson_id).locator(".mark").inner_text() == "5"
    assert lesson_cell(grid, anna, lesson_id).locator(".attendance").inner_text() == "Н"
    assert student_row(grid, anna).get_by_test_id("average").inner_text() == "5,00"

    open_lesson(page, grid)
    lesson_grid = page.get_by_test_id("lesson-grid")
    mark_field(lesson_grid, petr, "Контрольная работа").fill("7")
    mark_field(lesson_grid, maria, "Контрольная работа").fill("3")
    follow(page, page.get_by_role("button", name="Сохранить"))
    errors = page.get_by_test_id("journal-errors").inner_text()
    assert "Ничего не сохранено" in errors
    assert "Отметка «7» недопустима" in errors
    # The form keeps what the teacher typed, so the value can be corrected in place.
    lesson_grid = page.get_by_test_id("lesson-grid")
    assert mark_field(lesson_grid, petr, "Контрольная работа").input_value() == "7"

    follow(page, page.get_by_role("link", name="Назад к предмету"))
    open_first_quarter(page)
    grid = page.get_by_test_id("journal-grid")
    assert lesson_cell(grid, petr, lesson_id).locator(".mark").count() == 0
    assert lesson_cell(grid, maria, lesson_id).inner_text().strip() == "4"
    with app.app_context():
        petr_marks = db.session.scalar(
            select(func.count(Mark.id)).where(Mark.student_id == journal_school.ids["OtherStudent"])
        )
    assert petr_marks == 0


def test_parent_reads_diary_of_each_child(page, live_server, world):
    sign_in(page, live_server, world["A"].users["parent"], TEST_PASSWORD)

    follow(page, page.get_by_test_id("start-link").filter(has_text="Дневник"))
    page.goto(f"{page.url.split('?')[0]}?week={WEEK_START.isoformat()}")
    selector = page.get_by_test_id("child-selector")
    assert selector.locator("li.active").inner_text() == "Ученикова Анна"
    monday = page.locator(f"[data-testid=diary-day][data-date='{WEEK_START.isoformat()}']")
    lesson = monday.get_by_test_id("diary-lesson").filter(has_text="Математика")
    assert "Натуральные числа" in lesson.inner_text()
    assert lesson.get_by_test_id("diary-mark").inner_text() == "5"
    assert "№ 15, 16" in lesson.get_by_test_id("homework-given").inner_text()

    follow(page, selector.get_by_role("link", name="Ученикова Мария"))
    assert "Ученикова Мария" in page.locator("h2").inner_text()
    assert page.get_by_test_id("child-selector").locator("li.active").inner_text() == (
        "Ученикова Мария"
    )
    monday = page.locator(f"[data-testid=diary-day][data-date='{WEEK_START.isoformat()}']")
    lesson = monday.get_by_test_id("diary-lesson").filter(has_text="Математика")
    assert "Натуральные числа" in lesson.inner_text()
    assert lesson.get_by_test_id("diary-mark").count() == 0


def test_student_opens_class_timetable(page, live_server, world):
    sign_in(page, live_server, world["A"].users["student"], TEST_PASSWORD)

    follow(page, page.locator(".navbar").get_by_role("link", name="Расписание"))
    assert page.get_by_test_id("timetable-title").inner_text() == "Расписание класса 5А"
    grid = page.get_by_test_id("timetable-grid")
    headers = [text.strip() for text in grid.locator("thead th").all_inner_texts()]
    monday_column = next(i for i, text in enumerate(headers) if text.startswith("Понедельник"))
    # Each row starts with a <th> holding the lesson number and its bell times.
    lesson_numbers = [text.split()[0] for text in grid.locator("tbody th").all_inner_texts()]
    second_lesson = grid.locator("tbody tr").nth(lesson_numbers.index("2"))
    # The weekday cells are <td>, so they follow the header's columns shifted by one.
    monday_cell = second_lesson.locator("td").nth(monday_column - 1)
    assert "Математика" in monday_cell.inner_text()
    assert "Кабинет A-101" in monday_cell.inner_text()
    assert grid.get_by_test_id("timetable-item").filter(has_text="Математика").count() == 1


def test_authority_downloads_summary(page, live_server, world, tmp_path):
    sign_in(page, live_server, world.users["authority"], TEST_PASSWORD)

    follow(page, page.get_by_test_id("start-link").filter(has_text="Сводка по школам"))
    page.select_option("#year", "2026/2027")
    page.select_option("#term", "1")
    follow(page, page.get_by_role("button", name="Показать"))
    table = page.get_by_test_id("summary-table")
    schools = {text.strip() for text in table.locator("tbody tr td:first-child").all_inner_texts()}
    assert {"Школа № A", "Школа № B"} <= schools
    assert "Школа № C" not in page.content()
    chart = page.get_by_test_id("summary-chart").locator("canvas")
    labels = chart.evaluate("canvas => window.Chart.getChart(canvas).data.labels")
    assert labels == ["Школа № A", "Школа № B"]

    with page.expect_download() as download_info:
        page.get_by_test_id("summary-xlsx").click()
    download = download_info.value
    assert download.suggested_filename.startswith("Сводка_по_школам")
    assert download.suggested_filename.endswith(".xlsx")
    path = tmp_path / "summary.xlsx"
    download.save_as(path)

    sheet = load_workbook(path).active
    header = [cell.value for cell in sheet[HEADER_ROW + 1]]
    assert header == [
        "Школа",
        "Параллель",
        "Учащихся с отметками за период",
        "Успевающих",
        "Учатся на «4» и «5»",
        "Средний балл",
        "Качество знаний",
        "Успеваемость",
        "Степень обученности (СОУ)",
        "Пропущено уроков на учащегося",
    ]
    names = {row[0] for row in sheet.iter_rows(min_row=HEADER_ROW + 2, values_only=True)}
    assert {"Школа № A", "Школа № B"} <= names
    assert "Школа № C" not in names


def test_authority_ranking_draws_chart_on_phone(page, live_server, world):
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in(page, live_server, world.users["authority"], TEST_PASSWORD)

    page.goto(f"{live_server}/authority/ranking?year=2026/2027&term=1")
    figure = page.get_by_test_id("ranking-chart")
    canvas = figure.locator("canvas")
    canvas.wait_for()
    drawn = canvas.evaluate("canvas => Boolean(window.Chart && window.Chart.getChart(canvas))")
    assert drawn
    box = canvas.bounding_box()
    assert box["width"] > 200
    assert box["x"] + box["width"] <= 375
    labels = canvas.evaluate("canvas => window.Chart.getChart(canvas).data.labels")
    assert {"Школа № A", "Школа № B"} <= set(labels)
    assert page.get_by_test_id("ranking-table").is_visible()
    assert problems == []


def test_login_of_two_schools_switches(page, live_server, app, world):
    with app.app_context():
        user = make_user("teacher_browser_AB")
        for key in ("A", "B"):
            add_membership(user, "teacher", school=db.session.get(School, world[key].school_id))
        db.session.commit()
    sign_in(page, live_server, "teacher_browser_AB", TEST_PASSWORD)

    assert page.locator("h2").inner_text() == "Выбор организации"
    follow(page, page.get_by_test_id("membership").filter(has_text="Школа № A"))
    assert page.get_by_test_id("organisation-name").inner_text() == "Школа № A"
    assert page.locator("h2").inner_text() == "Стартовая страница"

    follow(page, page.get_by_role("link", name="Сменить организацию"))
    follow(page, page.get_by_test_id("membership").filter(has_text="Школа № B"))
    assert page.get_by_test_id("organisation-name").inner_text() == "Школа № B"
    assert "Вы работаете в организации: Школа № B." in page.locator(".alert").first.inner_text()


def choose_language(page, name: str) -> None:
    """Open the flag menu of the top bar and pick a language by its name."""
    page.locator(".navbar .dropdown-toggle").filter(has=page.locator("i.flag")).click()
    follow(page, page.locator(".navbar .dropdown-menu a", has_text=name))


def test_language_switches_through_flag_menu(page, live_server, world):
    sign_in(page, live_server, world["A"].users["teacher"], TEST_PASSWORD)
    assert page.locator("h2").inner_text() == "Стартовая страница"

    choose_language(page, "English")
    assert page.locator("h2").inner_text() == "Start page"
    assert page.get_by_test_id("start-link").filter(has_text="Class journal").count() == 1

    choose_language(page, "Русский")
    assert page.locator("h2").inner_text() == "Стартовая страница"
    assert page.get_by_test_id("start-link").filter(has_text="Классный журнал").count() == 1
