"""Confidential records of a student: the school health record and the social passport.

The school keeps no diagnoses: the school nurse usually belongs to a polyclinic, and a
diagnosis is a medical secret. The health record keeps only what the school's work needs.
Who may read which field is decided in app/services/health.py and
app/services/social_passport.py; every change is audited (app/services/personal_data_audit.py).
"""

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import relationship

from app.models.base import SchoolOwned, db

#: Health groups (группы здоровья) I–V of the Ministry of Health's order on check-ups.
HEALTH_GROUPS = {"1": "I", "2": "II", "3": "III", "4": "IV", "5": "V"}

#: Groups for physical education (медицинские группы для занятий физкультурой).
PE_GROUPS = {
    "main": _l("Main"),
    "preparatory": _l("Preparatory"),
    "special_a": _l("Special A"),
    "special_b": _l("Special B"),
    "exempt": _l("Exempt"),
}


class HealthRecord(SchoolOwned, db.Model):
    """A student's school health record: one per student, kept by the medical worker.

    Teachers and the principal see the PE group and the special educational needs (ОВЗ)
    status; the other fields are seen by the medical worker alone.
    """

    __tablename__ = "health_record"
    __table_args__ = (UniqueConstraint("school_id", "student_id", name="uq_health_record_student"),)
    #: Whose personal data a change of this row is: (person kind, attribute with the id).
    __audit_person__ = ("student", "student_id")
    #: Fields audited by name only: their values are the medical worker's alone.
    __audit_confidential__ = frozenset({"health_group", "meal_allergies", "has_disability"})

    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    health_group = Column(String(1), info={"choices": HEALTH_GROUPS})
    pe_group = Column(String(20), info={"choices": PE_GROUPS})
    #: Allergies and diets that matter for school meals, in plain words, no diagnosis.
    meal_allergies = Column(String(500))
    #: Limited health abilities (ОВЗ) confirmed by the psychological-medical commission.
    has_special_needs = Column(Boolean, nullable=False, default=False)
    #: A disability (инвалидность) established, without its cause.
    has_disability = Column(Boolean, nullable=False, default=False)

    student = relationship("Student")
    exemptions = relationship(
        "HealthExemption",
        back_populates="record",
        order_by="HealthExemption.date_from",
        cascade="all, delete-orphan",
    )

    def __str__(self) -> str:
        return str(self.student)


class HealthExemption(SchoolOwned, db.Model):
    """An exemption from physical education for a period, on a document's basis."""

    __tablename__ = "health_exemption"
    __table_args__ = (
        CheckConstraint("date_to >= date_from", name="ck_health_exemption_dates"),
        Index("ix_health_exemption_school_record", "school_id", "record_id"),
    )
    __audit_person__ = ("student", "student_id")
    __audit_confidential__ = frozenset()

    id = Column(Integer, primary_key=True)
    record_id = Column(Integer, ForeignKey("health_record.id", ondelete="CASCADE"), nullable=False)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    date_from = Column(Date, nullable=False)
    date_to = Column(Date, nullable=False)
    #: The document the exemption rests on (a certificate of the polyclinic), never a diagnosis.
    reason = Column(String(200), nullable=False)

    record = relationship("HealthRecord", back_populates="exemptions")

    def is_current(self, day: dt.date) -> bool:
        return self.date_from <= day <= self.date_to


#: Family categories of the social passport. The benefit ones decide free school meals.
FAMILY_CATEGORIES = {
    "large_family": _l("Large family"),
    "low_income": _l("Low-income family"),
    "single_parent": _l("Single-parent family"),
    "guardianship": _l("Under guardianship"),
    "orphan": _l("Orphan"),
    "serviceman_family": _l("Family of a serviceman"),
    "disabled_parent": _l("Parent with a disability"),
    "migrant_family": _l("Migrant family"),
}

#: Categories that give a right to free school meals.
BENEFIT_CATEGORIES = frozenset({"large_family", "low_income", "guardianship", "serviceman_family"})

#: Registers a student or family may be on, each for a period.
REGISTERS = {
    "vshu": _l("ВШУ: school internal register"),
    "kdn": _l("КДНиЗП: commission for minors"),
    "opdn": _l("ОПДН: police juvenile unit"),
    "sop": _l("СОП: family in a socially dangerous situation"),
    "tzhs": _l("ТЖС: difficult life situation"),
    "uszn": _l("УСЗН: social protection"),
}

SOCIAL_STATUS_CODES = {**FAMILY_CATEGORIES, **REGISTERS}


class SocialStatus(SchoolOwned, db.Model):
    """One line of a student's social passport: a family category or a register, with dates."""

    __tablename__ = "social_status"
    __table_args__ = (
        CheckConstraint(
            "date_to IS NULL OR date_from IS NULL OR date_to >= date_from",
            name="ck_social_status_dates",
        ),
        Index("ix_social_status_school_student", "school_id", "student_id"),
    )
    __audit_person__ = ("student", "student_id")
    __audit_confidential__ = frozenset()

    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    code = Column(String(30), nullable=False, info={"choices": SOCIAL_STATUS_CODES})
    date_from = Column(Date)
    date_to = Column(Date)

    student = relationship("Student")

    @property
    def is_register(self) -> bool:
        return self.code in REGISTERS

    def is_current(self, day: dt.date) -> bool:
        started = self.date_from is None or self.date_from <= day
        return started and (self.date_to is None or day <= self.date_to)


class PsychologyConsent(SchoolOwned, db.Model):
    """A parent's written consent to psychological help for a student, until withdrawn."""

    __tablename__ = "psychology_consent"
    __table_args__ = (
        CheckConstraint(
            "withdrawn_on IS NULL OR withdrawn_on >= given_on", name="ck_psychology_consent_dates"
        ),
        Index("ix_psychology_consent_school_student", "school_id", "student_id"),
    )
    __audit_person__ = ("student", "student_id")
    __audit_confidential__ = frozenset()

    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    #: The parent or guardian who signed it.
    guardian_id = Column(Integer, ForeignKey("guardian.id", ondelete="RESTRICT"), nullable=False)
    given_on = Column(Date, nullable=False)
    withdrawn_on = Column(Date)

    student = relationship("Student")
    guardian = relationship("Guardian")

    def is_in_force(self, day: dt.date) -> bool:
        return self.given_on <= day and (self.withdrawn_on is None or day < self.withdrawn_on)


class PsychologistNote(SchoolOwned, db.Model):
    """A psychologist's confidential note on a student, seen by the psychologist alone."""

    __tablename__ = "psychologist_note"
    __table_args__ = (Index("ix_psychologist_note_school_student", "school_id", "student_id"),)
    __audit_person__ = ("student", "student_id")
    __audit_confidential__ = frozenset({"text"})

    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    author_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    written_at = Column(DateTime, nullable=False, server_default=func.now())
    text = Column(Text, nullable=False)


#: Purposes a consent to personal-data processing may cover.
CONSENT_SCOPES = {
    "education": _l("Education and the school information system"),
    "publication": _l("Publication of photos and achievements"),
    "transfer": _l("Transfer to other organisations"),
}


class PersonalDataConsent(SchoolOwned, db.Model):
    """A consent to personal-data processing of one person: a student, guardian or employee.

    A minor's consent is given by a parent or guardian, named in ``given_by_guardian``.
    """

    __tablename__ = "personal_data_consent"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN student_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN guardian_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN employee_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="ck_personal_data_consent_one_person",
        ),
        CheckConstraint(
            "withdrawn_on IS NULL OR withdrawn_on >= given_on",
            name="ck_personal_data_consent_dates",
        ),
        Index("ix_personal_data_consent_school_student", "school_id", "student_id"),
    )
    __audit_confidential__ = frozenset()

    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"))
    guardian_id = Column(Integer, ForeignKey("guardian.id", ondelete="CASCADE"))
    employee_id = Column(Integer, ForeignKey("employee.id", ondelete="CASCADE"))
    given_by_guardian_id = Column(Integer, ForeignKey("guardian.id", ondelete="SET NULL"))
    scope = Column(
        String(20), nullable=False, default="education", info={"choices": CONSENT_SCOPES}
    )
    given_on = Column(Date, nullable=False)
    withdrawn_on = Column(Date)

    student = relationship("Student", foreign_keys=[student_id])
    guardian = relationship("Guardian", foreign_keys=[guardian_id])
    employee = relationship("Employee", foreign_keys=[employee_id])
    given_by_guardian = relationship("Guardian", foreign_keys=[given_by_guardian_id])

    def audit_person(self) -> tuple[str, int | None]:
        """Whose consent this is, as the audit log names a person."""
        for kind in ("student", "guardian", "employee"):
            person_id = getattr(self, f"{kind}_id")
            if person_id is not None:
                return kind, person_id
        return "student", None
