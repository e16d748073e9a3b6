"""Private calendar links: creation, the public .ics feed, revocation and tenancy."""

import datetime as dt
import hashlib
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from flask_appbuilder.security.sqla.models import User
from icalendar import Calendar
from sqlalchemy import select

from app.models import (
    Assignment,
    AssignmentType,
    CalendarFeed,
    Guardian,
    Lesson,
    Membership,
    Room,
    School,
    Student,
    db,
)
from tests.factories import add_course_with_lesson, add_membership, build_extra_school

MOSCOW = ZoneInfo("Europe/Moscow")
TODAY = dt.datetime.now(MOSCOW).date()
FEED_URL = re.compile(r'value="(http[^"]+/calendar/([A-Za-z0-9_-]+)\.ics)"')


def _homework_type(school_id: int) -> AssignmentType:
    return db.session.scalar(
        select(AssignmentType).where(
            AssignmentType.school_id == school_id, AssignmentType.is_homework.is_(True)
        )
    )


def _fill_feed_days(school, prefix: str) -> None:
    """Add lessons around today: timed, cancelled, outside the window, with homework."""
    sid = school.school_id
    room = db.session.get(Room, school.ids["Room"])
    _, physics = add_course_with_lesson(
        school, f"{prefix} Физика", day=TODAY + dt.timedelta(days=1), lesson_number=1
    )
    physics.room_id = room.id
    physics.topic = "Закон Ома"

    _, music = add_course_with_lesson(
        school, f"{prefix} Музыка", day=TODAY + dt.timedelta(days=2), lesson_number=3
    )
    music.is_cancelled = True
    music.cancel_reason = "Карантин"

    add_course_with_lesson(school, f"{prefix} Далёкое", day=TODAY + dt.timedelta(days=61))
    add_course_with_lesson(school, f"{prefix} Прошлое", day=TODAY - dt.timedelta(days=15))
    _, recent = add_course_with_lesson(
        school, f"{prefix} Недавнее", day=TODAY - dt.timedelta(days=14), lesson_number=2
    )

    db.session.add(
        Assignment(
            school_id=sid,
            lesson_id=physics.id,
            type_id=_homework_type(sid).id,
            weight=Decimal("1"),
            text="Задачи 1–5",
            due_date=TODAY + dt.timedelta(days=3),
        )
    )
    db.session.flush()
    school.ids["PhysicsLesson"] = physics.id
    school.ids["MusicLesson"] = music.id
    school.ids["RecentLesson"] = recent.id


@pytest.fixture(scope="module")
def schools(app, world):
    """Two schools with lessons around today, so that one feed can be checked for leaks."""
    with app.app_context():
        first = build_extra_school("CF1")
        _fill_feed_days(first, "CF1")
        second = build_extra_school("CF2")
        _fill_feed_days(second, "CF2")
        db.session.commit()
        return {"CF1": first, "CF2": second}


def create_link(client, student_id: int) -> tuple[str, str]:
    """Create a link on the settings page; return (its URL, its token)."""
    response = client.post(f"/notifications/calendar/{student_id}/new")
    assert response.status_code == 302
    response = client.get(response.location)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    match = FEED_URL.search(response.get_data(as_text=True))
    assert match, "the new link is not shown"
    # A reload shows the page without the token and makes no new link.
    assert FEED_URL.search(client.get(response.request.path).get_data(as_text=True)) is None
    return match.group(1), match.group(2)


def fetch(app, token: str):
    return app.test_client().get(f"/calendar/{token}.ics")


def parse(response) -> Calendar:
    return Calendar.from_ical(response.data)


def events(calendar: Calendar) -> list:
    return list(calendar.walk("VEVENT"))


def by_summary(calendar: Calendar) -> dict:
    return {str(event["SUMMARY"]): event for event in events(calendar)}


def test_link_without_public_url_uses_request_address(app, schools, login):
    configured = app.config["PUBLIC_URL"]
    app.config["PUBLIC_URL"] = ""
    try:
        url, token = create_link(login("student_CF1"), schools["CF1"].ids["Student"])
    finally:
        app.config["PUBLIC_URL"] = configured

    assert url == f"http://localhost/calendar/{token}.ics"


def test_student_feed_lists_lessons_and_homework(app, schools, login):
    school = schools["CF1"]
    client = login("student_CF1")
    url, token = create_link(client, school.ids["Student"])

    response = fetch(app, token)

    assert url.startswith(app.config["PUBLIC_URL"].rstrip("/") + "/calendar/")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "Set-Cookie" not in response.headers
    calendar = parse(response)
    found = by_summary(calendar)
    physics = found["CF1 Физика"]
    # Lesson 1 of the factory bell schedule: 08:30–09:15, Moscow time.
    assert physics.decoded("DTSTART") == dt.datetime.combine(
        TODAY + dt.timedelta(days=1), dt.time(8, 30), tzinfo=MOSCOW
    )
    assert physics.decoded("DTEND") == dt.datetime.combine(
        TODAY + dt.timedelta(days=1), dt.time(9, 15), tzinfo=MOSCOW
    )
    assert str(physics["LOCATION"]) == "CF1-101"
    assert "Закон Ома" in str(physics["DESCRIPTION"])
    assert str(physics["STATUS"]) == "CONFIRMED"
    assert str(found["CF1 Музыка"]["STATUS"]) == "CANCELLED"
    assert "Карантин" in str(found["CF1 Музыка"]["DESCRIPTION"])
    assert "CF1 Недавнее" in found
    assert "CF1 Далёкое" not in found
    assert "CF1 Прошлое" not in found

    [homework] = [e for e in events(calendar) if "Задачи 1–5" in str(e.get("DESCRIPTION"))]
    assert homework.decoded("DTSTART") == TODAY + dt.timedelta(days=3)
    assert homework.decoded("DTEND") == TODAY + dt.timedelta(days=4)
    assert "CF1 Физика" in str(homework["SUMMARY"])
    assert "Europe/Moscow" in [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")]


def test_feed_uids_are_stable(app, schools, login):
    school = schools["CF1"]
    _, token = create_link(login("student_CF1"), school.ids["Student"])

    first = [str(e["UID"]) for e in events(parse(fetch(app, token)))]
    second = [str(e["UID"]) for e in events(parse(fetch(app, token)))]

    assert first == second
    assert len(set(first)) == len(first)
    lesson_id = school.ids["PhysicsLesson"]
    assert any(uid.startswith(f"lesson-{school.school_id}-{lesson_id}-") for uid in first)


def test_only_token_hash_is_stored(app, schools, login):
    school = schools["CF1"]
    _, token = create_link(login("student_CF1"), school.ids["Student"])

    with app.app_context():
        feed = db.session.scalar(
            select(CalendarFeed).where(
                CalendarFeed.token_hash == hashlib.sha256(token.encode()).hexdigest()
            )
        )
        stored = [feed.token_hash, str(feed.id)]

    assert feed is not None
    assert len(token) >= 43
    assert token not in stored


def test_revoked_and_replaced_links_answer_404(app, schools, login):
    school = schools["CF1"]
    client = login("student_CF1")
    _, old_token = create_link(client, school.ids["Student"])
    _, new_token = create_link(client, school.ids["Student"])

    assert fetch(app, old_token).status_code == 404
    assert fetch(app, new_token).status_code == 200

    with app.app_context():
        feed_id = db.session.scalar(
            select(CalendarFeed.id).where(
                CalendarFeed.token_hash == hashlib.sha256(new_token.encode()).hexdigest()
            )
        )
    response = client.post(f"/notifications/calendar/{feed_id}/revoke")
    assert response.status_code == 302
    assert fetch(app, new_token).status_code == 404
    assert fetch(app, "no-such-token").status_code == 404


def test_parent_links_only_own_children(app, schools, login):
    school = schools["CF1"]
    client = login("parent_CF1")

    page = client.get("/notifications/settings").get_data(as_text=True)
    offered = {
        int(value) for value in re.findall(r'data-testid="feed-row" data-student="(\d+)"', page)
    }

    assert offered == {school.ids["Student"], school.ids["SiblingStudent"]}
    assert (
        client.post(f"/notifications/calendar/{school.ids['OtherStudent']}/new").status_code == 404
    )
    other_school = schools["CF2"].ids["Student"]
    assert client.post(f"/notifications/calendar/{other_school}/new").status_code == 404
    _, token = create_link(client, school.ids["SiblingStudent"])
    assert "CF1 Физика" in by_summary(parse(fetch(app, token)))


UID_PATTERN = re.compile(r"^(lesson|homework)-(\d+)-(\d+)-(\d+)@")


def test_feed_shows_its_own_school_only(app, schools, login):
    second = schools["CF2"]
    _, token = create_link(login("student_CF2"), second.ids["Student"])
    with app.app_context():
        own_rows = {
            "lesson": set(
                db.session.scalars(select(Lesson.id).where(Lesson.school_id == second.school_id))
            ),
            "homework": set(
                db.session.scalars(
                    select(Assignment.id).where(Assignment.school_id == second.school_id)
                )
            ),
        }
    # A signed-in user of another school opening the link sees the same feed, no more.
    signed_in = login("student_CF1")

    for response in (fetch(app, token), signed_in.get(f"/calendar/{token}.ics")):
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert "CF2 Физика" in text
        assert "CF1" not in text
        uids = [UID_PATTERN.match(str(e["UID"])) for e in events(parse(response))]
        assert uids and all(uids)
        for kind, school_id, row_id, student_id in (uid.groups() for uid in uids):
            assert int(school_id) == second.school_id
            assert int(student_id) == second.ids["Student"]
            assert int(row_id) in own_rows[kind]


def test_revoke_of_another_users_link_is_404(app, schools, login):
    school = schools["CF1"]
    _, token = create_link(login("student_CF1"), school.ids["Student"])
    with app.app_context():
        feed_id = db.session.scalar(
            select(CalendarFeed.id).where(
                CalendarFeed.token_hash == hashlib.sha256(token.encode()).hexdigest()
            )
        )
    other_school_feed = schools["CF2"].ids["CalendarFeed"]

    parent = login("parent_CF1")
    assert parent.post(f"/notifications/calendar/{feed_id}/revoke").status_code == 404
    assert parent.post(f"/notifications/calendar/{other_school_feed}/revoke").status_code == 404
    assert fetch(app, token).status_code == 200


def test_feed_stops_when_access_is_lost(app, world, login):
    with app.app_context():
        school = build_extra_school("CF3")
        add_course_with_lesson(school, "CF3 Химия", day=TODAY)
        db.session.commit()
    parent = login("parent_CF3")
    _, parent_token = create_link(parent, school.ids["Student"])
    _, sibling_token = create_link(parent, school.ids["SiblingStudent"])
    _, student_token = create_link(login("student_CF3"), school.ids["Student"])
    assert fetch(app, parent_token).status_code == 200

    with app.app_context():
        parent_id = db.session.scalar(select(User.id).where(User.username == "parent_CF3"))
        guardian = db.session.scalar(
            select(Guardian).where(
                Guardian.user_id == parent_id, Guardian.student_id == school.ids["Student"]
            )
        )
        guardian.is_barred = True
        student_login = db.session.scalar(select(User).where(User.username == "student_CF3"))
        student_membership = db.session.scalar(
            select(Membership).where(Membership.user_id == student_login.id)
        )
        student_membership.is_active = False
        db.session.commit()

    assert fetch(app, parent_token).status_code == 404
    assert fetch(app, sibling_token).status_code == 200
    assert fetch(app, student_token).status_code == 404

    with app.app_context():
        db.session.get(Student, school.ids["SiblingStudent"]).is_active = False
        db.session.commit()
    assert fetch(app, sibling_token).status_code == 404


def test_feed_route_is_read_only(app, schools, login):
    school = schools["CF1"]
    _, token = create_link(login("student_CF1"), school.ids["Student"])
    with app.app_context():
        before = db.session.execute(select(CalendarFeed.__table__)).all()

    assert fetch(app, token).status_code == 200
    assert app.test_client().post(f"/calendar/{token}.ics").status_code == 405

    with app.app_context():
        assert db.session.execute(select(CalendarFeed.__table__)).all() == before


def test_staff_get_no_calendar_section(app, schools, login):
    page = login("teacher_CF1").get("/notifications/settings").get_data(as_text=True)
    assert 'data-testid="feeds"' not in page
    response = login("teacher_CF1").post(
        f"/notifications/calendar/{schools['CF1'].ids['Student']}/new"
    )
    assert response.status_code == 404


def test_feed_open_before_choosing_organisation(app, schools, login):
    """A login with two schools that has not chosen one yet still gets the feed."""
    with app.app_context():
        school = build_extra_school("CF4")
        add_course_with_lesson(school, "CF4 Биология", day=TODAY)
        db.session.commit()
    _, token = create_link(login("parent_CF4"), school.ids["Student"])
    with app.app_context():
        parent = db.session.scalar(select(User).where(User.username == "parent_CF4"))
        add_membership(parent, "parent", school=db.session.get(School, schools["CF2"].school_id))
        db.session.commit()
    undecided = login("parent_CF4")
    assert undecided.get("/notifications/").status_code == 302

    response = undecided.get(f"/calendar/{token}.ics")

    assert response.status_code == 200
    assert "CF4 Биология" in response.get_data(as_text=True)


def test_feed_asks_for_hourly_refresh(app, schools, login):
    _, token = create_link(login("student_CF1"), schools["CF1"].ids["Student"])

    text = fetch(app, token).get_data(as_text=True)

    assert "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in text
    assert "X-PUBLISHED-TTL:PT1H" in text
