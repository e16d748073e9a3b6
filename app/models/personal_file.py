"""Documents kept in a student's personal file (личное дело)."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import relationship

from app.models.base import SchoolOwned, db

DOCUMENT_KINDS = {
    "birth_certificate": _l("Birth certificate"),
    "passport": _l("Passport of the Russian Federation"),
    "snils": _l("SNILS"),
    "oms_policy": _l("Compulsory medical insurance policy"),
    "registration": _l("Registration document"),
    "medical_card": _l("Medical card (form 026/u)"),
    "admission_application": _l("Application for admission"),
    "basic_general_certificate": _l("Certificate of basic general education"),
    "other": _l("Other"),
}


class StudentDocument(SchoolOwned, db.Model):
    """One document of a student's personal file, checked by app/services/personal_file.py."""

    __tablename__ = "student_document"
    __audit_person__ = ("student", "student_id")
    __audit_confidential__ = frozenset()
    __table_args__ = (Index("ix_student_document_school_student", "school_id", "student_id"),)

    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    kind = Column(String(30), nullable=False, info={"choices": DOCUMENT_KINDS})
    series = Column(String(20))
    number = Column(String(30))
    issued_by = Column(String(300))
    issue_date = Column(Date)
    note = Column(Text)

    student = relationship("Student")

    def __str__(self) -> str:
        kind = DOCUMENT_KINDS.get(self.kind, self.kind)
        return " ".join(str(part) for part in (kind, self.series, self.number) if part)
