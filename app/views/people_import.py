"""Import of students with their parents, and of staff, from XLSX or CSV files.

Each kind has its own page and permission: the school administrator and the secretary
import students, the school administrator and the HR specialist import staff.
"""

import datetime as dt
import logging

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.errors import DomainError
from app.models import db
from app.reports.xlsx import xlsx_response
from app.security.manager import school_only_menu
from app.security.scope import current_scope
from app.services import people_import
from app.services.people_import import STAFF, STUDENTS, ImportFileError
from app.services.people_import.storage import forget_upload, load_upload, store_upload

log = logging.getLogger(__name__)

_METHODS = {"index": "read", "template": "read", "preview": "write", "confirm": "write"}


class _PeopleImportView(BaseView):
    """Upload, preview and confirm the import of one kind of person."""

    default_view = "index"
    method_permission_name = _METHODS
    kind = ""
    title = ""
    #: The endpoint of the list that shows the imported people.
    list_endpoint = ""

    def _school_scope(self):
        scope = current_scope()
        if scope is None or scope.level != "school":
            # People are imported into the session's school only.
            abort(404)
        return scope

    def _render(self, preview=None, errors=(), token=None, name="", status=200):
        page = self.render_template(
            "people_import.html",
            kind=self.kind,
            title=self.title,
            fields=people_import.FIELDS[self.kind],
            preview=preview,
            errors=errors,
            token=token,
            file_name=name,
            endpoint=type(self).__name__,
            list_endpoint=self.list_endpoint,
        )
        return page, status

    @expose("/")
    @has_access
    def index(self):
        self._school_scope()
        return self._render()

    @expose("/template.xlsx")
    @has_access
    def template(self):
        note = _(
            "* marks a required column; the other columns may stay empty. Dates as "
            "DD.MM.YYYY, sex as «м» or «ж», one row per person."
        )
        content = people_import.template_xlsx(self.kind, str(self.title), note)
        return xlsx_response(content, _("Template"), str(self.title))

    @expose("/preview", methods=["POST"])
    @has_access
    def preview(self):
        scope = self._school_scope()
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return self._render(errors=[_("Choose an XLSX or CSV file.")], status=400)
        name = upload.filename
        data = upload.stream.read()
        try:
            preview = people_import.preview_file(
                self.kind, scope.school_id, data, name, dt.date.today()
            )
        except ImportFileError as error:
            log.info(
                "User %s uploaded a %s file that cannot be imported into school %s",
                scope.user_id,
                self.kind,
                scope.school_id,
            )
            return self._render(errors=self._not_imported(error.messages), name=name, status=400)
        token = None
        if preview.is_valid and preview.to_write:
            token = store_upload(self.kind, scope.school_id, scope.user_id, name, data)
        log.info(
            "User %s previewed a %s import of %s rows in school %s",
            scope.user_id,
            self.kind,
            len(preview.rows),
            scope.school_id,
        )
        return self._render(preview=preview, token=token, name=name)

    @expose("/confirm", methods=["POST"])
    @has_access
    def confirm(self):
        scope = self._school_scope()
        token = request.form.get("token", "")
        upload = load_upload(self.kind, scope.school_id, scope.user_id, token)
        if upload is None:
            log.info("User %s confirmed a %s import that is not kept", scope.user_id, self.kind)
            message = _(
                "The previewed file is no longer kept (it expired or was replaced by "
                "another upload): upload the file again."
            )
            return self._render(errors=[message], status=400)
        try:
            preview = people_import.preview_file(
                self.kind, scope.school_id, upload.data, upload.name, dt.date.today()
            )
            if not preview.is_valid:
                # The school's records changed since the preview, so nothing is written.
                log.info(
                    "User %s confirmed a %s import with invalid rows in school %s",
                    scope.user_id,
                    self.kind,
                    scope.school_id,
                )
                messages = self._not_imported(preview.errors)
                return self._render(
                    preview=preview, errors=messages, token=token, name=upload.name, status=400
                )
            result = people_import.apply_preview(preview, scope.school_id, g.user.id)
        except ImportFileError as error:
            return self._render(errors=self._not_imported(error.messages), status=400)
        except DomainError as error:
            db.session.rollback()
            return self._render(errors=self._not_imported([str(error)]), status=400)
        forget_upload(self.kind, token)
        flash(
            _(
                "The import is done: %(added)s added, %(changed)s changed.",
                added=result.added,
                changed=result.changed,
            ),
            "success",
        )
        return redirect(url_for(f"{self.list_endpoint}.list"))

    @staticmethod
    def _not_imported(messages) -> list[str]:
        return [_("Nothing was imported; fix the file and upload it again.")] + list(messages)


class StudentImportView(_PeopleImportView):
    route_base = "/import/students"
    class_permission_name = "StudentImport"
    kind = STUDENTS
    title = _l("Import of students and parents")
    list_endpoint = "StudentView"


class EmployeeImportView(_PeopleImportView):
    route_base = "/import/staff"
    class_permission_name = "EmployeeImport"
    kind = STAFF
    title = _l("Import of staff")
    list_endpoint = "EmployeeView"


def register(appbuilder) -> None:
    for view, name, label in (
        (StudentImportView, "Import students", _l("Import students")),
        (EmployeeImportView, "Import staff", _l("Import staff")),
    ):
        school_only_menu(name)
        appbuilder.add_view(view, name, label=label, category="People", category_label=_l("People"))
