"""Charts of the authority's comparison reports: the rows each chart draws and its series.

Each ``*_chart_frame`` function takes the report's frame and returns the rows of its
chart, which the XLSX writes to a sheet of their own so that the chart's series refer to
one block of cells. The page draws the same rows and series with the vendored Chart.js.
"""

import pandas as pd
from flask_babel import gettext as _

from app.reports.authority_activity import ActivityColumns
from app.reports.authority_contingent import ContingentColumns
from app.reports.authority_results import ResultsColumns
from app.reports.authority_subjects import SubjectColumns
from app.reports.authority_vpr import VprColumns
from app.reports.charts import BAR, COLUMN, ChartSpec


def _school_total_rows(frame: pd.DataFrame, grade_column: str) -> pd.DataFrame:
    """Keep each school's total row, without the grade, and drop the authority total.

    Grade rows carry the grade's number and total rows text; the last total is the
    authority's.
    """
    totals = frame[frame[grade_column].map(lambda grade: isinstance(grade, str))]
    return totals.iloc[:-1].drop(columns=[grade_column]).reset_index(drop=True)


def results_chart_frame(frame: pd.DataFrame, columns: ResultsColumns) -> pd.DataFrame:
    """Return the results' total row of each school, without the grade."""
    return _school_total_rows(frame, columns.grade)


def results_chart(columns: ResultsColumns) -> ChartSpec:
    """Describe the results' chart: excellent, good and failing students of each school."""
    return ChartSpec(
        kind=BAR,
        category=columns.school,
        values=(columns.excellent, columns.good, columns.failing),
        title=_("Excellent, good and failing students by school"),
    )


def subjects_chart_frame(frame: pd.DataFrame, columns: SubjectColumns) -> pd.DataFrame:
    """Return the total of all schools in each subject (the last row of the subject)."""
    totals = frame.groupby(columns.subject, sort=False).tail(1)
    return totals.drop(columns=[columns.school]).reset_index(drop=True)


def subjects_chart(columns: SubjectColumns) -> ChartSpec:
    """Describe the chart per subject: the quality and pass rates of all schools."""
    return ChartSpec(
        kind=BAR,
        category=columns.subject,
        values=(columns.quality_rate, columns.pass_rate),
        title=_("Quality and pass rates by subject"),
        percent=(columns.quality_rate, columns.pass_rate),
    )


def activity_chart_frame(frame: pd.DataFrame, columns: ActivityColumns) -> pd.DataFrame:
    """Return the schools' rows of the journal keeping report, without the authority total."""
    return frame.iloc[:-1].reset_index(drop=True)


def activity_chart(columns: ActivityColumns) -> ChartSpec:
    """Describe the journal keeping chart: the shares of lessons with gaps and of parents
    signed in."""
    shares = (columns.no_topic, columns.no_attendance, columns.no_marks, columns.sign_in_rate)
    return ChartSpec(
        kind=BAR,
        category=columns.school,
        values=shares,
        title=_("Journal gaps and parents' sign-ins by school"),
        percent=shares,
    )


VPR_COUNTS = ("works", "lowered", "confirmed", "raised")


def vpr_chart_frame(frame: pd.DataFrame, columns: VprColumns) -> pd.DataFrame:
    """Sum the ВПР works of each school over its grades and subjects, with their shares."""
    counts = [getattr(columns, name) for name in VPR_COUNTS]
    schools = frame.iloc[:-1].groupby(columns.school, sort=False)[counts].sum().reset_index()
    works = schools[columns.works]
    for name in ("lowered", "confirmed", "raised"):
        share = schools[getattr(columns, name)] / works.where(works > 0)
        schools[getattr(columns, f"{name}_rate")] = share.astype(float)
    return schools


def vpr_chart_formats(columns: VprColumns) -> dict[str, str]:
    formats = columns.formats()
    del formats[columns.grade]
    return formats


def vpr_chart(columns: VprColumns) -> ChartSpec:
    """Describe the ВПР chart: the shares of works that lowered, confirmed or raised the mark."""
    shares = (columns.lowered_rate, columns.confirmed_rate, columns.raised_rate)
    return ChartSpec(
        kind=BAR,
        category=columns.school,
        values=shares,
        title=_("ВПР against term marks by school"),
        percent=shares,
    )


def contingent_chart_frame(frame: pd.DataFrame, columns: ContingentColumns) -> pd.DataFrame:
    """Sum the students, boys and girls of each grade over the schools, in grade order."""
    counts = [columns.students, columns.boys, columns.girls]
    grade_rows = frame[frame[columns.grade].map(lambda grade: not isinstance(grade, str))]
    grades = grade_rows.groupby(columns.grade)[counts].sum().reset_index()
    return grades.astype({columns.grade: int})


def contingent_chart_formats(columns: ContingentColumns) -> dict[str, str]:
    return {name: "0" for name in (columns.grade, columns.students, columns.boys, columns.girls)}


def contingent_chart(columns: ContingentColumns) -> ChartSpec:
    """Describe the contingent chart: boys and girls of each grade over all schools."""
    return ChartSpec(
        kind=COLUMN,
        category=columns.grade,
        values=(columns.boys, columns.girls),
        title=_("Students by grade"),
    )
