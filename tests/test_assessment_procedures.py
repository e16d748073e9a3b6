"""Assessment procedures: the placing rules, the warning on save, and the published schedule."""

import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.models import Assignment, AssignmentType, Course, Lesson, SchoolClass, db
from app.services.assessment_procedures import (
    ScheduleRow,
    annual_hours,
    annual_limit,
    check_procedure,
    procedure_schedule,
)
from tests.factories import WEEK_START, add_course_with_lesson, build_extra_school

TUESDAY = WEEK_START + dt.timedelta(days=1)
PERIOD = {"from": "2026-09-01", "to": "2027-05-31"}

SAME_DAY_MATHS = (
    "В 5А на 05.10.2026 уже есть оценочная процедура: Контрольная работа, Математика, "
    "урок 2. Рекомендуется не более одной в день."
)
EDGE_RULE = (
    "Оценочные процедуры не рекомендуется проводить на первом и последнем уроках дня, "
    "кроме предметов с одним часом в неделю."
)


@pytest.fixture(scope="module")
def school(app, world):
    """A school of its own: 5А has «Контрольная работа № 1» in Математика, 05.10.2026, lesson 2."""
    with app.app_context():
        return build_extra_school("AP1")


@pytest.fixture()
def session(app, school):
    """A database session in a request context (for translated messages), rolled back after."""
    with app.app_context(), app.test_request_context():
        yield db.session
        db.session.rollback()


def procedure_type(school) -> AssignmentType:
    return db.session.get(AssignmentType, school.ids["AssignmentType"])


def homework_type(school) -> AssignmentType:
    return db.session.scalar(
        select(AssignmentType).where(
            AssignmentType.school_id == school.school_id, AssignmentType.is_homework.is_(True)
        )
    )


def maths_course(school) -> Course:
    return db.session.get(Course, school.ids["Course"])


def add_lesson(course: Course, day: dt.date, number: int, cancelled: bool = False) -> Lesson:
    lesson = Lesson(
        school_id=course.school_id,
        course_id=course.id,
        date=day,
        lesson_number=number,
        is_cancelled=cancelled,
    )
    db.session.add(lesson)
    db.session.flush()
    return lesson


def add_procedure(lesson: Lesson, assignment_type: AssignmentType, text: str) -> Assignment:
    assignment = Assignment(
        school_id=lesson.school_id,
        lesson_id=lesson.id,
        type_id=assignment_type.id,
        weight=Decimal("2"),
        text=text,
    )
    db.session.add(assignment)
    db.session.flush()
    return assignment


def one_hour_course(school, name: str, day: dt.date, number: int) -> tuple[Course, Lesson]:
    """A subject of one hour a week (exempt from the first/last rule), with one lesson."""
    return add_course_with_lesson(school, name, day=day, lesson_number=number)


# --- One procedure a day -----------------------------------------------------------------


def test_same_day_rule_names_the_clash(session, school):
    _, lesson = one_hour_course(school, "Биология", WEEK_START, 3)
    assert check_procedure(lesson, procedure_type(school)) == [SAME_DAY_MATHS]


def test_same_day_rule_silent_on_a_free_day(session, school):
    _, lesson = one_hour_course(school, "Биология", WEEK_START + dt.timedelta(days=2), 3)
    assert check_procedure(lesson, procedure_type(school)) == []


def test_same_day_rule_skips_the_edited_assignment(session, school):
    lesson = db.session.get(Lesson, school.ids["Lesson"])
    maths_test = db.session.get(Assignment, school.ids["Assignment"])
    _, biology = one_hour_course(school, "Биология", WEEK_START, 3)
    assert (
        check_procedure(biology, procedure_type(school), exclude_assignment_id=maths_test.id) == []
    )
    # Lesson 2 is neither the first nor the last of the day: lesson 3 follows it.
    add_lesson(maths_course(school), WEEK_START, 1)
    assert (
        check_procedure(lesson, procedure_type(school), exclude_assignment_id=maths_test.id) == []
    )


def test_same_day_rule_ignores_cancelled_lessons(session, school):
    day = WEEK_START + dt.timedelta(days=3)
    course, lesson = one_hour_course(school, "Биология", day, 3)
    cancelled = add_lesson(course, day, 4, cancelled=True)
    add_procedure(cancelled, procedure_type(school), "Перенесённая работа")
    assert check_procedure(lesson, procedure_type(school)) == []


def test_same_day_rule_lists_every_clash(session, school):
    day = WEEK_START + dt.timedelta(days=4)
    first_course, first = one_hour_course(school, "Биология", day, 2)
    second_course, second = one_hour_course(school, "География", day, 4)
    add_procedure(first, procedure_type(school), "Клетка")
    add_procedure(second, procedure_type(school), "Материки")
    _, lesson = one_hour_course(school, "История", day, 3)
    assert check_procedure(lesson, procedure_type(school)) == [
        "В 5А на 09.10.2026 уже есть оценочная процедура: Контрольная работа, Биология, "
        "урок 2; Контрольная работа, География, урок 4. Рекомендуется не более одной в день."
    ]


def test_other_classes_do_not_clash(session, school):
    _, lesson = add_course_with_lesson(school, "Чтение", class_name="1А", lesson_number=3)
    assert check_procedure(lesson, procedure_type(school)) == []


def test_type_without_flag_is_not_checked(session, school):
    _, lesson = one_hour_course(school, "Биология", WEEK_START, 1)
    assert check_procedure(lesson, homework_type(school)) == []


# --- Not in the first or last lesson ------------------------------------------------------


@pytest.fixture()
def tuesday(session, school):
    """5А on Tuesday: Математика (5 hours a week) in lessons 1, 2 and 4, lesson 5 cancelled."""
    course = maths_course(school)
    lessons = {number: add_lesson(course, TUESDAY, number) for number in (1, 2, 4)}
    add_lesson(course, TUESDAY, 5, cancelled=True)
    return lessons


def test_first_lesson_warns(tuesday, school):
    assert check_procedure(tuesday[1], procedure_type(school)) == [
        f"Урок 1 — первый урок дня в 5А (06.10.2026). {EDGE_RULE}"
    ]


def test_last_lesson_warns_despite_cancelled_later_lesson(tuesday, school):
    assert check_procedure(tuesday[4], procedure_type(school)) == [
        f"Урок 4 — последний урок дня в 5А (06.10.2026). {EDGE_RULE}"
    ]


def test_middle_lesson_is_silent(tuesday, school):
    assert check_procedure(tuesday[2], procedure_type(school)) == []


def test_lessons_of_other_subjects_make_the_day(tuesday, school):
    _, music = add_course_with_lesson(school, "Музыка", day=TUESDAY, lesson_number=6)
    assert music.course.hours_per_week == Decimal("1")
    assert check_procedure(tuesday[4], procedure_type(school)) == []


def test_one_hour_subject_is_exempt_from_edge_rule(session, school):
    day = WEEK_START + dt.timedelta(days=7)
    course, first = one_hour_course(school, "Биология", day, 1)
    add_lesson(course, day, 2)
    last = add_lesson(course, day, 3)
    assert check_procedure(first, procedure_type(school)) == []
    assert check_procedure(last, procedure_type(school)) == []


def test_only_lesson_of_the_day_counts_as_first(session, school):
    day = WEEK_START + dt.timedelta(days=8)
    lesson = add_lesson(maths_course(school), day, 3)
    assert check_procedure(lesson, procedure_type(school)) == [
        f"Урок 3 — первый урок дня в 5А (13.10.2026). {EDGE_RULE}"
    ]


# --- At most 10 % of the annual hours ------------------------------------------------------


@pytest.mark.parametrize(
    ("hours_per_week", "grade", "hours", "limit"),
    [
        ("1", 5, "34", 3),
        ("2", 5, "68", 6),
        ("0.5", 5, "17.0", 1),
        ("5", 5, "170", 17),
        ("1", 1, "33", 3),
        ("3", 1, "99", 9),
    ],
)
def test_annual_limit_is_tenth_of_hours_floored(hours_per_week, grade, hours, limit):
    course = Course(
        hours_per_week=Decimal(hours_per_week), school_class=SchoolClass(grade=grade, name="x")
    )
    assert annual_hours(course) == Decimal(hours)
    assert annual_limit(course) == limit


def test_annual_share_boundary(session, school):
    """34 hours a year allow 3 procedures: the third is silent, the fourth warns."""
    days = [dt.date(2026, 11, 10) + dt.timedelta(days=7 * week) for week in range(4)]
    course, lesson = one_hour_course(school, "Биология", days[0], 3)
    add_procedure(lesson, procedure_type(school), "Работа 1")
    add_procedure(add_lesson(course, days[1], 3), procedure_type(school), "Работа 2")

    third = add_lesson(course, days[2], 3)
    assert check_procedure(third, procedure_type(school)) == []
    third_test = add_procedure(third, procedure_type(school), "Работа 3")

    fourth = add_lesson(course, days[3], 3)
    assert check_procedure(fourth, procedure_type(school)) == [
        "Это оценочная процедура № 4 по предмету «Биология» в 5А за год, а рекомендуется "
        "не более 3: 10 % от 34 часов предмета в год."
    ]
    # Editing the third leaves it out of the count, so three stay within the limit.
    assert check_procedure(third, procedure_type(school), exclude_assignment_id=third_test.id) == []


def test_annual_share_ignores_cancelled_lessons(session, school):
    days = [dt.date(2027, 2, 2) + dt.timedelta(days=7 * week) for week in range(4)]
    course, lesson = one_hour_course(school, "Биология", days[0], 3)
    add_procedure(lesson, procedure_type(school), "Работа 1")
    add_procedure(add_lesson(course, days[1], 3), procedure_type(school), "Работа 2")
    add_procedure(
        add_lesson(course, days[2], 3, cancelled=True), procedure_type(school), "Отменена"
    )
    assert check_procedure(add_lesson(course, days[3], 3), procedure_type(school)) == []


def test_all_rules_fire_together(session, school):
    lesson = add_lesson(maths_course(school), WEEK_START, 1)
    warnings = check_procedure(lesson, procedure_type(school))
    assert len(warnings) == 2
    assert warnings[0] == SAME_DAY_MATHS
    assert warnings[1] == f"Урок 1 — первый урок дня в 5А (05.10.2026). {EDGE_RULE}"


# --- The warning on the lesson page ---------------------------------------------------------


@pytest.fixture(scope="module")
def saving_school(app, world):
    with app.app_context():
        return build_extra_school("AP2")


def test_lesson_save_warns_but_saves(app, saving_school, login):
    with app.app_context():
        course = db.session.get(Course, saving_school.ids["Course"])
        lesson = add_lesson(course, TUESDAY, 1)
        add_lesson(course, TUESDAY, 2)
        lesson_id = lesson.id
        db.session.commit()
    client = login(saving_school.users["teacher"])

    response = client.post(
        f"/journal/lesson/{lesson_id}",
        data={"new_type": str(saving_school.ids["AssignmentType"]), "new_text": "Проверочная"},
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert f"Урок 1 — первый урок дня в 5А (06.10.2026). {EDGE_RULE}" in response.text
    assert "alert-warning" in response.text
    with app.app_context():
        texts = db.session.scalars(select(Assignment.text).where(Assignment.lesson_id == lesson_id))
        assert list(texts) == ["Проверочная"]


def test_lesson_save_without_clash_has_no_warning(app, saving_school, login):
    with app.app_context():
        course = db.session.get(Course, saving_school.ids["Course"])
        day = TUESDAY + dt.timedelta(days=1)
        add_lesson(course, day, 1)
        lesson = add_lesson(course, day, 2)
        add_lesson(course, day, 3)
        lesson_id = lesson.id
        db.session.commit()
    client = login(saving_school.users["teacher"])

    response = client.post(
        f"/journal/lesson/{lesson_id}",
        data={"new_type": str(saving_school.ids["AssignmentType"]), "new_text": "Диктант"},
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert "оценочная процедура" not in response.text
    assert EDGE_RULE not in response.text
    assert "alert-warning" not in response.text


# --- The schedule ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schedule_school(app, world):
    """5А: Математика 05.10.2026 lesson 2 (from the factory) and Биология 12.11.2026 lesson 3;
    1А: Чтение 13.11.2026 lesson 2; a cancelled procedure that is left out."""
    with app.app_context():
        school = build_extra_school("AP3")
        kind = db.session.get(AssignmentType, school.ids["AssignmentType"])
        course, lesson = add_course_with_lesson(
            school, "Биология", day=dt.date(2026, 11, 12), lesson_number=3
        )
        add_procedure(lesson, kind, "Строение клетки")
        add_procedure(add_lesson(course, dt.date(2026, 11, 19), 3, True), kind, "Отменена")
        _, reading = add_course_with_lesson(
            school, "Чтение", class_name="1А", day=dt.date(2026, 11, 13), lesson_number=2
        )
        add_procedure(reading, kind, "Техника чтения")
        school.ids["FirstGrade"] = reading.course.class_id
        db.session.commit()
        return school


def class_id(school) -> int:
    return school.ids["SchoolClass"]


def test_schedule_of_a_class(app, schedule_school):
    with app.app_context():
        rows = procedure_schedule(
            schedule_school.school_id,
            dt.date(2026, 9, 1),
            dt.date(2027, 5, 31),
            class_id(schedule_school),
        )
    fifth = class_id(schedule_school)
    assert rows == [
        ScheduleRow(
            fifth,
            "5А",
            WEEK_START,
            2,
            "Математика",
            "Контрольная работа",
            "Контрольная работа № 1",
        ),
        ScheduleRow(
            fifth,
            "5А",
            dt.date(2026, 11, 12),
            3,
            "Биология",
            "Контрольная работа",
            "Строение клетки",
        ),
    ]


def test_schedule_of_the_school_orders_by_class(app, schedule_school):
    with app.app_context():
        rows = procedure_schedule(
            schedule_school.school_id, dt.date(2026, 9, 1), dt.date(2027, 5, 31)
        )
    assert [(row.class_name, row.text) for row in rows] == [
        ("1А", "Техника чтения"),
        ("5А", "Контрольная работа № 1"),
        ("5А", "Строение клетки"),
    ]


def test_schedule_period_bounds_are_inclusive(app, schedule_school):
    with app.app_context():
        rows = procedure_schedule(
            schedule_school.school_id, dt.date(2026, 10, 5), dt.date(2026, 11, 12)
        )
        outside = procedure_schedule(
            schedule_school.school_id, dt.date(2026, 10, 6), dt.date(2026, 11, 11)
        )
    assert [row.text for row in rows] == ["Контрольная работа № 1", "Строение клетки"]
    assert outside == []


def test_parent_sees_child_class_schedule(schedule_school, login):
    client = login(schedule_school.users["parent"])
    page = client.get("/assessment-schedule/", query_string=PERIOD)
    assert page.status_code == 200
    assert "График оценочных процедур: 5А" in page.text
    assert "Строение клетки" in page.text
    assert "Контрольная работа № 1" in page.text
    assert "Техника чтения" not in page.text
    assert "Отменена" not in page.text
    assert "Период: с 01.09.2026 по 31.05.2027." in page.text


def test_parent_gets_404_for_another_class(schedule_school, login):
    client = login(schedule_school.users["parent"])
    other = schedule_school.ids["FirstGrade"]
    assert client.get(f"/assessment-schedule/?class={other}").status_code == 404
    assert client.get(f"/assessment-schedule/export.xlsx?class={other}").status_code == 404


@pytest.mark.parametrize("role", ["parent", "teacher", "principal"])
def test_another_schools_class_is_404(schedule_school, world, login, role):
    client = login(schedule_school.users[role])
    foreign = world["B"].ids["SchoolClass"]
    assert client.get(f"/assessment-schedule/?class={foreign}").status_code == 404
    assert client.get(f"/assessment-schedule/export.xlsx?class={foreign}").status_code == 404


def test_teacher_reads_any_class_of_the_school(schedule_school, login):
    client = login(schedule_school.users["teacher"])
    page = client.get(
        "/assessment-schedule/",
        query_string={**PERIOD, "class": schedule_school.ids["FirstGrade"]},
    )
    assert page.status_code == 200
    assert "Техника чтения" in page.text
    assert "Строение клетки" not in page.text


def test_staff_sees_whole_school_by_default(schedule_school, login):
    client = login(schedule_school.users["secretary"])
    page = client.get("/assessment-schedule/", query_string=PERIOD)
    assert page.status_code == 200
    assert "Техника чтения" in page.text
    assert "Строение клетки" in page.text


def test_invalid_date_warns_and_uses_default(schedule_school, login):
    client = login(schedule_school.users["parent"])
    page = client.get("/assessment-schedule/", query_string={"from": "31.02.2026", "to": "x"})
    assert page.status_code == 200
    assert "Дата «31.02.2026» недопустима: введите дату как ДД.ММ.ГГГГ или ГГГГ-ММ-ДД." in (
        page.text
    )
    assert "Дата «x» недопустима" in page.text


def test_reversed_period_warns(schedule_school, login):
    client = login(schedule_school.users["parent"])
    page = client.get(
        "/assessment-schedule/", query_string={"from": "2027-01-01", "to": "2026-09-01"}
    )
    assert page.status_code == 200
    assert "Начало периода 01.01.2027 позже его конца 01.09.2026" in page.text


def test_class_xlsx_reads_back(schedule_school, login):
    client = login(schedule_school.users["parent"])
    response = client.get(
        "/assessment-schedule/export.xlsx",
        query_string={**PERIOD, "class": class_id(schedule_school)},
    )
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["5А"]
    sheet = book["5А"]
    assert sheet["A1"].value == "График оценочных процедур: 5А"
    assert sheet["A2"].value == "Период: с 01.09.2026 по 31.05.2027."
    header = [cell.value for cell in sheet[3]]
    assert header == ["Дата", "Номер урока", "Предмет", "Тип задания", "Текст"]
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    assert rows == [
        (dt.datetime(2026, 10, 5), 2, "Математика", "Контрольная работа", "Контрольная работа № 1"),
        (dt.datetime(2026, 11, 12), 3, "Биология", "Контрольная работа", "Строение клетки"),
    ]
    assert sheet.freeze_panes == "A4"
    assert sheet.auto_filter.ref == "A3:E5"


def test_school_xlsx_has_a_sheet_per_class(schedule_school, login):
    client = login(schedule_school.users["principal"])
    response = client.get("/assessment-schedule/export.xlsx", query_string=PERIOD)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["1А", "5А"]
    assert book["1А"]["A1"].value == "График оценочных процедур: все классы"
    assert [row[4] for row in book["1А"].iter_rows(min_row=4, values_only=True)] == [
        "Техника чтения"
    ]
    assert [row[4] for row in book["5А"].iter_rows(min_row=4, values_only=True)] == [
        "Контрольная работа № 1",
        "Строение клетки",
    ]


def test_diary_links_to_class_schedule(schedule_school, login):
    client = login(schedule_school.users["parent"])
    page = client.get("/diary/", query_string={"week": WEEK_START.isoformat()})
    assert page.status_code == 200
    link = f'href="/assessment-schedule/?class={class_id(schedule_school)}"'
    assert link in page.text
    assert "График оценочных процедур класса" in page.text
