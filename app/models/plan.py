"""The thematic plan of a course (календарно-тематическое планирование, КТП)."""

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


class PlanItem(SchoolOwned, db.Model):
    """One planned topic of a course, in order; lesson N takes the topic of item N."""

    __tablename__ = "plan_item"
    __table_args__ = (
        UniqueConstraint("school_id", "course_id", "position", name="uq_plan_item_position"),
        CheckConstraint("position >= 1", name="ck_plan_item_position"),
        CheckConstraint("hours > 0", name="ck_plan_item_hours"),
        Index("ix_plan_item_school_course", "school_id", "course_id"),
    )

    id = Column(Integer, primary_key=True)
    course_id = Column(Integer, ForeignKey("course.id", ondelete="CASCADE"), nullable=False)
    position = Column(Integer, nullable=False)
    topic = Column(String(500), nullable=False)
    #: Lessons the topic takes; a topic of two hours fills two lessons.
    hours = Column(Numeric(4, 1), nullable=False, default=1)
    planned_date = Column(Date)
    #: The section (раздел) of the programme the topic belongs to.
    section = Column(String(300))

    course = relationship("Course")

    def __str__(self) -> str:
        return f"{self.position}. {self.topic}"
