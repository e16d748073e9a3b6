"""The journal's audit log, period locks, concurrent edits and the journal access report."""

import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from werkzeug.middleware.proxy_fix import ProxyFix

from app import create_app
from app.models import (
    AbsenceNote,
    Attendance,
    AttendanceCode,
    Course,
    JournalAudit,
    Lesson,
    Mark,
    School,
    Term,
    db,
)
from tests.factories import (
    TEST_PASSWORD,
    add_course_with_lesson,
    add_teacher,
    build_extra_school,
)

XFF_ADDRESS = "203.0.113.7"


# --- Helpers ------------------------------------------------------------------------


def new_school(app, key):
    with app.app_context():
        return build_extra_school(key)


def lesson_parts(app, school):
    """(lesson id, [test id, homework id], course id) of the school's lesson."""
    with app.app_context():
        lesson = db.session.get(Lesson, school.ids["Lesson"])
        return lesson.id, [a.id for a in lesson.assignments][:2], lesson.course_id


def code_id(app, school, code):
    with app.app_context():
        return db.session.scalar(
            select(AttendanceCode.id).where(
                AttendanceCode.school_id == school.school_id, AttendanceCode.code == code
            )
        )


def user_id(app, username):
    with app.app_context():
        sm = app.appbuilder.sm
        return sm.find_user(username=username).id


def audit_rows(app, school, **where) -> list[JournalAudit]:
    with app.app_context():
        statement = select(JournalAudit).where(JournalAudit.school_id == school.school_id)
        for name, value in where.items():
            statement = statement.where(getattr(JournalAudit, name) == value)
        rows = list(db.session.scalars(statement.order_by(JournalAudit.id)))
        db.session.expunge_all()
        return rows


def mark_value(app, assignment_id, student_id):
    with app.app_context():
        mark = db.session.scalar(
            select(Mark).where(Mark.assignment_id == assignment_id, Mark.student_id == student_id)
        )
        return None if mark is None else mark.display()


def form_fields(html: str) -> dict[str, str]:
    """Every input of the lesson form with its value, and each select's chosen option."""
    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and name.group(1) != "csrf_token":
            fields[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)"\s*selected', body)
        fields[name] = chosen.group(1) if chosen else ""
    return fields


def set_term_closed(app, school, closed=True, number=1):
    with app.app_context():
        term = db.session.scalar(
            select(Term).where(
                Term.school_id == school.school_id, Term.number == number, Term.kind == "quarter"
            )
        )
        term.is_closed = closed
        db.session.commit()
        return term.id, term.name


# --- The audit log ------------------------------------------------------------------


def test_changes_audited_and_resave_silent(app, world, login):
    school = new_school(app, "JA1")
    lesson_id, (test_id, homework_id), course_id = lesson_parts(app, school)
    student, other, sibling = (
        school.ids["Student"],
        school.ids["OtherStudent"],
        school.ids["SiblingStudent"],
    )
    teacher = login(school.users["teacher"])
    fields = form_fields(teacher.get(f"/journal/lesson/{lesson_id}").text)
    assert fields[f"seen-mark-{test_id}-{student}"] == "5"

    fields.update(
        {
            f"mark-{test_id}-{student}": "4",
            f"comment-{test_id}-{student}": "пересдача",
            f"mark-{homework_id}-{sibling}": ".",
            f"attendance-{sibling}": str(code_id(app, school, "ОП")),
            f"attendance-{other}": "",
        }
    )
    assert teacher.post(f"/journal/lesson/{lesson_id}", data=fields).status_code == 302

    rows = audit_rows(app, school, lesson_id=lesson_id)
    teacher_id = user_id(app, school.users["teacher"])
    by_cell = {(r.entity, r.student_id, r.assignment_id): r for r in rows}
    changed = by_cell[("mark", student, test_id)]
    assert (changed.action, changed.old_value, changed.new_value) == ("change", "5", "4")
    assert changed.new_comment == "пересдача"
    created = by_cell[("mark", sibling, homework_id)]
    assert (created.action, created.old_value, created.new_value) == ("create", None, "•")
    assert created.record_id is not None
    late = by_cell[("attendance", sibling, None)]
    assert (late.action, late.new_value) == ("create", "ОП")
    deleted = by_cell[("attendance", other, None)]
    assert (deleted.action, deleted.old_value, deleted.new_value) == ("delete", "Н (Б)", None)
    assert len(rows) == 4
    for row in rows:
        assert row.user_id == teacher_id
        assert row.address == "127.0.0.1"
        assert row.course_id == course_id
        assert row.class_id == school.ids["SchoolClass"]
        assert row.is_correction is False

    # Deleting a mark is recorded with the old value.
    fields = form_fields(teacher.get(f"/journal/lesson/{lesson_id}").text)
    fields[f"mark-{homework_id}-{sibling}"] = ""
    assert teacher.post(f"/journal/lesson/{lesson_id}", data=fields).status_code == 302
    removed = audit_rows(app, school, lesson_id=lesson_id)[-1]
    assert (removed.action, removed.old_value, removed.new_value) == ("delete", "•", None)

    # Saving the page again as loaded changes nothing and records nothing.
    before = len(audit_rows(app, school))
    fields = form_fields(teacher.get(f"/journal/lesson/{lesson_id}").text)
    assert teacher.post(f"/journal/lesson/{lesson_id}", data=fields).status_code == 302
    assert len(audit_rows(app, school)) == before


def test_forwarded_address_needs_proxy_setting(app, world, login):
    school = new_school(app, "JA2")
    lesson_id, (test_id, _), _course = lesson_parts(app, school)
    student = school.ids["Student"]
    headers = {"X-Forwarded-For": XFF_ADDRESS}

    teacher = login(school.users["teacher"])
    data = {f"mark-{test_id}-{student}": "3"}
    assert (
        teacher.post(f"/journal/lesson/{lesson_id}", data=data, headers=headers).status_code == 302
    )
    assert audit_rows(app, school)[-1].address == "127.0.0.1"
    assert not isinstance(app.wsgi_app, ProxyFix)

    proxied = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "PROXY_FIX_X_FOR": 1,
        }
    )
    assert isinstance(proxied.wsgi_app, ProxyFix)
    client = proxied.test_client()
    login_data = {"username": school.users["teacher"], "password": TEST_PASSWORD}
    assert client.post("/login/", data=login_data).status_code == 302
    data = {f"mark-{test_id}-{student}": "2"}
    assert (
        client.post(f"/journal/lesson/{lesson_id}", data=data, headers=headers).status_code == 302
    )
    row = audit_rows(app, school)[-1]
    assert (row.old_value, row.new_value, row.address) == ("3", "2", XFF_ADDRESS)


def test_note_reason_is_audited(app, world, login):
    school = new_school(app, "JA3")
    lesson_id, _assignments, _course = lesson_parts(app, school)
    student = school.ids["Student"]
    with app.app_context():
        lesson = db.session.get(Lesson, lesson_id)
        parent = app.appbuilder.sm.find_user(username=school.users["parent"])
        db.session.add(
            AbsenceNote(
                school_id=school.school_id,
                student_id=student,
                author_id=parent.id,
                date_from=lesson.date,
                date_to=lesson.date,
                reason_text="Семейные обстоятельства",
                status="accepted",
                reason_id=code_id(app, school, "Б"),
            )
        )
        db.session.commit()
    teacher = login(school.users["teacher"])
    data = {f"attendance-{student}": str(code_id(app, school, "Н"))}
    assert teacher.post(f"/journal/lesson/{lesson_id}", data=data).status_code == 302

    rows = audit_rows(app, school, lesson_id=lesson_id, student_id=student, entity="attendance")
    assert [(r.action, r.old_value, r.new_value) for r in rows] == [
        ("create", None, "Н"),
        ("reason", "Н", "Н (Б)"),
    ]


# --- Locks --------------------------------------------------------------------------


def test_closed_term_allows_only_correction(app, world, login):
    school = new_school(app, "JA4")
    lesson_id, (test_id, _), _course = lesson_parts(app, school)
    student = school.ids["Student"]
    _term_id, term_name = set_term_closed(app, school)

    teacher = login(school.users["teacher"])
    page = teacher.get(f"/journal/lesson/{lesson_id}")
    assert 'data-testid="journal-lock"' in page.text
    assert term_name in page.text
    assert 'data-testid="read-only"' in page.text
    refused = teacher.post(f"/journal/lesson/{lesson_id}", data={f"mark-{test_id}-{student}": "2"})
    assert refused.status_code == 403
    assert term_name in refused.text
    assert mark_value(app, test_id, student) == "5"
    assert audit_rows(app, school) == []

    principal = login(school.users["principal"])
    fields = form_fields(principal.get(f"/journal/lesson/{lesson_id}").text)
    fields[f"mark-{test_id}-{student}"] = "4"
    assert principal.post(f"/journal/lesson/{lesson_id}", data=fields).status_code == 302
    assert mark_value(app, test_id, student) == "4"
    (row,) = audit_rows(app, school)
    assert row.is_correction is True
    assert (row.old_value, row.new_value) == ("5", "4")
    assert row.user_id == user_id(app, school.users["principal"])


def test_closed_year_refuses_teacher(app, world, login):
    school = new_school(app, "JA5")
    lesson_id, (test_id, _), course_id = lesson_parts(app, school)
    with app.app_context():
        db.session.get(Course, course_id).year.is_closed = True
        db.session.commit()
    teacher = login(school.users["teacher"])
    data = {f"mark-{test_id}-{school.ids['Student']}": "2"}
    assert teacher.post(f"/journal/lesson/{lesson_id}", data=data).status_code == 403
    assert mark_value(app, test_id, school.ids["Student"]) == "5"


def test_mark_lock_days(app, world, login):
    school = new_school(app, "JA6")
    today = dt.date.today()
    with app.app_context():
        db.session.get(School, school.school_id).mark_lock_days = 3
        teacher = db.session.scalar(
            select(Course).where(Course.id == school.ids["Course"])
        ).teachers
        _course, old = add_course_with_lesson(
            school, "Черчение", teachers=teacher, day=today - dt.timedelta(days=10)
        )
        _course, recent = add_course_with_lesson(
            school, "Астрономия", teachers=teacher, day=today - dt.timedelta(days=3)
        )
        db.session.commit()
        old_id, recent_id = old.id, recent.id
    student = school.ids["Student"]
    absent = str(code_id(app, school, "Н"))
    client = login(school.users["teacher"])

    page = client.get(f"/journal/lesson/{old_id}")
    assert 'data-testid="journal-lock"' in page.text
    refused = client.post(f"/journal/lesson/{old_id}", data={f"attendance-{student}": absent})
    assert refused.status_code == 403
    # The topic is no mark: the teacher still enters it after the lock.
    fields = form_fields(page.text)
    fields["topic"] = "Проекции"
    assert client.post(f"/journal/lesson/{old_id}", data=fields).status_code == 302
    assert (
        client.post(
            f"/journal/lesson/{recent_id}", data={f"attendance-{student}": absent}
        ).status_code
        == 302
    )
    with app.app_context():
        assert db.session.get(Lesson, old_id).topic == "Проекции"
        assert (
            db.session.scalar(
                select(func.count(Attendance.id)).where(Attendance.lesson_id == old_id)
            )
            == 0
        )
    assert [r.is_correction for r in audit_rows(app, school, lesson_id=recent_id)] == [False]

    principal = login(school.users["principal"])
    data = {f"attendance-{student}": absent}
    assert principal.post(f"/journal/lesson/{old_id}", data=data).status_code == 302
    (row,) = audit_rows(app, school, lesson_id=old_id)
    assert (row.entity, row.new_value, row.is_correction) == ("attendance", "Н", True)


def test_principal_closes_and_reopens_term(app, world, login):
    school = new_school(app, "JA7")
    term_id, _name = set_term_closed(app, school, closed=False)
    teacher = login(school.users["teacher"])
    assert teacher.get("/journal/periods/").status_code == 403
    assert (
        teacher.post(f"/journal/periods/term/{term_id}", data={"action": "close"}).status_code
        == 403
    )

    principal = login(school.users["principal"])
    page = principal.get("/journal/periods/")
    assert page.status_code == 200
    assert f'data-term="{term_id}"' in page.text
    assert (
        principal.post(f"/journal/periods/term/{term_id}", data={"action": "close"}).status_code
        == 302
    )
    with app.app_context():
        assert db.session.get(Term, term_id).is_closed is True
    principal.post(f"/journal/periods/term/{term_id}", data={"action": "reopen"})
    with app.app_context():
        assert db.session.get(Term, term_id).is_closed is False
    rows = audit_rows(app, school, entity="term")
    assert [(r.action, r.term_id) for r in rows] == [("close", term_id), ("reopen", term_id)]
    assert {r.user_id for r in rows} == {user_id(app, school.users["principal"])}

    # Another school's term is not found.
    other_term = world["B"].ids["Term"]
    assert (
        principal.post(f"/journal/periods/term/{other_term}", data={"action": "close"}).status_code
        == 404
    )


# --- Concurrent edits ---------------------------------------------------------------


def test_concurrent_mark_edit_not_overwritten(app, world, login):
    school = new_school(app, "JA8")
    lesson_id, (test_id, homework_id), course_id = lesson_parts(app, school)
    student, sibling = school.ids["Student"], school.ids["SiblingStudent"]
    with app.app_context():
        colleague = add_teacher(school, "teacher_JA8_second")
        course = db.session.get(Course, course_id)
        course.teachers.append(colleague)
        db.session.commit()

    first = login(school.users["teacher"])
    second = login("teacher_JA8_second")
    first_fields = form_fields(first.get(f"/journal/lesson/{lesson_id}").text)
    second_fields = form_fields(second.get(f"/journal/lesson/{lesson_id}").text)

    first_fields[f"mark-{test_id}-{student}"] = "4"
    assert first.post(f"/journal/lesson/{lesson_id}", data=first_fields).status_code == 302

    # The second teacher still sees «5» in the cell and types «3»; another cell is free.
    second_fields[f"mark-{test_id}-{student}"] = "3"
    second_fields[f"mark-{homework_id}-{sibling}"] = "5"
    response = second.post(f"/journal/lesson/{lesson_id}", data=second_fields)
    assert response.status_code == 409
    assert 'data-testid="journal-conflicts"' in response.text
    assert "«4»" in response.text
    shown = form_fields(response.text)
    assert shown[f"mark-{test_id}-{student}"] == "4"
    assert shown[f"seen-mark-{test_id}-{student}"] == "4"
    assert mark_value(app, test_id, student) == "4"
    assert mark_value(app, homework_id, sibling) == "5"

    # Saving again from the re-rendered page, with the current value seen, goes through.
    shown[f"mark-{test_id}-{student}"] = "3"
    assert second.post(f"/journal/lesson/{lesson_id}", data=shown).status_code == 302
    assert mark_value(app, test_id, student) == "3"


def test_concurrent_attendance_edit_reported(app, world, login):
    school = new_school(app, "JA9")
    lesson_id, _assignments, _course = lesson_parts(app, school)
    sibling = school.ids["SiblingStudent"]
    first = login(school.users["teacher"])
    second = login(school.users["principal"])
    first_fields = form_fields(first.get(f"/journal/lesson/{lesson_id}").text)
    second_fields = form_fields(second.get(f"/journal/lesson/{lesson_id}").text)
    first_fields[f"attendance-{sibling}"] = str(code_id(app, school, "Н"))
    assert first.post(f"/journal/lesson/{lesson_id}", data=first_fields).status_code == 302
    second_fields[f"attendance-{sibling}"] = str(code_id(app, school, "ОП"))
    response = second.post(f"/journal/lesson/{lesson_id}", data=second_fields)
    assert response.status_code == 409
    with app.app_context():
        entry = db.session.scalar(
            select(Attendance).where(
                Attendance.lesson_id == lesson_id, Attendance.student_id == sibling
            )
        )
        assert entry.code.code == "Н"


# --- The report ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def reported(app, world):
    """A school with changes by its teacher in one course and by the principal in another."""
    school = new_school(app, "JA10")
    with app.app_context():
        teachers = db.session.get(Course, school.ids["Course"]).teachers
        other_course, other_lesson = add_course_with_lesson(school, "Музыка", teachers=teachers)
        db.session.commit()
        other = (other_course.id, other_lesson.id)
    return school, other


def test_report_filters_and_xlsx(app, world, login, reported):
    school, (other_course_id, other_lesson_id) = reported
    lesson_id, (test_id, _), course_id = lesson_parts(app, school)
    student = school.ids["Student"]
    teacher = login(school.users["teacher"])
    teacher.post(f"/journal/lesson/{lesson_id}", data={f"mark-{test_id}-{student}": "2"})
    principal = login(school.users["principal"])
    absent = str(code_id(app, school, "Н"))
    principal.post(f"/journal/lesson/{other_lesson_id}", data={f"attendance-{student}": absent})

    assert teacher.get("/journal/audit/").status_code == 403
    page = principal.get("/journal/audit/")
    assert page.status_code == 200
    assert page.text.count("data-audit=") >= 2

    by_course = principal.get(f"/journal/audit/?course_id={course_id}")
    assert by_course.text.count("data-audit=") >= 1
    ids = {int(i) for i in re.findall(r'data-audit="(\d+)"', by_course.text)}
    assert {r.id for r in audit_rows(app, school, course_id=course_id)} == ids

    teacher_id = user_id(app, school.users["teacher"])
    by_user = principal.get(f"/journal/audit/?user_id={teacher_id}")
    ids = {int(i) for i in re.findall(r'data-audit="(\d+)"', by_user.text)}
    assert ids == {r.id for r in audit_rows(app, school, user_id=teacher_id)}

    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    future = principal.get(f"/journal/audit/?date_from={tomorrow}")
    assert "data-audit=" not in future.text
    last_week = (dt.date.today() - dt.timedelta(days=7)).isoformat()
    recent = principal.get(
        f"/journal/audit/?date_from={last_week}&class_id={school.ids['SchoolClass']}"
    )
    assert recent.text.count("data-audit=") == len(audit_rows(app, school))

    export = principal.get(f"/journal/audit/report.xlsx?course_id={other_course_id}")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.data)).active
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    assert len(rows) == 1
    header = [cell.value for cell in sheet[3]]
    values = dict(zip(header, rows[0], strict=True))
    assert "Н" in values.values()
    assert "Музыка" in values.values()
    assert isinstance(rows[0][0], dt.datetime)


def test_report_scoped_to_school(app, world, login, reported):
    school, _other = reported
    other = world["B"]
    principal = login(school.users["principal"])
    for name in ("class_id", "course_id", "lesson_id"):
        key = {"class_id": "SchoolClass", "course_id": "Course", "lesson_id": "Lesson"}[name]
        assert principal.get(f"/journal/audit/?{name}={other.ids[key]}").status_code == 404
        assert (
            principal.get(f"/journal/audit/report.xlsx?{name}={other.ids[key]}").status_code == 404
        )
    stranger = user_id(app, other.users["teacher"])
    assert principal.get(f"/journal/audit/?user_id={stranger}").status_code == 404

    # School B's principal sees none of this school's changes.
    assert audit_rows(app, school)
    other_page = login(other.users["principal"]).get("/journal/audit/")
    assert other_page.status_code == 200
    shown = {int(i) for i in re.findall(r'data-audit="(\d+)"', other_page.text)}
    assert not shown & {r.id for r in audit_rows(app, school)}


def test_report_user_filter_lists_staff_only(app, world, login, reported):
    school, _other = reported
    page = login(school.users["principal"]).get("/journal/audit/").text
    who = page[page.index('name="user_id"') :]
    who = who[: who.index("</select>")]
    offered = {int(value) for value in re.findall(r'<option value="(\d+)"', who)}

    assert user_id(app, school.users["teacher"]) in offered
    assert user_id(app, school.users["principal"]) in offered
    assert user_id(app, school.users["student"]) not in offered
    assert user_id(app, school.users["parent"]) not in offered
