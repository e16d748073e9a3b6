"""Reasons of absence against documents, and the day's list of absentees."""

import datetime as dt

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.models import db
from app.models.attendance_docs import ABSENCE_DOCUMENT_KINDS
from app.security.scope import current_scope
from app.services.absence_notes import default_reason, reason_codes
from app.services.attachments import format_size
from app.services.attendance_reasons import (
    ABSENTEE_LIST_ROLES,
    MAX_NUMBER_LENGTH,
    ReasonForm,
    ReasonInputError,
    class_documents,
    class_or_404,
    class_students,
    day_absentees,
    document_or_404,
    open_absences,
    reason_access,
    send_scan,
    set_reasons,
    student_or_404,
    visible_classes,
)
from app.services.dates import parse_user_date

#: Teachers and the principal hold it; the secretary and the medical worker do not.
PERMISSION = "Journal"


class AttendanceReasonView(BaseView):
    """The class teacher's absences without a reason, and the form that sets one."""

    route_base = "/attendance-reasons"
    default_view = "index"
    class_permission_name = PERMISSION
    method_permission_name = {
        "index": "read",
        "save": "write",
        "scan": "read",
    }

    @expose("/", methods=["GET"])
    @has_access
    def index(self):
        access = reason_access(current_scope())
        classes = visible_classes(access)
        form = ReasonForm(
            student_id=request.args.get("student", "").strip(),
            date_from=request.args.get("date_from", ""),
            date_to=request.args.get("date_to", ""),
            issued_on=dt.date.today().isoformat(),
        )
        student = student_or_404(access, form.student_id) if form.student_id else None
        school_class = self._chosen_class(access, classes, student)
        return self._render(classes, school_class, form, errors=[])

    @expose("/", methods=["POST"])
    @has_access
    def save(self):
        access = reason_access(current_scope())
        data = request.form
        form = ReasonForm(
            student_id=data.get("student_id", ""),
            date_from=data.get("date_from", ""),
            date_to=data.get("date_to", ""),
            reason_id=data.get("reason_id", ""),
            document_id=data.get("document_id", ""),
            kind=data.get("kind", ""),
            number=data.get("number", ""),
            issued_on=data.get("issued_on", ""),
            replace=data.get("replace") == "1",
        )
        student = student_or_404(access, form.student_id)
        try:
            result = set_reasons(access, form, request.files.get("scan"))
        except ReasonInputError as error:
            db.session.rollback()
            classes = visible_classes(access)
            school_class = class_or_404(access, student.class_id)
            return self._render(classes, school_class, form, error.messages), 400
        flash(_summary(result), "success")
        return redirect(url_for("AttendanceReasonView.index", **{"class": student.class_id}))

    @expose("/document/<int:document_id>/scan", methods=["GET"])
    @has_access
    def scan(self, document_id):
        access = reason_access(current_scope())
        return send_scan(document_or_404(access, document_id))

    def _chosen_class(self, access, classes, student):
        """Pick the requested class, else the chosen student's class, else the first one."""
        class_id = request.args.get("class", "").strip()
        if class_id:
            return class_or_404(access, class_id)
        if student is not None and student.class_id is not None:
            return class_or_404(access, student.class_id)
        return classes[0] if classes else None

    def _render(self, classes, school_class, form, errors):
        if school_class is None:
            return self.render_template(
                "attendance_reasons.html", classes=[], school_class=None, errors=[]
            )
        codes = reason_codes(school_class.school_id)
        if not form.reason_id:
            proposed = default_reason(codes)
            form.reason_id = str(proposed.id) if proposed else ""
        students = class_students(school_class)
        if form.student_id and not any(str(s.id) == form.student_id for s in students):
            abort(404)
        return self.render_template(
            "attendance_reasons.html",
            classes=classes,
            school_class=school_class,
            groups=open_absences(school_class),
            students=students,
            documents=class_documents(school_class),
            codes=codes,
            kinds=ABSENCE_DOCUMENT_KINDS,
            form=form,
            errors=errors,
            max_number=MAX_NUMBER_LENGTH,
            format_size=format_size,
        )


def _summary(result) -> str:
    parts = [_("The document is saved.")]
    parts.append(_("Absences that got the reason: %(count)s.", count=result.applied))
    if result.kept:
        parts.append(_("Absences that already had a reason, kept: %(count)s.", count=result.kept))
    if result.corrected:
        parts.append(
            _(
                "Of them in a closed period, recorded as corrections: %(count)s.",
                count=result.corrected,
            )
        )
    return " ".join(parts)


class AbsenteeListView(BaseView):
    """The day's absentees by class, for the class teacher, principal, nurse and secretary."""

    route_base = "/absentees"
    default_view = "day"
    class_permission_name = "AbsenteeList"
    method_permission_name = {"day": "read"}

    @expose("/", methods=["GET"])
    @has_access
    def day(self):
        access = reason_access(current_scope(), ABSENTEE_LIST_ROLES)
        text = request.args.get("date", "").strip()
        day = parse_user_date(text) if text else dt.date.today()
        errors = []
        if day is None:
            errors.append(
                _('The date "%(value)s" is not a date: enter it as DD.MM.YYYY.', value=text)
            )
            day = dt.date.today()
        return self.render_template(
            "attendance_day.html",
            day=day,
            classes=day_absentees(access, day),
            has_classes=bool(visible_classes(access)),
            errors=errors,
        )


def register(appbuilder) -> None:
    # The menu names differ from the permission name "Journal" (see absence_notes.py).
    appbuilder.add_view(
        AttendanceReasonView,
        "Reasons of absence",
        label=_l("Reasons of absence"),
        category="Journal and diary",
        category_label=_l("Journal"),
    )
    appbuilder.add_view(
        AbsenteeListView,
        "Absentees of the day",
        label=_l("Absentees of the day"),
        category="Journal and diary",
        category_label=_l("Journal"),
    )
