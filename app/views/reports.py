"""The authority's pages: the summary, the term and year results, the indicators per subject
and the ranking of its schools (on screen and as XLSX), and school cards."""

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
    YearPeriod,
    authority_summary,
    closed_year_names,
    default_term_number,
    default_year_name,
    year_names,
)
from app.reports.authority_results import ResultsColumns, authority_results
from app.reports.authority_subjects import (
    DEFAULT_INDICATOR,
    GRADES,
    INDICATORS,
    RankingColumns,
    Selection,
    SubjectColumns,
    indicator_label,
    ranking_frame,
    subject_names,
    subjects_frame,
)
from app.reports.xlsx import Frame, frame_to_xlsx, xlsx_response
from app.security.scope import apply_scope, current_scope, scoped_get_or_404
from app.views.base import SafeSQLAInterface, SchoolModelView
from app.views.labels import LABELS

#: Term numbers offered in the selector: quarters 1–4 (half-years map onto them).
TERM_NUMBERS = (1, 2, 3, 4)

#: The value of the period selector that selects year marks instead of a term.
YEAR_PERIOD = "year"


def _period_choices(with_year: bool) -> list[tuple[str, str]]:
    """(value, label) of the period selector: the terms, and the year where a report has one."""
    choices = [(str(number), _("Term %(number)s", number=number)) for number in TERM_NUMBERS]
    if with_year:
        choices.append((YEAR_PERIOD, _("Year marks")))
    return choices


class AuthorityReportView(BaseView):
    """The authority's reports on its schools: summary, results, subjects and ranking."""

    route_base = "/authority"
    default_view = "summary"
    class_permission_name = "AuthorityReports"
    method_permission_name = {
        "summary": "read",
        "summary_xlsx": "read",
        "results": "read",
        "results_xlsx": "read",
        "subjects": "read",
        "subjects_xlsx": "read",
        "ranking": "read",
        "ranking_xlsx": "read",
    }

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
            period_choices=_period_choices(with_year=False),
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
        file_name = _(
            "Summary of schools %(year)s term %(term)s",
            year=request_data["year"] or "",
            term=request_data["term"],
        )
        return _xlsx_download(title, (title, frame, columns.formats()), filters, file_name)

    @expose("/results")
    @has_access
    def results(self):
        request_data = self._read_request(with_year=True)
        columns = ResultsColumns.translated()
        frame = self._results_frame(request_data, columns)
        return self.render_template(
            "reports_authority_results.html",
            columns=columns,
            rows=frame.to_dict("records"),
            period_choices=_period_choices(with_year=True),
            **request_data,
        )

    @expose("/results.xlsx")
    @has_access
    def results_xlsx(self):
        request_data = self._read_request(with_year=True)
        columns = ResultsColumns.translated()
        frame = self._results_frame(request_data, columns)
        title = _("Term and year results of schools")
        filters = _period_filters(request_data)
        file_name = _(
            "Results of schools %(year)s %(period)s",
            year=request_data["year"] or "",
            period=_period_label(request_data["term"]),
        )
        # The title is longer than the 31 characters Excel allows in a sheet name.
        sheet = (_("Term and year results"), frame, columns.formats())
        return _xlsx_download(title, sheet, filters, file_name)

    @expose("/subjects")
    @has_access
    def subjects(self):
        request_data, columns, frame = self._subjects_report()
        return self.render_template(
            "reports_authority_subjects.html",
            columns=columns,
            rows=frame.to_dict("records"),
            total_label=_("All schools"),
            period_choices=_period_choices(with_year=True),
            **request_data,
        )

    @expose("/subjects.xlsx")
    @has_access
    def subjects_xlsx(self):
        request_data, columns, frame = self._subjects_report()
        title = _("Subjects across schools")
        file_name = _(
            "Subjects of schools %(year)s %(period)s",
            year=request_data["year"] or "",
            period=_period_label(request_data["term"]),
        )
        sheet = (title, frame, columns.formats())
        return _xlsx_download(title, sheet, _comparison_filters(request_data), file_name)

    @expose("/ranking")
    @has_access
    def ranking(self):
        request_data, columns, frame = self._ranking_report()
        return self.render_template(
            "reports_authority_ranking.html",
            columns=columns,
            rows=frame.to_dict("records"),
            period_choices=_period_choices(with_year=True),
            **request_data,
        )

    @expose("/ranking.xlsx")
    @has_access
    def ranking_xlsx(self):
        request_data, columns, frame = self._ranking_report()
        indicator = request_data["indicator"]
        title = _("Ranking of schools")
        filters = " ".join(
            [
                _comparison_filters(request_data),
                _("Ranked by: %(indicator)s.", indicator=indicator_label(indicator)),
            ]
        )
        file_name = _(
            "Ranking of schools %(year)s %(period)s",
            year=request_data["year"] or "",
            period=_period_label(request_data["term"]),
        )
        sheet = (title, frame, columns.formats(indicator))
        return _xlsx_download(title, sheet, filters, file_name)

    def _subjects_report(self):
        """Read the request and build the report per subject: (request data, columns, frame)."""
        request_data = self._read_comparison_request()
        columns = SubjectColumns.translated()
        frame = subjects_frame(request_data["authority"].id, _selection(request_data), columns)
        return request_data, columns, frame

    def _ranking_report(self):
        """Read the request and build the ranking: (request data, columns, frame)."""
        request_data = self._read_comparison_request(with_indicator=True)
        indicator = request_data["indicator"]
        columns = RankingColumns.translated(indicator)
        selection = _selection(request_data)
        frame = ranking_frame(request_data["authority"].id, selection, indicator, columns)
        return request_data, columns, frame

    def _read_comparison_request(self, with_indicator: bool = False) -> dict:
        """Read the request of a report comparing schools: the period, subject and grade.

        With ``with_indicator`` the indicator to rank by is read too. Each chosen value is
        also put in ``xlsx_args``, for the download link.
        """
        request_data = self._read_request(with_year=True)
        subjects = subject_names(request_data["authority"].id, request_data["year"])
        subject = _parse_subject(request.args.get("subject", ""), subjects, request_data["year"])
        grade = _parse_grade(request.args.get("grade", ""))
        request_data.update(subjects=subjects, subject=subject, grades=GRADES, grade=grade)
        xlsx_args = {"subject": subject, "grade": grade}
        if with_indicator:
            indicator = _parse_indicator(request.args.get("indicator", ""))
            request_data["indicators"] = [(name, indicator_label(name)) for name in INDICATORS]
            request_data["indicator"] = indicator
            xlsx_args["indicator"] = indicator
        request_data["xlsx_args"] = xlsx_args
        return request_data

    def _read_request(self, with_year: bool = False) -> dict:
        """Read the authority, year and term of the request, with defaults.

        With ``with_year`` the term may also be :data:`YEAR_PERIOD`, for year marks.
        """
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
        term = _parse_term(term_value, with_year)
        return {
            "authority": authority,
            "authorities": _authority_choices(),
            "year": year,
            "years": years,
            "closed_years": closed_year_names(authority.id),
            "term": term,
        }

    @staticmethod
    def _frame(request_data, columns):
        if request_data["year"] is None:
            return authority_summary(request_data["authority"].id, TermPeriod("", 0), columns)
        period = TermPeriod(request_data["year"], request_data["term"])
        return authority_summary(request_data["authority"].id, period, columns)

    @staticmethod
    def _results_frame(request_data, columns):
        return authority_results(request_data["authority"].id, _period(request_data), columns)


def _period(request_data) -> TermPeriod | YearPeriod:
    """Build the period of a request read with the year marks allowed."""
    year, term = request_data["year"] or "", request_data["term"]
    return YearPeriod(year) if term == YEAR_PERIOD else TermPeriod(year, term)


def _selection(request_data) -> Selection:
    return Selection(_period(request_data), request_data["grade"], request_data["subject"])


def _period_label(term: int | str) -> str:
    """Name the period of an XLSX title and file name: the term number, or year marks."""
    return _("year marks") if term == YEAR_PERIOD else str(term)


def _period_filters(request_data) -> str:
    """Describe the authority, year and period of a request for the XLSX filters row."""
    return _(
        "Authority: %(authority)s. School year: %(year)s. Period: %(period)s.",
        authority=request_data["authority"],
        year=request_data["year"] or "—",
        period=_period_label(request_data["term"]),
    )


def _comparison_filters(request_data) -> str:
    """Describe the period, subject and grade of a comparison for the XLSX filters row."""
    subject = request_data["subject"] or _("all subjects")
    grade = request_data["grade"] or _("all grades")
    return " ".join(
        [
            _period_filters(request_data),
            _("Subject: %(subject)s. Grade: %(grade)s.", subject=subject, grade=grade),
        ]
    )


def _parse_subject(value: str, subjects: list[str], year: str | None) -> str | None:
    """Return the chosen subject's name, or None for all subjects.

    A name no school of the authority teaches with marks that year is flashed with its fix
    and dropped.
    """
    if not value:
        return None
    if value in subjects:
        return value
    message = _(
        "No school of the authority teaches the subject %(value)s with marks in the school "
        "year %(year)s. Choose a subject from the list or all subjects.",
        value=value,
        year=year or "—",
    )
    flash(message, "danger")
    return None


def _parse_grade(value: str) -> int | None:
    """Return the chosen grade, or None for all grades; an invalid one is flashed and dropped."""
    if not value:
        return None
    grade = int(value) if value.isdigit() else 0
    if grade in GRADES:
        return grade
    message = _(
        "The grade %(value)s is invalid: choose a grade from %(first)s to %(last)s or all grades.",
        value=value,
        first=GRADES[0],
        last=GRADES[-1],
    )
    flash(message, "danger")
    return None


def _parse_indicator(value: str) -> str:
    """Return the indicator to rank by; an invalid one is flashed and the default used."""
    if not value:
        return DEFAULT_INDICATOR
    if value in INDICATORS:
        return value
    names = ", ".join(indicator_label(name) for name in INDICATORS)
    message = _(
        "The indicator %(value)s is invalid: choose one of %(names)s.", value=value, names=names
    )
    flash(message, "danger")
    return DEFAULT_INDICATOR


def _xlsx_download(title: str, sheet: Frame, filters: str, file_name: str):
    """Send one sheet as an XLSX download headed by ``title`` and ``filters``."""
    return xlsx_response(frame_to_xlsx([sheet], title, filters), file_name)


def _parse_term(value: str, with_year: bool) -> int | str:
    """Return the term number, or :data:`YEAR_PERIOD` where allowed.

    An invalid value is flashed with its fix and replaced by term 1.
    """
    if with_year and value == YEAR_PERIOD:
        return YEAR_PERIOD
    term = int(value) if value.isdigit() else 0
    if term in TERM_NUMBERS:
        return term
    if with_year:
        message = _(
            "The period %(value)s is invalid: choose a term number from 1 to 4 or the year.",
            value=value,
        )
    else:
        message = _("The term %(value)s is invalid: choose a term number from 1 to 4.", value=value)
    flash(message, "danger")
    return 1


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
    # The other reports share the view, and so its permission, as menu links.
    for name, endpoint, label in (
        ("Term and year results", "AuthorityReportView.results", _l("Term and year results")),
        ("Subjects across schools", "AuthorityReportView.subjects", _l("Subjects across schools")),
        ("Ranking of schools", "AuthorityReportView.ranking", _l("Ranking of schools")),
    ):
        appbuilder.add_link(
            name, href=endpoint, label=label, category="Authority", baseview=AuthorityReportView
        )
    appbuilder.add_view(
        SchoolCardView,
        "School cards",
        label=_l("School cards"),
        category="Authority",
        category_label=_l("Authority reports"),
    )
