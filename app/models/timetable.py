"""The weekly timetable template and the dated lessons generated from it."""

from flask_appbuilder.security.sqla.models import User
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
    Time,
    false,
)
from sqlalchemy.orm import relationship

from app.models.base import SchoolOwned, db

WEEK_PARITIES = {"every": _l("Every week"), "odd": _l("Odd weeks"), "even": _l("Even weeks")}


class TimetableEntry(SchoolOwned, db.Model):
    """A line of the weekly template (шаблон расписания)."""

    __tablename__ = "timetable_entry"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 1 AND 7", name="ck_timetable_entry_weekday"),
        CheckConstraint("lesson_number BETWEEN 0 AND 12", name="ck_timetable_entry_number"),
        CheckConstraint("week_parity IN ('every','odd','even')", name="ck_timetable_entry_parity"),
        Index("ix_timetable_entry_school_course", "school_id", "course_id"),
    )

    id = Column(Integer, primary_key=True)
    course_id = Column(Integer, ForeignKey("course.id", ondelete="CASCADE"), nullable=False)
    #: ISO weekday: 1 is Monday, 6 is Saturday.
    weekday = Column(Integer, nullable=False)
    lesson_number = Column(Integer, nullable=False)
    room_id = Column(Integer, ForeignKey("room.id", ondelete="SET NULL"))
    week_parity = Column(
        String(5), nullable=False, default="every", info={"choices": WEEK_PARITIES}
    )
    valid_from = Column(Date)
    valid_to = Column(Date)
    #: Who saved the line despite the conflicts listed in ``override_note``, and when; empty
    #: when the line was last saved without conflicts.
    override_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    override_at = Column(DateTime)
    override_note = Column(Text)

    course = relationship("Course", lazy="joined")
    room = relationship("Room", lazy="joined")
    override_by = relationship(User)

    def __str__(self) -> str:
        return f"{self.course} — {self.weekday}/{self.lesson_number}"


class Lesson(SchoolOwned, db.Model):
    """One dated occurrence of a course (урок), with its topic and any substitution."""

    __tablename__ = "lesson"
    __table_args__ = (
        Index("ix_lesson_school_course_date", "school_id", "course_id", "date"),
        Index("ix_lesson_school_date", "school_id", "date"),
    )

    id = Column(Integer, primary_key=True)
    course_id = Column(Integer, ForeignKey("course.id", ondelete="CASCADE"), nullable=False)
    date = Column(Date, nullable=False)
    lesson_number = Column(Integer, nullable=False)
    starts_at = Column(Time)
    ends_at = Column(Time)
    room_id = Column(Integer, ForeignKey("room.id", ondelete="SET NULL"))
    #: The substitute teacher (замена) for this one lesson; empty when the course's own.
    substitute_id = Column(Integer, ForeignKey("employee.id", ondelete="SET NULL"))
    topic = Column(String(500))
    is_cancelled = Column(Boolean, nullable=False, default=False)
    cancel_reason = Column(Text)
    #: The template line this lesson came from; empty for lessons added by hand.
    entry_id = Column(Integer, ForeignKey("timetable_entry.id", ondelete="SET NULL"))
    #: Why the lesson was substituted, moved or given another room (cancellations keep
    #: their reason in ``cancel_reason``).
    change_reason = Column(Text)
    #: When the last change of this one lesson was saved; empty for lessons as generated.
    #: Regeneration from the template never removes a lesson that has it.
    changed_at = Column(DateTime)
    #: True when the room was changed for this one lesson.
    room_changed = Column(Boolean, nullable=False, default=False, server_default=false())
    #: The date and lesson number the lesson had before it was first moved.
    moved_from_date = Column(Date)
    moved_from_number = Column(Integer)

    course = relationship("Course", lazy="joined")
    room = relationship("Room", lazy="joined")
    substitute = relationship("Employee")
    assignments = relationship(
        "Assignment", back_populates="lesson", order_by="Assignment.id", lazy="selectin"
    )

    def __str__(self) -> str:
        return f"{self.date:%d.%m.%Y} {self.lesson_number} — {self.course}"
