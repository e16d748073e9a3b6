"""Import of a timetable from FET, aSc Timetables or the XLSX grid, with a preview.

The school system administrator and the principal or a deputy import into a school year
of their school. The preview lists what matches, what will be created and what is not
imported, and a confirmation writes everything new at once.
"""

import datetime as dt
import logging

from flask import abort, flash, g, redirect, request, session, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.errors import DomainError
from app.models import AcademicYear, db
from app.reports.xlsx import xlsx_response
from app.security.manager import school_only_menu
from app.security.scope import current_scope, scoped_get_or_404
from app.services import timetable_import
from app.services.people_import.storage import forget_upload, load_upload, store_upload
from app.services.timetable import current_year
from app.services.timetable_import import FORMATS, ImportFileError

log = logging.getLogger(__name__)

#: The kind under which the previewed file is kept between preview and confirmation.
STORAGE_KIND = "timetable"

FORMAT_LABELS = {
    "fet": _l("FET (.fet)"),
    "asc": _l("aSc Timetables (XML export)"),
    "xlsx": _l("XLSX grid of the template"),
}


class TimetableImportView(BaseView):
    """Upload, preview and confirm a timetable import."""

    route_base = "/timetable/import"
    default_view = "index"
    class_permission_name = "TimetableImport"
    method_permission_name = {
        "index": "read",
        "template": "read",
        "preview": "write",
        "confirm": "write",
    }

    def _school_scope(self):
        scope = current_scope()
        if scope is None or scope.level != "school":
            abort(404)
        return scope

    def _render(self, scope, preview=None, errors=(), token=None, name="", status=200, **form):
        years = db.session.scalars(
            select(AcademicYear)
            .where(AcademicYear.school_id == scope.school_id)
            .order_by(AcademicYear.start_date.desc())
        ).all()
        chosen = form.get("year_id")
        if chosen is None:
            year = current_year(scope.school_id, dt.date.today())
            chosen = year.id if year else None
        page = self.render_template(
            "timetable_import.html",
            preview=preview,
            errors=errors,
            token=token,
            file_name=name,
            years=years,
            year_id=chosen,
            file_format=form.get("file_format", "fet"),
            formats=FORMAT_LABELS,
            kinds=timetable_import.KINDS,
            columns=timetable_import.COLUMNS,
        )
        return page, status

    @expose("/")
    @has_access
    def index(self):
        return self._render(self._school_scope())

    @expose("/template.xlsx")
    @has_access
    def template(self):
        self._school_scope()
        note = _(
            "One row per lesson. Weekday as «понедельник» or 1 to 7; week empty, «нечётная» "
            "or «чётная»; columns without a star may stay empty."
        )
        title = _("Timetable grid")
        return xlsx_response(timetable_import.template_xlsx(title, note), title)

    @expose("/preview", methods=["POST"])
    @has_access
    def preview(self):
        scope = self._school_scope()
        year = scoped_get_or_404(AcademicYear, request.form.get("year_id"))
        file_format = request.form.get("file_format", "")
        form = {"year_id": year.id, "file_format": file_format}
        if file_format not in FORMATS:
            return self._render(scope, errors=[_("Choose the format of the file.")], status=400)
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            return self._render(scope, errors=[_("Choose a file.")], status=400, **form)

        name, data = upload.filename, upload.stream.read()
        try:
            preview = timetable_import.preview_file(
                file_format, scope.school_id, year.id, data, name
            )
        except ImportFileError as error:
            log.info("User %s uploaded an unreadable %s timetable", scope.user_id, file_format)
            messages = self._not_imported(error.messages)
            return self._render(scope, errors=messages, name=name, status=400, **form)

        token = None
        if preview.is_valid and preview.to_write:
            token = store_upload(STORAGE_KIND, scope.school_id, scope.user_id, name, data)
            self._remember(token, file_format, year.id)
        log.info(
            "User %s previewed a %s timetable import into school %s, year %s",
            scope.user_id,
            file_format,
            scope.school_id,
            year.id,
        )
        return self._render(scope, preview=preview, token=token, name=name, **form)

    @staticmethod
    def _remember(token: str, file_format: str, year_id: int) -> None:
        session["timetable_import"] = {"token": token, "format": file_format, "year": year_id}

    @expose("/confirm", methods=["POST"])
    @has_access
    def confirm(self):
        scope = self._school_scope()
        token = request.form.get("token", "")
        upload = load_upload(STORAGE_KIND, scope.school_id, scope.user_id, token)

        kept = session.get("timetable_import") or {}
        if upload is None or kept.get("token") != token:
            message = _(
                "The previewed file is no longer kept (it expired or was replaced by "
                "another upload): upload the file again."
            )
            return self._render(scope, errors=[message], status=400)

        year = scoped_get_or_404(AcademicYear, kept.get("year"))
        form = {"year_id": year.id, "file_format": kept.get("format")}
        try:
            preview = timetable_import.preview_file(
                kept["format"], scope.school_id, year.id, upload.data, upload.name
            )
            result = timetable_import.apply_preview(preview, scope.school_id, g.user.id)
        except ImportFileError as error:
            log.info("User %s confirmed a timetable that no longer reads", scope.user_id)
            return self._render(scope, errors=self._not_imported(error.messages), status=400)
        except DomainError as error:
            db.session.rollback()
            messages = self._not_imported([str(error)])
            return self._render(scope, errors=messages, status=400, **form)

        forget_upload(STORAGE_KIND, token)
        session.pop("timetable_import", None)
        flash(
            _(
                "The timetable is imported: %(total)s records created (teachers %(teacher)s, "
                "subjects %(subject)s, rooms %(room)s, classes %(class_)s, groups %(group)s, "
                "courses %(course)s, template lines %(entry)s).",
                total=result.total,
                teacher=result.created["teacher"],
                subject=result.created["subject"],
                room=result.created["room"],
                class_=result.created["class"],
                group=result.created["group"],
                course=result.created["course"],
                entry=result.created["entry"],
            ),
            "success",
        )
        return redirect(url_for(".index"))

    @staticmethod
    def _not_imported(messages) -> list[str]:
        return [_("Nothing was imported; fix the file and upload it again.")] + list(messages)


def register(appbuilder) -> None:
    school_only_menu("Import timetable")
    appbuilder.add_view(
        TimetableImportView,
        "Import timetable",
        label=_l("Import timetable"),
        category="Education",
        category_label=_l("Education"),
    )
