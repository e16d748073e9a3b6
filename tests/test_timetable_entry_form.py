"""The generic form of template lines checks the day and number and keeps typed values."""

import itertools

import pytest
from sqlalchemy import func, select

from app.models import TimetableEntry, db
from tests.timetable_editor_setup import build_editor_school

_SCHOOL_NUMBERS = itertools.count(1)


@pytest.fixture()
def school(app):
    with app.app_context():
        return build_editor_school(f"fndForm{next(_SCHOOL_NUMBERS)}")


def _line_count(app, setup) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(TimetableEntry)
            .where(TimetableEntry.school_id == setup.school_id)
        )


def _post(client, course_id, weekday, number):
    return client.post(
        "/timetable-entries/add",
        data={
            "course": str(course_id),
            "weekday": str(weekday),
            "lesson_number": str(number),
            "week_parity": "every",
        },
    )


def test_weekday_outside_week_named(app, login, school):
    client = login(school.users["principal"])

    response = _post(client, school.russian_a, 9, 2)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "День 9 не входит в учебную неделю класса" in page
    assert "от 1 (понедельник) до 5." in page
    assert _line_count(app, school) == 0


def test_saturday_rejected_five_day_class(app, login, school):
    client = login(school.users["principal"])

    page = _post(client, school.russian_a, 6, 2).get_data(as_text=True)

    assert "День 6 не входит" in page
    assert _line_count(app, school) == 0


def test_negative_lesson_number_named(app, login, school):
    client = login(school.users["principal"])

    response = _post(client, school.russian_a, 2, -3)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Номер урока -3" in page
    assert "от 0 до 12" in page
    assert _line_count(app, school) == 0


def test_conflict_keeps_the_form(app, login, school):
    with app.app_context():
        db.session.add(
            TimetableEntry(
                school_id=school.school_id, course_id=school.russian_b, weekday=1, lesson_number=3
            )
        )
        db.session.commit()
    client = login(school.users["principal"])

    response = _post(client, school.russian_a, 1, 3)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Урок не сохранён" in page
    assert 'name="lesson_number"' in page
    assert 'value="3"' in page
    assert _line_count(app, school) == 1
