"""Term and year results of the authority's schools: counts checked against an independent
computation on hand-made period marks, totals, scoping, the page and the XLSX."""

import io
import re
from collections import Counter, defaultdict

import openpyxl
import pytest

from app.models import db
from app.reports.authority import TermPeriod, YearPeriod
from app.reports.authority_results import COUNTS, ResultsColumns, authority_results
from tests.period_marks import (
    READS,
    YEAR,
    PeriodMarkBuilder,
    build_marked_authorities,
    school_name,
    teach_half_years_from_grade_five,
)
from tests.report_charts import (
    chart_values,
    page_chart,
    queue_and_run,
    sheet_chart_refs,
    workbook_values,
)

COLUMNS = ResultsColumns(
    school="school",
    grade="grade",
    students="students",
    excellent="excellent",
    good="good",
    one_three="one_three",
    failing="failing",
    not_attested="not_attested",
    passed="passed",
    quality="quality",
    pass_rate="pass_rate",
    quality_rate="quality_rate",
    at_start="at_start",
    arrived="arrived",
    departed="departed",
    transferred_in="transferred_in",
    transferred_out="transferred_out",
    at_end="at_end",
)
#: Labels of the total rows, in the default (Russian) locale.
TOTAL = "Итого"
ALL_SCHOOLS = "Все школы"

#: Subjects taught pass/fail, and subjects without marks (whose marks must be ignored).
PASS_FAIL = {"Физкультура"}
WITHOUT_MARKS = {"ОРКСЭ"}

#: (school, grade, student, subject, period, value). Periods: q1–q4 quarters, h1–h2
#: half-years, "year" the year mark. T1 runs quarters in grades 1–9 and half-years in
#: 10–11; T2 runs half-years from grade 5 up. T3 belongs to another authority.
MARKS = [
    ("T1", 5, "Отличник", "Математика", "q1", "5"),
    ("T1", 5, "Отличник", "Русский язык", "q1", "5"),
    ("T1", 5, "Отличник", "Физкультура", "q1", "зач"),
    ("T1", 5, "Отличник", "Математика", "q2", "4"),
    ("T1", 5, "Отличник", "Русский язык", "q2", "5"),
    ("T1", 5, "Отличник", "Математика", "year", "5"),
    ("T1", 5, "Отличник", "Русский язык", "year", "5"),
    ("T1", 5, "Хорошист", "Математика", "q1", "4"),
    ("T1", 5, "Хорошист", "Русский язык", "q1", "5"),
    ("T1", 5, "Хорошист", "Английский язык", "q1", "осв"),
    ("T1", 5, "Хорошист", "Математика", "year", "4"),
    ("T1", 5, "Хорошист", "Русский язык", "year", "4"),
    ("T1", 5, "Одна тройка", "Математика", "q1", "3"),
    ("T1", 5, "Одна тройка", "Русский язык", "q1", "4"),
    ("T1", 5, "Одна тройка", "Английский язык", "q1", "5"),
    ("T1", 5, "Одна тройка", "Математика", "year", "3"),
    ("T1", 5, "Одна тройка", "Русский язык", "year", "5"),
    ("T1", 5, "Двоечник", "Математика", "q1", "2"),
    ("T1", 5, "Двоечник", "Русский язык", "q1", "3"),
    ("T1", 5, "Двоечник", "Математика", "year", "2"),
    ("T1", 5, "Двоечник", "Русский язык", "year", "3"),
    ("T1", 5, "Неаттестованный", "Математика", "q1", "н/а"),
    ("T1", 5, "Неаттестованный", "Русский язык", "q1", "4"),
    ("T1", 5, "Неаттестованный", "Математика", "year", "н/а"),
    ("T1", 5, "С пустой отметкой", "Математика", "q1", ""),
    ("T1", 5, "С пустой отметкой", "Русский язык", "q1", "5"),
    ("T1", 5, "С пустой отметкой", "ОРКСЭ", "q1", "2"),
    ("T1", 5, "Освобождённый", "Математика", "q1", "осв"),
    ("T1", 5, "Освобождённый", "Русский язык", "q1", "осв"),
    ("T1", 5, "Троечник", "Математика", "q1", "3"),
    ("T1", 5, "Троечник", "Русский язык", "q1", "3"),
    ("T1", 10, "Старшеклассник", "Алгебра", "h1", "4"),
    ("T1", 10, "Старшеклассник", "Алгебра", "h2", "5"),
    ("T1", 10, "Старшеклассник", "Алгебра", "year", "5"),
    ("T1", 1, "Первоклассник", "Математика", "q1", "5"),
    ("T2", 5, "Полугодник", "Математика", "h1", "5"),
    ("T2", 5, "Полугодник", "Русский язык", "h1", "5"),
    ("T2", 5, "Полугодник", "Математика", "h2", "3"),
    ("T2", 5, "Полугодник", "Русский язык", "h2", "4"),
    ("T2", 5, "Полугодник", "Математика", "year", "4"),
    ("T2", 5, "Полугодник", "Русский язык", "year", "5"),
    ("T2", 5, "Незачётник", "Физкультура", "h1", "незач"),
    ("T2", 5, "Незачётник", "Математика", "h1", "4"),
    ("T3", 5, "Чужой", "Математика", "q1", "5"),
    ("T3", 5, "Чужой", "Математика", "year", "5"),
]

OWN_SCHOOLS = ("T1", "T2")

# --- The independent computation ----------------------------------------------------------


def classify(values: list[str]) -> Counter:
    """Count one student into the report's columns from the student's counted marks."""
    numbers = [int(value) for value in values if value.isdigit()]
    has_failing_mark = any(value in ("1", "2", "незач") for value in values)
    has_not_attested = "н/а" in values
    only_four_five = all(value in ("4", "5", "зач") for value in values)
    below_four = [value for value in values if value not in ("4", "5", "зач")]
    return Counter(
        students=1,
        excellent=int(only_four_five and bool(numbers) and set(numbers) == {5}),
        good=int(only_four_five and 4 in numbers),
        one_three=int(below_four == ["3"]),
        failing=int(has_failing_mark),
        not_attested=int(has_not_attested),
        passed=int(not has_failing_mark and not has_not_attested),
        quality=int(only_four_five),
    )


def expected_rows(period) -> dict[tuple[str, object], Counter]:
    """Compute every row of the report, totals included, straight from :data:`MARKS`."""
    values: dict[tuple[str, int], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for school, grade, student, subject, stored_period, value in MARKS:
        if school not in OWN_SCHOOLS or grade == 1 or subject in WITHOUT_MARKS:
            continue
        if stored_period not in READS[period] or value in ("", "осв"):
            continue
        values[(school_name(school), grade)][student].append(value)

    rows: dict[tuple[str, object], Counter] = {}
    for key, students in values.items():
        counts = Counter({name: 0 for name in COUNTS})
        for student_values in students.values():
            counts.update(classify(student_values))
        rows[key] = counts
    for school in {school for school, _grade in list(rows)}:
        rows[(school, TOTAL)] = sum(
            (counts for (name, _grade), counts in list(rows.items()) if name == school), Counter()
        )
    if rows:
        rows[(ALL_SCHOOLS, TOTAL)] = sum(
            (counts for (_name, grade), counts in rows.items() if grade == TOTAL), Counter()
        )
    return rows


# --- The data set -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def results(app):
    """Two schools of a fresh authority and one of another, filled from :data:`MARKS`."""
    with app.app_context():
        data = build_marked_authorities("results", OWN_SCHOOLS, "T3")
        teach_half_years_from_grade_five(data.schools["T2"].school_id)
        assessments = {name: "pass_fail" for name in PASS_FAIL}
        assessments.update({name: "none" for name in WITHOUT_MARKS})
        builders = {
            key: PeriodMarkBuilder(school, assessments) for key, school in data.schools.items()
        }
        for school, *mark in MARKS:
            builders[school].add_mark(YEAR, *mark)
        db.session.commit()
        return data


def _frame(app, authority_id, period):
    with app.app_context():
        return authority_results(authority_id, period, COLUMNS)


def _rows(app, authority_id, period) -> dict:
    frame = _frame(app, authority_id, period)
    return {(row["school"], row["grade"]): row for row in frame.to_dict("records")}


def _report_period(period):
    return YearPeriod(YEAR) if period == "year" else TermPeriod(YEAR, period)


# --- The computation ----------------------------------------------------------------------


@pytest.mark.parametrize("period", [1, 2, 3, 4, "year"])
def test_results_match_independent_computation(app, results, period):
    rows = _rows(app, results["authority_id"], _report_period(period))
    expected = expected_rows(period)
    assert set(expected) <= set(rows)
    # A grade whose students have no marks in the period keeps its row for the head counts.
    for key in set(rows) - set(expected):
        assert rows[key]["students"] == 0, key
    for key, counts in expected.items():
        row = rows[key]
        for name in COUNTS:
            assert row[name] == counts[name], (key, name)
        assert row["pass_rate"] == pytest.approx(counts["passed"] / counts["students"]), key
        assert row["quality_rate"] == pytest.approx(counts["quality"] / counts["students"]), key


def test_results_first_quarter_by_hand(app, results):
    # Отличник and the student with a blank mark have only «5» (and «зач»); Хорошист is
    # exempt in English; Освобождённый has only «осв» and is left out; ОРКСЭ has no marks.
    row = _rows(app, results["authority_id"], TermPeriod(YEAR, 1))[(school_name("T1"), 5)]
    assert row["students"] == 7
    assert row["excellent"] == 2
    assert row["good"] == 1
    assert row["one_three"] == 1
    assert row["failing"] == 1
    assert row["not_attested"] == 1
    assert row["pass_rate"] == pytest.approx(5 / 7)
    assert row["quality_rate"] == pytest.approx(3 / 7)


def test_half_year_school_reports_half_year(app, results):
    first = _rows(app, results["authority_id"], TermPeriod(YEAR, 2))[(school_name("T2"), 5)]
    assert first["excellent"] == 1
    assert first["failing"] == 1
    third = _rows(app, results["authority_id"], TermPeriod(YEAR, 3))[(school_name("T2"), 5)]
    assert third["students"] == 1
    assert third["one_three"] == 1


def test_results_order_puts_totals_last(app, results):
    frame = _frame(app, results["authority_id"], TermPeriod(YEAR, 1))
    keys = list(zip(frame["school"], frame["grade"], strict=True))
    assert keys == [
        (school_name("T1"), 5),
        (school_name("T1"), 10),
        (school_name("T1"), TOTAL),
        (school_name("T2"), 5),
        (school_name("T2"), TOTAL),
        (ALL_SCHOOLS, TOTAL),
    ]


def test_results_leave_out_other_authority(app, results):
    for period in (1, "year"):
        rows = _rows(app, results["authority_id"], _report_period(period))
        assert school_name("T3") not in {school for school, _grade in rows}


def test_results_leave_out_grade_one(app, results):
    rows = _rows(app, results["authority_id"], TermPeriod(YEAR, 1))
    assert (school_name("T1"), 1) not in rows


def test_results_unknown_year_is_empty(app, results):
    assert _frame(app, results["authority_id"], YearPeriod("1999/2000")).empty


# --- Pages --------------------------------------------------------------------------------


def test_results_page_shows_counts_and_rates(results, login):
    client = login(results["reader"])
    response = client.get(f"/authority/results?year={YEAR}&term=1")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Отличники (только «5»)" in page
    assert school_name("T1") in page
    assert school_name("T2") in page
    assert school_name("T3") not in page
    assert "71,4 %" in page
    assert "42,9 %" in page


def test_results_page_sets_total_rows_apart(results, login):
    client = login(results["reader"])
    page = client.get(f"/authority/results?year={YEAR}&term=1").get_data(as_text=True)
    rows = re.findall(r"<tr([^>]*)>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>", page)
    totals = [(school, grade) for attributes, school, grade in rows if 'class="info"' in attributes]
    assert totals == [
        (school_name("T1"), "Итого"),
        (school_name("T2"), "Итого"),
        ("Все школы", "Итого"),
    ]
    grade_rows = [attributes for attributes, _, grade in rows if grade != "Итого"]
    assert grade_rows and all('class="info"' not in attributes for attributes in grade_rows)


def test_results_page_year_marks(results, login):
    client = login(results["reader"])
    page = client.get(f"/authority/results?year={YEAR}&term=year").get_data(as_text=True)
    assert 'value="year" selected' in page
    assert school_name("T1") in page


def test_results_page_invalid_period_is_reported(results, login):
    client = login(results["reader"])
    response = client.get(f"/authority/results?year={YEAR}&term=9")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Период 9 недопустим" in page


def test_results_page_unknown_year_is_reported(results, login):
    client = login(results["reader"])
    response = client.get("/authority/results?year=1999/2000&term=1")
    assert response.status_code == 200
    assert "1999/2000" in response.get_data(as_text=True)


def test_results_menu_item(results, login):
    client = login(results["reader"])
    page = client.get("/authority/summary").get_data(as_text=True)
    assert "Итоги четвертей и года" in page
    assert "/authority/results" in page


def test_other_authority_sees_none_of_these_schools(results, login):
    client = login(results["outsider"])
    own = results["authority_id"]
    for url in (
        f"/authority/results?year={YEAR}&term=1",
        f"/authority/results?authority={own}&year={YEAR}&term=1",
    ):
        page = client.get(url).get_data(as_text=True)
        assert school_name("T1") not in page, url
        assert school_name("T2") not in page, url
        assert school_name("T3") in page, url
    response = client.get(f"/authority/results.xlsx?authority={own}&year={YEAR}&term=1")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    values = {cell.value for row in sheet.iter_rows() for cell in row}
    assert school_name("T1") not in values
    assert school_name("T3") in values


def test_server_admin_unknown_authority_is_404(world, login):
    client = login(world.users["server_admin"])
    assert client.get("/authority/results?authority=987654").status_code == 404
    assert client.get("/authority/results.xlsx?authority=987654").status_code == 404


def test_school_roles_have_no_results(world, login):
    for code in ("principal", "school_admin", "teacher"):
        client = login(world["A"].users[code])
        assert client.get("/authority/results").status_code == 403, code
        assert client.get("/authority/results.xlsx").status_code == 403, code


# --- XLSX ---------------------------------------------------------------------------------


def _workbook_rows(results, login, period):
    client = login(results["reader"])
    response = client.get(f"/authority/results.xlsx?year={YEAR}&term={period}")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    return response, openpyxl.load_workbook(io.BytesIO(response.data)).active


def test_results_xlsx_layout(results, login):
    response, sheet = _workbook_rows(results, login, 1)
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "2026-2027" in disposition
    assert sheet.title == "Итоги четвертей и года"
    assert sheet["A1"].value == "Итоги четвертей и года по школам"
    assert "2026/2027" in sheet["A2"].value
    assert "Период: 1." in sheet["A2"].value
    assert sheet["A3"].value == "Школа"
    assert sheet["C3"].value == "Учащихся с отметками за период"
    assert sheet.freeze_panes == "A4"
    assert sheet.auto_filter.ref is not None


def test_results_xlsx_numbers_match_computation(results, login):
    _response, sheet = _workbook_rows(results, login, "year")
    header = [cell.value for cell in sheet[3]]
    rows = {(row[0].value, row[1].value): row for row in sheet.iter_rows(min_row=4)}
    expected = expected_rows("year")
    assert set(expected) <= set(rows)

    grade_five = rows[(school_name("T1"), 5)]
    counts = expected[(school_name("T1"), 5)]
    excellent = header.index("Отличники (только «5»)")
    assert grade_five[excellent].value == counts["excellent"]
    pass_rate = header.index("Успеваемость")
    assert grade_five[pass_rate].value == pytest.approx(counts["passed"] / counts["students"])
    assert grade_five[pass_rate].number_format == "0.0%"
    total = rows[(ALL_SCHOOLS, TOTAL)]
    assert (
        total[header.index("Учащихся с отметками за период")].value
        == (expected[(ALL_SCHOOLS, TOTAL)]["students"])
    )


# --- Chart and background job -------------------------------------------------------------


def test_results_page_chart_shows_school_totals(results, login):
    client = login(results["reader"])
    page = client.get(f"/authority/results?year={YEAR}&term=year").get_data(as_text=True)

    chart = page_chart(page)

    expected = expected_rows("year")
    schools = [school_name("T1"), school_name("T2")]
    assert chart["labels"] == schools
    values = chart_values(chart)
    assert values["Отличники (только «5»)"] == [expected[(s, TOTAL)]["excellent"] for s in schools]
    assert values["Неуспевающие («1», «2», «незач»)"] == [
        expected[(s, TOTAL)]["failing"] for s in schools
    ]
    assert 'data-testid="results-job"' in page


def test_results_xlsx_chart_refers_to_school_totals(results, login):
    client = login(results["reader"])
    content = client.get(f"/authority/results.xlsx?year={YEAR}&term=1").data
    sheet = openpyxl.load_workbook(io.BytesIO(content))["По школам"]

    expected = expected_rows(1)
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    assert [row[0] for row in rows] == [school_name("T1"), school_name("T2")]
    assert [row[2] for row in rows] == [
        expected[(school_name(key), TOTAL)]["excellent"] for key in ("T1", "T2")
    ]
    ref = "'По школам'!"
    categories = f"{ref}$A$4:$A$5"
    assert sheet_chart_refs(sheet) == [
        (f"{ref}$C$3", categories, f"{ref}$C$4:$C$5"),
        (f"{ref}$D$3", categories, f"{ref}$D$4:$D$5"),
        (f"{ref}$F$3", categories, f"{ref}$F$4:$F$5"),
    ]
    assert sheet["F3"].value == "Неуспевающие («1», «2», «незач»)"


def test_results_job_builds_same_file(app, results, login):
    client = login(results["reader"])

    content = queue_and_run(app, client, "/authority/results/job", {"year": YEAR, "term": "year"})

    direct = client.get(f"/authority/results.xlsx?year={YEAR}&term=year").data
    assert workbook_values(content) == workbook_values(direct)
    assert list(workbook_values(content)) == ["Итоги четвертей и года", "По школам"]
