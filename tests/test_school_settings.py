"""The school settings page: who may read and write it, its checks, and what it changes.

Every test that posts the form builds a school of its own; the shared world is only read.
"""

import datetime as dt
import html
import itertools

import pytest
from sqlalchemy import delete, select

from app.models import (
    AcademicYear,
    Attendance,
    AttendanceCode,
    Course,
    FinalMark,
    Mark,
    School,
    SchoolClass,
    db,
)
from app.security.roles import ROLES
from app.services.school_settings import (
    ABSENCE_NOTE_MAX_DAYS,
    MARK_LOCK_DAYS,
    MAX_MARK,
    SHIFTS,
    _check_max_mark,
    _check_shifts,
    _parse_number,
)
from tests.factories import WEEK_START, add_course_with_lesson, build_extra_school

URL = "/school-settings/"
SETTING_NAMES = [
    "shifts",
    "six_day_week",
    "max_mark",
    "weighting_enabled",
    "absence_note_max_days",
    "mark_lock_days",
    "class_teacher_enters_all",
    "class_teachers_manage_logins",
]
#: The factory's school as built: one shift, five-day week, marks 1–5, weighted averages,
#: class teachers entering marks only in the courses they teach.
FACTORY_SETTINGS = {
    "shifts": 1,
    "six_day_week": False,
    "max_mark": 5,
    "weighting_enabled": True,
    "absence_note_max_days": 3,
    "mark_lock_days": None,
    "class_teacher_enters_all": False,
    "class_teachers_manage_logins": True,
}
NEXT_MONDAY = WEEK_START + dt.timedelta(days=7)

_school_numbers = itertools.count(1)


@pytest.fixture()
def school(app, world):
    with app.app_context():
        return build_extra_school(f"SS{next(_school_numbers):02d}")


# --- Helpers ------------------------------------------------------------------------


def stored_settings(app, school_id: int) -> dict:
    with app.app_context():
        row = db.session.get(School, school_id)
        return {name: getattr(row, name) for name in SETTING_NAMES}


def form_data(**overrides) -> dict:
    """The form as the page posts it for the factory's settings, with fields replaced.

    A checkbox given as False is left out of the request, as a browser leaves it out.
    """
    data = {
        "shifts": "1",
        "six_day_week": False,
        "max_mark": "5",
        "weighting_enabled": True,
        "absence_note_max_days": "3",
        "mark_lock_days": "",
        "class_teacher_enters_all": False,
        "class_teachers_manage_logins": True,
    }
    data.update(overrides)
    posted = {}
    for name, value in data.items():
        if value is True:
            posted[name] = "1"
        elif value is not False:
            posted[name] = value
    return posted


def error_block(page: str) -> str:
    assert 'data-testid="settings-errors"' in page
    block = page.split('data-testid="settings-errors"')[1].split("</div>")[0]
    return html.unescape(block)


def input_value(page: str, name: str) -> str:
    tag = page.split(f'name="{name}"')[1].split(">")[0]
    return tag.split('value="')[1].split('"')[0]


def is_checked(page: str, name: str) -> bool:
    return "checked" in page.split(f'name="{name}"')[1].split(">")[0]


def expected_number_message(app, text: str, rule) -> str:
    """The message the page shows for an invalid number, in the request's language."""
    with app.test_request_context():
        errors = []
        _parse_number(text, rule, errors)
        assert len(errors) == 1
        return errors[0]


def absent_code_id(app, school) -> str:
    with app.app_context():
        return str(
            db.session.scalar(
                select(AttendanceCode.id).where(
                    AttendanceCode.school_id == school.school_id, AttendanceCode.code == "Н"
                )
            )
        )


def attendance_students(app, lesson_id: int) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(Attendance.student_id).where(Attendance.lesson_id == lesson_id)
            )
        )


def submit_note(client, school, start, end):
    return client.post(
        "/absence-notes/new",
        data={
            "student_id": str(school.ids["Student"]),
            "date_from": start.isoformat(),
            "date_to": end.isoformat(),
            "reason_text": "Семейная поездка",
        },
    )


# --- Reading and saving -------------------------------------------------------------


def test_admin_sees_current_values(app, school, login):
    client = login(school.users["school_admin"])
    page = client.get(URL)

    assert page.status_code == 200
    assert input_value(page.text, "shifts") == "1"
    assert input_value(page.text, "max_mark") == "5"
    assert input_value(page.text, "absence_note_max_days") == "3"
    assert input_value(page.text, "mark_lock_days") == ""
    assert not is_checked(page.text, "six_day_week")
    assert is_checked(page.text, "weighting_enabled")
    assert not is_checked(page.text, "class_teacher_enters_all")
    assert 'data-testid="read-only"' not in page.text
    assert 'type="submit"' in page.text


def test_admin_saves_each_field(app, school, login):
    assert stored_settings(app, school.school_id) == FACTORY_SETTINGS
    client = login(school.users["school_admin"])

    changed = {
        "shifts": "2",
        "six_day_week": True,
        "max_mark": "10",
        "weighting_enabled": False,
        "absence_note_max_days": "30",
        "mark_lock_days": "365",
        "class_teacher_enters_all": True,
        "class_teachers_manage_logins": False,
    }
    response = client.post(URL, data=form_data(**changed))
    assert response.status_code == 302
    assert response.location.endswith(URL)
    assert stored_settings(app, school.school_id) == {
        "shifts": 2,
        "six_day_week": True,
        "max_mark": 10,
        "weighting_enabled": False,
        "absence_note_max_days": 30,
        "mark_lock_days": 365,
        "class_teacher_enters_all": True,
        "class_teachers_manage_logins": False,
    }
    page = client.get(URL)
    assert 'class="alert alert-success"' in page.text
    assert input_value(page.text, "mark_lock_days") == "365"
    assert is_checked(page.text, "six_day_week")
    assert not is_checked(page.text, "weighting_enabled")
    assert is_checked(page.text, "class_teacher_enters_all")
    assert not is_checked(page.text, "class_teachers_manage_logins")

    # The lower ends of every range, and an empty lock that turns the lock off.
    lowest = {
        "shifts": "1",
        "max_mark": "5",
        "absence_note_max_days": "1",
        "mark_lock_days": "",
    }
    assert client.post(URL, data=form_data(**lowest)).status_code == 302
    assert stored_settings(app, school.school_id) == {
        "shifts": 1,
        "six_day_week": False,
        "max_mark": 5,
        "weighting_enabled": True,
        "absence_note_max_days": 1,
        "mark_lock_days": None,
        "class_teacher_enters_all": False,
        "class_teachers_manage_logins": True,
    }


def test_admin_changes_only_own_school(app, school, world, login):
    before = stored_settings(app, world["A"].school_id)
    client = login(school.users["school_admin"])

    # A school id in the form is not a field of the page and changes nothing.
    data = form_data(absence_note_max_days="7", school_id=str(world["A"].school_id))
    assert client.post(URL, data=data).status_code == 302

    assert stored_settings(app, school.school_id)["absence_note_max_days"] == 7
    assert stored_settings(app, world["A"].school_id) == before


# --- Checks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "text", "rule"),
    [
        pytest.param("shifts", "0", SHIFTS, id="shifts-0"),
        pytest.param("shifts", "4", SHIFTS, id="shifts-4"),
        pytest.param("shifts", "два", SHIFTS, id="shifts-text"),
        pytest.param("shifts", "", SHIFTS, id="shifts-missing"),
        pytest.param("max_mark", "1", MAX_MARK, id="max-mark-1"),
        pytest.param("max_mark", "11", MAX_MARK, id="max-mark-11"),
        pytest.param("max_mark", "5.5", MAX_MARK, id="max-mark-fraction"),
        pytest.param("absence_note_max_days", "0", ABSENCE_NOTE_MAX_DAYS, id="note-days-0"),
        pytest.param("absence_note_max_days", "31", ABSENCE_NOTE_MAX_DAYS, id="note-days-31"),
        pytest.param("absence_note_max_days", "", ABSENCE_NOTE_MAX_DAYS, id="note-days-missing"),
        pytest.param("mark_lock_days", "0", MARK_LOCK_DAYS, id="lock-0"),
        pytest.param("mark_lock_days", "366", MARK_LOCK_DAYS, id="lock-366"),
        pytest.param("mark_lock_days", "-3", MARK_LOCK_DAYS, id="lock-negative"),
    ],
)
def test_invalid_value_rejected(app, school, login, field, text, rule):
    client = login(school.users["school_admin"])
    # Every other field carries a valid change, which must not be saved either.
    valid_changes = {
        "shifts": "2",
        "six_day_week": True,
        "max_mark": "6",
        "weighting_enabled": False,
        "absence_note_max_days": "4",
        "mark_lock_days": "10",
        "class_teacher_enters_all": True,
    }
    response = client.post(URL, data=form_data(**{**valid_changes, field: text}))

    assert response.status_code == 400
    errors = error_block(response.text)
    assert expected_number_message(app, text, rule) in errors
    with app.test_request_context():
        assert str(rule.label) in errors
    assert str(rule.minimum) in errors
    assert str(rule.maximum) in errors
    if text:
        assert f"«{text}»" in errors
    assert stored_settings(app, school.school_id) == FACTORY_SETTINGS

    # The typed values are shown again, the invalid one included.
    for name, value in {**valid_changes, field: text}.items():
        if isinstance(value, bool):
            assert is_checked(response.text, name) is value, name
        else:
            assert input_value(response.text, name) == html.escape(value), name


def test_several_invalid_values_all_reported(app, school, login):
    client = login(school.users["school_admin"])
    data = form_data(shifts="9", max_mark="0", absence_note_max_days="50", mark_lock_days="x")

    response = client.post(URL, data=data)

    assert response.status_code == 400
    errors = error_block(response.text)
    assert errors.count("<li>") == 4
    for text, rule in [
        ("9", SHIFTS),
        ("0", MAX_MARK),
        ("50", ABSENCE_NOTE_MAX_DAYS),
        ("x", MARK_LOCK_DAYS),
    ]:
        assert expected_number_message(app, text, rule) in errors
    assert stored_settings(app, school.school_id) == FACTORY_SETTINGS


def test_max_mark_not_below_given_mark(app, school, login):
    """The factory gives the student a 5 and a term mark «5»."""
    client = login(school.users["school_admin"])

    response = client.post(URL, data=form_data(max_mark="4", absence_note_max_days="5"))
    assert response.status_code == 400
    errors = error_block(response.text)
    with app.test_request_context():
        expected = []
        _check_max_mark(db.session.get(School, school.school_id), 4, expected)
        assert len(expected) == 1
        assert expected[0] in errors
        assert str(MAX_MARK.label) in errors
    assert input_value(response.text, "max_mark") == "4"
    assert stored_settings(app, school.school_id) == FACTORY_SETTINGS

    # Raising the scale and coming back down to the highest given mark is allowed.
    assert client.post(URL, data=form_data(max_mark="10")).status_code == 302
    assert client.post(URL, data=form_data(max_mark="5")).status_code == 302
    assert stored_settings(app, school.school_id)["max_mark"] == 5

    # Without the current mark, the term mark «5» still keeps the scale top at 5.
    with app.app_context():
        db.session.execute(delete(Mark).where(Mark.school_id == school.school_id))
        db.session.commit()
    assert client.post(URL, data=form_data(max_mark="4")).status_code == 400

    with app.app_context():
        db.session.execute(delete(FinalMark).where(FinalMark.school_id == school.school_id))
        db.session.commit()
    assert client.post(URL, data=form_data(max_mark="4")).status_code == 302
    assert stored_settings(app, school.school_id)["max_mark"] == 4


def test_marks_of_other_schools_do_not_count(app, school, world, login):
    with app.app_context():
        db.session.execute(delete(Mark).where(Mark.school_id == school.school_id))
        db.session.execute(delete(FinalMark).where(FinalMark.school_id == school.school_id))
        db.session.commit()
        # School A keeps its 5.
        assert db.session.scalar(select(Mark.value).where(Mark.school_id == world["A"].school_id))
    client = login(school.users["school_admin"])

    assert client.post(URL, data=form_data(max_mark="3")).status_code == 302
    assert stored_settings(app, school.school_id)["max_mark"] == 3


def test_shifts_not_below_class_shift(app, school, login):
    with app.app_context():
        db.session.get(School, school.school_id).shifts = 3
        db.session.get(SchoolClass, school.ids["SchoolClass"]).shift = 3
        first_grade = db.session.scalar(
            select(SchoolClass).where(
                SchoolClass.school_id == school.school_id, SchoolClass.name == "1А"
            )
        )
        first_grade.shift = 2
        db.session.commit()
    client = login(school.users["school_admin"])

    response = client.post(URL, data=form_data(shifts="1"))
    assert response.status_code == 400
    errors = error_block(response.text)
    with app.test_request_context():
        expected = []
        _check_shifts(db.session.get(School, school.school_id), 1, expected)
        assert len(expected) == 1
        assert expected[0] in errors
    # Only the classes of the highest shift are named, with that shift.
    assert "5А" in errors
    assert "1А" not in errors
    assert client.post(URL, data=form_data(shifts="2")).status_code == 400
    assert stored_settings(app, school.school_id)["shifts"] == 3

    with app.app_context():
        db.session.get(SchoolClass, school.ids["SchoolClass"]).shift = 2
        db.session.commit()
    assert client.post(URL, data=form_data(shifts="2")).status_code == 302
    assert stored_settings(app, school.school_id)["shifts"] == 2

    # Classes of a closed year no longer count.
    with app.app_context():
        db.session.get(AcademicYear, school.ids["AcademicYear"]).is_closed = True
        db.session.commit()
    assert client.post(URL, data=form_data(shifts="1")).status_code == 302
    assert stored_settings(app, school.school_id)["shifts"] == 1


# --- Who may use the page -----------------------------------------------------------


def test_regulation_link_for_admin_and_principal(world, login):
    for role in ("school_admin", "principal"):
        page = login(world["A"].users[role]).get(URL)
        assert 'data-testid="regulation-link"' in page.text, role
        assert 'href="/regulation/"' in page.text, role


def test_principal_reads_but_cannot_save(app, school, login):
    client = login(school.users["principal"])

    page = client.get(URL)
    assert page.status_code == 200
    assert 'data-testid="read-only"' in page.text
    assert "<fieldset disabled>" in page.text
    assert 'type="submit"' not in page.text
    assert input_value(page.text, "max_mark") == "5"

    response = client.post(URL, data=form_data(absence_note_max_days="9"))
    assert response.status_code == 403
    assert stored_settings(app, school.school_id) == FACTORY_SETTINGS


def test_teacher_gets_403(app, school, login):
    client = login(school.users["teacher"])

    assert client.get(URL).status_code == 403
    assert client.post(URL, data=form_data(absence_note_max_days="9")).status_code == 403
    assert stored_settings(app, school.school_id) == FACTORY_SETTINGS


@pytest.mark.parametrize(
    "role",
    ["secretary", "hr", "medical", "psychologist", "technical_staff", "student", "parent"],
)
def test_other_school_roles_get_403(world, login, role):
    client = login(world["A"].users[role])
    assert client.get(URL).status_code == 403


def test_authority_gets_403(world, login):
    client = login(world.users["authority"])
    assert client.get(URL).status_code == 403


def test_server_admin_outside_school_gets_message(app, world, login):
    before = {key: stored_settings(app, world[key].school_id) for key in ("A", "B", "C")}
    client = login(world.users["server_admin"])

    page = client.get(URL)
    assert page.status_code == 200
    assert 'data-testid="settings-no-school"' in page.text
    assert 'data-testid="settings-form"' not in page.text

    response = client.post(URL, data=form_data(absence_note_max_days="9"))
    assert response.status_code == 200
    assert 'data-testid="settings-no-school"' in response.text
    assert {key: stored_settings(app, world[key].school_id) for key in ("A", "B", "C")} == before


def test_menu_entry_for_admin_and_principal(app, world, login):
    sm = app.appbuilder.sm
    with app.app_context():
        for code, expected in [("school_admin", True), ("principal", True), ("teacher", False)]:
            role = sm.find_role(ROLES[code].name)
            granted = {(pvm.permission.name, pvm.view_menu.name) for pvm in role.permissions}
            assert (("menu_access", "School settings page") in granted) is expected, code

    # The link sits in the menu of another page of the school administrator.
    page = login(world["A"].users["school_admin"]).get("/school-users/")
    assert f'href="{URL}"' in page.text
    page = login(world["A"].users["teacher"]).get("/journal/")
    assert f'href="{URL}"' not in page.text


# --- What the settings change -------------------------------------------------------


def test_note_limit_follows_setting(app, school, login):
    parent = login(school.users["parent"])
    admin = login(school.users["school_admin"])
    five_days = (NEXT_MONDAY, NEXT_MONDAY + dt.timedelta(days=4))

    # The factory's limit is three school days.
    assert submit_note(parent, school, *five_days).status_code == 400

    assert admin.post(URL, data=form_data(absence_note_max_days="5")).status_code == 302
    assert submit_note(parent, school, *five_days).status_code == 302

    # A limit of one day rejects a two-day note of the following week.
    assert admin.post(URL, data=form_data(absence_note_max_days="1")).status_code == 302
    two_days = (NEXT_MONDAY + dt.timedelta(days=7), NEXT_MONDAY + dt.timedelta(days=8))
    response = submit_note(parent, school, *two_days)
    assert response.status_code == 400
    assert 'data-testid="note-errors"' in response.text
    one_day = (two_days[0], two_days[0])
    assert submit_note(parent, school, *one_day).status_code == 302


def test_mark_lock_follows_setting(app, school, login):
    today = dt.date.today()
    with app.app_context():
        teachers = db.session.get(Course, school.ids["Course"]).teachers
        _course, old = add_course_with_lesson(
            school, "Черчение", teachers=teachers, day=today - dt.timedelta(days=10)
        )
        db.session.commit()
        lesson_id = old.id
    student = school.ids["Student"]
    teacher = login(school.users["teacher"])
    admin = login(school.users["school_admin"])

    # Without a lock the teacher edits a lesson of ten days ago.
    assert 'data-testid="journal-lock"' not in teacher.get(f"/journal/lesson/{lesson_id}").text

    assert admin.post(URL, data=form_data(mark_lock_days="3")).status_code == 302
    page = teacher.get(f"/journal/lesson/{lesson_id}")
    assert 'data-testid="journal-lock"' in page.text
    absent = absent_code_id(app, school)
    data = {f"attendance-{student}": absent}
    assert teacher.post(f"/journal/lesson/{lesson_id}", data=data).status_code == 403

    # A lock longer than the lesson's age lets the teacher save again.
    assert admin.post(URL, data=form_data(mark_lock_days="30")).status_code == 302
    assert teacher.post(f"/journal/lesson/{lesson_id}", data=data).status_code == 302
    assert attendance_students(app, lesson_id) == [student]
