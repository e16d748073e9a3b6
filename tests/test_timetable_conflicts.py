"""Conflicts of the weekly template, and the editor's JSON changes with their override."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import Course, StudyGroup, TimetableEntry, db
from app.services import timetable_conflicts as conflicts
from app.services.timetable_conflicts import NEW_LINE, Line
from tests.timetable_editor_setup import build_editor_school


@pytest.fixture(scope="module")
def school(app, world):
    with app.app_context():
        return build_editor_school("editC")


@pytest.fixture()
def session(db_session):
    """The test's rows are rolled back after it, so each test starts from an empty template."""
    return db_session


def entry(setup, course_id, weekday, number, room_id=None, parity="every", **dates):
    row = TimetableEntry(
        school_id=setup.school_id,
        course_id=course_id,
        weekday=weekday,
        lesson_number=number,
        room_id=room_id,
        week_parity=parity,
        **dates,
    )
    db.session.add(row)
    db.session.flush()
    return row


def kinds(setup) -> list[str]:
    template = conflicts.load_template(setup.school_id, setup.year_id)
    return sorted(clash.kind for clash in conflicts.find_clashes(template))


# --- Conflict kinds -----------------------------------------------------------------------------


def test_teacher_in_two_classes_clashes(school, session):
    entry(school, school.russian_a, 1, 3)
    entry(school, school.russian_b, 1, 3)
    assert kinds(school) == ["teacher"]


def test_teacher_message_names_who_where_when(school, session):
    entry(school, school.russian_b, 1, 3)
    moved = entry(school, school.russian_a, 2, 3)
    template = conflicts.load_template(school.school_id, school.year_id)
    line = Line(moved.id, school.russian_a, 1, 3, None)
    clashes = conflicts.change_clashes(template.replaced(moved.id, line), line, count_load=False)
    [found] = conflicts.describe(clashes, template)
    assert found.kind == "teacher"
    assert found.entry_ids[0] == moved.id
    assert found.message == (
        "Учитель Иванова И. И. уже ведёт урок «Русский язык» в 5Б в понедельник, 3-й урок."
    )


def test_room_taken_twice_clashes(school, session):
    entry(school, school.russian_a, 1, 4, school.big_room)
    entry(school, school.english_1, 1, 5, school.big_room)
    entry(school, school.maths_a, 2, 4, school.big_room)
    entry(school, school.russian_b, 2, 4, school.big_room)
    assert kinds(school) == ["room"]


def test_class_lesson_meets_group_lesson(school, session):
    entry(school, school.maths_a, 3, 1)
    entry(school, school.english_1, 3, 1)
    assert kinds(school) == ["class"]


def test_two_whole_class_lessons_clash(school, session):
    entry(school, school.maths_a, 3, 2)
    entry(school, school.russian_a, 3, 2)
    assert kinds(school) == ["class"]


def test_halves_of_split_class_run_together(school, session):
    entry(school, school.english_1, 4, 1)
    entry(school, school.english_2, 4, 1)
    # The two groups share their teacher in this school, so only the teacher clashes.
    assert kinds(school) == ["teacher"]


def test_groups_sharing_student_clash(school, session):
    second = db.session.get(StudyGroup, db.session.get(Course, school.english_2).group_id)
    first = db.session.get(StudyGroup, db.session.get(Course, school.english_1).group_id)
    second.students.append(first.students[0])
    db.session.flush()
    template = conflicts.load_template(school.school_id, school.year_id)
    template = conflicts.with_course(
        conflicts.with_course(template, school.english_1), school.english_2
    )
    one = Line(1, school.english_1, 4, 2, None)
    two = Line(2, school.english_2, 4, 2, None)
    template = template.replaced(None, one).replaced(None, two)
    found = [c for c in conflicts.slot_clashes(template) if c.kind == "group"]
    assert len(found) == 1
    assert found[0].amount == 1


def test_same_group_twice_clashes(school, session):
    entry(school, school.english_1, 4, 3, school.big_room)
    entry(school, school.english_1, 4, 3, school.small_room, parity="every")
    assert "group" in kinds(school)


def test_load_over_hours_clashes(school, session):
    for weekday in (1, 2, 3, 4):
        entry(school, school.russian_b, weekday, 1)
    assert kinds(school) == []
    entry(school, school.russian_b, 5, 1, parity="odd")
    assert kinds(school) == ["load"]
    [found] = conflicts.check_template(school.school_id, school.year_id)
    assert "4,5" in found.message
    assert "Русский язык, 5Б" in found.message


def test_load_counts_odd_and_even_as_half(school, session):
    english = db.session.get(Course, school.english_1)
    english.hours_per_week = Decimal("1.5")
    entry(school, school.english_1, 1, 6)
    entry(school, school.english_1, 2, 6, parity="odd")
    assert kinds(school) == []
    entry(school, school.english_1, 3, 6, parity="even")
    assert kinds(school) == ["load"]


def test_load_of_replaced_lines_is_not_summed(school, session):
    for weekday in (1, 2, 3):
        entry(school, school.russian_b, weekday, 2, valid_to=dt.date(2026, 12, 31))
    for weekday in (1, 2, 4, 5):
        entry(school, school.russian_b, weekday, 3, valid_from=dt.date(2027, 1, 1))
    assert kinds(school) == []


def test_small_room_clashes(school, session):
    entry(school, school.maths_a, 5, 2, school.small_room)
    assert kinds(school) == ["capacity"]
    [found] = conflicts.check_template(school.school_id, school.year_id)
    assert found.message.startswith(f"В кабинете {'editC-кладовая'} мест: 2")


def test_group_fits_small_room(school, session):
    entry(school, school.english_1, 5, 3, school.small_room)
    assert kinds(school) == []


# --- Weeks and dates ------------------------------------------------------------------------------


def test_odd_and_even_lines_do_not_clash(school, session):
    entry(school, school.russian_a, 2, 5, parity="odd")
    entry(school, school.russian_b, 2, 5, parity="even")
    assert kinds(school) == []


def test_odd_line_meets_every_week_line(school, session):
    entry(school, school.russian_a, 2, 6, parity="odd")
    entry(school, school.russian_b, 2, 6)
    assert kinds(school) == ["teacher"]


def test_lines_of_disjoint_dates_do_not_clash(school, session):
    entry(school, school.russian_a, 3, 5, valid_to=dt.date(2026, 12, 31))
    entry(school, school.russian_b, 3, 5, valid_from=dt.date(2027, 1, 1))
    assert kinds(school) == []


def test_lines_of_overlapping_dates_clash(school, session):
    entry(school, school.russian_a, 3, 6, valid_to=dt.date(2027, 1, 31))
    entry(school, school.russian_b, 3, 6, valid_from=dt.date(2027, 1, 1))
    assert kinds(school) == ["teacher"]


def test_change_check_ignores_other_conflicts(school, session):
    entry(school, school.maths_a, 1, 7, school.small_room)
    entry(school, school.russian_a, 2, 6)
    line = Line(NEW_LINE, school.russian_b, 2, 7, school.big_room)
    template = conflicts.load_template(school.school_id, school.year_id)
    template = conflicts.with_course(template, school.russian_b).replaced(None, line)
    assert conflicts.change_clashes(template, line, count_load=True) == []
    busy = Line(NEW_LINE, school.russian_b, 2, 6, school.big_room)
    template = template.replaced(NEW_LINE, busy)
    assert [c.kind for c in conflicts.change_clashes(template, busy, count_load=True)] == [
        "teacher"
    ]


# --- The editor's JSON changes ------------------------------------------------------------------

_SCHOOL_NUMBERS = itertools.count(1)


@pytest.fixture()
def editing(app):
    """A school of its own for tests that commit changes."""
    with app.app_context():
        return build_editor_school(f"editV{next(_SCHOOL_NUMBERS)}")


def _entry_row(app, entry_id):
    with app.app_context():
        table = TimetableEntry.__table__
        return db.session.execute(select(table).where(table.c.id == entry_id)).mappings().first()


def _committed_entry(app, setup, course_id, weekday, number, room_id=None) -> int:
    with app.app_context():
        row = entry(setup, course_id, weekday, number, room_id)
        db.session.commit()
        return row.id


def test_move_onto_busy_teacher_is_refused(app, login, editing):
    _committed_entry(app, editing, editing.russian_b, 1, 3)
    moving = _committed_entry(app, editing, editing.russian_a, 2, 3)
    client = login(editing.users["principal"])
    response = client.post(
        f"/timetable-editor/entry/{moving}/move", json={"weekday": 1, "lesson_number": 3}
    )
    assert response.status_code == 409
    assert response.json["saved"] is False
    assert [c["kind"] for c in response.json["conflicts"]] == ["teacher"]
    assert "Иванова И. И." in response.json["conflicts"][0]["message"]
    assert _entry_row(app, moving)["weekday"] == 2


def test_override_saves_and_records_who_and_when(app, login, editing):
    _committed_entry(app, editing, editing.russian_b, 1, 3)
    moving = _committed_entry(app, editing, editing.russian_a, 2, 3)
    client = login(editing.users["school_admin"])
    response = client.post(
        f"/timetable-editor/entry/{moving}/move",
        json={"weekday": 1, "lesson_number": 3, "override": True},
    )
    assert response.status_code == 200
    row = _entry_row(app, moving)
    assert (row["weekday"], row["lesson_number"]) == (1, 3)
    with app.app_context():
        user_id = make_user_id(editing.users["school_admin"])
    assert row["override_by_id"] == user_id
    assert row["override_at"] is not None
    assert "Иванова И. И." in row["override_note"]
    page = client.get(f"/timetable-editor/class/{editing.class_a}").get_data(as_text=True)
    assert "сохранено несмотря на конфликты" in page


def make_user_id(username: str) -> int:
    from flask_appbuilder.security.sqla.models import User

    return db.session.scalar(select(User.id).where(User.username == username))


def test_move_without_conflict_clears_override(app, login, editing):
    moving = _committed_entry(app, editing, editing.russian_a, 2, 3)
    with app.app_context():
        row = db.session.get(TimetableEntry, moving)
        row.override_note = "old"
        row.override_at = dt.datetime(2026, 9, 1)
        db.session.commit()
    client = login(editing.users["principal"])
    response = client.post(
        f"/timetable-editor/entry/{moving}/move", json={"weekday": 4, "lesson_number": 1}
    )
    assert response.status_code == 200
    assert _entry_row(app, moving)["override_note"] is None


def test_place_and_remove_lesson(app, login, editing):
    client = login(editing.users["principal"])
    response = client.post(
        f"/timetable-editor/class/{editing.class_b}/place",
        json={
            "course": editing.russian_b,
            "room": editing.big_room,
            "weekday": 6 - 1,
            "lesson_number": 2,
            "week_parity": "odd",
        },
    )
    assert response.status_code == 200
    created = response.json["entry_id"]
    row = _entry_row(app, created)
    assert (row["weekday"], row["lesson_number"], row["week_parity"]) == (5, 2, "odd")
    response = client.post(f"/timetable-editor/entry/{created}/remove", json={})
    assert response.status_code == 200
    assert _entry_row(app, created) is None


def test_place_first_line_of_course_onto_busy_teacher(app, login, editing):
    _committed_entry(app, editing, editing.russian_a, 3, 4)
    client = login(editing.users["principal"])
    response = client.post(
        f"/timetable-editor/class/{editing.class_b}/place",
        json={"course": editing.russian_b, "weekday": 3, "lesson_number": 4},
    )
    assert response.status_code == 409
    assert [c["kind"] for c in response.json["conflicts"]] == ["teacher"]


def test_place_saturday_in_five_day_week(app, login, editing):
    client = login(editing.users["principal"])
    response = client.post(
        f"/timetable-editor/class/{editing.class_b}/place",
        json={"course": editing.russian_b, "weekday": 6, "lesson_number": 2},
    )
    assert response.status_code == 400
    assert "6" in response.json["message"]


def test_place_over_load_needs_override(app, login, editing):
    for weekday in (1, 2, 3, 4):
        _committed_entry(app, editing, editing.russian_b, weekday, 1)
    client = login(editing.users["principal"])
    body = {"course": editing.russian_b, "weekday": 5, "lesson_number": 1}
    response = client.post(f"/timetable-editor/class/{editing.class_b}/place", json=body)
    assert response.status_code == 409
    assert [c["kind"] for c in response.json["conflicts"]] == ["load"]
    response = client.post(
        f"/timetable-editor/class/{editing.class_b}/place", json={**body, "override": True}
    )
    assert response.status_code == 200
    assert _entry_row(app, response.json["entry_id"])["override_note"]


def test_place_course_of_other_class_is_not_found(app, login, editing):
    client = login(editing.users["principal"])
    response = client.post(
        f"/timetable-editor/class/{editing.class_b}/place",
        json={"course": editing.russian_a, "weekday": 1, "lesson_number": 1},
    )
    assert response.status_code == 404


def test_place_with_other_school_ids_is_not_found(app, login, editing, world):
    other = world["B"]
    client = login(editing.users["principal"])
    for body in (
        {"course": other.ids["Course"], "weekday": 1, "lesson_number": 1},
        {"course": editing.russian_b, "room": other.ids["Room"], "weekday": 1, "lesson_number": 1},
    ):
        response = client.post(f"/timetable-editor/class/{editing.class_b}/place", json=body)
        assert response.status_code == 404, body


def test_move_into_other_school_room_is_not_found(app, login, editing, world):
    moving = _committed_entry(app, editing, editing.russian_a, 2, 3)
    client = login(editing.users["principal"])
    response = client.post(
        f"/timetable-editor/entry/{moving}/move",
        json={"weekday": 2, "lesson_number": 4, "room": world["B"].ids["Room"]},
    )
    assert response.status_code == 404
    assert _entry_row(app, moving)["lesson_number"] == 3


def test_teacher_reads_editor_but_cannot_change(app, login, editing):
    moving = _committed_entry(app, editing, editing.russian_a, 2, 3)
    client = login(editing.users["teacher"])
    page = client.get(f"/timetable-editor/class/{editing.class_a}")
    assert page.status_code == 200
    assert "place-form" not in page.get_data(as_text=True)
    assert client.get("/timetable-editor/").status_code == 200
    response = client.post(
        f"/timetable-editor/entry/{moving}/move", json={"weekday": 1, "lesson_number": 1}
    )
    assert response.status_code == 403
    assert _entry_row(app, moving)["weekday"] == 2


def test_school_page_lists_template_conflicts(app, login, editing):
    _committed_entry(app, editing, editing.russian_a, 1, 3)
    _committed_entry(app, editing, editing.russian_b, 1, 3)
    client = login(editing.users["principal"])
    page = client.get("/timetable-editor/").get_data(as_text=True)
    assert "Конфликты в шаблоне: 1" in page
    assert "Учитель Иванова И. И. уже ведёт урок" in page


def test_server_admin_is_asked_to_open_school(login, world):
    client = login(world.users["server_admin"])
    page = client.get("/timetable-editor/")
    assert page.status_code == 200
    assert "Сначала откройте школу" in page.get_data(as_text=True)
