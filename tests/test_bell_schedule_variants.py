"""Bell schedule variants by grade, weekday and dates, and variants built from real examples."""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.errors import DomainError
from app.models import BellSchedule, Course, Lesson, SchoolClass, TimetableEntry, db
from app.models.schoolyear import rank_bell_schedules
from app.services.bell_schedules import add_example_variant, example_regimes
from app.services.timetable import generate_lessons
from tests.factories import build_extra_school

MONDAY = dt.date(2026, 9, 7)
TUESDAY = dt.date(2026, 9, 8)
NOVEMBER_MONDAY = dt.date(2026, 11, 9)
SHORT_DAY = dt.date(2026, 12, 29)

MONDAY_EXAMPLE = "5-11 классы, понедельник (1-й урок 30 мин)"
STEPPED_EXAMPLE = "1 классы, сентябрь-октябрь (3 урока по 35 мин, ступенчатый режим)"
NOVEMBER_EXAMPLE = "1 классы, ноябрь-декабрь (5 уроков по 35 мин)"


@pytest.fixture(scope="module")
def school(app):
    """A school whose general schedule (08:30) has a Monday variant and first-grade regimes.

    The general schedule comes from the test factory: lessons of 45 minutes from 08:30.
    """
    with app.app_context():
        world = build_extra_school("loadB")
        sid = world.school_id
        add_example_variant(
            sid, MONDAY_EXAMPLE, name="Понедельник", grade_from=1, grade_to=11, weekday=1
        )
        add_example_variant(
            sid,
            STEPPED_EXAMPLE,
            name="1 классы, ступенчатый режим",
            grade_from=1,
            grade_to=1,
            valid_from=dt.date(2026, 9, 1),
            valid_to=dt.date(2026, 10, 31),
        )
        add_example_variant(
            sid,
            NOVEMBER_EXAMPLE,
            name="1 классы, ноябрь–декабрь",
            grade_from=1,
            grade_to=1,
            valid_from=dt.date(2026, 11, 1),
            valid_to=dt.date(2026, 12, 31),
        )
        add_example_variant(
            sid,
            "1-11 классы, 40-мин уроки (школа-интернат, 2023/24)",
            name="Сокращённые дни перед Новым годом",
            grade_from=1,
            grade_to=11,
            valid_from=dt.date(2026, 12, 28),
            valid_to=dt.date(2026, 12, 30),
        )
        db.session.commit()
        return world


def _chosen(world, grade: int, day: dt.date) -> str:
    schedules = db.session.scalars(
        select(BellSchedule).where(BellSchedule.school_id == world.school_id)
    ).all()
    return rank_bell_schedules(schedules, grade, 1, day)[0].name


@pytest.mark.parametrize(
    "grade, day, expected",
    [
        (5, MONDAY, "Понедельник"),
        (5, TUESDAY, "Основное"),
        (1, MONDAY, "1 классы, ступенчатый режим"),
        (1, TUESDAY, "1 классы, ступенчатый режим"),
        (1, NOVEMBER_MONDAY, "1 классы, ноябрь–декабрь"),
        (5, NOVEMBER_MONDAY, "Понедельник"),
        (1, SHORT_DAY, "Сокращённые дни перед Новым годом"),
        (5, SHORT_DAY, "Сокращённые дни перед Новым годом"),
    ],
)
def test_most_specific_variant_is_chosen(app, school, grade, day, expected):
    with app.app_context():
        assert _chosen(school, grade, day) == expected


def test_other_shift_gets_no_schedule(app, school):
    with app.app_context():
        schedules = db.session.scalars(
            select(BellSchedule).where(BellSchedule.school_id == school.school_id)
        ).all()
        assert rank_bell_schedules(schedules, 5, 2, MONDAY) == []


def test_generated_lessons_take_variant_times(app, school):
    """A Monday lesson 1 of 5А runs 08:30–09:00; 1А in September runs the stepped regime."""
    with app.app_context():
        sid = school.school_id
        fifth_grade = db.session.get(SchoolClass, school.ids["SchoolClass"]).grade
        first = db.session.scalar(
            select(SchoolClass).where(SchoolClass.school_id == sid, SchoolClass.grade == 1)
        )
        maths = db.session.get(Course, school.ids["Course"])
        first_course = Course(
            school_id=sid,
            year_id=first.year_id,
            subject_id=maths.subject_id,
            class_id=first.id,
            hours_per_week=Decimal(4),
        )
        db.session.add(first_course)
        db.session.flush()
        for course_id, weekday, number in [
            (maths.id, 1, 1),
            (maths.id, 2, 1),
            (first_course.id, 1, 2),
            (first_course.id, 1, 4),
        ]:
            db.session.add(
                TimetableEntry(
                    school_id=sid, course_id=course_id, weekday=weekday, lesson_number=number
                )
            )
        db.session.flush()

        generate_lessons(sid, MONDAY, TUESDAY, today=MONDAY)
        times = {
            (lesson.course_id, lesson.date, lesson.lesson_number): (
                lesson.starts_at.strftime("%H:%M"),
                lesson.ends_at.strftime("%H:%M"),
            )
            for lesson in db.session.scalars(
                select(Lesson).where(Lesson.school_id == sid, Lesson.date.between(MONDAY, TUESDAY))
            )
        }
        maths_id, first_course_id = maths.id, first_course.id
        db.session.rollback()

    assert fifth_grade == 5
    assert times[(maths_id, MONDAY, 1)] == ("08:30", "09:00")
    assert times[(maths_id, TUESDAY, 1)] == ("08:30", "09:15")
    assert times[(first_course_id, MONDAY, 2)] == ("09:25", "10:00")
    # The stepped regime has three lessons; a fourth takes the Monday variant's time.
    assert times[(first_course_id, MONDAY, 4)] == ("10:40", "11:20")


def test_example_variant_copies_lesson_times(app, school):
    with app.app_context():
        schedule = db.session.scalar(
            select(BellSchedule).where(
                BellSchedule.school_id == school.school_id, BellSchedule.name == "Понедельник"
            )
        )
        periods = [
            (p.lesson_number, f"{p.starts_at:%H:%M}", f"{p.ends_at:%H:%M}")
            for p in schedule.periods
        ]
    assert len(periods) == 8
    assert periods[0] == (1, "08:30", "09:00")
    assert periods[-1] == (8, "14:10", "14:40")


def test_examples_list_real_regimes():
    regimes = example_regimes()
    assert MONDAY_EXAMPLE in regimes
    assert STEPPED_EXAMPLE in regimes


@pytest.mark.parametrize(
    "regime, grades, weekday, dates, fragment",
    [
        ("Нет такого", (1, 1), None, (None, None), "не найден"),
        (MONDAY_EXAMPLE, (5, 12), None, (None, None), "5–12"),
        (MONDAY_EXAMPLE, (9, 5), None, (None, None), "9–5"),
        (MONDAY_EXAMPLE, (5, 11), 8, (None, None), "8"),
        (MONDAY_EXAMPLE, (5, 11), None, (dt.date(2026, 10, 1), dt.date(2026, 9, 1)), "01.10.2026"),
    ],
)
def test_example_variant_rejects_bad_input(app, school, regime, grades, weekday, dates, fragment):
    with app.app_context():
        with pytest.raises(DomainError) as raised:
            add_example_variant(
                school.school_id,
                regime,
                name="Ошибочный",
                grade_from=grades[0],
                grade_to=grades[1],
                weekday=weekday,
                valid_from=dates[0],
                valid_to=dates[1],
            )
        db.session.rollback()
        message = str(raised.value)
    assert fragment in message


def test_command_lists_examples(app):
    result = app.test_cli_runner().invoke(args=["bell-schedule-examples"])

    assert result.exit_code == 0
    assert STEPPED_EXAMPLE in result.output.splitlines()


def test_command_adds_variant(app, school):
    result = app.test_cli_runner().invoke(
        args=[
            "bell-schedule-from-example",
            "--school-id",
            str(school.school_id),
            "--regime",
            MONDAY_EXAMPLE,
            "--name",
            "Понедельник второй смены",
            "--grades",
            "5-11",
            "--shift",
            "2",
            "--weekday",
            "1",
        ]
    )

    assert result.exit_code == 0, result.output
    with app.app_context():
        schedule = db.session.scalar(
            select(BellSchedule).where(
                BellSchedule.school_id == school.school_id,
                BellSchedule.name == "Понедельник второй смены",
            )
        )
        assert (schedule.shift, schedule.weekday, len(schedule.periods)) == (2, 1, 8)


def test_command_rejects_unknown_example(app, school):
    result = app.test_cli_runner().invoke(
        args=[
            "bell-schedule-from-example",
            "--school-id",
            str(school.school_id),
            "--regime",
            "Нет такого",
            "--name",
            "Ошибочный",
            "--grades",
            "5",
        ]
    )

    assert result.exit_code == 1
    assert "«Нет такого» не найден" in result.output
