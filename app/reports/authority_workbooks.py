"""XLSX files of the authority's reports other than the summary, each with its chart.

The page's download and the background job both call these builders, so both files have
the same sheets and values. Each builder returns the download name (without ``.xlsx``)
and the bytes. The first sheet contains the report's table. Another sheet contains the
rows its chart draws (school, subject or grade totals) with a native Excel chart.
"""

import datetime as dt

from flask_babel import gettext as _

from app.reports import authority_charts as charts
from app.reports.authority import TermPeriod, YearPeriod, summary_period
from app.reports.authority_activity import ActivityColumns, authority_activity
from app.reports.authority_contingent import (
    ContingentColumns,
    StaffColumns,
    contingent_staff,
    contingent_students,
)
from app.reports.authority_results import ResultsColumns, authority_results
from app.reports.authority_subjects import (
    RankingColumns,
    Selection,
    SubjectColumns,
    indicator_label,
    ranking_chart,
    ranking_frame,
    subjects_frame,
)
from app.reports.authority_vpr import VprColumns, authority_vpr
from app.reports.xlsx import frame_to_xlsx

#: The period value that selects year marks instead of a term number.
YEAR_PERIOD = "year"


def report_period(year_name: str | None, term: int | str) -> TermPeriod | YearPeriod:
    """Return the period of a report's filters: a term number or :data:`YEAR_PERIOD`."""
    year_name = year_name or ""
    return YearPeriod(year_name) if term == YEAR_PERIOD else TermPeriod(year_name, term)


def period_label(term: int | str) -> str:
    """Name the period of an XLSX title and file name: the term number, or year marks."""
    return _("year marks") if term == YEAR_PERIOD else str(term)


def period_filters(authority_name: str, year_name: str | None, term: int | str) -> str:
    """Describe the authority, year and period of a report for the XLSX filters row."""
    return _(
        "Authority: %(authority)s. School year: %(year)s. Period: %(period)s.",
        authority=authority_name,
        year=year_name or "—",
        period=period_label(term),
    )


def comparison_filters(authority_name: str, year_name, term, subject, grade) -> str:
    """Describe the period, subject and grade of a comparison for the XLSX filters row."""
    return " ".join(
        [
            period_filters(authority_name, year_name, term),
            _(
                "Subject: %(subject)s. Grade: %(grade)s.",
                subject=subject or _("all subjects"),
                grade=grade or _("all grades"),
            ),
        ]
    )


def _year_filters(authority_name: str, year_name: str | None) -> str:
    return _(
        "Authority: %(authority)s. School year: %(year)s.",
        authority=authority_name,
        year=year_name or "—",
    )


def results_workbook(
    authority_id: int, authority_name: str, year_name: str | None, term: int | str
) -> tuple[str, bytes]:
    """Write the term and year results with a chart of each school's students."""
    columns = ResultsColumns.translated()
    frame = authority_results(authority_id, report_period(year_name, term), columns)
    formats = columns.formats()
    del formats[columns.grade]
    sheets = [
        # The title is longer than the 31 characters Excel allows in a sheet name.
        (_("Term and year results"), frame, columns.formats()),
        (
            _("By school"),
            charts.results_chart_frame(frame, columns),
            formats,
            charts.results_chart(columns),
        ),
    ]
    title = _("Term and year results of schools")
    content = frame_to_xlsx(sheets, title, period_filters(authority_name, year_name, term))
    file_name = _(
        "Results of schools %(year)s %(period)s",
        year=year_name or "",
        period=period_label(term),
    )
    return file_name, content


def subjects_workbook(
    authority_id: int,
    authority_name: str,
    year_name: str | None,
    term: int | str,
    subject: str | None,
    grade: int | None,
) -> tuple[str, bytes]:
    """Write the indicators per subject with a chart of each subject's rates."""
    columns = SubjectColumns.translated()
    selection = Selection(report_period(year_name, term), grade, subject)
    frame = subjects_frame(authority_id, selection, columns)
    formats = columns.formats()
    title = _("Subjects across schools")
    sheets = [
        (title, frame, formats),
        (
            _("By subject"),
            charts.subjects_chart_frame(frame, columns),
            formats,
            charts.subjects_chart(columns),
        ),
    ]
    filters = comparison_filters(authority_name, year_name, term, subject, grade)
    file_name = _(
        "Subjects of schools %(year)s %(period)s",
        year=year_name or "",
        period=period_label(term),
    )
    return file_name, frame_to_xlsx(sheets, title, filters)


def ranking_workbook(
    authority_id: int,
    authority_name: str,
    year_name: str | None,
    term: int | str,
    subject: str | None,
    grade: int | None,
    indicator: str,
) -> tuple[str, bytes]:
    """Write the ranking of schools by ``indicator`` with its chart beside the table."""
    columns = RankingColumns.translated(indicator)
    selection = Selection(report_period(year_name, term), grade, subject)
    frame = ranking_frame(authority_id, selection, indicator, columns)
    title = _("Ranking of schools")
    filters = " ".join(
        [
            comparison_filters(authority_name, year_name, term, subject, grade),
            _("Ranked by: %(indicator)s.", indicator=indicator_label(indicator)),
        ]
    )
    sheet = (title, frame, columns.formats(indicator), ranking_chart(columns, indicator))
    file_name = _(
        "Ranking of schools %(year)s %(period)s",
        year=year_name or "",
        period=period_label(term),
    )
    return file_name, frame_to_xlsx([sheet], title, filters)


def activity_workbook(
    authority_id: int, authority_name: str, year_name: str | None, term: int, today: dt.date
) -> tuple[str, bytes]:
    """Write the journal keeping and parents' sign-ins with a chart of the schools' shares."""
    columns = ActivityColumns.translated()
    frame = authority_activity(authority_id, summary_period(year_name, term), today, columns)
    sheets = [
        # The title is longer than the 31 characters Excel allows in a sheet name.
        (_("Journal and parents"), frame, columns.formats()),
        (
            _("By school"),
            charts.activity_chart_frame(frame, columns),
            columns.formats(),
            charts.activity_chart(columns),
        ),
    ]
    title = _("Journal keeping and parents' sign-ins")
    content = frame_to_xlsx(sheets, title, period_filters(authority_name, year_name, term))
    file_name = _(
        "Journal keeping of schools %(year)s %(period)s",
        year=year_name or "",
        period=period_label(term),
    )
    return file_name, content


def vpr_workbook(
    authority_id: int, authority_name: str, year_name: str | None
) -> tuple[str, bytes]:
    """Write the ВПР against term marks with a chart of each school's shares."""
    columns = VprColumns.translated()
    frame = authority_vpr(authority_id, year_name, columns)
    title = _("ВПР against term marks")
    sheets = [
        (title, frame, columns.formats()),
        (
            _("By school"),
            charts.vpr_chart_frame(frame, columns),
            charts.vpr_chart_formats(columns),
            charts.vpr_chart(columns),
        ),
    ]
    content = frame_to_xlsx(sheets, title, _year_filters(authority_name, year_name))
    return _("ВПР of schools %(year)s", year=year_name or ""), content


def contingent_workbook(
    authority_id: int, authority_name: str, year_name: str | None, on_day: dt.date | None = None
) -> tuple[str, bytes]:
    """Write the contingent's students and staff with a chart of the students by grade.

    ``on_day`` counts the students in their classes on that date instead of now.
    """
    students_columns = ContingentColumns.translated()
    students = contingent_students(authority_id, year_name, students_columns, on_day)
    staff_columns = StaffColumns.translated()
    staff = contingent_staff(authority_id, staff_columns)
    sheets = [
        (_("Students"), students, students_columns.formats()),
        (_("Staff"), staff, staff_columns.formats()),
        (
            _("By grade"),
            charts.contingent_chart_frame(students, students_columns),
            charts.contingent_chart_formats(students_columns),
            charts.contingent_chart(students_columns),
        ),
    ]
    title = _("Contingent of schools")
    filters = _year_filters(authority_name, year_name)
    if on_day is not None:
        filters = " ".join([filters, _("Classes on %(date)s.", date=on_day.strftime("%d.%m.%Y"))])
    content = frame_to_xlsx(sheets, title, filters)
    return _("Contingent of schools %(year)s", year=year_name or ""), content
