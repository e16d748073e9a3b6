"""Staff personnel records (кадровый учёт): positions, education, category, training.

Every table here is school-owned and hangs off one :class:`~app.models.people.Employee`.
The HR specialist and the school system administrator keep them.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from app.models.base import SchoolOwned, db

#: Qualification categories of teaching staff (квалификационная категория).
QUALIFICATION_CATEGORIES = {
    "none": _l("No category"),
    "conformity": _l("Conformity with the position held"),
    "first": _l("First category"),
    "highest": _l("Highest category"),
}

#: Levels of education as personnel forms record them.
EDUCATION_LEVELS = {
    "secondary_general": _l("Secondary general"),
    "secondary_vocational": _l("Secondary vocational"),
    "higher_bachelor": _l("Higher: bachelor"),
    "higher_specialist": _l("Higher: specialist"),
    "higher_master": _l("Higher: master"),
    "postgraduate": _l("Postgraduate"),
}


class StaffRecord(SchoolOwned, db.Model):
    """An employee's personnel card: qualification category and length of service.

    Experience is stored as years and months on ``experience_as_of``, as the personnel
    file states it; pages add the months elapsed since then.
    """

    __tablename__ = "staff_record"
    __table_args__ = (
        UniqueConstraint("school_id", "employee_id", name="uq_staff_record_employee"),
        CheckConstraint(
            "category IN ('none','conformity','first','highest')",
            name="ck_staff_record_category",
        ),
        CheckConstraint(
            "total_experience_months BETWEEN 0 AND 11 AND teaching_experience_months "
            "BETWEEN 0 AND 11",
            name="ck_staff_record_months",
        ),
    )

    id = Column(Integer, primary_key=True)
    employee_id = Column(Integer, ForeignKey("employee.id", ondelete="CASCADE"), nullable=False)
    category = Column(
        String(20), nullable=False, default="none", info={"choices": QUALIFICATION_CATEGORIES}
    )
    category_assigned_on = Column(Date)
    category_valid_until = Column(Date)
    total_experience_years = Column(Integer, nullable=False, default=0)
    total_experience_months = Column(Integer, nullable=False, default=0)
    teaching_experience_years = Column(Integer, nullable=False, default=0)
    teaching_experience_months = Column(Integer, nullable=False, default=0)
    #: The date the experience above was counted on.
    experience_as_of = Column(Date)

    employee = relationship("Employee")


class StaffPosition(SchoolOwned, db.Model):
    """A position (должность) of an employee at a rate (ставка), with its dates."""

    __tablename__ = "staff_position"
    __table_args__ = (
        CheckConstraint("rate > 0 AND rate <= 2", name="ck_staff_position_rate"),
        Index("ix_staff_position_school_employee", "school_id", "employee_id"),
    )

    id = Column(Integer, primary_key=True)
    employee_id = Column(Integer, ForeignKey("employee.id", ondelete="CASCADE"), nullable=False)
    title = Column(String(150), nullable=False)
    #: Share of a full-time rate: 1.0, 0.5, 0.25.
    rate = Column(Numeric(4, 2), nullable=False)
    date_from = Column(Date, nullable=False)
    #: Empty while the position is held.
    date_to = Column(Date)

    employee = relationship("Employee")


class StaffEducation(SchoolOwned, db.Model):
    """One education of an employee: level, institution, graduation year, speciality."""

    __tablename__ = "staff_education"
    __table_args__ = (Index("ix_staff_education_school_employee", "school_id", "employee_id"),)

    id = Column(Integer, primary_key=True)
    employee_id = Column(Integer, ForeignKey("employee.id", ondelete="CASCADE"), nullable=False)
    level = Column(String(30), nullable=False, info={"choices": EDUCATION_LEVELS})
    institution = Column(String(300), nullable=False)
    graduation_year = Column(Integer)
    speciality = Column(String(300))

    employee = relationship("Employee")


class TrainingCourse(SchoolOwned, db.Model):
    """A professional development course (курсы повышения квалификации) an employee took."""

    __tablename__ = "training_course"
    __table_args__ = (
        CheckConstraint("hours > 0", name="ck_training_course_hours"),
        Index("ix_training_course_school_employee", "school_id", "employee_id"),
    )

    id = Column(Integer, primary_key=True)
    employee_id = Column(Integer, ForeignKey("employee.id", ondelete="CASCADE"), nullable=False)
    name = Column(String(500), nullable=False)
    hours = Column(Integer, nullable=False)
    date_from = Column(Date, nullable=False)
    date_to = Column(Date, nullable=False)
    #: The document received: its kind and number (удостоверение № …).
    document = Column(String(300))

    employee = relationship("Employee")
