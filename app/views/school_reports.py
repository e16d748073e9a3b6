"""School reports: class results, summary sheet, attendance, dynamics, a student's progress
and report card. Each page shows tables on screen and downloads the same tables as XLSX.

Class reports require the "Journal" permission, which the principal and teachers hold.
Student reports require "Diary", which staff, parents and students hold. Which class or
student a session may open is decided in ``app/services/school_reports.py``.
"""

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.models import db
from app.reports import school as reports
from app.reports import school_attendance as attendance_reports
from app.reports import school_student as student_reports
from app.reports.charts import screen_chart
from app.reports.xlsx import (
    DECIMAL_2,
    INTEGER,
    PERCENT_1,
    current_school_label,
    frame_to_xlsx,
    xlsx_response,
)
from app.security.scope import current_scope
from app.services import report_jobs
from app.services import school_reports as access_rules
from app.services.dates import format_date
from app.services.journal import default_term
from app.views.report_jobs import QUEUED_MESSAGE, REPORT_JOBS_PERMISSION

CLASS_PERMISSION = "Journal"
STUDENT_PERMISSION = "Diary"
WHOLE_SCHOOL_PERMISSION = "SchoolReports"


# --- Shared steps -----------------------------------------------------------------------------


def _access(appbuilder) -> access_rules.ReportAccess:
    holds = appbuilder.sm.has_access("can_read", WHOLE_SCHOOL_PERMISSION)
    return access_rules.report_access(current_scope(), holds)


def _requested_term(access):
    """Load the ?term= row, checked against the scope first so that a foreign id raises 404."""
    term_id = request.args.get("term")
    return access_rules.term_or_404(access, term_id) if term_id else None


def _class_term(school_class, requested):
    """Pick the requested term if it is the class's, else the term containing today."""
    terms = reports.class_terms(school_class)
    term, message = access_rules.check_term(requested, school_class, terms)
    if message:
        flash(message, "danger")
    return term or default_term(terms, dt.date.today()), terms


def _format_cell(value, number_format: str | None) -> str:
    """Show a cell as the XLSX shows it: percents with one decimal, averages with two."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str):
        return value
    if number_format == PERCENT_1:
        shown = (Decimal(str(value)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        return f"{format_decimal(shown, format='0.0')} %"
    if number_format == DECIMAL_2:
        shown = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return format_decimal(shown, format="0.00")
    if number_format == INTEGER or float(value).is_integer():
        return str(int(value))
    return format_decimal(value)


def _class_results_frames(results) -> list:
    """Build the class results' sheets, the subjects sheet with its chart of marks."""
    marks, subjects, lists = reports.class_results_frames(results)
    return [marks, reports.with_chart(subjects, reports.class_results_chart()), lists]


def _dynamics_frames(dynamics) -> list:
    """Build the dynamics' sheets, each with a chart of its indicator per period."""
    return [
        reports.with_chart(frame, reports.dynamics_chart(frame, dynamics))
        for frame in reports.dynamics_frames(dynamics)
    ]


def _screen_tables(frames) -> list[dict]:
    """Turn (sheet title, frame, formats[, chart]) into header and text rows and chart data."""
    tables = []
    for title, frame, formats, *chart in frames:
        columns = [str(column) for column in frame.columns]
        rows = [
            [
                _format_cell(value, formats.get(column))
                for column, value in zip(columns, row, strict=True)
            ]
            for row in frame.itertuples(index=False, name=None)
        ]
        chart_data = None
        if chart and chart[0] is not None and len(frame) > (1 if chart[0].without_total else 0):
            chart_data = screen_chart(frame, chart[0])
        tables.append({"title": title, "columns": columns, "rows": rows, "chart": chart_data})
    return tables


def _args(*names) -> dict:
    return {name: request.args[name] for name in names if request.args.get(name)}


def _download(frames, title: str | None, filters: str):
    """Send the report's tables as XLSX; without a chosen class or student there is none."""
    if title is None:
        abort(404)
    return xlsx_response(frame_to_xlsx(frames, title, filters), title, current_school_label())


# --- Class reports ----------------------------------------------------------------------------


class SchoolClassReportsView(BaseView):
    """Reports of one class: period results, summary sheet, attendance and dynamics."""

    route_base = "/reports/school"
    default_view = "class_results"
    class_permission_name = CLASS_PERMISSION
    method_permission_name = {
        "class_results": "read",
        "class_results_xlsx": "read",
        "summary_sheet": "read",
        "summary_sheet_xlsx": "read",
        "summary_sheet_job": "read",
        "attendance": "read",
        "attendance_xlsx": "read",
        "dynamics": "read",
        "dynamics_xlsx": "read",
    }

    # Class results for a period.

    @expose("/class-results")
    @has_access
    def class_results(self):
        report = self._class_results()
        return self._render("school_reports_class_results.html", report)

    @expose("/class-results.xlsx")
    @has_access
    def class_results_xlsx(self):
        report = self._class_results()
        if report["school_class"] is None or report["term"] is None:
            abort(404)
        return _download(report["frames"], report["title"], report["filters"])

    def _class_results(self) -> dict:
        access = _access(self.appbuilder)
        requested_term = _requested_term(access)
        report = self._class_page(access)
        school_class = report["school_class"]
        if school_class is None:
            return report
        term, terms = _class_term(school_class, requested_term)
        report.update(term=term, terms=terms)
        if term is None:
            return report
        results = reports.class_results(school_class, term)
        report.update(
            title=_results_title(school_class, term, results.uses_suggestions),
            filters=_describe_term(school_class, term, results.uses_suggestions),
            frames=_class_results_frames(results),
            results=results,
        )
        return report

    # Summary sheet.

    @expose("/summary-sheet")
    @has_access
    def summary_sheet(self):
        return self._render("school_reports_summary_sheet.html", self._summary_sheet())

    @expose("/summary-sheet.xlsx")
    @has_access
    def summary_sheet_xlsx(self):
        report = self._summary_sheet()
        school_class = report["school_class"]
        if school_class is None:
            abort(404)
        file_name, content = reports.summary_sheet_workbook(report["frames"][0], school_class)
        return xlsx_response(content, file_name, current_school_label())

    @expose("/summary-sheet/job", methods=["POST"])
    @has_access
    def summary_sheet_job(self):
        """Queue the summary sheet of the posted class as a background job of the user."""
        if not self.appbuilder.sm.has_access("can_write", REPORT_JOBS_PERMISSION):
            abort(403)
        access = _access(self.appbuilder)
        if not access.opens_class_reports:
            abort(404)
        school_class = access_rules.report_class_or_404(access, request.form.get("class"))
        job = report_jobs.enqueue(
            access.scope.user_id,
            "summary_sheet",
            {"class_id": school_class.id},
            locale=str(get_locale()),
            school_id=school_class.school_id,
        )
        db.session.commit()
        flash(QUEUED_MESSAGE, "success")
        return redirect(url_for("ReportJobView.index", highlight=job.id))

    def _summary_sheet(self) -> dict:
        report = self._class_page(_access(self.appbuilder))
        school_class = report["school_class"]
        if school_class is None:
            return report
        report.update(
            title=reports.summary_sheet_title(school_class),
            filters=reports.describe_year(school_class),
            frames=[reports.summary_sheet_frame(school_class)],
        )
        return report

    # Dynamics.

    @expose("/dynamics")
    @has_access
    def dynamics(self):
        return self._render("school_reports_dynamics.html", self._dynamics())

    @expose("/dynamics.xlsx")
    @has_access
    def dynamics_xlsx(self):
        report = self._dynamics()
        if report["school_class"] is None:
            abort(404)
        return _download(report["frames"], report["title"], report["filters"])

    def _dynamics(self) -> dict:
        report = self._class_page(_access(self.appbuilder))
        school_class = report["school_class"]
        if school_class is None:
            return report
        report.update(
            title=_("Dynamics of %(class_name)s by term", class_name=school_class.name),
            filters=reports.describe_year(school_class),
            frames=_dynamics_frames(reports.class_dynamics(school_class)),
        )
        return report

    # Attendance.

    @expose("/attendance")
    @has_access
    def attendance(self):
        return self._render("school_reports_attendance.html", self._attendance())

    @expose("/attendance.xlsx")
    @has_access
    def attendance_xlsx(self):
        report = self._attendance()
        return _download(report["frames"], report["title"], report["filters"])

    def _attendance(self) -> dict:
        access = _access(self.appbuilder)
        report = self._class_page(access)
        today = dt.date.today()
        dates = access_rules.parse_date_range(request.args, today.replace(day=1), today)
        for message in dates.errors:
            flash(message, "danger")
        report.update(date_from=dates.date_from, date_to=dates.date_to)
        school_class = report["school_class"]
        if school_class is not None:
            label = _("Student")
            students = reports.class_students(school_class)
            per_student = attendance_reports.attendance_by_student(
                school_class.school_id, students, dates.date_from, dates.date_to
            )
            rows = [per_student[s.id] for s in students]
            scope_text = _("Class %(class_name)s", class_name=school_class.name)
            school_id = school_class.school_id
        elif access.whole_school and access.scope.school_id is not None:
            label = _("Class")
            school_id = access.scope.school_id
            classes = attendance_reports.classes_in_range(school_id, dates.date_from, dates.date_to)
            rows = attendance_reports.attendance_by_class(
                school_id, classes, dates.date_from, dates.date_to
            )
            scope_text = _("All classes")
        else:
            return report
        frame = attendance_reports.attendance_frame(
            label, rows, attendance_reports.reason_codes(school_id, rows)
        )
        report.update(
            title=_("Attendance: missed lessons and whole days"),
            filters=_(
                "%(scope)s. Dates: %(start)s–%(end)s. Counted in lessons and in whole days: "
                "a missed day is a day on which every scheduled lesson was missed; "
                "cancelled lessons are not scheduled.",
                scope=scope_text,
                start=format_date(dates.date_from),
                end=format_date(dates.date_to),
            ),
            frames=[reports.with_chart(frame, attendance_reports.attendance_chart(frame))],
        )
        return report

    # Shared steps of the class pages.

    def _class_page(self, access) -> dict:
        """Read ?class= and list the classes of the selector; 404 for a class not allowed."""
        if not access.opens_class_reports:
            abort(404)
        class_id = request.args.get("class")
        school_class = access_rules.report_class_or_404(access, class_id) if class_id else None
        return {
            "access": access,
            "classes": access_rules.report_classes(access),
            "school_class": school_class,
            "term": None,
            "terms": [],
            "frames": [],
            "title": None,
            "filters": "",
        }

    def _render(self, template: str, report: dict):
        return self.render_template(
            template,
            tables=_screen_tables(report["frames"]),
            args=_args("class", "term", "date_from", "date_to"),
            can_queue_job=self.appbuilder.sm.has_access("can_write", REPORT_JOBS_PERMISSION),
            **report,
        )


def _results_title(school_class, term, suggested: bool) -> str:
    """Title the class results, saying when some marks come from current averages."""
    if suggested:
        return _(
            "Class results of %(class_name)s: %(term)s (by current averages)",
            class_name=school_class.name,
            term=term.name,
        )
    return _(
        "Class results of %(class_name)s: %(term)s",
        class_name=school_class.name,
        term=term.name,
    )


def _describe_term(school_class, term, suggested: bool) -> str:
    text = _(
        "Class: %(class_name)s. Period: %(term)s, %(start)s–%(end)s.",
        class_name=school_class.name,
        term=term.name,
        start=format_date(term.start_date),
        end=format_date(term.end_date),
    )
    if suggested:
        text += " " + _(
            "Where a period mark is not given yet, the mark is suggested from the current "
            "weighted average, rounded by the regulation's thresholds."
        )
    return text


# --- Student reports ---------------------------------------------------------------------------


class SchoolStudentReportsView(BaseView):
    """A student's progress with class averages, and the printable report card."""

    route_base = "/reports/school"
    default_view = "progress"
    class_permission_name = STUDENT_PERMISSION
    method_permission_name = {
        "progress": "read",
        "progress_xlsx": "read",
        "report_card": "read",
        "report_card_xlsx": "read",
    }

    @expose("/progress")
    @has_access
    def progress(self):
        return self._render("school_reports_progress.html", self._progress())

    @expose("/progress.xlsx")
    @has_access
    def progress_xlsx(self):
        report = self._progress()
        if report["term"] is None:
            abort(404)
        return _download(report["frames"], report["title"], report["filters"])

    def _progress(self) -> dict:
        access = _access(self.appbuilder)
        requested_term = _requested_term(access)
        report = self._student_page(access)
        student, school_class = report["student"], report["school_class"]
        if student is None or school_class is None:
            return report
        term, terms = _class_term(school_class, requested_term)
        report.update(term=term, terms=terms)
        if term is None:
            return report
        rows = student_reports.student_progress(student, school_class, term)
        report.update(
            title=_(
                "Progress of %(student)s: %(term)s",
                student=reports.student_name(student),
                term=term.name,
            ),
            filters=_describe_term(school_class, term, suggested=False),
            frames=[student_reports.progress_frame(rows)],
        )
        return report

    @expose("/report-card")
    @has_access
    def report_card(self):
        return self._render("school_reports_report_card.html", self._report_card())

    @expose("/report-card.xlsx")
    @has_access
    def report_card_xlsx(self):
        report = self._report_card()
        if report["school_class"] is None:
            abort(404)
        return _download(report["frames"], report["title"], report["filters"])

    def _report_card(self) -> dict:
        report = self._student_page(_access(self.appbuilder))
        student, school_class = report["student"], report["school_class"]
        if student is None or school_class is None:
            return report
        report.update(
            title=_("Report card of %(student)s", student=reports.student_name(student)),
            filters=reports.describe_year(school_class),
            frames=[student_reports.report_card_frame(student, school_class)],
        )
        return report

    def _student_page(self, access) -> dict:
        """Read ?student= (or ?class= to choose one); own child or self by default."""
        student_id = request.args.get("student")
        class_id = request.args.get("class")
        student = access_rules.report_student_or_404(access, student_id) if student_id else None
        chosen_class = None
        if class_id and access.opens_class_reports:
            chosen_class = access_rules.report_class_or_404(access, class_id)
        elif class_id:
            abort(404)
        own = access_rules.report_students(access)
        if student is None and chosen_class is None and len(own) == 1:
            student = own[0]
        return {
            "access": access,
            "classes": access_rules.report_classes(access) if access.opens_class_reports else [],
            "students": access_rules.report_students(
                access, chosen_class.id if chosen_class else None
            )
            if chosen_class
            else own,
            "student": student,
            "school_class": student.school_class if student is not None else None,
            "chosen_class": chosen_class,
            "term": None,
            "terms": [],
            "frames": [],
            "title": None,
            "filters": "",
        }

    def _render(self, template: str, report: dict):
        return self.render_template(
            template,
            tables=_screen_tables(report["frames"]),
            args=_args("student", "term"),
            **report,
        )


def register(appbuilder) -> None:
    category = "School reports"
    category_label = _l("School reports")
    appbuilder.add_view(
        SchoolClassReportsView,
        "Class results",
        label=_l("Class results"),
        category=category,
        category_label=category_label,
    )
    appbuilder.add_link(
        "Summary sheet",
        href="SchoolClassReportsView.summary_sheet",
        label=_l("Summary sheet"),
        category=category,
        baseview=SchoolClassReportsView,
    )
    appbuilder.add_link(
        "Attendance report",
        href="SchoolClassReportsView.attendance",
        label=_l("Attendance"),
        category=category,
        baseview=SchoolClassReportsView,
    )
    appbuilder.add_link(
        "Dynamics",
        href="SchoolClassReportsView.dynamics",
        label=_l("Dynamics by term"),
        category=category,
        baseview=SchoolClassReportsView,
    )
    appbuilder.add_view(
        SchoolStudentReportsView,
        "Student progress",
        label=_l("Student progress"),
        category=category,
        category_label=category_label,
    )
    appbuilder.add_link(
        "Report card",
        href="SchoolStudentReportsView.report_card",
        label=_l("Report card"),
        category=category,
        baseview=SchoolStudentReportsView,
    )
