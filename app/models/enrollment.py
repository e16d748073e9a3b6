"""Student movement (движение учащихся): each stay of a student in a class, with its orders."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import relationship

from app.models.base import SchoolOwned, db

#: Movements that open a stay in a class.
START_KINDS = {
    "admission": _l("Admission"),
    "transfer": _l("Transfer from another class"),
}

#: Movements that close a stay in a class.
END_KINDS = {
    "transfer": _l("Transfer to another class"),
    "departure": _l("Departure"),
}


class Enrollment(SchoolOwned, db.Model):
    """One stay of a student in one class, between the movements that opened and closed it.

    A stay covers the days ``start_date <= day < end_date``: a transfer closes the old stay
    and opens the new one on the same date, so a student is in exactly one class each day.
    ``Student.class_id`` and ``Student.is_active`` repeat the current stay for the pages
    that need only the present.
    """

    __tablename__ = "enrollment"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR start_date < end_date", name="ck_enrollment_dates"),
        CheckConstraint("start_kind IN ('admission', 'transfer')", name="ck_enrollment_start_kind"),
        CheckConstraint(
            "end_kind IS NULL OR end_kind IN ('transfer', 'departure')",
            name="ck_enrollment_end_kind",
        ),
        CheckConstraint(
            "(end_date IS NULL) = (end_kind IS NULL)", name="ck_enrollment_end_has_kind"
        ),
        # Only rows written from the old current class before movements were recorded may
        # lack the order of their admission.
        CheckConstraint(
            "is_backfilled OR start_order_number IS NOT NULL", name="ck_enrollment_start_order"
        ),
        Index("ix_enrollment_school_student", "school_id", "student_id", "start_date"),
        Index("ix_enrollment_school_class", "school_id", "class_id", "start_date"),
    )

    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    class_id = Column(Integer, ForeignKey("school_class.id", ondelete="CASCADE"), nullable=False)
    #: First day in the class.
    start_date = Column(Date, nullable=False)
    #: First day no longer in the class (the date of the transfer or departure); empty while
    #: the student is still there.
    end_date = Column(Date)

    #: The movement that opened the stay: an admission to the school or a transfer.
    start_kind = Column(String(20), nullable=False, info={"choices": START_KINDS})
    #: Number of the order (номер приказа) of the opening movement.
    start_order_number = Column(String(50))
    start_order_date = Column(Date)
    #: For an admission: the school the student came from; empty on a first enrolment.
    arrived_from = Column(String(255))
    #: For an admission: the student enters school for the first time (first grade, usually).
    is_first_enrolment = Column(Boolean, nullable=False, default=False)

    #: The movement that closed the stay: a transfer or a departure.
    end_kind = Column(String(20), info={"choices": END_KINDS})
    end_order_number = Column(String(50))
    end_order_date = Column(Date)
    #: For a departure: where the student went (another school, a college, abroad).
    departed_to = Column(String(255))
    departure_reason = Column(String(255))

    #: Written by the migration from the class a student had before movements were
    #: recorded, or by an import of a student into a class, so it carries no order.
    is_backfilled = Column(Boolean, nullable=False, default=False)

    student = relationship("Student")
    school_class = relationship("SchoolClass")

    @property
    def is_current(self) -> bool:
        return self.end_date is None

    def covers(self, day) -> bool:
        """Tell whether the student was in the class on ``day``."""
        return self.start_date <= day and (self.end_date is None or day < self.end_date)
