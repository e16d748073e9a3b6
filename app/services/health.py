"""School health records: kept by the medical worker, with a PE part for teachers.

The medical worker reads and changes the whole record; every read of it is recorded in
the personal-data audit. Teachers and the principal read only the PE group, exemptions
and ОВЗ status, through :func:`pe_class_list`.
"""

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from app.errors import FormErrors
from app.models import HealthExemption, HealthRecord, SchoolClass, Student, db
from app.models.care import HEALTH_GROUPS, PE_GROUPS
from app.security.scope import Scope, scoped_get_or_404
from app.services.care_access import class_students
from app.services.dates import parse_date_field
from app.services.personal_data_audit import record_view

#: Fields of the record open to the medical worker alone; each read of them is audited.
MEDICAL_FIELDS = ["health_group", "meal_allergies", "has_disability"]


class HealthRecordError(FormErrors):
    """The record was not saved: each message names the invalid value and the fix."""


@dataclass
class HealthForm:
    """The typed health-record form."""

    health_group: str = ""
    pe_group: str = ""
    meal_allergies: str = ""
    has_special_needs: bool = False
    has_disability: bool = False

    @classmethod
    def from_form(cls, form) -> "HealthForm":
        return cls(
            health_group=form.get("health_group", "").strip(),
            pe_group=form.get("pe_group", "").strip(),
            meal_allergies=form.get("meal_allergies", "").strip(),
            has_special_needs=bool(form.get("has_special_needs")),
            has_disability=bool(form.get("has_disability")),
        )

    @classmethod
    def of(cls, record: HealthRecord | None) -> "HealthForm":
        if record is None:
            return cls()
        return cls(
            health_group=record.health_group or "",
            pe_group=record.pe_group or "",
            meal_allergies=record.meal_allergies or "",
            has_special_needs=record.has_special_needs,
            has_disability=record.has_disability,
        )


@dataclass
class ExemptionForm:
    date_from: str = ""
    date_to: str = ""
    reason: str = ""

    @classmethod
    def from_form(cls, form) -> "ExemptionForm":
        return cls(
            date_from=form.get("date_from", "").strip(),
            date_to=form.get("date_to", "").strip(),
            reason=form.get("reason", "").strip(),
        )


def health_record(scope: Scope, student: Student) -> HealthRecord | None:
    statement = select(HealthRecord).where(
        HealthRecord.school_id == scope.school_id, HealthRecord.student_id == student.id
    )
    return db.session.scalar(statement)


def open_health_record(scope: Scope, student: Student) -> HealthRecord | None:
    """Return the student's record for the medical worker, recording the read."""
    record = health_record(scope, student)
    if record is not None:
        record_view(record, MEDICAL_FIELDS)
        db.session.commit()
    return record


def _check_health_form(form: HealthForm) -> None:
    errors = []
    if form.health_group and form.health_group not in HEALTH_GROUPS:
        errors.append(
            _(
                "Health group «%(value)s» is invalid: choose a group from I to V.",
                value=form.health_group,
            )
        )
    if form.pe_group and form.pe_group not in PE_GROUPS:
        errors.append(
            _("PE group «%(value)s» is invalid: choose one from the list.", value=form.pe_group)
        )
    if len(form.meal_allergies) > 500:
        errors.append(_("The allergies text is longer than 500 characters: shorten it."))
    if errors:
        raise HealthRecordError(errors)


def save_health_record(scope: Scope, student: Student, form: HealthForm) -> HealthRecord:
    """Create or change the student's record and commit; the audit hook logs the change."""
    _check_health_form(form)
    record = health_record(scope, student)
    if record is None:
        record = HealthRecord(school_id=scope.school_id, student_id=student.id)
        db.session.add(record)
    record.health_group = form.health_group or None
    record.pe_group = form.pe_group or None
    record.meal_allergies = form.meal_allergies or None
    record.has_special_needs = form.has_special_needs
    record.has_disability = form.has_disability
    db.session.commit()
    return record


def add_exemption(scope: Scope, student: Student, form: ExemptionForm) -> HealthExemption:
    """Add an exemption from PE for a period; the record is created when missing."""
    errors = []
    start = parse_date_field(
        form.date_from,
        _("Enter the first day of the exemption, for example 05.10.2026."),
        _("«%(value)s» is not a date: write it as 05.10.2026.", value=form.date_from),
        errors,
    )
    end = parse_date_field(
        form.date_to,
        _("Enter the last day of the exemption, for example 30.10.2026."),
        _("«%(value)s» is not a date: write it as 30.10.2026.", value=form.date_to),
        errors,
    )
    if start and end and end < start:
        errors.append(_("The exemption ends before it starts: enter the earlier date first."))
    if not form.reason:
        errors.append(
            _("Enter the basis of the exemption, for example «справка поликлиники № 12».")
        )
    elif len(form.reason) > 200:
        errors.append(_("The basis is longer than 200 characters: shorten it."))
    if errors:
        raise HealthRecordError(errors)

    record = health_record(scope, student)
    if record is None:
        record = HealthRecord(school_id=scope.school_id, student_id=student.id)
        db.session.add(record)
        db.session.flush()
    exemption = HealthExemption(
        school_id=scope.school_id,
        record_id=record.id,
        student_id=student.id,
        date_from=start,
        date_to=end,
        reason=form.reason,
    )
    db.session.add(exemption)
    db.session.commit()
    return exemption


def delete_exemption(scope: Scope, exemption_id) -> Student:
    """Delete one exemption of the school; return its student."""
    exemption = scoped_get_or_404(HealthExemption, exemption_id, scope)
    student = db.session.get(Student, exemption.student_id)
    db.session.delete(exemption)
    db.session.commit()
    return student


@dataclass
class PeRow:
    """One student of a class as the PE list shows them: no medical details."""

    student: Student
    pe_group: str
    has_special_needs: bool
    exemptions: list[HealthExemption] = field(default_factory=list)


def pe_class_list(scope: Scope, school_class: SchoolClass):
    """PE groups, the year's exemptions and ОВЗ status of a class's students."""
    year_start = school_class.year.start_date
    students = class_students(scope, school_class)
    records = {
        record.student_id: record
        for record in db.session.scalars(
            select(HealthRecord).where(
                HealthRecord.school_id == scope.school_id,
                HealthRecord.student_id.in_([s.id for s in students] or [-1]),
            )
        )
    }
    rows = []
    for student in students:
        record = records.get(student.id)
        if record is None:
            rows.append(PeRow(student, "", False))
            continue
        exemptions = [e for e in record.exemptions if e.date_to >= year_start]
        pe_group = str(PE_GROUPS.get(record.pe_group, "")) if record.pe_group else ""
        rows.append(PeRow(student, pe_group, record.has_special_needs, exemptions))
    return rows
