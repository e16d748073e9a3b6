"""Documents that justify absences: medical certificates, parents' notes, orders.

The class teacher records a document and sets a reason on the student's absences in its
dates. The link from a document to the absences it covers stays implicit (the student and
the dates); the audit log records each reason set.
"""

from flask_appbuilder.security.sqla.models import User
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
)
from sqlalchemy.orm import relationship

from app.models.base import SchoolOwned, db

#: Kinds of document that justify an absence.
ABSENCE_DOCUMENT_KINDS = {
    "certificate": _l("Medical certificate"),
    "parent_note": _l("Parent's note"),
    "order": _l("Order"),
    "other": _l("Other document"),
}


class AbsenceDocument(SchoolOwned, db.Model):
    """A document a reason of absence is set against, with an optional scan on disk.

    The scan lies in the school's attachment folder under ``scan_stored_name``; it is not
    an :class:`~app.models.Attachment`, whose owner is a message or an announcement.
    """

    __tablename__ = "absence_document"
    __table_args__ = (
        CheckConstraint("date_from <= date_to", name="ck_absence_document_dates"),
        CheckConstraint(
            "kind IN ('certificate','parent_note','order','other')",
            name="ck_absence_document_kind",
        ),
        Index("ix_absence_document_school_student", "school_id", "student_id"),
    )

    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    kind = Column(String(20), nullable=False, info={"choices": ABSENCE_DOCUMENT_KINDS})
    number = Column(String(50))
    #: The date written on the document.
    issued_on = Column(Date, nullable=False)
    #: The days of absence the document covers.
    date_from = Column(Date, nullable=False)
    date_to = Column(Date, nullable=False)
    #: The reason last set against this document.
    reason_id = Column(Integer, ForeignKey("attendance_code.id", ondelete="RESTRICT"))
    scan_filename = Column(String(255))
    scan_stored_name = Column(String(64))
    scan_content_type = Column(String(100))
    scan_size = Column(Integer)
    created_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    created_at = Column(DateTime, nullable=False, server_default=func.now())

    student = relationship("Student")
    reason = relationship("AttendanceCode")
    created_by = relationship(User)

    @property
    def has_scan(self) -> bool:
        return bool(self.scan_stored_name)

    def __str__(self) -> str:
        number = f" № {self.number}" if self.number else ""
        return f"{ABSENCE_DOCUMENT_KINDS.get(self.kind, self.kind)}{number}"
