"""The school year and its calendar: terms, vacations, holidays and bell schedules."""

import datetime as dt

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
    Table,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from app.models.base import SchoolOwned, db

#: Kinds of term and their names on screen.
TERM_KINDS = {
    "quarter": _l("Quarter"),
    "trimester": _l("Trimester"),
    "half_year": _l("Half-year"),
}


class AcademicYear(SchoolOwned, db.Model):
    """A school year (учебный год); a closed year is read-only."""

    __tablename__ = "academic_year"
    __table_args__ = (
        UniqueConstraint("school_id", "name", name="uq_academic_year_name"),
        CheckConstraint("start_date < end_date", name="ck_academic_year_dates"),
    )

    id = Column(Integer, primary_key=True)
    #: «2026/2027»
    name = Column(String(20), nullable=False)
    start_date = Column(Date, nullable=False)
    end_date = Column(Date, nullable=False)
    is_closed = Column(Boolean, nullable=False, default=False)

    terms = relationship("Term", back_populates="year", order_by="(Term.grade_from, Term.number)")

    def contains(self, day: dt.date) -> bool:
        return self.start_date <= day <= self.end_date

    def __str__(self) -> str:
        return self.name


class Term(SchoolOwned, db.Model):
    """A period a term mark is given for: a quarter, trimester or half-year.

    A school may run different schemes for different grades (quarters for 1–9 and
    half-years for 10–11), so each term names the grades it applies to.
    """

    __tablename__ = "term"
    __table_args__ = (
        UniqueConstraint("school_id", "year_id", "grade_from", "number", name="uq_term_number"),
        CheckConstraint("start_date <= end_date", name="ck_term_dates"),
        CheckConstraint("grade_from <= grade_to", name="ck_term_grades"),
    )

    id = Column(Integer, primary_key=True)
    year_id = Column(Integer, ForeignKey("academic_year.id", ondelete="CASCADE"), nullable=False)
    kind = Column(String(20), nullable=False, default="quarter", info={"choices": TERM_KINDS})
    number = Column(Integer, nullable=False)
    name = Column(String(50), nullable=False)
    start_date = Column(Date, nullable=False)
    end_date = Column(Date, nullable=False)
    grade_from = Column(Integer, nullable=False, default=1)
    grade_to = Column(Integer, nullable=False, default=11)
    is_closed = Column(Boolean, nullable=False, default=False)

    year = relationship("AcademicYear", back_populates="terms")

    def applies_to_grade(self, grade: int) -> bool:
        return self.grade_from <= grade <= self.grade_to

    def __str__(self) -> str:
        return f"{self.name} ({self.grade_from}–{self.grade_to})"


vacation_class = Table(
    "vacation_class",
    db.Model.metadata,
    Column("vacation_id", Integer, ForeignKey("vacation.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "class_id", Integer, ForeignKey("school_class.id", ondelete="CASCADE"), primary_key=True
    ),
)


class Vacation(SchoolOwned, db.Model):
    """School holidays (каникулы): days without lessons, for the school or chosen classes."""

    __tablename__ = "vacation"
    __table_args__ = (CheckConstraint("start_date <= end_date", name="ck_vacation_dates"),)

    id = Column(Integer, primary_key=True)
    year_id = Column(Integer, ForeignKey("academic_year.id", ondelete="CASCADE"), nullable=False)
    name = Column(String(100), nullable=False)
    start_date = Column(Date, nullable=False)
    end_date = Column(Date, nullable=False)

    year = relationship("AcademicYear")
    #: Empty means the whole school; otherwise only these classes rest.
    classes = relationship("SchoolClass", secondary=vacation_class)

    def __str__(self) -> str:
        return self.name


class Holiday(SchoolOwned, db.Model):
    """A public holiday, or a working day moved onto a weekend by the yearly decree."""

    __tablename__ = "holiday"
    __table_args__ = (UniqueConstraint("school_id", "date", name="uq_holiday_date"),)

    id = Column(Integer, primary_key=True)
    date = Column(Date, nullable=False)
    name = Column(String(150), nullable=False)
    #: True for a moved working day (a Saturday that is worked), False for a day off.
    is_working_day = Column(Boolean, nullable=False, default=False)

    def __str__(self) -> str:
        return f"{self.date:%d.%m.%Y} {self.name}"


class BellSchedule(SchoolOwned, db.Model):
    """A bell schedule (расписание звонков) for a shift, range of grades and dates."""

    __tablename__ = "bell_schedule"

    id = Column(Integer, primary_key=True)
    name = Column(String(150), nullable=False)
    shift = Column(Integer, nullable=False, default=1)
    grade_from = Column(Integer, nullable=False, default=1)
    grade_to = Column(Integer, nullable=False, default=11)
    #: ISO weekday (1 = Monday) the variant is for; empty means every day.
    weekday = Column(Integer)
    valid_from = Column(Date)
    valid_to = Column(Date)

    periods = relationship(
        "BellPeriod",
        back_populates="schedule",
        order_by="BellPeriod.lesson_number",
        cascade="all, delete-orphan",
        lazy="selectin",
    )

    def applies(self, grade: int, shift: int, day: dt.date) -> bool:
        if not (self.grade_from <= grade <= self.grade_to) or self.shift != shift:
            return False
        if self.weekday and self.weekday != day.isoweekday():
            return False
        if self.valid_from and day < self.valid_from:
            return False
        return not (self.valid_to and day > self.valid_to)

    def specificity(self) -> tuple[int, bool, int]:
        """Key by which the more specific of two applying variants sorts first.

        A shorter run of dates wins first, so a stepped regime of first grade in autumn beats
        a Monday variant, and a few shortened days beat both. Then a variant for one weekday
        beats an everyday schedule, and then a narrower range of grades wins. A schedule
        without dates counts as running for ever.
        """
        days = (self.valid_to or dt.date.max) - (self.valid_from or dt.date.min)
        return days.days, self.weekday is None, self.grade_to - self.grade_from

    def __str__(self) -> str:
        return self.name


def rank_bell_schedules(schedules, grade: int, shift: int, day: dt.date) -> list[BellSchedule]:
    """Select the schedules that apply to a grade, shift and date, the most specific first.

    Ties go to the schedule entered first, so that the choice never depends on row order.
    """
    matching = [s for s in schedules if s.applies(grade, shift, day)]
    return sorted(matching, key=lambda s: (s.specificity(), s.id or 0))


class BellPeriod(SchoolOwned, db.Model):
    """The start and end time of one lesson number in a bell schedule."""

    __tablename__ = "bell_period"
    __table_args__ = (
        UniqueConstraint("schedule_id", "lesson_number", name="uq_bell_period_number"),
        CheckConstraint("starts_at < ends_at", name="ck_bell_period_times"),
        Index("ix_bell_period_school_schedule", "school_id", "schedule_id"),
    )

    id = Column(Integer, primary_key=True)
    schedule_id = Column(
        Integer, ForeignKey("bell_schedule.id", ondelete="CASCADE"), nullable=False
    )
    lesson_number = Column(Integer, nullable=False)
    starts_at = Column(Time, nullable=False)
    ends_at = Column(Time, nullable=False)

    schedule = relationship("BellSchedule", back_populates="periods")

    def __str__(self) -> str:
        return f"{self.lesson_number}: {self.starts_at:%H:%M}–{self.ends_at:%H:%M}"
