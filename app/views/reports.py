"""The authority's pages: the summary, the term and year results, the indicators per subject,
the ranking of its schools, the journal keeping and parents' sign-ins, ВПР against term
marks and the contingent (on screen and as XLSX), and school cards."""

import datetime as dt

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.models import EducationAuthority, School, db
from app.reports import authority_charts as charts
from app.reports.authority import (
    SummaryColumns,
    TermPeriod,
    YearPeriod,
    authority_summary,
    closed_year_names,
    default_term_number,
    default_year_name,
    school_totals,
    summary_chart,
    summary_period,
    summary_workbook,
    year_names,
)
from app.reports.authority_activity import ActivityColumns, authority_activity
from app.reports.authority_contingent import (
    ContingentColumns,
    StaffColumns,
    contingent_staff,
    contingent_students,
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
    ranking_chart,
    ranking_frame,
    subject_names,
    subjects_frame,
)
from app.reports.authority_vpr import VprColumns, authority_vpr
from app.reports.authority_workbooks import (
    YEAR_PERIOD,
    activity_workbook,
    comparison_filters,
    contingent_workbook,
    ranking_workbook,
    report_period,
    results_workbook,
    subjects_workbook,
    vpr_workbook,
)
from app.reports.charts import screen_chart
from app.reports.xlsx import xlsx_response
from app.security.scope import apply_scope, current_scope, scoped_get_or_404
from app.services import report_jobs
from app.services.school_card import CARD_FIELDS, card_sections
from app.views.base import SafeSQLAInterface, SchoolModelView
from app.views.labels import LABELS
from app.views.report_jobs import QUEUED_MESSAGE, REPORT_JOBS_PERMISSION

#: Term numbers offered in the selector: quarters 1–4 (half-years map onto them).
TERM_NUMBERS = (1, 2, 3, 4)


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
        "summary_job": "read",
        "results": "read",
        "results_xlsx": "read",
        "results_job": "read",
        "subjects": "read",
        "subjects_xlsx": "read",
        "subjects_job": "read",
        "ranking": "read",
        "ranking_xlsx": "read",
        "ranking_job": "read",
        "activity": "read",
        "activity_xlsx": "read",
        "activity_job": "read",
        "vpr": "read",
        "vpr_xlsx": "read",
        "vpr_job": "read",
        "contingent": "read",
        "contingent_xlsx": "read",
        "contingent_job": "read",
    }

    @expose("/summary")
    @has_access
    def summary(self):
        request_data = self._read_request(request.args)
        columns = SummaryColumns.translated()
        frame = self._frame(request_data, columns)
        chart = screen_chart(school_totals(frame, columns), summary_chart(columns))
        return self.render_template(
            "reports_authority_summary.html",
            frame=frame,
            columns=columns,
            rows=frame.to_dict("records"),
            chart=chart,
            period_choices=_period_choices(with_year=False),
            can_queue_job=_can_queue_job(self.appbuilder),
            **request_data,
        )

    @expose("/summary.xlsx")
    @has_access
    def summary_xlsx(self):
        request_data = self._read_request(request.args)
        columns = SummaryColumns.translated()
        frame = self._frame(request_data, columns)
        authority_name = str(request_data["authority"])
        file_name, content = summary_workbook(
            frame, columns, authority_name, request_data["year"], request_data["term"]
        )
        return xlsx_response(content, file_name)

    @expose("/summary/job", methods=["POST"])
    @has_access
    def summary_job(self):
        """Queue the summary with the posted filters as a background job of the user."""
        request_data = self._read_request(request.form, report_problems=False)
        return self._queue_job("authority_summary", ".summary", request_data, ("year", "term"))

    @expose("/results/job", methods=["POST"])
    @has_access
    def results_job(self):
        """Queue the term and year results with the posted filters as a background job."""
        request_data = self._read_request(request.form, with_year=True, report_problems=False)
        return self._queue_job("authority_results", ".results", request_data, ("year", "term"))

    @expose("/subjects/job", methods=["POST"])
    @has_access
    def subjects_job(self):
        """Queue the report per subject with the posted filters as a background job."""
        request_data = self._read_request(
            request.form, with_year=True, with_selection=True, report_problems=False
        )
        names = ("year", "term", "subject", "grade")
        return self._queue_job("authority_subjects", ".subjects", request_data, names)

    @expose("/ranking/job", methods=["POST"])
    @has_access
    def ranking_job(self):
        """Queue the ranking of schools with the posted filters as a background job."""
        request_data = self._read_request(
            request.form,
            with_year=True,
            with_selection=True,
            with_indicator=True,
            report_problems=False,
        )
        names = ("year", "term", "subject", "grade", "indicator")
        return self._queue_job("authority_ranking", ".ranking", request_data, names)

    @expose("/activity/job", methods=["POST"])
    @has_access
    def activity_job(self):
        """Queue the journal keeping report with the posted filters as a background job."""
        request_data = self._read_request(request.form, report_problems=False)
        return self._queue_job("authority_activity", ".activity", request_data, ("year", "term"))

    @expose("/vpr/job", methods=["POST"])
    @has_access
    def vpr_job(self):
        """Queue the ВПР report of the posted year as a background job."""
        request_data = self._read_request(request.form, report_problems=False)
        return self._queue_job("authority_vpr", ".vpr", request_data, ("year",))

    @expose("/contingent/job", methods=["POST"])
    @has_access
    def contingent_job(self):
        """Queue the contingent of the posted year as a background job."""
        request_data = self._read_contingent_request(request.form, report_problems=False)
        return self._queue_job("authority_contingent", ".contingent", request_data, ("year", "on"))

    def _queue_job(self, kind: str, endpoint: str, request_data: dict, names: tuple[str, ...]):
        """Queue the report ``kind`` with the request's values of ``names`` for the user.

        A request with an invalid filter queues nothing: the report's page shows the
        reasons and the corrected filters.
        """
        if not _can_queue_job(self.appbuilder):
            abort(403)
        parameters = {name: request_data[name] for name in names}
        if request_data["problems"]:
            for problem in request_data["problems"]:
                flash(problem, "danger")
            filters = {name: value for name, value in parameters.items() if value is not None}
            if request_data["authorities"]:
                filters["authority"] = request_data["authority"].id
            return redirect(url_for(endpoint, **filters))

        job = report_jobs.enqueue(
            current_scope().user_id,
            kind,
            parameters,
            locale=str(get_locale()),
            authority_id=request_data["authority"].id,
        )
        db.session.commit()
        flash(QUEUED_MESSAGE, "success")
        return redirect(url_for("ReportJobView.index", highlight=job.id))

    @expose("/results")
    @has_access
    def results(self):
        request_data = self._read_request(request.args, with_year=True)
        columns = ResultsColumns.translated()
        frame = self._results_frame(request_data, columns)
        return self.render_template(
            "reports_authority_results.html",
            columns=columns,
            rows=frame.to_dict("records"),
            chart=screen_chart(
                charts.results_chart_frame(frame, columns), charts.results_chart(columns)
            ),
            can_queue_job=_can_queue_job(self.appbuilder),
            period_choices=_period_choices(with_year=True),
            **request_data,
        )

    @expose("/results.xlsx")
    @has_access
    def results_xlsx(self):
        request_data = self._read_request(request.args, with_year=True)
        authority = request_data["authority"]
        file_name, content = results_workbook(
            authority.id, str(authority), request_data["year"], request_data["term"]
        )
        return xlsx_response(content, file_name)

    @expose("/subjects")
    @has_access
    def subjects(self):
        request_data, columns, frame = self._subjects_report()
        return self.render_template(
            "reports_authority_subjects.html",
            columns=columns,
            rows=frame.to_dict("records"),
            chart=screen_chart(
                charts.subjects_chart_frame(frame, columns), charts.subjects_chart(columns)
            ),
            can_queue_job=_can_queue_job(self.appbuilder),
            total_label=_("All schools"),
            period_choices=_period_choices(with_year=True),
            **request_data,
        )

    @expose("/subjects.xlsx")
    @has_access
    def subjects_xlsx(self):
        request_data = self._read_request(request.args, with_year=True, with_selection=True)
        authority = request_data["authority"]
        file_name, content = subjects_workbook(
            authority.id,
            str(authority),
            request_data["year"],
            request_data["term"],
            request_data["subject"],
            request_data["grade"],
        )
        return xlsx_response(content, file_name)

    @expose("/ranking")
    @has_access
    def ranking(self):
        request_data, columns, frame = self._ranking_report()
        chart = ranking_chart(columns, request_data["indicator"])
        return self.render_template(
            "reports_authority_ranking.html",
            columns=columns,
            rows=frame.to_dict("records"),
            chart=screen_chart(frame, chart),
            can_queue_job=_can_queue_job(self.appbuilder),
            period_choices=_period_choices(with_year=True),
            **request_data,
        )

    @expose("/ranking.xlsx")
    @has_access
    def ranking_xlsx(self):
        request_data = self._read_request(
            request.args, with_year=True, with_selection=True, with_indicator=True
        )
        authority = request_data["authority"]
        file_name, content = ranking_workbook(
            authority.id,
            str(authority),
            request_data["year"],
            request_data["term"],
            request_data["subject"],
            request_data["grade"],
            request_data["indicator"],
        )
        return xlsx_response(content, file_name)

    @expose("/activity")
    @has_access
    def activity(self):
        request_data, columns, frame = self._activity_report()
        return self.render_template(
            "reports_authority_activity.html",
            columns=columns,
            rows=frame.to_dict("records"),
            chart=screen_chart(
                charts.activity_chart_frame(frame, columns), charts.activity_chart(columns)
            ),
            can_queue_job=_can_queue_job(self.appbuilder),
            total_label=_("All schools"),
            period_choices=_period_choices(with_year=False),
            **request_data,
        )

    @expose("/activity.xlsx")
    @has_access
    def activity_xlsx(self):
        request_data = self._read_request(request.args)
        authority = request_data["authority"]
        file_name, content = activity_workbook(
            authority.id,
            str(authority),
            request_data["year"],
            request_data["term"],
            dt.date.today(),
        )
        return xlsx_response(content, file_name)

    @expose("/vpr")
    @has_access
    def vpr(self):
        request_data, columns, frame = self._vpr_report()
        return self.render_template(
            "reports_authority_vpr.html",
            columns=columns,
            rows=frame.to_dict("records"),
            chart=screen_chart(charts.vpr_chart_frame(frame, columns), charts.vpr_chart(columns)),
            can_queue_job=_can_queue_job(self.appbuilder),
            total_label=_("All schools"),
            # The report covers the whole year, so the form offers no term.
            period_choices=[],
            **request_data,
        )

    @expose("/vpr.xlsx")
    @has_access
    def vpr_xlsx(self):
        request_data = self._read_request(request.args)
        authority = request_data["authority"]
        file_name, content = vpr_workbook(authority.id, str(authority), request_data["year"])
        return xlsx_response(content, file_name)

    @expose("/contingent")
    @has_access
    def contingent(self):
        request_data, tables = self._contingent_report()
        (students_columns, students), (staff_columns, staff) = tables
        return self.render_template(
            "reports_authority_contingent.html",
            columns=students_columns,
            rows=students.to_dict("records"),
            chart=screen_chart(
                charts.contingent_chart_frame(students, students_columns),
                charts.contingent_chart(students_columns),
            ),
            can_queue_job=_can_queue_job(self.appbuilder),
            staff_columns=staff_columns,
            staff_rows=staff.to_dict("records"),
            period_choices=[],
            **request_data,
        )

    @expose("/contingent.xlsx")
    @has_access
    def contingent_xlsx(self):
        request_data = self._read_contingent_request(request.args)
        authority = request_data["authority"]
        file_name, content = contingent_workbook(
            authority.id, str(authority), request_data["year"], request_data["on_day"]
        )
        return xlsx_response(content, file_name)

    def _read_contingent_request(self, values, report_problems: bool = True) -> dict:
        """Read the year and the optional date of class membership (``on``, an ISO date).

        An invalid date is dropped, so the report counts the current classes, and the
        reason is added to ``problems``.
        """
        request_data = self._read_request(values, report_problems=False)
        on_day, problem = _parse_day(values.get("on", ""))
        _add_problem(request_data["problems"], problem)
        request_data["on_day"] = on_day
        request_data["on"] = on_day.isoformat() if on_day else None
        request_data["xlsx_args"] = {"on": request_data["on"]}
        if report_problems:
            for problem in request_data["problems"]:
                flash(problem, "danger")
        return request_data

    def _contingent_report(self):
        """Read the request and build the contingent's students and staff tables."""
        request_data = self._read_contingent_request(request.args)
        authority_id = request_data["authority"].id
        students_columns = ContingentColumns.translated()
        students = contingent_students(
            authority_id, request_data["year"], students_columns, request_data["on_day"]
        )
        staff_columns = StaffColumns.translated()
        staff = contingent_staff(authority_id, staff_columns)
        return request_data, ((students_columns, students), (staff_columns, staff))

    def _vpr_report(self):
        """Read the request and build the ВПР report: (request data, columns, frame)."""
        request_data = self._read_request(request.args)
        columns = VprColumns.translated()
        frame = authority_vpr(request_data["authority"].id, request_data["year"], columns)
        return request_data, columns, frame

    def _activity_report(self):
        """Read the request and build the journal keeping report: (request data, columns,
        frame)."""
        request_data = self._read_request(request.args)
        columns = ActivityColumns.translated()
        period = summary_period(request_data["year"], request_data["term"])
        frame = authority_activity(request_data["authority"].id, period, dt.date.today(), columns)
        return request_data, columns, frame

    def _subjects_report(self):
        """Read the request and build the report per subject: (request data, columns, frame)."""
        request_data = self._read_request(request.args, with_year=True, with_selection=True)
        columns = SubjectColumns.translated()
        frame = subjects_frame(request_data["authority"].id, _selection(request_data), columns)
        return request_data, columns, frame

    def _ranking_report(self):
        """Read the request and build the ranking: (request data, columns, frame)."""
        request_data = self._read_request(
            request.args, with_year=True, with_selection=True, with_indicator=True
        )
        indicator = request_data["indicator"]
        columns = RankingColumns.translated(indicator)
        selection = _selection(request_data)
        frame = ranking_frame(request_data["authority"].id, selection, indicator, columns)
        return request_data, columns, frame

    def _read_request(
        self,
        values,
        with_year: bool = False,
        with_selection: bool = False,
        with_indicator: bool = False,
        report_problems: bool = True,
    ) -> dict:
        """Read the authority, year and term from ``values``, with defaults.

        With ``with_year`` the term may also be :data:`YEAR_PERIOD`, for year marks. Reports
        comparing schools pass ``with_selection`` to read the subject and grade, and
        ``with_indicator`` to read the indicator to rank by. These values also go into
        ``xlsx_args`` for the download link. An invalid value is replaced by a default (all
        subjects or grades for those two), and the reason is added to ``problems``, which are
        flashed at once when ``report_problems`` is set.
        """
        problems = []
        request_data = _read_period(values, with_year, problems)
        xlsx_args = {}
        if with_selection:
            selection = _read_selection(values, request_data, problems)
            request_data.update(selection, grades=GRADES)
            xlsx_args.update(subject=selection["subject"], grade=selection["grade"])
        if with_indicator:
            indicator, problem = _parse_indicator(values.get("indicator", ""))
            _add_problem(problems, problem)
            request_data["indicators"] = [(name, indicator_label(name)) for name in INDICATORS]
            request_data["indicator"] = indicator
            xlsx_args["indicator"] = indicator
        if xlsx_args:
            request_data["xlsx_args"] = xlsx_args

        if report_problems:
            for problem in problems:
                flash(problem, "danger")
        request_data["problems"] = problems
        return request_data

    @staticmethod
    def _frame(request_data, columns):
        period = summary_period(request_data["year"], request_data["term"])
        return authority_summary(request_data["authority"].id, period, columns)

    @staticmethod
    def _results_frame(request_data, columns):
        return authority_results(request_data["authority"].id, _period(request_data), columns)


def _read_period(values, with_year: bool, problems: list[str]) -> dict:
    """Read the authority, year and term from ``values``, adding each replaced value's reason to
    ``problems``."""
    authority = _requested_authority(values)
    years = year_names(authority.id)
    year = values.get("year") or default_year_name(authority.id, dt.date.today())
    if year is not None and year not in years:
        problems.append(
            _(
                "No school of the authority has the school year %(value)s. "
                "Choose a year from the list.",
                value=year,
            )
        )
        year = years[0] if years else None

    term_value = values.get("term")
    if not term_value:
        term_value = str(default_term_number(authority.id, year, dt.date.today()))
    term, problem = _parse_term(term_value, with_year)
    _add_problem(problems, problem)
    return {
        "authority": authority,
        "authorities": _authority_choices(),
        "year": year,
        "years": years,
        "closed_years": closed_year_names(authority.id),
        "term": term,
    }


def _read_selection(values, request_data, problems: list[str]) -> dict:
    """Read the subject and grade of a report comparing schools, with the subjects offered.

    Returns ``subjects`` (the names offered that year), ``subject`` and ``grade``, where
    None means all; the reasons of dropped values are added to ``problems``.
    """
    year = request_data["year"]
    subjects = subject_names(request_data["authority"].id, year)
    subject, problem = _parse_subject(values.get("subject", ""), subjects, year)
    _add_problem(problems, problem)
    grade, problem = _parse_grade(values.get("grade", ""))
    _add_problem(problems, problem)
    return {"subjects": subjects, "subject": subject, "grade": grade}


def _add_problem(problems: list[str], problem: str | None) -> None:
    if problem is not None:
        problems.append(problem)


def _period(request_data) -> TermPeriod | YearPeriod:
    """Build the period of a request read with the year marks allowed."""
    return report_period(request_data["year"], request_data["term"])


def _selection(request_data) -> Selection:
    return Selection(_period(request_data), request_data["grade"], request_data["subject"])


def _comparison_filters(request_data) -> str:
    """Describe the period, subject and grade of a comparison for the XLSX filters row."""
    return comparison_filters(
        str(request_data["authority"]),
        request_data["year"],
        request_data["term"],
        request_data["subject"],
        request_data["grade"],
    )


def _parse_subject(
    value: str, subjects: list[str], year: str | None
) -> tuple[str | None, str | None]:
    """Return the chosen subject's name, or None for all subjects, and the problem found.

    A name no school of the authority teaches with marks that year is dropped, with a
    message that names it and its fix.
    """
    if not value:
        return None, None
    if value in subjects:
        return value, None
    message = _(
        "No school of the authority teaches the subject %(value)s with marks in the school "
        "year %(year)s. Choose a subject from the list or all subjects.",
        value=value,
        year=year or "—",
    )
    return None, message


def _parse_day(value: str) -> tuple[dt.date | None, str | None]:
    """Return the date of an ``on`` filter (ISO, as a date input sends it) and the problem found."""
    if not value:
        return None, None
    try:
        return dt.date.fromisoformat(value), None
    except ValueError:
        message = _(
            "The date %(value)s is invalid: enter a date such as 01.09.2026, "
            "or leave it empty for the current classes.",
            value=value,
        )
        return None, message


def _parse_grade(value: str) -> tuple[int | None, str | None]:
    """Return the chosen grade, or None for all grades, and the problem found.

    An invalid grade is dropped, with a message that names it and its fix.
    """
    if not value:
        return None, None
    grade = int(value) if value.isdigit() else 0
    if grade in GRADES:
        return grade, None
    message = _(
        "The grade %(value)s is invalid: choose a grade from %(first)s to %(last)s or all grades.",
        value=value,
        first=GRADES[0],
        last=GRADES[-1],
    )
    return None, message


def _parse_indicator(value: str) -> tuple[str, str | None]:
    """Return the indicator to rank by and the problem found.

    An invalid indicator is replaced by the default, with a message that names it and the
    valid ones.
    """
    if not value:
        return DEFAULT_INDICATOR, None
    if value in INDICATORS:
        return value, None
    names = ", ".join(indicator_label(name) for name in INDICATORS)
    message = _(
        "The indicator %(value)s is invalid: choose one of %(names)s.", value=value, names=names
    )
    return DEFAULT_INDICATOR, message


def _parse_term(value: str, with_year: bool) -> tuple[int | str, str | None]:
    """Return the term number, or :data:`YEAR_PERIOD` where allowed, and the problem found.

    An invalid value is replaced by term 1, with a message that names it and its fix.
    """
    if with_year and value == YEAR_PERIOD:
        return YEAR_PERIOD, None
    term = int(value) if value.isdigit() else 0
    if term in TERM_NUMBERS:
        return term, None
    if with_year:
        message = _(
            "The period %(value)s is invalid: choose a term number from 1 to 4 or the year.",
            value=value,
        )
    else:
        message = _("The term %(value)s is invalid: choose a term number from 1 to 4.", value=value)
    return 1, message


def _can_queue_job(appbuilder) -> bool:
    """Tell whether the user's roles may queue background reports."""
    return appbuilder.sm.has_access("can_write", REPORT_JOBS_PERMISSION)


def _requested_authority(values) -> EducationAuthority:
    """Return the session's authority, or for the server level the one named in ``values``."""
    scope = current_scope()
    if scope.level == "authority":
        return scoped_get_or_404(EducationAuthority, scope.authority_id)
    if scope.level == "server":
        requested = values.get("authority")
        if requested:
            return scoped_get_or_404(EducationAuthority, requested)
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
    **{field.name: field.label for field in CARD_FIELDS},
    "name": _l("Name"),
    "district": _l("District"),
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
    list_columns = ["name", "address", "district", "principal_name", "phone", "inn"]
    show_fieldsets = [
        (title, {"fields": [field.name for field in fields]}) for title, fields in card_sections()
    ] + [(_l("District and shifts"), {"fields": ["district", "shifts", "six_day_week"]})]
    show_columns = [name for _title, spec in show_fieldsets for name in spec["fields"]]
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
        (
            "Journal keeping and parents",
            "AuthorityReportView.activity",
            _l("Journal keeping and parents' sign-ins"),
        ),
        ("ВПР against term marks", "AuthorityReportView.vpr", _l("ВПР against term marks")),
        ("Contingent of schools", "AuthorityReportView.contingent", _l("Contingent of schools")),
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
