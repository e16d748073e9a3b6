"""Organisations: the education authority, its schools, and users' memberships in them."""

from flask_appbuilder.security.sqla.models import Role, User
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship
from sqlalchemy.sql.expression import true

from app.models.base import db


class EducationAuthority(db.Model):
    """A municipal education authority (управление образования) and its district."""

    __tablename__ = "education_authority"

    id = Column(Integer, primary_key=True)
    name = Column(String(255), nullable=False, unique=True)
    short_name = Column(String(100))
    region = Column(String(150))
    city = Column(String(150))

    schools = relationship("School", back_populates="authority", order_by="School.name")

    def __str__(self) -> str:
        return self.short_name or self.name


class School(db.Model):
    """A school (образовательная организация): the owner of its own data segment."""

    __tablename__ = "school"
    __table_args__ = (
        CheckConstraint("max_mark >= 2 AND max_mark <= 100", name="ck_school_max_mark"),
        CheckConstraint("shifts IN (1, 2, 3)", name="ck_school_shifts"),
    )

    id = Column(Integer, primary_key=True)
    authority_id = Column(Integer, ForeignKey("education_authority.id"), nullable=False, index=True)
    #: Short name used on every screen, for example «Школа № 1234».
    name = Column(String(255), nullable=False)
    full_name = Column(String(500))
    number = Column(String(20))
    inn = Column(String(12))
    ogrn = Column(String(15))
    okrug = Column(String(150))
    district = Column(String(150))
    #: Legal address (юридический адрес).
    address = Column(String(500))
    phone = Column(String(50))
    email = Column(String(150))
    website = Column(String(255))
    principal_name = Column(String(255))

    # The school card (паспорт ОУ): legal details, contacts, management, infrastructure.
    # The school system administrator keeps them; see app/services/school_card.py.
    kpp = Column(String(9))
    okpo = Column(String(10))
    #: Organisational and legal form, e.g. «муниципальное бюджетное общеобразовательное
    #: учреждение».
    legal_form = Column(String(255))
    founder = Column(String(500))
    licence_number = Column(String(50))
    licence_date = Column(Date)
    accreditation_number = Column(String(50))
    accreditation_date = Column(Date)
    accreditation_valid_until = Column(Date)
    #: Actual address (фактический адрес) when it differs from the legal one.
    actual_address = Column(String(500))
    #: Deputy principals, one per line: name and area of responsibility.
    deputies = Column(Text)
    building_count = Column(Integer)
    #: Design capacity (проектная мощность) in students.
    design_capacity = Column(Integer)
    has_gym = Column(Boolean)
    has_library = Column(Boolean)
    canteen_seats = Column(Integer)
    computer_class_count = Column(Integer)
    #: Internet access speed in Mbit/s.
    internet_speed_mbps = Column(Integer)
    #: Number of shifts (смены) the school teaches in.
    shifts = Column(Integer, nullable=False, default=1)
    six_day_week = Column(Boolean, nullable=False, default=False)
    #: Top of the mark scale; 5 on the usual Russian scale.
    max_mark = Column(Integer, nullable=False, default=5)
    #: When off, averages are plain means whatever the weights.
    weighting_enabled = Column(Boolean, nullable=False, default=True)
    #: The most school days one parent's absence note may cover; longer absences need a
    #: medical certificate or an order.
    absence_note_max_days = Column(Integer, nullable=False, default=3, server_default="3")
    #: Marks and attendance of a lesson lock this many days after the lesson date; only
    #: the principal corrects them then. Empty or 0: no such lock.
    mark_lock_days = Column(Integer)
    #: When on, a class teacher may enter marks in every subject of the own class.
    class_teacher_enters_all = Column(
        Boolean, nullable=False, default=False, server_default="false"
    )
    #: When on, class teachers create the logins of their class's students and parents,
    #: reset their passwords and edit their contacts.
    class_teachers_manage_logins = Column(
        Boolean, nullable=False, default=True, server_default=true()
    )

    authority = relationship("EducationAuthority", back_populates="schools")

    def __str__(self) -> str:
        return self.name


membership_role = Table(
    "membership_role",
    db.Model.metadata,
    Column(
        "membership_id",
        Integer,
        ForeignKey("membership.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("role_id", Integer, ForeignKey("ab_role.id", ondelete="CASCADE"), primary_key=True),
)


class Membership(db.Model):
    """One login's place in one organisation, with the roles it holds there.

    A membership names a school, an authority, or neither (the server itself). A session
    works in exactly one membership, and permission checks see only its roles.
    """

    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("user_id", "school_id", "authority_id", name="uq_membership_org"),
        CheckConstraint("school_id IS NULL OR authority_id IS NULL", name="ck_membership_one_org"),
    )

    id = Column(Integer, primary_key=True)
    user_id = Column(
        Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False, index=True
    )
    school_id = Column(Integer, ForeignKey("school.id", ondelete="CASCADE"), index=True)
    authority_id = Column(Integer, ForeignKey("education_authority.id", ondelete="CASCADE"))
    is_active = Column(Boolean, nullable=False, default=True)

    user = relationship(User, backref="memberships")
    school = relationship("School")
    authority = relationship("EducationAuthority")
    roles = relationship(Role, secondary=membership_role, lazy="selectin")

    @property
    def level(self) -> str:
        if self.school_id:
            return "school"
        if self.authority_id:
            return "authority"
        return "server"

    def organisation_name(self) -> str:
        if self.school is not None:
            return str(self.school)
        if self.authority is not None:
            return str(self.authority)
        return str(_l("Server"))

    def __str__(self) -> str:
        return self.organisation_name()
