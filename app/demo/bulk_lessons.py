"""Dated lessons of a school year planned in memory, for the journal written in bulk.

The rules of which day gets which lesson at which bell are those of
``app.services.timetable.generate_lessons``, whose helpers this reuses. The lessons get
their ids here and are written once, together with the topics the journal gives them,
instead of being inserted, read back and updated.
"""

import datetime as dt
from collections import defaultdict

from sqlalchemy import select

from app.demo.bulk import copy_rows, next_id, sync_id_sequence
from app.models import Course, Holiday, Lesson, SchoolClass, TimetableEntry, db
from app.services.timetable import _BellTimes, _lessons_of_day, _vacation_days

LESSON_COLUMNS = (
    "id",
    "school_id",
    "course_id",
    "date",
    "lesson_number",
    "starts_at",
    "ends_at",
    "room_id",
    "entry_id",
    "is_cancelled",
    "topic",
)


class PlannedLesson:
    """A lesson row not yet written; the journal sets its topic."""

    __slots__ = (
        "id",
        "course_id",
        "date",
        "lesson_number",
        "starts_at",
        "ends_at",
        "room_id",
        "entry_id",
        "topic",
    )

    def __init__(self, lesson_id: int, row: dict):
        self.id = lesson_id
        self.course_id = row["course_id"]
        self.date = row["date"]
        self.lesson_number = row["lesson_number"]
        self.starts_at = row["starts_at"]
        self.ends_at = row["ends_at"]
        self.room_id = row["room_id"]
        self.entry_id = row["entry_id"]
        self.topic = None


def plan_lessons(school_id: int, year) -> list[PlannedLesson]:
    """Plan every lesson of ``year`` (an AcademicYear without lessons yet) and give it an id."""
    rows = db.session.execute(
        select(
            TimetableEntry,
            Course.class_id,
            SchoolClass.grade,
            SchoolClass.shift,
            SchoolClass.six_day_week,
        )
        .join(Course, Course.id == TimetableEntry.course_id)
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .where(TimetableEntry.school_id == school_id, Course.year_id == year.id)
    ).all()
    entries_by_weekday: dict[int, list] = defaultdict(list)
    for entry, class_id, grade, shift, six_day_week in rows:
        entries_by_weekday[entry.weekday].append((entry, class_id, grade, shift, six_day_week))
    holidays = {
        holiday.date: holiday
        for holiday in db.session.scalars(select(Holiday).where(Holiday.school_id == school_id))
    }
    school_vacation, class_vacation = _vacation_days(school_id, year.id)
    bells = _BellTimes(school_id)

    lessons = []
    lesson_id = next_id(Lesson)
    existing: set = set()
    day = year.start_date
    while day <= year.end_date:
        for row in _lessons_of_day(
            school_id,
            day,
            year,
            entries_by_weekday,
            holidays,
            school_vacation,
            class_vacation,
            existing,
            bells,
        ):
            lessons.append(PlannedLesson(lesson_id, row))
            lesson_id += 1
        day += dt.timedelta(days=1)
    return lessons


def write_lessons(school_id: int, lessons: list[PlannedLesson]) -> int:
    """Write the planned lessons with their topics; return the count."""
    count = copy_rows(
        Lesson.__table__,
        LESSON_COLUMNS,
        (
            (
                lesson.id,
                school_id,
                lesson.course_id,
                lesson.date,
                lesson.lesson_number,
                lesson.starts_at,
                lesson.ends_at,
                lesson.room_id,
                lesson.entry_id,
                False,
                lesson.topic,
            )
            for lesson in lessons
        ),
    )
    sync_id_sequence(Lesson)
    return count
