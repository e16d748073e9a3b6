"""The columns of the students' and the staff's import files, and their templates.

A header is matched to its field ignoring case, «ё», punctuation and repeated spaces,
so «Дата рождения», «ДАТА РОЖДЕНИЯ» and «дата  рождения:» are one column. Russian
headers are the ones the templates use; the English field names are accepted too.
"""

import re
from dataclasses import dataclass

import pandas as pd

from app.reports.xlsx import frame_to_xlsx

STUDENTS = "students"
STAFF = "staff"
KINDS = (STUDENTS, STAFF)

#: Parents a student row may carry: «Родитель 1: …» and «Родитель 2: …».
GUARDIAN_NUMBERS = (1, 2)


@dataclass(frozen=True)
class Field:
    """One column of an import file: its key, its header in the template and other names."""

    key: str
    header: str
    aliases: tuple[str, ...] = ()
    #: The file must have this column; a row may still leave optional cells empty.
    required: bool = False


def _person_fields(required_birth_date: bool) -> list[Field]:
    return [
        Field("last_name", "Фамилия", ("last name", "surname"), required=True),
        Field("first_name", "Имя", ("first name", "name"), required=True),
        Field("middle_name", "Отчество", ("middle name", "patronymic")),
        Field(
            "birth_date",
            "Дата рождения",
            ("дата рожд", "birth date", "date of birth"),
            required=required_birth_date,
        ),
    ]


def _guardian_fields(number: int) -> list[Field]:
    parts = [
        ("kind", "кем приходится", ("кем является", "степень родства", "родство", "kind")),
        ("last_name", "фамилия", ("last name",)),
        ("first_name", "имя", ("first name",)),
        ("middle_name", "отчество", ("middle name",)),
        ("snils", "СНИЛС", ("snils",)),
        ("phone", "телефон", ("тел", "phone")),
        ("email", "e-mail", ("email", "эл почта", "электронная почта")),
    ]
    fields = []
    for key, header, aliases in parts:
        names = (header, *aliases)
        alias_list = tuple(f"родитель {number} {name}" for name in names[1:])
        alias_list += tuple(f"{name} родителя {number}" for name in names)
        alias_list += tuple(f"parent {number} {name}" for name in names)
        fields.append(Field(f"guardian{number}_{key}", f"Родитель {number}: {header}", alias_list))
    return fields


STUDENT_FIELDS = [
    *_person_fields(required_birth_date=True),
    Field("sex", "Пол", ("sex",), required=True),
    Field("class_name", "Класс", ("class",)),
    Field("snils", "СНИЛС", ("snils",)),
    Field(
        "personal_file_number",
        "№ личного дела",
        ("номер личного дела", "личное дело", "personal file number"),
    ),
    *[field for number in GUARDIAN_NUMBERS for field in _guardian_fields(number)],
]

STAFF_FIELDS = [
    *_person_fields(required_birth_date=False),
    Field("sex", "Пол", ("sex",)),
    Field("snils", "СНИЛС", ("snils",)),
    Field("position", "Должность", ("position",)),
    Field("phone", "Телефон", ("тел", "phone")),
    Field("email", "E-mail", ("email", "эл почта", "электронная почта")),
]

FIELDS = {STUDENTS: STUDENT_FIELDS, STAFF: STAFF_FIELDS}


def normalise_header(text) -> str:
    """Reduce a header to lower-case words: «Родитель 1: E-mail» → «родитель 1 e mail»."""
    text = str(text or "").casefold().replace("ё", "е")
    text = re.sub(r"[:\-—–_.,()/*]", " ", text)
    return " ".join(text.split())


def _lookup(kind: str) -> dict[str, Field]:
    lookup = {}
    for field in FIELDS[kind]:
        for name in (field.header, field.key, *field.aliases):
            lookup.setdefault(normalise_header(name), field)
    return lookup


def match_headers(kind: str, headers: list) -> tuple[dict[str, int], list[str], list[str]]:
    """Map field keys to column indexes.

    Returns the map, the headers that name no field, and the headers that name a field
    an earlier column already took.
    """
    lookup = _lookup(kind)
    columns: dict[str, int] = {}
    unknown, repeated = [], []
    for index, header in enumerate(headers):
        text = " ".join(str(header or "").split())
        if not text:
            continue
        field = lookup.get(normalise_header(text))
        if field is None:
            unknown.append(text)
        elif field.key in columns:
            repeated.append(text)
        else:
            columns[field.key] = index
    return columns, unknown, repeated


def field(kind: str, key: str) -> Field:
    return next(item for item in FIELDS[kind] if item.key == key)


def template_header(item: Field) -> str:
    """Return a column's header in the template: «Фамилия*» for a required column."""
    return f"{item.header}*" if item.required else item.header


def required_fields(kind: str) -> list[Field]:
    return [item for item in FIELDS[kind] if item.required]


def template_xlsx(kind: str, title: str, note: str) -> bytes:
    """Build the import template of a kind: the header row under a title and a note.

    Required columns carry a «*» after the header, which the import ignores when it reads
    the headers back. The template has no example rows, so that a forgotten example is
    never imported.
    """
    headers = [template_header(item) for item in FIELDS[kind]]
    frame = pd.DataFrame(columns=headers, dtype=object)
    return frame_to_xlsx([(title, frame, {})], title, note)
