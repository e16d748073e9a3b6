"""The school's assessment regulation: its settings page, the page parents read, and the
grade-2 rule the journal takes from it.

Every test that saves builds a school of its own; the shared world is only read.
"""

import datetime as dt
import html
import itertools
import re
from decimal import Decimal

import pytest
from flask_babel import gettext
from sqlalchemy import func, select

from app.models import (
    AcademicYear,
    Assignment,
    AssignmentType,
    Lesson,
    Mark,
    Regulation,
    SchoolClass,
    Student,
    db,
)
from app.services.journal import lesson_term
from app.services.regulation import (
    EXTRA_MARKS,
    GRADE2_TERM_LABEL,
    MIN_MARKS,
    MISSED_PERCENT,
    WholeNumber,
    _check_whole_number,
    _threshold_error,
    describe_marks_needed,
    grade2_mark_rejection,
    regulation_for,
)
from tests.factories import WEEK_START, add_course_with_lesson, build_extra_school

EDIT_URL = "/regulation/"
VIEW_URL = "/regulation/view"
#: A Tuesday of the second quarter of the factory's year.
SECOND_QUARTER_DAY = dt.date(2026, 11, 10)

_school_numbers = itertools.count(1)


@pytest.fixture()
def school(app, world):
    with app.app_context():
        return build_extra_school(f"RG{next(_school_numbers):02d}")


# --- Helpers ----------------------------------------------------------------------------


def form_data(year_id: int, **overrides) -> dict:
    """The form as the page posts it with the default rules, with fields replaced.

    A checkbox given as False is left out of the request, as a browser leaves it out.
    """
    data = {
        "year": str(year_id),
        "threshold-2": "1,5",
        "threshold-3": "2,5",
        "threshold-4": "3,5",
        "threshold-5": "4,5",
        "min_marks": "3",
        "min_marks_per_extra_hour": "1",
        "missed_percent": "50",
        "no_top_mark_with_fail": False,
        "year_tie_rule": "student",
        "grade2_marks_from_term": "2",
        "note": "",
    }
    data.update(overrides)
    return {
        name: "1" if value is True else value for name, value in data.items() if value is not False
    }


def stored_rows(app, school_id: int) -> list[dict]:
    """The school's regulation rows as plain values, by year id."""
    with app.app_context():
        rows = db.session.scalars(
            select(Regulation).where(Regulation.school_id == school_id).order_by(Regulation.year_id)
        )
        return [
            {
                "year_id": row.year_id,
                "thresholds": row.thresholds,
                "min_marks": row.min_marks,
                "min_marks_per_extra_hour": row.min_marks_per_extra_hour,
                "max_missed_share": Decimal(row.max_missed_share),
                "no_top_mark_with_fail": row.no_top_mark_with_fail,
                "year_tie_rule": row.year_tie_rule,
                "grade2_marks_from_term": row.grade2_marks_from_term,
                "note": row.note,
            }
            for row in rows
        ]


def error_block(page: str) -> str:
    assert 'data-testid="regulation-errors"' in page
    block = page.split('data-testid="regulation-errors"')[1].split("</div>")[0]
    return html.unescape(block)


def input_value(page: str, name: str) -> str:
    tag = page.split(f'name="{name}"')[1].split(">")[0]
    return html.unescape(tag.split('value="')[1].split('"')[0])


def year_field(year_id: int) -> str:
    """The hidden field that names the year a posted form belongs to."""
    return f'<input type="hidden" name="year" value="{year_id}">'


def selected_tie_rule(page: str) -> str:
    select_tag = page.split('name="year_tie_rule"')[1].split("</select>")[0]
    return select_tag.split("selected")[0].rsplit('value="', 1)[1].split('"')[0]


def add_old_year(app, school, closed: bool = False) -> int:
    with app.app_context():
        year = AcademicYear(
            school_id=school.school_id,
            name="2025/2026",
            start_date=dt.date(2025, 9, 1),
            end_date=dt.date(2026, 5, 31),
            is_closed=closed,
        )
        db.session.add(year)
        db.session.commit()
        return year.id


# --- The settings page ------------------------------------------------------------------


def test_year_without_row_shows_defaults(app, school, login):
    client = login(school.users["principal"])

    page = client.get(EDIT_URL)

    assert page.status_code == 200
    assert input_value(page.text, "threshold-2") == "1,5"
    assert input_value(page.text, "threshold-3") == "2,5"
    assert input_value(page.text, "threshold-4") == "3,5"
    assert input_value(page.text, "threshold-5") == "4,5"
    assert 'name="threshold-6"' not in page.text
    assert 'name="threshold-1"' not in page.text
    assert input_value(page.text, "min_marks") == "3"
    assert input_value(page.text, "min_marks_per_extra_hour") == "1"
    assert input_value(page.text, "missed_percent") == "50"
    assert input_value(page.text, "grade2_marks_from_term") == "2"
    assert year_field(school.ids["AcademicYear"]) in page.text
    assert selected_tie_rule(page.text) == "student"
    assert 'data-testid="defaults-note"' in page.text
    assert 'data-testid="save-regulation"' in page.text
    assert stored_rows(app, school.school_id) == []


def test_first_save_creates_row(app, school, login):
    year_id = school.ids["AcademicYear"]
    client = login(school.users["principal"])

    response = client.post(
        EDIT_URL,
        data=form_data(
            year_id,
            **{
                "threshold-3": "2,6",
                "threshold-4": "3.6",
                "threshold-5": " 4,6 ",
                "min_marks": "4",
                "min_marks_per_extra_hour": "2",
                "missed_percent": "40",
                "no_top_mark_with_fail": True,
                "year_tie_rule": "last_term",
                "grade2_marks_from_term": "3",
                "note": "Положение утверждено приказом № 12 от 30.08.2026.",
            },
        ),
    )

    assert response.status_code == 302
    assert response.location.endswith(f"{EDIT_URL}?year={year_id}")
    assert stored_rows(app, school.school_id) == [
        {
            "year_id": year_id,
            "thresholds": "3:2.6,4:3.6,5:4.6",
            "min_marks": 4,
            "min_marks_per_extra_hour": 2,
            "max_missed_share": Decimal("0.4"),
            "no_top_mark_with_fail": True,
            "year_tie_rule": "last_term",
            "grade2_marks_from_term": 3,
            "note": "Положение утверждено приказом № 12 от 30.08.2026.",
        }
    ]

    page = client.get(response.location)
    assert 'class="alert alert-success"' in page.text
    assert 'data-testid="defaults-note"' not in page.text
    assert input_value(page.text, "threshold-3") == "2,6"
    assert input_value(page.text, "threshold-2") == "1,5"
    assert input_value(page.text, "missed_percent") == "40"
    assert selected_tie_rule(page.text) == "last_term"
    assert 'name="no_top_mark_with_fail" value="1" checked' in page.text


def test_second_save_updates_same_row(app, school, login):
    year_id = school.ids["AcademicYear"]
    client = login(school.users["school_admin"])

    assert client.post(EDIT_URL, data=form_data(year_id, min_marks="5")).status_code == 302
    assert client.post(EDIT_URL, data=form_data(year_id, min_marks="0")).status_code == 302

    rows = stored_rows(app, school.school_id)
    assert len(rows) == 1
    assert rows[0]["min_marks"] == 0
    # Default thresholds are stored as no exceptions at all.
    assert rows[0]["thresholds"] == ""
    assert rows[0]["note"] is None


def test_boundary_values_accepted(app, school, login):
    year_id = school.ids["AcademicYear"]
    client = login(school.users["principal"])

    # Each threshold may equal its own mark; the percent may be 1 and 100.
    highest = {"threshold-2": "2", "threshold-5": "5", "missed_percent": "100"}
    assert client.post(EDIT_URL, data=form_data(year_id, **highest)).status_code == 302
    row = stored_rows(app, school.school_id)[0]
    assert row["thresholds"] == "2:2,5:5"
    assert row["max_missed_share"] == Decimal("1")

    lowest = {"threshold-2": "1,01", "missed_percent": "1", "grade2_marks_from_term": "4"}
    assert client.post(EDIT_URL, data=form_data(year_id, **lowest)).status_code == 302
    row = stored_rows(app, school.school_id)[0]
    assert row["thresholds"] == "2:1.01"
    assert row["max_missed_share"] == Decimal("0.01")
    assert row["grade2_marks_from_term"] == 4


def expected_messages(app, max_mark: int = 5) -> dict:
    """The messages of the invalid values below, as the page builds them in Russian."""
    grade2 = WholeNumber(GRADE2_TERM_LABEL, 1, 4)
    with app.test_request_context():
        messages = {
            "threshold-2": _threshold_error(2, "1,555", max_mark),
            "threshold-3": _threshold_error(3, "abc", max_mark),
            "threshold-4": _threshold_error(4, "4,7", max_mark),
            "threshold-5": _threshold_error(5, "", max_mark),
        }
        for name, text, rule in [
            ("min_marks", "-1", MIN_MARKS),
            ("min_marks_per_extra_hour", "x", EXTRA_MARKS),
            ("missed_percent", "0", MISSED_PERCENT),
            ("grade2_marks_from_term", "5", grade2),
        ]:
            errors = []
            _check_whole_number(text, rule, errors)
            messages[name] = errors[0]
    return messages


def test_invalid_values_all_reported_nothing_saved(app, school, login):
    year_id = school.ids["AcademicYear"]
    client = login(school.users["principal"])
    typed = {
        "threshold-2": "1,555",
        "threshold-3": "abc",
        "threshold-4": "4,7",
        "threshold-5": "",
        "min_marks": "-1",
        "min_marks_per_extra_hour": "x",
        "missed_percent": "0",
        "no_top_mark_with_fail": True,
        "year_tie_rule": "coin",
        "grade2_marks_from_term": "5",
        "note": "Я" * 2001,
    }

    response = client.post(EDIT_URL, data=form_data(year_id, **typed))

    assert response.status_code == 400
    errors = error_block(response.text)
    assert errors.count("<li>") == 10
    for name, message in expected_messages(app).items():
        assert message in errors, name
    # Each message names the typed value.
    for text in ("1,555", "«abc»", "4,7", "«-1»", "«x»", "«0»", "«coin»", "«5»", "2001"):
        assert text in errors, text
    assert stored_rows(app, school.school_id) == []

    # The typed values are shown again.
    for name in ("threshold-2", "threshold-3", "threshold-4", "min_marks", "missed_percent"):
        assert input_value(response.text, name) == typed[name], name
    assert 'name="no_top_mark_with_fail" value="1" checked' in response.text


@pytest.mark.parametrize(
    ("name", "text"),
    [
        pytest.param("threshold-3", "2", id="threshold-at-lower-mark"),
        pytest.param("threshold-3", "3,01", id="threshold-above-mark"),
        pytest.param("threshold-2", "0,9", id="threshold-below-scale"),
        pytest.param("missed_percent", "101", id="percent-101"),
        pytest.param("missed_percent", "50,5", id="percent-fraction"),
        pytest.param("min_marks", "101", id="min-marks-101"),
        pytest.param("grade2_marks_from_term", "0", id="grade2-term-0"),
    ],
)
def test_single_invalid_value_rejected(app, school, login, name, text):
    year_id = school.ids["AcademicYear"]
    client = login(school.users["school_admin"])

    # Another field carries a valid change, which must not be saved either.
    typed = {"min_marks_per_extra_hour": "7", name: text}
    response = client.post(EDIT_URL, data=form_data(year_id, **typed))

    assert response.status_code == 400
    assert error_block(response.text).count("<li>") == 1
    assert input_value(response.text, name) == text
    assert input_value(response.text, "min_marks_per_extra_hour") == "7"
    assert stored_rows(app, school.school_id) == []


def test_threshold_message_names_boundary(app):
    with app.test_request_context():
        message = _threshold_error(4, "4,7", 5)
        missing = _threshold_error(2, "", 5)
    assert "4,7" in message
    assert "3" in message
    assert "3,5" in message
    assert "1,5" in missing


def test_grade2_term_limited_by_year_terms(app, school, login):
    """Grades 1–9 have four quarters in the factory's year, so 4 is the highest term."""
    year_id = school.ids["AcademicYear"]
    client = login(school.users["principal"])

    page = client.get(EDIT_URL)
    assert 'name="grade2_marks_from_term" type="number" class="form-control" min="1" max="4"' in (
        page.text
    )
    response = client.post(EDIT_URL, data=form_data(year_id, grade2_marks_from_term="5"))
    assert response.status_code == 400


# --- Years ------------------------------------------------------------------------------


def test_another_year_edited_apart(app, school, login):
    current = school.ids["AcademicYear"]
    old = add_old_year(app, school)
    client = login(school.users["principal"])

    page = client.get(f"{EDIT_URL}?year={old}")
    assert page.status_code == 200
    assert year_field(old) in page.text
    assert f'<option value="{old}" selected>' in page.text
    assert input_value(page.text, "threshold-3") == "2,5"

    assert client.post(EDIT_URL, data=form_data(old, **{"threshold-3": "2,6"})).status_code == 302
    assert client.post(EDIT_URL, data=form_data(current, min_marks="2")).status_code == 302

    rows = {row["year_id"]: row for row in stored_rows(app, school.school_id)}
    assert set(rows) == {old, current}
    assert rows[old]["thresholds"] == "3:2.6"
    assert rows[old]["min_marks"] == 3
    assert rows[current]["thresholds"] == ""
    assert rows[current]["min_marks"] == 2
    # Without ?year= the page opens the year that contains today, or the latest begun.
    assert year_field(current) in client.get(EDIT_URL).text


def test_closed_year_is_read_only(app, school, login):
    old = add_old_year(app, school, closed=True)
    client = login(school.users["principal"])

    page = client.get(f"{EDIT_URL}?year={old}")
    assert page.status_code == 200
    assert 'data-testid="closed-year"' in page.text
    assert "<fieldset disabled>" in page.text
    assert 'data-testid="save-regulation"' not in page.text

    response = client.post(EDIT_URL, data=form_data(old, min_marks="5"))
    assert response.status_code == 409
    assert "2025/2026" in error_block(response.text)
    assert stored_rows(app, school.school_id) == []


def test_other_school_year_is_404(app, school, world, login):
    foreign_year = world["A"].ids["AcademicYear"]
    admin = login(school.users["school_admin"])
    parent = login(school.users["parent"])

    assert admin.get(f"{EDIT_URL}?year={foreign_year}").status_code == 404
    assert admin.post(EDIT_URL, data=form_data(foreign_year, min_marks="9")).status_code == 404
    assert parent.get(f"{VIEW_URL}?year={foreign_year}").status_code == 404
    assert admin.get(f"{EDIT_URL}?year=abc").status_code == 404
    with app.app_context():
        count = db.session.scalar(
            select(func.count(Regulation.id)).where(Regulation.year_id == foreign_year)
        )
    assert count == 0


# --- Who may use the pages --------------------------------------------------------------


def test_parent_cannot_edit(app, school, login):
    client = login(school.users["parent"])

    assert client.get(EDIT_URL).status_code == 403
    response = client.post(EDIT_URL, data=form_data(school.ids["AcademicYear"], min_marks="9"))
    assert response.status_code == 403
    assert stored_rows(app, school.school_id) == []


@pytest.mark.parametrize(
    "role",
    [
        "teacher",
        "secretary",
        "hr",
        "medical",
        "psychologist",
        "technical_staff",
        "student",
        "parent",
    ],
)
def test_only_principal_and_admin_edit(world, login, role):
    assert login(world["A"].users[role]).get(EDIT_URL).status_code == 403


@pytest.mark.parametrize(
    "role",
    [
        "school_admin",
        "principal",
        "teacher",
        "secretary",
        "hr",
        "medical",
        "psychologist",
        "technical_staff",
        "student",
        "parent",
    ],
)
def test_every_school_role_reads(world, login, role):
    page = login(world["A"].users[role]).get(VIEW_URL)
    assert page.status_code == 200
    assert 'data-testid="regulation-text"' in page.text
    assert ('data-testid="edit-link"' in page.text) is (role in ("school_admin", "principal"))


def test_authority_gets_403(world, login):
    client = login(world.users["authority"])
    assert client.get(VIEW_URL).status_code == 403
    assert client.get(EDIT_URL).status_code == 403


def test_server_admin_outside_school_gets_message(world, login):
    client = login(world.users["server_admin"])

    page = client.get(EDIT_URL)
    assert page.status_code == 200
    assert 'data-testid="regulation-no-school"' in page.text
    assert 'data-testid="regulation-form"' not in page.text
    assert 'data-testid="regulation-no-school"' in client.get(VIEW_URL).text


# --- The page parents read --------------------------------------------------------------


def threshold_items(page: str) -> list[str]:
    block = page.split('data-testid="regulation-thresholds"')[1].split("</ul>")[0]
    return [html.unescape(item.split("</li>")[0]).strip() for item in block.split("<li>")[1:]]


def test_parent_reads_saved_rules(app, school, login):
    year_id = school.ids["AcademicYear"]
    admin = login(school.users["principal"])
    saved = {
        "threshold-3": "2,6",
        "threshold-4": "3,6",
        "threshold-5": "4,6",
        "min_marks": "4",
        "min_marks_per_extra_hour": "2",
        "missed_percent": "40",
        "no_top_mark_with_fail": True,
        "year_tie_rule": "annual_test",
        "note": "Полный текст: https://school.example.test/polozhenie.pdf",
    }
    assert admin.post(EDIT_URL, data=form_data(year_id, **saved)).status_code == 302

    page = login(school.users["parent"]).get(VIEW_URL)

    assert page.status_code == 200
    assert 'data-testid="defaults-note"' not in page.text
    with app.test_request_context():
        regulation = regulation_for(school.school_id, year_id)
        items = [("4,6", 5), ("3,6", 4), ("2,6", 3), ("1,5", 2)]
        expected_items = [
            gettext("an average from %(average)s gives «%(mark)s»", average=low, mark=mark)
            for low, mark in items
        ]
        expected_items.append(gettext("an average below %(average)s gives «1»", average="1,5"))
        sentences = describe_marks_needed(regulation)
    assert threshold_items(page.text) == expected_items
    text = html.unescape(page.text)
    for sentence in sentences:
        assert sentence in text
    assert "40\u00a0%" in text
    assert 'data-testid="top-mark-rule"' in page.text
    assert "https://school.example.test/polozhenie.pdf" in text


def test_view_shows_defaults_for_year_without_row(app, school, login):
    page = login(school.users["student"]).get(VIEW_URL)

    assert page.status_code == 200
    assert 'data-testid="defaults-note"' in page.text
    assert [re.search(r"\d+,\d+", item).group() for item in threshold_items(page.text)] == [
        "4,5",
        "3,5",
        "2,5",
        "1,5",
        "1,5",
    ]
    assert 'data-testid="top-mark-rule"' not in page.text
    assert "50\u00a0%" in html.unescape(page.text)


def test_diary_links_to_regulation(world, login):
    page = login(world["A"].users["parent"]).get("/diary/")
    assert page.status_code == 200
    assert f'href="{VIEW_URL}"' in page.text


# --- Grade 2: no marks before the regulation's term ------------------------------------


def build_grade2_course(app, school):
    """A grade-2 class with one student, and a course with a lesson in quarters 1 and 2.

    Returns (student id, {quarter number: (lesson id, assignment id)}).
    """
    with app.app_context():
        first = db.session.get(SchoolClass, school.ids["SchoolClass"])
        second_grade = SchoolClass(
            school_id=school.school_id, year_id=first.year_id, grade=2, letter="Б", name="2Б"
        )
        db.session.add(second_grade)
        db.session.flush()
        student = Student(
            school_id=school.school_id,
            class_id=second_grade.id,
            last_name="Второклассников",
            first_name="Иван",
            sex="m",
            personal_file_number=f"{school.key}-2B",
        )
        db.session.add(student)
        teacher = first.class_teacher
        course, first_lesson = add_course_with_lesson(
            school, "Окружающий мир", class_name="2Б", teachers=[teacher], day=WEEK_START
        )
        second_lesson = Lesson(
            school_id=school.school_id,
            course_id=course.id,
            date=SECOND_QUARTER_DAY,
            lesson_number=3,
        )
        db.session.add(second_lesson)
        db.session.flush()
        type_id = db.session.scalar(
            select(AssignmentType.id).where(
                AssignmentType.school_id == school.school_id,
                AssignmentType.name == "Контрольная работа",
            )
        )
        lessons = {}
        for number, lesson in ((1, first_lesson), (2, second_lesson)):
            assignment = Assignment(
                school_id=school.school_id, lesson_id=lesson.id, type_id=type_id, weight=1
            )
            db.session.add(assignment)
            db.session.flush()
            lessons[number] = (lesson.id, assignment.id)
        db.session.commit()
        return student.id, lessons


def stored_value(app, assignment_id: int, student_id: int):
    with app.app_context():
        return db.session.scalar(
            select(Mark.value).where(
                Mark.assignment_id == assignment_id, Mark.student_id == student_id
            )
        )


def expected_rejection(app, lesson_id: int, value: str) -> str:
    with app.test_request_context():
        lesson = db.session.get(Lesson, lesson_id)
        return grade2_mark_rejection(lesson.course, lesson_term(lesson), value)


def test_grade2_mark_refused_in_first_term(app, school, login):
    student, lessons = build_grade2_course(app, school)
    lesson_id, assignment_id = lessons[1]
    teacher = login(school.users["teacher"])

    response = teacher.post(
        f"/journal/lesson/{lesson_id}/cell", json={"student": student, "value": "5", "seen": ""}
    )

    assert response.status_code == 400
    message = expected_rejection(app, lesson_id, "5")
    assert message is not None
    assert response.json["message"] == message
    assert "1 четверть" in message
    assert stored_value(app, assignment_id, student) is None


def test_grade2_lesson_form_refuses_mark_keeps_attendance(app, school, login):
    student, lessons = build_grade2_course(app, school)
    lesson_id, assignment_id = lessons[1]
    teacher = login(school.users["teacher"])

    response = teacher.post(
        f"/journal/lesson/{lesson_id}",
        data={"topic": "Времена года", f"mark-{assignment_id}-{student}": "."},
    )
    assert response.status_code == 400
    assert expected_rejection(app, lesson_id, ".") in html.unescape(response.text)
    assert stored_value(app, assignment_id, student) is None

    # Without a mark the topic of the same lesson saves.
    response = teacher.post(f"/journal/lesson/{lesson_id}", data={"topic": "Времена года"})
    assert response.status_code == 302


def test_grade2_pages_show_no_mark_inputs_before_marks_begin(app, school, login):
    student, lessons = build_grade2_course(app, school)
    first_id, _first_assignment = lessons[1]
    second_id, _second_assignment = lessons[2]
    teacher = login(school.users["teacher"])
    with app.app_context():
        course_id = db.session.get(Lesson, first_id).course_id
        first_term, second_term = (
            lesson_term(db.session.get(Lesson, lesson_id)).id for lesson_id in (first_id, second_id)
        )

    grid = teacher.get(f"/journal/course/{course_id}?term={first_term}").text
    assert 'data-testid="grade2-notice"' in grid
    assert "journal-grid-editable" not in grid
    assert 'class="grid-cell"' not in grid
    lesson_page = teacher.get(f"/journal/lesson/{first_id}").text
    assert 'data-testid="grade2-notice"' in lesson_page
    assert f'name="mark-{lessons[1][1]}-{student}"' in lesson_page
    assert "readonly" in lesson_page.split(f'name="mark-{lessons[1][1]}-{student}"')[1][:200]

    # The second quarter gives marks: the grid is editable and the notice is gone.
    grid = teacher.get(f"/journal/course/{course_id}?term={second_term}").text
    assert 'data-testid="grade2-notice"' not in grid
    assert "journal-grid-editable" in grid
    lesson_page = teacher.get(f"/journal/lesson/{second_id}").text
    assert 'data-testid="grade2-notice"' not in lesson_page


def test_grade2_mark_accepted_in_second_term(app, school, login):
    student, lessons = build_grade2_course(app, school)
    lesson_id, assignment_id = lessons[2]
    teacher = login(school.users["teacher"])

    response = teacher.post(
        f"/journal/lesson/{lesson_id}/cell", json={"student": student, "value": "4", "seen": ""}
    )

    assert response.status_code == 200
    assert stored_value(app, assignment_id, student) == 4
    assert expected_rejection(app, lesson_id, "4") is None


def test_grade2_start_follows_setting(app, school, login):
    student, lessons = build_grade2_course(app, school)
    year_id = school.ids["AcademicYear"]
    principal = login(school.users["principal"])
    teacher = login(school.users["teacher"])

    # From the third quarter on, the second quarter takes no marks either.
    assert principal.post(
        EDIT_URL, data=form_data(year_id, grade2_marks_from_term="3")
    ).status_code == (302)
    second_id, second_assignment = lessons[2]
    response = teacher.post(
        f"/journal/lesson/{second_id}/cell", json={"student": student, "value": "4", "seen": ""}
    )
    assert response.status_code == 400
    assert "2 четверть" in response.json["message"]

    # From the first quarter on, the first lesson takes marks.
    assert principal.post(
        EDIT_URL, data=form_data(year_id, grade2_marks_from_term="1")
    ).status_code == (302)
    first_id, first_assignment = lessons[1]
    response = teacher.post(
        f"/journal/lesson/{first_id}/cell", json={"student": student, "value": "5", "seen": ""}
    )
    assert response.status_code == 200
    assert stored_value(app, first_assignment, student) == 5


def test_grade5_unaffected_by_grade2_setting(app, school, login):
    """The factory's 5А lesson lies in the first quarter and keeps taking marks."""
    year_id = school.ids["AcademicYear"]
    principal = login(school.users["principal"])
    assert principal.post(
        EDIT_URL, data=form_data(year_id, grade2_marks_from_term="4")
    ).status_code == (302)
    teacher = login(school.users["teacher"])

    response = teacher.post(
        f"/journal/lesson/{school.ids['Lesson']}/cell",
        json={"student": school.ids["SiblingStudent"], "value": "3", "seen": ""},
    )
    assert response.status_code == 200
