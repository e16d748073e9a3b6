"""The authority's pages: the summary of its schools (on screen and as XLSX) and school cards."""

import datetime as dt

from flask import abort, flash, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.models import EducationAuthority, School, db
from app.reports.authority import (
    SummaryColumns,
    TermPeriod,
    authority_summary,
    default_term_number,
    default_year_name,
    year_names,
)
from app.reports.xlsx import frame_to_xlsx, xlsx_response
from app.security.scope import apply_scope, current_scope, scoped_get_or_404
from app.views.base import SafeSQLAInterface, SchoolModelView
from app.views.labels import LABELS

#: Term numbers offered in the selector: quarters 1–4 (half-years map onto them).
TERM_NUMBERS = (1, 2, 3, 4)


class AuthorityReportView(BaseView):
    """The summary of the authority's schools by school and grade for one term."""

    route_base = "/authority"
    default_view = "summary"
    class_permission_name = "AuthorityReports"
    method_permission_name = {"summary": "read", "summary_xlsx": "read"}

    @expose("/summary")
    @has_access
    def summary(self):
        request_data = self._read_request()
        columns = SummaryColumns.translated()
        frame = self._frame(request_data, columns)
        return self.render_template(
            "reports_authority_summary.html",
            frame=frame,
            columns=columns,
            rows=frame.to_dict("records"),
            term_numbers=TERM_NUMBERS,
            **request_data,
        )

    @expose("/summary.xlsx")
    @has_access
    def summary_xlsx(self):
        request_data = self._read_request()
        columns = SummaryColumns.translated()
        frame = self._frame(request_data, columns)
        title = _("Summary of schools")
        filters = _(
            "Authority: %(authority)s. School year: %(year)s. Term: %(term)s.",
            authority=request_data["authority"],
            year=request_data["year"] or "—",
            term=request_data["term"],
        )
        content = frame_to_xlsx([(title, frame, columns.formats())], title, filters)
        file_name = _(
            "Summary of schools %(year)s term %(term)s",
            year=request_data["year"] or "",
            term=request_data["term"],
        )
        return xlsx_response(content, file_name)

    def _read_request(self) -> dict:
        """Read the authority, year and term of the request, with defaults."""
        authority = _requested_authority()
        years = year_names(authority.id)
        year = request.args.get("year") or default_year_name(authority.id, dt.date.today())
        if year is not None and year not in years:
            flash(
                _(
                    "No school of the authority has the school year %(value)s. "
                    "Choose a year from the list.",
                    value=year,
                ),
                "danger",
            )
            year = years[0] if years else None

        term_value = request.args.get("term")
        if not term_value:
            term_value = str(default_term_number(authority.id, year, dt.date.today()))
        term = int(term_value) if term_value.isdigit() else 0
        if term not in TERM_NUMBERS:
            flash(
                _(
                    "The term %(value)s is invalid: choose a term number from 1 to 4.",
                    value=term_value,
                ),
                "danger",
            )
            term = 1
        return {
            "authority": authority,
            "authorities": _authority_choices(),
            "year": year,
            "years": years,
            "term": term,
        }

    @staticmethod
    def _frame(request_data, columns):
        if request_data["year"] is None:
            return authority_summary(request_data["authority"].id, TermPeriod("", 0), columns)
        period = TermPeriod(request_data["year"], request_data["term"])
        return authority_summary(request_data["authority"].id, period, columns)


def _requested_authority() -> EducationAuthority:
    """Return the session's authority, or for the server level the one named by ?authority=."""
    scope = current_scope()
    if scope.level == "authority":
        return scoped_get_or_404(EducationAuthority, scope.authority_id)
    if scope.level == "server":
        wanted = request.args.get("authority")
        if wanted:
            return scoped_get_or_404(EducationAuthority, wanted)
        first = db.session.scalars(
            select(EducationAuthority).order_by(EducationAuthority.name)
        ).first()
        if first is None:
            abort(404)
        return first
    abort(404)


def _authority_choices() -> list[EducationAuthority]:
    """List the authorities the session may switch between: all at the server level, else none."""
    scope = current_scope()
    if scope.level != "server":
        return []
    statement = apply_scope(select(EducationAuthority), EducationAuthority)
    return list(db.session.scalars(statement.order_by(EducationAuthority.name)))


# --- School cards -----------------------------------------------------------------

SCHOOL_CARD_LABELS = {
    **LABELS,
    "name": _l("Name"),
    "full_name": _l("Full name"),
    "address": _l("Address"),
    "district": _l("District"),
    "principal_name": _l("Principal"),
    "shifts": _l("Shifts"),
    "six_day_week": _l("Six-day week"),
}


class SchoolCardView(SchoolModelView):
    """Read-only cards of the authority's schools; the scope keeps other authorities out."""

    datamodel = SafeSQLAInterface(School, db.session)
    class_permission_name = "SchoolCards"
    route_base = "/school-cards"
    list_title = _l("School cards")
    show_title = _l("School card")
    base_permissions = ["can_read"]
    label_columns = SCHOOL_CARD_LABELS
    list_columns = ["name", "address", "district", "principal_name", "shifts", "six_day_week"]
    show_columns = [
        "name",
        "full_name",
        "address",
        "district",
        "principal_name",
        "shifts",
        "six_day_week",
    ]
    search_columns = ["name", "district"]
    base_order = ("name", "asc")


def register(appbuilder) -> None:
    appbuilder.add_view(
        AuthorityReportView,
        "Summary of schools",
        label=_l("Summary of schools"),
        category="Authority",
        category_label=_l("Authority reports"),
    )
    appbuilder.add_view(
        SchoolCardView,
        "School cards",
        label=_l("School cards"),
        category="Authority",
        category_label=_l("Authority reports"),
    )
