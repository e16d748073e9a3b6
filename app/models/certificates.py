"""The secretary's documents: certificate requests, the register of issued certificates,
and marks a student brought from another school's extract."""

from flask_appbuilder.security.sqla.models import User
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import relationship

from app.models.base import SchoolOwned, db

#: Statuses of a parent's request for a certificate of attendance, in the feminine
#: gender of «справка».
REQUEST_STATUSES = {
    "new": lazy_pgettext("certificate request", "New"),
    "ready": lazy_pgettext("certificate request", "Ready"),
    "handed_over": lazy_pgettext("certificate request", "Handed over"),
    "rejected": lazy_pgettext("certificate request", "Rejected"),
}

#: Kinds of documents entered in the register of issued certificates.
CERTIFICATE_KINDS = {
    "attendance": _l("Certificate of attendance"),
    "study": _l("Certificate of study"),
}


class IssuedCertificate(SchoolOwned, db.Model):
    """One line of the register of issued certificates (журнал выдачи справок).

    Register numbers run from 1 within each school and academic year, for certificates of
    attendance and of study alike. The student's class is copied at issue, so that a
    reprint after a transfer shows the class of that day.
    """

    __tablename__ = "issued_certificate"
    __table_args__ = (
        UniqueConstraint("school_id", "year_id", "register_number", name="uq_certificate_number"),
        CheckConstraint("copies BETWEEN 1 AND 10", name="ck_certificate_copies"),
        Index("ix_issued_certificate_school_student", "school_id", "student_id"),
    )

    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    year_id = Column(Integer, ForeignKey("academic_year.id", ondelete="CASCADE"), nullable=False)
    kind = Column(
        String(20), nullable=False, default="attendance", info={"choices": CERTIFICATE_KINDS}
    )
    register_number = Column(Integer, nullable=False)
    issued_on = Column(Date, nullable=False)
    #: Where the certificate is to be presented; empty means «по месту требования».
    purpose = Column(String(255))
    copies = Column(Integer, nullable=False, default=1)
    #: The class on the day of issue, as printed.
    class_name = Column(String(20), nullable=False)
    issued_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    created_at = Column(DateTime, nullable=False, server_default=func.now())

    student = relationship("Student")
    year = relationship("AcademicYear")
    issued_by = relationship(User)


class CertificateRequest(SchoolOwned, db.Model):
    """A parent's request for a certificate of attendance, queued for the secretary."""

    __tablename__ = "certificate_request"
    __table_args__ = (
        CheckConstraint(
            "status IN ('new', 'ready', 'handed_over', 'rejected')",
            name="ck_certificate_request_status",
        ),
        CheckConstraint("copies BETWEEN 1 AND 10", name="ck_certificate_request_copies"),
        Index("ix_certificate_request_school_status", "school_id", "status"),
        Index("ix_certificate_request_school_student", "school_id", "student_id"),
    )

    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    #: The parent's login that sent the request.
    author_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    purpose = Column(String(255))
    copies = Column(Integer, nullable=False, default=1)
    comment = Column(String(500))
    status = Column(String(20), nullable=False, default="new", info={"choices": REQUEST_STATUSES})
    #: Why the secretary rejected the request; required for «rejected».
    reject_reason = Column(String(500))
    certificate_id = Column(Integer, ForeignKey("issued_certificate.id", ondelete="SET NULL"))
    created_at = Column(DateTime, nullable=False, server_default=func.now())
    decided_at = Column(DateTime)

    student = relationship("Student")
    author = relationship(User)
    certificate = relationship("IssuedCertificate")


class TransferredMark(SchoolOwned, db.Model):
    """A current mark a student brought from another school's extract (выписка отметок).

    It belongs to a course of the student's new class and counts in that course's
    average for the term containing ``date``, with its own weight, like a journal mark.
    """

    __tablename__ = "transferred_mark"
    __table_args__ = (
        CheckConstraint("value >= 1", name="ck_transferred_mark_value"),
        CheckConstraint("weight >= 0", name="ck_transferred_mark_weight"),
        Index("ix_transferred_mark_school_course", "school_id", "course_id", "student_id"),
    )

    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    course_id = Column(Integer, ForeignKey("course.id", ondelete="CASCADE"), nullable=False)
    #: The day the mark was given at the other school, as the extract states it.
    date = Column(Date, nullable=False)
    value = Column(Integer, nullable=False)
    weight = Column(Numeric(5, 2), nullable=False, default=1)
    #: The school that issued the extract.
    source_school = Column(String(255), nullable=False)
    entered_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    created_at = Column(DateTime, nullable=False, server_default=func.now())

    student = relationship("Student")
    course = relationship("Course")
