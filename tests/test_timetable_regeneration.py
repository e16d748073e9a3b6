"""Regeneration of future lessons after a template change keeps lessons with data."""

import datetime as dt

import pytest
from sqlalchemy import select

from app.models import (
    AcademicYear,
    Attendance,
    AttendanceCode,
    Course,
    EducationAuthority,
    Lesson,
    School,
    SchoolClass,
    Student,
    Subject,
    Term,
    TimetableEntry,
    db,
)
from app.services.timetable import generate_lessons
from app.services.timetable_regeneration import (
    KEPT_CHANGED,
    KEPT_FILLED,
    kept_lessons_message,
    regenerate_lessons,
)
from tests.factories import build_extra_school

TODAY = dt.date(2026, 10, 7)
START = dt.date(2026, 10, 5)
END = dt.date(2026, 10, 23)


@pytest.fixture()
def school(db_session):
    """A school whose class 5А has maths on Mondays, lesson 2, from 5 to 23 October."""
    authority = EducationAuthority(name="УО для проверки перестройки уроков")
    db.session.add(authority)
    db.session.flush()
    school = School(authority_id=authority.id, name="Школа перестройки уроков")
    db.session.add(school)
    db.session.flush()
    sid = school.id
    year = AcademicYear(
        school_id=sid,
        name="2026/2027",
        start_date=dt.date(2026, 9, 1),
        end_date=dt.date(2027, 5, 25),
    )
    db.session.add(year)
    db.session.flush()
    fifth = SchoolClass(school_id=sid, year_id=year.id, grade=5, letter="А", name="5А")
    subject = Subject(school_id=sid, name="Математика")
    db.session.add_all([fifth, subject])
    db.session.flush()
    maths = Course(school_id=sid, year_id=year.id, subject_id=subject.id, class_id=fifth.id)
    db.session.add(maths)
    db.session.flush()
    entry = TimetableEntry(school_id=sid, course_id=maths.id, weekday=1, lesson_number=2)
    db.session.add(entry)
    db.session.flush()
    generate_lessons(sid, START, END, today=START)
    return {"id": sid, "course": maths.id, "entry": entry.id, "class": fifth.id}


def _slots(course_id):
    return {
        (lesson.date, lesson.lesson_number): lesson
        for lesson in db.session.scalars(select(Lesson).where(Lesson.course_id == course_id))
    }


def _move_template_to_tuesday(school):
    db.session.get(TimetableEntry, school["entry"]).weekday = 2
    db.session.flush()


def test_empty_future_lessons_follow_template(school):
    _move_template_to_tuesday(school)
    result = regenerate_lessons(school["id"], START, END, today=TODAY)
    slots = _slots(school["course"])
    assert (dt.date(2026, 10, 5), 2) in slots  # past: left as it was
    assert (dt.date(2026, 10, 6), 2) not in slots  # past: not created
    assert (dt.date(2026, 10, 12), 2) not in slots
    assert (dt.date(2026, 10, 13), 2) in slots
    assert (dt.date(2026, 10, 20), 2) in slots
    assert result.removed == 2
    assert result.created == 2
    assert result.kept == []


def test_lesson_with_topic_is_kept_and_listed(school):
    _slots(school["course"])[(dt.date(2026, 10, 12), 2)].topic = "Дроби"
    _move_template_to_tuesday(school)
    result = regenerate_lessons(school["id"], START, END, today=TODAY)
    assert (dt.date(2026, 10, 12), 2) in _slots(school["course"])
    assert [(k.lesson.date, k.why) for k in result.kept] == [(dt.date(2026, 10, 12), KEPT_FILLED)]
    assert "12.10.2026" in kept_lessons_message(result.kept)


def test_lesson_with_attendance_is_kept(school):
    lesson = _slots(school["course"])[(dt.date(2026, 10, 19), 2)]
    student = Student(
        school_id=school["id"],
        class_id=school["class"],
        last_name="Иванов",
        first_name="Иван",
        sex="m",
    )
    code = AttendanceCode(school_id=school["id"], code="Н", name="Отсутствовал", kind="absent")
    db.session.add_all([student, code])
    db.session.flush()
    db.session.add(
        Attendance(
            school_id=school["id"], lesson_id=lesson.id, student_id=student.id, code_id=code.id
        )
    )
    _move_template_to_tuesday(school)
    result = regenerate_lessons(school["id"], START, END, today=TODAY)
    assert (dt.date(2026, 10, 19), 2) in _slots(school["course"])
    assert [k.why for k in result.kept] == [KEPT_FILLED]
    assert result.removed == 1


def test_moved_lesson_is_kept_and_not_doubled(school):
    lesson = _slots(school["course"])[(dt.date(2026, 10, 12), 2)]
    lesson.moved_from_date, lesson.moved_from_number = lesson.date, lesson.lesson_number
    lesson.date, lesson.lesson_number = dt.date(2026, 10, 14), 5
    lesson.changed_at = dt.datetime(2026, 10, 7, 9, 0)
    db.session.flush()

    result = regenerate_lessons(school["id"], START, END, today=TODAY)
    slots = _slots(school["course"])
    assert (dt.date(2026, 10, 14), 5) in slots
    assert (dt.date(2026, 10, 12), 2) not in slots
    assert [k.why for k in result.kept] == [KEPT_CHANGED]
    assert result.created == 0


def test_regeneration_page_lists_kept_lessons(app, world, login):
    """The whole flow through the page, on the fourth quarter so that it lies ahead."""
    with app.app_context():
        built = build_extra_school("chg2")
        term = db.session.scalar(
            select(Term).where(
                Term.school_id == built.school_id, Term.kind == "quarter", Term.number == 4
            )
        )
        term_id = term.id
    client = login(built.users["principal"])
    client.post("/timetable/generate", data={"term_id": term_id})
    with app.app_context():
        lessons = db.session.scalars(
            select(Lesson)
            .where(Lesson.school_id == built.school_id, Lesson.date >= dt.date(2027, 3, 30))
            .order_by(Lesson.date)
        ).all()
        if not lessons or lessons[0].date <= dt.date.today():
            pytest.skip("the fourth quarter of the test year has begun")
        lessons[-1].topic = "Повторение"
        kept_date = lessons[-1].date
        count = len(lessons)
        entry = db.session.get(TimetableEntry, built.ids["TimetableEntry"])
        entry.weekday = 3
        db.session.commit()

    response = client.post(
        "/timetable/generate", data={"term_id": term_id, "regenerate": "1"}, follow_redirects=True
    )
    assert response.status_code == 200
    assert kept_date.strftime("%d.%m.%Y") in response.text
    with app.app_context():
        future = db.session.scalars(
            select(Lesson).where(
                Lesson.school_id == built.school_id, Lesson.date >= dt.date(2027, 3, 30)
            )
        ).all()
    assert kept_date in {lesson.date for lesson in future}
    assert all(lesson.date.isoweekday() == 3 for lesson in future if lesson.date != kept_date)
    assert len(future) >= count - 1
