"""Parents' absence notes and the same-day absence notice.

Every test that writes builds a school of its own. The factory gives each school one
pending note of the first child for WEEK_START (Monday 05.10.2026) and the next day, so
the tests below use later dates unless they test the overlap with that note.
"""

import datetime as dt
import itertools
import re

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select

from app.models import (
    AbsenceNote,
    AcademicYear,
    Attendance,
    AttendanceCode,
    Guardian,
    Holiday,
    Lesson,
    Notification,
    NotificationSetting,
    OutgoingMail,
    School,
    Student,
    Term,
    db,
)
from app.services.absence_notes import default_reason, school_days
from tests.factories import WEEK_START, add_teacher, build_extra_school, make_user

WEDNESDAY = WEEK_START + dt.timedelta(days=2)
THURSDAY = WEEK_START + dt.timedelta(days=3)
FRIDAY = WEEK_START + dt.timedelta(days=4)
SATURDAY = WEEK_START + dt.timedelta(days=5)
NEXT_MONDAY = WEEK_START + dt.timedelta(days=7)

_school_numbers = itertools.count(1)


@pytest.fixture()
def school(app, world):
    """A fresh school with the reasons «УП» (excused) and «НП» (unexcused) added."""
    with app.app_context():
        built = build_extra_school(f"AN{next(_school_numbers):02d}")
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


def add_lesson(app, school, day: dt.date, number: int = 3) -> int:
    """Add a lesson of the school's maths course (taught by its teacher) on a day."""
    with app.app_context():
        lesson = Lesson(
            school_id=school.school_id,
            course_id=school.ids["Course"],
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
        return entry.reason.code if entry.reason is not None else None


def add_note(app, school, start, end, status="pending", student_key="Student", reason=None):
    """Store a note directly, as if a parent of the school had sent it."""
    with app.app_context():
        note = AbsenceNote(
            school_id=school.school_id,
            student_id=school.ids[student_key],
            author_id=db.session.scalar(
                select(User.id).where(User.username == school.users["parent"])
            ),
            date_from=start,
            date_to=end,
            reason_text="Семейные обстоятельства",
            status=status,
            reason_id=code_id(app, school, reason) if reason else None,
        )
        db.session.add(note)
        db.session.commit()
        return note.id


def note_count(app, school) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(AbsenceNote.id)).where(AbsenceNote.school_id == school.school_id)
        )


def notices(app, username: str, kind: str) -> list[Notification]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(Notification)
                .where(Notification.user_id == user_id(app, username), Notification.kind == kind)
                .order_by(Notification.id)
            )
        )


def submit(client, school, start, end, reason="Семейная поездка", student_key="Student"):
    return client.post(
        "/absence-notes/new",
        data={
            "student_id": str(school.ids[student_key]),
            "date_from": start.isoformat() if isinstance(start, dt.date) else start,
            "date_to": end.isoformat() if isinstance(end, dt.date) else end,
            "reason_text": reason,
        },
    )


def note_ids_in_order(page: str) -> list[int]:
    return [int(value) for value in re.findall(r'data-testid="note-row" data-note="(\d+)"', page)]


def set_term_closed(app, school, number=1, kind="quarter") -> None:
    with app.app_context():
        term = db.session.scalar(
            select(Term).where(
                Term.school_id == school.school_id, Term.number == number, Term.kind == kind
            )
        )
        term.is_closed = True
        db.session.commit()


def journal_save(client, lesson_id, attendance: dict[int, int | None]):
    """Post the journal's lesson form with the attendance column only."""
    data = {
        f"attendance-{student}": str(code) if code else "" for student, code in attendance.items()
    }
    return client.post(f"/journal/lesson/{lesson_id}", data=data)


# --- Writing a note -----------------------------------------------------------------


def test_parent_submits_note(app, school, login):
    client = login(school.users["parent"])
    response = submit(client, school, WEDNESDAY, THURSDAY)
    assert response.status_code == 302

    with app.app_context():
        note = db.session.scalars(
            select(AbsenceNote)
            .where(AbsenceNote.school_id == school.school_id)
            .order_by(AbsenceNote.id.desc())
        ).first()
        assert note.student_id == school.ids["Student"]
        assert note.status == "pending"
        assert (note.date_from, note.date_to) == (WEDNESDAY, THURSDAY)
        assert note.author_id == user_id(app, school.users["parent"])
        assert note.reason_text == "Семейная поездка"
        note_id = note.id
    assert response.location.endswith(f"/absence-notes/{note_id}")

    teacher_notices = notices(app, school.users["teacher"], "absence_note")
    assert len(teacher_notices) == 1
    assert teacher_notices[0].link == f"/absence-notes/{note_id}"
    assert "07.10.2026" in teacher_notices[0].text
    assert "Ученикова Анна" in teacher_notices[0].text

    page = client.get("/absence-notes/")
    assert page.status_code == 200
    assert note_id in note_ids_in_order(page.text)
    shown = client.get(f"/absence-notes/{note_id}")
    assert shown.status_code == 200
    assert 'data-testid="withdraw-form"' in shown.text

    # Opening the note answers the class teacher's notice about it.
    assert notices(app, school.users["teacher"], "absence_note")[0].read_at is None
    assert login(school.users["teacher"]).get(f"/absence-notes/{note_id}").status_code == 200
    assert notices(app, school.users["teacher"], "absence_note")[0].read_at is not None
    assert 'data-testid="accept-form"' not in shown.text


@pytest.mark.parametrize(
    ("start", "end", "reason", "quoted"),
    [
        pytest.param(WEDNESDAY, THURSDAY, "   ", [], id="reason-missing"),
        pytest.param(
            THURSDAY, WEDNESDAY, "Болел", ["08.10.2026", "07.10.2026"], id="end-before-start"
        ),
        pytest.param("31.02.2026", THURSDAY, "Болел", ["31.02.2026"], id="invalid-date"),
        pytest.param("", THURSDAY, "Болел", [], id="start-missing"),
        # Monday to Friday: five school days, the limit is three.
        pytest.param(
            NEXT_MONDAY,
            NEXT_MONDAY + dt.timedelta(days=4),
            "Поездка",
            ["12.10.2026", "16.10.2026"],
            id="too-long",
        ),
        pytest.param(
            SATURDAY, SATURDAY + dt.timedelta(days=1), "Поездка", ["10.10.2026"], id="weekend-only"
        ),
        # The factory's pending note covers 05.10–06.10.
        pytest.param(
            WEEK_START + dt.timedelta(days=1), WEDNESDAY, "Поездка", ["05.10.2026"], id="overlap"
        ),
    ],
)
def test_submission_rejects_invalid_values(app, school, login, start, end, reason, quoted):
    before = note_count(app, school)
    client = login(school.users["parent"])
    response = submit(client, school, start, end, reason=reason)

    assert response.status_code == 400
    assert 'data-testid="note-errors"' in response.text
    errors = response.text.split('data-testid="note-errors"')[1].split("</div>")[0]
    for value in quoted:
        assert value in errors
    assert note_count(app, school) == before
    # The typed values are kept in the form.
    if isinstance(start, dt.date):
        assert f'value="{start.isoformat()}"' in response.text
    if reason.strip():
        assert f">{reason}</textarea>" in response.text


def test_submission_counts_school_days_only(app, school, login):
    client = login(school.users["parent"])
    # Friday to Tuesday: Friday, Monday, Tuesday are three school days.
    assert submit(client, school, FRIDAY, NEXT_MONDAY + dt.timedelta(days=1)).status_code == 302
    # 03.11–06.11: Wednesday 04.11 is a public holiday, so three school days.
    response = submit(client, school, dt.date(2026, 11, 3), dt.date(2026, 11, 6))
    assert response.status_code == 302
    # A rejected note does not block its dates.
    add_note(app, school, dt.date(2026, 11, 10), dt.date(2026, 11, 10), status="rejected")
    assert submit(client, school, dt.date(2026, 11, 10), dt.date(2026, 11, 11)).status_code == 302


def test_six_day_week_counts_saturday(app, school, login):
    with app.app_context():
        db.session.get(School, school.school_id).six_day_week = True
        db.session.commit()
    client = login(school.users["parent"])
    # Thursday to Monday is Thursday, Friday, Saturday, Monday: four days in a six-day week.
    response = submit(client, school, THURSDAY, NEXT_MONDAY)
    assert response.status_code == 400
    errors = response.text.split('data-testid="note-errors"')[1].split("</div>")[0]
    assert "08.10.2026" in errors
    assert "12.10.2026" in errors
    assert submit(client, school, FRIDAY, NEXT_MONDAY).status_code == 302


def test_school_setting_changes_the_limit(app, school, login):
    with app.app_context():
        db.session.get(School, school.school_id).absence_note_max_days = 5
        db.session.commit()
    client = login(school.users["parent"])
    response = submit(client, school, NEXT_MONDAY, NEXT_MONDAY + dt.timedelta(days=4))
    assert response.status_code == 302


def test_school_days_skip_holidays(app, school):
    with app.app_context():
        db.session.add(
            Holiday(
                school_id=school.school_id,
                date=dt.date(2026, 11, 14),
                name="Перенос рабочего дня",
                is_working_day=True,
            )
        )
        db.session.commit()
        school_row = db.session.get(School, school.school_id)
        student = db.session.get(Student, school.ids["Student"])
        days = school_days(school_row, student, dt.date(2026, 11, 2), dt.date(2026, 11, 15))
    # 02.11 is the last vacation day and 04.11 a public holiday; Saturday 14.11 is a
    # working day moved from a holiday.
    assert dt.date(2026, 11, 2) not in days
    assert dt.date(2026, 11, 4) not in days
    assert dt.date(2026, 11, 14) in days
    assert dt.date(2026, 11, 7) not in days
    assert len(days) == 9


def test_submission_in_closed_year_is_rejected(app, school, login):
    with app.app_context():
        year = db.session.scalar(
            select(AcademicYear).where(AcademicYear.school_id == school.school_id)
        )
        year.is_closed = True
        db.session.commit()
    client = login(school.users["parent"])
    response = submit(client, school, WEDNESDAY, THURSDAY)
    assert response.status_code == 400
    assert "2026/2027" in response.text.split('data-testid="note-errors"')[1].split("</div>")[0]
    assert note_count(app, school) == 1


def test_parent_writes_only_for_own_children(app, school, world, login):
    client = login(school.users["parent"])
    before = note_count(app, school)
    assert (
        submit(client, school, WEDNESDAY, THURSDAY, student_key="OtherStudent").status_code == 404
    )
    response = client.post(
        "/absence-notes/new",
        data={
            "student_id": str(world["B"].ids["Student"]),
            "date_from": WEDNESDAY.isoformat(),
            "date_to": THURSDAY.isoformat(),
            "reason_text": "Поездка",
        },
    )
    assert response.status_code == 404
    assert note_count(app, school) == before

    form = client.get("/absence-notes/new")
    assert form.status_code == 200
    assert f'value="{school.ids["Student"]}"' in form.text
    assert f'value="{school.ids["SiblingStudent"]}"' in form.text
    assert f'value="{school.ids["OtherStudent"]}"' not in form.text


def test_parent_sees_only_own_children_notes(app, school, login):
    own = add_note(app, school, WEDNESDAY, WEDNESDAY)
    sibling = add_note(app, school, WEDNESDAY, WEDNESDAY, student_key="SiblingStudent")
    other = add_note(app, school, WEDNESDAY, WEDNESDAY, student_key="OtherStudent")
    client = login(school.users["parent"])

    listed = note_ids_in_order(client.get("/absence-notes/").text)
    assert own in listed
    assert sibling in listed
    assert other not in listed
    assert client.get(f"/absence-notes/{other}").status_code == 404


def test_barred_parent_loses_the_child(app, school, login):
    note_id = add_note(app, school, WEDNESDAY, WEDNESDAY)
    with app.app_context():
        guardian = db.session.scalar(
            select(Guardian).where(
                Guardian.school_id == school.school_id,
                Guardian.student_id == school.ids["Student"],
            )
        )
        guardian.is_barred = True
        db.session.commit()
    client = login(school.users["parent"])
    assert client.get(f"/absence-notes/{note_id}").status_code == 404
    assert note_id not in note_ids_in_order(client.get("/absence-notes/").text)
    assert submit(client, school, THURSDAY, THURSDAY).status_code == 404


def test_barred_author_gets_no_decision_notice(app, school, login):
    note_id = add_note(app, school, WEDNESDAY, WEDNESDAY)
    with app.app_context():
        guardian = db.session.scalar(
            select(Guardian).where(
                Guardian.school_id == school.school_id,
                Guardian.student_id == school.ids["Student"],
            )
        )
        guardian.is_barred = True
        db.session.commit()
    teacher = login(school.users["teacher"])
    response = teacher.post(
        f"/absence-notes/{note_id}/reject", data={"reject_comment": "Нужна справка"}
    )
    assert response.status_code == 302
    assert notices(app, school.users["parent"], "absence_note") == []


def test_parent_withdraws_own_pending_note(app, school, login):
    pending = add_note(app, school, WEDNESDAY, WEDNESDAY)
    accepted = add_note(app, school, THURSDAY, THURSDAY, status="accepted", reason="УП")
    client = login(school.users["parent"])

    assert client.post(f"/absence-notes/{pending}/withdraw").status_code == 302
    assert client.post(f"/absence-notes/{accepted}/withdraw").status_code == 302
    with app.app_context():
        assert db.session.get(AbsenceNote, pending) is None
        assert db.session.get(AbsenceNote, accepted).status == "accepted"

    teacher = login(school.users["teacher"])
    assert teacher.post(f"/absence-notes/{accepted}/withdraw").status_code == 302
    with app.app_context():
        assert db.session.get(AbsenceNote, accepted) is not None


# --- Who reads and decides ----------------------------------------------------------


def test_class_teacher_sees_pending_notes_first(app, school, login):
    decided = add_note(app, school, NEXT_MONDAY, NEXT_MONDAY, status="rejected")
    pending = add_note(app, school, WEDNESDAY, WEDNESDAY, student_key="OtherStudent")
    client = login(school.users["teacher"])
    page = client.get("/absence-notes/")
    assert page.status_code == 200
    order = note_ids_in_order(page.text)
    assert set(order) >= {decided, pending, school.ids["AbsenceNote"]}
    assert order.index(pending) < order.index(decided)
    assert order.index(school.ids["AbsenceNote"]) < order.index(decided)

    only_pending = note_ids_in_order(client.get("/absence-notes/?status=pending").text)
    assert pending in only_pending
    assert decided not in only_pending

    shown = client.get(f"/absence-notes/{pending}")
    assert shown.status_code == 200
    assert 'data-testid="accept-form"' in shown.text
    assert 'data-testid="reject-form"' in shown.text
    assert 'data-testid="withdraw-form"' not in shown.text


def test_teacher_of_another_class_gets_404(app, school, login):
    note_id = add_note(app, school, WEDNESDAY, WEDNESDAY)
    with app.app_context():
        add_teacher(school, f"colleague_{school.key}")
        db.session.commit()
    client = login(f"colleague_{school.key}")
    assert client.get(f"/absence-notes/{note_id}").status_code == 404
    accept = client.post(
        f"/absence-notes/{note_id}/accept", data={"reason_id": str(code_id(app, school, "УП"))}
    )
    assert accept.status_code == 404
    assert (
        client.post(f"/absence-notes/{note_id}/reject", data={"reject_comment": "Нет"}).status_code
        == 404
    )
    assert note_id not in note_ids_in_order(client.get("/absence-notes/").text)
    with app.app_context():
        assert db.session.get(AbsenceNote, note_id).status == "pending"


def test_note_of_another_school_is_404(app, school, world, login):
    other_note = world["B"].ids["AbsenceNote"]
    for role in ("teacher", "parent", "principal", "secretary"):
        client = login(school.users[role])
        assert client.get(f"/absence-notes/{other_note}").status_code == 404, role


def test_principal_secretary_read_only(app, school, login):
    note_id = add_note(app, school, WEDNESDAY, WEDNESDAY, student_key="OtherStudent")
    for role in ("principal", "secretary"):
        client = login(school.users[role])
        assert note_id in note_ids_in_order(client.get("/absence-notes/").text), role
        shown = client.get(f"/absence-notes/{note_id}")
        assert shown.status_code == 200, role
        assert 'data-testid="accept-form"' not in shown.text
        accept = client.post(
            f"/absence-notes/{note_id}/accept",
            data={"reason_id": str(code_id(app, school, "УП"))},
        )
        assert accept.status_code == 403, role
    with app.app_context():
        assert db.session.get(AbsenceNote, note_id).status == "pending"


@pytest.mark.parametrize("role", ["school_admin", "student", "hr", "medical", "psychologist"])
def test_other_roles_get_403(school, login, role):
    client = login(school.users[role])
    assert client.get("/absence-notes/").status_code == 403
    assert client.get(f"/absence-notes/{school.ids['AbsenceNote']}").status_code == 403


# --- Accepting and rejecting --------------------------------------------------------


def test_accept_keeps_existing_reasons(app, school, login):
    student = school.ids["Student"]
    wednesday = add_lesson(app, school, WEDNESDAY, 3)
    wednesday_late = add_lesson(app, school, WEDNESDAY, 4)
    thursday = add_lesson(app, school, THURSDAY, 3)
    friday = add_lesson(app, school, FRIDAY, 3)
    open_absence = add_attendance(app, school, wednesday, student)
    late = add_attendance(app, school, wednesday_late, student, code="ОП")
    staff_reason = add_attendance(app, school, thursday, student, reason="НП")
    outside = add_attendance(app, school, friday, student)
    sibling = add_attendance(app, school, wednesday, school.ids["SiblingStudent"])
    # A closed half-year of grades 10–11 does not lock grade 5.
    set_term_closed(app, school, number=1, kind="half_year")
    note_id = add_note(app, school, WEDNESDAY, THURSDAY)

    client = login(school.users["teacher"])
    form = client.get(f"/absence-notes/{note_id}")
    up = code_id(app, school, "УП")
    assert f'<option value="{up}" selected>' in form.text
    response = client.post(f"/absence-notes/{note_id}/accept", data={"reason_id": str(up)})
    assert response.status_code == 302

    assert reason_of(app, open_absence) == "УП"
    assert reason_of(app, staff_reason) == "НП"
    assert reason_of(app, late) is None
    assert reason_of(app, outside) is None
    assert reason_of(app, sibling) is None
    with app.app_context():
        note = db.session.get(AbsenceNote, note_id)
        assert note.status == "accepted"
        assert note.reason.code == "УП"
        assert note.decided_by_id == user_id(app, school.users["teacher"])
        assert note.decided_at is not None
        assert db.session.get(Attendance, open_absence).changed_by_id == note.decided_by_id
    parent_notices = notices(app, school.users["parent"], "absence_note")
    assert len(parent_notices) == 1
    assert "УП" in parent_notices[0].text

    shown = login(school.users["parent"]).get(f"/absence-notes/{note_id}")
    assert f'data-attendance="{open_absence}" data-state="note_reason"' in shown.text
    assert f'data-attendance="{staff_reason}" data-state="other_reason"' in shown.text
    assert f'data-attendance="{late}"' not in shown.text
    assert 'data-testid="summary-applied"' in shown.text


def test_accept_with_invalid_reason_changes_nothing(app, school, world, login):
    student = school.ids["Student"]
    absence = add_attendance(app, school, add_lesson(app, school, WEDNESDAY), student)
    note_id = add_note(app, school, WEDNESDAY, WEDNESDAY)
    client = login(school.users["teacher"])
    for value in ("", str(code_id(app, school, "Н")), str(code_id(app, world["B"], "Б"))):
        response = client.post(
            f"/absence-notes/{note_id}/accept", data={"reason_id": value, "comment": "Хорошо"}
        )
        assert response.status_code == 400, value
        assert 'data-testid="decision-errors"' in response.text
        assert 'value="Хорошо"' in response.text
    assert reason_of(app, absence) is None
    with app.app_context():
        assert db.session.get(AbsenceNote, note_id).status == "pending"


def test_accept_in_closed_term(app, school, login):
    student = school.ids["Student"]
    absence = add_attendance(app, school, add_lesson(app, school, WEDNESDAY), student)
    note_id = add_note(app, school, WEDNESDAY, THURSDAY)
    set_term_closed(app, school, number=1, kind="quarter")

    client = login(school.users["teacher"])
    response = client.post(
        f"/absence-notes/{note_id}/accept", data={"reason_id": str(code_id(app, school, "УП"))}
    )
    assert response.status_code == 302
    assert reason_of(app, absence) is None
    with app.app_context():
        assert db.session.get(AbsenceNote, note_id).status == "accepted"

    shown = client.get(f"/absence-notes/{note_id}")
    assert f'data-attendance="{absence}" data-state="locked"' in shown.text
    assert 'data-testid="summary-locked"' in shown.text
    listed = client.get("/absence-notes/").text
    row = listed.split(f'data-note="{note_id}"')[1].split("</tr>")[0]
    assert 'data-testid="summary-locked"' in row


def test_closed_year_keeps_absences_unchanged(app, school, login):
    student = school.ids["Student"]
    absence = add_attendance(app, school, add_lesson(app, school, WEDNESDAY), student)
    note_id = add_note(app, school, WEDNESDAY, WEDNESDAY)
    with app.app_context():
        year = db.session.scalar(
            select(AcademicYear).where(AcademicYear.school_id == school.school_id)
        )
        year.is_closed = True
        db.session.commit()
    client = login(school.users["teacher"])
    response = client.post(
        f"/absence-notes/{note_id}/accept", data={"reason_id": str(code_id(app, school, "УП"))}
    )
    assert response.status_code == 302
    assert reason_of(app, absence) is None


def test_reject_requires_comment_and_tells_parent(app, school, login):
    note_id = add_note(app, school, WEDNESDAY, WEDNESDAY)
    client = login(school.users["teacher"])
    response = client.post(f"/absence-notes/{note_id}/reject", data={"reject_comment": "  "})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(AbsenceNote, note_id).status == "pending"

    response = client.post(
        f"/absence-notes/{note_id}/reject", data={"reject_comment": "Нужна справка врача"}
    )
    assert response.status_code == 302
    with app.app_context():
        note = db.session.get(AbsenceNote, note_id)
        assert note.status == "rejected"
        assert note.decision_comment == "Нужна справка врача"
        assert note.reason_id is None
    parent_notices = notices(app, school.users["parent"], "absence_note")
    assert len(parent_notices) == 1
    assert "Нужна справка врача" in parent_notices[0].text

    # A decided note is not decided again.
    again = client.post(
        f"/absence-notes/{note_id}/accept", data={"reason_id": str(code_id(app, school, "УП"))}
    )
    assert again.status_code == 302
    with app.app_context():
        assert db.session.get(AbsenceNote, note_id).status == "rejected"


def test_default_reason_prefers_up_then_first_excused(app, school):
    with app.app_context():
        codes = list(
            db.session.scalars(
                select(AttendanceCode).where(
                    AttendanceCode.school_id == school.school_id, AttendanceCode.kind == "reason"
                )
            )
        )
        assert default_reason(codes).code == "УП"
        without_up = [code for code in codes if code.code != "УП"]
        assert default_reason(without_up).code == "Б"
        assert default_reason([code for code in codes if not code.is_excused]).code == "НП"
        assert default_reason([]) is None


# --- Planned notes and the journal --------------------------------------------------


def test_planned_note_applies_when_absence_is_marked_later(app, school, login):
    note_id = add_note(app, school, WEDNESDAY, THURSDAY)
    teacher = login(school.users["teacher"])
    response = teacher.post(
        f"/absence-notes/{note_id}/accept", data={"reason_id": str(code_id(app, school, "УП"))}
    )
    assert response.status_code == 302

    student, sibling, other = (
        school.ids["Student"],
        school.ids["SiblingStudent"],
        school.ids["OtherStudent"],
    )
    lesson = add_lesson(app, school, THURSDAY)
    absent, late = code_id(app, school, "Н"), code_id(app, school, "ОП")
    saved = journal_save(teacher, lesson, {student: absent, sibling: absent, other: late})
    assert saved.status_code == 302
    with app.app_context():
        entries = {
            entry.student_id: entry
            for entry in db.session.scalars(
                select(Attendance).where(Attendance.lesson_id == lesson)
            )
        }
        assert entries[student].reason.code == "УП"
        # The sibling has no note and the late mark is no absence.
        assert entries[sibling].reason_id is None
        assert entries[other].reason_id is None

    outside = add_lesson(app, school, FRIDAY)
    assert journal_save(teacher, outside, {student: absent}).status_code == 302
    with app.app_context():
        entry = db.session.scalar(select(Attendance).where(Attendance.lesson_id == outside))
        assert entry.reason_id is None


def test_planned_note_not_applied_in_closed_term(app, school, login):
    note_id = add_note(app, school, WEDNESDAY, THURSDAY, status="accepted", reason="УП")
    set_term_closed(app, school, number=1, kind="quarter")
    lesson = add_lesson(app, school, WEDNESDAY)
    # A closed term is read-only for teachers; the principal's correction still saves.
    principal = login(school.users["principal"])
    saved = journal_save(principal, lesson, {school.ids["Student"]: code_id(app, school, "Н")})
    assert saved.status_code == 302
    with app.app_context():
        entry = db.session.scalar(select(Attendance).where(Attendance.lesson_id == lesson))
        assert entry.reason_id is None
        assert db.session.get(AbsenceNote, note_id).status == "accepted"


def test_rejected_or_pending_note_is_not_applied(app, school, login):
    add_note(app, school, WEDNESDAY, WEDNESDAY, status="rejected")
    add_note(app, school, THURSDAY, THURSDAY, status="pending")
    teacher = login(school.users["teacher"])
    absent = code_id(app, school, "Н")
    for day in (WEDNESDAY, THURSDAY):
        lesson = add_lesson(app, school, day)
        assert journal_save(teacher, lesson, {school.ids["Student"]: absent}).status_code == 302
        with app.app_context():
            entry = db.session.scalar(select(Attendance).where(Attendance.lesson_id == lesson))
            assert entry.reason_id is None, day


# --- The same-day absence notice ----------------------------------------------------


@pytest.fixture()
def parents(app, school):
    """Parents of the first child: mother (absence e-mails on), father (off), barred, no login."""
    with app.app_context():
        sid, student = school.school_id, school.ids["Student"]
        mother = db.session.scalar(select(User).where(User.username == school.users["parent"]))
        mother.email = f"mother.{school.key.lower()}@example.org"
        setting = db.session.scalar(
            select(NotificationSetting).where(
                NotificationSetting.school_id == sid,
                NotificationSetting.user_id == mother.id,
                NotificationSetting.student_id == student,
            )
        )
        setting.absence_email = True

        usernames = {"mother": mother.username}
        for kind, barred in (("father", False), ("grandmother", True)):
            user = make_user(f"{kind}_{school.key}")
            user.email = f"{kind}.{school.key.lower()}@example.org"
            db.session.add(
                Guardian(
                    school_id=sid,
                    student_id=student,
                    user_id=user.id,
                    last_name="Учеников",
                    first_name=kind,
                    kind="father" if kind == "father" else "other",
                    is_barred=barred,
                )
            )
            db.session.add(
                NotificationSetting(
                    school_id=sid, user_id=user.id, student_id=student, absence_email=barred
                )
            )
            usernames[kind] = user.username
        db.session.add(
            Guardian(
                school_id=sid, student_id=student, last_name="Учеников", first_name="Без входа"
            )
        )
        db.session.commit()
        return usernames


def mails_to(app, school, address_part: str) -> list[OutgoingMail]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(OutgoingMail).where(
                    OutgoingMail.school_id == school.school_id,
                    OutgoingMail.recipient.contains(address_part),
                )
            )
        )


def test_same_day_absence_notifies_each_parent(app, school, parents, login):
    today = dt.date.today()
    lesson = add_lesson(app, school, today, number=5)
    teacher = login(school.users["teacher"])
    saved = journal_save(teacher, lesson, {school.ids["Student"]: code_id(app, school, "Н")})
    assert saved.status_code == 302

    mother = notices(app, parents["mother"], "absence")
    father = notices(app, parents["father"], "absence")
    assert len(mother) == 1
    assert len(father) == 1
    assert notices(app, parents["grandmother"], "absence") == []
    text = mother[0].text
    assert "Ученикова Анна" in text
    assert "Математика" in text
    assert today.strftime("%d.%m.%Y") in text
    # Apart from the date, the only digit of the text is the lesson number.
    assert re.findall(r"\d+", text.replace(today.strftime("%d.%m.%Y"), "")) == ["5"]
    assert mother[0].link.startswith("/diary/")

    mails = mails_to(app, school, "mother.")
    assert len(mails) == 1
    assert mails[0].kind == "absence"
    assert mails[0].status == "queued"
    assert "Ученикова Анна" in mails[0].subject
    assert mails_to(app, school, "father.") == []
    assert mails_to(app, school, "grandmother.") == []


def test_no_notice_for_late_mark_or_resave(app, school, parents, login):
    today = dt.date.today()
    lesson = add_lesson(app, school, today, number=1)
    student = school.ids["Student"]
    teacher = login(school.users["teacher"])
    absent, late = code_id(app, school, "Н"), code_id(app, school, "ОП")

    assert journal_save(teacher, lesson, {student: late}).status_code == 302
    assert notices(app, parents["mother"], "absence") == []

    # Late changed to absent is a new absence.
    assert journal_save(teacher, lesson, {student: absent}).status_code == 302
    assert len(notices(app, parents["mother"], "absence")) == 1

    # Saving the lesson again with the same absence sends nothing more.
    assert journal_save(teacher, lesson, {student: absent}).status_code == 302
    assert len(notices(app, parents["mother"], "absence")) == 1
    assert len(mails_to(app, school, "mother.")) == 1


def test_no_notice_for_absence_of_earlier_day(app, school, parents, login):
    lesson = add_lesson(app, school, dt.date.today() - dt.timedelta(days=1))
    teacher = login(school.users["teacher"])
    saved = journal_save(teacher, lesson, {school.ids["Student"]: code_id(app, school, "Н")})
    assert saved.status_code == 302
    assert notices(app, parents["mother"], "absence") == []
    assert mails_to(app, school, "mother.") == []


def test_menu_links_notes_for_parent_only(school, login):
    assert 'href="/absence-notes/"' in login(school.users["parent"]).get("/diary/").text
    assert 'href="/absence-notes/"' not in login(school.users["student"]).get("/diary/").text
