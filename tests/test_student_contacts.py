"""A student's own phone and e-mail: the secretary's form, the class teacher's, the audit."""

import pytest
from sqlalchemy import func, select

from app.errors import DomainError
from app.models import PersonalDataAudit, School, Student, db
from app.services.contacts import check_email, normalise_russian_phone
from tests.factories import build_extra_school


@pytest.fixture(scope="module")
def school(app, world):
    with app.app_context():
        return build_extra_school("adm_contacts")


def _student(app, student_id) -> Student:
    with app.app_context():
        student = db.session.get(Student, student_id)
        db.session.expunge(student)
        return student


def _max_audit_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(PersonalDataAudit.id))) or 0


def _edit_form(**contacts) -> dict:
    return {
        "last_name": "Другой",
        "first_name": "Пётр",
        "sex": "m",
        "personal_file_number": "adm_contacts-3",
        **contacts,
    }


@pytest.mark.parametrize(
    "typed",
    ["+7 912 345-67-89", "8 (912) 345-67-89", "79123456789", "9123456789", "+7(912)3456789"],
)
def test_russian_phone_forms_normalised(typed):
    assert normalise_russian_phone(typed) == "+79123456789"


@pytest.mark.parametrize("typed", ["call me", "12345", "+1 212 555 0100", "8 912 345 67 899"])
def test_invalid_phone_rejected_with_value(app, typed):
    with app.test_request_context(), pytest.raises(DomainError) as error:
        normalise_russian_phone(typed)
    assert typed in str(error.value)


def test_empty_contacts_stored_as_none():
    assert normalise_russian_phone("  ") is None
    assert check_email("") is None


def test_email_checked_and_domain_lowered(app):
    with app.test_request_context():
        assert check_email(" anna@Example.RU ") == "anna@example.ru"
        with pytest.raises(DomainError):
            check_email("anna@")


def test_secretary_saves_normalised_contacts(app, school, login):
    client = login(school.users["secretary"])
    student_id = school.ids["OtherStudent"]
    before = _max_audit_id(app)
    response = client.post(
        f"/students/edit/{student_id}",
        data=_edit_form(phone="8 912 345-67-89", email="petr@example.ru"),
    )
    assert response.status_code == 302
    student = _student(app, student_id)
    assert student.phone == "+79123456789"
    assert student.email == "petr@example.ru"
    with app.app_context():
        changes = [
            change
            for row in db.session.scalars(
                select(PersonalDataAudit).where(PersonalDataAudit.id > before)
            )
            for change in row.changes
        ]
    assert {"field": "phone", "old": None, "new": "+79123456789"} in changes
    assert {"field": "email", "old": None, "new": "petr@example.ru"} in changes


def test_secretary_sees_invalid_phone_message(app, school, login):
    client = login(school.users["secretary"])
    student_id = school.ids["SiblingStudent"]
    response = client.post(
        f"/students/edit/{student_id}",
        data=_edit_form(personal_file_number="adm_contacts-2", phone="12-34"),
    )
    assert response.status_code == 200
    assert "Номер телефона 12-34 неверен" in response.get_data(as_text=True)
    assert _student(app, student_id).phone is None


def test_class_teacher_sets_student_phone(app, school, login):
    teacher = login(school.users["teacher"])
    class_id, student_id = school.ids["SchoolClass"], school.ids["SiblingStudent"]
    url = f"/class-logins/{class_id}/students/{student_id}/contacts"
    assert teacher.get(url).status_code == 200
    response = teacher.post(url, data={"phone": "+7 (916) 000-11-22", "email": "maria@example.ru"})
    assert response.status_code == 302
    student = _student(app, school.ids["SiblingStudent"])
    assert student.phone == "+79160001122"
    assert student.email == "maria@example.ru"
    assert student.user_id is None


def test_class_teacher_invalid_email_keeps_old(app, school, login):
    teacher = login(school.users["teacher"])
    url = (
        f"/class-logins/{school.ids['SchoolClass']}/students/{school.ids['OtherStudent']}/contacts"
    )
    response = teacher.post(url, data={"phone": "", "email": "not-an-address"})
    assert response.status_code == 400
    assert "not-an-address" in response.get_data(as_text=True)
    assert _student(app, school.ids["OtherStudent"]).email == "petr@example.ru"


def test_class_teacher_blocked_when_setting_off(app, school, login):
    with app.app_context():
        db.session.get(School, school.school_id).class_teachers_manage_logins = False
        db.session.commit()
    try:
        teacher = login(school.users["teacher"])
        url = (
            f"/class-logins/{school.ids['SchoolClass']}/students/"
            f"{school.ids['SiblingStudent']}/contacts"
        )
        assert teacher.post(url, data={"phone": "89160000000"}).status_code == 404
    finally:
        with app.app_context():
            db.session.get(School, school.school_id).class_teachers_manage_logins = True
            db.session.commit()
    assert _student(app, school.ids["SiblingStudent"]).phone == "+79160001122"
