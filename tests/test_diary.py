"""The diary: whose week a session may open, and what the week shows."""

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import event, select

from app.models import (
    Assignment,
    AssignmentType,
    Attendance,
    AttendanceCode,
    Employee,
    Lesson,
    Mark,
    SchoolClass,
    Student,
    db,
)
from app.services.diary import DiaryWeek, diary_week
from tests.factories import WEEK_START, add_course_with_lesson, build_extra_school

#: A week of the autumn vacation, without lessons.
VACATION_WEEK = dt.date(2026, 10, 26)
#: A week whose Saturday carries a lesson.
SATURDAY_WEEK = dt.date(2026, 10, 12)


@pytest.fixture(scope="module")
def school(app, world):
    """A school with a Saturday lesson, a cancelled lesson and two lessons in one slot."""
    with app.app_context():
        built = build_extra_school("D1")
        sid = built.school_id
        teacher = db.session.scalar(
            select(Employee).where(Employee.school_id == sid, Employee.position == "teacher")
        )
        _, saturday = add_course_with_lesson(
            built, "Технология", teachers=[teacher], day=SATURDAY_WEEK + dt.timedelta(days=5)
        )
        _, cancelled = add_course_with_lesson(
            built, "Музыка", teachers=[teacher], day=WEEK_START + dt.timedelta(days=1)
        )
        cancelled.is_cancelled = True
        cancelled.cancel_reason = "Карантин"
        # A second lesson in the slot of the maths lesson on Monday.
        add_course_with_lesson(built, "Информатика", teachers=[teacher], lesson_number=2)
        built.ids["SaturdayLesson"] = saturday.id
        db.session.commit()
        return built


def week_of(app, student_id, day) -> DiaryWeek:
    with app.app_context():
        return diary_week(db.session.get(Student, student_id), day)


def test_diary_week_lists_lessons_marks_homework(app, school):
    week = week_of(app, school.ids["Student"], WEEK_START + dt.timedelta(days=3))
    assert week.week_start == WEEK_START
    assert [day.date.weekday() for day in week.days] == [0, 1, 2, 3, 4]
    monday = week.days[0]
    subjects = [lesson.subject for lesson in monday.lessons]
    assert subjects == ["Математика", "Информатика"]
    maths = monday.lessons[0]
    assert maths.number == 2
    assert (maths.starts_at, maths.ends_at) == (dt.time(9, 25), dt.time(10, 10))
    assert maths.room == "D1-101"
    assert maths.topic == "Натуральные числа"
    assert [(m.text, m.assignment_type, m.weight) for m in maths.marks] == [
        ("5", "Контрольная работа", "2")
    ]
    assert [h.text for h in maths.homework_given] == ["№ 15, 16"]
    # Homework given on Monday is due on Wednesday, when maths has no lesson.
    wednesday = week.days[2]
    assert [h.text for h in wednesday.homework_due] == ["№ 15, 16"]
    assert week.has_lessons


def test_diary_week_bell_times_fill_missing_times(app, school):
    week = week_of(app, school.ids["Student"], WEEK_START)
    informatics = week.days[0].lessons[1]
    assert (informatics.starts_at, informatics.ends_at) == (dt.time(9, 25), dt.time(10, 10))
    cancelled = week.days[1].lessons[0]
    # Lesson 3 has no own times: the bell schedule gives them.
    assert (cancelled.starts_at, cancelled.ends_at) == (dt.time(10, 30), dt.time(11, 15))


def test_diary_week_attendance_and_cancelled(app, school):
    week = week_of(app, school.ids["OtherStudent"], WEEK_START)
    maths = week.days[0].lessons[0]
    assert maths.attendance == "Б"
    assert maths.attendance_name == "Болезнь"
    music = week.days[1].lessons[0]
    assert music.is_cancelled
    assert music.cancel_reason == "Карантин"


def test_diary_week_homework_due_on_lesson(app, school):
    with app.app_context():
        lesson = db.session.get(Lesson, school.ids["Lesson"])
        homework_type = db.session.scalar(
            select(AssignmentType).where(
                AssignmentType.school_id == school.school_id, AssignmentType.is_homework.is_(True)
            )
        )
        next_lesson = Lesson(
            school_id=school.school_id,
            course_id=lesson.course_id,
            date=WEEK_START + dt.timedelta(days=3),
            lesson_number=1,
        )
        db.session.add(next_lesson)
        db.session.flush()
        db.session.add(
            Assignment(
                school_id=school.school_id,
                lesson_id=lesson.id,
                type_id=homework_type.id,
                weight=Decimal("1"),
                text="Выучить таблицу",
                due_date=next_lesson.date,
            )
        )
        db.session.commit()
    week = week_of(app, school.ids["Student"], WEEK_START)
    thursday_maths = week.days[3].lessons[0]
    assert [h.text for h in thursday_maths.homework_due] == ["Выучить таблицу"]
    assert thursday_maths.homework_due[0].given_on == WEEK_START


def test_saturday_lesson_adds_saturday(app, school):
    week = week_of(app, school.ids["Student"], SATURDAY_WEEK)
    assert len(week.days) == 6
    assert week.days[5].lessons[0].subject == "Технология"


def test_six_day_week_shows_saturday(app, school, login):
    with app.app_context():
        school_class = db.session.get(SchoolClass, school.ids["SchoolClass"])
        school_class.six_day_week = True
        db.session.commit()
    try:
        week = week_of(app, school.ids["Student"], WEEK_START)
        assert len(week.days) == 6
        assert week.days[5].date == WEEK_START + dt.timedelta(days=5)
        assert week.days[5].lessons == []
        page = login(school.users["student"]).get(f"/diary/?week={WEEK_START}")
        assert page.text.count('data-testid="diary-day"') == 6
        assert "Суббота" in page.text
    finally:
        with app.app_context():
            db.session.get(SchoolClass, school.ids["SchoolClass"]).six_day_week = False
            db.session.commit()


def test_five_day_week_page_has_no_saturday(school, login):
    page = login(school.users["student"]).get(f"/diary/?week={WEEK_START}")
    assert page.text.count('data-testid="diary-day"') == 5
    assert "Суббота" not in page.text


def test_week_without_lessons_renders(app, school, login):
    week = week_of(app, school.ids["Student"], VACATION_WEEK)
    assert not week.has_lessons
    assert week.vacations == ["Осенние каникулы"]
    page = login(school.users["student"]).get(f"/diary/?week={VACATION_WEEK}")
    assert page.status_code == 200
    assert 'data-testid="no-lessons"' in page.text
    assert "Осенние каникулы" in page.text


def test_week_names_holiday_and_vacation(app, school):
    """The autumn vacation ends on the Monday of the week of the November holiday."""
    week = week_of(app, school.ids["Student"], dt.date(2026, 11, 4))

    holidays = {day.date: day.holiday for day in week.days if day.holiday}
    assert holidays == {dt.date(2026, 11, 4): "День народного единства"}
    assert week.vacations == ["Осенние каникулы"]


def test_student_page_shows_own_week(school, login):
    page = login(school.users["student"]).get(f"/diary/?week={WEEK_START + dt.timedelta(days=2)}")
    assert page.status_code == 200
    assert "Ученикова Анна" in page.text
    assert "Натуральные числа" in page.text
    assert 'data-testid="diary-mark"' in page.text
    assert "Контрольная работа" in page.text
    assert 'data-testid="cancelled"' in page.text
    assert page.text.count('data-testid="diary-lesson"') >= 3
    assert 'data-testid="child-selector"' not in page.text
    assert f"week={WEEK_START + dt.timedelta(days=7)}" in page.text
    assert f"week={WEEK_START - dt.timedelta(days=7)}" in page.text


def test_student_gets_404_for_classmate(school, login):
    client = login(school.users["student"])
    assert client.get(f"/diary/?student={school.ids['Student']}").status_code == 200
    assert client.get(f"/diary/?student={school.ids['SiblingStudent']}").status_code == 404
    assert client.get(f"/diary/?student={school.ids['OtherStudent']}").status_code == 404


def test_parent_switches_between_children(school, login):
    client = login(school.users["parent"])
    first = client.get(f"/diary/?week={WEEK_START}")
    assert first.status_code == 200
    assert 'data-testid="child-selector"' in first.text
    assert "Ученикова Анна" in first.text
    assert "Ученикова Мария" in first.text
    second = client.get(f"/diary/?student={school.ids['SiblingStudent']}&week={WEEK_START}")
    assert second.status_code == 200
    assert "Дневник: Ученикова Мария" in second.text
    # The sibling has no marks this week.
    assert 'data-testid="diary-mark"' not in second.text


def test_parent_gets_404_for_other_family_and_school(world, school, login):
    client = login(school.users["parent"])
    assert client.get(f"/diary/?student={school.ids['OtherStudent']}").status_code == 404
    assert client.get(f"/diary/?student={world['B'].ids['Student']}").status_code == 404
    assert client.get("/diary/?student=not-a-number").status_code == 404


def test_barred_parent_loses_child(app, school, login):
    from app.models import Guardian

    with app.app_context():
        guardian = db.session.scalar(
            select(Guardian).where(Guardian.student_id == school.ids["SiblingStudent"])
        )
        guardian.is_barred = True
        guardian_id = guardian.id
        db.session.commit()
    try:
        client = login(school.users["parent"])
        assert client.get(f"/diary/?student={school.ids['SiblingStudent']}").status_code == 404
        page = client.get("/diary/")
        assert 'data-testid="child-selector"' not in page.text
    finally:
        with app.app_context():
            db.session.get(Guardian, guardian_id).is_barred = False
            db.session.commit()


def test_teacher_sees_students_of_taught_class(world, school, login):
    client = login(school.users["teacher"])
    chooser = client.get("/diary/")
    assert chooser.status_code == 200
    assert "5А" in chooser.text
    class_page = client.get(f"/diary/?class={school.ids['SchoolClass']}")
    assert f"student={school.ids['OtherStudent']}" in class_page.text
    assert client.get(f"/diary/?student={school.ids['OtherStudent']}").status_code == 200
    assert client.get(f"/diary/?student={world['B'].ids['Student']}").status_code == 404


def test_teacher_gets_404_for_class_not_taught(app, school, login):
    with app.app_context():
        first_grade = db.session.scalar(
            select(SchoolClass).where(
                SchoolClass.school_id == school.school_id, SchoolClass.name == "1А"
            )
        )
        pupil = Student(
            school_id=school.school_id,
            class_id=first_grade.id,
            last_name="Первоклассница",
            first_name="Вера",
            sex="f",
        )
        db.session.add(pupil)
        db.session.commit()
        pupil_id = pupil.id
    assert login(school.users["teacher"]).get(f"/diary/?student={pupil_id}").status_code == 404
    assert login(school.users["principal"]).get(f"/diary/?student={pupil_id}").status_code == 200
    assert login(school.users["psychologist"]).get(f"/diary/?student={pupil_id}").status_code == 200


def test_principal_chooses_any_student(world, school, login):
    client = login(school.users["principal"])
    chooser = client.get("/diary/")
    assert "1А" in chooser.text or "5А" in chooser.text
    assert client.get(f"/diary/?student={school.ids['Student']}").status_code == 200
    assert client.get(f"/diary/?student={world['B'].ids['Student']}").status_code == 404
    assert client.get("/diary/?class=999999").status_code == 404


def test_roles_without_diary_get_403(school, login):
    for role in ("secretary", "hr", "medical"):
        assert login(school.users[role]).get("/diary/").status_code == 403, role


def test_invalid_week_falls_back_to_this_week(school, login):
    page = login(school.users["student"]).get("/diary/?week=someday")
    assert page.status_code == 200
    assert "someday" in page.text


def test_diary_marks_match_saved_marks(app, school):
    with app.app_context():
        count = db.session.scalar(
            select(db.func.count(Mark.id)).where(Mark.student_id == school.ids["Student"])
        )
    week = week_of(app, school.ids["Student"], WEEK_START)
    marks_in_week = sum(len(lesson.marks) for day in week.days for lesson in day.lessons)
    assert marks_in_week == count


#: Two weeks of quarter 2 with lessons built by the tests below: one and six lessons.
QUIET_WEEK = dt.date(2026, 11, 16)
BUSY_WEEK = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def busy_weeks(app, school):
    """Lessons with a substitute, a commented mark, an absence and homework each."""
    with app.app_context():
        sid = school.school_id
        maths = db.session.get(Lesson, school.ids["Lesson"])
        # A substitute of their own per lesson, so that loading them one by one would show.
        substitutes = [
            Employee(school_id=sid, last_name="Заменова", first_name=name)
            for name in ("Ирина", "Анна", "Вера", "Галина", "Дарья", "Елена", "Жанна")
        ]
        db.session.add_all(substitutes)
        types = {
            t.name: t
            for t in db.session.scalars(
                select(AssignmentType).where(AssignmentType.school_id == sid)
            )
        }
        absent = db.session.scalar(
            select(AttendanceCode).where(
                AttendanceCode.school_id == sid, AttendanceCode.code == "Н"
            )
        )
        db.session.flush()
        days = [QUIET_WEEK] + [BUSY_WEEK + dt.timedelta(days=i % 5) for i in range(6)]
        for number, (day, substitute) in enumerate(zip(days, substitutes, strict=True), start=1):
            lesson = Lesson(
                school_id=sid,
                course_id=maths.course_id,
                date=day,
                lesson_number=number,
                substitute_id=substitute.id,
            )
            db.session.add(lesson)
            db.session.flush()
            test = Assignment(
                school_id=sid,
                lesson_id=lesson.id,
                type_id=types["Контрольная работа"].id,
                weight=Decimal("2"),
                text=f"Работа {number}",
            )
            homework = Assignment(
                school_id=sid,
                lesson_id=lesson.id,
                type_id=types["Домашнее задание"].id,
                weight=Decimal("1"),
                text=f"Задача {number}",
                due_date=day + dt.timedelta(days=1),
            )
            db.session.add_all([test, homework])
            db.session.flush()
            db.session.add(
                Mark(
                    school_id=sid,
                    assignment_id=test.id,
                    student_id=school.ids["Student"],
                    kind="number",
                    value=4,
                    comment="Ошибка в задаче 2",
                )
            )
            db.session.add(
                Attendance(
                    school_id=sid,
                    lesson_id=lesson.id,
                    student_id=school.ids["Student"],
                    code_id=absent.id,
                )
            )
        db.session.commit()


def test_substitute_teacher_named_on_lesson(app, school, busy_weeks):
    week = week_of(app, school.ids["Student"], QUIET_WEEK)
    lesson = week.days[0].lessons[0]
    assert lesson.teacher == "Заменова И."
    assert lesson.is_substitution


def test_course_teacher_named_without_substitute(app, school):
    maths = week_of(app, school.ids["Student"], WEEK_START).days[0].lessons[0]
    assert maths.teacher == "Сотрудник t."
    assert not maths.is_substitution


def test_page_shows_substitution_and_mark_comment(school, busy_weeks, login):
    page = login(school.users["parent"]).get(f"/diary/?week={QUIET_WEEK}")
    assert page.text.count('data-testid="substitution"') == 1
    assert "Заменова И." in page.text
    assert page.text.count('data-testid="mark-comment"') == 1
    assert "Ошибка в задаче 2" in page.text


def test_jump_to_date_opens_its_week(school, login):
    client = login(school.users["parent"])
    page = client.get(f"/diary/?week={WEEK_START}")
    assert 'data-testid="jump-to-date"' in page.text
    assert f'name="week" value="{WEEK_START.isoformat()}"' in page.text
    typed = client.get(f"/diary/?student={school.ids['Student']}&week=18.11.2026")
    assert typed.status_code == 200
    assert "16.11.2026 — 20.11.2026" in typed.text
    picked = client.get(f"/diary/?student={school.ids['Student']}&week=2026-11-18")
    assert "16.11.2026 — 20.11.2026" in picked.text


def _page_queries(app, client, week) -> int:
    statements = []

    def count(*_):
        statements.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        page = client.get(f"/diary/?week={week}")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert page.status_code == 200
    return len(statements)


def test_page_queries_do_not_grow_with_lessons(app, school, busy_weeks, login):
    client = login(school.users["parent"])
    # The first request warms per-session caches.
    _page_queries(app, client, QUIET_WEEK)
    quiet = _page_queries(app, client, QUIET_WEEK)
    busy = _page_queries(app, client, BUSY_WEEK)
    assert busy == quiet
