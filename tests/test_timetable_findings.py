"""Timetable pages: bad dates named, links to students' timetables, room names."""

import pytest
from flask_babel import force_locale

from app.services.timetable_grid import room_label


def _class_id(world) -> int:
    return world["A"].ids["SchoolClass"]


@pytest.mark.parametrize(
    ("query", "value"),
    [("day=2026-13-45", "2026-13-45"), ("week=garbage", "garbage")],
)
def test_bad_date_named(world, login, query, value):
    client = login(world["A"].users["principal"])

    page = client.get(f"/timetable/class/{_class_id(world)}?{query}").text

    assert f"Дата «{value}» указана неверно" in page
    assert "дд.мм.гггг или ГГГГ-ММ-ДД" in page


def test_russian_day_accepted(world, login):
    client = login(world["A"].users["principal"])

    page = client.get(f"/timetable/class/{_class_id(world)}?day=05.10.2026").text

    assert "указана неверно" not in page


def test_staff_see_student_links(world, login):
    client = login(world["A"].users["principal"])

    page = client.get(f"/timetable/class/{_class_id(world)}").text

    assert 'data-testid="timetable-students"' in page
    assert "Расписание учащегося" in page
    assert f'href="/timetable/student/{world["A"].ids["OtherStudent"]}"' in page


def test_student_sees_no_class_list(world, login):
    client = login(world["A"].users["student"])

    page = client.get(f"/timetable/class/{_class_id(world)}").text

    assert 'data-testid="timetable-students"' not in page
    assert f'/timetable/student/{world["A"].ids["OtherStudent"]}"' not in page


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("204", "Кабинет 204"),
        ("A-101", "Кабинет A-101"),
        ("Спортивный зал 1", "Спортивный зал 1"),
        ("Актовый зал", "Актовый зал"),
        ("12 (лаборатория)", "Кабинет 12 (лаборатория)"),
    ],
)
def test_room_label(app, name, label):
    with app.test_request_context(), force_locale("ru"):
        assert room_label(name) == label
