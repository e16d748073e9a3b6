"""Dated lessons generated from the weekly timetable template."""

import datetime as dt
import logging
from collections import defaultdict

from sqlalchemy import insert, select

from app.models import (
    AcademicYear,
    BellSchedule,
    Course,
    Holiday,
    Lesson,
    School,
    SchoolClass,
    TimetableEntry,
    Vacation,
    db,
)
from app.models.schoolyear import rank_bell_schedules

log = logging.getLogger(__name__)

#: Rows per INSERT statement when lessons are written in bulk.
INSERT_BATCH = 5000

#: How far from a moved working day the day off it replaces is looked for.
MOVED_DAY_SEARCH = dt.timedelta(days=14)


def current_year(school_id: int, today: dt.date) -> AcademicYear | None:
    """Return the school's year that contains ``today``, else the latest one begun before it."""
    years = list(
        db.session.scalars(
            select(AcademicYear)
            .where(AcademicYear.school_id == school_id)
            .order_by(AcademicYear.start_date.desc())
        )
    )
    for year in years:
        if year.contains(today):
            return year
    for year in years:
        if year.start_date <= today:
            return year
    return years[-1] if years else None


def week_parity(day: dt.date, year_start: dt.date) -> str:
    """Return "odd" or "even" for a day, counting the week of the year's start as week 1.

    Weeks run from Monday to Sunday.
    """
    first_monday = year_start - dt.timedelta(days=year_start.weekday())
    week_number = (day - first_monday).days // 7 + 1
    return "odd" if week_number % 2 else "even"


def _timetable_weekday(day: dt.date, holidays: dict[dt.date, Holiday]) -> int:
    """ISO weekday whose timetable a working day follows.

    A weekend day made a working day by the yearly decree replaces a weekday off. So it
    follows the timetable of the nearest day off that falls on Monday to Friday within two
    weeks (the earlier one on a tie), or Monday's when there is none.
    """
    if day.isoweekday() <= 5:
        return day.isoweekday()
    candidates = [
        other
        for other, holiday in holidays.items()
        if not holiday.is_working_day
        and other.isoweekday() <= 5
        and abs(other - day) <= MOVED_DAY_SEARCH
    ]
    if not candidates:
        return 1
    nearest = min(candidates, key=lambda other: (abs(other - day), other))
    return nearest.isoweekday()


class _BellTimes:
    """Start and end of a lesson number from the most specific bell schedule that applies.

    A lesson number the most specific variant lacks is taken from the next one, as the
    diary does.
    """

    def __init__(self, school_id: int):
        self.schedules = list(
            db.session.scalars(select(BellSchedule).where(BellSchedule.school_id == school_id))
        )
        self.cache: dict[tuple[int, int, dt.date], dict[int, tuple]] = {}

    def periods(self, grade: int, shift: int, day: dt.date) -> dict[int, tuple]:
        key = (grade, shift, day)
        if key not in self.cache:
            times = {}
            for schedule in reversed(rank_bell_schedules(self.schedules, grade, shift, day)):
                times.update({p.lesson_number: (p.starts_at, p.ends_at) for p in schedule.periods})
            self.cache[key] = times
        return self.cache[key]


def _vacation_days(school_id: int, year_id: int) -> tuple[set[dt.date], dict[int, set[dt.date]]]:
    """Days the whole school rests, and the extra days off of single classes."""
    school_days: set[dt.date] = set()
    class_days: dict[int, set[dt.date]] = defaultdict(set)
    vacations = db.session.scalars(
        select(Vacation).where(Vacation.school_id == school_id, Vacation.year_id == year_id)
    )
    for vacation in vacations:
        days = set()
        day = vacation.start_date
        while day <= vacation.end_date:
            days.add(day)
            day += dt.timedelta(days=1)
        if vacation.classes:
            for school_class in vacation.classes:
                class_days[school_class.id] |= days
        else:
            school_days |= days
    return school_days, class_days


def generate_lessons(
    school_id: int, start: dt.date, end: dt.date, *, today: dt.date | None = None
) -> int:
    """Create the dated lessons of ``start``–``end`` from the template of the school's current year.

    The current year is the one containing ``today`` (default: the real today); the range is
    cut to that year. Lessons fall on Monday to Friday, and on Saturday for six-day classes,
    except public holidays and vacations of the school or of the course's class. A holiday
    row marked as a working day adds a weekend day. Entries for odd or even weeks and with
    dates of validity are honoured, and times come from the bell schedule that applies to the
    class on the lesson's own date (a moved working Saturday gets Saturday's bells). A lesson
    that already exists for the same course, date and lesson number is kept and not
    duplicated. Returns the number of lessons created, and the caller commits.
    """
    today = today or dt.date.today()
    year = current_year(school_id, today)
    if year is None:
        return 0
    start = max(start, year.start_date)
    end = min(end, year.end_date)
    if start > end:
        return 0

    new_rows = planned_lessons(
        school_id, year, start, end, existing_lesson_keys(school_id, start, end)
    )
    for offset in range(0, len(new_rows), INSERT_BATCH):
        db.session.execute(insert(Lesson), new_rows[offset : offset + INSERT_BATCH])
    log.info("Generated %d lessons for school %d, %s to %s", len(new_rows), school_id, start, end)
    return len(new_rows)


def existing_lesson_keys(school_id: int, start: dt.date, end: dt.date) -> set[tuple]:
    """Collect the (course, date, lesson number) slots of ``start``–``end`` already taken.

    A lesson moved by hand also takes the slot it was moved from, so that generating again
    does not put it back there.
    """
    keys = set(
        db.session.execute(
            select(Lesson.course_id, Lesson.date, Lesson.lesson_number).where(
                Lesson.school_id == school_id, Lesson.date >= start, Lesson.date <= end
            )
        ).all()
    )
    moved = db.session.execute(
        select(Lesson.course_id, Lesson.moved_from_date, Lesson.moved_from_number).where(
            Lesson.school_id == school_id,
            Lesson.moved_from_date >= start,
            Lesson.moved_from_date <= end,
        )
    )
    keys.update(tuple(row) for row in moved)
    return keys


def planned_lessons(
    school_id: int, year: AcademicYear, start: dt.date, end: dt.date, existing: set[tuple]
) -> list[dict]:
    """Rows of the lessons the template gives for ``start``–``end``, except ``existing`` slots.

    A class follows a six-day week when the class or the whole school is set to one.
    ``existing`` gains the keys of the rows returned.
    """
    rows = db.session.execute(
        select(
            TimetableEntry,
            Course.class_id,
            SchoolClass.grade,
            SchoolClass.shift,
            SchoolClass.six_day_week | School.six_day_week,
        )
        .join(Course, Course.id == TimetableEntry.course_id)
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .join(School, School.id == TimetableEntry.school_id)
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

    new_rows = []
    day = start
    while day <= end:
        new_rows.extend(
            _lessons_of_day(
                school_id,
                day,
                year,
                entries_by_weekday,
                holidays,
                school_vacation,
                class_vacation,
                existing,
                bells,
            )
        )
        day += dt.timedelta(days=1)

    return new_rows


def _lessons_of_day(
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
    holiday = holidays.get(day)
    if day in school_vacation or (holiday is not None and not holiday.is_working_day):
        return []
    moved_working_day = holiday is not None and holiday.is_working_day
    weekday = day.isoweekday()
    if weekday == 7 and not moved_working_day:
        return []
    timetable_weekday = _timetable_weekday(day, holidays) if moved_working_day else weekday
    parity = week_parity(day, year.start_date)

    rows = []
    for entry, class_id, grade, shift, six_day_week in entries_by_weekday.get(
        timetable_weekday, []
    ):
        if weekday == 6 and not (six_day_week or moved_working_day):
            continue
        if day in class_vacation.get(class_id, ()):
            continue
        if entry.week_parity != "every" and entry.week_parity != parity:
            continue
        if (entry.valid_from and day < entry.valid_from) or (
            entry.valid_to and day > entry.valid_to
        ):
            continue
        key = (entry.course_id, day, entry.lesson_number)
        if key in existing:
            continue
        existing.add(key)
        starts_at, ends_at = bells.periods(grade, shift, day).get(entry.lesson_number, (None, None))
        rows.append(
            {
                "school_id": school_id,
                "course_id": entry.course_id,
                "date": day,
                "lesson_number": entry.lesson_number,
                "starts_at": starts_at,
                "ends_at": ends_at,
                "room_id": entry.room_id,
                "entry_id": entry.id,
                "is_cancelled": False,
            }
        )
    return rows
