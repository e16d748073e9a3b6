"""Health records for the medical worker, and the PE list of a class for teachers."""

import logging

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.models import db
from app.models.care import HEALTH_GROUPS, PE_GROUPS
from app.security.scope import current_scope
from app.services import care_access, health
from app.services.health import ExemptionForm, HealthForm, HealthRecordError

log = logging.getLogger(__name__)


def _scope_or_403(check):
    scope = current_scope()
    if scope is None or not check(scope):
        abort(403)
    return scope


class HealthRecordsView(BaseView):
    """The medical worker's screens: a class's students and one student's health record."""

    route_base = "/health"
    default_view = "classes"
    class_permission_name = "HealthRecords"
    method_permission_name = {
        "classes": "read",
        "student": "read",
        "save": "write",
        "add_exemption": "write",
        "delete_exemption": "write",
    }

    @expose("/")
    @has_access
    def classes(self):
        scope = _scope_or_403(care_access.may_edit_health)
        class_id = request.args.get("class")
        school_class = students = None
        if class_id:
            school_class = care_access.class_in_circle(scope, class_id, None)
            students = care_access.class_students(scope, school_class)
        return self.render_template(
            "health_classes.html",
            classes=care_access.classes_in_circle(scope, None),
            school_class=school_class,
            students=students,
        )

    @expose("/student/<int:student_id>")
    @has_access
    def student(self, student_id):
        scope = _scope_or_403(care_access.may_edit_health)
        student = care_access.student_in_circle(scope, student_id, None)
        record = health.open_health_record(scope, student)
        return self._render(student, record, HealthForm.of(record), ExemptionForm(), [])

    @expose("/student/<int:student_id>/save", methods=["POST"])
    @has_access
    def save(self, student_id):
        scope = _scope_or_403(care_access.may_edit_health)
        student = care_access.student_in_circle(scope, student_id, None)
        form = HealthForm.from_form(request.form)
        try:
            health.save_health_record(scope, student, form)
        except HealthRecordError as error:
            return self._render_errors(scope, student, error, form=form)
        flash(_("The health record is saved."), "success")
        return redirect(url_for("HealthRecordsView.student", student_id=student.id))

    @expose("/student/<int:student_id>/exemptions", methods=["POST"])
    @has_access
    def add_exemption(self, student_id):
        scope = _scope_or_403(care_access.may_edit_health)
        student = care_access.student_in_circle(scope, student_id, None)
        form = ExemptionForm.from_form(request.form)
        try:
            health.add_exemption(scope, student, form)
        except HealthRecordError as error:
            return self._render_errors(scope, student, error, exemption=form)
        flash(_("The exemption is added."), "success")
        return redirect(url_for("HealthRecordsView.student", student_id=student.id))

    @expose("/exemptions/<int:exemption_id>/delete", methods=["POST"])
    @has_access
    def delete_exemption(self, exemption_id):
        scope = _scope_or_403(care_access.may_edit_health)
        student = health.delete_exemption(scope, exemption_id)
        flash(_("The exemption is deleted."), "success")
        return redirect(url_for("HealthRecordsView.student", student_id=student.id))

    def _render_errors(self, scope, student, error, form=None, exemption=None):
        db.session.rollback()
        log.info("Health record of student %s not saved by user %s", student.id, scope.user_id)
        record = health.health_record(scope, student)
        form = form or HealthForm.of(record)
        page = self._render(student, record, form, exemption or ExemptionForm(), error.messages)
        return page, 400

    def _render(self, student, record, form, exemption, errors):
        return self.render_template(
            "health_student.html",
            student=student,
            record=record,
            form=form,
            exemption=exemption,
            errors=errors,
            health_groups=HEALTH_GROUPS,
            pe_groups=PE_GROUPS,
        )


class PhysicalEducationView(BaseView):
    """PE groups, exemptions and ОВЗ status of a class: what teaching needs, no more."""

    route_base = "/physical-education"
    default_view = "class_list"
    class_permission_name = "PhysicalEducation"
    method_permission_name = {"class_list": "read"}

    @expose("/")
    @has_access
    def class_list(self):
        scope = _scope_or_403(care_access.may_see_pe)
        allowed = care_access.pe_class_ids(scope)
        class_id = request.args.get("class")
        school_class = rows = None
        if class_id:
            school_class = care_access.class_in_circle(scope, class_id, allowed)
            rows = health.pe_class_list(scope, school_class)
        return self.render_template(
            "physical_education.html",
            classes=care_access.classes_in_circle(scope, allowed),
            school_class=school_class,
            rows=rows,
        )


def register(appbuilder) -> None:
    category, category_label = "People", _l("People")
    appbuilder.add_view(
        HealthRecordsView,
        "Health records",
        label=_l("Health records"),
        category=category,
        category_label=category_label,
    )
    appbuilder.add_view(
        PhysicalEducationView,
        "PE groups",
        label=_l("PE groups and exemptions"),
        category=category,
        category_label=category_label,
    )
