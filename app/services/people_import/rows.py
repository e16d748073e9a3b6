"""Reading the cells of one import row into checked values, with a message per bad cell.

Every message names the row number as the spreadsheet shows it, the column, the value
and the fix. An empty optional cell is left out of the values, so that importing it
never clears what the school already stores.
"""

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import gettext as _

from app.models import SchoolClass
from app.services.people_import import values as cells
from app.services.people_import.columns import FIELDS, GUARDIAN_NUMBERS, STUDENTS, Field
from app.services.people_import.values import BadValue

#: Class names quoted in the message about an unknown class.
QUOTED_CLASSES = 12


@dataclass
class GuardianRow:
    """A parent's cells of a student row: «Родитель 1: …» or «Родитель 2: …»."""

    number: int
    values: dict
    #: The stored guardian this parent is, once matched.
    match_id: int | None = None


@dataclass
class PersonRow:
    """One row of the file: checked values, and what the preview found for it."""

    number: int
    values: dict
    #: Each filled cell as the file shows it, by field key, for the preview table.
    shown: dict
    guardians: list[GuardianRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    status: str = ""
    changes: list[str] = field(default_factory=list)
    match_id: int | None = None
    #: The earlier row of the same person, for a duplicate.
    repeats: int | None = None


@dataclass
class RowContext:
    """Context of reading a row beside its cells: today, and the classes of the year."""

    kind: str
    today: dt.date
    #: Class name key («5А») → class of the current school year.
    classes: dict[str, SchoolClass]
    year_name: str | None


def cell_message(row: int, column: str, value: str, problem: str) -> str:
    return _(
        "Row %(row)s, column «%(column)s», value «%(value)s»: %(problem)s",
        row=row,
        column=column,
        value=value,
        problem=problem,
    )


def empty_message(row: int, column: str) -> str:
    return _(
        "Row %(row)s, column «%(column)s»: the cell is empty — fill it in.", row=row, column=column
    )


def read_row(context: RowContext, number: int, raw: dict) -> PersonRow:
    """Check the cells of one row; ``raw`` maps field keys to cell values."""
    row = PersonRow(number=number, values={}, shown={})
    for item in FIELDS[context.kind]:
        if item.key.startswith("guardian"):
            continue
        _read_cell(context, row, item, raw.get(item.key))
    for required in ("last_name", "first_name") + (
        ("birth_date", "sex") if context.kind == STUDENTS else ()
    ):
        if required not in row.values and required not in row.shown:
            row.errors.append(empty_message(number, _header(context.kind, required)))
    if context.kind == STUDENTS:
        for guardian_number in GUARDIAN_NUMBERS:
            _read_guardian(context, row, guardian_number, raw)
    return row


def _header(kind: str, key: str) -> str:
    return next(item.header for item in FIELDS[kind] if item.key == key)


def _read_cell(context: RowContext, row: PersonRow, item: Field, raw) -> None:
    text = cells.cell_text(raw)
    if not text:
        return
    row.shown[item.key] = text
    try:
        key, value = _parse(context, item.key, raw, text)
    except BadValue as error:
        row.errors.append(cell_message(row.number, item.header, text, str(error)))
        return
    row.values[key] = value


def _parse(context: RowContext, key: str, raw, text: str):
    """Return the model attribute and the value of one filled cell."""
    if key in ("last_name", "first_name", "middle_name"):
        return key, cells.parse_name(raw)
    if key == "birth_date":
        ages = cells.STUDENT_AGES if context.kind == STUDENTS else cells.STAFF_AGES
        return key, cells.parse_date(raw, ages, context.today)
    if key == "sex":
        return key, cells.parse_sex(raw)
    if key == "snils":
        return key, cells.parse_snils(raw)
    if key == "class_name":
        return "class_id", _class_id(context, text)
    if key == "personal_file_number":
        return key, cells.parse_text(raw, cells.PERSONAL_FILE_MAX)
    if key == "position":
        return key, cells.parse_text(raw, cells.POSITION_MAX)
    if key == "phone":
        return key, cells.parse_phone(raw)
    if key == "email":
        return key, cells.parse_email(raw)
    raise KeyError(key)


def _class_id(context: RowContext, text: str) -> int:
    school_class = context.classes.get(cells.class_key(text))
    if school_class is not None:
        return school_class.id
    if context.year_name is None:
        raise BadValue(_("the school has no school year yet — create the year and its classes."))
    names = [c.name for c in sorted(context.classes.values(), key=SchoolClass.sort_key)]
    shown = ", ".join(names[:QUOTED_CLASSES]) + (" …" if len(names) > QUOTED_CLASSES else "")
    raise BadValue(
        _(
            "there is no such class in the school year %(year)s — write one of: %(names)s.",
            year=context.year_name,
            names=shown or "—",
        )
    )


_GUARDIAN_PARSERS = {
    "kind": cells.parse_guardian_kind,
    "last_name": cells.parse_name,
    "first_name": cells.parse_name,
    "middle_name": cells.parse_name,
    "snils": cells.parse_snils,
    "phone": cells.parse_phone,
    "email": cells.parse_email,
}


def _read_guardian(context: RowContext, row: PersonRow, number: int, raw: dict) -> None:
    prefix = f"guardian{number}_"
    values, errors = {}, []
    filled = False
    for key, parser in _GUARDIAN_PARSERS.items():
        value = raw.get(prefix + key)
        text = cells.cell_text(value)
        if not text:
            continue
        filled = True
        row.shown[prefix + key] = text
        try:
            values[key] = parser(value)
        except BadValue as error:
            errors.append(
                cell_message(row.number, _header(context.kind, prefix + key), text, str(error))
            )
    if not filled:
        return
    for required in ("kind", "last_name", "first_name"):
        if required not in values and prefix + required not in row.shown:
            errors.append(empty_message(row.number, _header(context.kind, prefix + required)))
    row.errors.extend(errors)
    row.guardians.append(GuardianRow(number=number, values=values))
