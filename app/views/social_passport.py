"""The social passport, psychologist notes, the class social passport and meal benefits."""

import logging

import pandas as pd
from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.models import PsychologyConsent, Student, db
from app.models.care import FAMILY_CATEGORIES, REGISTERS
from app.reports.xlsx import INTEGER, current_school_label, frame_to_xlsx, xlsx_response
from app.security.scope import current_scope, scoped_get_or_404
from app.services import care_access, social_passport
from app.services.social_passport import SocialPassportError

log = logging.getLogger(__name__)


def _scope_or_403(check):
    scope = current_scope()
    if scope is None or not check(scope):
        abort(403)
    return scope


def _may_read_passport(scope) -> bool:
    return scope.level == "school" and scope.has_role("psychologist", "principal", "teacher")


def _student_page(student):
    return redirect(url_for("SocialPassportView.student", student_id=student.id))


class SocialPassportView(BaseView):
    """Categories and registers of a student; consents for the psychologist."""

    route_base = "/social-passport"
    default_view = "classes"
    class_permission_name = "SocialPassport"
    method_permission_name = {
        "classes": "read",
        "student": "read",
        "class_report": "read",
        "class_report_xlsx": "read",
        "add_status": "write",
        "delete_status": "write",
        "add_consent": "write",
        "withdraw_consent": "write",
    }

    @expose("/")
    @has_access
    def classes(self):
        scope = _scope_or_403(_may_read_passport)
        allowed = care_access.social_class_ids(scope)
        class_id = request.args.get("class")
        school_class = students = None
        if class_id:
            school_class = care_access.class_in_circle(scope, class_id, allowed)
            students = care_access.class_students(scope, school_class)
        return self.render_template(
            "social_passport_classes.html",
            classes=care_access.classes_in_circle(scope, allowed),
            school_class=school_class,
            students=students,
        )

    @expose("/student/<int:student_id>")
    @has_access
    def student(self, student_id):
        scope = _scope_or_403(_may_read_passport)
        student = care_access.student_in_circle(
            scope, student_id, care_access.social_class_ids(scope)
        )
        return self._render(scope, student, [])

    @expose("/student/<int:student_id>/statuses", methods=["POST"])
    @has_access
    def add_status(self, student_id):
        scope, student = self._psychologist_student(student_id)
        return self._change(scope, student, social_passport.add_status, student, request.form)

    @expose("/statuses/<int:status_id>/delete", methods=["POST"])
    @has_access
    def delete_status(self, status_id):
        scope = _scope_or_403(care_access.may_edit_social_passport)
        return _student_page(social_passport.delete_status(scope, status_id))

    @expose("/student/<int:student_id>/consents", methods=["POST"])
    @has_access
    def add_consent(self, student_id):
        scope, student = self._psychologist_student(student_id)
        return self._change(scope, student, social_passport.add_consent, student, request.form)

    @expose("/consents/<int:consent_id>/withdraw", methods=["POST"])
    @has_access
    def withdraw_consent(self, consent_id):
        scope = _scope_or_403(care_access.may_edit_social_passport)
        try:
            student = social_passport.withdraw_consent(scope, consent_id, request.form)
        except SocialPassportError as error:
            db.session.rollback()
            consent = scoped_get_or_404(PsychologyConsent, consent_id, scope)
            student = db.session.get(Student, consent.student_id)
            return self._render(scope, student, error.messages), 400
        return _student_page(student)

    @expose("/class-report")
    @has_access
    def class_report(self):
        scope, school_class = self._report_class()
        total, lines = social_passport.class_report(scope, school_class)
        return self.render_template(
            "social_passport_report.html",
            classes=care_access.classes_in_circle(scope, care_access.social_class_ids(scope)),
            school_class=school_class,
            total=total,
            lines=lines,
        )

    @expose("/class-report.xlsx")
    @has_access
    def class_report_xlsx(self):
        scope, school_class = self._report_class()
        if school_class is None:
            abort(404)
        total, lines = social_passport.class_report(scope, school_class)
        kind, name, students = _("Kind"), _("Category or register"), _("Students")
        frame = pd.DataFrame(
            [
                {
                    kind: _("Register") if line.is_register else _("Family category"),
                    name: line.label,
                    students: line.students,
                }
                for line in lines
            ],
            columns=[kind, name, students],
        )
        title = _("Social passport of class %(name)s", name=school_class.name)
        filters = _("Students in the class: %(count)s", count=total)
        content = frame_to_xlsx([(title, frame, {students: INTEGER})], title, filters)
        return xlsx_response(content, title, current_school_label())

    def _report_class(self):
        scope = _scope_or_403(_may_read_passport)
        class_id = request.args.get("class")
        if not class_id:
            return scope, None
        allowed = care_access.social_class_ids(scope)
        return scope, care_access.class_in_circle(scope, class_id, allowed)

    def _psychologist_student(self, student_id):
        scope = _scope_or_403(care_access.may_edit_social_passport)
        return scope, care_access.student_in_circle(scope, student_id, None)

    def _change(self, scope, student, action, *args):
        try:
            action(scope, *args)
        except SocialPassportError as error:
            db.session.rollback()
            log.info(
                "Social passport of student %s not changed by user %s", student.id, scope.user_id
            )
            return self._render(scope, student, error.messages), 400
        flash(_("The social passport is saved."), "success")
        return _student_page(student)

    def _render(self, scope, student, errors):
        keeper = care_access.may_edit_social_passport(scope)
        return self.render_template(
            "social_passport_student.html",
            student=student,
            statuses=social_passport.statuses(scope, student),
            consents=social_passport.consents(scope, student) if keeper else [],
            guardians=social_passport.student_guardians(scope, student) if keeper else [],
            keeper=keeper,
            codes={**FAMILY_CATEGORIES, **REGISTERS},
            family_categories=FAMILY_CATEGORIES,
            registers=REGISTERS,
            errors=errors,
        )


class PsychologistNotesView(BaseView):
    """The psychologist's confidential notes on a student, only under a parent's consent."""

    route_base = "/psychologist-notes"
    default_view = "notes"
    class_permission_name = "PsychologistNotes"
    method_permission_name = {"notes": "read", "add": "write"}

    @expose("/student/<int:student_id>")
    @has_access
    def notes(self, student_id):
        scope = _scope_or_403(care_access.may_edit_social_passport)
        student = care_access.student_in_circle(scope, student_id, None)
        try:
            notes = social_passport.open_notes(scope, student)
        except SocialPassportError as error:
            db.session.rollback()
            return self._render(student, None, error.messages, ""), 403
        return self._render(student, notes, [], "")

    @expose("/student/<int:student_id>", methods=["POST"])
    @has_access
    def add(self, student_id):
        scope = _scope_or_403(care_access.may_edit_social_passport)
        student = care_access.student_in_circle(scope, student_id, None)
        text = request.form.get("text", "")
        try:
            social_passport.add_note(scope, student, text)
        except social_passport.NoConsent as error:
            db.session.rollback()
            return self._render(student, None, error.messages, ""), 403
        except SocialPassportError as error:
            db.session.rollback()
            return self._render(student, [], error.messages, text), 400
        flash(_("The note is saved."), "success")
        return redirect(url_for("PsychologistNotesView.notes", student_id=student.id))

    def _render(self, student, notes, errors, text):
        return self.render_template(
            "psychologist_notes.html", student=student, notes=notes, errors=errors, text=text
        )


class MealBenefitsView(BaseView):
    """Students of a class whose family category gives free school meals."""

    route_base = "/meal-benefits"
    default_view = "class_list"
    class_permission_name = "MealBenefits"
    method_permission_name = {"class_list": "read"}

    @expose("/")
    @has_access
    def class_list(self):
        scope = _scope_or_403(care_access.may_see_meal_benefits)
        class_id = request.args.get("class")
        school_class = rows = None
        if class_id:
            school_class = care_access.class_in_circle(scope, class_id, None)
            rows = social_passport.meal_benefits(scope, school_class)
        return self.render_template(
            "meal_benefits.html",
            classes=care_access.classes_in_circle(scope, None),
            school_class=school_class,
            rows=rows,
        )


def register(appbuilder) -> None:
    category, category_label = "People", _l("People")
    appbuilder.add_view(
        SocialPassportView,
        "Social passport",
        label=_l("Social passport"),
        category=category,
        category_label=category_label,
    )
    appbuilder.add_view_no_menu(PsychologistNotesView)
    appbuilder.add_view(
        MealBenefitsView,
        "Meal benefits",
        label=_l("Free meals by family category"),
        category=category,
        category_label=category_label,
    )
