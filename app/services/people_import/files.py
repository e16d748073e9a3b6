"""Reading an uploaded import file, XLSX or CSV, into a header and numbered rows.

A CSV file may be UTF-8, with or without a byte order mark, or Windows-1251. UTF-8 is
tried first and strictly: text in Windows-1251 with Cyrillic letters is almost never
valid UTF-8, while any bytes decode as Windows-1251 but one. The delimiter, «;» or «,»,
is the one under which the header row names more known columns.
"""

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import PurePath
from zipfile import BadZipFile

from flask_babel import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from app.errors import FormErrors
from app.services.people_import.columns import match_headers, required_fields

#: Data rows one import takes: a large school has about 2,000 students.
MAX_ROWS = 5000
#: Rows the header is looked for in: the template has a title and a note above it.
HEADER_SEARCH_ROWS = 10
DELIMITERS = (";", ",")

_ZIP_MAGIC = b"PK\x03\x04"
#: The start of an old binary Excel file (.xls), an OLE compound document.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


class ImportFileError(FormErrors):
    """The file as a whole cannot be imported: nothing was read from it."""


@dataclass
class Table:
    """A file's header row and data rows, each row with its number as a spreadsheet shows it."""

    headers: list
    rows: list[tuple[int, list]]
    columns: dict[str, int]
    unknown_headers: list[str]


def read_table(kind: str, data: bytes, name: str, max_bytes: int) -> Table:
    """Read an uploaded file; raise :class:`ImportFileError` naming the fix."""
    _check_size(data, name, max_bytes)
    suffix = PurePath(name).suffix.lower()
    if data.startswith(_OLE_MAGIC):
        raise ImportFileError(
            [
                _(
                    "The file «%(name)s» is an old Excel workbook (.xls): open it in Excel, "
                    "save it as .xlsx and upload it again.",
                    name=name,
                )
            ]
        )
    if suffix == ".xlsx":
        records = _xlsx_records(data, name)
    elif suffix == ".csv":
        records = _csv_records(kind, _decode(data, name), name)
    else:
        raise ImportFileError(
            [
                _(
                    "The file «%(name)s» is neither .xlsx nor .csv: save the list in Excel "
                    "as .xlsx or as CSV and upload it again.",
                    name=name,
                )
            ]
        )
    return _table(kind, records, name)


def _check_size(data: bytes, name: str, max_bytes: int) -> None:
    if not data:
        raise ImportFileError([_("The file «%(name)s» is empty.", name=name)])
    if len(data) > max_bytes:
        raise ImportFileError(
            [
                _(
                    "The file «%(name)s» is larger than the limit of %(limit)s KB: split "
                    "the list into several files and import them one by one.",
                    name=name,
                    limit=max(max_bytes // 1024, 1),
                )
            ]
        )


def _unreadable(name: str, format_name: str) -> ImportFileError:
    return ImportFileError(
        [
            _(
                "The file «%(name)s» could not be read as %(format)s: it is damaged or "
                "of another format. Open it in Excel, save it again and upload it.",
                name=name,
                format=format_name,
            )
        ]
    )


def _xlsx_records(data: bytes, name: str) -> list[tuple[int, list]]:
    """Read the first sheet as (row number, cell values) pairs."""
    if not data.startswith(_ZIP_MAGIC):
        raise _unreadable(name, "XLSX")
    # NOTE: openpyxl unpacks the workbook's parts as it reads; the size limit bounds the
    # file, not its unpacked size.
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise _unreadable(name, "XLSX") from None
    try:
        if not workbook.worksheets:
            raise _unreadable(name, "XLSX")
        records = []
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        for number, values in enumerate(rows, start=1):
            if _is_empty(values):
                # Sheets often carry formatted but empty rows; they neither count nor stop.
                continue
            records.append((number, list(values)))
            if len(records) > MAX_ROWS + HEADER_SEARCH_ROWS:
                break
        return records
    except (BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise _unreadable(name, "XLSX") from None
    finally:
        workbook.close()


def _decode(data: bytes, name: str) -> str:
    """Decode CSV bytes: UTF-8 (strictly, after any byte order mark), else Windows-1251."""
    wrong_encoding = ImportFileError(
        [
            _(
                "The file «%(name)s» is in an encoding that is not supported: save it as "
                "CSV in UTF-8 or in Windows-1251 and upload it again.",
                name=name,
            )
        ]
    )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data[:4096]:
        raise wrong_encoding
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8")
        except UnicodeDecodeError:
            raise wrong_encoding from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError:
        raise wrong_encoding from None


def _csv_records(kind: str, text: str, name: str) -> list[tuple[int, list]]:
    delimiter = _sniff_delimiter(kind, text)
    records = []
    try:
        for index, values in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter)):
            if _is_empty(values):
                continue
            records.append((index + 1, values))
            if len(records) > MAX_ROWS + HEADER_SEARCH_ROWS:
                break
    except csv.Error:
        raise _unreadable(name, "CSV") from None
    return records


def _sniff_delimiter(kind: str, text: str) -> str:
    """Pick the delimiter under which the first lines name the most known columns."""
    head = "\n".join(text.splitlines()[:HEADER_SEARCH_ROWS])
    best, best_score = DELIMITERS[0], (-1, -1)
    for delimiter in DELIMITERS:
        try:
            lines = list(csv.reader(io.StringIO(head), delimiter=delimiter))
        except csv.Error:
            continue
        score = max(
            ((len(match_headers(kind, line)[0]), len(line)) for line in lines),
            default=(0, 0),
        )
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _is_empty(values: list) -> bool:
    return all(value is None or str(value).strip() == "" for value in values)


def _table(kind: str, records: list[tuple[int, list]], name: str) -> Table:
    """Find the header among the first rows and keep the non-empty rows under it."""
    filled = [(number, values) for number, values in records if not _is_empty(values)]
    if not filled:
        raise ImportFileError([_("The file «%(name)s» has no rows.", name=name)])
    header_at, columns, unknown = _find_header(kind, filled)
    missing = [field for field in required_fields(kind) if field.key not in columns]
    if missing:
        raise ImportFileError(_missing_columns_messages(kind, missing, columns, name))
    rows = filled[header_at + 1 :]
    if not rows:
        raise ImportFileError(
            [_("The file «%(name)s» has a header but no rows of people.", name=name)]
        )
    if len(rows) > MAX_ROWS:
        raise ImportFileError(
            [
                _(
                    "The file «%(name)s» has more than %(max)s rows: split it into several "
                    "files and import them one by one.",
                    name=name,
                    max=MAX_ROWS,
                )
            ]
        )
    header = filled[header_at][1]
    return Table(headers=header, rows=rows, columns=columns, unknown_headers=unknown)


def _find_header(kind: str, filled) -> tuple[int, dict[str, int], list[str]]:
    """Return the index of the header row, its columns and its unknown headers.

    The header is the first row with every required column; without one, the row that
    names the most columns is taken, so that the message lists what it lacks.
    """
    best = (0, {}, [])
    for index, (_number, values) in enumerate(filled[:HEADER_SEARCH_ROWS]):
        columns, unknown, repeated = match_headers(kind, values)
        if repeated:
            raise ImportFileError(
                [
                    _(
                        "The column «%(header)s» appears twice in the header: delete one of "
                        "them and upload the file again.",
                        header=repeated[0],
                    )
                ]
            )
        if all(field.key in columns for field in required_fields(kind)):
            return index, columns, unknown
        if len(columns) > len(best[1]):
            best = (index, columns, unknown)
    return best


def _missing_columns_messages(kind, missing, columns, name) -> list[str]:
    names = ", ".join(f"«{field.header}»" for field in missing)
    messages = [
        _(
            "The file «%(name)s» lacks the required columns %(columns)s: add them to the "
            "header row (download the template) and upload the file again.",
            name=name,
            columns=names,
        )
    ]
    if not columns:
        messages.append(
            _(
                "No column of the file was recognised. If the headers look garbled, the file "
                "is in another encoding: save it as CSV in UTF-8 or use the XLSX template."
            )
        )
    return messages
