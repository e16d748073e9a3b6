"""The curriculum side of a school: subjects, classes, groups, hours, courses and rooms."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import relationship

from app.models.base import SchoolOwned, db

#: Kinds of course (DOMAIN: lesson, extra-curricular, after-school group, home schooling).
COURSE_KINDS = {
    "lesson": _l("Lesson"),
    "extracurricular": _l("Extra-curricular activity"),
    "after_school": _l("After-school group"),
    "home": _l("Home schooling"),
}

#: Assessment systems (система оценивания) and what they allow in the journal.
ASSESSMENT_SYSTEMS = {
    "marks": _l("Marks"),
    "pass_fail": _l("Pass/fail"),
    "none": _l("No marks"),
}


class Subject(SchoolOwned, db.Model):
    """A subject of the school's list; parts (алгебра, геометрия) point to their whole."""

    __tablename__ = "subject"
    __table_args__ = (UniqueConstraint("school_id", "name", name="uq_subject_name"),)

    id = Column(Integer, primary_key=True)
    name = Column(String(150), nullable=False)
    short_name = Column(String(30))
    #: The subject this one is a part of, for example Математика for Алгебра.
    parent_id = Column(Integer, ForeignKey("subject.id", ondelete="SET NULL"))

    parent = relationship("Subject", remote_side=[id], backref="parts")

    def __str__(self) -> str:
        return self.name


class SubjectDifficulty(SchoolOwned, db.Model):
    """Points of a subject on the difficulty scale (шкала трудности) for a range of grades.

    The sanitary rules rank subjects by difficulty, and the daily sums of points over a
    week should peak mid-week. The row names the subject as it is spelled in the school's
    subject list, so that a part (Алгебра) and its whole (Математика) may differ.
    """

    __tablename__ = "subject_difficulty"
    __table_args__ = (
        UniqueConstraint(
            "school_id", "subject_name", "grade_from", name="uq_subject_difficulty_grades"
        ),
        CheckConstraint("grade_from <= grade_to", name="ck_subject_difficulty_grades"),
        CheckConstraint(
            "grade_from >= 1 AND grade_to <= 11", name="ck_subject_difficulty_grade_range"
        ),
        CheckConstraint("points >= 0", name="ck_subject_difficulty_points"),
    )

    id = Column(Integer, primary_key=True)
    #: Compared with the subject's name, and then with its parent's, ignoring case.
    subject_name = Column(String(150), nullable=False)
    grade_from = Column(Integer, nullable=False)
    grade_to = Column(Integer, nullable=False)
    points = Column(Integer, nullable=False)

    def __str__(self) -> str:
        return f"{self.subject_name} ({self.grade_from}–{self.grade_to}): {self.points}"


class Room(SchoolOwned, db.Model):
    """A classroom (кабинет)."""

    __tablename__ = "room"
    __table_args__ = (UniqueConstraint("school_id", "name", name="uq_room_name"),)

    id = Column(Integer, primary_key=True)
    name = Column(String(50), nullable=False)
    capacity = Column(Integer)
    floor = Column(Integer)
    #: Equipment of the room (projector, interactive board, computers), one item a line.
    equipment = Column(Text)

    def __str__(self) -> str:
        return self.name


class SchoolClass(SchoolOwned, db.Model):
    """A class (класс) of one year: grade and letter, with its class teacher."""

    __tablename__ = "school_class"
    __table_args__ = (
        UniqueConstraint("school_id", "year_id", "name", name="uq_school_class_name"),
        CheckConstraint("grade BETWEEN 1 AND 11", name="ck_school_class_grade"),
    )

    id = Column(Integer, primary_key=True)
    year_id = Column(Integer, ForeignKey("academic_year.id", ondelete="CASCADE"), nullable=False)
    grade = Column(Integer, nullable=False)
    letter = Column(String(5), nullable=False, default="")
    #: «5А»: grade and letter.
    name = Column(String(10), nullable=False)
    shift = Column(Integer, nullable=False, default=1)
    six_day_week = Column(Boolean, nullable=False, default=False)
    #: A separate class for students with limited health abilities (класс для обучающихся с
    #: ОВЗ); the sanitary rules keep such classes in the first shift.
    is_special_needs = Column(Boolean, nullable=False, default=False, server_default=false())
    class_teacher_id = Column(Integer, ForeignKey("employee.id", ondelete="SET NULL"))
    room_id = Column(Integer, ForeignKey("room.id", ondelete="SET NULL"))

    year = relationship("AcademicYear")
    class_teacher = relationship("Employee")
    room = relationship("Room")
    students = relationship(
        "Student", back_populates="school_class", order_by="(Student.last_name, Student.first_name)"
    )

    def sort_key(self) -> tuple:
        """Order classes as schools list them: 1А, 1Б, 2А, …, 10А, 11А."""
        return (self.grade, self.letter or "", self.name)

    def __str__(self) -> str:
        return self.name


# NOTE: the association tables (this one, course_teacher, vacation_class) have no school_id
# yet, unlike every other school-owned table. Their rows are reached only through a scoped
# parent, but distributing the schema by school will need the column here too.
study_group_student = Table(
    "study_group_student",
    db.Model.metadata,
    Column("group_id", Integer, ForeignKey("study_group.id", ondelete="CASCADE"), primary_key=True),
    Column("student_id", Integer, ForeignKey("student.id", ondelete="CASCADE"), primary_key=True),
    # The diary looks groups up by student; without it the lookup scans every school's rows.
    Index("ix_study_group_student_student", "student_id"),
)


class StudyGroup(SchoolOwned, db.Model):
    """Part of a class for a subject, or a group drawn from several classes."""

    __tablename__ = "study_group"
    __table_args__ = (UniqueConstraint("school_id", "year_id", "name", name="uq_study_group_name"),)

    id = Column(Integer, primary_key=True)
    year_id = Column(Integer, ForeignKey("academic_year.id", ondelete="CASCADE"), nullable=False)
    name = Column(String(100), nullable=False)
    #: The class a subgroup is part of; empty for a group drawn from several classes.
    class_id = Column(Integer, ForeignKey("school_class.id", ondelete="CASCADE"))

    year = relationship("AcademicYear")
    school_class = relationship("SchoolClass")
    students = relationship("Student", secondary=study_group_student)

    def __str__(self) -> str:
        return self.name


class CurriculumHours(SchoolOwned, db.Model):
    """Weekly hours of a subject in a grade (учебный план), or in one class."""

    __tablename__ = "curriculum_hours"
    __table_args__ = (
        UniqueConstraint(
            "school_id", "year_id", "subject_id", "grade", "class_id", name="uq_curriculum_hours"
        ),
        CheckConstraint("hours_per_week >= 0", name="ck_curriculum_hours_positive"),
    )

    id = Column(Integer, primary_key=True)
    year_id = Column(Integer, ForeignKey("academic_year.id", ondelete="CASCADE"), nullable=False)
    subject_id = Column(Integer, ForeignKey("subject.id", ondelete="CASCADE"), nullable=False)
    grade = Column(Integer, nullable=False)
    #: Set for profile classes and six-day weeks whose plan differs from the grade's.
    class_id = Column(Integer, ForeignKey("school_class.id", ondelete="CASCADE"))
    hours_per_week = Column(Numeric(4, 1), nullable=False)

    year = relationship("AcademicYear")
    subject = relationship("Subject")
    school_class = relationship("SchoolClass")

    def __str__(self) -> str:
        return f"{self.subject}: {self.grade} — {self.hours_per_week}"


course_teacher = Table(
    "course_teacher",
    db.Model.metadata,
    Column("course_id", Integer, ForeignKey("course.id", ondelete="CASCADE"), primary_key=True),
    Column("employee_id", Integer, ForeignKey("employee.id", ondelete="CASCADE"), primary_key=True),
    # A teacher's courses are looked up by employee.
    Index("ix_course_teacher_employee", "employee_id"),
)


def course_gives_marks(kind: str, assessment: str, grade: int | None) -> bool:
    """Tell whether a course takes marks: a lesson course with marks, above grade 1.

    ``grade`` is None for a course without a class. The rule is shared by the ORM course
    and the plain rows that the journal page and the diary read.
    """
    if kind != "lesson" or assessment == "none":
        return False
    return grade is None or grade > 1


class Course(SchoolOwned, db.Model):
    """A subject taught to a class or group in a year (нагрузка): the key of the journal."""

    __tablename__ = "course"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('lesson','extracurricular','after_school','home')", name="ck_course_kind"
        ),
        CheckConstraint("assessment IN ('marks','pass_fail','none')", name="ck_course_assessment"),
        Index("ix_course_school_class", "school_id", "class_id"),
    )

    id = Column(Integer, primary_key=True)
    year_id = Column(Integer, ForeignKey("academic_year.id", ondelete="CASCADE"), nullable=False)
    subject_id = Column(Integer, ForeignKey("subject.id", ondelete="RESTRICT"), nullable=False)
    class_id = Column(Integer, ForeignKey("school_class.id", ondelete="CASCADE"), nullable=False)
    #: Set when the course is taught to a part of the class or a cross-class group.
    group_id = Column(Integer, ForeignKey("study_group.id", ondelete="SET NULL"))
    kind = Column(String(20), nullable=False, default="lesson", info={"choices": COURSE_KINDS})
    assessment = Column(
        String(20), nullable=False, default="marks", info={"choices": ASSESSMENT_SYSTEMS}
    )
    hours_per_week = Column(Numeric(4, 1), nullable=False, default=1)

    year = relationship("AcademicYear")
    subject = relationship("Subject", lazy="joined")
    school_class = relationship("SchoolClass", lazy="joined")
    group = relationship("StudyGroup")
    teachers = relationship("Employee", secondary=course_teacher, lazy="selectin")

    @property
    def gives_marks(self) -> bool:
        """Tell whether the journal may take marks for this course at all."""
        grade = self.school_class.grade if self.school_class is not None else None
        return course_gives_marks(self.kind, self.assessment, grade)

    def students(self):
        """Students the course is taught to: the group's if set, else the class's."""
        if self.group is not None:
            return sorted(self.group.students, key=lambda s: (s.last_name, s.first_name))
        return [s for s in self.school_class.students if s.is_active]

    def __str__(self) -> str:
        target = self.group.name if self.group is not None else self.school_class.name
        return f"{self.subject.name}, {target}"
