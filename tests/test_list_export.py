"""The «Экспорт в Excel» download of generated list screens."""

import datetime as dt
import io
import zipfile

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

import app.reports.xlsx as xlsx
from app.models import Room, Student, db
from app.reports.xlsx import MAX_TABLE_ROWS, TooManyRows, frame_to_xlsx
from tests.factories import build_extra_school

KEY = "XLE"
RISKY_NAMES = ["=1+1", "+7 999 123-45-67", "00123", "@SUM(A1)", "Кабинет № 5 «Ёлка»"]


@pytest.fixture(scope="module")
def school(app):
    with app.app_context():
        world = build_extra_school(KEY)
        for name in RISKY_NAMES:
            db.session.add(Room(school_id=world.school_id, name=name, capacity=20))
        student = db.session.scalars(
            select(Student).where(Student.school_id == world.school_id).order_by(Student.id)
        ).first()
        student.birth_date = dt.date(2015, 9, 1)
        db.session.commit()
        return world


def _sheet(response):
    assert response.status_code == 200, response.status_code
    assert response.mimetype == xlsx.XLSX_MIMETYPE
    return load_workbook(io.BytesIO(response.data)).active


def _column(sheet, header):
    headers = [cell.value for cell in sheet[3]]
    index = headers.index(header) + 1
    return [sheet.cell(row=row, column=index) for row in range(4, sheet.max_row + 1)]


def test_rooms_export_keeps_text_as_text(school, login):
    response = login(f"school_admin_{KEY}").get("/rooms/export.xlsx")

    cells = {cell.value: cell for cell in _column(_sheet(response), "Название")}
    for name in RISKY_NAMES:
        assert name in cells, name
        assert cells[name].data_type == "s", name
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert "<f>" not in archive.read("xl/worksheets/sheet1.xml").decode()


def test_rooms_export_holds_own_school_only(school, login):
    sheet = _sheet(login(f"school_admin_{KEY}").get("/rooms/export.xlsx"))

    names = {cell.value for cell in _column(sheet, "Название")}
    assert f"{KEY}-101" in names
    assert "A-101" not in names
    assert "B-101" not in names
    assert sheet["A1"].value == "Кабинеты"


def test_export_follows_the_search_filter(school, login):
    response = login(f"school_admin_{KEY}").get("/rooms/export.xlsx?_flt_3_name=00123")

    sheet = _sheet(response)
    assert [cell.value for cell in _column(sheet, "Название")] == ["00123"]
    assert "00123" in sheet["A2"].value


def test_students_export_types_cells(school, login):
    sheet = _sheet(login(f"secretary_{KEY}").get("/students/export.xlsx"))

    births = [cell for cell in _column(sheet, "Дата рождения") if cell.value is not None]
    assert len(births) == 1
    assert births[0].is_date
    assert births[0].number_format == "dd.mm.yyyy"
    assert {cell.value for cell in _column(sheet, "Класс")} == {"5А"}
    assert {cell.value for cell in _column(sheet, "Действует")} <= {"Да", "Нет"}


def test_list_page_links_the_export_with_its_filters(school, login):
    page = login(f"school_admin_{KEY}").get("/rooms/list/?_flt_0_name=00").get_data(as_text=True)

    assert 'data-testid="export-xlsx"' in page
    assert "/rooms/export.xlsx?_flt_0_name=00" in page
    assert "Экспорт в Excel" in page


def test_export_needs_the_list_permission(school, login):
    assert login(f"parent_{KEY}").get("/rooms/export.xlsx").status_code == 403


def test_too_long_list_is_refused(school, login, monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_TABLE_ROWS", 2)
    client = login(f"school_admin_{KEY}")

    response = client.get("/rooms/export.xlsx")

    assert response.status_code == 302
    assert "/rooms/list/" in response.location
    page = client.get(response.location).get_data(as_text=True)
    assert "на одном листе Excel помещается не больше 2" in page


def test_frame_longer_than_a_sheet_is_refused():
    frame = pd.DataFrame({"Номер": np.zeros(MAX_TABLE_ROWS + 1)})

    with pytest.raises(TooManyRows):
        frame_to_xlsx([("Лист", frame, {})], "Заголовок", "Фильтры")


def test_sheet_limit_leaves_room_for_the_header_rows():
    assert MAX_TABLE_ROWS + xlsx.HEADER_ROW + 1 == 1_048_576
