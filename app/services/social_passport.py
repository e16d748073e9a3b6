"""The social passport: family categories, registers, consents and psychologist notes.

The psychologist (or social pedagogue) keeps it. The principal and the student's class
teacher read the categories and registers; the benefit categories that decide free meals
are also read by the role that runs school meals. Notes are the psychologist's alone, and exist only
while a parent's written consent to psychological help is in force.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from app.errors import FormErrors
from app.models import (
    Guardian,
    PsychologistNote,
    PsychologyConsent,
    SchoolClass,
    SocialStatus,
    Student,
    db,
)
from app.models.care import BENEFIT_CATEGORIES, FAMILY_CATEGORIES, REGISTERS, SOCIAL_STATUS_CODES
from app.security.scope import Scope, scoped_get_or_404
from app.services.care_access import class_students
from app.services.dates import parse_date_field, parse_user_date
from app.services.personal_data_audit import record_view

#: The maximum length of one note, in characters.
NOTE_MAX_LENGTH = 10_000


class SocialPassportError(FormErrors):
    """Nothing was saved: each message names the invalid value and the fix."""


class NoConsent(SocialPassportError):
    """No parent's consent to psychological help is in force for the student."""

    def __init__(self):
        super().__init__(
            [
                _(
                    "Notes need a parent's written consent to psychological help that is in "
                    "force today. Record the consent first; after it is withdrawn, notes can "
                    "be neither read nor written."
                )
            ]
        )


def _date(text: str, missing, errors) -> dt.date | None:
    return parse_date_field(
        text, missing, _("«%(value)s» is not a date: write it as 05.10.2026.", value=text), errors
    )


def _optional_date(text: str, errors) -> dt.date | None:
    if not text.strip():
        return None
    day = parse_user_date(text)
    if day is None:
        errors.append(_("«%(value)s» is not a date: write it as 05.10.2026.", value=text))
    return day


# --- Categories and registers ----------------------------------------------------------


def statuses(scope: Scope, student: Student) -> list[SocialStatus]:
    statement = (
        select(SocialStatus)
        .where(SocialStatus.school_id == scope.school_id, SocialStatus.student_id == student.id)
        .order_by(SocialStatus.code, SocialStatus.date_from)
    )
    return list(db.session.scalars(statement))


def add_status(scope: Scope, student: Student, form) -> SocialStatus:
    """Add a family category or a register; a register needs the date it started."""
    code = form.get("code", "").strip()
    errors = []
    if code not in SOCIAL_STATUS_CODES:
        errors.append(
            _("Category or register «%(value)s» is unknown: choose one from the list.", value=code)
        )
    start_text = form.get("date_from", "").strip()
    if code in REGISTERS:
        start = _date(
            start_text, _("Enter the date the register started, e.g. 05.10.2026."), errors
        )
    else:
        start = _optional_date(start_text, errors)
    end = _optional_date(form.get("date_to", "").strip(), errors)
    if start and end and end < start:
        errors.append(_("The period ends before it starts: enter the earlier date first."))
    if errors:
        raise SocialPassportError(errors)

    status = SocialStatus(
        school_id=scope.school_id, student_id=student.id, code=code, date_from=start, date_to=end
    )
    db.session.add(status)
    db.session.commit()
    return status


def delete_status(scope: Scope, status_id) -> Student:
    status = scoped_get_or_404(SocialStatus, status_id, scope)
    student = db.session.get(Student, status.student_id)
    db.session.delete(status)
    db.session.commit()
    return student


# --- Consent to psychological help -----------------------------------------------------


def consents(scope: Scope, student: Student) -> list[PsychologyConsent]:
    statement = (
        select(PsychologyConsent)
        .where(
            PsychologyConsent.school_id == scope.school_id,
            PsychologyConsent.student_id == student.id,
        )
        .order_by(PsychologyConsent.given_on.desc())
    )
    return list(db.session.scalars(statement))


def student_guardians(scope: Scope, student: Student) -> list[Guardian]:
    statement = select(Guardian).where(
        Guardian.school_id == scope.school_id, Guardian.student_id == student.id
    )
    return list(db.session.scalars(statement.order_by(Guardian.last_name, Guardian.id)))


def add_consent(scope: Scope, student: Student, form) -> PsychologyConsent:
    """Record a parent's written consent, signed by one of the student's guardians."""
    errors = []
    guardian_text = form.get("guardian_id", "").strip()
    guardians = {str(g.id): g for g in student_guardians(scope, student)}
    if guardian_text not in guardians:
        errors.append(_("Choose the parent or guardian who signed the consent."))
    given = _date(
        form.get("given_on", "").strip(),
        _("Enter the date of the consent, e.g. 05.10.2026."),
        errors,
    )
    if errors:
        raise SocialPassportError(errors)

    consent = PsychologyConsent(
        school_id=scope.school_id,
        student_id=student.id,
        guardian_id=guardians[guardian_text].id,
        given_on=given,
    )
    db.session.add(consent)
    db.session.commit()
    return consent


def withdraw_consent(scope: Scope, consent_id, form) -> Student:
    """Record the date a consent was withdrawn; notes close from that day."""
    consent = scoped_get_or_404(PsychologyConsent, consent_id, scope)
    errors = []
    day = _date(
        form.get("withdrawn_on", "").strip(),
        _("Enter the date the consent was withdrawn, e.g. 05.10.2026."),
        errors,
    )
    if day and day < consent.given_on:
        errors.append(
            _(
                "The consent cannot be withdrawn before it was given (%(date)s): check the date.",
                date=consent.given_on.strftime("%d.%m.%Y"),
            )
        )
    if errors:
        raise SocialPassportError(errors)
    consent.withdrawn_on = day
    db.session.commit()
    return db.session.get(Student, consent.student_id)


def consent_in_force(scope: Scope, student: Student, day: dt.date | None = None) -> bool:
    day = day or dt.date.today()
    return any(consent.is_in_force(day) for consent in consents(scope, student))


# --- Psychologist notes ----------------------------------------------------------------


def open_notes(scope: Scope, student: Student, day: dt.date | None = None):
    """Return the student's notes, recording each read; refused without consent."""
    if not consent_in_force(scope, student, day):
        raise NoConsent()
    statement = (
        select(PsychologistNote)
        .where(
            PsychologistNote.school_id == scope.school_id,
            PsychologistNote.student_id == student.id,
        )
        .order_by(PsychologistNote.written_at.desc(), PsychologistNote.id.desc())
    )
    notes = list(db.session.scalars(statement))
    for note in notes:
        record_view(note, ["text"])
    db.session.commit()
    return notes


def add_note(scope: Scope, student: Student, text: str, day: dt.date | None = None):
    """Write a note; refused without a consent in force."""
    if not consent_in_force(scope, student, day):
        raise NoConsent()
    text = text.strip()
    if not text:
        raise SocialPassportError([_("The note is empty: write its text.")])
    if len(text) > NOTE_MAX_LENGTH:
        raise SocialPassportError(
            [_("The note is longer than %(max)s characters: shorten it.", max=NOTE_MAX_LENGTH)]
        )
    note = PsychologistNote(
        school_id=scope.school_id, student_id=student.id, author_id=scope.user_id, text=text
    )
    db.session.add(note)
    db.session.commit()
    return note


# --- Class report and meal benefits ----------------------------------------------------


def _current_statuses(scope: Scope, students: list[Student], day: dt.date):
    statement = select(SocialStatus).where(
        SocialStatus.school_id == scope.school_id,
        SocialStatus.student_id.in_([s.id for s in students] or [-1]),
    )
    return [status for status in db.session.scalars(statement) if status.is_current(day)]


@dataclass
class ClassReportLine:
    code: str
    label: str
    is_register: bool
    students: int


def class_report(scope: Scope, school_class: SchoolClass, day: dt.date | None = None):
    """Students of a class per family category and per register on a day.

    A student counts once per category or register, however many lines they have in it.
    """
    day = day or dt.date.today()
    students = class_students(scope, school_class)
    counted = {(s.student_id, s.code) for s in _current_statuses(scope, students, day)}
    counts = Counter(code for _student, code in counted)
    lines = [
        ClassReportLine(code, str(label), False, counts[code])
        for code, label in FAMILY_CATEGORIES.items()
    ]
    lines += [
        ClassReportLine(code, str(label), True, counts[code]) for code, label in REGISTERS.items()
    ]
    return len(students), lines


@dataclass
class BenefitRow:
    student: Student
    categories: list[str]


def meal_benefits(scope: Scope, school_class: SchoolClass, day: dt.date | None = None):
    """Students of a class with a benefit category for free meals on a day."""
    day = day or dt.date.today()
    students = class_students(scope, school_class)
    by_student: dict[int, set[str]] = {}
    for status in _current_statuses(scope, students, day):
        if status.code in BENEFIT_CATEGORIES:
            by_student.setdefault(status.student_id, set()).add(status.code)
    return [
        BenefitRow(student, [str(FAMILY_CATEGORIES[c]) for c in sorted(by_student[student.id])])
        for student in students
        if student.id in by_student
    ]
