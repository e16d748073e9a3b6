"""The class journal: assignments, marks, attendance and final marks."""

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
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import relationship

from app.models.base import SchoolOwned, db

#: Kinds of current mark: a number on the school's scale, a pass/fail mark or a duty
#: mark («точка»: owed work without a value).
MARK_KINDS = {
    "number": _l("Mark"),
    "pass": _l("Pass"),
    "fail": _l("Fail"),
    "duty": _l("Duty mark"),
}

#: Kinds of final mark (итоговая отметка).
FINAL_MARK_KINDS = {
    "term": _l("Term mark"),
    "year": _l("Year mark"),
    "exam": _l("Exam mark"),
    "final": _l("Final mark"),
}

#: Kinds of attendance code: marks set in the lesson, and reasons set afterwards.
ATTENDANCE_KINDS = {
    "absent": _l("Absent"),
    "late": _l("Late"),
    "reason": _l("Reason of absence"),
}


class AssignmentType(SchoolOwned, db.Model):
    """A kind of markable work with its default weight (тип задания)."""

    __tablename__ = "assignment_type"
    __table_args__ = (
        UniqueConstraint("school_id", "name", name="uq_assignment_type_name"),
        CheckConstraint("default_weight >= 0", name="ck_assignment_type_weight"),
    )

    id = Column(Integer, primary_key=True)
    name = Column(String(150), nullable=False)
    short_name = Column(String(20))
    default_weight = Column(Numeric(5, 2), nullable=False, default=1)
    #: Homework shows in the diary on its due date.
    is_homework = Column(Boolean, nullable=False, default=False)
    #: Tests, ВПР and diagnostic work fall under the assessment-procedure rules.
    is_assessment_procedure = Column(Boolean, nullable=False, default=False)
    #: The type's id in «Сетевой Город», kept when data is imported from it.
    sgo_id = Column(Integer)

    def __str__(self) -> str:
        return self.name


class Assignment(SchoolOwned, db.Model):
    """Markable work given in a lesson (задание); homework is one of its types."""

    __tablename__ = "assignment"
    __table_args__ = (
        CheckConstraint("weight >= 0", name="ck_assignment_weight"),
        Index("ix_assignment_school_lesson", "school_id", "lesson_id"),
        Index("ix_assignment_school_due", "school_id", "due_date"),
    )

    id = Column(Integer, primary_key=True)
    lesson_id = Column(Integer, ForeignKey("lesson.id", ondelete="CASCADE"), nullable=False)
    type_id = Column(Integer, ForeignKey("assignment_type.id", ondelete="RESTRICT"), nullable=False)
    weight = Column(Numeric(5, 2), nullable=False, default=1)
    text = Column(Text, nullable=False, default="")
    due_date = Column(Date)
    #: When the assignment was entered; the e-mail digest mails homework by this time.
    created_at = Column(DateTime, nullable=False, server_default=func.now())

    lesson = relationship("Lesson", back_populates="assignments")
    type = relationship("AssignmentType", lazy="joined")
    marks = relationship("Mark", back_populates="assignment", lazy="selectin")

    def __str__(self) -> str:
        return f"{self.type}: {self.text[:50]}"


def mark_display(kind: str, value: int | None) -> str:
    """Show a mark as the journal prints it: the number, «зач», «незач» or «•» for duty."""
    if kind == "number":
        return str(value)
    return {"pass": "зач", "fail": "незач", "duty": "•"}[kind]


class Mark(SchoolOwned, db.Model):
    """One mark of one student for one assignment (отметка)."""

    __tablename__ = "mark"
    __table_args__ = (
        UniqueConstraint(
            "school_id", "assignment_id", "student_id", name="uq_mark_assignment_student"
        ),
        CheckConstraint("kind IN ('number','pass','fail','duty')", name="ck_mark_kind"),
        CheckConstraint(
            "(kind = 'number' AND value IS NOT NULL) OR (kind <> 'number' AND value IS NULL)",
            name="ck_mark_value",
        ),
        Index("ix_mark_school_student", "school_id", "student_id"),
    )

    id = Column(Integer, primary_key=True)
    assignment_id = Column(Integer, ForeignKey("assignment.id", ondelete="CASCADE"), nullable=False)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    kind = Column(String(10), nullable=False, default="number", info={"choices": MARK_KINDS})
    value = Column(Integer)
    comment = Column(String(500))
    changed_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    changed_at = Column(DateTime, nullable=False, server_default=func.now())

    assignment = relationship("Assignment", back_populates="marks")
    student = relationship("Student")
    changed_by = relationship(User)

    @property
    def is_duty(self) -> bool:
        return self.kind == "duty"

    def display(self) -> str:
        """Show the mark as the journal prints it."""
        return mark_display(self.kind, self.value)

    def __str__(self) -> str:
        return self.display()


class AttendanceCode(SchoolOwned, db.Model):
    """An attendance code: «Н» and «ОП» in the lesson, reasons (Б, УП, НП …) afterwards."""

    __tablename__ = "attendance_code"
    __table_args__ = (
        UniqueConstraint("school_id", "code", name="uq_attendance_code"),
        CheckConstraint("kind IN ('absent','late','reason')", name="ck_attendance_code_kind"),
    )

    id = Column(Integer, primary_key=True)
    code = Column(String(10), nullable=False)
    name = Column(String(150), nullable=False)
    kind = Column(String(10), nullable=False, info={"choices": ATTENDANCE_KINDS})
    #: School business (олимпиада, соревнования) counts as present in reports.
    counts_as_present = Column(Boolean, nullable=False, default=False)
    #: For reasons: whether the absence is excused (Б, УП) or not (НП).
    is_excused = Column(Boolean, nullable=False, default=False)

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"


class Attendance(SchoolOwned, db.Model):
    """A student's absence or lateness in one lesson, and its reason once known."""

    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint(
            "school_id", "lesson_id", "student_id", name="uq_attendance_lesson_student"
        ),
        Index("ix_attendance_school_student", "school_id", "student_id"),
    )

    id = Column(Integer, primary_key=True)
    lesson_id = Column(Integer, ForeignKey("lesson.id", ondelete="CASCADE"), nullable=False)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    #: «Н» or «ОП», as the teacher marked it in the lesson.
    code_id = Column(Integer, ForeignKey("attendance_code.id", ondelete="RESTRICT"), nullable=False)
    #: The reason set afterwards against a document; empty until then.
    reason_id = Column(Integer, ForeignKey("attendance_code.id", ondelete="RESTRICT"))
    changed_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    changed_at = Column(DateTime, nullable=False, server_default=func.now())

    lesson = relationship("Lesson")
    student = relationship("Student")
    code = relationship("AttendanceCode", foreign_keys=[code_id], lazy="joined")
    reason = relationship("AttendanceCode", foreign_keys=[reason_id], lazy="joined")

    def display(self) -> str:
        return self.reason.code if self.reason is not None else self.code.code

    def __str__(self) -> str:
        return self.display()


class FinalMark(SchoolOwned, db.Model):
    """A term, year, exam or final mark of a student in a course."""

    __tablename__ = "final_mark"
    __table_args__ = (
        UniqueConstraint(
            "school_id", "student_id", "course_id", "kind", "term_id", name="uq_final_mark"
        ),
        CheckConstraint("kind IN ('term','year','exam','final')", name="ck_final_mark_kind"),
        CheckConstraint("(kind = 'term') = (term_id IS NOT NULL)", name="ck_final_mark_term_kind"),
        Index("ix_final_mark_school_course", "school_id", "course_id"),
        # NULL term ids never collide in a unique constraint, so year, exam and final marks
        # need their own unique index.
        Index(
            "uq_final_mark_no_term",
            "school_id",
            "student_id",
            "course_id",
            "kind",
            unique=True,
            postgresql_where=text("term_id IS NULL"),
            sqlite_where=text("term_id IS NULL"),
        ),
    )

    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    course_id = Column(Integer, ForeignKey("course.id", ondelete="CASCADE"), nullable=False)
    kind = Column(String(10), nullable=False, default="term", info={"choices": FINAL_MARK_KINDS})
    #: Set for term marks; empty for year, exam and final marks.
    term_id = Column(Integer, ForeignKey("term.id", ondelete="CASCADE"))
    #: «5» … «1», «зач», «незач», «н/а» or «осв».
    value = Column(String(10), nullable=False)
    #: The mark the system suggested from the average, kept to show an override.
    suggested = Column(String(10))
    changed_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    changed_at = Column(DateTime, nullable=False, server_default=func.now())

    student = relationship("Student")
    course = relationship("Course")
    term = relationship("Term")

    @property
    def numeric_value(self) -> int | None:
        return int(self.value) if self.value.isdigit() else None

    def __str__(self) -> str:
        return self.value


class CertificateMark(SchoolOwned, db.Model):
    """A mark of the school-leaving certificate (аттестат) for a whole subject.

    Parts of a subject (алгебра, геометрия) give one mark for the whole (математика), so
    the mark belongs to the subject and the year, not to a course.
    """

    __tablename__ = "certificate_mark"
    __table_args__ = (
        UniqueConstraint(
            "school_id", "student_id", "year_id", "subject_id", name="uq_certificate_mark"
        ),
    )

    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    year_id = Column(Integer, ForeignKey("academic_year.id", ondelete="CASCADE"), nullable=False)
    subject_id = Column(Integer, ForeignKey("subject.id", ondelete="RESTRICT"), nullable=False)
    value = Column(String(10), nullable=False)
    #: The mark computed by the federal order, kept to show an override.
    suggested = Column(String(10))
    changed_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    changed_at = Column(DateTime, nullable=False, server_default=func.now())

    student = relationship("Student")
    subject = relationship("Subject")
    year = relationship("AcademicYear")

    def __str__(self) -> str:
        return self.value
