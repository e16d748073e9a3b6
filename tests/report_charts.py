"""Helpers of the report tests: a page's chart data, an XLSX chart's ranges, a background job."""

import io
import json
import re
from urllib.parse import parse_qs, urlparse

import openpyxl
from sqlalchemy import delete

from app.models import ReportJob, db
from app.services import report_jobs

CHART_DATA = re.compile(
    r'<script type="application/json" class="report-chart-data">(.*?)</script>', re.DOTALL
)


def page_chart(page: str) -> dict:
    """Return the data of the one chart on a page, read from its JSON element."""
    found = CHART_DATA.findall(page)
    assert len(found) == 1
    return json.loads(found[0])


def chart_values(chart: dict) -> dict[str, list]:
    """Map each series label of a page's chart to its values."""
    return {series["label"]: series["values"] for series in chart["series"]}


def sheet_chart_refs(sheet) -> list[tuple[str, str, str]]:
    """Return (name, categories, values) references of each series of the sheet's one chart."""
    assert len(sheet._charts) == 1
    refs = []
    for series in sheet._charts[0].series:
        categories = series.cat.strRef or series.cat.numRef
        refs.append((series.tx.strRef.f, categories.f, series.val.numRef.f))
    return refs


def workbook_values(content: bytes) -> dict[str, list[tuple]]:
    """Read every sheet of an XLSX file into its rows of values."""
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    return {
        sheet.title: [tuple(row) for row in sheet.iter_rows(values_only=True)]
        for sheet in workbook.worksheets
    }


def queue_and_run(app, client, url: str, data: dict) -> bytes:
    """Press a report's background button, run the worker's round and download the file.

    The job is deleted afterwards, so later rounds of other tests do not run it again.
    """
    response = client.post(url, data=data)
    assert response.status_code == 302
    assert "/report-jobs/" in response.location
    job_id = int(parse_qs(urlparse(response.location).query)["highlight"][0])
    with app.app_context():
        job_round = report_jobs.run_due_jobs()
    assert job_round.failed == 0
    assert job_round.done >= 1
    downloaded = client.get(f"/report-jobs/{job_id}/download")
    assert downloaded.status_code == 200
    with app.app_context():
        db.session.execute(delete(ReportJob).where(ReportJob.id == job_id))
        db.session.commit()
    return downloaded.data


def sheet_ref(name: str) -> str:
    """Return a sheet's prefix in a formula, quoted as XlsxWriter quotes a name with a space."""
    return f"'{name}'!" if " " in name else f"{name}!"
