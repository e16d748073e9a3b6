"""Dates as users type them and as pages print them."""

import datetime as dt

#: A date picker sends ISO dates (2026-10-05); people type the Russian way (05.10.2026).
INPUT_FORMATS = ("%Y-%m-%d", "%d.%m.%Y")


def parse_user_date(text: str | None) -> dt.date | None:
    """Read a date typed as YYYY-MM-DD or DD.MM.YYYY; return None when it is neither."""
    text = (text or "").strip()
    for date_format in INPUT_FORMATS:
        try:
            return dt.datetime.strptime(text, date_format).date()
        except ValueError:
            continue
    return None


def parse_date_field(text: str, missing, invalid, errors: list) -> dt.date | None:
    """Read a required date field, adding ``missing`` or ``invalid`` to ``errors`` on failure."""
    if not text.strip():
        errors.append(missing)
        return None
    day = parse_user_date(text)
    if day is None:
        errors.append(invalid)
    return day


def format_date(day: dt.date) -> str:
    """Write a date the Russian way: 05.10.2026."""
    return day.strftime("%d.%m.%Y")
