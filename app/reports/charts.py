"""Charts of the reports: one description serves the page's chart and the XLSX chart.

A :class:`ChartSpec` names columns of a report's frame. The XLSX writer turns it into a
native Excel chart whose series refer to the sheet's own cells; :func:`screen_chart` turns
it into the JSON that ``static/report_charts.js`` draws with the vendored Chart.js.
"""

import math
from dataclasses import dataclass

import pandas as pd

#: Kinds of chart: bars along the horizontal axis (one row per category, which suits long
#: school names on a phone) and columns standing on it.
BAR = "bar"
COLUMN = "column"
KINDS = (BAR, COLUMN)


@dataclass(frozen=True)
class ChartSpec:
    """A chart of a frame: categories from one column, one series per value column."""

    kind: str
    #: The column whose values name the categories (a school's name).
    category: str
    #: The columns drawn as series, in order.
    values: tuple[str, ...]
    title: str
    #: Value columns drawn on the page as a reference line over the bars. The Excel chart
    #: shows them as bars like the other series.
    references: tuple[str, ...] = ()
    #: Value columns that hold fractions, shown on the page as percent.
    percent: tuple[str, ...] = ()
    #: The frame's last row is a total, which the chart leaves out so that it compares the
    #: other rows only.
    without_total: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Unknown chart kind {self.kind!r}; expected one of {KINDS}.")


def screen_chart(frame: pd.DataFrame, spec: ChartSpec) -> dict:
    """Build the JSON-ready data of a page's chart: labels, series and their values.

    Fractions of ``spec.percent`` columns become percent rounded to 0.1, other values are
    rounded to 0.01; a missing value is None, which the chart leaves as a gap.
    """
    if spec.without_total:
        frame = frame.iloc[:-1]
    series = []
    for column in spec.values:
        percent = column in spec.percent
        series.append(
            {
                "label": column,
                "values": [_chart_value(value, percent) for value in frame[column]],
                "reference": column in spec.references,
                "percent": percent,
            }
        )
    return {
        "kind": spec.kind,
        "title": spec.title,
        "labels": [str(value) for value in frame[spec.category]],
        "series": series,
    }


def _chart_value(value, percent: bool) -> float | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if percent:
        return round(float(value) * 100, 1)
    return round(float(value), 2)
