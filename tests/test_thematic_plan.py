"""Thematic plan (КТП): editing, XLSX import, topic pre-fill, the programme report, access."""

import datetime as dt
import io
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from flask_appbuilder.security.sqla.models import User
from flask_babel import force_locale
from openpyxl import Workbook, load_workbook
from openpyxl.utils.datetime import to_excel
from sqlalchemy import select

from app.models import AcademicYear, Course, Employee, Lesson, PlanItem, Subject, Term, db
from app.security.scope import Scope
from app.services import programme, thematic_plan
from app.services.journal import journal_access
from app.services.programme import ProgrammeFilters
from app.services.thematic_plan import PlanError, PlanItemForm
from tests.factories import add_course_with_lesson, add_teacher, build_extra_school

KEY = "XTP1"
TODAY = dt.date(2026, 12, 5)
XLSX_HEADER = ["№", "Раздел", "ТЕМА", "часы", "Дата"]


@pytest.fixture(scope="module")
def school(app):
    """A school of its own: its teacher, a second teacher, and the principal's scope."""
    with app.app_context():
        world = build_extra_school(KEY)
        teacher = db.session.scalars(
            select(Employee)
            .join(User, User.id == Employee.user_id)
            .where(User.username == f"teacher_{KEY}")
        ).one()
        other = add_teacher(world, f"tp_other_{KEY}")
        db.session.commit()
        return SimpleNamespace(world=world, sid=world.school_id, teacher=teacher.id, other=other.id)


@pytest.fixture()
def session(app):
    with app.app_context():
        yield db.session
        db.session.rollback()


def _course(school, subject: str, *, teacher=None, day=dt.date(2026, 9, 1), hours=1) -> Course:
    """Add a course of a new subject in 5А with one lesson on ``day`` and commit."""
    teachers = [db.session.get(Employee, teacher or school.teacher)]
    course, _lesson = add_course_with_lesson(
        school.world, subject, teachers=teachers, day=day, lesson_number=1
    )
    course.hours_per_week = Decimal(hours)
    db.session.commit()
    return course


def _lesson(course, day, topic=None, cancelled=False, number=1) -> Lesson:
    lesson = Lesson(
        school_id=course.school_id,
        course_id=course.id,
        date=day,
        lesson_number=number,
        topic=topic,
        is_cancelled=cancelled,
    )
    db.session.add(lesson)
    db.session.flush()
    return lesson


def _add(course, topic, hours="1", planned_date="", position="") -> PlanItem:
    form = PlanItemForm(topic=topic, hours=hours, planned_date=planned_date, position=position)
    return thematic_plan.add_item(course, form, None)


def _plan(course) -> list[tuple[int, str, Decimal]]:
    db.session.expire_all()
    return [(i.position, i.topic, i.hours) for i in thematic_plan.course_plan(course)]


def _xlsx(rows, header=XLSX_HEADER) -> io.BytesIO:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def _scope(school, role: str = "principal", username: str | None = None) -> Scope:
    user_id = db.session.scalar(
        select(User.id).where(User.username == (username or f"{role}_{KEY}"))
    )
    return Scope(
        user_id=user_id,
        membership_id=None,
        level="school",
        school_id=school.sid,
        role_codes=frozenset({role}),
    )


# --- Editing and positions ------------------------------------------------------------


def test_add_insert_move_delete_keep_positions(school, session):
    course = _course(school, "КТП: позиции")
    _add(course, "А")
    _add(course, "Б", hours="2")
    _add(course, "В")
    _add(course, "Г", position="2")
    assert _plan(course) == [
        (1, "А", Decimal("1.0")),
        (2, "Г", Decimal("1.0")),
        (3, "Б", Decimal("2.0")),
        (4, "В", Decimal("1.0")),
    ]

    last = thematic_plan.course_plan(course)[-1]
    assert thematic_plan.move_item(last, 1, None) is True
    assert [topic for _p, topic, _h in _plan(course)] == ["В", "А", "Г", "Б"]

    first_a = next(i for i in thematic_plan.course_plan(course) if i.topic == "А")
    thematic_plan.delete_item(first_a, None)
    assert [(p, t) for p, t, _h in _plan(course)] == [(1, "В"), (2, "Г"), (3, "Б")]

    item = thematic_plan.course_plan(course)[1]
    form = PlanItemForm(topic="Г изменена", hours="1,5", planned_date="05.10.2026", section="II")
    thematic_plan.update_item(item, form, None)
    db.session.expire_all()
    item = thematic_plan.course_plan(course)[1]
    assert (item.position, item.topic, item.hours) == (2, "Г изменена", Decimal("1.5"))
    assert (item.planned_date, item.section) == (dt.date(2026, 10, 5), "II")


def test_move_past_the_end_is_clamped(school, session):
    course = _course(school, "КТП: перенос")
    _add(course, "А")
    _add(course, "Б")
    first = thematic_plan.course_plan(course)[0]
    assert thematic_plan.move_item(first, 99, None) is True
    assert [(p, t) for p, t, _h in _plan(course)] == [(1, "Б"), (2, "А")]
    last = thematic_plan.course_plan(course)[-1]
    assert thematic_plan.move_item(last, 5, None) is False


def test_form_lists_every_invalid_value(app, school, session):
    course = _course(school, "КТП: форма")
    form = PlanItemForm(topic=" ", hours="два", planned_date="01.08.2026", position="0")
    with app.test_request_context(), force_locale("en"):
        with pytest.raises(PlanError) as raised:
            thematic_plan.add_item(course, form, None)
    assert raised.value.messages == [
        "The topic is empty — enter the topic of the lesson.",
        "Hours «два» — enter a number, for example 1 or 2.",
        "The position «0» is invalid — enter a whole number from 1, "
        "or leave it empty to add the topic at the end.",
        "Date 01.08.2026 is outside the school year 2026/2027 (01.09.2026–31.05.2027) — "
        "correct the date or leave it empty.",
    ]
    assert _plan(course) == []


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("2", Decimal("2.0")), ("1,5", Decimal("1.5")), (2, Decimal("2.0")), (0.5, Decimal("0.5"))],
)
def test_parse_hours_accepts_positive_numbers(typed, expected):
    assert thematic_plan.parse_hours(typed) == expected


@pytest.mark.parametrize("typed", ["0", "-1", "два", "", "1.25", "1000", True, float("nan")])
def test_parse_hours_rejects_invalid(typed):
    assert thematic_plan.parse_hours(typed) is None


# --- Import ---------------------------------------------------------------------------


def test_import_reads_every_column(school, session):
    course = _course(school, "КТП: импорт")
    _add(course, "Старая тема")
    serial = to_excel(dt.datetime(2026, 10, 7))
    stream = _xlsx(
        [
            [1, "Числа", "Натуральные числа", 2, dt.datetime(2026, 9, 2)],
            [2, None, "Дроби", "1,5", "05.10.2026"],
            [None, None, None, None, None],
            [3, "Проценты", "  Проценты  ", 1, serial],
            [4, None, "Повторение", 1.0, None],
        ]
    )
    result = thematic_plan.import_plan(course, stream, "план.xlsx", "replace", None)
    assert (result.added, result.removed) == (4, 1)
    items = thematic_plan.course_plan(course)
    assert [(i.position, i.section, i.topic, i.hours, i.planned_date) for i in items] == [
        (1, "Числа", "Натуральные числа", Decimal("2.0"), dt.date(2026, 9, 2)),
        (2, None, "Дроби", Decimal("1.5"), dt.date(2026, 10, 5)),
        (3, "Проценты", "Проценты", Decimal("1.0"), dt.date(2026, 10, 7)),
        (4, None, "Повторение", Decimal("1.0"), None),
    ]

    more = _xlsx([["Итоговая работа", 1]], header=["Тема", "Часы"])
    result = thematic_plan.import_plan(course, more, "ещё.XLSX", "append", None)
    assert (result.added, result.removed) == (1, 0)
    assert _plan(course)[-1] == (5, "Итоговая работа", Decimal("1.0"))


def test_import_bad_file_lists_rows_and_saves_nothing(app, school, session):
    course = _course(school, "КТП: ошибки")
    _add(course, "Остаётся")
    stream = _xlsx(
        [
            [1, None, "Хорошая строка", 1, None],
            [2, None, "", 1, None],
            [3, None, "Тема", "два", None],
            [4, None, "Тема", 0, None],
            [5, None, "Тема", 1, "31.02.2026"],
            [6, None, "Тема", 1, "01.08.2026"],
            [7, None, "Тема", None, None],
        ]
    )
    with app.test_request_context(), force_locale("en"):
        with pytest.raises(PlanError) as raised:
            thematic_plan.import_plan(course, stream, "план.xlsx", "replace", None)
    db.session.rollback()
    assert raised.value.messages == [
        "Row 3: the topic is empty — enter the topic of the lesson.",
        "Row 4: hours «два» — enter a number, for example 1 or 2.",
        "Row 5: hours «0» — enter a number, for example 1 or 2.",
        "Row 6: date «31.02.2026» — enter a date as DD.MM.YYYY, for example 05.10.2026.",
        "Row 7: date 01.08.2026 is outside the school year 2026/2027 (01.09.2026–31.05.2027) — "
        "correct the date or leave it empty.",
        "Row 8: the hours are missing — enter a number, for example 1 or 2.",
    ]
    assert _plan(course) == [(1, "Остаётся", Decimal("1.0"))]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "план.xls",
            b"x",
            "The file «план.xls» is not an XLSX workbook: save the plan in Excel as .xlsx "
            "(download the template) and upload it again.",
        ),
        (
            "план.xlsx",
            b"not a zip",
            "The file «план.xlsx» could not be read as an XLSX workbook: open it in Excel, "
            "save it as .xlsx and upload it again.",
        ),
    ],
)
def test_import_rejects_other_files(app, school, session, name, content, message):
    course = _course(school, f"КТП: файл {name} {len(content)}")
    with app.test_request_context(), force_locale("en"):
        with pytest.raises(PlanError) as raised:
            thematic_plan.import_plan(course, io.BytesIO(content), name, "replace", None)
    assert raised.value.messages == [message]


def test_import_requires_topic_and_hours_columns(app, school, session):
    course = _course(school, "КТП: заголовок")
    stream = _xlsx([["Дроби", "1"]], header=["Название", "Часы"])
    with app.test_request_context(), force_locale("en"):
        with pytest.raises(PlanError) as raised:
            thematic_plan.import_plan(course, stream, "план.xlsx", "replace", None)
    assert raised.value.messages == [
        "The file has no header row with the columns «Тема» and «Часы» in its first 10 rows: "
        "download the template and fill it in."
    ]


def test_exported_plan_imports_back(app, school, session, login):
    course = _course(school, "КТП: экспорт")
    _add(course, "Сложение", hours="2", planned_date="2026-09-03")
    _add(course, "Вычитание", hours="1,5")
    client = login(f"teacher_{KEY}")
    response = client.get(f"/journal/plan/{course.id}/plan.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert [cell.value for cell in sheet[3]] == ["№", "Раздел", "Тема", "Часы", "Дата"]
    assert sheet["C4"].value == "Сложение"
    assert sheet["E4"].number_format == "dd.mm.yyyy"

    copy = _course(school, "КТП: копия")
    stream = io.BytesIO(response.data)
    result = thematic_plan.import_plan(copy, stream, "plan.xlsx", "replace", None)
    assert result.added == 2
    items = thematic_plan.course_plan(copy)
    assert [(i.topic, i.hours, i.planned_date) for i in items] == [
        ("Сложение", Decimal("2.0"), dt.date(2026, 9, 3)),
        ("Вычитание", Decimal("1.5"), None),
    ]


def test_template_has_the_import_header(school, login):
    response = login(f"teacher_{KEY}").get("/journal/plan/template.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    assert [cell.value for cell in sheet[3]] == ["№", "Раздел", "Тема", "Часы", "Дата"]
    assert sheet.max_row == 3


def test_import_page_shows_row_errors(app, school, login):
    with app.app_context():
        course = _course(school, "КТП: страница импорта")
        course_id = course.id
    client = login(f"teacher_{KEY}")
    data = {"mode": "replace", "file": (_xlsx([[1, None, "Тема", "два", None]]), "план.xlsx")}
    response = client.post(
        f"/journal/plan/{course_id}/import", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'data-testid="plan-errors"' in html
    assert "«два»" in html
    with app.app_context():
        assert (
            db.session.scalars(select(PlanItem).where(PlanItem.course_id == course_id)).all() == []
        )

    good = {"mode": "replace", "file": (_xlsx([[1, None, "Тема", 2, None]]), "план.xlsx")}
    response = client.post(
        f"/journal/plan/{course_id}/import", data=good, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    with app.app_context():
        items = db.session.scalars(select(PlanItem).where(PlanItem.course_id == course_id)).all()
        assert [(i.topic, i.hours) for i in items] == [("Тема", Decimal("2.0"))]


# --- Topics from the plan -------------------------------------------------------------


def test_prefill_skips_cancelled_and_keeps_topics(school, session):
    course = _course(school, "КТП: темы уроков", day=dt.date(2026, 9, 1))
    first = db.session.scalars(select(Lesson).where(Lesson.course_id == course.id)).one()
    cancelled = _lesson(course, dt.date(2026, 9, 2), cancelled=True)
    own = _lesson(course, dt.date(2026, 9, 3), topic="Своя тема")
    fourth = _lesson(course, dt.date(2026, 9, 4))
    fifth = _lesson(course, dt.date(2026, 9, 8))
    beyond = _lesson(course, dt.date(2026, 9, 9))
    db.session.commit()
    _add(course, "Двухчасовая", hours="2")
    _add(course, "Вторая")
    _add(course, "Третья")

    assert thematic_plan.prefill_topics(course) == 3
    db.session.expire_all()
    topics = {
        lesson.id: lesson.topic
        for lesson in db.session.scalars(select(Lesson).where(Lesson.course_id == course.id))
    }
    assert topics == {
        first.id: "Двухчасовая",
        cancelled.id: None,
        own.id: "Своя тема",
        fourth.id: "Вторая",
        fifth.id: "Третья",
        beyond.id: None,
    }

    assert thematic_plan.prefill_topics(course, overwrite=True) == 1
    db.session.expire_all()
    assert db.session.get(Lesson, own.id).topic == "Двухчасовая"
    assert thematic_plan.prefill_topics(course, overwrite=True) == 0


def test_prefill_leaves_closed_term_lessons(school, session):
    course = _course(school, "КТП: закрытая четверть", day=dt.date(2026, 10, 20))
    _lesson(course, dt.date(2026, 11, 10))
    db.session.commit()
    _add(course, "Первая")
    _add(course, "Вторая")
    term = db.session.scalars(
        select(Term).where(Term.school_id == school.sid, Term.kind == "quarter", Term.number == 1)
    ).one()
    term.is_closed = True
    db.session.commit()
    try:
        assert thematic_plan.prefill_topics(course) == 1
        db.session.expire_all()
        topics = dict(
            db.session.execute(
                select(Lesson.date, Lesson.topic).where(Lesson.course_id == course.id)
            ).all()
        )
        assert topics == {dt.date(2026, 10, 20): None, dt.date(2026, 11, 10): "Вторая"}
    finally:
        term.is_closed = False
        db.session.commit()


def test_lesson_page_offers_planned_topic(app, school, login):
    with app.app_context():
        course = _course(school, "КТП: страница урока", day=dt.date(2026, 9, 1))
        second = _lesson(course, dt.date(2026, 9, 3))
        own = _lesson(course, dt.date(2026, 9, 4), topic="Записанная")
        db.session.commit()
        _add(course, "Первая")
        _add(course, "Вторая")
        _add(course, "Третья")
        second_id, own_id = second.id, own.id
    client = login(f"teacher_{KEY}")
    html = client.get(f"/journal/lesson/{second_id}").get_data(as_text=True)
    assert re.search(r'id="topic" name="topic" maxlength="500" value="Вторая"', html)
    html = client.get(f"/journal/lesson/{own_id}").get_data(as_text=True)
    assert re.search(r'id="topic" name="topic" maxlength="500" value="Записанная"', html)


def test_plan_page_fills_topics(app, school, login):
    with app.app_context():
        course = _course(school, "КТП: кнопка", day=dt.date(2026, 9, 1))
        _add(course, "Из плана")
        course_id = course.id
    client = login(f"teacher_{KEY}")
    html = client.get(f"/journal/plan/{course_id}").get_data(as_text=True)
    assert 'data-testid="plan-prefill"' in html
    response = client.post(f"/journal/plan/{course_id}/prefill")
    assert response.status_code == 302
    with app.app_context():
        topic = db.session.scalar(select(Lesson.topic).where(Lesson.course_id == course_id))
        assert topic == "Из плана"


# --- Programme report ---------------------------------------------------------------


@pytest.fixture(scope="module")
def report_course(app, school):
    """A course with a plan of 8 hours and seven lessons, one of them cancelled.

    | lesson | 01.09 | 03.09 | 08.09 | 10.09     | 15.09 | 17.09 | 22.09 |
    | topic  | yes   | yes   | —     | cancelled | —     | yes   | yes   |

    Plan: 1) 2 h, 2) 1 h dated 20.09, 3) 2 h, 4) 3 h. By position, item 1 covers lessons
    1–2, item 2 lesson 3 (but counts on its date), item 3 lessons 4–5, item 4 lessons 6–8.
    """
    with app.app_context():
        course = _course(school, "КТП: программа", day=dt.date(2026, 9, 1), hours=2)
        first = db.session.scalars(select(Lesson).where(Lesson.course_id == course.id)).one()
        first.topic = "Тема"
        _lesson(course, dt.date(2026, 9, 3), topic="Тема")
        _lesson(course, dt.date(2026, 9, 8))
        _lesson(course, dt.date(2026, 9, 10), topic="Тема", cancelled=True)
        _lesson(course, dt.date(2026, 9, 15))
        _lesson(course, dt.date(2026, 9, 17), topic="Тема")
        _lesson(course, dt.date(2026, 9, 22), topic="Тема")
        db.session.commit()
        _add(course, "Первая", hours="2")
        _add(course, "Датированная", hours="1", planned_date="20.09.2026")
        _add(course, "Третья", hours="2")
        _add(course, "Четвёртая", hours="3")
        empty = _course(school, "КТП: без плана", day=dt.date(2026, 9, 2), hours=2)
        return SimpleNamespace(id=course.id, subject_id=course.subject_id, empty=empty.id)


def _rows(school, start, end, subject_id=None):
    scope = _scope(school)
    access = journal_access(scope, may_write=False)
    subject = db.session.get(Subject, subject_id) if subject_id else None
    filters = ProgrammeFilters(start, end, _year(school), subject=subject)
    return {row.course_id: row for row in programme.programme_rows(access, filters, TODAY)}


def _year(school):
    return db.session.scalars(
        select(AcademicYear).where(AcademicYear.school_id == school.sid)
    ).one()


def test_programme_counts_plan_by_position_and_date(school, report_course, session):
    row = _rows(school, dt.date(2026, 9, 1), dt.date(2026, 9, 16))[report_course.id]
    assert row.planned == Decimal("3")
    assert row.given == 2
    assert row.lag == Decimal("1")
    assert row.share == pytest.approx(2 / 3)
    assert row.year_total == Decimal("8.0")
    assert row.has_plan is True


def test_programme_period_starts_after_year_start(school, report_course, session):
    row = _rows(school, dt.date(2026, 9, 8), dt.date(2026, 9, 30))[report_course.id]
    # Item 2 falls on its date (1 h), item 3 on lessons 4–5 (2 h), item 4 on lesson 6 (1 h).
    assert row.planned == Decimal("4")
    assert row.given == 2
    assert row.lag == Decimal("2")


def test_programme_without_plan_uses_weekly_hours(school, report_course, session):
    row = _rows(school, dt.date(2026, 9, 1), dt.date(2026, 9, 14))[report_course.empty]
    assert row.has_plan is False
    assert row.planned == Decimal("4.0")
    assert row.given == 0
    # 01.09.2026–31.05.2027 is 273 days, 39 weeks of 2 hours.
    assert row.year_total == Decimal("78.0")


def test_programme_period_ends_today(school, report_course, session):
    rows = _rows(school, dt.date(2026, 9, 1), dt.date(2027, 5, 31))
    row = rows[report_course.id]
    # Up to today: six lessons held, four with a topic. Items 1–3 fall in full (5 h), and
    # item 4 covers the sixth lesson only (1 h); its other two hours have no lesson yet.
    assert row.given == 4
    assert row.planned == Decimal("6")


def test_programme_xlsx_reads_back(school, report_course, login):
    client = login(f"principal_{KEY}")
    url = (
        "/journal/programme/report.xlsx?date_from=2026-09-01&date_to=2026-09-16"
        f"&subject={report_course.subject_id}"
    )
    response = client.get(url)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    filters = sheet["A2"].value
    assert "01.09.2026" in filters
    assert "16.09.2026" in filters
    assert "КТП: программа" in filters
    assert sheet.freeze_panes == "A4"
    assert sheet.auto_filter.ref == "A3:I4"
    values = [cell.value for cell in sheet[4]]
    assert values[:8] == ["5А", "КТП: программа", "Сотрудник t.", 3, 2, 1, pytest.approx(2 / 3), 8]
    assert sheet["G4"].number_format == "0.0%"
    assert sheet.max_row == 4


def test_programme_page_lists_rows(school, report_course, login):
    client = login(f"principal_{KEY}")
    response = client.get(
        f"/journal/programme/?date_from=2026-09-01&date_to=2026-09-16&subject={report_course.subject_id}"
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert (
        f'data-course="{report_course.id}" data-planned="3" data-given="2"\n'
        '          data-lag="1" data-year="8" data-has-plan="1"'
    ) in html


def test_teacher_report_shows_own_courses_only(app, school, report_course, login):
    with app.app_context():
        foreign = _course(school, "КТП: чужой курс", teacher=school.other)
        foreign_id = foreign.id
    html = login(f"tp_other_{KEY}").get("/journal/programme/").get_data(as_text=True)
    assert f'data-course="{foreign_id}"' in html
    assert f'data-course="{report_course.id}"' not in html


# --- Access -----------------------------------------------------------------------------


def test_other_school_course_and_item_are_not_found(app, world, login):
    client = login("principal_A")
    other_course = world["B"].ids["Course"]
    other_item = world["B"].ids["PlanItem"]
    assert client.get(f"/journal/plan/{other_course}").status_code == 404
    assert client.post(f"/journal/plan/item/{other_item}/delete").status_code == 404
    with app.app_context():
        assert db.session.get(PlanItem, other_item) is not None


def test_parent_is_forbidden(school, report_course, login):
    client = login(f"parent_{KEY}")
    assert client.get(f"/journal/plan/{report_course.id}").status_code == 403
    assert client.get("/journal/programme/").status_code == 403


def test_teacher_of_another_course_gets_not_found(school, report_course, login):
    client = login(f"tp_other_{KEY}")
    assert client.get(f"/journal/plan/{report_course.id}").status_code == 404
    response = client.post(
        f"/journal/plan/{report_course.id}/items", data={"topic": "Чужая", "hours": "1"}
    )
    assert response.status_code == 404


def test_principal_edits_any_course_plan(app, school, login):
    with app.app_context():
        course = _course(school, "КТП: директор")
        course_id = course.id
    client = login(f"principal_{KEY}")
    response = client.post(
        f"/journal/plan/{course_id}/items", data={"topic": "От директора", "hours": "2"}
    )
    assert response.status_code == 302
    html = client.get(f"/journal/plan/{course_id}").get_data(as_text=True)
    assert 'data-count="1" data-hours="2"' in html
    assert 'data-testid="read-only"' not in html


def test_add_form_shows_errors_and_keeps_values(app, school, login):
    with app.app_context():
        course_id = _course(school, "КТП: ошибка формы").id
    client = login(f"teacher_{KEY}")
    response = client.post(
        f"/journal/plan/{course_id}/items", data={"topic": "Дроби", "hours": "много"}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "«много»" in html
    assert 'value="Дроби"' in html
