"""Staff personnel records: the staff list report and a screen per employee."""

import datetime as dt
import logging

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.models import StaffEducation, StaffPosition, TrainingCourse, db
from app.models.staff import EDUCATION_LEVELS, QUALIFICATION_CATEGORIES
from app.reports.staff_records import staff_report_frame
from app.reports.xlsx import current_school_label, frame_to_xlsx, xlsx_response
from app.security.scope import current_scope
from app.services import staff_records as staff
from app.services.staff_records import StaffRecordError

log = logging.getLogger(__name__)


class StaffRecordsView(BaseView):
    """The staff list and each employee's record; the service decides who sees which."""

    route_base = "/staff-records"
    default_view = "index"
    class_permission_name = "StaffRecords"
    method_permission_name = {
        "index": "read",
        "report_xlsx": "read",
        "employee": "read",
        "save_record": "write",
        "add_position": "write",
        "add_education": "write",
        "add_training": "write",
        "delete_position": "write",
        "delete_education": "write",
        "delete_training": "write",
    }

    @expose("/")
    @has_access
    def index(self):
        scope = current_scope()
        if not staff.sees_all(scope):
            own = staff.own_employee(scope)
            if own is None:
                abort(404)
            return redirect(url_for(".employee", employee_id=own.id))
        months, message = staff.parse_months(request.args.get("months"))
        if message:
            flash(message, "warning")
        lines = staff.staff_report(scope, dt.date.today(), months)
        return self.render_template("staff_records.html", lines=lines, months=months)

    @expose("/report.xlsx")
    @has_access
    def report_xlsx(self):
        scope = current_scope()
        if not staff.sees_all(scope):
            abort(404)
        months, _message = staff.parse_months(request.args.get("months"))
        frame, formats = staff_report_frame(staff.staff_report(scope, dt.date.today(), months))
        title = _("Staff list")
        filters = _("Categories expiring within %(months)s months", months=months)
        content = frame_to_xlsx([(title, frame, formats)], title, filters)
        return xlsx_response(content, title, current_school_label())

    @expose("/<int:employee_id>")
    @has_access
    def employee(self, employee_id):
        scope = current_scope()
        employee = staff.employee_or_404(scope, employee_id)
        return self._render_employee(scope, employee, errors=[])

    @expose("/<int:employee_id>/record", methods=["POST"])
    @has_access
    def save_record(self, employee_id):
        return self._change(employee_id, "record", staff.save_record, _("The record is saved."))

    @expose("/<int:employee_id>/positions", methods=["POST"])
    @has_access
    def add_position(self, employee_id):
        return self._change(
            employee_id,
            "position",
            lambda scope, employee, form, _today: staff.add_position(scope, employee, form),
            _("The position is added."),
        )

    @expose("/<int:employee_id>/education", methods=["POST"])
    @has_access
    def add_education(self, employee_id):
        return self._change(
            employee_id, "education", staff.add_education, _("The education is added.")
        )

    @expose("/<int:employee_id>/trainings", methods=["POST"])
    @has_access
    def add_training(self, employee_id):
        return self._change(employee_id, "training", staff.add_training, _("The course is added."))

    @expose("/position/<int:position_id>/delete", methods=["POST"])
    @has_access
    def delete_position(self, position_id):
        return self._delete(StaffPosition, position_id)

    @expose("/education/<int:education_id>/delete", methods=["POST"])
    @has_access
    def delete_education(self, education_id):
        return self._delete(StaffEducation, education_id)

    @expose("/training/<int:training_id>/delete", methods=["POST"])
    @has_access
    def delete_training(self, training_id):
        return self._delete(TrainingCourse, training_id)

    def _change(self, employee_id, form_name, action, done_message):
        scope = current_scope()
        employee = staff.editable_employee_or_404(scope, employee_id)
        try:
            action(scope, employee, request.form, dt.date.today())
        except StaffRecordError as error:
            db.session.rollback()
            log.info("Staff record of employee %s not changed: invalid values", employee.id)
            page = self._render_employee(
                scope, employee, error.messages, failed_form=form_name, form=request.form
            )
            return page, 400
        flash(done_message, "success")
        return redirect(url_for(".employee", employee_id=employee.id))

    def _delete(self, model, row_id):
        scope = current_scope()
        row = staff.editable_row_or_404(scope, model, row_id)
        employee_id = staff.delete_row(scope, row)
        flash(_("The entry is deleted."), "success")
        return redirect(url_for(".employee", employee_id=employee_id))

    def _render_employee(self, scope, employee, errors, failed_form="", form=None):
        """Render the employee's screen; a rejected form keeps the values typed into it."""
        today = dt.date.today()
        card = staff.staff_card(scope, employee, today)
        return self.render_template(
            "staff_record.html",
            card=card,
            record_values=staff.record_form_values(card.record),
            can_edit=staff.may_edit(scope),
            sees_all=staff.sees_all(scope),
            errors=errors,
            failed_form=failed_form,
            form=form or {},
            categories=QUALIFICATION_CATEGORIES,
            levels=EDUCATION_LEVELS,
            today=today,
        )


def register(appbuilder) -> None:
    appbuilder.add_view(
        StaffRecordsView,
        "Staff records",
        label=_l("Staff records"),
        category="People",
        category_label=_l("People"),
    )
