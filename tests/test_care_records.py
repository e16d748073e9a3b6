"""Health records, the social passport, psychologist notes and their circles of confidentiality.

Each role of a school of its own is tried on each record: who may see it, who may change
it, and that a changed or read record leaves the right row in the personal-data audit.
"""

import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import func, select

from app.models import (
    HealthRecord,
    PersonalDataAudit,
    PsychologistNote,
    PsychologyConsent,
    SocialStatus,
    Student,
    db,
)
from app.services.care_access import MEALS_ROLES
from tests.factories import add_course_with_lesson, add_teacher, build_extra_school

ALLERGY = "Лактоза"
NOTE_TEXT = "Беседа о адаптации в 5 классе"

#: School roles without any access to the health record's medical part.
NOT_MEDICAL = [
    "school_admin",
    "principal",
    "teacher",
    "secretary",
    "hr",
    "psychologist",
    "technical_staff",
    "student",
    "parent",
]


@pytest.fixture(scope="module")
def school(app, world):
    with app.app_context():
        care = build_extra_school("K")
        add_teacher(care, "outsider_K")
        # Teaches 5А without leading it: PE lists yes, social passport no.
        add_course_with_lesson(care, "Физическая культура", teachers=[add_teacher(care, "pe_K")])
        db.session.commit()
        return care


def _audit_rows(app, school_id, **criteria) -> list[PersonalDataAudit]:
    with app.app_context():
        statement = select(PersonalDataAudit).where(PersonalDataAudit.school_id == school_id)
        for name, value in criteria.items():
            statement = statement.where(getattr(PersonalDataAudit, name) == value)
        rows = list(db.session.scalars(statement.order_by(PersonalDataAudit.id)))
        db.session.expunge_all()
        return rows


def _max_audit_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.max(PersonalDataAudit.id))) or 0


def _new_audit_rows(app, after_id: int) -> list[PersonalDataAudit]:
    with app.app_context():
        statement = select(PersonalDataAudit).where(PersonalDataAudit.id > after_id)
        rows = list(db.session.scalars(statement.order_by(PersonalDataAudit.id)))
        db.session.expunge_all()
        return rows


# --- Health record --------------------------------------------------------------------


def test_medical_worker_reads_whole_health_record(app, school, login):
    client = login(school.users["medical"])
    before = _max_audit_id(app)
    response = client.get(f"/health/student/{school.ids['Student']}")
    assert response.status_code == 200
    assert ALLERGY in response.text
    views = [row for row in _new_audit_rows(app, before) if row.action == "view"]
    assert len(views) == 1
    assert views[0].entity == "health_record"
    assert views[0].person_id == school.ids["Student"]
    assert views[0].address == "127.0.0.1"
    assert ALLERGY not in str(views[0].changes)


@pytest.mark.parametrize("role", NOT_MEDICAL)
def test_health_record_closed_to_other_roles(school, login, role):
    client = login(school.users[role])
    assert client.get(f"/health/student/{school.ids['Student']}").status_code == 403
    assert client.get("/health/").status_code == 403


@pytest.mark.parametrize("role", ["principal", "teacher"])
def test_health_record_write_refused_to_teaching_roles(app, school, login, role):
    client = login(school.users[role])
    response = client.post(
        f"/health/student/{school.ids['Student']}/save", data={"health_group": "1"}
    )
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(HealthRecord, school.ids["HealthRecord"]).health_group == "2"


@pytest.mark.parametrize("role", ["principal", "teacher", "medical"])
def test_pe_list_shows_teaching_part_only(school, login, role):
    client = login(school.users[role])
    response = client.get(f"/physical-education/?class={school.ids['SchoolClass']}")
    assert response.status_code == 200
    assert "Справка поликлиники № 7" in response.text
    assert "Ученикова Анна" in response.text
    assert ALLERGY not in response.text


def test_pe_list_open_to_subject_teacher(school, login):
    client = login("pe_K")
    response = client.get(f"/physical-education/?class={school.ids['SchoolClass']}")
    assert response.status_code == 200
    assert "Справка поликлиники № 7" in response.text


def test_pe_list_closed_to_teacher_of_other_classes(school, login):
    client = login("outsider_K")
    response = client.get(f"/physical-education/?class={school.ids['SchoolClass']}")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "role", ["secretary", "psychologist", "hr", "technical_staff", "student", "parent"]
)
def test_pe_list_closed_to_roles_outside_teaching(school, login, role):
    client = login(school.users[role])
    response = client.get(f"/physical-education/?class={school.ids['SchoolClass']}")
    assert response.status_code == 403


def test_health_record_change_audits_confidential_fields_by_name(app, school, login):
    client = login(school.users["medical"])
    before = _max_audit_id(app)
    response = client.post(
        f"/health/student/{school.ids['OtherStudent']}/save",
        data={"health_group": "3", "pe_group": "special_a", "meal_allergies": "Орехи"},
    )
    assert response.status_code == 302
    rows = [row for row in _new_audit_rows(app, before) if row.entity == "health_record"]
    assert [row.action for row in rows] == ["create"]
    changes = {change["field"]: change for change in rows[0].changes}
    assert changes["health_group"] == {"field": "health_group"}
    assert changes["meal_allergies"] == {"field": "meal_allergies"}
    assert changes["pe_group"] == {"field": "pe_group", "old": None, "new": "special_a"}
    assert "Орехи" not in str(rows[0].changes)
    assert rows[0].person_kind == "student"
    assert rows[0].person_id == school.ids["OtherStudent"]


def test_exemption_with_invalid_dates_is_refused(app, school, login):
    client = login(school.users["medical"])
    before = _max_audit_id(app)
    response = client.post(
        f"/health/student/{school.ids['Student']}/exemptions",
        data={"date_from": "31.02.2027", "date_to": "01.03.2027", "reason": "Справка"},
    )
    assert response.status_code == 400
    assert "31.02.2027" in response.text
    assert [row for row in _new_audit_rows(app, before) if row.action != "view"] == []


def test_other_school_student_answers_404(world, school, login):
    client = login(school.users["medical"])
    other_student = world["A"].ids["Student"]
    assert client.get(f"/health/student/{other_student}").status_code == 404


# --- Social passport ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["psychologist", "principal", "teacher"])
def test_social_passport_read_by_its_circle(school, login, role):
    client = login(school.users[role])
    response = client.get(f"/social-passport/student/{school.ids['Student']}")
    assert response.status_code == 200
    assert 'data-testid="statuses"' in response.text
    assert ('data-testid="consents"' in response.text) == (role == "psychologist")


@pytest.mark.parametrize("username", ["outsider_K", "pe_K"])
def test_social_passport_closed_to_teacher_not_leading_class(school, login, username):
    client = login(username)
    assert client.get(f"/social-passport/student/{school.ids['Student']}").status_code == 404
    response = client.get(f"/social-passport/class-report?class={school.ids['SchoolClass']}")
    assert response.status_code == 404


@pytest.mark.parametrize(
    "role", ["secretary", "medical", "hr", "school_admin", "technical_staff", "student", "parent"]
)
def test_social_passport_closed_to_other_roles(school, login, role):
    client = login(school.users[role])
    assert client.get(f"/social-passport/student/{school.ids['Student']}").status_code == 403


@pytest.mark.parametrize("role", ["principal", "teacher"])
def test_social_passport_written_by_psychologist_only(app, school, login, role):
    client = login(school.users[role])
    response = client.post(
        f"/social-passport/student/{school.ids['Student']}/statuses",
        data={"code": "low_income"},
    )
    assert response.status_code == 403


def test_register_needs_start_date(app, school, login):
    client = login(school.users["psychologist"])
    response = client.post(
        f"/social-passport/student/{school.ids['SiblingStudent']}/statuses",
        data={"code": "kdn", "date_from": ""},
    )
    assert response.status_code == 400
    with app.app_context():
        statement = select(SocialStatus).where(
            SocialStatus.student_id == school.ids["SiblingStudent"]
        )
        assert db.session.scalars(statement).all() == []


def test_class_report_counts_categories_and_registers(school, login):
    client = login(school.users["teacher"])
    response = client.get(f"/social-passport/class-report.xlsx?class={school.ids['SchoolClass']}")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    counts = {row[1]: row[2] for row in sheet.iter_rows(min_row=4, values_only=True)}
    assert counts["Многодетная семья"] == 1
    assert counts["ВШУ: внутришкольный учёт"] == 1
    assert counts["КДНиЗП: комиссия по делам несовершеннолетних"] == 0


@pytest.mark.parametrize("role", ["secretary", "principal", "psychologist"])
def test_meal_benefits_seen_by_meals_circle(school, login, role):
    client = login(school.users[role])
    response = client.get(f"/meal-benefits/?class={school.ids['SchoolClass']}")
    assert response.status_code == 200
    assert "Ученикова Анна" in response.text
    assert "ВШУ" not in response.text


def test_meal_benefits_run_by_secretary_by_default():
    assert MEALS_ROLES == ("secretary",)


@pytest.mark.parametrize("role", ["medical", "teacher", "parent", "student"])
def test_meal_benefits_closed_to_others(school, login, role):
    client = login(school.users[role])
    assert client.get(f"/meal-benefits/?class={school.ids['SchoolClass']}").status_code == 403


# --- Psychologist notes ---------------------------------------------------------------


def test_psychologist_reads_notes_under_consent(app, school, login):
    client = login(school.users["psychologist"])
    before = _max_audit_id(app)
    response = client.get(f"/psychologist-notes/student/{school.ids['Student']}")
    assert response.status_code == 200
    assert NOTE_TEXT in response.text
    views = _new_audit_rows(app, before)
    assert [(row.entity, row.action) for row in views] == [("psychologist_note", "view")]
    assert views[0].changes == [{"field": "text"}]


@pytest.mark.parametrize("role", ["principal", "teacher", "medical", "school_admin", "parent"])
def test_notes_closed_to_everyone_else(school, login, role):
    client = login(school.users[role])
    assert client.get(f"/psychologist-notes/student/{school.ids['Student']}").status_code == 403


def test_notes_refused_without_consent(app, school, login):
    client = login(school.users["psychologist"])
    url = f"/psychologist-notes/student/{school.ids['OtherStudent']}"
    response = client.get(url)
    assert response.status_code == 403
    assert "согласи" in response.text
    response = client.post(url, data={"text": "Первая встреча"})
    assert response.status_code == 403
    with app.app_context():
        statement = select(PsychologistNote).where(
            PsychologistNote.student_id == school.ids["OtherStudent"]
        )
        assert db.session.scalars(statement).all() == []


def test_withdrawn_consent_closes_notes(app, school, login):
    client = login(school.users["psychologist"])
    student_id = school.ids["SiblingStudent"]
    with app.app_context():
        guardian_id = db.session.get(Student, student_id).guardians[0].id
    response = client.post(
        f"/social-passport/student/{student_id}/consents",
        data={"guardian_id": guardian_id, "given_on": "01.09.2026"},
    )
    assert response.status_code == 302
    url = f"/psychologist-notes/student/{student_id}"
    assert client.post(url, data={"text": "Первая встреча"}).status_code == 302
    with app.app_context():
        consent = db.session.scalars(
            select(PsychologyConsent).where(PsychologyConsent.student_id == student_id)
        ).one()
        consent_id = consent.id
    yesterday = (dt.date.today() - dt.timedelta(days=1)).strftime("%d.%m.%Y")
    response = client.post(
        f"/social-passport/consents/{consent_id}/withdraw", data={"withdrawn_on": yesterday}
    )
    assert response.status_code == 302
    assert client.get(url).status_code == 403
    assert client.post(url, data={"text": "Вторая встреча"}).status_code == 403


def test_note_text_never_reaches_audit(app, school):
    with app.app_context():
        texts = [str(row.changes) for row in db.session.scalars(select(PersonalDataAudit))]
    assert not any(NOTE_TEXT in text or "Первая встреча" in text for text in texts)
    assert not any(ALLERGY in text or "Орехи" in text for text in texts)
