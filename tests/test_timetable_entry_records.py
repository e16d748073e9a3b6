"""The generic list and REST API of template lines run the editor's conflict check."""

import itertools

import pytest
from sqlalchemy import func, select

from app.models import TimetableEntry, db
from tests.timetable_editor_setup import build_editor_school

_SCHOOL_NUMBERS = itertools.count(1)


@pytest.fixture()
def school(app):
    """A school of its own for each test, since the requests commit their lines."""
    with app.app_context():
        return build_editor_school(f"loadR{next(_SCHOOL_NUMBERS)}")


def _add_line(app, setup, course_id, weekday, number, room_id=None) -> int:
    with app.app_context():
        row = TimetableEntry(
            school_id=setup.school_id,
            course_id=course_id,
            weekday=weekday,
            lesson_number=number,
            room_id=room_id,
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def _line_count(app, setup) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(TimetableEntry)
            .where(TimetableEntry.school_id == setup.school_id)
        )


def _weekday_of(app, entry_id) -> int:
    with app.app_context():
        return db.session.get(TimetableEntry, entry_id).weekday


def _body(course_id, weekday, number, room_id=None) -> dict:
    return {
        "course_id": course_id,
        "weekday": weekday,
        "lesson_number": number,
        "room_id": room_id,
        "week_parity": "every",
    }


def test_api_rejects_busy_teacher(app, login, school):
    _add_line(app, school, school.russian_b, 1, 3)
    client = login(school.users["principal"])

    response = client.post("/api/v1/timetable_entry/", json=_body(school.russian_a, 1, 3))

    assert response.status_code == 422
    message = response.json["message"]
    assert message.startswith("Урок не сохранён: Учитель Иванова И. И. уже ведёт урок")
    assert "редакторе шаблона расписания" in message
    assert _line_count(app, school) == 1


def test_api_adds_free_line(app, login, school):
    _add_line(app, school, school.russian_b, 1, 3)
    client = login(school.users["principal"])

    response = client.post("/api/v1/timetable_entry/", json=_body(school.russian_a, 1, 4))

    assert response.status_code == 201
    assert _line_count(app, school) == 2


def test_api_rejects_move_into_taken_room(app, login, school):
    _add_line(app, school, school.russian_b, 1, 3, school.big_room)
    moving = _add_line(app, school, school.maths_a, 2, 3, school.big_room)
    client = login(school.users["principal"])

    response = client.put(
        f"/api/v1/timetable_entry/{moving}", json=_body(school.maths_a, 1, 3, school.big_room)
    )

    assert response.status_code == 422
    assert "Кабинет" in response.json["message"]
    assert _weekday_of(app, moving) == 2


def test_api_edit_keeps_load_of_full_course(app, login, school):
    """Moving a line of a course placed to its hours is no excess: the count stays."""
    for weekday in (1, 2, 3, 4):
        moving = _add_line(app, school, school.russian_a, weekday, 1)
    client = login(school.users["principal"])

    response = client.put(f"/api/v1/timetable_entry/{moving}", json=_body(school.russian_a, 5, 1))

    assert response.status_code == 200
    assert _weekday_of(app, moving) == 5


def test_api_rejects_line_over_load(app, login, school):
    for weekday in (1, 2, 3, 4):
        _add_line(app, school, school.russian_a, weekday, 1)
    client = login(school.users["principal"])

    response = client.post("/api/v1/timetable_entry/", json=_body(school.russian_a, 5, 1))

    assert response.status_code == 422
    assert "в шаблоне 5 ч в неделю, а по нагрузке 4 ч" in response.json["message"]
    assert _line_count(app, school) == 4


def test_form_rejects_busy_teacher(app, login, school):
    _add_line(app, school, school.russian_b, 1, 3)
    client = login(school.users["principal"])

    response = client.post(
        "/timetable-entries/add",
        data={
            "course": str(school.russian_a),
            "weekday": "1",
            "lesson_number": "3",
            "week_parity": "every",
        },
        follow_redirects=True,
    )

    page = response.get_data(as_text=True)
    assert "Урок не сохранён" in page
    assert "Иванова И. И." in page
    assert _line_count(app, school) == 1


def test_form_edit_rejects_busy_class(app, login, school):
    _add_line(app, school, school.maths_a, 1, 3)
    moving = _add_line(app, school, school.russian_a, 2, 3)
    client = login(school.users["principal"])

    response = client.post(
        f"/timetable-entries/edit/{moving}",
        data={
            "course": str(school.russian_a),
            "weekday": "1",
            "lesson_number": "3",
            "week_parity": "every",
        },
        follow_redirects=True,
    )

    page = response.get_data(as_text=True)
    assert "Урок не сохранён" in page
    assert _weekday_of(app, moving) == 2
