"""The rows of a generated list screen as a table for the XLSX helper.

Every list screen (students, staff, classes, rooms …) exports through here, so its file
shows the same columns as the screen, with values typed for Excel: dates stay dates,
numbers stay numbers, and everything else, names and codes such as «00123» included,
is written as text by :func:`app.reports.xlsx.frame_to_xlsx`.
"""

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

import pandas as pd
from flask_babel import gettext as _


def export_value(value, choices: dict | None = None):
    """Turn one list value into what its cell should hold.

    A stored choice becomes its label, a flag «Да» or «Нет», a related record or a
    collection of them its text, and a number in text stays text.
    """
    if value is None:
        return None
    if choices and value in choices:
        return str(choices[value])
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, (int, float, Decimal, dt.date, dt.datetime)):
        return value
    if isinstance(value, (list, tuple, set)):
        return ", ".join(str(item) for item in value)
    return str(value)


def list_frame(
    columns: list[tuple[str, str]], rows: Iterable[dict], choices: dict[str, dict] | None = None
) -> pd.DataFrame:
    """Build the table of a list: ``columns`` are (attribute, header) pairs in order."""
    choices = choices or {}
    headers = _unique_headers([header for _name, header in columns])
    data = [
        [export_value(row.get(name), choices.get(name)) for name, _header in columns]
        for row in rows
    ]
    # dtype=object keeps each cell as built: pandas would turn a column of dates into
    # timestamps and a column of whole numbers with a gap into floats.
    return pd.DataFrame(data, columns=headers, dtype=object)


def _unique_headers(headers: list[str]) -> list[str]:
    """Number repeated headers, because two columns of one name would merge in a frame."""
    seen: dict[str, int] = {}
    unique = []
    for header in headers:
        seen[header] = seen.get(header, 0) + 1
        unique.append(header if seen[header] == 1 else f"{header} ({seen[header]})")
    return unique
