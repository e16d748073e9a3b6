"""A test school for the template editor: two classes sharing a teacher, groups and rooms."""

from dataclasses import dataclass
from decimal import Decimal

from app.models import (
    Course,
    Employee,
    Room,
    SchoolClass,
    Student,
    StudyGroup,
    Subject,
    TimetableEntry,
    db,
)
from tests.factories import build_extra_school


@dataclass
class Setup:
    """Ids of a test school's two classes, a shared teacher, rooms and courses."""

    school_id: int
    year_id: int
    class_a: int
    class_b: int
    teacher: int
    big_room: int
    small_room: int
    russian_a: int
    russian_b: int
    maths_a: int
    english_1: int
    english_2: int
    users: dict


def build_editor_school(key: str) -> Setup:
    """Build and commit a school: 5А and 5Б share teacher Иванова И. И. for Russian."""
    world = build_extra_school(key)
    sid = world.school_id
    class_a = db.session.get(SchoolClass, world.ids["SchoolClass"])
    class_b = SchoolClass(school_id=sid, year_id=class_a.year_id, grade=5, letter="Б", name="5Б")
    ivanova = Employee(
        school_id=sid, last_name="Иванова", first_name="Ирина", middle_name="Игоревна"
    )
    english_teacher = Employee(school_id=sid, last_name="Смирнова", first_name="Анна")
    russian = Subject(school_id=sid, name="Русский язык")
    english = Subject(school_id=sid, name="Английский язык")
    big_room = Room(school_id=sid, name=f"{key}-201", capacity=30)
    small_room = Room(school_id=sid, name=f"{key}-кладовая", capacity=2)
    db.session.add_all([class_b, ivanova, english_teacher, russian, english, big_room, small_room])
    db.session.flush()

    first_group = db.session.get(StudyGroup, world.ids["StudyGroup"])
    sibling = db.session.get(Student, world.ids["SiblingStudent"])
    second_group = StudyGroup(
        school_id=sid,
        year_id=class_a.year_id,
        name="5А англ. 2",
        class_id=class_a.id,
        students=[sibling],
    )
    db.session.add(second_group)
    db.session.flush()

    def course(subject, school_class, teachers, hours, group=None):
        row = Course(
            school_id=sid,
            year_id=class_a.year_id,
            subject_id=subject.id,
            class_id=school_class.id,
            group_id=group.id if group else None,
            hours_per_week=Decimal(hours),
            teachers=teachers,
        )
        db.session.add(row)
        db.session.flush()
        return row.id

    setup = Setup(
        school_id=sid,
        year_id=class_a.year_id,
        class_a=class_a.id,
        class_b=class_b.id,
        teacher=ivanova.id,
        big_room=big_room.id,
        small_room=small_room.id,
        russian_a=course(russian, class_a, [ivanova], "4"),
        russian_b=course(russian, class_b, [ivanova], "4"),
        maths_a=world.ids["Course"],
        english_1=course(english, class_a, [english_teacher], "2", first_group),
        english_2=course(english, class_a, [english_teacher], "2", second_group),
        users=world.users,
    )
    # The factory's template line (mathematics of 5А, Monday, lesson 2) is left out, so
    # that every test starts from an empty template.
    db.session.execute(TimetableEntry.__table__.delete().where(TimetableEntry.school_id == sid))
    db.session.commit()
    return setup
