"""The school card (паспорт ОУ): legal details, contacts, management and infrastructure.

The school system administrator of the school edits it, the principal reads it, and the
education authority reads the cards of its own schools. Every value is checked before
anything is saved, and each message names the value and how to fix it.
"""

import datetime as dt
import logging
import re
from dataclasses import dataclass

from flask import abort
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.errors import FormErrors
from app.models import Employee, School, db
from app.security.scope import Scope, apply_scope, scoped_get_or_404
from app.services.dates import format_date, parse_user_date

log = logging.getLogger(__name__)

#: Weights of the check digit of a legal entity's ten-digit ИНН: the weighted sum of the
#: first nine digits, modulo 11 and then modulo 10, is the tenth digit.
INN_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)

#: КПП: four digits of the tax office, two characters of the reason (digits or capital
#: Latin letters), three digits of the serial number.
KPP_PATTERN = re.compile(r"^\d{4}[0-9A-Z]{2}\d{3}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
WEBSITE_PATTERN = re.compile(r"^(https?://)?[\w.-]+\.[a-zа-яё]{2,}(/\S*)?$", re.IGNORECASE)

#: The field kinds a card has, each with its own parser.
TEXT, DATE, COUNT, FLAG = "text", "date", "count", "flag"


@dataclass(frozen=True)
class CardField:
    """One field of the card: its column, label, kind, section and length limit."""

    name: str
    label: object
    kind: str
    section: str
    max_length: int = 0


LEGAL, CONTACTS, MANAGEMENT, INFRASTRUCTURE = "legal", "contacts", "management", "infrastructure"

SECTION_TITLES = {
    LEGAL: _l("Legal details"),
    CONTACTS: _l("Contacts"),
    MANAGEMENT: _l("Management"),
    INFRASTRUCTURE: _l("Infrastructure"),
}

CARD_FIELDS = [
    CardField("full_name", _l("Full name"), TEXT, LEGAL, 500),
    CardField("name", _l("Short name"), TEXT, LEGAL, 255),
    CardField("legal_form", _l("Legal form"), TEXT, LEGAL, 255),
    CardField("founder", _l("Founder"), TEXT, LEGAL, 500),
    CardField("inn", _l("INN"), TEXT, LEGAL, 12),
    CardField("kpp", _l("KPP"), TEXT, LEGAL, 9),
    CardField("ogrn", _l("OGRN"), TEXT, LEGAL, 15),
    CardField("okpo", _l("OKPO"), TEXT, LEGAL, 10),
    CardField("licence_number", _l("Licence number"), TEXT, LEGAL, 50),
    CardField("licence_date", _l("Licence date"), DATE, LEGAL),
    CardField("accreditation_number", _l("Accreditation certificate number"), TEXT, LEGAL, 50),
    CardField("accreditation_date", _l("Accreditation certificate date"), DATE, LEGAL),
    CardField("accreditation_valid_until", _l("Accreditation valid until"), DATE, LEGAL),
    CardField("address", _l("Legal address"), TEXT, CONTACTS, 500),
    CardField("actual_address", _l("Actual address"), TEXT, CONTACTS, 500),
    CardField("phone", _l("Phone"), TEXT, CONTACTS, 50),
    CardField("email", _l("E-mail"), TEXT, CONTACTS, 150),
    CardField("website", _l("Website"), TEXT, CONTACTS, 255),
    CardField("principal_name", _l("Principal"), TEXT, MANAGEMENT, 255),
    CardField("deputies", _l("Deputy principals"), TEXT, MANAGEMENT, 4000),
    CardField("building_count", _l("Buildings"), COUNT, INFRASTRUCTURE),
    CardField("design_capacity", _l("Design capacity, students"), COUNT, INFRASTRUCTURE),
    CardField("has_gym", _l("Gym"), FLAG, INFRASTRUCTURE),
    CardField("has_library", _l("Library"), FLAG, INFRASTRUCTURE),
    CardField("canteen_seats", _l("Canteen seats"), COUNT, INFRASTRUCTURE),
    CardField("computer_class_count", _l("Computer classes"), COUNT, INFRASTRUCTURE),
    CardField("internet_speed_mbps", _l("Internet speed, Mbit/s"), COUNT, INFRASTRUCTURE),
]

FIELDS_BY_NAME = {field.name: field for field in CARD_FIELDS}

#: The largest count a card accepts, so that a typo of extra digits is caught.
MAX_COUNT = 1_000_000


class SchoolCardError(FormErrors):
    """The card was not saved: the messages name each invalid value."""


def card_sections() -> list[tuple[object, list[CardField]]]:
    """Group the card's fields by section, in the order the card shows them."""
    return [
        (title, [field for field in CARD_FIELDS if field.section == key])
        for key, title in SECTION_TITLES.items()
    ]


def own_school(scope: Scope) -> School:
    """Return the session's school, or 404 outside a school."""
    if scope.level != "school":
        abort(404)
    return scoped_get_or_404(School, scope.school_id, scope)


def school_employees(scope: Scope) -> list[Employee]:
    """Active staff of the school, for choosing the principal by name."""
    statement = apply_scope(select(Employee), Employee, scope).where(Employee.is_active.is_(True))
    return list(db.session.scalars(statement.order_by(Employee.last_name, Employee.first_name)))


def form_values(school: School) -> dict[str, str]:
    """Return the card's stored values as the edit form shows them."""
    values = {}
    for field in CARD_FIELDS:
        value = getattr(school, field.name)
        if value is None:
            values[field.name] = ""
        elif field.kind == DATE:
            values[field.name] = format_date(value)
        elif field.kind == FLAG:
            values[field.name] = "yes" if value else "no"
        else:
            values[field.name] = str(value)
    return values


def display_value(school: School, field: CardField) -> str:
    """Return one stored value as the card page and the export print it."""
    value = getattr(school, field.name)
    if value is None or value == "":
        return ""
    if field.kind == DATE:
        return format_date(value)
    if field.kind == FLAG:
        return _("Yes") if value else _("No")
    return str(value)


# --- Checks of single values ------------------------------------------------------------


def inn_problem(value: str) -> str | None:
    """Check a legal entity's ИНН: ten digits whose last one is the check digit."""
    if not re.fullmatch(r"\d{10}", value):
        return _(
            "INN «%(value)s» is invalid: a school, being a legal entity, has an INN of "
            "10 digits, for example 7707083893.",
            value=value,
        )
    digits = [int(char) for char in value]
    check = sum(w * d for w, d in zip(INN_WEIGHTS, digits, strict=False)) % 11 % 10
    if check != digits[9]:
        return _(
            "INN «%(value)s» has a wrong check digit: check the number against the "
            "registration certificate.",
            value=value,
        )
    return None


def ogrn_problem(value: str) -> str | None:
    """Check an ОГРН: 13 digits, the last being the first 12 as a number modulo 11, modulo 10."""
    if not re.fullmatch(r"\d{13}", value):
        return _(
            "OGRN «%(value)s» is invalid: it has 13 digits, for example 1027700132195.",
            value=value,
        )
    if int(value[:12]) % 11 % 10 != int(value[12]):
        return _(
            "OGRN «%(value)s» has a wrong check digit: check the number against the "
            "state register entry.",
            value=value,
        )
    return None


def kpp_problem(value: str) -> str | None:
    if KPP_PATTERN.fullmatch(value):
        return None
    return _(
        "KPP «%(value)s» is invalid: it has 9 characters, four digits, two digits or "
        "capital Latin letters, and three digits, for example 773601001.",
        value=value,
    )


def okpo_problem(value: str) -> str | None:
    # NOTE: only the length is checked. The ОКПО check digit is not verified yet.
    if re.fullmatch(r"\d{8}|\d{10}", value):
        return None
    return _(
        "OKPO «%(value)s» is invalid: an organisation's OKPO code has 8 digits "
        "(10 for a branch), for example 00032537.",
        value=value,
    )


def email_problem(value: str) -> str | None:
    if EMAIL_PATTERN.fullmatch(value):
        return None
    return _(
        "E-mail «%(value)s» is invalid: write it as name@example.ru.",
        value=value,
    )


def website_problem(value: str) -> str | None:
    if WEBSITE_PATTERN.fullmatch(value):
        return None
    return _(
        "Website «%(value)s» is invalid: write it as https://school.example.ru.",
        value=value,
    )


TEXT_CHECKS = {
    "inn": inn_problem,
    "kpp": kpp_problem,
    "ogrn": ogrn_problem,
    "okpo": okpo_problem,
    "email": email_problem,
    "website": website_problem,
}


# --- Reading the whole form ----------------------------------------------------------------


def _read_text(field: CardField, text: str, errors: list):
    if len(text) > field.max_length:
        errors.append(
            _(
                "«%(field)s» is %(length)s characters long: shorten it to %(max)s.",
                field=field.label,
                length=len(text),
                max=field.max_length,
            )
        )
        return text
    check = TEXT_CHECKS.get(field.name)
    problem = check(text) if check and text else None
    if problem:
        errors.append(problem)
    return text or None


def _read_date(field: CardField, text: str, errors: list):
    if not text:
        return None
    day = parse_user_date(text)
    if day is None:
        errors.append(
            _(
                "«%(field)s»: «%(value)s» is not a date; write it as 05.02.2027.",
                field=field.label,
                value=text,
            )
        )
    return day


def _read_count(field: CardField, text: str, errors: list):
    if not text:
        return None
    if not re.fullmatch(r"\d+", text) or int(text) > MAX_COUNT:
        errors.append(
            _(
                "«%(field)s»: «%(value)s» is not a whole number from 0 to %(max)s; "
                "enter a number such as 2, or leave the field empty.",
                field=field.label,
                value=text,
                max=MAX_COUNT,
            )
        )
        return None
    return int(text)


def _read_flag(field: CardField, text: str, errors: list):
    if text in ("", "yes", "no"):
        return {"": None, "yes": True, "no": False}[text]
    errors.append(
        _("«%(field)s»: choose «yes», «no» or leave it empty.", field=field.label),
    )
    return None


READERS = {TEXT: _read_text, DATE: _read_date, COUNT: _read_count, FLAG: _read_flag}


def _check_dates(values: dict, today: dt.date, errors: list) -> None:
    issued = values.get("accreditation_date")
    valid_until = values.get("accreditation_valid_until")
    if issued and valid_until and valid_until < issued:
        errors.append(
            _(
                "The accreditation is valid until %(until)s, before it was issued on "
                "%(issued)s: check both dates.",
                until=format_date(valid_until),
                issued=format_date(issued),
            )
        )
    for name in ("licence_date", "accreditation_date"):
        day = values.get(name)
        if day and day > today:
            errors.append(
                _(
                    "«%(field)s» %(date)s is in the future: enter the date the document "
                    "was issued.",
                    field=FIELDS_BY_NAME[name].label,
                    date=format_date(day),
                )
            )


def read_card_form(form, today: dt.date) -> dict:
    """Parse and check every field of the submitted card, raising one error with every problem."""
    errors: list = []
    values = {}
    for field in CARD_FIELDS:
        text = (form.get(field.name) or "").strip()
        values[field.name] = READERS[field.kind](field, text, errors)
    if not values["name"]:
        errors.append(_("Enter the short name of the school, for example «Школа № 1234»."))
    _check_dates(values, today, errors)
    if errors:
        raise SchoolCardError(errors)
    return values


def update_card(scope: Scope, form, today: dt.date) -> School:
    """Save the card of the session's school from a submitted form.

    The principal's name may be taken from a chosen employee of the same school; an
    employee of another school is not found (404).
    """
    school = own_school(scope)
    values = read_card_form(form, today)
    employee_id = (form.get("principal_employee_id") or "").strip()
    if employee_id:
        values["principal_name"] = scoped_get_or_404(Employee, employee_id, scope).full_name

    for name, value in values.items():
        setattr(school, name, value)
    db.session.commit()
    log.info("School card of school %s changed by user %s", school.id, scope.user_id)
    return school
