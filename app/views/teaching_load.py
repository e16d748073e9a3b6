"""The teaching load page (нагрузка): courses, differences from the curriculum, teachers' hours."""

import datetime as dt

from flask import abort
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.reports.xlsx import frame_to_xlsx, xlsx_response
from app.security.scope import current_scope
from app.services import teaching_load as load_service
from app.services.journal_fill import current_year

PERMISSION = "TeachingLoad"


def _school_scope():
    scope = current_scope()
    if scope is None or scope.level != "school":
        abort(404)
    return scope


def _load():
    scope = _school_scope()
    # NOTE: the page shows the current year only; a load planned for the next year in
    # summer is seen once that year has begun.
    year = current_year(scope, dt.date.today())
    return load_service.teaching_load(scope, year)


class TeachingLoadView(BaseView):
    """Courses of the year against the curriculum, and each teacher's weekly hours."""

    route_base = "/teaching-load"
    default_view = "index"
    class_permission_name = PERMISSION
    method_permission_name = {"index": "read", "export": "read"}

    @expose("/")
    @has_access
    def index(self):
        return self.render_template(
            "teaching_load.html",
            load=_load(),
            hours_text=load_service.hours_text,
            difference_text=load_service.difference_text,
        )

    @expose("/export.xlsx")
    @has_access
    def export(self):
        load = _load()
        title = _("Teaching load")
        year_name = load.year.name if load.year is not None else ""
        content = frame_to_xlsx(
            load_service.load_frames(load), title, _("School year: %(year)s", year=year_name)
        )
        return xlsx_response(content, f"{title} {year_name}")


def register(appbuilder) -> None:
    appbuilder.add_view(
        TeachingLoadView,
        "Teaching load summary",
        label=_l("Teaching load summary"),
        icon="fa-balance-scale",
        category="Education",
        category_label=_l("Education"),
    )
