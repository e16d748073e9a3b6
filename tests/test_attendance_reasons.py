"""Reasons of absence set against a document, and the day's list of absentees.

Every test that writes builds a school of its own. Its class 5А is led by the school's
teacher and has the students "Student", "SiblingStudent" and "OtherStudent". The dates
below lie in the first quarter (01.09–24.10.2026).
"""

import datetime as dt
import io
import itertools
import re
from decimal import Decimal

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select

from app.models import (
    AbsenceDocument,
    Attendance,
    AttendanceCode,
    Course,
    JournalAudit,
    Lesson,
    SchoolClass,
    Student,
    Subject,
    Term,
    db,
)
from tests.factories import add_teacher, build_extra_school

MONDAY = dt.date(2026, 10, 12)
TUESDAY = MONDAY + dt.timedelta(days=1)
WEDNESDAY = MONDAY + dt.timedelta(days=2)

_school_numbers = itertools.count(1)


@pytest.fixture()
def school(app, world):
    """A fresh school with the reasons «УП» and «НП» added to its «Б»."""
    with app.app_context():
        built = build_extra_school(f"AR{next(_school_numbers):02d}")
        sid = built.school_id
        db.session.add_all(
            [
                AttendanceCode(
                    school_id=sid,
                    code="УП",
                    name="Уважительная причина",
                    kind="reason",
                    is_excused=True,
                ),
                AttendanceCode(
                    school_id=sid, code="НП", name="Неуважительная причина", kind="reason"
                ),
            ]
        )
        db.session.commit()
        return built


# --- Helpers ------------------------------------------------------------------------


def code_id(app, school, code: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(AttendanceCode.id).where(
                AttendanceCode.school_id == school.school_id, AttendanceCode.code == code
            )
        )


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def add_lesson(app, school, day: dt.date, number: int, course_id: int | None = None) -> int:
    with app.app_context():
        lesson = Lesson(
            school_id=school.school_id,
            course_id=course_id or school.ids["Course"],
            date=day,
            lesson_number=number,
        )
        db.session.add(lesson)
        db.session.commit()
        return lesson.id


def add_attendance(app, school, lesson_id, student_id, code="Н", reason=None) -> int:
    with app.app_context():
        entry = Attendance(
            school_id=school.school_id,
            lesson_id=lesson_id,
            student_id=student_id,
            code_id=code_id(app, school, code),
            reason_id=code_id(app, school, reason) if reason else None,
        )
        db.session.add(entry)
        db.session.commit()
        return entry.id


def reason_of(app, attendance_id) -> str | None:
    with app.app_context():
        entry = db.session.get(Attendance, attendance_id)
        db.session.refresh(entry)
        return entry.reason.code if entry.reason is not None else None


def audit_rows(app, school) -> list[JournalAudit]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(JournalAudit)
                .where(
                    JournalAudit.school_id == school.school_id,
                    JournalAudit.entity == "attendance",
                )
                .order_by(JournalAudit.id)
            )
        )
        db.session.expunge_all()
        return rows


def document_count(app, school) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(AbsenceDocument.id)).where(
                AbsenceDocument.school_id == school.school_id
            )
        )


def close_first_quarter(app, school) -> None:
    with app.app_context():
        term = db.session.scalar(
            select(Term).where(
                Term.school_id == school.school_id, Term.number == 1, Term.kind == "quarter"
            )
        )
        term.is_closed = True
        db.session.commit()


def add_other_class(app, school) -> tuple[int, int, int]:
    """Add class 6Б without a class teacher, one student and a course; return their ids."""
    with app.app_context():
        sid = school.school_id
        year_id = db.session.get(SchoolClass, school.ids["SchoolClass"]).year_id
        other_class = SchoolClass(school_id=sid, year_id=year_id, grade=6, letter="Б", name="6Б")
        subject = Subject(school_id=sid, name="История")
        db.session.add_all([other_class, subject])
        db.session.flush()
        student = Student(
            school_id=sid,
            class_id=other_class.id,
            last_name="Шестиклассник",
            first_name="Иван",
            sex="m",
            personal_file_number=f"{school.key}-6",
        )
        course = Course(
            school_id=sid,
            year_id=year_id,
            subject_id=subject.id,
            class_id=other_class.id,
            hours_per_week=Decimal("2"),
        )
        db.session.add_all([student, course])
        db.session.commit()
        return other_class.id, student.id, course.id


def post_reason(client, app, school, *, student_key="Student", student_id=None, **fields):
    data = {
        "student_id": str(student_id or school.ids[student_key]),
        "date_from": MONDAY.isoformat(),
        "date_to": TUESDAY.isoformat(),
        "reason_id": str(code_id(app, school, "Б")),
        "document_id": "",
        "kind": "certificate",
        "number": "123",
        "issued_on": WEDNESDAY.isoformat(),
    }
    data.update(fields)
    return client.post("/attendance-reasons/", data=data, content_type="multipart/form-data")


@pytest.fixture()
def week(app, school):
    """Marks of the week of 12.10.2026 in class 5А, keyed by what each case checks."""
    student = school.ids["Student"]
    monday_3 = add_lesson(app, school, MONDAY, 3)
    monday_4 = add_lesson(app, school, MONDAY, 4)
    tuesday_3 = add_lesson(app, school, TUESDAY, 3)
    wednesday_3 = add_lesson(app, school, WEDNESDAY, 3)
    return {
        "empty": add_attendance(app, school, monday_3, student),
        "late": add_attendance(app, school, monday_4, student, code="ОП"),
        "with_reason": add_attendance(app, school, tuesday_3, student, reason="НП"),
        "outside": add_attendance(app, school, wednesday_3, student),
        "sibling": add_attendance(app, school, monday_3, school.ids["SiblingStudent"]),
    }


# --- Setting reasons ----------------------------------------------------------------


def test_reason_set_on_empty_absences_only(app, school, week, login):
    teacher = login(school.users["teacher"])
    response = post_reason(teacher, app, school)
    assert response.status_code == 302

    assert reason_of(app, week["empty"]) == "Б"
    assert reason_of(app, week["late"]) is None
    assert reason_of(app, week["with_reason"]) == "НП"
    assert reason_of(app, week["outside"]) is None
    assert reason_of(app, week["sibling"]) is None

    rows = audit_rows(app, school)
    assert [(r.record_id, r.action, r.old_value, r.new_value) for r in rows] == [
        (week["empty"], "reason", "Н", "Н (Б)")
    ]
    assert rows[0].user_id == user_id(app, school.users["teacher"])
    assert rows[0].is_correction is False
    assert rows[0].student_id == school.ids["Student"]

    with app.app_context():
        document = db.session.scalar(
            select(AbsenceDocument).where(
                AbsenceDocument.school_id == school.school_id, AbsenceDocument.number == "123"
            )
        )
        assert (document.kind, document.date_from, document.date_to) == (
            "certificate",
            MONDAY,
            TUESDAY,
        )
        assert document.reason.code == "Б"
        assert document.created_by_id == user_id(app, school.users["teacher"])
        assert document.has_scan is False


def test_replace_changes_existing_reasons(app, school, week, login):
    teacher = login(school.users["teacher"])
    assert post_reason(teacher, app, school, replace="1").status_code == 302

    assert reason_of(app, week["empty"]) == "Б"
    assert reason_of(app, week["with_reason"]) == "Б"
    assert reason_of(app, week["late"]) is None
    changes = {(r.record_id, r.old_value, r.new_value) for r in audit_rows(app, school)}
    assert changes == {
        (week["empty"], "Н", "Н (Б)"),
        (week["with_reason"], "Н (НП)", "Н (Б)"),
    }


def test_existing_document_limits_dates(app, school, week, login):
    teacher = login(school.users["teacher"])
    assert post_reason(teacher, app, school, date_to=MONDAY.isoformat()).status_code == 302
    with app.app_context():
        document_id = db.session.scalar(
            select(AbsenceDocument.id).where(
                AbsenceDocument.school_id == school.school_id, AbsenceDocument.number == "123"
            )
        )
    # The document covers Monday only: Wednesday lies outside it, nothing is saved.
    response = post_reason(
        teacher,
        app,
        school,
        document_id=str(document_id),
        date_from=WEDNESDAY.isoformat(),
        date_to=WEDNESDAY.isoformat(),
    )
    assert response.status_code == 400
    assert 'data-testid="reason-errors"' in response.get_data(as_text=True)
    assert reason_of(app, week["outside"]) is None
    assert document_count(app, school) == 2  # the factory's document and this one


def test_invalid_input_keeps_typed_values(app, school, week, login):
    teacher = login(school.users["teacher"])
    response = post_reason(teacher, app, school, date_from="31.02.2026", number="№ 45-б")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'data-testid="reason-errors"' in page
    assert 'value="31.02.2026"' in page
    assert "№ 45-б" in page
    assert reason_of(app, week["empty"]) is None
    assert audit_rows(app, school) == []


def test_closed_term_teacher_rejected_principal_corrects(app, school, week, login):
    close_first_quarter(app, school)
    documents_before = document_count(app, school)

    teacher = login(school.users["teacher"])
    response = post_reason(teacher, app, school)
    assert response.status_code == 400
    assert "12.10.2026" in response.get_data(as_text=True)
    assert reason_of(app, week["empty"]) is None
    assert audit_rows(app, school) == []
    assert document_count(app, school) == documents_before

    principal = login(school.users["principal"])
    assert post_reason(principal, app, school).status_code == 302
    assert reason_of(app, week["empty"]) == "Б"
    rows = audit_rows(app, school)
    assert [(r.record_id, r.is_correction) for r in rows] == [(week["empty"], True)]
    assert rows[0].user_id == user_id(app, school.users["principal"])


def test_teacher_reaches_only_the_class_they_lead(app, school, login):
    class_id, student_id, _course = add_other_class(app, school)

    teacher = login(school.users["teacher"])
    assert teacher.get(f"/attendance-reasons/?class={class_id}").status_code == 404
    assert teacher.get(f"/attendance-reasons/?student={student_id}").status_code == 404
    assert post_reason(teacher, app, school, student_id=student_id).status_code == 404

    principal = login(school.users["principal"])
    assert principal.get(f"/attendance-reasons/?class={class_id}").status_code == 200

    with app.app_context():
        add_teacher(school, f"plain_teacher_{school.key}")
        db.session.commit()
    plain = login(f"plain_teacher_{school.key}")
    page = plain.get("/attendance-reasons/")
    assert page.status_code == 200
    assert 'data-testid="no-classes"' in page.get_data(as_text=True)
    assert post_reason(plain, app, school).status_code == 404


def test_other_school_ids_answer_404(app, school, world, login):
    teacher = login(school.users["teacher"])
    other = world["A"]
    assert teacher.get(f"/attendance-reasons/?class={other.ids['SchoolClass']}").status_code == 404
    assert post_reason(teacher, app, school, student_id=other.ids["Student"]).status_code == 404


def test_open_absences_grouped_by_student_and_date(app, school, week, login):
    page = login(school.users["teacher"]).get("/attendance-reasons/").get_data(as_text=True)
    lines = set(map(int, re.findall(r'data-testid="absence-line" data-attendance="(\d+)"', page)))
    # The factory's own absence of "OtherStudent" has a reason, so it is not listed.
    assert lines == {week["empty"], week["outside"], week["sibling"]}
    days = re.findall(r'data-testid="absence-day" data-date="([\d-]+)"', page)
    assert days == [MONDAY.isoformat(), WEDNESDAY.isoformat(), MONDAY.isoformat()]


# --- The day's absentees ------------------------------------------------------------


def day_entries(page: str) -> dict[int, list[tuple[int, str]]]:
    """Student id → [(lesson number, reason code)] as the day list shows them."""
    entries = {}
    for row in re.findall(r'data-testid="day-student" data-student="(\d+)">(.*?)</tr>', page, re.S):
        student, cells = row
        lessons = re.findall(r'data-number="(\d+)" data-reason="([^"]*)"', cells)
        entries[int(student)] = [(int(number), reason) for number, reason in lessons]
    return entries


def test_day_list_contents(app, school, week, login):
    _class_id, student_id, course_id = add_other_class(app, school)
    history = add_lesson(app, school, MONDAY, 1, course_id=course_id)
    add_attendance(app, school, history, student_id, reason="УП")

    teacher_page = login(school.users["teacher"]).get(f"/absentees/?date={MONDAY.isoformat()}")
    assert teacher_page.status_code == 200
    # «ОП» is lateness, not an absence: lesson 4 of "Student" is left out.
    assert day_entries(teacher_page.get_data(as_text=True)) == {
        school.ids["Student"]: [(3, "")],
        school.ids["SiblingStudent"]: [(3, "")],
    }

    principal_page = login(school.users["principal"]).get(
        f"/absentees/?date={MONDAY.strftime('%d.%m.%Y')}"
    )
    assert day_entries(principal_page.get_data(as_text=True)) == {
        school.ids["Student"]: [(3, "")],
        school.ids["SiblingStudent"]: [(3, "")],
        student_id: [(1, "УП")],
    }

    # After the reason is set, the day list shows it.
    post_reason(login(school.users["teacher"]), app, school)
    page = login(school.users["teacher"]).get(f"/absentees/?date={MONDAY}")
    assert day_entries(page.get_data(as_text=True))[school.ids["Student"]] == [(3, "Б")]

    empty = login(school.users["teacher"]).get(f"/absentees/?date={WEDNESDAY}")
    entries = day_entries(empty.get_data(as_text=True))
    assert entries == {school.ids["Student"]: [(3, "")]}


def test_day_list_bad_date_and_roles(app, school, login):
    teacher = login(school.users["teacher"])
    response = teacher.get("/absentees/?date=2026-13-40")
    assert response.status_code == 200
    assert 'data-testid="reasons-link"' in response.get_data(as_text=True)
    assert 'data-testid="day-errors"' in response.get_data(as_text=True)
    assert login(school.users["parent"]).get("/absentees/").status_code == 403
    assert login(school.users["parent"]).get("/attendance-reasons/").status_code == 403


def test_day_list_open_to_nurse_and_secretary(app, school, week, login):
    for role in ("medical", "secretary"):
        page = login(school.users[role]).get(f"/absentees/?date={MONDAY.isoformat()}")
        assert page.status_code == 200, role
        assert school.ids["Student"] in day_entries(page.get_data(as_text=True)), role
        assert 'data-testid="reasons-link"' not in page.get_data(as_text=True), role
        # The list is all they get: setting reasons stays with the class teacher.
        assert login(school.users[role]).get("/attendance-reasons/").status_code == 403


# --- Scans --------------------------------------------------------------------------


def upload(name: str, content: bytes = b"%PDF-1.4 test"):
    return (io.BytesIO(content), name)


def test_scan_rejected_for_type_and_size(app, school, week, login):
    teacher = login(school.users["teacher"])
    documents_before = document_count(app, school)
    response = post_reason(teacher, app, school, scan=upload("virus.exe"))
    assert response.status_code == 400
    assert "virus.exe" in response.get_data(as_text=True)

    limit = app.config["ATTACHMENT_MAX_BYTES"]
    app.config["ATTACHMENT_MAX_BYTES"] = 10
    try:
        response = post_reason(teacher, app, school, scan=upload("справка.pdf", b"x" * 11))
    finally:
        app.config["ATTACHMENT_MAX_BYTES"] = limit
    assert response.status_code == 400
    assert reason_of(app, week["empty"]) is None
    assert document_count(app, school) == documents_before


def test_scan_downloaded_by_the_right_users_only(app, school, world, week, login):
    teacher = login(school.users["teacher"])
    content = b"%PDF-1.4 scan of a certificate"
    assert post_reason(teacher, app, school, scan=upload("справка.pdf", content)).status_code == 302
    with app.app_context():
        document = db.session.scalar(
            select(AbsenceDocument).where(
                AbsenceDocument.school_id == school.school_id, AbsenceDocument.number == "123"
            )
        )
        assert (document.scan_filename, document.scan_size) == ("справка.pdf", len(content))
        document_id = document.id
    url = f"/attendance-reasons/document/{document_id}/scan"

    response = teacher.get(url)
    assert response.status_code == 200
    assert response.data == content
    assert "attachment" in response.headers["Content-Disposition"]
    assert login(school.users["principal"]).get(url).status_code == 200

    with app.app_context():
        add_teacher(school, f"scan_teacher_{school.key}")
        db.session.commit()
    assert login(f"scan_teacher_{school.key}").get(url).status_code == 404
    assert login(world["A"].users["teacher"]).get(url).status_code == 404
    assert login(world["A"].users["principal"]).get(url).status_code == 404
    assert login(school.users["parent"]).get(url).status_code == 403
