"""Final marks of a course (term, year, exam) and certificate marks of a graduating class."""

import logging

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import ngettext

from app.models import SchoolClass, db
from app.security.scope import current_scope, scoped_get_or_404
from app.services.final_marks import (
    CERTIFICATE_GRADES,
    FinalMarkInputError,
    certificate_page,
    final_marks_page,
    read_final_marks_form,
    save_certificate_marks,
    save_final_marks,
)
from app.services.journal import (
    JournalAccess,
    get_course_or_404,
    journal_access,
    may_write_course,
)

#: The journal's permission: a session that may read a course's journal reads its final marks.
PERMISSION = "Journal"

log = logging.getLogger(__name__)


def _access(appbuilder) -> JournalAccess:
    may_write = appbuilder.sm.has_access("can_write", PERMISSION)
    return journal_access(current_scope(), may_write)


class FinalMarksView(BaseView):
    """Term, year and exam marks of one course: suggestions, stored marks and overrides."""

    route_base = "/journal/final"
    default_view = "final"
    class_permission_name = PERMISSION
    method_permission_name = {"final": "read", "final_save": "write"}

    @expose("/<int:course_id>", methods=["GET"])
    @has_access
    def final(self, course_id):
        access = _access(self.appbuilder)
        course = get_course_or_404(access, course_id)
        return self._render(access, course, errors=[])

    @expose("/<int:course_id>", methods=["POST"])
    @has_access
    def final_save(self, course_id):
        access = _access(self.appbuilder)
        course = get_course_or_404(access, course_id)
        if not may_write_course(access, course):
            abort(403)
        form = read_final_marks_form(course, request.form)
        try:
            result = save_final_marks(course, form, g.user.id)
        except FinalMarkInputError as error:
            db.session.rollback()
            typed = {key.field_name: value for key, value in form.values.items()}
            return self._render(access, course, error.messages, typed=typed), 400
        message = ngettext(
            "The final marks are saved: %(num)s change.",
            "The final marks are saved: %(num)s changes.",
            result.changed,
        )
        flash(message, "success")
        if result.conflicts:
            log.info(
                "User %s: %s final marks of course %s were changed by another user",
                g.user.id,
                len(result.conflicts),
                course.id,
            )
            return self._render(access, course, [], conflicts=result.conflicts), 409
        return redirect(url_for("FinalMarksView.final", course_id=course.id))

    def _render(self, access, course, errors, typed=None, conflicts=()):
        page = final_marks_page(course)
        return self.render_template(
            "final_marks.html",
            page=page,
            may_write=may_write_course(access, course) and page.gives_marks,
            errors=errors,
            conflicts=conflicts,
            typed=typed or {},
            certificate_class=course.school_class.grade in CERTIFICATE_GRADES,
        )


def _class_or_404(access: JournalAccess, class_id) -> SchoolClass:
    """Load a class of grade 9 or 11 that the session may open (whole school, class teacher)."""
    school_class = scoped_get_or_404(SchoolClass, class_id, access.scope)
    if school_class.grade not in CERTIFICATE_GRADES:
        abort(404)
    if not (access.whole_school or school_class.class_teacher_id in access.employee_ids):
        abort(404)
    return school_class


def _may_write_certificate(access: JournalAccess, school_class: SchoolClass) -> bool:
    """Tell whether the session enters certificate marks: the principal, deputies, class teacher."""
    if not access.may_write:
        return False
    return access.corrects_everything or school_class.class_teacher_id in access.employee_ids


class CertificateView(BaseView):
    """Certificate marks (аттестат) of a class of grade 9 or 11, per student and whole subject."""

    route_base = "/journal/certificate"
    default_view = "certificate"
    class_permission_name = PERMISSION
    method_permission_name = {"certificate": "read", "certificate_save": "write"}

    @expose("/<int:class_id>", methods=["GET"])
    @has_access
    def certificate(self, class_id):
        access = _access(self.appbuilder)
        school_class = _class_or_404(access, class_id)
        return self._render(access, school_class, errors=[])

    @expose("/<int:class_id>", methods=["POST"])
    @has_access
    def certificate_save(self, class_id):
        access = _access(self.appbuilder)
        school_class = _class_or_404(access, class_id)
        if not _may_write_certificate(access, school_class):
            abort(403)
        values, seen = _certificate_form(school_class)
        try:
            result = save_certificate_marks(school_class, values, seen, g.user.id)
        except FinalMarkInputError as error:
            db.session.rollback()
            typed = {f"cert-{key[0]}-{key[1]}": value for key, value in values.items()}
            return self._render(access, school_class, error.messages, typed=typed), 400
        message = ngettext(
            "The certificate marks are saved: %(num)s change.",
            "The certificate marks are saved: %(num)s changes.",
            result.changed,
        )
        flash(message, "success")
        if result.conflicts:
            return self._render(access, school_class, [], conflicts=result.conflicts), 409
        return redirect(url_for("CertificateView.certificate", class_id=school_class.id))

    def _render(self, access, school_class, errors, typed=None, conflicts=()):
        return self.render_template(
            "certificate_marks.html",
            page=certificate_page(school_class),
            may_write=_may_write_certificate(access, school_class),
            errors=errors,
            conflicts=conflicts,
            typed=typed or {},
        )


def _certificate_form(school_class) -> tuple[dict, dict]:
    """Read ``cert-<student>-<subject>`` cells and their ``seen-`` values of the class."""
    page = certificate_page(school_class)
    values, seen = {}, {}
    for _student, cells in page.rows:
        for cell in cells.values():
            if cell.field_name in request.form:
                values[cell.key] = request.form.get(cell.field_name, "")
            seen_value = request.form.get(f"seen-{cell.field_name}")
            if seen_value is not None:
                seen[cell.key] = seen_value
    return values, seen


def register(appbuilder) -> None:
    # Opened from the course journal and the final marks page, not from the menu.
    appbuilder.add_view_no_menu(FinalMarksView)
    appbuilder.add_view_no_menu(CertificateView)
