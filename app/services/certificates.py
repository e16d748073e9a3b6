"""Certificates of attendance (справка с места учёбы): parents' requests, the secretary's
queue and the register of issued certificates.

A parent requests a certificate for their own child; a parent barred by a court cannot.
The secretary issues it from the queue or directly. Issuing writes a line in the register
with the next number of the school and academic year, and the request becomes «ready»;
handing it over or rejecting it with a reason closes the request. A new request sends
each secretary an in-app notice, and each later change sends one to the parent.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from flask import abort, url_for
from flask_appbuilder.security.sqla.models import Role, User
from flask_babel import gettext as _
from sqlalchemy import false, func, select

from app.errors import DomainError, FormErrors
from app.models import (
    AcademicYear,
    CertificateRequest,
    Enrollment,
    Guardian,
    IssuedCertificate,
    Membership,
    Student,
    db,
    membership_role,
)
from app.models.certificates import REQUEST_STATUSES
from app.security.roles import ROLES
from app.security.scope import Scope, apply_scope, scoped_get_or_404
from app.services.dates import format_date
from app.services.notifications import database_now, notify
from app.services.study_certificate import StudyPeriod, StudyYear, study_period, study_years

log = logging.getLogger(__name__)

MAX_PURPOSE_LENGTH = 255
MAX_COMMENT_LENGTH = 500
MAX_COPIES = 10
PAGE_SIZE = 100


class CertificateInputError(FormErrors):
    """One or more values of a certificate form are invalid, so nothing was saved."""


@dataclass(frozen=True)
class CertificateAccess:
    """The rights of one session over the certificates of its school.

    A session with the «Certificates» permission (the secretary) reads and processes the
    whole queue. A parent reads and sends requests for their own children who are not barred.
    """

    scope: Scope
    #: The matrix grants issuing certificates (write on «Certificates»).
    may_issue: bool
    #: The matrix grants reading the queue and the register (read on «Certificates»).
    reads_queue: bool
    #: The matrix grants sending requests (write on «CertificateRequests»).
    may_request: bool

    @property
    def is_parent(self) -> bool:
        return self.scope.level == "school" and self.scope.has_role("parent")


def status_label(status: str) -> str:
    return str(REQUEST_STATUSES.get(status, status))


# --- Which requests a session may read ---------------------------------------------------


def _own_children_ids(scope: Scope):
    """Select the ids of the parent's children, leaving out links barred by a court."""
    return select(Guardian.student_id).where(
        Guardian.school_id == scope.school_id,
        Guardian.user_id == scope.user_id,
        Guardian.is_barred.is_(False),
    )


def own_children(access: CertificateAccess) -> list[Student]:
    """List the current students a parent may request certificates for."""
    if not access.is_parent:
        return []
    statement = (
        apply_scope(select(Student), Student, access.scope)
        .where(Student.id.in_(_own_children_ids(access.scope)), Student.is_active.is_(True))
        .order_by(Student.last_name, Student.first_name)
    )
    return list(db.session.scalars(statement))


def _visible(statement, access: CertificateAccess):
    if access.reads_queue:
        return statement
    if access.is_parent:
        return statement.where(CertificateRequest.student_id.in_(_own_children_ids(access.scope)))
    return statement.where(false())


def visible_requests(access: CertificateAccess, status: str | None) -> list[CertificateRequest]:
    """List the requests the session may read, newest first, optionally of one status."""
    statement = _visible(
        apply_scope(select(CertificateRequest), CertificateRequest, access.scope), access
    )
    if status:
        statement = statement.where(CertificateRequest.status == status)
    statement = statement.order_by(CertificateRequest.id.desc()).limit(PAGE_SIZE)
    return list(db.session.scalars(statement))


def get_request_or_404(access: CertificateAccess, request_id) -> CertificateRequest:
    """Load a request the session may read; another school's or child's request raises 404."""
    request_row = scoped_get_or_404(CertificateRequest, request_id, access.scope)
    statement = _visible(
        select(CertificateRequest.id).where(CertificateRequest.id == request_row.id), access
    )
    if db.session.scalar(statement) is None:
        abort(404)
    return request_row


def get_certificate_or_404(access: CertificateAccess, certificate_id) -> IssuedCertificate:
    """Load a register line; only sessions that read the queue may, others get 404."""
    if not access.reads_queue:
        abort(404)
    return scoped_get_or_404(IssuedCertificate, certificate_id, access.scope)


def school_student_or_404(scope: Scope, student_id) -> Student:
    """Load a current student of the school for a certificate; a former one raises 404."""
    student = scoped_get_or_404(Student, student_id, scope)
    if not student.is_active:
        abort(404)
    return student


def school_students(scope: Scope) -> list[Student]:
    """List every student of the school, present and former, by name."""
    statement = apply_scope(select(Student), Student, scope).order_by(
        Student.last_name, Student.first_name
    )
    return list(db.session.scalars(statement))


def register_lines(access: CertificateAccess, year: AcademicYear | None) -> list[IssuedCertificate]:
    """List the register of the academic year, latest number first."""
    if year is None or not access.reads_queue:
        return []
    statement = (
        apply_scope(select(IssuedCertificate), IssuedCertificate, access.scope)
        .where(IssuedCertificate.year_id == year.id)
        .order_by(IssuedCertificate.register_number.desc())
    )
    return list(db.session.scalars(statement))


# --- Form values ------------------------------------------------------------------------


@dataclass
class CertificateForm:
    """The typed values of a request or direct-issue form, kept to refill the form."""

    student_id: str = ""
    purpose: str = ""
    copies: str = "1"
    comment: str = ""


def _read_copies(text: str, errors: list) -> int | None:
    text = text.strip() or "1"
    if not text.isdigit() or not 1 <= int(text) <= MAX_COPIES:
        errors.append(
            _(
                "Number of copies «%(value)s» is invalid: enter a whole number from 1 to %(max)s.",
                value=text,
                max=MAX_COPIES,
            )
        )
        return None
    return int(text)


def _read_text(text: str, limit: int, label: str, errors: list) -> str | None:
    text = text.strip()
    if len(text) > limit:
        errors.append(
            _(
                "%(field)s is too long: %(length)s characters, at most %(limit)s allowed.",
                field=label,
                length=len(text),
                limit=limit,
            )
        )
    return text or None


def _read_form(form: CertificateForm) -> tuple[str | None, int | None, str | None]:
    errors: list[str] = []
    purpose = _read_text(form.purpose, MAX_PURPOSE_LENGTH, _("Purpose"), errors)
    copies = _read_copies(form.copies, errors)
    comment = _read_text(form.comment, MAX_COMMENT_LENGTH, _("Comment"), errors)
    if errors:
        raise CertificateInputError(errors)
    return purpose, copies, comment


# --- Requests and issue -----------------------------------------------------------------


def submit_request(access: CertificateAccess, form: CertificateForm) -> CertificateRequest:
    """Queue a parent's request for a certificate of attendance of their child."""
    children = {str(child.id): child for child in own_children(access)}
    if not access.may_request or not children:
        abort(404)
    student = children.get(form.student_id.strip())
    errors = []
    if student is None:
        errors.append(_("Choose the child the certificate is for."))
    try:
        purpose, copies, comment = _read_form(form)
    except CertificateInputError as error:
        errors.extend(error.messages)
    if errors:
        raise CertificateInputError(errors)

    request_row = CertificateRequest(
        school_id=access.scope.school_id,
        student_id=student.id,
        author_id=access.scope.user_id,
        purpose=purpose,
        copies=copies,
        comment=comment,
        status="new",
    )
    db.session.add(request_row)
    db.session.flush()
    _notify_secretaries(request_row, student)
    log.info(
        "certificate request %s for student %s sent by user %s",
        request_row.id,
        student.id,
        access.scope.user_id,
    )
    db.session.commit()
    return request_row


def year_of(school_id: int, day: dt.date, lock: bool = False) -> AcademicYear:
    """Return the school's academic year that contains ``day``; raise when there is none.

    ``lock`` takes the year's row lock, so that concurrent issues number one at a time.
    """
    statement = select(AcademicYear).where(
        AcademicYear.school_id == school_id,
        AcademicYear.start_date <= day,
        AcademicYear.end_date >= day,
    )
    if lock:
        statement = statement.with_for_update()
    year = db.session.scalars(statement).first()
    if year is None:
        raise DomainError(
            _(
                "No academic year contains %(date)s: add the year in the school settings "
                "before issuing certificates.",
                date=format_date(day),
            )
        )
    return year


def _next_register_number(year: AcademicYear) -> int:
    """Return the next register number of the year; the caller holds the year's row lock."""
    last = db.session.scalar(
        select(func.max(IssuedCertificate.register_number)).where(
            IssuedCertificate.school_id == year.school_id,
            IssuedCertificate.year_id == year.id,
        )
    )
    return (last or 0) + 1


def _last_class_name(student: Student) -> str | None:
    """Return the class of the student's latest stay, for a student who has left."""
    stay = db.session.scalars(
        select(Enrollment)
        .where(Enrollment.school_id == student.school_id, Enrollment.student_id == student.id)
        .order_by(Enrollment.start_date.desc())
    ).first()
    return stay.school_class.name if stay is not None else None


def _add_certificate(
    scope: Scope, student: Student, purpose, copies, today: dt.date, kind: str = "attendance"
):
    if student.school_class is not None:
        class_name = student.school_class.name
    else:
        class_name = _last_class_name(student) if kind == "study" else None
    if class_name is None:
        raise DomainError(
            _("The student has no class: admit them to a class before issuing a certificate.")
        )
    year = year_of(student.school_id, today, lock=True)
    certificate = IssuedCertificate(
        school_id=student.school_id,
        student_id=student.id,
        year_id=year.id,
        kind=kind,
        register_number=_next_register_number(year),
        issued_on=today,
        purpose=purpose,
        copies=copies,
        class_name=class_name,
        issued_by_id=scope.user_id,
    )
    db.session.add(certificate)
    db.session.flush()
    log.info(
        "certificate %s (%s, register number %s) issued for student %s by user %s",
        certificate.id,
        kind,
        certificate.register_number,
        student.id,
        scope.user_id,
    )
    return certificate


def issue_study_certificate(
    access: CertificateAccess, student_id, today: dt.date
) -> IssuedCertificate:
    """Issue a certificate of study, for a current student or one who has left."""
    if not access.may_issue:
        abort(404)
    student = scoped_get_or_404(Student, student_id, access.scope)
    certificate = _add_certificate(access.scope, student, None, 1, today, kind="study")
    db.session.commit()
    return certificate


def issue_directly(
    access: CertificateAccess, form: CertificateForm, today: dt.date
) -> IssuedCertificate:
    """Issue a certificate without a request, from the secretary's own form."""
    if not access.may_issue:
        abort(404)
    student = school_student_or_404(access.scope, form.student_id)
    purpose, copies, _comment = _read_form(form)
    certificate = _add_certificate(access.scope, student, purpose, copies, today)
    db.session.commit()
    return certificate


def _require_status(request_row: CertificateRequest, *statuses: str) -> None:
    if request_row.status not in statuses:
        raise DomainError(
            _(
                "The request is already «%(status)s»: reload the page to see its state.",
                status=status_label(request_row.status),
            )
        )


def _notify_author(request_row: CertificateRequest, text: str) -> None:
    if request_row.author_id is None:
        return
    notify(
        request_row.school_id,
        request_row.author_id,
        "certificate",
        text,
        url_for("CertificateRequestView.show", request_id=request_row.id),
        student_id=request_row.student_id,
    )


def _secretary_user_ids(school_id: int) -> list[int]:
    """List the logins with an active secretary membership in the school."""
    statement = (
        select(Membership.user_id)
        .join(membership_role, membership_role.c.membership_id == Membership.id)
        .join(Role, Role.id == membership_role.c.role_id)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.school_id == school_id,
            Membership.is_active.is_(True),
            User.active.is_(True),
            Role.name == ROLES["secretary"].name,
        )
        .distinct()
    )
    return list(db.session.scalars(statement))


def _notify_secretaries(request_row: CertificateRequest, student: Student) -> None:
    text = _(
        "New request for a certificate of attendance (%(name)s, %(class_name)s).",
        name=student.short_name,
        class_name=student.school_class.name if student.school_class else "—",
    )
    link = url_for("CertificateRequestView.show", request_id=request_row.id)
    for user_id in _secretary_user_ids(request_row.school_id):
        notify(request_row.school_id, user_id, "certificate", text, link)


def issue_for_request(
    access: CertificateAccess, request_row: CertificateRequest, today: dt.date
) -> IssuedCertificate:
    """Issue the certificate of a request and set the request to «ready»."""
    if not access.may_issue:
        abort(404)
    _require_status(request_row, "new")
    certificate = _add_certificate(
        access.scope, request_row.student, request_row.purpose, request_row.copies, today
    )
    request_row.status = "ready"
    request_row.certificate_id = certificate.id
    request_row.decided_at = database_now()
    _notify_author(
        request_row,
        _(
            "The certificate of attendance for %(name)s is ready (№ %(number)s): "
            "collect it from the secretary.",
            name=request_row.student.short_name,
            number=certificate.register_number,
        ),
    )
    db.session.commit()
    return certificate


def hand_over(access: CertificateAccess, request_row: CertificateRequest) -> None:
    """Record that the ready certificate was handed to the parent."""
    if not access.may_issue:
        abort(404)
    _require_status(request_row, "ready")
    request_row.status = "handed_over"
    _notify_author(
        request_row,
        _(
            "The certificate of attendance for %(name)s is handed over.",
            name=request_row.student.short_name,
        ),
    )
    log.info("certificate request %s handed over by user %s", request_row.id, access.scope.user_id)
    db.session.commit()


def reject_request(access: CertificateAccess, request_row: CertificateRequest, reason: str) -> None:
    """Reject a new request; the reason is required and shown to the parent."""
    if not access.may_issue:
        abort(404)
    _require_status(request_row, "new")
    errors: list[str] = []
    reason = _read_text(reason, MAX_COMMENT_LENGTH, _("Reason"), errors) or ""
    if not reason and not errors:
        errors.append(_("Reason is missing: write why the request is rejected."))
    if errors:
        raise CertificateInputError(errors)

    request_row.status = "rejected"
    request_row.reject_reason = reason
    request_row.decided_at = database_now()
    _notify_author(
        request_row,
        _(
            "The request for a certificate of attendance for %(name)s is rejected: %(reason)s",
            name=request_row.student.short_name,
            reason=reason,
        ),
    )
    log.info("certificate request %s rejected by user %s", request_row.id, access.scope.user_id)
    db.session.commit()


# --- The printed document ---------------------------------------------------------------


@dataclass
class AttendanceCertificate:
    """The values printed on a certificate of attendance."""

    certificate: IssuedCertificate
    school_name: str
    school_details: list[tuple[str, str]]
    statement: str
    purpose_text: str


def _school_details(school) -> list[tuple[str, str]]:
    pairs = [
        (_("Address"), school.address),
        (_("Phone"), school.phone),
        (_("E-mail"), school.email),
        (_("INN"), school.inn),
        (_("OGRN"), school.ogrn),
    ]
    if school.licence_number:
        licence = school.licence_number
        if school.licence_date:
            licence = _(
                "№ %(number)s of %(date)s",
                number=school.licence_number,
                date=format_date(school.licence_date),
            )
        pairs.append((_("Licence"), licence))
    return [(label, value) for label, value in pairs if value]


def attendance_certificate(certificate: IssuedCertificate) -> AttendanceCertificate:
    """Compose a certificate of attendance from the register line and the school card."""
    school = certificate.school
    student = certificate.student
    school_name = school.full_name or school.name
    birth_date = format_date(student.birth_date) if student.birth_date else "—"
    values = {
        "name": student.full_name,
        "birth_date": birth_date,
        "class_name": certificate.class_name,
        "school": school_name,
        "year": certificate.year.name,
    }
    if student.sex == "m":
        statement = _(
            "This is to certify that %(name)s, born %(birth_date)s, is a student of class "
            "%(class_name)s of %(school)s in the %(year)s academic year (he).",
            **values,
        )
    else:
        statement = _(
            "This is to certify that %(name)s, born %(birth_date)s, is a student of class "
            "%(class_name)s of %(school)s in the %(year)s academic year (she).",
            **values,
        )
    if certificate.purpose:
        purpose_text = _(
            "The certificate is issued to be presented %(purpose)s.", purpose=certificate.purpose
        )
    else:
        purpose_text = _("The certificate is issued to be presented where required.")
    return AttendanceCertificate(
        certificate=certificate,
        school_name=school_name,
        school_details=_school_details(school),
        statement=statement,
        purpose_text=purpose_text,
    )


@dataclass
class StudyCertificate:
    """The values printed on a certificate of study."""

    certificate: IssuedCertificate
    school_name: str
    school_details: list[tuple[str, str]]
    period: StudyPeriod
    years: list[StudyYear]


def study_certificate(certificate: IssuedCertificate) -> StudyCertificate:
    """Compose a certificate of study from the register line, the school card and the marks."""
    school = certificate.school
    return StudyCertificate(
        certificate=certificate,
        school_name=school.full_name or school.name,
        school_details=_school_details(school),
        period=study_period(certificate),
        years=study_years(certificate),
    )
