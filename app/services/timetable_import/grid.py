"""Reading the XLSX grid: one row per lesson of the weekly template.

Each row names a class, a weekday, a lesson number, a subject and, if known, a teacher, a
room, a group and a week parity. The rows of one class, group, subject and teacher make
one course, whose hours a week are its rows (a row of odd or even weeks counts half).
Any wrong row stops the import, and every wrong row is listed.
"""

from decimal import Decimal

import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.reports.xlsx import frame_to_xlsx
from app.services.people_import.files import ImportFileError as TableError
from app.services.people_import.files import _xlsx_records
from app.services.timetable_import.plan import (
    ActivitySpec,
    GroupSpec,
    ImportFileError,
    PlacementSpec,
    Plan,
    class_spec,
    clean,
)

#: Columns of the grid: code, header, required.
COLUMNS = (
    ("class", _l("Class"), True),
    ("weekday", _l("Weekday"), True),
    ("lesson", _l("Lesson number"), True),
    ("subject", _l("Subject"), True),
    ("teacher", _l("Teacher"), False),
    ("room", _l("Room"), False),
    ("group", _l("Group"), False),
    ("week", _l("Week"), False),
)
HEADER_SEARCH_ROWS = 10
MAX_ROWS = 5000

_WEEKDAYS = {
    "понедельник": 1, "пн": 1, "вторник": 2, "вт": 2, "среда": 3, "ср": 3,
    "четверг": 4, "чт": 4, "пятница": 5, "пт": 5, "суббота": 6, "сб": 6,
    "воскресенье": 7, "вс": 7,
}  # fmt: skip
_PARITIES = {
    "": "every", "каждая": "every", "все": "every", "нечетная": "odd", "нечет": "odd",
    "четная": "even", "чет": "even",
}  # fmt: skip


def _key(value) -> str:
    return clean(value).casefold().replace("ё", "е").rstrip(".")


def template_xlsx(title: str, note: str) -> bytes:
    """Build the empty grid: its header row under a title and a note, with no example rows."""
    frame = pd.DataFrame(columns=[str(header) for _code, header, _req in COLUMNS], dtype=object)
    return frame_to_xlsx([(title, frame, {})], title, note)


def read_grid(data: bytes, name: str, max_bytes: int) -> Plan:
    """Read an uploaded grid into a plan; a file that cannot be read raises an error."""
    if len(data) > max_bytes:
        limit = max_bytes // (1024 * 1024)
        raise ImportFileError(
            [_("The file is larger than %(limit)s MB: split it into parts.", limit=limit)]
        )
    try:
        records = _xlsx_records(data, name)
    except TableError as error:
        raise ImportFileError(error.messages) from None
    number, columns = _find_header(records, name)
    plan = Plan(strict=True)
    rows = [(n, values) for n, values in records if n > number]
    if len(rows) > MAX_ROWS:
        raise ImportFileError(
            [_("The file has more than %(max)s rows: split it into parts.", max=MAX_ROWS)]
        )
    if not rows:
        raise ImportFileError(
            [_("The file «%(name)s» has no rows under the header: fill them in.", name=name)]
        )
    activities: dict[tuple, ActivitySpec] = {}
    for row_number, values in rows:
        cells = {code: clean(values[i]) if i < len(values) else "" for code, i in columns.items()}
        _read_row(plan, activities, row_number, cells)
    plan.activities = list(activities.values())
    return plan


def _find_header(records, name: str) -> tuple[int, dict[str, int]]:
    wanted = {_key(header): code for code, header, _required in COLUMNS}
    for number, values in records[:HEADER_SEARCH_ROWS]:
        columns = {}
        for index, value in enumerate(values):
            code = wanted.get(_key(value))
            if code and code not in columns:
                columns[code] = index
        missing = [str(h) for code, h, required in COLUMNS if required and code not in columns]
        if len(columns) >= 2:
            if missing:
                raise ImportFileError(
                    [
                        _(
                            "The file «%(name)s» has no column %(columns)s: add it to the header "
                            "row, as in the template.",
                            name=name,
                            columns=", ".join(f"«{m}»" for m in missing),
                        )
                    ]
                )
            return number, columns
    raise ImportFileError(
        [
            _(
                "The file «%(name)s» has no header row of the template: download the template.",
                name=name,
            )
        ]
    )


def _lesson_number(value: str) -> int | None:
    text = value[:-2] if value.endswith(".0") else value
    if not text.isdigit() or not 0 <= int(text) <= 12:
        return None
    return int(text)


def _weekday(value: str) -> int | None:
    text = _key(value)
    if text.isdigit() and 1 <= int(text) <= 7:
        return int(text)
    return _WEEKDAYS.get(text)


def _row_errors(number: int, cells: dict) -> list[str]:
    errors = []
    for code, header, required in COLUMNS:
        if required and not cells.get(code):
            errors.append(
                _("Row %(row)s: the column «%(column)s» is empty.", row=number, column=header)
            )
    if cells.get("weekday") and _weekday(cells["weekday"]) is None:
        errors.append(
            _(
                "Row %(row)s: the weekday «%(value)s» is unknown; write «понедельник» … "
                "«воскресенье», «пн» … «вс» or a number from 1 to 7.",
                row=number,
                value=cells["weekday"],
            )
        )
    if cells.get("lesson") and _lesson_number(cells["lesson"]) is None:
        errors.append(
            _(
                "Row %(row)s: the lesson number «%(value)s» is not a whole number from 0 to 12.",
                row=number,
                value=cells["lesson"],
            )
        )
    if _key(cells.get("week", "")) not in _PARITIES:
        errors.append(
            _(
                "Row %(row)s: the week «%(value)s» is unknown; leave it empty or write "
                "«каждая», «нечётная» or «чётная».",
                row=number,
                value=cells["week"],
            )
        )
    grade = class_spec(cells["class"]).grade if cells.get("class") else 1
    if grade is None or not 1 <= grade <= 11:
        errors.append(
            _(
                "Row %(row)s: the class «%(value)s» does not start with a grade from 1 to 11; "
                "write it like «5А».",
                row=number,
                value=cells["class"],
            )
        )
    return errors


def _read_row(plan: Plan, activities: dict, number: int, cells: dict) -> None:
    errors = _row_errors(number, cells)
    if errors:
        plan.errors.extend(errors)
        return

    class_name, group = cells["class"], cells.get("group", "")
    plan.classes.setdefault(class_name, class_spec(class_name))
    plan.sets.setdefault(f"class|{class_name}", [(class_name, None)])
    students = f"class|{class_name}"
    if group:
        spec = plan.groups.setdefault(group, GroupSpec(name=group))
        if class_name not in spec.class_keys:
            spec.class_keys.append(class_name)
        students = f"group|{class_name}|{group}"
        plan.sets.setdefault(students, [(class_name, group)])

    plan.subjects.setdefault(cells["subject"], cells["subject"])
    teachers = []
    if cells.get("teacher"):
        plan.teachers.setdefault(cells["teacher"], cells["teacher"])
        teachers = [cells["teacher"]]
    if cells.get("room"):
        plan.rooms.setdefault(cells["room"], cells["room"])

    parity = _PARITIES[_key(cells.get("week", ""))]
    key = (students, cells["subject"], cells.get("teacher", ""))
    activity = activities.setdefault(
        key,
        ActivitySpec(str(len(activities) + 1), cells["subject"], teachers, [students], Decimal(0)),
    )
    activity.hours += Decimal(1) if parity == "every" else Decimal("0.5")
    plan.placements.append(
        PlacementSpec(
            activity=activity.key,
            weekday=_weekday(cells["weekday"]),
            lesson_number=_lesson_number(cells["lesson"]),
            room=cells.get("room") or None,
            parity=parity,
        )
    )
