"""Rules for the documents of a student's personal file (личное дело)."""

import datetime as dt
import re

from flask_babel import lazy_gettext as _l

from app.errors import DomainError
from app.models import Student, db

_PASSPORT_SERIES = re.compile(r"\d{4}")
_SIX_DIGITS = re.compile(r"\d{6}")
#: A birth certificate series: a Roman number, a hyphen and two Cyrillic capitals («IV-МЮ»).
_BIRTH_CERTIFICATE_SERIES = re.compile(r"[IVXLC]+-[А-ЯЁ]{2}")


def _compact(value: str | None) -> str | None:
    """Remove every space from a typed value, and return None for an empty one."""
    text = "".join((value or "").split())
    return text or None


def check_document(document, today: dt.date | None = None) -> None:
    """Normalise a document's series and number, and raise DomainError if one breaks a rule."""
    document.series = _compact(document.series)
    document.number = _compact(document.number)
    if document.kind == "passport":
        _check_passport(document)
    elif document.kind == "birth_certificate":
        _check_birth_certificate(document)
    _check_issue_date(document, today or dt.date.today())


def _check_passport(document) -> None:
    if document.series and not _PASSPORT_SERIES.fullmatch(document.series):
        raise DomainError(
            _l("Passport series «%(value)s» is invalid: enter 4 digits, for example 4510."),
            value=document.series,
        )
    _check_six_digit_number(document)


def _check_birth_certificate(document) -> None:
    if document.series:
        series = document.series.upper()
        if not _BIRTH_CERTIFICATE_SERIES.fullmatch(series):
            raise DomainError(
                _l(
                    "Birth certificate series «%(value)s» is invalid: enter a Roman number "
                    "in Latin letters, a hyphen and two Cyrillic letters, for example IV-МЮ."
                ),
                value=document.series,
            )
        document.series = series
    _check_six_digit_number(document)


def _check_six_digit_number(document) -> None:
    if document.number and not _SIX_DIGITS.fullmatch(document.number):
        raise DomainError(
            _l("Document number «%(value)s» is invalid: enter 6 digits, for example 123456."),
            value=document.number,
        )


def _check_issue_date(document, today: dt.date) -> None:
    issued = document.issue_date
    if issued is None:
        return
    if issued > today:
        raise DomainError(
            _l("Issue date %(value)s is in the future: enter the date printed on the document."),
            value=issued.strftime("%d.%m.%Y"),
        )
    birth_date = _birth_date(document)
    if birth_date is not None and issued < birth_date:
        raise DomainError(
            _l(
                "Issue date %(value)s is before the student's birth date %(birth)s: "
                "check both dates."
            ),
            value=issued.strftime("%d.%m.%Y"),
            birth=birth_date.strftime("%d.%m.%Y"),
        )


def _birth_date(document) -> dt.date | None:
    if document.student is not None:
        return document.student.birth_date
    if document.student_id is None:
        return None
    with db.session.no_autoflush:
        student = db.session.get(Student, document.student_id)
    return student.birth_date if student is not None else None
