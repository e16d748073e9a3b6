"""Marks from another school's extract: entered by the secretary or the class teacher."""

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.errors import DomainError
from app.models import db
from app.security.manager import school_only_menu
from app.security.scope import current_scope
from app.services.transferred_marks import (
    MAX_SOURCE_LENGTH,
    TransferredMarkForm,
    TransferredMarkInputError,
    add_transferred_mark,
    arrival_school,
    delete_transferred_mark,
    mark_or_404,
    open_students,
    student_courses,
    student_marks,
    student_or_404,
    transferred_access,
)

PERMISSION = "TransferredMarks"


def _access():
    scope = current_scope()
    if scope is None or scope.level != "school":
        abort(404)
    may_write = current_app.appbuilder.sm.has_access("can_write", PERMISSION)
    return transferred_access(scope, may_write)


class TransferredMarkView(BaseView):
    """Students' marks brought from another school's extract of current marks."""

    route_base = "/transferred-marks"
    default_view = "index"
    class_permission_name = PERMISSION
    method_permission_name = {"index": "read", "student": "read", "add": "write", "delete": "write"}

    @expose("/")
    @has_access
    def index(self):
        access = _access()
        return self.render_template("transferred_marks_index.html", students=open_students(access))

    @expose("/student/<int:student_id>", methods=["GET"])
    @has_access
    def student(self, student_id):
        access = _access()
        student = student_or_404(access, student_id)
        return self._render(access, student, TransferredMarkForm(), [])

    @expose("/student/<int:student_id>", methods=["POST"])
    @has_access
    def add(self, student_id):
        access = _access()
        student = student_or_404(access, student_id)
        data = request.form
        form = TransferredMarkForm(
            course_id=data.get("course_id", ""),
            date=data.get("date", ""),
            value=data.get("value", ""),
            weight=data.get("weight", "1"),
            source_school=data.get("source_school", ""),
        )
        try:
            add_transferred_mark(access, student, form)
        except TransferredMarkInputError as error:
            db.session.rollback()
            return self._render(access, student, form, error.messages), 400
        flash(_("The mark from the extract is saved."), "success")
        return redirect(url_for("TransferredMarkView.student", student_id=student.id))

    @expose("/<int:transferred_mark_id>/delete", methods=["POST"])
    @has_access
    def delete(self, transferred_mark_id):
        access = _access()
        mark = mark_or_404(access, transferred_mark_id)
        student_id = mark.student_id
        try:
            delete_transferred_mark(access, mark)
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for("TransferredMarkView.student", student_id=student_id))
        flash(_("The mark from the extract is deleted."), "success")
        return redirect(url_for("TransferredMarkView.student", student_id=student_id))

    def _render(self, access, student, form, errors):
        if not form.source_school:
            form.source_school = arrival_school(student)
        return self.render_template(
            "transferred_marks.html",
            student=student,
            courses=student_courses(student),
            marks=student_marks(student),
            form=form,
            errors=errors,
            may_write=access.may_write,
            max_mark=student.school.max_mark,
            max_source=MAX_SOURCE_LENGTH,
        )


def register(appbuilder) -> None:
    # The menu name differs from the permission name: FAB drops menu_access from a view
    # menu that is also a permission name.
    school_only_menu("Marks from extracts")
    appbuilder.add_view(
        TransferredMarkView,
        "Marks from extracts",
        label=_l("Marks from extracts"),
        category="People",
        category_label=_l("People"),
    )
