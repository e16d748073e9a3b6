"""Checks of a person's phone number and e-mail address as typed into a form.

Russian numbers are stored in one form, +7 and ten digits, so that lists and exports
compare and sort them alike whatever spacing or prefix (8, 7, +7) was typed.
"""

import re

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from app.errors import DomainError

#: Characters people type in a phone number besides digits.
_PHONE_CHARACTERS = re.compile(r"^\+?[0-9 ()\-.]+$")

#: Digits of a Russian number after the country code.
NATIONAL_DIGITS = 10


def normalise_russian_phone(phone: str | None) -> str | None:
    """Return a Russian phone number as +7XXXXXXXXXX, or None for an empty value.

    Accepts «8 912 345-67-89», «+7 (912) 345 67 89», «79123456789» and ten digits without
    a prefix. Raises DomainError, naming the value and the expected form, for anything else.
    """
    text = (phone or "").strip()
    if not text:
        return None

    digits = re.sub(r"\D", "", text)
    national = None
    if _PHONE_CHARACTERS.match(text):
        if text.startswith("+"):
            if digits.startswith("7") and len(digits) == NATIONAL_DIGITS + 1:
                national = digits[1:]
        elif len(digits) == NATIONAL_DIGITS + 1 and digits[0] in "78":
            national = digits[1:]
        elif len(digits) == NATIONAL_DIGITS:
            national = digits
    if national is None:
        raise DomainError(
            _(
                "The phone number %(phone)s is invalid. Enter a Russian number with ten "
                "digits after +7 or 8, for example +7 912 345-67-89, or leave the field empty.",
                phone=text,
            )
        )
    return f"+7{national}"


def check_email(email: str | None) -> str | None:
    """Return a typed e-mail address in the form to store, or None for an empty value.

    Only the syntax is checked, offline; the domain is stored lower-case in ASCII.
    Raises DomainError naming the value for an invalid address.
    """
    text = (email or "").strip()
    if not text:
        return None
    try:
        validated = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        raise DomainError(
            _(
                "The e-mail address %(email)s is invalid. Enter it as name@example.ru "
                "or leave it empty.",
                email=text,
            )
        ) from None
    return validated.ascii_email
