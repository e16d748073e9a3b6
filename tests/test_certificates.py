"""Certificates of attendance: a parent's request, the secretary's queue and register, and
the printed document.

Each test builds a school of its own. The factory gives every school one register line
(№ 1 of 2026/2027) and one ready request of the first child, so the next number is 2.
The school's year is widened to contain today, because pages issue with today's date.
"""

import datetime as dt
import itertools
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select

from app.models import (
    AcademicYear,
    CertificateRequest,
    Course,
    CurriculumHours,
    Enrollment,
    FinalMark,
    Guardian,
    IssuedCertificate,
    Notification,
    School,
    SchoolClass,
    Student,
    db,
)
from app.security.scope import Scope
from app.services.certificates import CertificateAccess, CertificateForm, issue_directly
from tests.factories import add_course_with_lesson, add_membership, build_extra_school, make_user

_numbers = itertools.count(1)


class _TestIdText(HTMLParser):
    """Collect the text inside each element that has a data-testid attribute."""

    def __init__(self):
        super().__init__()
        self.texts: dict[str, str] = {}
        self._open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "input", "img", "meta", "link", "hr", "col"):
            return
        self._open.append((tag, dict(attrs).get("data-testid")))
        for _, test_id in self._open:
            if test_id is not None:
                self.texts.setdefault(test_id, "")

    def handle_endtag(self, tag):
        while self._open:
            open_tag, _test_id = self._open.pop()
            if open_tag == tag:
                break

    def handle_data(self, data):
        for _tag, test_id in self._open:
            if test_id is not None:
                self.texts[test_id] += data


def texts_by_test_id(html: str) -> dict[str, str]:
    parser = _TestIdText()
    parser.feed(html)
    return {key: " ".join(value.split()) for key, value in parser.texts.items()}


@pytest.fixture()
def school(app):
    """A school of its own whose year contains today, with a principal and card details."""
    with app.app_context():
        built = build_extra_school(f"cert-{next(_numbers)}")
        today = dt.date.today()
        year = db.session.get(AcademicYear, built.ids["AcademicYear"])
        year.start_date = min(year.start_date, today)
        year.end_date = max(year.end_date, today)
        school_row = db.session.get(School, built.school_id)
        school_row.full_name = "МБОУ «Средняя школа № 5»"
        school_row.inn = "7701234567"
        school_row.principal_name = "Петрова И. С."
        student = db.session.get(Student, built.ids["Student"])
        student.middle_name = "Сергеевна"
        student.birth_date = dt.date(2015, 3, 14)
        db.session.commit()
    return built


def _request_count(app, school_id, **filters) -> int:
    with app.app_context():
        statement = select(func.count(CertificateRequest.id)).where(
            CertificateRequest.school_id == school_id
        )
        for name, value in filters.items():
            statement = statement.where(getattr(CertificateRequest, name) == value)
        return db.session.scalar(statement)


def _latest_request(app, school_id) -> CertificateRequest:
    with app.app_context():
        row = db.session.scalars(
            select(CertificateRequest)
            .where(CertificateRequest.school_id == school_id)
            .order_by(CertificateRequest.id.desc())
        ).first()
        db.session.expunge(row)
        return row


def _send_request(client, student_id, purpose="в бассейн «Дельфин»", copies="2"):
    return client.post(
        "/certificate-requests/new",
        data={"student_id": student_id, "purpose": purpose, "copies": copies, "comment": ""},
    )


def test_request_flow_issues_next_register_number(app, school, login):
    parent = login(school.users["parent"])
    response = _send_request(parent, school.ids["Student"])
    assert response.status_code == 302
    request_row = _latest_request(app, school.school_id)
    assert request_row.status == "new"
    assert request_row.copies == 2

    secretary = login(school.users["secretary"])
    queue = secretary.get("/certificate-requests/?status=new").get_data(as_text=True)
    assert f'data-request="{request_row.id}"' in queue

    response = secretary.post(f"/certificate-requests/{request_row.id}/issue")
    assert response.status_code == 302
    issued = _latest_request(app, school.school_id)
    assert issued.status == "ready"
    with app.app_context():
        certificate = db.session.get(IssuedCertificate, issued.certificate_id)
        assert certificate.register_number == 2
        assert certificate.purpose == "в бассейн «Дельфин»"
        assert certificate.class_name == "5А"

    response = secretary.post(f"/certificate-requests/{request_row.id}/hand-over")
    assert response.status_code == 302
    assert _latest_request(app, school.school_id).status == "handed_over"


def test_parent_sees_status_and_notice(app, school, login):
    parent = login(school.users["parent"])
    _send_request(parent, school.ids["Student"])
    request_row = _latest_request(app, school.school_id)
    secretary = login(school.users["secretary"])
    secretary.post(f"/certificate-requests/{request_row.id}/issue")

    page = parent.get(f"/certificate-requests/{request_row.id}").get_data(as_text=True)
    texts = texts_by_test_id(page)
    assert texts["request-status"] == "Готова"
    assert texts["register-number"].startswith("2 ")
    with app.app_context():
        notice = db.session.scalars(
            select(Notification).where(
                Notification.school_id == school.school_id,
                Notification.user_id == request_row.author_id,
                Notification.kind == "certificate",
            )
        ).one()
        assert notice.link == f"/certificate-requests/{request_row.id}"
        assert notice.text == (
            "Справка с места учёбы готова (Ученикова А. С., № 2): получите её у секретаря."
        )


def test_new_request_notifies_secretary(app, school, login):
    _send_request(login(school.users["parent"]), school.ids["Student"])
    request_row = _latest_request(app, school.school_id)
    with app.app_context():
        secretary_id = db.session.scalar(
            select(User.id).where(User.username == school.users["secretary"])
        )
        notice = db.session.scalars(
            select(Notification).where(
                Notification.school_id == school.school_id,
                Notification.user_id == secretary_id,
                Notification.kind == "certificate",
            )
        ).one()
    assert notice.link == f"/certificate-requests/{request_row.id}"
    assert notice.text == "Новая заявка на справку с места учёбы (Ученикова А. С., 5А)."


def test_reject_requires_reason(app, school, login):
    parent = login(school.users["parent"])
    _send_request(parent, school.ids["Student"])
    request_row = _latest_request(app, school.school_id)
    secretary = login(school.users["secretary"])

    response = secretary.post(f"/certificate-requests/{request_row.id}/reject", data={"reason": ""})
    assert response.status_code == 400
    assert "Не указана причина" in response.get_data(as_text=True)
    assert _latest_request(app, school.school_id).status == "new"

    reason = "ребёнок выбыл из школы"
    response = secretary.post(
        f"/certificate-requests/{request_row.id}/reject", data={"reason": reason}
    )
    assert response.status_code == 302
    rejected = _latest_request(app, school.school_id)
    assert rejected.status == "rejected"
    assert rejected.reject_reason == reason
    page = parent.get(f"/certificate-requests/{request_row.id}").get_data(as_text=True)
    assert texts_by_test_id(page)["reject-reason"] == reason


def test_issue_twice_is_refused(app, school, login):
    parent = login(school.users["parent"])
    _send_request(parent, school.ids["Student"])
    request_row = _latest_request(app, school.school_id)
    secretary = login(school.users["secretary"])
    secretary.post(f"/certificate-requests/{request_row.id}/issue")
    secretary.post(f"/certificate-requests/{request_row.id}/issue", follow_redirects=False)
    with app.app_context():
        count = db.session.scalar(
            select(func.count(IssuedCertificate.id)).where(
                IssuedCertificate.school_id == school.school_id
            )
        )
    assert count == 2


def test_direct_issue_numbers_follow_each_other(app, school, login):
    secretary = login(school.users["secretary"])
    for expected in (2, 3, 4):
        response = secretary.post(
            "/certificates/issue",
            data={"student_id": school.ids["OtherStudent"], "purpose": "", "copies": "1"},
        )
        assert response.status_code == 302
        with app.app_context():
            last = db.session.scalar(
                select(func.max(IssuedCertificate.register_number)).where(
                    IssuedCertificate.school_id == school.school_id
                )
            )
        assert last == expected
    register = secretary.get("/certificates/").get_data(as_text=True)
    assert re.findall(r'data-number="(\d+)"', register) == ["4", "3", "2", "1"]


def test_register_numbers_are_per_school(app, school, login):
    with app.app_context():
        other = build_extra_school(f"cert-other-{next(_numbers)}")
        year = db.session.get(AcademicYear, other.ids["AcademicYear"])
        today = dt.date.today()
        year.start_date = min(year.start_date, today)
        year.end_date = max(year.end_date, today)
        db.session.commit()
    login(school.users["secretary"]).post(
        "/certificates/issue", data={"student_id": school.ids["Student"], "copies": "1"}
    )
    login(other.users["secretary"]).post(
        "/certificates/issue", data={"student_id": other.ids["Student"], "copies": "1"}
    )
    with app.app_context():
        for built in (school, other):
            numbers = db.session.scalars(
                select(IssuedCertificate.register_number)
                .where(IssuedCertificate.school_id == built.school_id)
                .order_by(IssuedCertificate.register_number)
            ).all()
            assert numbers == [1, 2]


def test_register_numbers_restart_each_year(app, school):
    with app.app_context():
        old_year = db.session.get(AcademicYear, school.ids["AcademicYear"])
        next_year = AcademicYear(
            school_id=school.school_id,
            name="2099/2100",
            start_date=dt.date(2099, 9, 1),
            end_date=dt.date(2100, 5, 31),
        )
        db.session.add(next_year)
        db.session.commit()
        scope = Scope(
            user_id=None,
            membership_id=None,
            level="school",
            school_id=school.school_id,
            role_codes=frozenset({"secretary"}),
        )
        access = CertificateAccess(scope, may_issue=True, reads_queue=True, may_request=False)
        form = CertificateForm(student_id=str(school.ids["Student"]))
        first = issue_directly(access, form, dt.date(2099, 10, 1))
        second = issue_directly(access, form, dt.date(2099, 10, 2))
        assert (first.register_number, second.register_number) == (1, 2)
        assert first.year_id == next_year.id
        assert old_year.id != next_year.id


def test_invalid_copies_named_in_message(app, school, login):
    parent = login(school.users["parent"])
    response = _send_request(parent, school.ids["Student"], copies="25")
    assert response.status_code == 400
    assert "«25»" in response.get_data(as_text=True)
    assert _request_count(app, school.school_id, status="new") == 0


def test_parent_cannot_request_for_other_child(app, school, login):
    parent = login(school.users["parent"])
    response = _send_request(parent, school.ids["OtherStudent"])
    assert response.status_code == 400
    assert _request_count(app, school.school_id, status="new") == 0


def test_barred_parent_cannot_request(app, school, login):
    with app.app_context():
        for link in db.session.scalars(
            select(Guardian).where(Guardian.student_id == school.ids["Student"])
        ):
            link.is_barred = True
        db.session.commit()
    parent = login(school.users["parent"])
    form = parent.get("/certificate-requests/new").get_data(as_text=True)
    assert f'value="{school.ids["Student"]}"' not in form
    response = _send_request(parent, school.ids["Student"])
    assert response.status_code == 400
    assert _request_count(app, school.school_id, status="new") == 0
    # The ready request of the factory is no longer shown to the barred parent.
    ready = _latest_request(app, school.school_id)
    assert parent.get(f"/certificate-requests/{ready.id}").status_code == 404


def test_another_parent_gets_404(app, school, login):
    with app.app_context():
        school_row = db.session.get(School, school.school_id)
        user = make_user(f"cert-parent-{school.school_id}")
        add_membership(user, "parent", school=school_row)
        db.session.add(
            Guardian(
                school_id=school.school_id,
                student_id=school.ids["OtherStudent"],
                user_id=user.id,
                last_name="Другая",
                first_name="Анна",
                kind="mother",
            )
        )
        db.session.commit()
        username = user.username
    first_parent = login(school.users["parent"])
    _send_request(first_parent, school.ids["Student"])
    request_row = _latest_request(app, school.school_id)

    other_parent = login(username)
    assert other_parent.get(f"/certificate-requests/{request_row.id}").status_code == 404
    listing = other_parent.get("/certificate-requests/").get_data(as_text=True)
    assert f'data-request="{request_row.id}"' not in listing
    assert other_parent.post(f"/certificate-requests/{request_row.id}/issue").status_code == 404


def test_parent_cannot_issue_own_request(app, school, login):
    parent = login(school.users["parent"])
    _send_request(parent, school.ids["Student"])
    request_row = _latest_request(app, school.school_id)
    assert parent.post(f"/certificate-requests/{request_row.id}/issue").status_code == 404
    assert _latest_request(app, school.school_id).status == "new"


def test_other_school_student_is_not_found(app, school, world, login):
    secretary = login(school.users["secretary"])
    response = secretary.post(
        "/certificates/issue", data={"student_id": world["B"].ids["Student"], "copies": "1"}
    )
    assert response.status_code == 404
    foreign_request = world["B"].ids["CertificateRequest"]
    assert secretary.get(f"/certificate-requests/{foreign_request}").status_code == 404
    foreign_certificate = world["B"].ids["IssuedCertificate"]
    assert secretary.get(f"/certificates/{foreign_certificate}/print").status_code == 404


def test_teacher_has_no_register(app, school, login):
    teacher = login(school.users["teacher"])
    assert teacher.get("/certificates/").status_code == 403
    assert teacher.get("/certificate-requests/").status_code == 403


def test_printed_certificate_content(app, school, login):
    secretary = login(school.users["secretary"])
    response = secretary.post(
        "/certificates/issue",
        data={"student_id": school.ids["Student"], "purpose": "", "copies": "1"},
    )
    assert response.status_code == 302
    page = secretary.get(response.location).get_data(as_text=True)
    texts = texts_by_test_id(page)
    today = dt.date.today().strftime("%d.%m.%Y")

    assert texts["school-name"] == "МБОУ «Средняя школа № 5»"
    assert "ИНН: 7701234567" in texts["school-details"]
    assert texts["number"] == f"№ 2 от {today}"
    statement = texts["statement"]
    assert "Ученикова Анна Сергеевна" in statement
    assert "14.03.2015" in statement
    assert "5А" in statement
    assert "2026/2027" in statement
    # The school's name follows a colon, so it stays in the nominative case.
    assert "действительно обучается в 5А классе" in statement
    assert statement.endswith("Образовательная организация: МБОУ «Средняя школа № 5».")
    assert texts["purpose"] == "Справка выдана для предъявления по месту требования."
    assert texts["principal"] == "Петрова И. С."


def test_printed_certificate_names_purpose(app, school, login):
    secretary = login(school.users["secretary"])
    response = secretary.post(
        "/certificates/issue",
        data={"student_id": school.ids["Student"], "purpose": "в МФЦ", "copies": "1"},
    )
    page = secretary.get(response.location).get_data(as_text=True)
    assert texts_by_test_id(page)["purpose"] == "Справка выдана для предъявления в МФЦ."


def _add_study_history(school) -> None:
    """Year marks in 2026/2027 (5А) and 2025/2026 (4А), then the student's departure.

    Mathematics in grade 5 has 5 hours a week in the factory's curriculum; history has
    none. In 2025/2026 class 4А has its own row of 4 hours beside the grade's 3.
    """
    sid = school.school_id
    student_id = school.ids["Student"]
    fifth = db.session.get(SchoolClass, school.ids["SchoolClass"])
    maths_id = school.ids["Subject"]
    db.session.add(
        FinalMark(
            school_id=sid,
            student_id=student_id,
            course_id=school.ids["Course"],
            kind="year",
            value="4",
        )
    )
    history, _lesson = add_course_with_lesson(school, "История")
    db.session.add(
        FinalMark(
            school_id=sid, student_id=student_id, course_id=history.id, kind="year", value="5"
        )
    )

    previous = AcademicYear(
        school_id=sid,
        name="2025/2026",
        start_date=dt.date(2025, 9, 1),
        end_date=dt.date(2026, 5, 31),
    )
    db.session.add(previous)
    db.session.flush()
    fourth = SchoolClass(school_id=sid, year_id=previous.id, grade=4, letter="А", name="4А")
    db.session.add(fourth)
    db.session.flush()
    old_maths = Course(
        school_id=sid,
        year_id=previous.id,
        subject_id=maths_id,
        class_id=fourth.id,
        kind="lesson",
        assessment="marks",
        hours_per_week=Decimal("4"),
    )
    db.session.add(old_maths)
    db.session.flush()
    db.session.add_all(
        [
            CurriculumHours(
                school_id=sid,
                year_id=previous.id,
                subject_id=maths_id,
                grade=4,
                hours_per_week=Decimal("3"),
            ),
            CurriculumHours(
                school_id=sid,
                year_id=previous.id,
                subject_id=maths_id,
                grade=4,
                class_id=fourth.id,
                hours_per_week=Decimal("4"),
            ),
            FinalMark(
                school_id=sid, student_id=student_id, course_id=old_maths.id, kind="year", value="5"
            ),
        ]
    )
    stay = db.session.scalars(
        select(Enrollment).where(Enrollment.school_id == sid, Enrollment.student_id == student_id)
    ).one()
    stay.end_date = dt.date(2026, 12, 1)
    stay.end_kind = "departure"
    stay.end_order_number = "40-в"
    stay.end_order_date = dt.date(2026, 12, 1)
    student = db.session.get(Student, student_id)
    student.is_active = False
    student.class_id = None
    assert fifth.name == "5А"
    db.session.commit()


def test_study_certificate_lists_year_marks(app, school, login):
    with app.app_context():
        _add_study_history(school)
    secretary = login(school.users["secretary"])
    response = secretary.post(
        "/certificates/issue-study", data={"student_id": school.ids["Student"]}
    )
    assert response.status_code == 302
    page = secretary.get(response.location).get_data(as_text=True)
    texts = texts_by_test_id(page)
    assert texts["number"].startswith("№ 2 от ")
    assert texts["period"] == (
        "обучался(ась) в МБОУ «Средняя школа № 5» с 01.09.2026 по 01.12.2026."
    )

    years = re.findall(r'data-testid="year">([^<]+)<', page)
    assert years == ["2025/2026 учебный год, 4А класс", "2026/2027 учебный год, 5А класс"]
    rows = re.findall(
        r'data-testid="subject">([^<]+)</td>\s*<td data-testid="mark">([^<]+)</td>\s*'
        r'<td data-testid="hours">([^<]+)</td>',
        page,
    )
    assert rows == [
        ("Математика", "5", "4.0"),
        ("История", "5", "—"),
        ("Математика", "4", "5.0"),
    ]
    with app.app_context():
        certificate = db.session.scalars(
            select(IssuedCertificate).where(
                IssuedCertificate.school_id == school.school_id,
                IssuedCertificate.kind == "study",
            )
        ).one()
        assert certificate.class_name == "5А"


def test_study_certificate_of_other_school_is_not_found(app, school, world, login):
    secretary = login(school.users["secretary"])
    response = secretary.post(
        "/certificates/issue-study", data={"student_id": world["B"].ids["Student"]}
    )
    assert response.status_code == 404


def test_diary_links_parent_to_request(app, school, login):
    page = login(school.users["parent"]).get(f"/diary/?student={school.ids['Student']}")
    assert page.status_code == 200
    link = f'href="/certificate-requests/new?student={school.ids["Student"]}"'
    assert link in page.get_data(as_text=True)


def test_diary_has_no_request_link_for_teacher(app, school, login):
    page = login(school.users["teacher"]).get(f"/diary/?student={school.ids['Student']}")
    assert 'data-testid="certificate-request-link"' not in page.get_data(as_text=True)


def test_principal_reads_register_without_forms(app, school, login):
    principal = login(school.users["principal"])
    page = principal.get("/certificates/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'data-number="1"' in text
    assert 'data-testid="issue"' not in text
    response = principal.post(
        "/certificates/issue", data={"student_id": school.ids["Student"], "copies": "1"}
    )
    assert response.status_code == 403
