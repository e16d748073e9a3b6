"""Cancelled days: the principal cancels a day's lessons of chosen classes or the school."""

import datetime as dt
import itertools

import pytest
from sqlalchemy import select

from app.models import Course, Lesson, SchoolClass, Subject, Term, db
from tests.factories import WEEK_START, build_extra_school

DAY = WEEK_START + dt.timedelta(days=2)

#: Each test gets a school of its own, because the tests cancel lessons.
SCHOOL_KEYS = itertools.count(1)


@pytest.fixture()
def school(app):
    """A school of its own with two 5А lessons and one 1А lesson on DAY."""
    with app.app_context():
        world = build_extra_school(f"cancelled-{next(SCHOOL_KEYS)}")
        sid = world.school_id
        maths = db.session.get(Course, world.ids["Course"])
        first_grade = db.session.scalar(
            select(SchoolClass).where(SchoolClass.school_id == sid, SchoolClass.name == "1А")
        )
        reading = Subject(school_id=sid, name="Литературное чтение")
        db.session.add(reading)
        db.session.flush()
        first_course = Course(
            school_id=sid,
            year_id=first_grade.year_id,
            subject_id=reading.id,
            class_id=first_grade.id,
        )
        db.session.add(first_course)
        db.session.flush()
        for number, course in ((1, maths), (2, maths), (1, first_course)):
            db.session.add(
                Lesson(school_id=sid, course_id=course.id, date=DAY, lesson_number=number)
            )
        db.session.commit()
        world.ids["FirstGradeClass"] = first_grade.id
    return world


def _cancelled(app, school_id):
    with app.app_context():
        rows = db.session.execute(
            select(SchoolClass.name, Lesson.lesson_number, Lesson.cancel_reason)
            .join(Course, Course.id == Lesson.course_id)
            .join(SchoolClass, SchoolClass.id == Course.class_id)
            .where(Lesson.school_id == school_id, Lesson.is_cancelled.is_(True))
            .order_by(SchoolClass.name, Lesson.lesson_number)
        )
        return [tuple(row) for row in rows]


def test_cancel_one_class(app, school, login):
    client = login(school.users["principal"])

    response = client.post(
        "/journal/cancelled-days/cancel",
        data={"date": "07.10.2026", "class_id": school.ids["SchoolClass"], "reason": "карантин"},
    )

    assert response.status_code == 302
    assert _cancelled(app, school.school_id) == [("5А", 1, "карантин"), ("5А", 2, "карантин")]
    page = client.get("/journal/cancelled-days/").get_data(as_text=True)
    assert "07.10.2026" in page
    assert "карантин" in page


def test_cancel_whole_school(app, school, login):
    client = login(school.users["principal"])

    response = client.post(
        "/journal/cancelled-days/cancel",
        data={"date": "2026-10-07", "reason": "актированный день"},
    )

    assert response.status_code == 302
    assert [row[:2] for row in _cancelled(app, school.school_id)] == [
        ("1А", 1),
        ("5А", 1),
        ("5А", 2),
    ]


def test_restore_gives_lessons_back(app, school, login):
    client = login(school.users["principal"])
    client.post("/journal/cancelled-days/cancel", data={"date": "07.10.2026", "reason": "мороз"})

    response = client.post(
        "/journal/cancelled-days/restore",
        data={"date": "07.10.2026", "class_id": school.ids["FirstGradeClass"]},
    )

    assert response.status_code == 302
    assert [row[:2] for row in _cancelled(app, school.school_id)] == [("5А", 1), ("5А", 2)]


def test_invalid_form_names_each_value(app, school, login):
    client = login(school.users["principal"])

    response = client.post("/journal/cancelled-days/cancel", data={"date": "32.10.2026"})

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "«32.10.2026» — не дата" in page
    assert "Укажите причину" in page
    assert _cancelled(app, school.school_id) == []


def test_day_without_lessons_is_reported(app, school, login):
    client = login(school.users["principal"])

    response = client.post(
        "/journal/cancelled-days/cancel", data={"date": "08.10.2026", "reason": "мороз"}
    )

    assert response.status_code == 400
    assert "08.10.2026" in response.get_data(as_text=True)


def test_held_lesson_is_not_cancelled(app, school, login):
    client = login(school.users["principal"])

    response = client.post(
        "/journal/cancelled-days/cancel",
        data={"date": WEEK_START.strftime("%d.%m.%Y"), "reason": "мороз"},
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "урок 2, Математика, 5А" in page
    assert _cancelled(app, school.school_id) == []


def test_closed_term_is_not_changed(app, school, login):
    with app.app_context():
        for term in db.session.scalars(select(Term).where(Term.school_id == school.school_id)):
            term.is_closed = True
        db.session.commit()
    client = login(school.users["principal"])

    response = client.post(
        "/journal/cancelled-days/cancel", data={"date": "07.10.2026", "reason": "мороз"}
    )

    assert response.status_code == 400
    assert _cancelled(app, school.school_id) == []


def test_teacher_may_not_cancel(app, school, login):
    client = login(school.users["teacher"])

    response = client.post(
        "/journal/cancelled-days/cancel", data={"date": "07.10.2026", "reason": "мороз"}
    )

    assert response.status_code == 403
    assert client.get("/journal/cancelled-days/").status_code == 403
    assert _cancelled(app, school.school_id) == []


def test_other_school_class_is_not_found(app, school, world, login):
    client = login(school.users["principal"])

    response = client.post(
        "/journal/cancelled-days/cancel",
        data={"date": "07.10.2026", "class_id": world["B"].ids["SchoolClass"], "reason": "мороз"},
    )

    assert response.status_code == 404
    assert _cancelled(app, school.school_id) == []
