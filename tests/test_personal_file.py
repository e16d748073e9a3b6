"""Documents of a student's personal file: checks, screens, tenancy and audit."""

import datetime as dt
import html
import io
import re

import openpyxl
import pytest
from sqlalchemy import func, select

from app.errors import DomainError
from app.models import PersonalDataAudit, Student, StudentDocument, db
from app.services.personal_file import check_document
from tests.factories import build_extra_school

BIRTH_DATE = dt.date(2014, 5, 20)
TODAY = dt.date(2026, 12, 5)


@pytest.fixture(scope="module")
def school(app, world):
    with app.app_context():
        built = build_extra_school("pf1")
        student = db.session.get(Student, built.ids["Student"])
        student.birth_date = BIRTH_DATE
        other_document = StudentDocument(
            school_id=built.school_id,
            student_id=built.ids["OtherStudent"],
            kind="passport",
            series="4511",
            number="777777",
        )
        db.session.add(other_document)
        db.session.commit()
        return built


def _document(**values) -> StudentDocument:
    student = Student(birth_date=BIRTH_DATE)
    return StudentDocument(student=student, **values)


def _message(document) -> str:
    with pytest.raises(DomainError) as raised:
        check_document(document, today=TODAY)
    return str(raised.value)


# --- Checks -------------------------------------------------------------------------


def test_valid_documents_are_normalised(app):
    with app.test_request_context():
        passport = _document(kind="passport", series=" 45 10 ", number="123456")
        check_document(passport, today=TODAY)
        certificate = _document(kind="birth_certificate", series="iv-мю", number="654321")
        check_document(certificate, today=TODAY)
        other = _document(kind="other", series="АБ-12", number="7", issue_date=TODAY)
        check_document(other, today=TODAY)
    assert passport.series == "4510"
    assert certificate.series == "IV-МЮ"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"kind": "passport", "series": "451", "number": "123456"},
            "Серия паспорта «451» указана неверно",
        ),
        (
            {"kind": "passport", "series": "4510", "number": "12345"},
            "Номер документа «12345» указан неверно",
        ),
        (
            {"kind": "birth_certificate", "series": "4-МЮ", "number": "123456"},
            "Серия свидетельства о рождении «4-МЮ» указана неверно",
        ),
        (
            {"kind": "birth_certificate", "series": "IV-MU", "number": "123456"},
            "Серия свидетельства о рождении «IV-MU» указана неверно",
        ),
        (
            {"kind": "birth_certificate", "series": "IV-МЮ", "number": "12З456"},
            "Номер документа «12З456» указан неверно",
        ),
        (
            {"kind": "snils", "issue_date": dt.date(2026, 12, 6)},
            "Дата выдачи 06.12.2026 ещё не наступила",
        ),
        (
            {"kind": "passport", "issue_date": dt.date(2014, 5, 19)},
            "Дата выдачи 19.05.2014 раньше даты рождения учащегося 20.05.2014",
        ),
    ],
)
def test_invalid_value_message(app, values, expected):
    with app.test_request_context():
        message = _message(_document(**values))
    assert message.startswith(expected)


# --- Screens ---------------------------------------------------------------------------


def _form(student_id: int, **values) -> dict:
    form = {
        "student": str(student_id),
        "kind": "passport",
        "series": "4510",
        "number": "123456",
        "issued_by": "ГУ МВД России по г. Москве",
        "issue_date": "2024-06-01",
        "note": "",
    }
    return {**form, **values}


def _documents(app, school) -> list[tuple]:
    with app.app_context():
        statement = select(
            StudentDocument.kind, StudentDocument.series, StudentDocument.number
        ).where(StudentDocument.school_id == school.school_id)
        return sorted(db.session.execute(statement).all())


def test_secretary_add_is_audited(app, school, login):
    client = login(school.users["secretary"])
    student_id = school.ids["Student"]
    with app.app_context():
        last_audit = db.session.scalar(select(func.max(PersonalDataAudit.id))) or 0
    response = client.post("/student-documents/add", data=_form(student_id))
    assert response.status_code == 302
    assert ("passport", "4510", "123456") in _documents(app, school)
    with app.app_context():
        row = db.session.scalars(
            select(PersonalDataAudit).where(
                PersonalDataAudit.id > last_audit,
                PersonalDataAudit.entity == "student_document",
            )
        ).one()
        assert (row.action, row.person_kind, row.person_id) == ("create", "student", student_id)
        assert row.school_id == school.school_id
        assert {"field": "number", "old": None, "new": "123456"} in row.changes


def test_invalid_add_saves_nothing(app, school, login):
    client = login(school.users["secretary"])
    before = _documents(app, school)
    response = client.post(
        "/student-documents/add",
        data=_form(school.ids["Student"], series="45", issue_date="2020-01-01"),
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Серия паспорта «45» указана неверно" in page
    assert _documents(app, school) == before


def test_school_admin_edits_documents(app, school, login):
    client = login(school.users["school_admin"])
    assert client.get("/student-documents/list/").status_code == 200
    response = client.post(
        "/student-documents/add",
        data=_form(school.ids["Student"], kind="snils", series="", number="", issue_date=""),
    )
    assert response.status_code == 302
    assert ("snils", None, None) in _documents(app, school)


@pytest.mark.parametrize("role", ["teacher", "principal", "medical", "parent", "student"])
def test_other_roles_get_403(school, login, role):
    client = login(school.users[role])
    assert client.get("/student-documents/list/").status_code == 403


def test_card_link_for_secretary_only(school, login):
    url = f"/students/show/{school.ids['Student']}"
    secretary = login(school.users["secretary"])
    secretary_page = secretary.get(url).get_data(as_text=True)
    link = re.search(r'href="([^"]+)" data-testid="documents-link"', secretary_page)
    assert link is not None
    documents_response = secretary.get(html.unescape(link.group(1)))
    assert documents_response.status_code == 200
    documents_page = documents_response.get_data(as_text=True)
    assert "IV-МЮ" in documents_page
    assert "777777" not in documents_page
    teacher_response = login(school.users["teacher"]).get(url)
    assert teacher_response.status_code == 200
    assert 'data-testid="documents-link"' not in teacher_response.get_data(as_text=True)


def test_foreign_document_is_404(school, world, login):
    client = login(school.users["secretary"])
    foreign_id = world["A"].ids["StudentDocument"]
    assert client.get(f"/student-documents/show/{foreign_id}").status_code == 404
    assert client.get(f"/student-documents/edit/{foreign_id}").status_code == 404
    response = client.post(
        f"/student-documents/edit/{foreign_id}", data=_form(world["A"].ids["Student"])
    )
    assert response.status_code == 404


def test_foreign_student_is_rejected(app, school, world, login):
    client = login(school.users["secretary"])
    before = _documents(app, school)
    response = client.post("/student-documents/add", data=_form(world["A"].ids["Student"]))
    assert response.status_code in (200, 404)
    assert _documents(app, school) == before


def test_export_lists_documents(school, login):
    client = login(school.users["secretary"])
    response = client.get("/student-documents/export.xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    values = {cell for row in sheet.iter_rows(values_only=True) for cell in row}
    assert "IV-МЮ" in values
    assert "Свидетельство о рождении" in values
