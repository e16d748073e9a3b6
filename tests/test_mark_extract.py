"""The extract of current marks: its content on a page and in XLSX, and who may open it.

The page dates the extract today, so the HTTP tests give the school a period around
today with one journal mark (4 of weight 2, yesterday) and one mark from an earlier
extract (5 of weight 1, two days ago): the average is (8 + 5) / 3 = 4.33.
"""

import datetime as dt
import io
import itertools
from decimal import Decimal

import openpyxl
import pytest

from app.models import (
    AcademicYear,
    Assignment,
    Course,
    Lesson,
    Mark,
    Student,
    Term,
    TransferredMark,
    db,
)
from app.services.mark_extract import mark_extract
from tests.factories import build_extra_school
from tests.test_certificates import texts_by_test_id

_numbers = itertools.count(1)


@pytest.fixture()
def school(app):
    with app.app_context():
        built = build_extra_school(f"cert-extract-{next(_numbers)}")
        today = dt.date.today()
        sid = built.school_id
        year = db.session.get(AcademicYear, built.ids["AcademicYear"])
        year.start_date = min(year.start_date, today - dt.timedelta(days=10))
        year.end_date = max(year.end_date, today + dt.timedelta(days=10))
        db.session.add(
            Term(
                school_id=sid,
                year_id=year.id,
                kind="quarter",
                number=9,
                name="Период выписки",
                start_date=today - dt.timedelta(days=3),
                end_date=today + dt.timedelta(days=3),
                grade_from=1,
                grade_to=9,
            )
        )
        course = db.session.get(Course, built.ids["Course"])
        lesson = Lesson(
            school_id=sid,
            course_id=course.id,
            date=today - dt.timedelta(days=1),
            lesson_number=1,
        )
        db.session.add(lesson)
        db.session.flush()
        assignment = Assignment(
            school_id=sid,
            lesson_id=lesson.id,
            type_id=built.ids["AssignmentType"],
            weight=Decimal("2"),
            text="Самостоятельная работа",
        )
        db.session.add(assignment)
        db.session.flush()
        db.session.add(
            Mark(
                school_id=sid,
                assignment_id=assignment.id,
                student_id=built.ids["Student"],
                kind="number",
                value=4,
            )
        )
        db.session.add(
            TransferredMark(
                school_id=sid,
                student_id=built.ids["Student"],
                course_id=course.id,
                date=today - dt.timedelta(days=2),
                value=5,
                weight=Decimal("1"),
                source_school="Гимназия № 3",
            )
        )
        db.session.commit()
    return built


def test_extract_service_for_a_past_day(app, world):
    with app.test_request_context():
        student = db.session.get(Student, world["A"].ids["Student"])
        extract = mark_extract(student, dt.date(2026, 10, 20))
        assert extract.term.name == "1 четверть"
        maths = next(line for line in extract.lines if line.subject == "Математика")
        assert [(mark.date, mark.text) for mark in maths.marks] == [(dt.date(2026, 10, 5), "5")]
        assert maths.average == Decimal(5)


def test_extract_page_lists_marks_and_average(app, school, login):
    page = login(school.users["secretary"]).get(f"/certificates/extract/{school.ids['Student']}")
    assert page.status_code == 200
    texts = texts_by_test_id(page.get_data(as_text=True))
    assert "Ученикова Анна" in texts["student"]
    assert texts["term"].startswith("Период выписки")
    assert texts["subject"] == "Математика"
    today = dt.date.today()
    two_days_ago = (today - dt.timedelta(days=2)).strftime("%d.%m")
    yesterday = (today - dt.timedelta(days=1)).strftime("%d.%m")
    assert texts["marks"] == f"{two_days_ago}: 5; {yesterday}: 4 (вес 2.00)"
    assert texts["average"] == "4,33"


def test_extract_xlsx_content(app, school, login):
    response = login(school.users["secretary"]).get(
        f"/certificates/extract/{school.ids['Student']}/export.xlsx"
    )
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    marks_sheet = workbook["Отметки"]
    rows = list(marks_sheet.iter_rows(min_row=4, values_only=True))
    today = dt.date.today()
    assert [row[0] for row in rows] == ["Математика", "Математика"]
    assert [row[1].date() for row in rows] == [
        today - dt.timedelta(days=2),
        today - dt.timedelta(days=1),
    ]
    assert [row[2] for row in rows] == ["5", "4"]
    assert [row[3] for row in rows] == [1, 2]
    assert rows[0][4] == "из выписки Гимназия № 3"

    summary = list(workbook["Средние"].iter_rows(min_row=4, values_only=True))
    assert summary == [("Математика", "5 4", 4.33)]


def test_extract_of_other_school_student_is_not_found(app, school, world, login):
    secretary = login(school.users["secretary"])
    other = world["B"].ids["Student"]
    assert secretary.get(f"/certificates/extract/{other}").status_code == 404
    assert secretary.get(f"/certificates/extract/{other}/export.xlsx").status_code == 404
    assert secretary.get(f"/certificates/extract-for?student={other}").status_code == 404


def test_extract_closed_to_parents_and_teachers(app, school, login):
    for role in ("parent", "teacher"):
        client = login(school.users[role])
        assert client.get(f"/certificates/extract/{school.ids['Student']}").status_code == 403
