"""Reports that can run as background jobs, each building one XLSX file.

A report kind is a function ``build(parameters, progress)`` that returns the download
name and the XLSX bytes. It runs in the worker, outside any request, in the language of
the job. It reports each step through ``progress(steps_done, steps_total, stage)``, where
``stage`` is a short translated text, and raises :class:`ReportJobError` with a message
for the user when the parameters cannot give a report.

The organisation keys in ``parameters`` (``authority_id``, ``school_id``) come from the
job's own columns, which were checked against the user's scope when the job was queued.
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.errors import DomainError
from app.models import EducationAuthority, SchoolClass, db
from app.reports import school as school_reports
from app.reports.authority import (
    SummaryColumns,
    authority_summary,
    summary_period,
    summary_workbook,
)

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


def build_authority_summary(parameters: dict, progress: Progress) -> tuple[str, bytes]:
    """Build the authority's summary of its schools for one school year and term."""
    authority = db.session.get(EducationAuthority, parameters["authority_id"])
    if authority is None:
        raise ReportJobError(_l("The education authority of this report no longer exists."))
    year_name = parameters.get("year")
    term = parameters.get("term")
    if term not in SUMMARY_TERMS:
        raise ReportJobError(
            _l("The term %(value)s is invalid: choose a term number from 1 to 4."), value=term
        )

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
    "summary_sheet": ReportKind(
        label=_l("Summary sheet"),
        build=build_summary_sheet,
        describe=describe_summary_sheet,
    ),
}
