"""The secretary's documents: parents' requests for certificates of attendance, the queue,
the register, the printed certificates of attendance and of study, and the extract of
current marks."""

import datetime as dt

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.errors import DomainError
from app.models import db
from app.models.certificates import CERTIFICATE_KINDS, REQUEST_STATUSES
from app.reports.mark_extract import extract_frames
from app.reports.xlsx import frame_to_xlsx, xlsx_response
from app.security.manager import school_only_menu
from app.security.scope import current_scope
from app.services.certificates import (
    MAX_COMMENT_LENGTH,
    MAX_COPIES,
    MAX_PURPOSE_LENGTH,
    CertificateAccess,
    CertificateForm,
    CertificateInputError,
    attendance_certificate,
    get_certificate_or_404,
    get_request_or_404,
    hand_over,
    issue_directly,
    issue_for_request,
    issue_study_certificate,
    own_children,
    register_lines,
    reject_request,
    school_student_or_404,
    school_students,
    status_label,
    study_certificate,
    submit_request,
    visible_requests,
    year_of,
)
from app.services.mark_extract import mark_extract
from app.services.notifications import mark_read_for_links

REQUESTS = "CertificateRequests"
CERTIFICATES = "Certificates"


def _access() -> CertificateAccess:
    scope = current_scope()
    if scope is None or scope.level != "school":
        abort(404)
    sm = current_app.appbuilder.sm
    return CertificateAccess(
        scope=scope,
        may_issue=sm.has_access("can_write", CERTIFICATES),
        reads_queue=sm.has_access("can_read", CERTIFICATES),
        may_request=sm.has_access("can_write", REQUESTS),
    )


def _form_from(data) -> CertificateForm:
    return CertificateForm(
        student_id=data.get("student_id", ""),
        purpose=data.get("purpose", ""),
        copies=data.get("copies", "1"),
        comment=data.get("comment", ""),
    )


class CertificateRequestView(BaseView):
    """Requests for certificates of attendance: a parent's own, or the secretary's queue."""

    route_base = "/certificate-requests"
    default_view = "index"
    class_permission_name = REQUESTS
    method_permission_name = {
        "index": "read",
        "show": "read",
        "new": "write",
        "create": "write",
        "issue": "write",
        "hand_over": "write",
        "reject": "write",
    }

    @expose("/")
    @has_access
    def index(self):
        access = _access()
        status = request.args.get("status", "")
        if status not in REQUEST_STATUSES:
            status = ""
        return self.render_template(
            "certificate_requests.html",
            requests=visible_requests(access, status or None),
            status=status,
            statuses=REQUEST_STATUSES,
            status_label=status_label,
            may_request=access.may_request and bool(own_children(access)),
            access=access,
        )

    @expose("/new", methods=["GET"])
    @has_access
    def new(self):
        access = _access()
        children = own_children(access)
        chosen = request.args.get("student", "")
        if not chosen and len(children) == 1:
            chosen = str(children[0].id)
        return self._render_form(children, CertificateForm(student_id=chosen), [])

    @expose("/new", methods=["POST"])
    @has_access
    def create(self):
        access = _access()
        form = _form_from(request.form)
        try:
            request_row = submit_request(access, form)
        except CertificateInputError as error:
            db.session.rollback()
            return self._render_form(own_children(access), form, error.messages), 400
        flash(_("The request is sent to the secretary."), "success")
        return redirect(url_for("CertificateRequestView.show", request_id=request_row.id))

    @expose("/<int:request_id>", methods=["GET"])
    @has_access
    def show(self, request_id):
        access = _access()
        request_row = get_request_or_404(access, request_id)
        mark_read_for_links(request_row.school_id, access.scope.user_id, [request.path])
        db.session.commit()
        return self._render_request(access, request_row, [])

    @expose("/<int:request_id>/issue", methods=["POST"])
    @has_access
    def issue(self, request_id):
        access = _access()
        request_row = get_request_or_404(access, request_id)
        try:
            certificate = issue_for_request(access, request_row, dt.date.today())
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for("CertificateRequestView.show", request_id=request_id))
        flash(
            _(
                "Certificate № %(number)s is issued and the parent is notified.",
                number=certificate.register_number,
            ),
            "success",
        )
        return redirect(
            url_for("CertificateRegisterView.print_view", certificate_id=certificate.id)
        )

    @expose("/<int:request_id>/hand-over", methods=["POST"])
    @has_access
    def hand_over(self, request_id):
        access = _access()
        request_row = get_request_or_404(access, request_id)
        try:
            hand_over(access, request_row)
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for("CertificateRequestView.show", request_id=request_id))
        flash(_("The certificate is recorded as handed over."), "success")
        return redirect(url_for("CertificateRequestView.index"))

    @expose("/<int:request_id>/reject", methods=["POST"])
    @has_access
    def reject(self, request_id):
        access = _access()
        request_row = get_request_or_404(access, request_id)
        try:
            reject_request(access, request_row, request.form.get("reason", ""))
        except CertificateInputError as error:
            db.session.rollback()
            return self._render_request(access, request_row, error.messages), 400
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for("CertificateRequestView.show", request_id=request_id))
        flash(_("The request is rejected and the parent is notified."), "success")
        return redirect(url_for("CertificateRequestView.index"))

    def _render_form(self, children, form, errors):
        return self.render_template(
            "certificate_request_new.html",
            children=children,
            form=form,
            errors=errors,
            max_copies=MAX_COPIES,
            max_purpose=MAX_PURPOSE_LENGTH,
            max_comment=MAX_COMMENT_LENGTH,
        )

    def _render_request(self, access, request_row, errors):
        return self.render_template(
            "certificate_request_show.html",
            item=request_row,
            status_label=status_label,
            may_issue=access.may_issue,
            errors=errors,
            max_comment=MAX_COMMENT_LENGTH,
        )


class CertificateRegisterView(BaseView):
    """The register of issued certificates, direct issue, and the printable document."""

    route_base = "/certificates"
    default_view = "index"
    class_permission_name = CERTIFICATES
    method_permission_name = {
        "index": "read",
        "issue": "write",
        "issue_study": "write",
        "print_view": "read",
        "extract_for": "read",
        "extract": "read",
        "extract_xlsx": "read",
    }

    @expose("/")
    @has_access
    def index(self):
        access = _access()
        form = CertificateForm(student_id=request.args.get("student", ""))
        return self._render_index(access, form, [])

    @expose("/issue", methods=["POST"])
    @has_access
    def issue(self):
        access = _access()
        form = _form_from(request.form)
        try:
            certificate = issue_directly(access, form, dt.date.today())
        except CertificateInputError as error:
            db.session.rollback()
            return self._render_index(access, form, error.messages), 400
        except DomainError as error:
            db.session.rollback()
            return self._render_index(access, form, [str(error)]), 400
        flash(
            _("Certificate № %(number)s is issued.", number=certificate.register_number), "success"
        )
        return redirect(
            url_for("CertificateRegisterView.print_view", certificate_id=certificate.id)
        )

    @expose("/<int:certificate_id>/print")
    @has_access
    def print_view(self, certificate_id):
        access = _access()
        certificate = get_certificate_or_404(access, certificate_id)
        if certificate.kind == "study":
            return self.render_template(
                "certificate_study.html", document=study_certificate(certificate)
            )
        return self.render_template(
            "certificate_attendance.html", document=attendance_certificate(certificate)
        )

    @expose("/issue-study", methods=["POST"])
    @has_access
    def issue_study(self):
        access = _access()
        try:
            certificate = issue_study_certificate(
                access, request.form.get("student_id"), dt.date.today()
            )
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for("CertificateRegisterView.index"))
        flash(
            _("Certificate № %(number)s is issued.", number=certificate.register_number), "success"
        )
        return redirect(
            url_for("CertificateRegisterView.print_view", certificate_id=certificate.id)
        )

    @expose("/extract-for")
    @has_access
    def extract_for(self):
        access = _access()
        student = school_student_or_404(access.scope, request.args.get("student"))
        return redirect(url_for("CertificateRegisterView.extract", student_id=student.id))

    @expose("/extract/<int:student_id>")
    @has_access
    def extract(self, student_id):
        access = _access()
        student = school_student_or_404(access.scope, student_id)
        extract = mark_extract(student, dt.date.today())
        return self.render_template(
            "certificate_mark_extract.html",
            extract=extract,
            school_name=student.school.full_name or student.school.name,
        )

    @expose("/extract/<int:student_id>/export.xlsx")
    @has_access
    def extract_xlsx(self, student_id):
        access = _access()
        student = school_student_or_404(access.scope, student_id)
        extract = mark_extract(student, dt.date.today())
        title = _("Extract of current marks: %(name)s", name=student.full_name)
        period = extract.term.name if extract.term is not None else ""
        content = frame_to_xlsx(extract_frames(extract), title, period)
        return xlsx_response(content, _("Extract of current marks"))

    def _render_index(self, access, form, errors):
        today = dt.date.today()
        try:
            year = year_of(access.scope.school_id, today)
        except DomainError:
            year = None
        everyone = school_students(access.scope)
        students = [student for student in everyone if student.is_active]
        return self.render_template(
            "certificates.html",
            lines=register_lines(access, year),
            kinds=CERTIFICATE_KINDS,
            year=year,
            students=students,
            former_students=[student for student in everyone if not student.is_active],
            form=form,
            errors=errors,
            may_issue=access.may_issue,
            max_copies=MAX_COPIES,
            max_purpose=MAX_PURPOSE_LENGTH,
        )


def register(appbuilder) -> None:
    # Menu names differ from the permission names: FAB drops menu_access from a view menu
    # that is also a permission name.
    for name in ("Certificate requests", "Certificate register"):
        school_only_menu(name)
    appbuilder.add_view(
        CertificateRequestView,
        "Certificate requests",
        label=_l("Certificate requests"),
        category="People",
        category_label=_l("People"),
    )
    appbuilder.add_view(
        CertificateRegisterView,
        "Certificate register",
        label=_l("Certificate register"),
        category="People",
        category_label=_l("People"),
    )
