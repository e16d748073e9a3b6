"""The extract of current marks as an XLSX workbook: every mark, and the averages."""

from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
from flask_babel import gettext as _

from app.reports.xlsx import DATE, DECIMAL_2, Frame
from app.services.mark_extract import MarkExtract


def _rounded(average: Decimal | None) -> float | None:
    """Round an average to hundredths, half up, as the journal shows it."""
    if average is None:
        return None
    return float(average.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def extract_frames(extract: MarkExtract) -> list[Frame]:
    """Build two sheets: one row per mark, and one row per subject with its average."""
    subject, date, mark, weight, note = (
        _("Subject"),
        _("Date"),
        _("Mark"),
        _("Weight"),
        _("Comment"),
    )
    mark_rows = [
        {
            subject: line.subject,
            date: item.date,
            mark: item.text,
            weight: float(item.weight),
            note: item.note,
        }
        for line in extract.lines
        for item in line.marks
    ]
    marks_frame = pd.DataFrame(mark_rows, columns=[subject, date, mark, weight, note])

    marks_text, average = _("Marks"), _("Term average")
    summary_rows = [
        {
            subject: line.subject,
            marks_text: " ".join(item.text for item in line.marks),
            average: _rounded(line.average),
        }
        for line in extract.lines
    ]
    summary_frame = pd.DataFrame(summary_rows, columns=[subject, marks_text, average])
    return [
        (_("Marks"), marks_frame, {date: DATE, weight: DECIMAL_2}),
        (_("Averages"), summary_frame, {average: DECIMAL_2}),
    ]
