"""The staff list report as a DataFrame, for the XLSX export."""

import pandas as pd
from flask_babel import gettext as _

from app.reports.xlsx import DATE, DECIMAL_2
from app.services.staff_records import StaffLine


def staff_report_frame(lines: list[StaffLine]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Return the report's rows and the number formats of its columns."""
    columns = {
        "name": _("Employee"),
        "positions": _("Positions (rate)"),
        "rate": _("Total rate"),
        "education": _("Education received"),
        "category": _("Qualification category"),
        "category_valid_until": _("Category valid until"),
        "last_training": _("Last course ended"),
        "total_experience": _("Total experience"),
        "teaching_experience": _("Teaching experience"),
        "flags": _("Attention"),
    }
    rows = [
        {
            **{key: getattr(line, key) for key in columns if key != "flags"},
            "flags": ", ".join(str(flag) for flag in line.flags),
        }
        for line in lines
    ]
    frame = pd.DataFrame(rows, columns=list(columns), dtype=object).rename(columns=columns)
    formats = {
        columns["rate"]: DECIMAL_2,
        columns["category_valid_until"]: DATE,
        columns["last_training"]: DATE,
    }
    return frame, formats
