"""People of a school: staff, students and their parents or guardians."""

from flask_appbuilder.security.sqla.models import User
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
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from app.models.base import SchoolOwned, db, person_full_name, person_short_name

SEXES = {"m": _l("Male"), "f": _l("Female")}

GUARDIAN_KINDS = {
    "mother": _l("Mother"),
    "father": _l("Father"),
    "guardian": _l("Legal guardian"),
}


class PersonMixin:
    """Name fields shared by staff, students and guardians."""

    last_name = Column(String(100), nullable=False)
    first_name = Column(String(100), nullable=False)
    middle_name = Column(String(100))

    #: Insurance number of the person (СНИЛС), stored as «123-456-789 01».
    snils = Column(String(14))

    @property
    def full_name(self) -> str:
        return person_full_name(self.last_name, self.first_name, self.middle_name)

    @property
    def short_name(self) -> str:
        return person_short_name(self.last_name, self.first_name, self.middle_name)

    def __str__(self) -> str:
        return self.full_name


class Employee(PersonMixin, SchoolOwned, db.Model):
    """A member of staff (сотрудник) of one school; a teacher of two schools has two rows."""

    __tablename__ = "employee"
    #: Whose personal data a change of this row is (see app/services/personal_data_audit.py).
    __audit_person__ = ("employee", "id")
    __audit_confidential__ = frozenset()
    __table_args__ = (
        UniqueConstraint("school_id", "user_id", name="uq_employee_user"),
        UniqueConstraint("school_id", "snils", name="uq_employee_snils"),
        Index("ix_employee_school_name", "school_id", "last_name"),
    )

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    position = Column(String(150))
    birth_date = Column(Date)
    sex = Column(String(1), info={"choices": SEXES})
    email = Column(String(150))
    phone = Column(String(50))
    is_active = Column(Boolean, nullable=False, default=True)

    user = relationship(User)


class Student(PersonMixin, SchoolOwned, db.Model):
    """A student (учащийся) and the class they are in now."""

    __tablename__ = "student"
    __audit_person__ = ("student", "id")
    __audit_confidential__ = frozenset()
    __table_args__ = (
        UniqueConstraint("school_id", "user_id", name="uq_student_user"),
        UniqueConstraint("school_id", "personal_file_number", name="uq_student_file_number"),
        UniqueConstraint("school_id", "snils", name="uq_student_snils"),
        CheckConstraint("sex IN ('m', 'f')", name="ck_student_sex"),
        Index("ix_student_school_class", "school_id", "class_id"),
    )

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    class_id = Column(Integer, ForeignKey("school_class.id", ondelete="SET NULL"))
    birth_date = Column(Date)
    sex = Column(String(1), nullable=False, info={"choices": SEXES})
    #: Number of the personal file (личное дело), unique in the school.
    personal_file_number = Column(String(30))
    #: The student's own phone, stored as +7XXXXXXXXXX (see app/services/contacts.py).
    phone = Column(String(50))
    email = Column(String(150))
    #: False once the student has left the school.
    is_active = Column(Boolean, nullable=False, default=True)

    user = relationship(User)
    school_class = relationship("SchoolClass", back_populates="students")
    guardians = relationship("Guardian", back_populates="student")


class Guardian(PersonMixin, SchoolOwned, db.Model):
    """A parent or legal guardian of one student, linked to the parent's own login."""

    __tablename__ = "guardian"
    __audit_person__ = ("guardian", "id")
    __audit_confidential__ = frozenset()
    __table_args__ = (
        UniqueConstraint("school_id", "student_id", "user_id", name="uq_guardian_student_user"),
        Index("ix_guardian_school_student", "school_id", "student_id"),
        Index("ix_guardian_user", "user_id"),
    )

    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    kind = Column(String(20), nullable=False, default="mother", info={"choices": GUARDIAN_KINDS})
    phone = Column(String(50))
    email = Column(String(150))
    #: Set by the secretary when a court has restricted this parent: no access to the child.
    is_barred = Column(Boolean, nullable=False, default=False)

    student = relationship("Student", back_populates="guardians")
    user = relationship(User)
