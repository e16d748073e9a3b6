"""The preview of an import: each row marked new, changed, duplicate or invalid.

A row is the same person as a stored record when the СНИЛС matches, or else when the
surname, first name, patronymic and birth date match (case and «ё» aside). A stored
record without a birth date also matches a row of the same name that gives one, so that
staff entered with their logins alone are completed rather than doubled.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from app.models import Employee, Guardian, SchoolClass, Student, db
from app.services.people_import import values as cells
from app.services.people_import.columns import FIELDS, STUDENTS
from app.services.people_import.files import Table
from app.services.people_import.rows import PersonRow, RowContext, read_row
from app.services.timetable import current_year

NEW = "new"
CHANGED = "changed"
DUPLICATE = "duplicate"
INVALID = "invalid"
STATUSES = (NEW, CHANGED, DUPLICATE, INVALID)

#: Fields compared with a stored student or employee, in the order changes are listed.
_COMPARED = {
    STUDENTS: (
        "last_name",
        "first_name",
        "middle_name",
        "birth_date",
        "sex",
        "class_id",
        "snils",
        "personal_file_number",
    ),
    "staff": (
        "last_name",
        "first_name",
        "middle_name",
        "birth_date",
        "sex",
        "snils",
        "position",
        "phone",
        "email",
    ),
}
_GUARDIAN_COMPARED = ("kind", "last_name", "first_name", "middle_name", "snils", "phone", "email")
#: The column of each compared attribute, where the two names differ.
_COLUMN_OF = {"class_id": "class_name"}


@dataclass
class Preview:
    """Every row of a file with its status, and the columns the import leaves out."""

    kind: str
    rows: list[PersonRow]
    unknown_headers: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for row in self.rows if row.status == status)

    @property
    def is_valid(self) -> bool:
        return self.count(INVALID) == 0

    @property
    def to_write(self) -> int:
        return self.count(NEW) + self.count(CHANGED)

    @property
    def errors(self) -> list[str]:
        return [message for row in self.rows for message in row.errors]


def model_of(kind: str):
    return Student if kind == STUDENTS else Employee


def build_preview(kind: str, school_id: int, table: Table, today: dt.date) -> Preview:
    """Check every row of ``table`` against the school's records and the file's other rows."""
    context = _row_context(kind, school_id, today)
    rows = []
    for number, values in table.rows:
        raw = {
            key: values[index] if index < len(values) else None
            for key, index in table.columns.items()
        }
        row = read_row(context, number, raw)
        if len(values) > len(table.headers) and any(
            cells.cell_text(value) for value in values[len(table.headers) :]
        ):
            row.errors.append(
                _(
                    "Row %(row)s has more cells than the header has columns — check the "
                    "delimiter and the quotes of that row.",
                    row=number,
                )
            )
        rows.append(row)
    _Matcher(kind, school_id).classify(rows)
    return Preview(kind=kind, rows=rows, unknown_headers=table.unknown_headers)


def _row_context(kind: str, school_id: int, today: dt.date) -> RowContext:
    year = current_year(school_id, today)
    classes = {}
    if year is not None:
        statement = select(SchoolClass).where(
            SchoolClass.school_id == school_id, SchoolClass.year_id == year.id
        )
        classes = {cells.class_key(item.name): item for item in db.session.scalars(statement)}
    return RowContext(
        kind=kind, today=today, classes=classes, year_name=year.name if year else None
    )


def _names(values) -> tuple[str, str, str]:
    get = values.get if isinstance(values, dict) else lambda key: getattr(values, key)
    return tuple(cells.name_key(get(key)) for key in ("last_name", "first_name", "middle_name"))


class _Matcher:
    """Finds the stored record of each row and compares them, one school's records loaded once."""

    def __init__(self, kind: str, school_id: int):
        self.kind = kind
        model = model_of(kind)
        self.records = list(db.session.scalars(select(model).where(model.school_id == school_id)))
        self.by_id = {record.id: record for record in self.records}
        self.by_snils = {record.snils: record for record in self.records if record.snils}
        self.by_key = defaultdict(list)
        self.without_birth_date = defaultdict(list)
        for record in self.records:
            self.by_key[(*_names(record), record.birth_date)].append(record)
            if record.birth_date is None:
                self.without_birth_date[_names(record)].append(record)
        self.by_file_number = {}
        self.guardians = defaultdict(list)
        if kind == STUDENTS:
            self.by_file_number = {
                record.personal_file_number: record
                for record in self.records
                if record.personal_file_number
            }
            statement = select(Guardian).where(Guardian.school_id == school_id)
            for guardian in db.session.scalars(statement):
                self.guardians[guardian.student_id].append(guardian)

    def classify(self, rows: list[PersonRow]) -> None:
        seen: dict[tuple, PersonRow] = {}
        file_numbers: dict[str, PersonRow] = {}
        for row in rows:
            if not row.errors:
                self._match(row)
            if not row.errors:
                self._check_repeat(row, seen)
            if not row.errors and row.status != DUPLICATE:
                self._check_file_number(row, file_numbers)
            if row.errors:
                row.status = INVALID
            elif row.status != DUPLICATE:
                self._compare(row)
                if row.errors:
                    row.status = INVALID

    def _match(self, row: PersonRow) -> None:
        values = row.values
        snils = values.get("snils")
        if snils and snils in self.by_snils:
            row.match_id = self.by_snils[snils].id
            return
        candidates = self.by_key.get((*_names(values), values.get("birth_date")), [])
        if not candidates and values.get("birth_date"):
            candidates = self.without_birth_date.get(_names(values), [])
        if len(candidates) > 1:
            row.errors.append(
                _(
                    "Row %(row)s: the school has %(count)s records of this name and birth date "
                    "— add the СНИЛС to tell them apart.",
                    row=row.number,
                    count=len(candidates),
                )
            )
            return
        if not candidates:
            return
        record = candidates[0]
        if snils and record.snils and record.snils != snils:
            row.errors.append(
                _(
                    "Row %(row)s: the school has a person of this name and birth date with "
                    "another СНИЛС — check the СНИЛС in the file.",
                    row=row.number,
                )
            )
            return
        row.match_id = record.id

    def _identities(self, row: PersonRow) -> list[tuple]:
        identities = [("name", *_names(row.values), row.values.get("birth_date"))]
        if row.match_id is not None:
            identities.append(("record", row.match_id))
        if row.values.get("snils"):
            identities.append(("snils", row.values["snils"]))
        return identities

    def _check_repeat(self, row: PersonRow, seen: dict) -> None:
        """Mark a second row of the same person: a duplicate if equal, invalid if not."""
        identities = self._identities(row)
        first = next((seen[key] for key in identities if key in seen), None)
        if first is None:
            for key in identities:
                seen[key] = row
            return
        if _same_content(first, row):
            row.status = DUPLICATE
            row.repeats = first.number
            return
        row.errors.append(
            _(
                "Row %(row)s is the same person as row %(first)s but with other values — "
                "keep one of the two rows.",
                row=row.number,
                first=first.number,
            )
        )

    def _check_file_number(self, row: PersonRow, file_numbers: dict) -> None:
        number = row.values.get("personal_file_number")
        if not number:
            return
        stored = self.by_file_number.get(number)
        column = _column_header(self.kind, "personal_file_number")
        if stored is not None and stored.id != row.match_id:
            row.errors.append(
                _(
                    "Row %(row)s, column «%(column)s», value «%(value)s»: another student of "
                    "the school has this number — correct the number.",
                    row=row.number,
                    column=column,
                    value=number,
                )
            )
        elif number in file_numbers:
            row.errors.append(
                _(
                    "Row %(row)s, column «%(column)s», value «%(value)s»: row %(first)s gives "
                    "another student the same number — correct one of them.",
                    row=row.number,
                    column=column,
                    value=number,
                    first=file_numbers[number].number,
                )
            )
        else:
            file_numbers[number] = row

    def _compare(self, row: PersonRow) -> None:
        if row.match_id is None:
            row.status = NEW
            for guardian in row.guardians:
                row.changes.append(_guardian_added(guardian))
            return
        record = self.by_id[row.match_id]
        for attribute in _COMPARED[self.kind]:
            if attribute not in row.values:
                continue
            old, new = getattr(record, attribute), row.values[attribute]
            if old == new:
                continue
            if attribute == "class_id" and old is not None:
                row.errors.append(self._class_change_message(old, row))
                continue
            row.changes.append(self._change_text(attribute, old, new, row))
        stored_guardians = list(self.guardians.get(record.id, []))
        for guardian in row.guardians:
            self._compare_guardian(row, guardian, stored_guardians)
        row.status = CHANGED if row.changes else DUPLICATE

    def _class_change_message(self, old_class_id: int, row: PersonRow) -> str:
        """Explain that a student's class changes by a transfer, which keeps its order."""
        old_class = db.session.get(SchoolClass, old_class_id)
        return _(
            "Row %(row)s: the student is in class «%(old)s», and the file gives «%(new)s». "
            "A class changes by a transfer with its order on the page «Student movement»: "
            "leave the cell «%(column)s» empty or enter the present class.",
            row=row.number,
            old=old_class.name if old_class else "",
            new=row.shown.get("class_name", ""),
            column=_column_header(self.kind, "class_name"),
        )

    def _change_text(self, attribute: str, old, new, row: PersonRow) -> str:
        column = _COLUMN_OF.get(attribute, attribute)
        shown_new = row.shown.get(column, _shown(new))
        if attribute == "class_id":
            old_class = db.session.get(SchoolClass, old) if old else None
            shown_old = old_class.name if old_class else ""
        else:
            shown_old = _shown(old)
        return _change(_column_header(self.kind, column), shown_old, shown_new)

    def _compare_guardian(self, row: PersonRow, guardian, stored: list[Guardian]) -> None:
        match = _find_guardian(guardian.values, stored)
        if match is None:
            row.changes.append(_guardian_added(guardian))
            return
        stored.remove(match)
        guardian.match_id = match.id
        prefix = f"guardian{guardian.number}_"
        for attribute in _GUARDIAN_COMPARED:
            if attribute not in guardian.values:
                continue
            old, new = getattr(match, attribute), guardian.values[attribute]
            if old != new:
                header = _column_header(self.kind, prefix + attribute)
                shown_new = row.shown.get(prefix + attribute, _shown(new))
                row.changes.append(_change(header, _shown(old), shown_new))


def _find_guardian(values: dict, stored: list[Guardian]) -> Guardian | None:
    """Find the stored parent this row describes: by СНИЛС when both have one, else by name."""
    snils = values.get("snils")
    if snils:
        for guardian in stored:
            if guardian.snils == snils:
                return guardian
    names = _names(values)
    for guardian in stored:
        if _names(guardian) == names and not (snils and guardian.snils):
            return guardian
    return None


def _same_content(first: PersonRow, second: PersonRow) -> bool:
    def content(row):
        return row.values, [(g.number, g.values) for g in row.guardians]

    return content(first) == content(second)


def _column_header(kind: str, key: str) -> str:
    return next(item.header for item in FIELDS[kind] if item.key == key)


#: Stored codes written back as the file writes them.
_CODE_TEXT = {
    "m": "м",
    "f": "ж",
    "mother": "мать",
    "father": "отец",
    "guardian": "законный представитель",
}


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    return _CODE_TEXT.get(value, str(value))


def _change(column: str, old: str, new: str) -> str:
    return _("%(column)s: «%(old)s» → «%(new)s»", column=column, old=old or "—", new=new)


def _guardian_added(guardian) -> str:
    values = guardian.values
    name = " ".join(values.get(key) or "" for key in ("last_name", "first_name", "middle_name"))
    return _("Parent %(number)s is added: %(name)s", number=guardian.number, name=name.strip())
