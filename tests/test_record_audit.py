"""Writes through the REST APIs of marks, attendance and final marks leave audit rows."""

import pytest
from sqlalchemy import select

from app.models import JournalAudit, Membership, School, db
from tests.factories import build_extra_school, fab_role, make_user

WRITER_ROLE = "REST journal writer"


@pytest.fixture(scope="module")
def rest(app):
    """A school of its own and a login that may write journal records through REST."""
    with app.app_context():
        school = build_extra_school("rest-audit")
        sm = app.appbuilder.sm
        role = sm.add_role(WRITER_ROLE)
        for view_name in ("Marks", "Attendances", "FinalMarks"):
            for permission in ("can_read", "can_write"):
                sm.add_permission_role(role, sm.find_permission_view_menu(permission, view_name))
        user = make_user("rest-audit-writer")
        db.session.add(
            Membership(
                user_id=user.id,
                school_id=db.session.get(School, school.school_id).id,
                roles=[role, fab_role("principal")],
            )
        )
        db.session.commit()
        user_id = user.id
    return school, user_id


@pytest.fixture()
def client(rest, login):
    return login("rest-audit-writer")


def _audit_rows(app, school_id, entity):
    with app.app_context():
        rows = db.session.scalars(
            select(JournalAudit)
            .where(JournalAudit.school_id == school_id, JournalAudit.entity == entity)
            .order_by(JournalAudit.id)
        ).all()
        return [(r.action, r.old_value, r.new_value, r.user_id, r.student_id) for r in rows]


def test_mark_change_and_delete_are_audited(app, rest, client):
    school, user_id = rest
    mark_id = school.ids["Mark"]
    student_id = school.ids["Student"]

    response = client.put(f"/api/v1/mark/{mark_id}", json={"value": 3})
    assert response.status_code == 200, response.get_data(as_text=True)
    response = client.delete(f"/api/v1/mark/{mark_id}")
    assert response.status_code == 200

    assert _audit_rows(app, school.school_id, "mark") == [
        ("change", "5", "3", user_id, student_id),
        ("delete", "3", None, user_id, student_id),
    ]


def test_attendance_create_is_audited(app, rest, client):
    school, user_id = rest
    with app.app_context():
        from app.models import AttendanceCode

        late = db.session.scalar(
            select(AttendanceCode.id).where(
                AttendanceCode.school_id == school.school_id, AttendanceCode.code == "ОП"
            )
        )
    body = {
        "lesson_id": school.ids["Lesson"],
        "student_id": school.ids["Student"],
        "code_id": late,
    }

    response = client.post("/api/v1/attendance/", json=body)

    assert response.status_code == 201, response.get_data(as_text=True)
    rows = _audit_rows(app, school.school_id, "attendance")
    assert rows == [("create", None, "ОП", user_id, school.ids["Student"])]


def test_final_mark_change_is_audited(app, rest, client):
    school, user_id = rest

    response = client.put(f"/api/v1/final_mark/{school.ids['FinalMark']}", json={"value": "4"})

    assert response.status_code == 200, response.get_data(as_text=True)
    assert _audit_rows(app, school.school_id, "final_mark") == [
        ("change", "5", "4", user_id, school.ids["Student"])
    ]


def test_refused_write_leaves_no_audit_row(app, rest, client):
    school, _user_id = rest
    before = len(_audit_rows(app, school.school_id, "final_mark"))

    response = client.put(
        f"/api/v1/final_mark/{school.ids['FinalMark']}", json={"kind": "nonsense"}
    )

    assert response.status_code in (400, 422)
    assert len(_audit_rows(app, school.school_id, "final_mark")) == before
