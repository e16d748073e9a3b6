"""A timetable grid (class, student, teacher or room; template, week or day) as a sheet."""

import datetime as dt

import pandas as pd
from flask_babel import gettext as _

from app.services.dates import format_date
from app.services.timetable_grid import CellItem, Grid, room_label, weekday_label


def item_text(item: CellItem, kind: str) -> str:
    """Write one lesson of a cell as a line: the subject, then what the grid's kind hides."""
    parts = [item.subject]
    if kind not in ("class", "student") or item.is_group:
        parts.append(item.target)
    if kind != "teacher" and item.teacher:
        parts.append(item.teacher)
    if kind != "room" and item.room:
        parts.append(room_label(item.room))
    parts.extend(item.notes)
    return ", ".join(parts)


def _column_title(grid: Grid, weekday: int) -> str:
    day = grid.dates.get(weekday)
    label = weekday_label(weekday)
    return f"{label} {day.strftime('%d.%m')}" if day else label


def grid_frame(grid: Grid, kind: str) -> tuple[str, pd.DataFrame, dict]:
    """Build (sheet title, frame, formats) of a grid: a row per lesson, a column per day."""
    lesson_column = _("Lesson")
    time_column = _("Time")
    columns = [lesson_column, time_column] + [_column_title(grid, d) for d in grid.weekdays]
    rows = []
    for row in grid.rows:
        times = (
            f"{row.starts_at:%H:%M}–{row.ends_at:%H:%M}" if row.starts_at and row.ends_at else ""
        )
        cells = [
            "; ".join(item_text(item, kind) for item in grid.cell(weekday, row.lesson_number))
            for weekday in grid.weekdays
        ]
        rows.append([row.lesson_number, times, *cells])
    return (_("Timetable"), pd.DataFrame(rows, columns=columns), {lesson_column: "0"})


def grid_filters(week: dt.date | None, day: dt.date | None) -> str:
    if day is not None:
        return _("Day %(date)s", date=format_date(day))
    if week is not None:
        monday = week - dt.timedelta(days=week.weekday())
        return _("Week of %(date)s", date=format_date(monday))
    return _("Weekly template")
