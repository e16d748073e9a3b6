"""The personal-data audit: changes of people and records, its transaction, its log screen."""

import io

import openpyxl
import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.models import (
    Guardian,
    HealthRecord,
    PersonalDataAudit,
    PersonalDataConsent,
    Student,
    db,
)
from tests.factories import build_extra_school

ALLERGY = "Лактоза"
NOTE_TEXT = "Беседа о адаптации в 5 классе"


@pytest.fixture(scope="module")
def school(app, world):
    with app.app_context():
        return build_extra_school("P")


def _max_audit_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(PersonalDataAudit.id))) or 0


def _new_audit_rows(app, after_id: int) -> list[PersonalDataAudit]:
    with app.app_context():
        statement = select(PersonalDataAudit).where(PersonalDataAudit.id > after_id)
        rows = list(db.session.scalars(statement.order_by(PersonalDataAudit.id)))
        db.session.expunge_all()
        return rows


def _user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def test_student_edit_records_who_whose_and_values(app, school, login):
    client = login(school.users["secretary"])
    student_id = school.ids["OtherStudent"]
    before = _max_audit_id(app)
    response = client.post(
        f"/students/edit/{student_id}",
        data={
            "last_name": "Другов",
            "first_name": "Пётр",
            "sex": "m",
            "personal_file_number": "P-3",
            "is_active": "y",
        },
    )
    assert response.status_code == 302
    rows = _new_audit_rows(app, before)
    assert len(rows) == 1
    row = rows[0]
    assert (row.entity, row.action, row.person_kind, row.person_id) == (
        "student",
        "change",
        "student",
        student_id,
    )
    assert row.user_id == _user_id(app, school.users["secretary"])
    assert row.address == "127.0.0.1"
    assert row.school_id == school.school_id
    assert {"field": "last_name", "old": "Другой", "new": "Другов"} in row.changes


def test_guardian_delete_is_recorded(app, school):
    with app.app_context():
        guardian = Guardian(
            school_id=school.school_id,
            student_id=school.ids["OtherStudent"],
            last_name="Другова",
            first_name="Ирина",
            kind="mother",
        )
        db.session.add(guardian)
        db.session.commit()
        guardian_id = guardian.id
        before = _max_audit_id(app)
        db.session.delete(guardian)
        db.session.commit()
    rows = _new_audit_rows(app, before)
    assert [(row.action, row.person_kind, row.person_id) for row in rows] == [
        ("delete", "guardian", guardian_id)
    ]
    assert {"field": "last_name", "old": "Другова", "new": None} in rows[0].changes


def test_failed_write_leaves_no_audit_row(app, school):
    before = _max_audit_id(app)
    with app.app_context():
        db.session.add(
            HealthRecord(
                school_id=school.school_id, student_id=school.ids["Student"], health_group="1"
            )
        )
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
    assert _new_audit_rows(app, before) == []


def test_rolled_back_change_takes_its_audit_row(app, school):
    before = _max_audit_id(app)
    with app.app_context():
        student = db.session.get(Student, school.ids["SiblingStudent"])
        student.middle_name = "Ивановна"
        db.session.flush()
        statement = select(func.count()).where(PersonalDataAudit.id > before)
        assert db.session.scalar(statement.select_from(PersonalDataAudit)) == 1
        db.session.rollback()
    assert _new_audit_rows(app, before) == []


def test_consent_of_minor_needs_guardian(app, school, login):
    client = login(school.users["secretary"])
    student_id = school.ids["SiblingStudent"]
    response = client.post(
        "/personal-data-consents/add",
        data={"student": student_id, "scope": "education", "given_on": "2026-09-01"},
        follow_redirects=True,
    )
    assert "несовершеннолетний" in response.text
    with app.app_context():
        statement = select(PersonalDataConsent).where(PersonalDataConsent.student_id == student_id)
        assert db.session.scalars(statement).all() == []


def test_secretary_records_consent_with_audit(app, school, login):
    client = login(school.users["secretary"])
    student_id = school.ids["SiblingStudent"]
    with app.app_context():
        guardian_id = db.session.get(Student, student_id).guardians[0].id
    before = _max_audit_id(app)
    response = client.post(
        "/personal-data-consents/add",
        data={
            "student": student_id,
            "given_by_guardian": guardian_id,
            "scope": "education",
            "given_on": "2026-09-01",
        },
    )
    assert response.status_code == 302
    rows = _new_audit_rows(app, before)
    assert [(row.entity, row.action, row.person_id) for row in rows] == [
        ("personal_data_consent", "create", student_id)
    ]


@pytest.mark.parametrize("role", ["principal", "teacher", "medical", "psychologist", "parent"])
def test_consents_edited_by_secretary_only(school, login, role):
    client = login(school.users[role])
    assert client.get("/personal-data-consents/add").status_code == 403


def test_administrator_reads_and_filters_log(app, school, login):
    client = login(school.users["school_admin"])
    response = client.get(f"/personal-data-log/?student={school.ids['Student']}")
    assert response.status_code == 200
    assert "Медицинская карта" in response.text
    assert "Ученикова Анна" in response.text
    assert "Другов" not in response.text
    assert ALLERGY not in response.text
    assert NOTE_TEXT not in response.text


def test_log_rejects_invalid_dates(school, login):
    client = login(school.users["school_admin"])
    response = client.get("/personal-data-log/?date_from=2026-13-01")
    assert response.status_code == 200
    assert "2026-13-01" in response.text


def test_log_export_has_no_confidential_values(app, school, login):
    client = login(school.users["school_admin"])
    response = client.get("/personal-data-log/export.xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    cells = [str(value) for row in sheet.iter_rows(values_only=True) for value in row]
    text = "\n".join(cells)
    assert "Группа здоровья" in text
    assert "Другой → Другов" in text
    assert ALLERGY not in text
    assert NOTE_TEXT not in text


@pytest.mark.parametrize(
    "role", ["principal", "teacher", "secretary", "medical", "psychologist", "hr", "parent"]
)
def test_log_closed_to_other_roles(school, login, role):
    client = login(school.users[role])
    assert client.get("/personal-data-log/").status_code == 403
    assert client.get("/personal-data-log/export.xlsx").status_code == 403


def test_log_shows_own_school_only(app, world, school, login):
    client = login(school.users["school_admin"])
    assert client.get(f"/personal-data-log/?student={world['A'].ids['Student']}").status_code == 404
    response = client.get("/personal-data-log/export.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    exported = list(sheet.iter_rows(min_row=4, values_only=True))
    with app.app_context():
        own = select(func.count()).where(PersonalDataAudit.school_id == school.school_id)
        own_rows = db.session.scalar(own.select_from(PersonalDataAudit))
        every_row = db.session.scalar(select(func.count()).select_from(PersonalDataAudit))
    assert len(exported) == own_rows
    assert every_row > own_rows
