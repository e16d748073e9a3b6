"""The login sheet of a class as XLSX: one row per new login with its initial password."""

import pandas as pd
from flask_babel import gettext as _

from app.reports.xlsx import frame_to_xlsx


def sheet_frame(sheet, site: str) -> pd.DataFrame:
    """Return the sheet's rows as a DataFrame with Russian (or English) column names."""
    columns = [
        _("Class"),
        _("Surname, name and patronymic"),
        _("Role"),
        _("Login name"),
        _("Initial password"),
        _("Site"),
    ]
    rows = [
        [row.class_name, row.name, row.role, row.username, row.password, site] for row in sheet.rows
    ]
    return pd.DataFrame(rows, columns=columns)


def sheet_xlsx(sheet, site: str) -> bytes:
    """Build the XLSX of a login sheet; the bytes go to the response and are never stored."""
    title = _(
        "Logins of class %(class_name)s, %(school)s",
        class_name=sheet.class_name,
        school=sheet.school_name,
    )
    note = _("Initial passwords: each person chooses their own at the first sign-in.")
    return frame_to_xlsx([(sheet.class_name, sheet_frame(sheet, site), {})], title, note)
