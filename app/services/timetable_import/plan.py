"""What a timetabling program's file describes, before it is matched to a school.

Every reader (FET, aSc, the XLSX grid) turns its file into a :class:`Plan`. A plan names
its records by the file's own keys, which are names in FET and ids in aSc. The preview
then matches them to the school's records by name.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from app.errors import DomainError

#: A class name starts with its grade: «5А», «5 A», «10-Б».
_GRADE = re.compile(r"^\s*(\d{1,2})")
_SEPARATORS = re.compile(r"[\s\-_.]+")


class ImportFileError(DomainError):
    """A file that cannot be read at all. Its messages name the problem and the fix."""

    def __init__(self, messages):
        self.messages = [str(message) for message in messages]
        super().__init__("; ".join(self.messages))


@dataclass
class ClassSpec:
    """A class of the file: its name there and the grade and letter read from it."""

    name: str
    grade: int | None = None
    letter: str = ""


@dataclass
class GroupSpec:
    """A part of a class (FET subgroup, aSc group) or a group of several classes."""

    name: str
    class_keys: list[str] = field(default_factory=list)


@dataclass
class ActivitySpec:
    """A subject taught by teachers to student sets for some hours a week."""

    key: str
    subject: str | None
    teachers: list[str]
    students: list[str]
    hours: Decimal
    #: How the preview names the activity when it is not imported.
    label: str = ""


@dataclass
class PlacementSpec:
    """An activity placed on a weekday and lesson number, with a room and week parity."""

    activity: str
    weekday: int
    lesson_number: int
    room: str | None = None
    parity: str = "every"


@dataclass
class Problem:
    """Something of the file that will not be imported, and why (shown in the preview)."""

    kind: str
    name: str
    reason: str


@dataclass
class Plan:
    """The records of one file, keyed by the file's own keys."""

    teachers: dict[str, str] = field(default_factory=dict)
    subjects: dict[str, str] = field(default_factory=dict)
    rooms: dict[str, str] = field(default_factory=dict)
    classes: dict[str, ClassSpec] = field(default_factory=dict)
    groups: dict[str, GroupSpec] = field(default_factory=dict)
    #: Student sets an activity may name: each is a list of (class key, group key or None).
    sets: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    activities: list[ActivitySpec] = field(default_factory=list)
    placements: list[PlacementSpec] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    #: Problems that stop the whole import (the XLSX grid: a bad row imports nothing).
    errors: list[str] = field(default_factory=list)
    #: Set when anything the preview cannot map must stop the import too.
    strict: bool = False

    def problem(self, kind: str, name: str, reason) -> None:
        self.problems.append(Problem(kind, name, str(reason)))


def class_spec(name: str, parent_name: str = "") -> ClassSpec:
    """Read the grade and letter of a class from its name, or from its parallel's name."""
    match = _GRADE.match(name)
    rest = name[match.end() :] if match else ""
    if match is None and parent_name:
        match = _GRADE.match(parent_name)
        rest = name
    if match is None:
        return ClassSpec(name=name.strip())
    letter = _SEPARATORS.sub("", rest)
    return ClassSpec(name=name.strip(), grade=int(match.group(1)), letter=letter)


def is_class_name(spec: ClassSpec) -> bool:
    """Tell whether a name reads as a class: a grade from 1 to 11 and a letter of 1–5."""
    return spec.grade is not None and 1 <= spec.grade <= 11 and 0 < len(spec.letter) <= 5


def clean(value) -> str:
    """Strip a name of the file and collapse the spaces inside it."""
    return " ".join(str(value or "").split())


NO_SUBJECT = _l("the activity has no subject")
NO_STUDENTS = _l("the activity has no students, or none of its student sets was imported")
