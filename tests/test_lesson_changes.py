"""Changes of single lessons: substitution, room change, move and cancellation, and their report."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.models import Employee, Lesson, Mark, Room, db
from app.reports.xlsx import XLSX_MIMETYPE
from tests.factories import WEEK_START, add_course_with_lesson, add_teacher, build_extra_school


@pytest.fixture(scope="module")
def school(app, world):
    """A school with a second teacher's course at lesson 3 of the test Monday, and a room."""
    with app.app_context():
        built = build_extra_school("chg1")
        colleague = add_teacher(built, "colleague_chg1")
        substitute = add_teacher(built, "substitute_chg1")
        _, busy = add_course_with_lesson(built, "Физика", teachers=[colleague], lesson_number=3)
        _, free = add_course_with_lesson(
            built, "Химия", teachers=[colleague], day=WEEK_START + dt.timedelta(days=1)
        )
        room = Room(school_id=built.school_id, name="chg1-202", capacity=25)
        db.session.add(room)
        db.session.flush()
        built.ids.update(
            Colleague=colleague.id,
            Substitute=substitute.id,
            BusyLesson=busy.id,
            FreeLesson=free.id,
            SecondRoom=room.id,
        )
        db.session.commit()
        return built


def _change(client, lesson_id, **form):
    return client.post(f"/timetable-changes/lesson/{lesson_id}", data=form)


def _lesson(app, lesson_id) -> Lesson:
    with app.app_context():
        lesson = db.session.get(Lesson, lesson_id)
        db.session.expunge(lesson)
        return lesson


def _teacher_id(app, school) -> int:
    with app.app_context():
        return db.session.scalar(
            select(Employee.id).where(
                Employee.school_id == school.school_id, Employee.position == "teacher"
            )
        )


def test_substitute_marks_in_journal(app, school, login):
    principal = login(school.users["principal"])
    lesson_id = school.ids["Lesson"]
    response = _change(
        principal,
        lesson_id,
        action="substitute",
        substitute_id=school.ids["Substitute"],
        reason="болезнь учителя",
    )
    assert response.status_code == 302

    substitute = login("substitute_chg1")
    page = substitute.get(f"/journal/lesson/{lesson_id}")
    assert page.status_code == 200
    assert 'data-testid="read-only"' not in page.text
    field = f"mark-{school.ids['Assignment']}-{school.ids['SiblingStudent']}"
    assert substitute.post(f"/journal/lesson/{lesson_id}", data={field: "4"}).status_code == 302
    with app.app_context():
        value = db.session.scalar(
            select(Mark.value).where(
                Mark.assignment_id == school.ids["Assignment"],
                Mark.student_id == school.ids["SiblingStudent"],
            )
        )
    assert value == 4


def test_substitution_shows_in_diary_and_grid(app, school, login):
    # The substitution is made here too, so the test holds when run on its own.
    with app.app_context():
        db.session.get(Lesson, school.ids["Lesson"]).substitute_id = school.ids["Substitute"]
        db.session.commit()
    diary = login(school.users["parent"]).get(f"/diary/?week={WEEK_START.isoformat()}")
    assert 'data-testid="substitution"' in diary.text
    grid = login(school.users["student"]).get(
        f"/timetable/class/{school.ids['SchoolClass']}?week={WEEK_START.isoformat()}"
    )
    assert "замена: Учителев" in grid.text


def test_substitution_listed_on_day_page(school, login):
    page = login(school.users["principal"]).get(
        f"/timetable-changes/?date={WEEK_START.isoformat()}"
    )
    assert page.status_code == 200
    assert 'data-testid="day-change"' in page.text
    assert "болезнь учителя" in page.text


def test_busy_substitute_needs_confirmation(app, school, login):
    principal = login(school.users["principal"])
    lesson_id = school.ids["BusyLesson"]
    teacher_id = _teacher_id(app, school)
    # The school's own teacher gives maths at lesson 2, not 3: they are free at lesson 3.
    form = {"action": "substitute", "substitute_id": teacher_id, "reason": "курсы"}
    assert _change(principal, lesson_id, **form).status_code == 302

    # The teacher now substitutes in physics at lesson 3. A second substitution at the same
    # time must warn, so the chemistry lesson is put at lesson 3 of that Monday too.
    other_course_lesson = school.ids["FreeLesson"]
    with app.app_context():
        lesson = db.session.get(Lesson, other_course_lesson)
        lesson.date, lesson.lesson_number = WEEK_START, 3
        db.session.commit()
    form = {"action": "substitute", "substitute_id": teacher_id, "reason": "курсы"}
    response = _change(principal, other_course_lesson, **form)
    assert response.status_code == 409
    assert 'data-testid="warnings"' in response.text
    assert "Физика" in response.text
    assert _lesson(app, other_course_lesson).substitute_id is None

    response = _change(principal, other_course_lesson, **form, confirmed="1")
    assert response.status_code == 302
    assert _lesson(app, other_course_lesson).substitute_id == teacher_id
    with app.app_context():
        lesson = db.session.get(Lesson, other_course_lesson)
        lesson.date, lesson.lesson_number = WEEK_START + dt.timedelta(days=1), 3
        lesson.substitute_id = None
        lesson.changed_at = None
        busy = db.session.get(Lesson, lesson_id)
        busy.substitute_id = None
        busy.changed_at = None
        db.session.commit()


def test_change_without_reason_is_rejected(app, school, login):
    principal = login(school.users["principal"])
    response = _change(
        principal,
        school.ids["FreeLesson"],
        action="room",
        room_id=school.ids["SecondRoom"],
        reason="",
    )
    assert response.status_code == 400
    assert "Укажите причину изменения" in response.text
    assert _lesson(app, school.ids["FreeLesson"]).room_changed is False


def test_own_teacher_cannot_be_substitute(app, school, login):
    response = _change(
        login(school.users["principal"]),
        school.ids["FreeLesson"],
        action="substitute",
        substitute_id=school.ids["Colleague"],
        reason="ошибка",
    )
    assert response.status_code == 400
    assert _lesson(app, school.ids["FreeLesson"]).substitute_id is None


def test_room_change_saved_and_shown(app, school, login):
    principal = login(school.users["principal"])
    lesson_id = school.ids["FreeLesson"]
    response = _change(
        principal, lesson_id, action="room", room_id=school.ids["SecondRoom"], reason="ремонт"
    )
    assert response.status_code == 302
    lesson = _lesson(app, lesson_id)
    assert lesson.room_id == school.ids["SecondRoom"]
    assert lesson.room_changed is True
    day = (WEEK_START + dt.timedelta(days=1)).isoformat()
    page = principal.get(f"/timetable-changes/?date={day}")
    assert "chg1-202" in page.text
    assert "ремонт" in page.text
    grid = principal.get(f"/timetable/room/{school.ids['SecondRoom']}?day={day}")
    assert "Химия" in grid.text
    assert "кабинет заменён" in grid.text


def test_move_onto_busy_class_needs_confirmation(app, school, login):
    principal = login(school.users["principal"])
    lesson_id = school.ids["FreeLesson"]
    # Lesson 2 of the test Monday is the class's maths lesson.
    form = {"action": "move", "date": "05.10.2026", "lesson_number": "2", "reason": "перенос"}
    response = _change(principal, lesson_id, **form)
    assert response.status_code == 409
    assert "Математика" in response.text
    assert _lesson(app, lesson_id).date == WEEK_START + dt.timedelta(days=1)

    form["lesson_number"] = "5"
    assert _change(principal, lesson_id, **form).status_code == 302
    lesson = _lesson(app, lesson_id)
    assert (lesson.date, lesson.lesson_number) == (WEEK_START, 5)
    assert lesson.moved_from_date == WEEK_START + dt.timedelta(days=1)
    assert lesson.moved_from_number == 3

    old_day = principal.get(
        f"/timetable-changes/?date={(WEEK_START + dt.timedelta(days=1)).isoformat()}"
    )
    assert "05.10.2026" in old_day.text
    week = principal.get(
        f"/timetable/class/{school.ids['SchoolClass']}?day={WEEK_START.isoformat()}"
    )
    assert "Химия" in week.text
    assert "перенесён с 3-го урока 06.10.2026" in week.text


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("04.11.2026", "День народного единства"),
        ("28.10.2026", "каникул"),
    ],
)
def test_move_onto_day_off_warns(app, school, login, day, expected):
    response = _change(
        login(school.users["principal"]),
        school.ids["BusyLesson"],
        action="move",
        date=day,
        lesson_number="1",
        reason="перенос",
    )
    assert response.status_code == 409
    assert expected in response.text
    assert _lesson(app, school.ids["BusyLesson"]).date == WEEK_START


def test_move_onto_sunday_rejected(app, school, login):
    response = _change(
        login(school.users["principal"]),
        school.ids["BusyLesson"],
        action="move",
        date="11.10.2026",
        lesson_number="1",
        reason="перенос",
        confirmed="1",
    )
    assert response.status_code == 400
    assert "11.10.2026 — воскресенье, на воскресенье уроки не переносятся" in response.text
    assert _lesson(app, school.ids["BusyLesson"]).date == WEEK_START


def test_day_page_reads_day_argument(school, login):
    client = login(school.users["principal"])

    page = client.get(f"/timetable-changes/?day={WEEK_START.isoformat()}").text

    assert WEEK_START.strftime("%d.%m.%Y") in page
    assert "Физика" in page


def test_sunday_page_says_no_lessons(school, login):
    client = login(school.users["principal"])

    page = client.get("/timetable-changes/?day=2026-10-11").text

    assert "На этот день уроков нет" in page
    assert "Сначала создайте уроки" not in page


def test_move_outside_year_is_rejected(app, school, login):
    response = _change(
        login(school.users["principal"]),
        school.ids["FreeLesson"],
        action="move",
        date="01.07.2027",
        lesson_number="1",
        reason="перенос",
    )
    assert response.status_code == 400
    assert "01.07.2027" in response.text


def test_move_with_bad_number_is_rejected(school, login):
    response = _change(
        login(school.users["principal"]),
        school.ids["FreeLesson"],
        action="move",
        date="07.10.2026",
        lesson_number="восьмой",
        reason="перенос",
    )
    assert response.status_code == 400
    assert "восьмой" in response.text


def test_held_lesson_cannot_be_cancelled(app, school, login):
    response = _change(
        login(school.users["principal"]), school.ids["Lesson"], action="cancel", reason="карантин"
    )
    assert response.status_code == 400
    assert _lesson(app, school.ids["Lesson"]).is_cancelled is False


def test_cancel_and_restore(app, school, login):
    principal = login(school.users["principal"])
    lesson_id = school.ids["BusyLesson"]
    response = _change(principal, lesson_id, action="cancel", reason="олимпиада")
    assert response.status_code == 302
    lesson = _lesson(app, lesson_id)
    assert lesson.is_cancelled is True
    assert lesson.cancel_reason == "олимпиада"
    grid = principal.get(
        f"/timetable/class/{school.ids['SchoolClass']}?week={WEEK_START.isoformat()}"
    )
    assert "отменён" in grid.text
    diary = login(school.users["student"]).get(f"/diary/?week={WEEK_START.isoformat()}")
    assert 'data-testid="cancelled"' in diary.text
    assert "олимпиада" in diary.text

    assert _change(principal, lesson_id, action="restore").status_code == 302
    assert _lesson(app, lesson_id).is_cancelled is False


def test_teacher_cannot_change_lessons(school, login):
    teacher = login(school.users["teacher"])
    assert teacher.get("/timetable-changes/").status_code == 403
    response = _change(teacher, school.ids["FreeLesson"], action="cancel", reason="x")
    assert response.status_code == 403


def test_other_school_lesson_answers_404(world, school, login):
    principal = login(school.users["principal"])
    other = world["B"].ids["Lesson"]
    assert principal.get(f"/timetable-changes/lesson/{other}").status_code == 404
    assert _change(principal, other, action="cancel", reason="x").status_code == 404


def test_other_school_substitute_answers_404(app, world, school, login):
    with app.app_context():
        other_employee = db.session.scalar(
            select(Employee.id).where(Employee.school_id == world["B"].school_id)
        )
    response = _change(
        login(school.users["principal"]),
        school.ids["FreeLesson"],
        action="substitute",
        substitute_id=other_employee,
        reason="x",
    )
    assert response.status_code == 404


def test_substitution_report_counts(school, login):
    principal = login(school.users["principal"])
    query = "?start=2026-10-01&end=2026-10-31"
    page = principal.get(f"/timetable-changes/substitutions{query}")
    assert page.status_code == 200
    rows = page.text.split('data-testid="substitution-teacher"')[1:]
    substitute_row = next(row for row in rows if "substitute_chg1" in row)
    assert "<td>1</td><td>0</td>" in substitute_row
    teacher_row = next(row for row in rows if "Сотрудник" in row)
    assert "<td>0</td><td>1</td>" in teacher_row

    download = principal.get(f"/timetable-changes/substitutions.xlsx{query}")
    assert download.mimetype == XLSX_MIMETYPE
    workbook = load_workbook(io.BytesIO(download.data), read_only=True)
    totals = list(workbook.worksheets[0].iter_rows(min_row=4, values_only=True))
    assert ("Учителев substitute_chg1", 1, 0) in totals
    details = list(workbook.worksheets[1].iter_rows(min_row=4, values_only=True))
    assert len(details) == 1
    assert "болезнь учителя" in details[0]


def test_report_with_bad_date_is_reported(school, login):
    page = login(school.users["principal"]).get("/timetable-changes/substitutions?start=вчера")
    assert page.status_code == 200
    assert "вчера" in page.text
