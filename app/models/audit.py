"""Audit logs: changes in the journal, and changes and confidential reads of personal data."""

from flask_appbuilder.security.sqla.models import User
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    false,
    func,
)
from sqlalchemy.orm import relationship

from app.models.base import SchoolOwned, db

#: Kinds of journal record an audit row describes.
AUDIT_ENTITIES = {
    "mark": _l("Mark"),
    "attendance": _l("Attendance"),
    "final_mark": _l("Final mark"),
    "transferred_mark": _l("Mark from an extract"),
    "term": _l("Term"),
    "year": _l("School year"),
}

#: What happened to it.
AUDIT_ACTIONS = {
    "create": _l("entered"),
    "change": _l("changed"),
    "delete": _l("deleted"),
    "reason": _l("reason set"),
    "close": _l("closed"),
    "reopen": _l("reopened"),
}


class JournalAudit(SchoolOwned, db.Model):
    """One change in the journal: who, when, from which address, the old and the new value.

    The ids of the lesson, course, class, student, assignment and term are kept as plain
    numbers, not foreign keys: the record of a change must outlive a deleted lesson or
    assignment. Values are stored as the journal shows them («5», «зач», «Н (Б)»).
    """

    __tablename__ = "journal_audit"
    __table_args__ = (
        Index("ix_journal_audit_school_time", "school_id", "changed_at"),
        Index("ix_journal_audit_school_course", "school_id", "course_id"),
        Index("ix_journal_audit_school_class", "school_id", "class_id"),
        Index("ix_journal_audit_school_lesson", "school_id", "lesson_id"),
    )

    id = Column(Integer, primary_key=True)
    changed_at = Column(DateTime, nullable=False, server_default=func.now())
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    #: The client address: the peer, or the X-Forwarded-For entry when a proxy is trusted.
    address = Column(String(45))
    entity = Column(String(20), nullable=False, info={"choices": AUDIT_ENTITIES})
    action = Column(String(20), nullable=False, info={"choices": AUDIT_ACTIONS})
    #: A principal's change of an entry locked by a closed period or the N-day lock.
    is_correction = Column(Boolean, nullable=False, default=False, server_default=false())

    #: The id of the changed row (mark, attendance, final mark, term or year).
    record_id = Column(Integer)
    lesson_id = Column(Integer)
    course_id = Column(Integer)
    class_id = Column(Integer)
    student_id = Column(Integer)
    assignment_id = Column(Integer)
    term_id = Column(Integer)
    #: Set where no course names the subject: a certificate mark of a whole subject.
    subject_id = Column(Integer)

    old_value = Column(String(30))
    new_value = Column(String(30))
    old_comment = Column(String(500))
    new_comment = Column(String(500))

    user = relationship(User, foreign_keys=[user_id])

    def __str__(self) -> str:
        return f"{self.entity} {self.action} {self.record_id}"


#: Kinds of person whose data an audit row concerns.
PERSON_KINDS = {
    "student": _l("Student"),
    "guardian": _l("Parent or guardian"),
    "employee": _l("Employee"),
}

#: Actions on a person's data that the log records.
PERSONAL_DATA_ACTIONS = {
    "create": _l("created"),
    "change": _l("changed"),
    "delete": _l("deleted"),
    "view": _l("viewed"),
}


class PersonalDataAudit(SchoolOwned, db.Model):
    """One change or confidential read of a person's data: who, whose, when, from where.

    ``changes`` lists ``{"field": name, "old": value, "new": value}``; a confidential field
    is listed by name only, without ``old`` and ``new``. Person and record ids are plain
    numbers, so the log outlives a deleted row.
    """

    __tablename__ = "personal_data_audit"
    __table_args__ = (
        Index("ix_personal_data_audit_school_time", "school_id", "changed_at"),
        Index("ix_personal_data_audit_school_person", "school_id", "person_kind", "person_id"),
        Index("ix_personal_data_audit_school_user", "school_id", "user_id"),
    )

    id = Column(Integer, primary_key=True)
    changed_at = Column(DateTime, nullable=False, server_default=func.now())
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    #: The client address, read as the journal's audit reads it.
    address = Column(String(45))
    person_kind = Column(String(20), nullable=False, info={"choices": PERSON_KINDS})
    person_id = Column(Integer)
    #: The table of the changed row: student, health_record, psychologist_note …
    entity = Column(String(40), nullable=False)
    record_id = Column(Integer)
    action = Column(String(10), nullable=False, info={"choices": PERSONAL_DATA_ACTIONS})
    changes = Column(JSON, nullable=False, default=list)

    user = relationship(User, foreign_keys=[user_id])
