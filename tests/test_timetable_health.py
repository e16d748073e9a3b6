"""Health rules of СанПиН 1.2.3685-21 on the weekly template, and their place in the editor."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from sqlalchemy import delete, event, select

from app.models import (
    BellPeriod,
    BellSchedule,
    Course,
    SchoolClass,
    Subject,
    SubjectDifficulty,
    TimetableEntry,
    db,
)
from app.services import timetable_health as health
from tests.factories import build_extra_school


@pytest.fixture(scope="module")
def school(app, world):
    with app.app_context():
        built = build_extra_school("hlthA")
        db.session.execute(
            delete(TimetableEntry).where(TimetableEntry.school_id == built.school_id)
        )
        db.session.commit()
        return built


@pytest.fixture()
def session(db_session):
    """The test's rows are rolled back after it."""
    return db_session


_CLASS_NUMBERS = itertools.count(1)


def make_class(school, grade, *, six_day=False, shift=1, special=False) -> SchoolClass:
    year_id = db.session.get(SchoolClass, school.ids["SchoolClass"]).year_id
    letter = f"Т{next(_CLASS_NUMBERS)}"
    row = SchoolClass(
        school_id=school.school_id,
        year_id=year_id,
        grade=grade,
        letter=letter,
        name=f"{grade}{letter}",
        shift=shift,
        six_day_week=six_day,
        is_special_needs=special,
    )
    db.session.add(row)
    db.session.flush()
    return row


def make_course(school_class, subject_name, kind="lesson") -> int:
    sid = school_class.school_id
    subject = db.session.scalar(
        select(Subject).where(Subject.school_id == sid, Subject.name == subject_name)
    )
    if subject is None:
        subject = Subject(school_id=sid, name=subject_name)
        db.session.add(subject)
        db.session.flush()
    course = Course(
        school_id=sid,
        year_id=school_class.year_id,
        subject_id=subject.id,
        class_id=school_class.id,
        kind=kind,
        hours_per_week=Decimal(10),
    )
    db.session.add(course)
    db.session.flush()
    return course.id


def place(course_id, school_id, weekday, number, parity="every", **dates) -> int:
    row = TimetableEntry(
        school_id=school_id,
        course_id=course_id,
        weekday=weekday,
        lesson_number=number,
        week_parity=parity,
        **dates,
    )
    db.session.add(row)
    db.session.flush()
    return row.id


def fill_day(school_class, course_id, weekday, count, first=1):
    for number in range(first, first + count):
        place(course_id, school_class.school_id, weekday, number)


def messages(school_class, rule) -> list[str]:
    return [w.message for w in health.check_class(school_class) if w.rule == rule]


def add_bells(school, name, periods, *, shift=1, grades=(1, 11), valid=(None, None)):
    schedule = BellSchedule(
        school_id=school.school_id,
        name=name,
        shift=shift,
        grade_from=grades[0],
        grade_to=grades[1],
        valid_from=valid[0],
        valid_to=valid[1],
    )
    db.session.add(schedule)
    db.session.flush()
    for number, (start, end) in enumerate(periods, start=1):
        db.session.add(
            BellPeriod(
                school_id=school.school_id,
                schedule_id=schedule.id,
                lesson_number=number,
                starts_at=dt.time.fromisoformat(start),
                ends_at=dt.time.fromisoformat(end),
            )
        )
    db.session.flush()


def drop_bells(school):
    db.session.execute(delete(BellPeriod).where(BellPeriod.school_id == school.school_id))
    db.session.execute(delete(BellSchedule).where(BellSchedule.school_id == school.school_id))


def periods_of(length, count, start="08:30"):
    """Return ``count`` periods of ``length`` minutes with ten-minute breaks."""
    moment = dt.datetime.combine(dt.date(2026, 9, 1), dt.time.fromisoformat(start))
    periods = []
    for _number in range(count):
        end = moment + dt.timedelta(minutes=length)
        periods.append((moment.strftime("%H:%M"), end.strftime("%H:%M")))
        moment = end + dt.timedelta(minutes=10)
    return periods


# --- Lessons a day ------------------------------------------------------------------------------


def test_daily_over_maximum_warns(school, session):
    school_class = make_class(school, 5)
    course = make_course(school_class, "Русский язык")
    fill_day(school_class, course, 2, 7)
    found = messages(school_class, "daily")
    assert found == [
        f"{school_class.name}, вторник: 7 уроков при допустимых 6 (СанПиН 1.2.3685-21, табл. 6.6)."
    ]


def test_daily_at_maximum_is_quiet(school, session):
    school_class = make_class(school, 7)
    course = make_course(school_class, "Русский язык")
    fill_day(school_class, course, 2, 7)
    assert messages(school_class, "daily") == []


def test_daily_group_halves_count_once(school, session):
    school_class = make_class(school, 5)
    first = make_course(school_class, "Английский язык")
    second = make_course(school_class, "Немецкий язык")
    fill_day(school_class, first, 3, 6)
    fill_day(school_class, second, 3, 6)
    assert messages(school_class, "daily") == []


def test_daily_extra_lesson_with_pe_is_allowed_once(school, session):
    school_class = make_class(school, 3)
    russian = make_course(school_class, "Русский язык")
    pe = make_course(school_class, "Физическая культура")
    fill_day(school_class, russian, 1, 5)
    place(pe, school.school_id, 1, 6)
    assert messages(school_class, "daily") == []


def test_daily_extra_lesson_without_pe_warns(school, session):
    school_class = make_class(school, 3)
    russian = make_course(school_class, "Русский язык")
    fill_day(school_class, russian, 4, 6)
    found = messages(school_class, "daily")
    assert len(found) == 1
    assert "четверг: 6 уроков при допустимых 5, или 6 один раз в неделю" in found[0]


def test_daily_second_extended_pe_day_warns(school, session):
    school_class = make_class(school, 2)
    russian = make_course(school_class, "Русский язык")
    pe = make_course(school_class, "Физическая культура")
    for weekday in (1, 3):
        fill_day(school_class, russian, weekday, 5)
        place(pe, school.school_id, weekday, 6)
    found = messages(school_class, "daily")
    assert len(found) == 1
    assert found[0].startswith(f"{school_class.name}, среда: 6 уроков")


def test_daily_grade_one_limit_is_four(school, session):
    school_class = make_class(school, 1)
    russian = make_course(school_class, "Русский язык")
    fill_day(school_class, russian, 5, 5)
    found = messages(school_class, "daily")
    assert len(found) == 1
    assert "пятница: 5 уроков при допустимых 4" in found[0]


def test_extracurricular_courses_are_not_counted(school, session):
    school_class = make_class(school, 5)
    russian = make_course(school_class, "Русский язык")
    club = make_course(school_class, "Шахматы", kind="extracurricular")
    fill_day(school_class, russian, 2, 6)
    place(club, school.school_id, 2, 7)
    assert messages(school_class, "daily") == []


def test_odd_and_even_lines_share_a_lesson(school, session):
    school_class = make_class(school, 5)
    russian = make_course(school_class, "Русский язык")
    music = make_course(school_class, "Музыка")
    art = make_course(school_class, "Изобразительное искусство")
    fill_day(school_class, russian, 2, 5)
    place(music, school.school_id, 2, 6, "odd")
    place(art, school.school_id, 2, 6, "even")
    assert messages(school_class, "daily") == []


# --- Lessons a week -------------------------------------------------------------------------------


def _fill_week(school_class, course, per_day: list[int]):
    for weekday, count in enumerate(per_day, start=1):
        fill_day(school_class, course, weekday, count)


def test_weekly_five_day_over_maximum_warns(school, session):
    school_class = make_class(school, 5)
    course = make_course(school_class, "Русский язык")
    _fill_week(school_class, course, [6, 6, 6, 6, 6])
    assert messages(school_class, "weekly") == [
        f"{school_class.name}: 30 уроков в неделю при допустимых 29 при пятидневной неделе "
        "(СанПиН 1.2.3685-21, табл. 6.6)."
    ]


def test_weekly_five_day_at_maximum_is_quiet(school, session):
    school_class = make_class(school, 5)
    course = make_course(school_class, "Русский язык")
    _fill_week(school_class, course, [6, 6, 6, 6, 5])
    assert messages(school_class, "weekly") == []


def test_weekly_six_day_allows_more(school, session):
    school_class = make_class(school, 5, six_day=True)
    course = make_course(school_class, "Русский язык")
    _fill_week(school_class, course, [6, 6, 6, 6, 4, 4])
    assert messages(school_class, "weekly") == []


def test_weekly_six_day_over_maximum_warns(school, session):
    school_class = make_class(school, 10, six_day=True)
    course = make_course(school_class, "Русский язык")
    _fill_week(school_class, course, [7, 7, 7, 7, 7, 3])
    found = messages(school_class, "weekly")
    assert found == [
        f"{school_class.name}: 38 уроков в неделю при допустимых 37 при шестидневной неделе "
        "(СанПиН 1.2.3685-21, табл. 6.6)."
    ]


def test_grade_one_on_six_day_week_warns(school, session):
    school_class = make_class(school, 1, six_day=True)
    found = messages(school_class, "six_day")
    assert len(found) == 1
    assert "только по пятидневной неделе" in found[0]


def test_grade_one_on_five_day_week_is_quiet(school, session):
    school_class = make_class(school, 1)
    assert messages(school_class, "six_day") == []


# --- Difficulty scale ----------------------------------------------------------------------------


def _scale(school, **points):
    for name, value in points.items():
        db.session.add(
            SubjectDifficulty(
                school_id=school.school_id,
                subject_name=name,
                grade_from=5,
                grade_to=9,
                points=value,
            )
        )
    db.session.flush()


def test_difficulty_peak_on_friday_warns(school, session):
    _scale(school, Физика=10, Музыка=1)
    school_class = make_class(school, 7)
    physics = make_course(school_class, "Физика")
    music = make_course(school_class, "Музыка")
    for weekday in (1, 2, 3, 4):
        fill_day(school_class, music, weekday, 4)
    fill_day(school_class, physics, 5, 3)
    found = messages(school_class, "difficulty")
    assert len(found) == 1
    assert "30, приходится в пятницу" in found[0]
    assert "понедельник 4, вторник 4, среда 4, четверг 4, пятница 30" in found[0]


def test_difficulty_peak_midweek_is_quiet(school, session):
    _scale(school, Физика=10, Музыка=1)
    school_class = make_class(school, 7)
    physics = make_course(school_class, "Физика")
    music = make_course(school_class, "Музыка")
    fill_day(school_class, music, 1, 4)
    fill_day(school_class, physics, 3, 3)
    fill_day(school_class, music, 5, 4)
    assert messages(school_class, "difficulty") == []


def test_difficulty_peak_on_saturday_warns(school, session):
    _scale(school, Физика=10, Музыка=1)
    school_class = make_class(school, 7, six_day=True)
    physics = make_course(school_class, "Физика")
    music = make_course(school_class, "Музыка")
    fill_day(school_class, music, 3, 2)
    fill_day(school_class, physics, 6, 2)
    found = messages(school_class, "difficulty")
    assert len(found) == 1
    assert "в субботу" in found[0]


def test_difficulty_part_takes_parent_points(school, session):
    _scale(school, Математика=10)
    school_class = make_class(school, 7)
    course = make_course(school_class, "Алгебра")
    fill_day(school_class, course, 1, 2)
    found = messages(school_class, "difficulty")
    assert len(found) == 1
    assert "понедельник 20" in found[0]


def test_default_scale_used_without_school_rows(school, session):
    db.session.execute(
        delete(SubjectDifficulty).where(SubjectDifficulty.school_id == school.school_id)
    )
    school_class = make_class(school, 5)
    template = health.load_health_template(school.school_id, school_class.year_id, school_class.id)
    russian = health.HealthLine(0, school_class.id, 1, 1, "every", None, None, "русский язык", "")
    assert template.points(russian, 5) == 12


def test_fill_defaults_keeps_school_points(school, session):
    db.session.execute(
        delete(SubjectDifficulty).where(SubjectDifficulty.school_id == school.school_id)
    )
    _scale(school, **{"Русский язык": 3})
    added = health.fill_default_difficulty(school.school_id, user_id=1)
    rows = db.session.execute(
        select(SubjectDifficulty.grade_from, SubjectDifficulty.points).where(
            SubjectDifficulty.school_id == school.school_id,
            SubjectDifficulty.subject_name == "Русский язык",
        )
    ).all()
    assert added > 20
    assert (5, 3) in rows
    assert (1, 7) in rows
    assert health.fill_default_difficulty(school.school_id, user_id=1) == 0


# --- Lesson times and shifts --------------------------------------------------------------------


def test_lesson_after_19_warns(school, session):
    add_bells(school, "Вторая смена", periods_of(45, 8, start="12:45"), shift=2, grades=(6, 8))
    school_class = make_class(school, 7, shift=2)
    course = make_course(school_class, "Русский язык")
    place(course, school.school_id, 2, 8)
    found = messages(school_class, "hours")
    assert found == [
        f"{school_class.name}, урок 8 по расписанию звонков «Вторая смена» идёт 19:10–19:55, "
        "а занятия допустимы только с 8:00 до 19:00 (СанПиН 1.2.3685-21, табл. 6.6)."
    ]


def test_lesson_before_19_is_quiet(school, session):
    add_bells(school, "Вторая смена", periods_of(45, 8, start="12:45"), shift=2, grades=(6, 8))
    school_class = make_class(school, 7, shift=2)
    course = make_course(school_class, "Русский язык")
    place(course, school.school_id, 2, 7)
    assert messages(school_class, "hours") == []


def test_lesson_before_8_warns(school, session):
    add_bells(school, "Ранняя", periods_of(45, 2, start="07:40"), grades=(6, 6))
    school_class = make_class(school, 6)
    course = make_course(school_class, "Русский язык")
    place(course, school.school_id, 1, 1)
    found = messages(school_class, "hours")
    assert len(found) == 1
    assert "07:40–08:25" in found[0]


@pytest.mark.parametrize("grade", [1, 5, 9, 10, 11])
def test_second_shift_of_first_shift_grade_warns(school, session, grade):
    school_class = make_class(school, grade, shift=2)
    found = messages(school_class, "shift")
    assert len(found) == 1
    assert "только в первую смену" in found[0]


def test_second_shift_of_grade_seven_is_quiet(school, session):
    school_class = make_class(school, 7, shift=2)
    assert messages(school_class, "shift") == []


def test_second_shift_of_special_needs_class_warns(school, session):
    school_class = make_class(school, 7, shift=2, special=True)
    found = messages(school_class, "shift")
    assert len(found) == 1
    assert "класс для обучающихся с ОВЗ" in found[0]


# --- Stepped regime of grade 1 --------------------------------------------------------------------


def test_stepped_regime_without_autumn_variant_warns(school, session):
    drop_bells(school)
    add_bells(school, "Общее", periods_of(45, 5))
    school_class = make_class(school, 1)
    course = make_course(school_class, "Русский язык")
    fill_day(school_class, course, 1, 4)
    found = messages(school_class, "stepped")
    assert len(found) == 4
    assert found[0] == (
        f"{school_class.name}, сентябрь–октябрь: в день бывает 4 урока, а ступенчатый режим "
        "1 класса допускает 3 (СанПиН 1.2.3685-21, табл. 6.6)."
    )
    assert "сентябрь–октябрь: по расписанию звонков уроки до 45 минут" in found[1]
    assert "ноябрь–декабрь: по расписанию звонков уроки до 45 минут" in found[2]
    assert "январь–май: по расписанию звонков уроки до 45 минут" in found[3]


def test_stepped_regime_with_variants_is_quiet(school, session):
    drop_bells(school)
    add_bells(
        school,
        "1 класс, сентябрь",
        periods_of(35, 3),
        grades=(1, 1),
        valid=(dt.date(2026, 9, 1), dt.date(2026, 10, 31)),
    )
    add_bells(
        school,
        "1 класс, ноябрь",
        periods_of(35, 4),
        grades=(1, 1),
        valid=(dt.date(2026, 11, 1), dt.date(2026, 12, 31)),
    )
    add_bells(
        school,
        "1 класс, январь",
        periods_of(40, 5),
        grades=(1, 1),
        valid=(dt.date(2027, 1, 1), dt.date(2027, 5, 31)),
    )
    school_class = make_class(school, 1)
    course = make_course(school_class, "Русский язык")
    for weekday in range(1, 6):
        fill_day(school_class, course, weekday, 4)
    assert messages(school_class, "stepped") == []


def test_stepped_regime_counts_lines_by_dates(school, session):
    drop_bells(school)
    add_bells(school, "1 класс", periods_of(35, 4), grades=(1, 1))
    school_class = make_class(school, 1)
    course = make_course(school_class, "Русский язык")
    fill_day(school_class, course, 2, 3)
    place(course, school.school_id, 2, 4, valid_from=dt.date(2026, 11, 1))
    assert messages(school_class, "stepped") == []


def test_compliant_template_has_no_warnings(school, session):
    drop_bells(school)
    add_bells(school, "Общее", periods_of(45, 7), grades=(2, 11))
    _scale(school, Физика=10, Музыка=1)
    school_class = make_class(school, 7)
    physics = make_course(school_class, "Физика")
    music = make_course(school_class, "Музыка")
    for weekday, count in zip(range(1, 6), [5, 6, 6, 6, 5], strict=True):
        fill_day(school_class, music, weekday, count)
    place(physics, school.school_id, 3, 7)
    assert health.check_class(school_class) == []


def _statements_of_school_check(school, school_class) -> int:
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        health.check_school(school.school_id, school_class.year_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def test_school_check_query_count_is_fixed(school, session):
    school_class = make_class(school, 5)
    course = make_course(school_class, "Русский язык")
    fill_day(school_class, course, 1, 2)
    small = _statements_of_school_check(school, school_class)
    for _number in range(5):
        other = make_class(school, 6)
        _fill_week(other, make_course(other, "Русский язык"), [6, 6, 6, 6, 5])
    large = _statements_of_school_check(school, school_class)
    assert small == large
    assert large <= 6


# --- The editor ------------------------------------------------------------------------------


_SCHOOL_NUMBERS = itertools.count(1)


@pytest.fixture()
def editing(app):
    """A school of its own with a grade-5 class holding six lessons on Tuesday."""
    with app.app_context():
        built = build_extra_school(f"hlthE{next(_SCHOOL_NUMBERS)}")
        db.session.execute(
            delete(TimetableEntry).where(TimetableEntry.school_id == built.school_id)
        )
        school_class = db.session.get(SchoolClass, built.ids["SchoolClass"])
        course = make_course(school_class, "Русский язык")
        fill_day(school_class, course, 2, 6)
        db.session.commit()
        return built, school_class.id, course


def test_editor_place_saves_and_returns_warning(app, login, editing):
    built, class_id, course = editing
    client = login(built.users["principal"])
    response = client.post(
        f"/timetable-editor/class/{class_id}/place",
        json={"course": course, "room": "", "weekday": 2, "lesson_number": 7},
    )
    assert response.status_code == 200
    assert response.json["saved"] is True
    rules = [warning["rule"] for warning in response.json["warnings"]]
    assert rules == ["daily"]
    assert "5А, вторник: 7 уроков при допустимых 6" in response.json["warnings"][0]["message"]


def test_editor_refused_change_carries_warnings(app, login, editing):
    built, class_id, course = editing
    with app.app_context():
        school_class = db.session.get(SchoolClass, class_id)
        fill_day(school_class, course, 2, 1, first=7)
        db.session.commit()
    client = login(built.users["principal"])
    response = client.post(
        f"/timetable-editor/class/{class_id}/place",
        json={"course": course, "room": "", "weekday": 2, "lesson_number": 1},
    )
    assert response.status_code == 409
    assert [c["kind"] for c in response.json["conflicts"]] == ["class"]
    assert [warning["rule"] for warning in response.json["warnings"]] == ["daily"]


def test_editor_pages_show_warnings(app, login, editing):
    built, class_id, course = editing
    with app.app_context():
        school_class = db.session.get(SchoolClass, class_id)
        fill_day(school_class, course, 2, 1, first=7)
        db.session.commit()
    client = login(built.users["teacher"])
    class_page = client.get(f"/timetable-editor/class/{class_id}").get_data(as_text=True)
    health_page = client.get(f"/timetable-editor/class/{class_id}/health")
    school_page = client.get("/timetable-editor/health")
    editor_page = client.get("/timetable-editor/").get_data(as_text=True)
    assert "вторник: 7 уроков при допустимых 6" in class_page
    assert health_page.status_code == 200
    assert "вторник: 7 уроков при допустимых 6" in health_page.get_data(as_text=True)
    assert school_page.status_code == 200
    assert "вторник: 7 уроков при допустимых 6" in school_page.get_data(as_text=True)
    assert "вторник: 7 уроков при допустимых 6" in editor_page


def test_difficulty_defaults_button_fills_table(app, login, editing):
    built, _class_id, _course = editing
    client = login(built.users["principal"])
    response = client.post("/subject-difficulty/fill-defaults")
    assert response.status_code == 302
    with app.app_context():
        count = db.session.scalar(
            select(db.func.count())
            .select_from(SubjectDifficulty)
            .where(SubjectDifficulty.school_id == built.school_id)
        )
    assert count > 20


def test_teacher_cannot_fill_difficulty_defaults(app, login, editing):
    built, _class_id, _course = editing
    client = login(built.users["teacher"])
    response = client.post("/subject-difficulty/fill-defaults")
    assert response.status_code == 403
