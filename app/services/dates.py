"""Dates as users type them and as pages print them."""

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app

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


def local_time(moment: dt.datetime) -> dt.datetime:
    """Convert a naive UTC time, as the schema stores it, to naive time in ``TIMEZONE``."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return moment.replace(tzinfo=dt.UTC).astimezone(zone).replace(tzinfo=None)


def format_local_time(moment: dt.datetime | None, seconds: bool = False) -> str:
    """Write a stored naive UTC time in ``TIMEZONE`` the Russian way: «05.12.2026 14:35».

    Every page shows times this way, so that a lock, a log row and a note written at the
    same moment show the same clock time. None gives an empty string.
    """
    if moment is None:
        return ""
    time_format = "%d.%m.%Y %H:%M:%S" if seconds else "%d.%m.%Y %H:%M"
    return local_time(moment).strftime(time_format)


def local_today() -> dt.date:
    """Return today's date in ``TIMEZONE``."""
    return dt.datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()
