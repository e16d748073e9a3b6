"""Technical staff: rooms with capacity and equipment, and read access to the timetable."""

import pytest
from sqlalchemy import select

from app.models import Room, db
from tests.factories import build_extra_school


@pytest.fixture(scope="module")
def school(app):
    """A school of its own, because the tests change its rooms."""
    with app.app_context():
        return build_extra_school("rooms-tech")


def _room(app, room_id) -> Room:
    with app.app_context():
        room = db.session.get(Room, room_id)
        db.session.expunge(room)
        return room


def test_technical_staff_edits_room_equipment(app, school, login):
    room_id = school.ids["Room"]
    client = login(school.users["technical_staff"])

    response = client.post(
        f"/rooms/edit/{room_id}",
        data={
            "name": "rooms-tech-101",
            "capacity": "28",
            "floor": "1",
            "equipment": "Проектор\nИнтерактивная доска",
        },
    )

    assert response.status_code == 302
    room = _room(app, room_id)
    assert room.capacity == 28
    assert room.equipment == "Проектор\nИнтерактивная доска"
    assert "Интерактивная доска" in client.get("/rooms/list/").get_data(as_text=True)


def test_technical_staff_adds_room_in_own_school(app, school, login):
    client = login(school.users["technical_staff"])

    response = client.post("/rooms/add", data={"name": "Спортзал", "capacity": "60"})

    assert response.status_code == 302
    with app.app_context():
        added = db.session.scalar(select(Room).where(Room.name == "Спортзал"))
        assert added.school_id == school.school_id


def test_technical_staff_cannot_edit_other_school_room(app, school, world, login):
    other_room = world["B"].ids["Room"]
    client = login(school.users["technical_staff"])

    response = client.post(f"/rooms/edit/{other_room}", data={"name": "x", "equipment": "x"})

    assert response.status_code == 404
    assert _room(app, other_room).equipment is None


def test_technical_staff_reads_timetable(app, world, login):
    school = world["A"]
    client = login(school.users["technical_staff"])

    assert client.get("/timetable/").status_code == 200
    assert client.get(f"/timetable/room/{school.ids['Room']}").status_code == 200
    assert client.get(f"/timetable/class/{school.ids['SchoolClass']}").status_code == 200
    assert client.get(f"/timetable/room/{world['B'].ids['Room']}").status_code == 404


def test_technical_staff_cannot_change_timetable(app, world, login):
    client = login(world["A"].users["technical_staff"])

    assert client.get("/timetable-entries/add").status_code == 403
    assert client.post("/timetable/generate", data={}).status_code == 403
    assert client.get("/lessons/list/").status_code == 403


def test_room_api_carries_equipment(app, world, login):
    client = login(world["A"].users["technical_staff"])

    response = client.get(f"/api/v1/room/{world['A'].ids['Room']}")

    assert response.status_code == 200
    assert "equipment" in response.json["result"]
