"""Dated lessons from the weekly template: parity, vacations, holidays and moved working days."""

import datetime as dt

import pytest
from sqlalchemy import select

from app.models import (
    AcademicYear,
    BellPeriod,
    BellSchedule,
    Course,
    EducationAuthority,
    Holiday,
    Lesson,
    School,
    SchoolClass,
    Subject,
    TimetableEntry,
    Vacation,
    db,
)
from app.services.timetable import generate_lessons, week_parity

YEAR_START = dt.date(2026, 9, 1)
#: Week 1 of the year runs from Monday 31 August 2026, so 5 October starts week 6 (even).
MONDAY_EVEN = dt.date(2026, 10, 5)


@pytest.fixture()
def school(db_session):
    """A school with classes 5А and 1А, each with one course and a small template."""
    authority = EducationAuthority(name="УО для проверки генерации уроков")
    db.session.add(authority)
    db.session.flush()
    school = School(authority_id=authority.id, name="Школа генерации уроков")
    db.session.add(school)
    db.session.flush()
    sid = school.id
    year = AcademicYear(
        school_id=sid, name="2026/2027", start_date=YEAR_START, end_date=dt.date(2027, 5, 25)
    )
    db.session.add(year)
    db.session.flush()
    fifth = SchoolClass(school_id=sid, year_id=year.id, grade=5, letter="А", name="5А")
    first = SchoolClass(school_id=sid, year_id=year.id, grade=1, letter="А", name="1А")
    subject = Subject(school_id=sid, name="Математика")
    db.session.add_all([fifth, first, subject])
    db.session.flush()
    math5 = Course(school_id=sid, year_id=year.id, subject_id=subject.id, class_id=fifth.id)
    math1 = Course(
        school_id=sid, year_id=year.id, subject_id=subject.id, class_id=first.id, assessment="none"
    )
    db.session.add_all([math5, math1])
    db.session.flush()

    def entry(course, weekday, number, parity="every", valid_from=None, valid_to=None):
        return TimetableEntry(
            school_id=sid,
            course_id=course.id,
            weekday=weekday,
            lesson_number=number,
            week_parity=parity,
            valid_from=valid_from,
            valid_to=valid_to,
        )

    db.session.add_all(
        [
            entry(math5, 1, 2),
            entry(math1, 1, 2),
            entry(math5, 3, 3, "odd"),
            entry(math5, 3, 4, "even"),
            entry(math5, 5, 1, valid_to=dt.date(2026, 10, 16)),
        ]
    )
    general = BellSchedule(school_id=sid, name="Основное", shift=1, grade_from=1, grade_to=11)
    general.periods = [
        BellPeriod(
            school_id=sid, lesson_number=n, starts_at=dt.time(8 + n, 0), ends_at=dt.time(8 + n, 40)
        )
        for n in range(1, 6)
    ]
    monday = BellSchedule(
        school_id=sid, name="Понедельник", shift=1, grade_from=1, grade_to=11, weekday=1
    )
    monday.periods = [
        BellPeriod(
            school_id=sid, lesson_number=n, starts_at=dt.time(8 + n, 30), ends_at=dt.time(9 + n, 0)
        )
        for n in range(1, 6)
    ]
    first_grade_rest = Vacation(
        school_id=sid,
        year_id=year.id,
        name="Каникулы 1А",
        start_date=dt.date(2026, 10, 12),
        end_date=dt.date(2026, 10, 18),
    )
    first_grade_rest.classes = [first]
    db.session.add_all(
        [
            general,
            monday,
            first_grade_rest,
            Holiday(school_id=sid, date=dt.date(2026, 11, 4), name="День народного единства"),
            # The decree moves the day off of Monday 2 November onto Saturday 31 October.
            Holiday(school_id=sid, date=dt.date(2026, 11, 2), name="Перенесённый выходной"),
            Holiday(
                school_id=sid,
                date=dt.date(2026, 10, 31),
                name="Рабочая суббота",
                is_working_day=True,
            ),
        ]
    )
    db.session.flush()
    return {"id": sid, "math5": math5.id, "math1": math1.id}


def _lessons(course_id):
    return {
        (lesson.date, lesson.lesson_number): lesson
        for lesson in db.session.scalars(select(Lesson).where(Lesson.course_id == course_id))
    }


def test_week_parity_counts_from_year_start():
    assert week_parity(dt.date(2026, 9, 1), YEAR_START) == "odd"
    assert week_parity(dt.date(2026, 9, 6), YEAR_START) == "odd"
    assert week_parity(dt.date(2026, 9, 7), YEAR_START) == "even"
    assert week_parity(MONDAY_EVEN, YEAR_START) == "even"


def test_parity_picks_entry_of_the_week(school):
    generate_lessons(school["id"], MONDAY_EVEN, dt.date(2026, 10, 18), today=MONDAY_EVEN)
    lessons = _lessons(school["math5"])
    assert (dt.date(2026, 10, 7), 4) in lessons  # even week
    assert (dt.date(2026, 10, 7), 3) not in lessons
    assert (dt.date(2026, 10, 14), 3) in lessons  # odd week
    assert (dt.date(2026, 10, 14), 4) not in lessons


def test_vacation_of_one_class_only(school):
    generate_lessons(school["id"], MONDAY_EVEN, dt.date(2026, 10, 18), today=MONDAY_EVEN)
    assert (dt.date(2026, 10, 12), 2) in _lessons(school["math5"])
    assert (dt.date(2026, 10, 12), 2) not in _lessons(school["math1"])
    assert (dt.date(2026, 10, 5), 2) in _lessons(school["math1"])


def test_holiday_and_moved_working_day(school):
    generate_lessons(school["id"], dt.date(2026, 10, 26), dt.date(2026, 11, 8), today=MONDAY_EVEN)
    lessons = _lessons(school["math5"])
    days = {day for day, _ in lessons}
    assert dt.date(2026, 11, 4) not in days  # public holiday
    assert dt.date(2026, 11, 2) not in days  # the day off moved from Saturday
    # The working Saturday follows Monday's timetable; its bells are those of its own date.
    saturday = lessons[(dt.date(2026, 10, 31), 2)]
    assert saturday.starts_at == dt.time(10, 0)
    assert (dt.date(2026, 10, 31), 2) in _lessons(school["math1"])
    assert dt.date(2026, 11, 1) not in days  # Sunday


def test_valid_to_and_bell_times(school):
    generate_lessons(school["id"], MONDAY_EVEN, dt.date(2026, 10, 25), today=MONDAY_EVEN)
    lessons = _lessons(school["math5"])
    assert (dt.date(2026, 10, 16), 1) in lessons
    assert (dt.date(2026, 10, 23), 1) not in lessons
    assert lessons[(dt.date(2026, 10, 5), 2)].starts_at == dt.time(10, 30)  # Monday variant
    assert lessons[(dt.date(2026, 10, 7), 4)].starts_at == dt.time(12, 0)  # general schedule
    assert lessons[(dt.date(2026, 10, 7), 4)].ends_at == dt.time(12, 40)


def test_second_run_creates_nothing(school):
    created = generate_lessons(school["id"], MONDAY_EVEN, dt.date(2026, 10, 25), today=MONDAY_EVEN)
    assert created > 0
    assert (
        generate_lessons(school["id"], MONDAY_EVEN, dt.date(2026, 10, 25), today=MONDAY_EVEN) == 0
    )


def test_range_cut_to_current_year(school):
    created = generate_lessons(
        school["id"], dt.date(2026, 8, 24), dt.date(2026, 9, 6), today=MONDAY_EVEN
    )
    days = {day for day, _ in _lessons(school["math5"])}
    assert created == len(_lessons(school["math5"])) + len(_lessons(school["math1"]))
    assert created == 2
    assert min(days) >= YEAR_START


# --- Six-day weeks ----------------------------------------------------------------------

SATURDAY = dt.date(2026, 10, 10)


def _add_saturday_entries(school):
    for course in ("math5", "math1"):
        db.session.add(
            TimetableEntry(
                school_id=school["id"], course_id=school[course], weekday=6, lesson_number=1
            )
        )
    db.session.flush()


def test_five_day_week_skips_saturday_entries(school):
    _add_saturday_entries(school)
    generate_lessons(school["id"], SATURDAY, SATURDAY, today=MONDAY_EVEN)
    assert _lessons(school["math5"]) == {}
    assert _lessons(school["math1"]) == {}


def test_six_day_school_gives_saturday_lessons(school):
    _add_saturday_entries(school)
    db.session.get(School, school["id"]).six_day_week = True
    generate_lessons(school["id"], SATURDAY, SATURDAY, today=MONDAY_EVEN)
    assert (SATURDAY, 1) in _lessons(school["math5"])
    assert (SATURDAY, 1) in _lessons(school["math1"])


def test_six_day_class_alone_gives_saturday(school):
    _add_saturday_entries(school)
    db.session.get(Course, school["math5"]).school_class.six_day_week = True
    generate_lessons(school["id"], SATURDAY, SATURDAY, today=MONDAY_EVEN)
    assert (SATURDAY, 1) in _lessons(school["math5"])
    assert _lessons(school["math1"]) == {}
