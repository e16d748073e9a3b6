"""Consents to personal-data processing: one person each, a minor's given by a guardian."""

import datetime as dt

from flask_babel import lazy_gettext as _l

from app.errors import DomainError

#: The age of majority: a younger student's consent is given by a parent or guardian.
ADULT_AGE = 18


def _age_on(birth_date: dt.date, day: dt.date) -> int:
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - before_birthday


def check_consent(consent) -> None:
    """Reject a consent that names no person or several, or a minor's without a guardian."""
    people = [consent.student, consent.guardian, consent.employee]
    if sum(person is not None for person in people) != 1:
        raise DomainError(
            _l(
                "Choose exactly one person whose consent this is: a student, a parent "
                "or an employee."
            )
        )
    if consent.withdrawn_on and consent.given_on and consent.withdrawn_on < consent.given_on:
        raise DomainError(
            _l("The consent is withdrawn before it was given: enter the withdrawal date after it.")
        )
    guardian = consent.given_by_guardian
    student = consent.student
    if student is None:
        return
    is_minor = student.birth_date is None or (
        consent.given_on is not None and _age_on(student.birth_date, consent.given_on) < ADULT_AGE
    )
    if is_minor and guardian is None:
        raise DomainError(
            _l(
                "The student is a minor (or has no date of birth): choose the parent or "
                "guardian who gave the consent."
            )
        )
    if guardian is not None and guardian.student_id != student.id:
        raise DomainError(
            _l("%(name)s is not a parent or guardian of this student: choose one of theirs."),
            name=guardian.full_name,
        )
