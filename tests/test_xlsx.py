"""The shared XLSX writer: layout, types, formats and text that must stay text."""

import datetime as dt
import io
import zipfile

import openpyxl
import pandas as pd
import pytest

from app.reports.charts import BAR, COLUMN, ChartSpec
from app.reports.xlsx import DECIMAL_2, PERCENT_1, frame_to_xlsx, xlsx_response

RISKY_TEXTS = ["=1+1", "+7 495 000-00-00", "-5", "@SUM(A1)", '=HYPERLINK("http://x")']


def _workbook(frames, title="Сводка по школам", filters="Учебный год: 2026/2027"):
    return openpyxl.load_workbook(io.BytesIO(frame_to_xlsx(frames, title, filters)))


def _sample_frame():
    return pd.DataFrame(
        {
            "Школа": ["Школа № 1", "Гимназия «Ёлочка»"] + RISKY_TEXTS + ["https://example.invalid"],
            "Учащихся": [25, 30, 1, 2, 3, 4, 5, 6],
            "Средний балл": [4.25, None, 3.0, 3.5, 4.0, 4.5, 5.0, float("nan")],
            "Качество": [0.5, 0.25, 0.0, 1.0, 0.1, 0.2, 0.3, 0.4],
            "Дата": [dt.date(2026, 10, 24)] * 8,
        }
    )


FORMATS = {"Средний балл": DECIMAL_2, "Качество": PERCENT_1}


def test_title_filters_and_header_rows():
    sheet = _workbook([("Сводка", _sample_frame(), FORMATS)]).active
    assert sheet["A1"].value == "Сводка по школам"
    assert sheet["A2"].value == "Учебный год: 2026/2027"
    assert [cell.value for cell in sheet[3]] == [
        "Школа",
        "Учащихся",
        "Средний балл",
        "Качество",
        "Дата",
    ]


def test_cyrillic_text_intact():
    sheet = _workbook([("Сводка", _sample_frame(), FORMATS)]).active
    assert sheet.title == "Сводка"
    assert sheet["A4"].value == "Школа № 1"
    assert sheet["A5"].value == "Гимназия «Ёлочка»"


def test_numbers_are_numbers_with_formats():
    sheet = _workbook([("Сводка", _sample_frame(), FORMATS)]).active
    assert sheet["B4"].value == 25
    assert sheet["B4"].data_type == "n"
    assert sheet["C4"].value == pytest.approx(4.25)
    assert sheet["C4"].number_format == "0.00"
    assert sheet["D4"].value == pytest.approx(0.5)
    assert sheet["D4"].number_format == "0.0%"


def test_missing_values_are_blank():
    sheet = _workbook([("Сводка", _sample_frame(), FORMATS)]).active
    assert sheet["C5"].value is None
    assert sheet["C11"].value is None


def test_dates_are_dates():
    sheet = _workbook([("Сводка", _sample_frame(), FORMATS)]).active
    assert sheet["E4"].value == dt.datetime(2026, 10, 24)
    assert sheet["E4"].number_format == "dd.mm.yyyy"


def test_formula_like_text_stays_text():
    sheet = _workbook([("Сводка", _sample_frame(), FORMATS)]).active
    cells = {
        sheet.cell(row=row, column=1).value: sheet.cell(row=row, column=1) for row in range(4, 12)
    }
    for text in RISKY_TEXTS:
        assert text in cells, text
        assert cells[text].data_type == "s", text
        assert cells[text].quotePrefix, text


def test_no_formulas_or_links_in_file():
    content = frame_to_xlsx(
        [("Сводка", _sample_frame(), FORMATS)], "=cmd|' /C calc'!A0", "@filters"
    )
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
        names = archive.namelist()
    assert "<f>" not in sheet_xml
    assert "<hyperlink" not in sheet_xml
    assert not any("externalLink" in name for name in names)


def test_title_that_looks_like_formula_stays_text():
    content = frame_to_xlsx([("Сводка", _sample_frame(), FORMATS)], "=1+1", "-filters")
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    assert sheet["A1"].value == "=1+1"
    assert sheet["A1"].data_type == "s"
    assert sheet["A2"].value == "-filters"


def test_header_frozen_and_autofilter_set():
    sheet = _workbook([("Сводка", _sample_frame(), FORMATS)]).active
    assert sheet.freeze_panes == "A4"
    assert sheet.auto_filter.ref == "A3:E11"


def test_column_widths_fit_text():
    sheet = _workbook([("Сводка", _sample_frame(), FORMATS)]).active
    assert sheet.column_dimensions["A"].width >= len("Гимназия «Ёлочка»")
    assert sheet.column_dimensions["B"].width >= len("Учащихся")


def test_several_sheets_get_valid_unique_names():
    frame = pd.DataFrame({"Класс": ["5А"]})
    workbook = _workbook(
        [("5А/5Б: итоги?", frame, {}), ("5А/5Б: итоги?", frame, {}), ("x" * 40, frame, {})]
    )
    names = workbook.sheetnames
    assert len(set(names)) == 3
    assert all(len(name) <= 31 for name in names)
    assert not any(char in name for name in names for char in "[]:*?/\\")


def test_empty_frame_keeps_header():
    sheet = _workbook([("Пусто", pd.DataFrame(columns=["Школа", "Учащихся"]), {})]).active
    assert [cell.value for cell in sheet[3]] == ["Школа", "Учащихся"]
    assert sheet.max_row == 3


def test_response_keeps_cyrillic_file_name(app):
    with app.test_request_context():
        response = xlsx_response(b"data", "Сводка по школам 2026/2027")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" in disposition
    assert "%D0%A1%D0%B2%D0%BE%D0%B4%D0%BA%D0%B0" in disposition  # «Сводка»
    assert "/" not in disposition.split("filename*=")[1]
    assert disposition.endswith(".xlsx")


# --- Charts -------------------------------------------------------------------------------


def series_refs(chart) -> list[tuple[str, str, str]]:
    """Return (name, categories, values) cell references of each series of a read chart."""
    refs = []
    for series in chart.series:
        categories = series.cat.strRef or series.cat.numRef
        refs.append((series.tx.strRef.f, categories.f, series.val.numRef.f))
    return refs


CHART = ChartSpec(kind=BAR, category="Школа", values=("Качество", "Средний балл"), title="Итоги")


def test_chart_series_refer_to_table_cells():
    sheet = _workbook([("Сводка", _sample_frame(), FORMATS, CHART)]).active
    assert len(sheet._charts) == 1
    assert series_refs(sheet._charts[0]) == [
        ("Сводка!$D$3", "Сводка!$A$4:$A$11", "Сводка!$D$4:$D$11"),
        ("Сводка!$C$3", "Сводка!$A$4:$A$11", "Сводка!$C$4:$C$11"),
    ]


def test_chart_kind_and_title():
    column = ChartSpec(kind=COLUMN, category="Школа", values=("Учащихся",), title="Учащиеся")
    bars, columns = (
        _workbook([("Сводка", _sample_frame(), FORMATS, spec)]).active._charts[0]
        for spec in (CHART, column)
    )
    assert bars.type == "bar"
    assert bars.barDir == "bar"
    assert columns.barDir == "col"
    title_runs = columns.title.tx.rich.p[0].r
    assert "".join(run.t for run in title_runs) == "Учащиеся"


def test_chart_sits_right_of_the_table():
    sheet = _workbook([("Сводка", _sample_frame(), FORMATS, CHART)]).active
    anchor = sheet._charts[0].anchor._from
    # Five columns A–E, one empty column, then the chart from G (index 6) at the header row.
    assert (anchor.col, anchor.row) == (6, 2)


def test_chart_sheet_name_with_space_is_quoted():
    sheet = _workbook([("Рейтинг школ", _sample_frame(), FORMATS, CHART)]).active
    name, categories, values = series_refs(sheet._charts[0])[0]
    assert values == "'Рейтинг школ'!$D$4:$D$11"
    assert categories == "'Рейтинг школ'!$A$4:$A$11"


def test_empty_frame_gets_no_chart():
    empty = pd.DataFrame(columns=["Школа", "Качество", "Средний балл"])
    sheet = _workbook([("Пусто", empty, {}, CHART)]).active
    assert sheet._charts == []


def test_sheet_without_chart_spec_has_no_chart():
    workbook = _workbook([("Сводка", _sample_frame(), FORMATS), ("Ещё", _sample_frame(), {}, None)])
    assert all(sheet._charts == [] for sheet in workbook.worksheets)


def test_unknown_chart_kind_is_refused():
    with pytest.raises(ValueError, match="pie"):
        ChartSpec(kind="pie", category="Школа", values=("Качество",), title="Итоги")
