"""Reports that can run as background jobs, each building one XLSX file.

A report kind is a function ``build(parameters, progress)`` that returns the download
name and the XLSX bytes. It runs in the worker, outside any request, in the language of
the job. It reports each step through ``progress(steps_done, steps_total, stage)``, where
``stage`` is a short translated text, and raises :class:`ReportJobError` with a message
for the user when the parameters cannot give a report.

The organisation keys in ``parameters`` (``authority_id``, ``school_id``) come from the
job's own columns, which were checked against the user's scope when the job was queued.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.errors import DomainError
from app.models import EducationAuthority, SchoolClass, db
from app.reports import authority_workbooks as workbooks
from app.reports import school as school_reports
from app.reports.authority import (
    SummaryColumns,
    authority_summary,
    summary_period,
    summary_workbook,
)
from app.reports.authority_subjects import GRADES, INDICATORS, indicator_label

#: Term numbers the authority summary accepts: quarters 1–4.
SUMMARY_TERMS = (1, 2, 3, 4)

Progress = Callable[[int, int, str], None]


class ReportJobError(DomainError):
    """A reason a report cannot be built from its parameters, shown to the user who queued it."""


@dataclass(frozen=True)
class ReportKind:
    """One report that runs in the background: its name on screen and its builder."""

    label: object
    build: Callable[[dict, Progress], tuple[str, bytes]]
    #: The function that puts a job's filters in words, for the list of the user's reports.
    describe: Callable[[dict], str]


def _authority(parameters: dict) -> EducationAuthority:
    authority = db.session.get(EducationAuthority, parameters["authority_id"])
    if authority is None:
        raise ReportJobError(_l("The education authority of this report no longer exists."))
    return authority


def _term(parameters: dict, with_year: bool = False) -> int | str:
    """Return the job's term number, or the year marks where the report has them."""
    term = parameters.get("term")
    if with_year and term == workbooks.YEAR_PERIOD:
        return term
    if term in SUMMARY_TERMS:
        return term
    if with_year:
        raise ReportJobError(
            _l("The period %(value)s is invalid: choose a term number from 1 to 4 or the year."),
            value=term,
        )
    raise ReportJobError(
        _l("The term %(value)s is invalid: choose a term number from 1 to 4."), value=term
    )


def _day(parameters: dict) -> dt.date | None:
    """Return the job's date of class membership, stored as an ISO date, or None for now."""
    value = parameters.get("on")
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ReportJobError(
            _l("The date %(value)s is invalid: enter a date such as 01.09.2026."), value=value
        ) from None


def _grade(parameters: dict) -> int | None:
    grade = parameters.get("grade")
    if grade is None or grade in GRADES:
        return grade
    raise ReportJobError(
        _l(
            "The grade %(value)s is invalid: choose a grade from %(first)s to %(last)s "
            "or all grades."
        ),
        value=grade,
        first=GRADES[0],
        last=GRADES[-1],
    )


def build_authority_summary(parameters: dict, progress: Progress) -> tuple[str, bytes]:
    """Build the authority's summary of its schools for one school year and term."""
    authority = _authority(parameters)
    year_name = parameters.get("year")
    term = _term(parameters)

    progress(0, 2, _("Reading the term marks"))
    columns = SummaryColumns.translated()
    frame = authority_summary(authority.id, summary_period(year_name, term), columns)

    progress(1, 2, _("Writing the XLSX file"))
    return summary_workbook(frame, columns, str(authority), year_name, term)


def describe_authority_summary(parameters: dict) -> str:
    return _(
        "School year %(year)s, term %(term)s",
        year=parameters.get("year") or "—",
        term=parameters.get("term"),
    )


def _build_with_workbook(build_workbook: Callable[[], tuple[str, bytes]], progress: Progress):
    """Build a report whose builder reads the marks and writes the file in one call."""
    progress(0, 1, _("Reading the data and writing the XLSX file"))
    return build_workbook()


def build_authority_results(parameters: dict, progress: Progress) -> tuple[str, bytes]:
    """Build the term and year results of the authority's schools."""
    authority = _authority(parameters)
    term = _term(parameters, with_year=True)
    return _build_with_workbook(
        lambda: workbooks.results_workbook(
            authority.id, str(authority), parameters.get("year"), term
        ),
        progress,
    )


def build_authority_subjects(parameters: dict, progress: Progress) -> tuple[str, bytes]:
    """Build the indicators per subject of the authority's schools."""
    authority = _authority(parameters)
    term = _term(parameters, with_year=True)
    grade = _grade(parameters)
    return _build_with_workbook(
        lambda: workbooks.subjects_workbook(
            authority.id,
            str(authority),
            parameters.get("year"),
            term,
            parameters.get("subject"),
            grade,
        ),
        progress,
    )


def build_authority_ranking(parameters: dict, progress: Progress) -> tuple[str, bytes]:
    """Build the ranking of the authority's schools by one indicator."""
    authority = _authority(parameters)
    term = _term(parameters, with_year=True)
    grade = _grade(parameters)
    indicator = parameters.get("indicator")
    if indicator not in INDICATORS:
        names = ", ".join(indicator_label(name) for name in INDICATORS)
        raise ReportJobError(
            _l("The indicator %(value)s is invalid: choose one of %(names)s."),
            value=indicator,
            names=names,
        )
    return _build_with_workbook(
        lambda: workbooks.ranking_workbook(
            authority.id,
            str(authority),
            parameters.get("year"),
            term,
            parameters.get("subject"),
            grade,
            indicator,
        ),
        progress,
    )


def build_authority_activity(parameters: dict, progress: Progress) -> tuple[str, bytes]:
    """Build the journal keeping and parents' sign-ins of the authority's schools."""
    authority = _authority(parameters)
    term = _term(parameters)
    return _build_with_workbook(
        lambda: workbooks.activity_workbook(
            authority.id, str(authority), parameters.get("year"), term, dt.date.today()
        ),
        progress,
    )


def build_authority_vpr(parameters: dict, progress: Progress) -> tuple[str, bytes]:
    """Build the ВПР against term marks of the authority's schools."""
    authority = _authority(parameters)
    return _build_with_workbook(
        lambda: workbooks.vpr_workbook(authority.id, str(authority), parameters.get("year")),
        progress,
    )


def build_authority_contingent(parameters: dict, progress: Progress) -> tuple[str, bytes]:
    """Build the contingent of the authority's schools."""
    authority = _authority(parameters)
    on_day = _day(parameters)
    return _build_with_workbook(
        lambda: workbooks.contingent_workbook(
            authority.id, str(authority), parameters.get("year"), on_day
        ),
        progress,
    )


def describe_year_and_period(parameters: dict) -> str:
    term = parameters.get("term")
    return _(
        "School year %(year)s, period %(period)s",
        year=parameters.get("year") or "—",
        period=workbooks.period_label(term) if term is not None else "—",
    )


def describe_subjects(parameters: dict) -> str:
    return " ".join(
        [
            describe_year_and_period(parameters),
            _(
                "Subject: %(subject)s. Grade: %(grade)s.",
                subject=parameters.get("subject") or _("all subjects"),
                grade=parameters.get("grade") or _("all grades"),
            ),
        ]
    )


def describe_year(parameters: dict) -> str:
    description = _("School year %(year)s", year=parameters.get("year") or "—")
    if parameters.get("on"):
        description = " ".join([description, _("Classes on %(date)s.", date=parameters["on"])])
    return description


def build_summary_sheet(parameters: dict, progress: Progress) -> tuple[str, bytes]:
    """Build the summary sheet of one class: every subject × every period of its year."""
    school_class = db.session.scalars(
        select(SchoolClass).where(
            SchoolClass.id == parameters.get("class_id"),
            SchoolClass.school_id == parameters["school_id"],
        )
    ).first()
    if school_class is None:
        raise ReportJobError(_l("The class of this report no longer exists."))

    progress(0, 2, _("Reading the term and year marks"))
    frame = school_reports.summary_sheet_frame(school_class)

    progress(1, 2, _("Writing the XLSX file"))
    return school_reports.summary_sheet_workbook(frame, school_class)


def describe_summary_sheet(parameters: dict) -> str:
    school_class = db.session.get(SchoolClass, parameters.get("class_id"))
    if school_class is None:
        return ""
    return school_reports.describe_year(school_class)


#: Report kind code (stored in ``ReportJob.kind``) → the report.
REPORT_KINDS: dict[str, ReportKind] = {
    "authority_summary": ReportKind(
        label=_l("Summary of schools"),
        build=build_authority_summary,
        describe=describe_authority_summary,
    ),
    "authority_results": ReportKind(
        label=_l("Term and year results of schools"),
        build=build_authority_results,
        describe=describe_year_and_period,
    ),
    "authority_subjects": ReportKind(
        label=_l("Subjects across schools"),
        build=build_authority_subjects,
        describe=describe_subjects,
    ),
    "authority_ranking": ReportKind(
        label=_l("Ranking of schools"),
        build=build_authority_ranking,
        describe=describe_subjects,
    ),
    "authority_activity": ReportKind(
        label=_l("Journal keeping and parents' sign-ins"),
        build=build_authority_activity,
        describe=describe_year_and_period,
    ),
    "authority_vpr": ReportKind(
        label=_l("ВПР against term marks"),
        build=build_authority_vpr,
        describe=describe_year,
    ),
    "authority_contingent": ReportKind(
        label=_l("Contingent of schools"),
        build=build_authority_contingent,
        describe=describe_year,
    ),
    "summary_sheet": ReportKind(
        label=_l("Summary sheet"),
        build=build_summary_sheet,
        describe=describe_summary_sheet,
    ),
}
