"""The timetable import preview warns of the conflicts and days off the import would bring."""

import datetime as dt
import io
from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask_babel import force_locale
from openpyxl import Workbook
from sqlalchemy import func, select

from app.models import AcademicYear, Course, SchoolClass, Subject, TimetableEntry, db
from app.services import timetable_import
from tests.factories import build_extra_school

HEADER = ["Класс", "День недели", "Номер урока", "Предмет", "Учитель", "Кабинет", "Группа"]
HEADER += ["Неделя"]


@pytest.fixture(scope="module")
def school(app):
    with app.app_context():
        return SimpleNamespace(sid=build_extra_school("fndImport").school_id)


@pytest.fixture()
def ctx(app):
    with app.test_request_context(), force_locale("ru"):
        yield db.session
        db.session.rollback()


def _grid(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Расписание"])
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _new_year(school_id: int, start_year: int) -> int:
    year = AcademicYear(
        school_id=school_id,
        name=f"{start_year}/{start_year + 1}",
        start_date=dt.date(start_year, 9, 1),
        end_date=dt.date(start_year + 1, 5, 31),
    )
    db.session.add(year)
    db.session.commit()
    return year.id


def _entry_count(school_id: int) -> int:
    statement = select(func.count()).select_from(TimetableEntry)
    return db.session.scalar(statement.where(TimetableEntry.school_id == school_id))


def test_conflicts_listed_nothing_written(ctx, school):
    year_id = _new_year(school.sid, 2061)
    before = _entry_count(school.sid)
    data = _grid(
        [
            ["7Ю", "пн", 1, "Алгебра", "Сочинённая Ия", "301", ""],
            ["7Я", "пн", 1, "Химия", "Сочинённая Ия", "302", ""],
        ]
    )

    preview = timetable_import.preview_file("xlsx", school.sid, year_id, data, "g.xlsx")

    assert preview.is_valid
    assert len(preview.warnings) >= 1
    assert any("Сочинённая" in warning for warning in preview.warnings)
    assert _entry_count(school.sid) == before
    assert db.session.scalar(select(func.count()).where(Course.year_id == year_id)) == 0


def test_saturday_row_warned_five_day(ctx, school):
    year_id = _new_year(school.sid, 2062)
    data = _grid([["7Ю", "сб", 2, "Алгебра", "Придуманная Ия", "301", ""]])

    preview = timetable_import.preview_file("xlsx", school.sid, year_id, data, "g.xlsx")

    assert preview.warnings == [
        "7Ю, в субботу, 2-й урок: класс учится пять дней в неделю, урок попадает на его выходной."
    ]


def test_course_label_names_school_hours(ctx, school):
    year_id = _new_year(school.sid, 2063)
    subject = Subject(school_id=school.sid, name="Информатика")
    school_class = SchoolClass(
        school_id=school.sid, year_id=year_id, grade=7, letter="А", name="7А"
    )
    db.session.add_all([subject, school_class])
    db.session.flush()
    db.session.add(
        Course(
            school_id=school.sid,
            year_id=year_id,
            subject_id=subject.id,
            class_id=school_class.id,
            kind="lesson",
            hours_per_week=Decimal(1),
        )
    )
    db.session.commit()
    data = _grid(
        [
            ["7А", "пн", 1, "Информатика", "Другая Ия", "", ""],
            ["7А", "вт", 1, "Информатика", "Другая Ия", "", ""],
        ]
    )

    preview = timetable_import.preview_file("xlsx", school.sid, year_id, data, "g.xlsx")

    labels = [line.name for line in preview.lines if line.kind == "course"]
    assert labels == ["Информатика — 7А, 2 ч в неделю (в школе 1 ч в неделю)"]


def test_half_hour_has_decimal_comma(ctx, school):
    year_id = _new_year(school.sid, 2064)
    rows = [["7Ю", "пн", 1, "Алгебра", "Ещё Ия", "", "", "нечётная"]]
    data = _grid(rows)

    preview = timetable_import.preview_file("xlsx", school.sid, year_id, data, "g.xlsx")

    labels = [line.name for line in preview.lines if line.kind == "course"]
    assert labels == ["Алгебра — 7Ю, 0,5 ч в неделю"]
