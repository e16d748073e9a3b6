"""The one XLSX writer every export goes through.

Each sheet gets a title row, a row with the filters used, one header row, frozen panes
under the header, an autofilter, number formats and column widths. Text is always
written as text, because XlsxWriter's conversion of strings to formulas, links and
numbers is off. Text starting with ``=``, ``+``, ``-`` or ``@`` also gets Excel's quote
prefix, so that editing the cell in a spreadsheet does not turn it into a formula.

A sheet may also carry a :class:`~app.reports.charts.ChartSpec`: a native Excel chart is
then placed to the right of the table, its series referring to the table's cells, so the
chart follows any value a reader corrects.
"""

import datetime as dt
import io
import math
import re
from decimal import Decimal

import numpy as np
import pandas as pd
from flask import send_file
from flask_babel import lazy_gettext as _l

from app.errors import DomainError
from app.reports.charts import BAR, ChartSpec
from app.services.dates import local_today

#: Rows above the header: the title and the filters.
TITLE_ROW = 0
FILTERS_ROW = 1
HEADER_ROW = 2

#: First characters that make a spreadsheet treat typed text as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@")

#: Characters Excel forbids in sheet names, and its length limit for them.
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
SHEET_NAME_MAX = 31

#: Rows of one Excel worksheet (Excel 2007 and later), and the table rows that fit under
#: the title, filters and header rows.
EXCEL_MAX_ROWS = 1_048_576
MAX_TABLE_ROWS = EXCEL_MAX_ROWS - (HEADER_ROW + 1)

MIN_WIDTH = 6
MAX_WIDTH = 60

#: Ready-made number formats for ``column_formats``.
INTEGER = "0"
DECIMAL_2 = "0.00"
PERCENT_1 = "0.0%"
DATE = "dd.mm.yyyy"

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: Size of a chart in pixels: its width, its least height, and the height each category
#: adds to a bar chart so that every school's name stays readable.
CHART_WIDTH = 640
CHART_MIN_HEIGHT = 320
CHART_ROW_HEIGHT = 24

#: (sheet title, frame, column formats), optionally followed by a chart spec or None.
Frame = (
    tuple[str, pd.DataFrame, dict[str, str]]
    | tuple[str, pd.DataFrame, dict[str, str], ChartSpec | None]
)


class TooManyRows(DomainError):
    """A table longer than one worksheet holds; nothing was written."""

    def __init__(self, count: int):
        super().__init__(
            _l(
                "The list has %(count)s rows, but one Excel sheet holds at most %(max)s: "
                "narrow the list with the search filters and export it again.",
            ),
            count=f"{count:,}".replace(",", "\u00a0"),
            max=f"{MAX_TABLE_ROWS:,}".replace(",", "\u00a0"),
        )
        self.count = count


def check_row_count(count: int) -> None:
    """Raise :class:`TooManyRows` when ``count`` table rows do not fit on one sheet."""
    if count > MAX_TABLE_ROWS:
        raise TooManyRows(count)


def frame_to_xlsx(frames: list[Frame], title: str, filters: str) -> bytes:
    """Write DataFrames to one XLSX workbook and return its bytes.

    ``frames`` lists (sheet title, DataFrame, column formats); column formats map a column
    name to an Excel number format such as :data:`DECIMAL_2` or :data:`PERCENT_1`.
    Percent columns hold fractions (0.75 shows as 75.0 %). ``title`` and ``filters``
    head every sheet. A fourth item, a :class:`ChartSpec`, adds a chart beside the table.
    A frame longer than :data:`MAX_TABLE_ROWS` raises :class:`TooManyRows` before anything
    is written.
    """
    for _sheet_title, frame, *_rest in frames or []:
        check_row_count(len(frame))
    buffer = io.BytesIO()
    options = {
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
    }
    with pd.ExcelWriter(buffer, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        workbook = writer.book
        styles = _Styles(workbook)
        used_names: set[str] = set()
        for sheet_title, frame, column_formats, *chart in frames or [("Sheet", pd.DataFrame(), {})]:
            name = _sheet_name(sheet_title, used_names)
            worksheet = workbook.add_worksheet(name)
            writer.sheets[name] = worksheet
            _write_sheet(worksheet, styles, frame, column_formats or {}, title, filters)
            if chart and chart[0] is not None:
                _add_chart(workbook, worksheet, name, frame, chart[0])
    return buffer.getvalue()


_TEXT_STYLES = {
    "plain": {},
    "title": {"bold": True, "font_size": 14},
    "filters": {"italic": True, "font_color": "#555555"},
    "header": {
        "bold": True,
        "text_wrap": True,
        "valign": "top",
        "bg_color": "#DDEBF7",
        "border": 1,
    },
}


class _Styles:
    """Cell formats of a workbook, made once and reused, as XlsxWriter expects."""

    def __init__(self, workbook):
        self.workbook = workbook
        self._formats: dict[tuple, object] = {}

    def text(self, style: str, guarded: bool):
        """Format of a text cell; a guarded one carries the quote prefix."""
        key = ("text", style, guarded)
        if key not in self._formats:
            properties = dict(_TEXT_STYLES[style])
            if guarded:
                properties["quote_prefix"] = True
            self._formats[key] = self.workbook.add_format(properties) if properties else None
        return self._formats[key]

    def number(self, num_format: str | None):
        if not num_format:
            return None
        key = ("number", num_format)
        if key not in self._formats:
            self._formats[key] = self.workbook.add_format({"num_format": num_format})
        return self._formats[key]


def _sheet_name(title: str, used: set[str]) -> str:
    """Make a valid, unique sheet name: no forbidden characters, at most 31 of them."""
    base = _SHEET_FORBIDDEN.sub(" ", str(title)).strip().strip("'") or "Sheet"
    base = base[:SHEET_NAME_MAX]
    name = base
    counter = 2
    while name.lower() in used:
        suffix = f" ({counter})"
        name = base[: SHEET_NAME_MAX - len(suffix)] + suffix
        counter += 1
    used.add(name.lower())
    return name


def _write_sheet(worksheet, styles, frame: pd.DataFrame, column_formats, title, filters):
    _write_text(worksheet, TITLE_ROW, 0, str(title), styles, "title")
    _write_text(worksheet, FILTERS_ROW, 0, str(filters), styles, "filters")

    columns = [str(column) for column in frame.columns]
    for col, header in enumerate(columns):
        _write_text(worksheet, HEADER_ROW, col, header, styles, "header")

    formats = [styles.number(column_formats.get(column)) for column in columns]
    date_format = styles.number(DATE)
    widths = [len(header) for header in columns]
    for offset, row in enumerate(frame.itertuples(index=False, name=None)):
        excel_row = HEADER_ROW + 1 + offset
        for col, value in enumerate(row):
            shown = _write_value(
                worksheet, excel_row, col, value, formats[col], date_format, styles
            )
            widths[col] = max(widths[col], shown)

    for col, width in enumerate(widths):
        worksheet.set_column(col, col, min(max(width + 2, MIN_WIDTH), MAX_WIDTH))
    worksheet.freeze_panes(HEADER_ROW + 1, 0)
    if columns:
        worksheet.autofilter(HEADER_ROW, 0, HEADER_ROW + len(frame), len(columns) - 1)


def _add_chart(workbook, worksheet, sheet_name: str, frame: pd.DataFrame, spec: ChartSpec):
    """Place a chart of ``spec`` to the right of the table, one series per value column.

    An empty table gets no chart, because a chart over no rows would show only its axes.
    """
    charted_rows = len(frame) - 1 if spec.without_total else len(frame)
    if charted_rows <= 0:
        return
    columns = [str(column) for column in frame.columns]
    first_row = HEADER_ROW + 1
    last_row = HEADER_ROW + charted_rows
    category_col = columns.index(spec.category)

    chart = workbook.add_chart({"type": spec.kind})
    for value in spec.values:
        col = columns.index(value)
        chart.add_series(
            {
                "name": [sheet_name, HEADER_ROW, col],
                "categories": [sheet_name, first_row, category_col, last_row, category_col],
                "values": [sheet_name, first_row, col, last_row, col],
            }
        )
    chart.set_title({"name": spec.title})
    chart.set_legend({"position": "bottom"})
    height = CHART_MIN_HEIGHT
    if spec.kind == BAR:
        # Excel draws horizontal bars from the bottom up; reversing the axis keeps the
        # table's order (the first school on top), as on the page.
        chart.set_y_axis({"reverse": True})
        height = max(height, CHART_ROW_HEIGHT * charted_rows + 120)
    chart.set_size({"width": CHART_WIDTH, "height": height})
    worksheet.insert_chart(HEADER_ROW, len(columns) + 1, chart)


def _write_text(worksheet, row, col, text: str, styles: _Styles, style: str = "plain") -> int:
    """Write text as a string cell; formula-like text also gets the quote prefix."""
    guarded = text.startswith(FORMULA_PREFIXES)
    worksheet.write_string(row, col, text, styles.text(style, guarded))
    return len(text)


def _write_value(worksheet, row, col, value, number_format, date_format, styles) -> int:
    """Write one cell by the type of its value; return the width it needs in characters."""
    if _is_missing(value):
        worksheet.write_blank(row, col, None, number_format)
        return 0
    if isinstance(value, (bool, np.bool_)):
        worksheet.write_boolean(row, col, bool(value))
        return 5
    if isinstance(value, (int, float, Decimal, np.integer, np.floating)):
        worksheet.write_number(row, col, float(value), number_format)
        return len(f"{float(value):.2f}")
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, (dt.date, dt.datetime)):
        worksheet.write_datetime(row, col, value, number_format or date_format)
        return 10
    return _write_text(worksheet, row, col, str(value), styles)


def _is_missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _file_name_part(text) -> str:
    """Make one part of a download name: words joined by «_», without marks or slashes."""
    cleaned = re.sub(r"[^\w.\-]+", "_", str(text).replace("/", "-"))
    return re.sub(r"_+", "_", cleaned).strip("_.-")


def export_file_name(report, *context, day: dt.date | None = None) -> str:
    """Build the name of every XLSX download: ``<report>-<context>-<date>.xlsx``.

    ``context`` names what the file covers (a class, a school, a period); empty parts are
    left out. The date is the day of the download in ``TIMEZONE``, as YYYY-MM-DD so that
    files sort by it. Letters (Cyrillic too) and digits stay; spaces become «_».
    """
    day = day or local_today()
    parts = [_file_name_part(part) for part in (report, *context) if part]
    parts = [part for part in parts if part] or ["report"]
    return "-".join([*parts, day.isoformat()]) + ".xlsx"


def current_school_label() -> str:
    """Return the short name of the session's school, or "" outside a school."""
    from app.models import School
    from app.models.base import db
    from app.security.scope import current_scope

    scope = current_scope()
    if scope is None or scope.school_id is None:
        return ""
    school = db.session.get(School, scope.school_id)
    return school.name if school is not None else ""


def xlsx_response(content: bytes, report, *context):
    """Send XLSX bytes as a download named by :func:`export_file_name`.

    Werkzeug writes a non-ASCII name as ``filename*=UTF-8''…`` (RFC 6266) next to an
    ASCII fallback, so Cyrillic names reach the browser intact.
    """
    return send_file(
        io.BytesIO(content),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name=export_file_name(report, *context),
    )
