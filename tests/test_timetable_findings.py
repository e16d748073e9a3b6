"""Timetable pages: bad dates named, links to students' timetables, room names."""

import pytest


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
