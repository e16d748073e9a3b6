"""Checks and normal forms of the values of one import cell.

Each parser takes the cell as read (text, a number, or a date from a spreadsheet) and
returns the value to store. An invalid value raises :class:`BadValue` with the problem and
its fix, and the caller prefixes the message with the row, the column and the value.
"""

import datetime as dt
import re

from flask_babel import gettext as _

#: Text that a name may hold: letters of any alphabet, spaces, hyphens, apostrophes, dots.
_NAME = re.compile(r"^[^\W\d_]+(?:[ '’.\-]+[^\W\d_]+)*\.?$")
_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
_PHONE_CHARACTERS = re.compile(r"^\+?[\d\s()\-]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")

NAME_MAX = 100
PERSONAL_FILE_MAX = 30
POSITION_MAX = 150
EMAIL_MAX = 150
#: A Russian number has 11 digits with the country code; foreign numbers up to 15 (E.164).
PHONE_DIGITS = (10, 15)
#: Ages a birth date may give, in years on the day of the import.
STUDENT_AGES = (3, 25)
STAFF_AGES = (14, 100)

SEX_VALUES = {
    "м": "m",
    "муж": "m",
    "мужской": "m",
    "m": "m",
    "male": "m",
    "ж": "f",
    "жен": "f",
    "женский": "f",
    "f": "f",
    "female": "f",
}

GUARDIAN_KIND_VALUES = {
    "мать": "mother",
    "мама": "mother",
    "mother": "mother",
    "отец": "father",
    "папа": "father",
    "father": "father",
    "законный представитель": "guardian",
    "опекун": "guardian",
    "попечитель": "guardian",
    "guardian": "guardian",
    "legal guardian": "guardian",
}


class BadValue(ValueError):
    """Error of one invalid cell value, with a message naming the problem and the fix."""


def cell_text(value) -> str:
    """Return the cell as the user sees it: text stripped, whole numbers without «.0»."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    return " ".join(str(value).split())


def name_key(text: str | None) -> str:
    """Compare names regardless of case and of «ё» written as «е»."""
    return (text or "").casefold().replace("ё", "е")


def parse_name(value) -> str:
    text = cell_text(value)
    if len(text) > NAME_MAX:
        raise BadValue(_("the name is longer than %(max)s characters — shorten it.", max=NAME_MAX))
    if not _NAME.match(text):
        raise BadValue(_("a name holds only letters, spaces and hyphens — correct it."))
    return text


def parse_date(value, ages: tuple[int, int], today: dt.date) -> dt.date:
    """Read a birth date written as DD.MM.YYYY, or a date cell of a spreadsheet."""
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        day = _date_from_text(cell_text(value))
    youngest, oldest = ages
    age = today.year - day.year - ((today.month, today.day) < (day.month, day.day))
    if age < youngest or age > oldest:
        raise BadValue(
            _(
                "the date gives an age of %(age)s years, outside %(min)s–%(max)s — check the year.",
                age=age,
                min=youngest,
                max=oldest,
            )
        )
    return day


def _date_from_text(text: str) -> dt.date:
    match = _DATE.match(text)
    problem = _("not a date — write it as DD.MM.YYYY, for example 01.09.2015.")
    if not match:
        raise BadValue(problem)
    day, month, year = (int(part) for part in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise BadValue(problem) from None


def parse_sex(value) -> str:
    sex = SEX_VALUES.get(cell_text(value).casefold().rstrip("."))
    if sex is None:
        raise BadValue(_("unknown sex — write «м» or «ж»."))
    return sex


def parse_guardian_kind(value) -> str:
    kind = GUARDIAN_KIND_VALUES.get(cell_text(value).casefold())
    if kind is None:
        raise BadValue(_("unknown kind — write «мать», «отец» or «законный представитель»."))
    return kind


def parse_snils(value) -> str:
    """Check a СНИЛС and return it as «123-456-789 01».

    The control number is the sum of the first nine digits weighted 9 down to 1, taken
    modulo 101, with 100 written as 00. The Pension Fund checks it only for numbers
    above 001-001-998, and so does this function.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # A spreadsheet number has lost its leading zeros.
        digits = cell_text(value).zfill(11)
    else:
        digits = re.sub(r"[\s\-]", "", cell_text(value))
    if not digits.isdigit() or len(digits) != 11:
        raise BadValue(_("a СНИЛС has 11 digits — write it as 123-456-789 01."))
    number = int(digits[:9])
    if number > 1001998 and int(digits[9:]) != snils_checksum(digits[:9]):
        raise BadValue(
            _("the control number does not match — check the digits against the document.")
        )
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:9]} {digits[9:]}"


def snils_checksum(first_nine: str) -> int:
    total = sum(
        int(digit) * weight for digit, weight in zip(first_nine, range(9, 0, -1), strict=True)
    )
    total %= 101
    return 0 if total == 100 else total


def parse_phone(value) -> str:
    text = cell_text(value)
    digits = re.sub(r"\D", "", text)
    low, high = PHONE_DIGITS
    if not _PHONE_CHARACTERS.match(text) or not low <= len(digits) <= high:
        raise BadValue(
            _("not a phone number — write it with the code, for example +7 999 123-45-67.")
        )
    return text


def parse_email(value) -> str:
    text = cell_text(value)
    if len(text) > EMAIL_MAX or not _EMAIL.match(text):
        raise BadValue(_("not an e-mail address — write it as name@example.ru."))
    return text


def parse_text(value, limit: int) -> str:
    text = cell_text(value)
    if len(text) > limit:
        raise BadValue(_("the text is longer than %(max)s characters — shorten it.", max=limit))
    return text


def class_key(text: str) -> str:
    """Compare class names as «5А», whatever the spaces, hyphens, quotes and case."""
    return re.sub(r"[\s\-«»\"']", "", text).upper().replace("Ё", "Е")
