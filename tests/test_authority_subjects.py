"""Indicators per subject across schools and the ranking of schools, for the current and a
closed past year: checked against an independent computation on hand-made period marks,
with scoping, the pages and the XLSX downloads."""

import io
import re
from collections import defaultdict
from fractions import Fraction

import openpyxl
import pytest

from app.models import db
from app.reports.authority import (
    SummaryColumns,
    TermPeriod,
    YearPeriod,
    authority_summary,
    closed_year_names,
    year_names,
)
from app.reports.authority_results import ResultsColumns, authority_results
from app.reports.authority_subjects import (
    INDICATORS,
    RankingColumns,
    Selection,
    SubjectColumns,
    competition_ranks,
    ranking_frame,
    subject_names,
    subjects_frame,
)
from tests.period_marks import (
    PAST_YEAR,
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

SUBJECT_COLUMNS = SubjectColumns(
    subject="subject",
    school="school",
    students="students",
    average="average",
    pass_rate="pass_rate",
    quality_rate="quality_rate",
    sou="sou",
)
RANKING_COLUMNS = RankingColumns(
    rank="rank",
    school="school",
    students="students",
    value="value",
    authority_value="authority_value",
    difference="difference",
)
#: The school column of a subject's total row, in the default (Russian) locale.
ALL_SCHOOLS = "Все школы"

#: Subjects that U1 teaches pass/fail (U2 gives marks in them), and subjects without marks.
PASS_FAIL_IN_U1 = {"Физкультура"}
WITHOUT_MARKS = {"ОРКСЭ"}

#: (school, year, grade, student, subject, period, value). Periods: q1–q4 quarters, h1–h2
#: half-years, "year" the year mark. U1 runs quarters in grades 1–9 and half-years in
#: 10–11; U2 runs half-years from grade 5 up. U3 belongs to another authority. A student
#: keeps one name across years: Аня of grade 5 now was in grade 4 last year.
MARKS = [
    ("U1", YEAR, 5, "Аня", "Математика", "q1", "5"),
    ("U1", YEAR, 5, "Аня", "Русский язык", "q1", "4"),
    ("U1", YEAR, 5, "Аня", "Физкультура", "q1", "зач"),
    ("U1", YEAR, 5, "Аня", "Математика", "q2", "4"),
    ("U1", YEAR, 5, "Аня", "Математика", "year", "5"),
    ("U1", YEAR, 5, "Аня", "Русский язык", "year", "4"),
    ("U1", YEAR, 5, "Борис", "Математика", "q1", "3"),
    ("U1", YEAR, 5, "Борис", "Русский язык", "q1", "5"),
    ("U1", YEAR, 5, "Борис", "Физкультура", "q1", "незач"),
    ("U1", YEAR, 5, "Борис", "Математика", "year", "3"),
    ("U1", YEAR, 5, "Вера", "Математика", "q1", "н/а"),
    ("U1", YEAR, 5, "Вера", "Русский язык", "q1", "2"),
    ("U1", YEAR, 5, "Вера", "Математика", "year", "2"),
    ("U1", YEAR, 5, "Глеб", "Математика", "q1", "осв"),
    ("U1", YEAR, 5, "Глеб", "Русский язык", "q1", "4"),
    ("U1", YEAR, 5, "Дина", "Математика", "q1", ""),
    ("U1", YEAR, 5, "Дина", "Русский язык", "q1", "5"),
    ("U1", YEAR, 5, "Дина", "ОРКСЭ", "q1", "2"),
    ("U1", YEAR, 10, "Егор", "Алгебра", "h1", "4"),
    ("U1", YEAR, 10, "Егор", "Русский язык", "h1", "3"),
    ("U1", YEAR, 10, "Егор", "Алгебра", "h2", "5"),
    ("U1", YEAR, 10, "Егор", "Алгебра", "year", "5"),
    ("U1", YEAR, 1, "Первоклассник", "Математика", "q1", "5"),
    ("U2", YEAR, 5, "Жанна", "Математика", "h1", "5"),
    ("U2", YEAR, 5, "Жанна", "Русский язык", "h1", "5"),
    ("U2", YEAR, 5, "Жанна", "Физкультура", "h1", "5"),
    ("U2", YEAR, 5, "Жанна", "Математика", "h2", "4"),
    ("U2", YEAR, 5, "Жанна", "Математика", "year", "4"),
    ("U2", YEAR, 5, "Зоя", "Математика", "h1", "4"),
    ("U2", YEAR, 5, "Зоя", "Русский язык", "h1", "3"),
    ("U2", YEAR, 5, "Зоя", "Физкультура", "h1", "4"),
    ("U2", YEAR, 5, "Зоя", "Математика", "year", "4"),
    ("U2", YEAR, 5, "Игорь", "Математика", "h1", "2"),
    ("U2", YEAR, 5, "Игорь", "Физкультура", "h1", "3"),
    ("U2", YEAR, 7, "Кирилл", "Математика", "h1", "5"),
    ("U2", YEAR, 7, "Кирилл", "Русский язык", "h1", "4"),
    ("U3", YEAR, 5, "Чужой", "Математика", "q1", "5"),
    ("U3", YEAR, 5, "Чужой", "Математика", "year", "5"),
    ("U1", PAST_YEAR, 4, "Аня", "Математика", "q1", "4"),
    ("U1", PAST_YEAR, 4, "Аня", "Русский язык", "q1", "4"),
    ("U1", PAST_YEAR, 4, "Аня", "Математика", "year", "4"),
    ("U1", PAST_YEAR, 4, "Борис", "Математика", "q1", "5"),
    ("U1", PAST_YEAR, 4, "Борис", "Русский язык", "q1", "осв"),
    ("U1", PAST_YEAR, 4, "Борис", "Математика", "year", "5"),
    ("U1", PAST_YEAR, 4, "Вера", "Математика", "q1", "3"),
    ("U1", PAST_YEAR, 4, "Вера", "Русский язык", "q1", ""),
    ("U1", PAST_YEAR, 4, "Вера", "Математика", "year", "3"),
    ("U2", PAST_YEAR, 4, "Жанна", "Математика", "q1", "5"),
    ("U2", PAST_YEAR, 4, "Жанна", "Математика", "year", "5"),
    ("U2", PAST_YEAR, 4, "Зоя", "Математика", "q1", "5"),
    ("U2", PAST_YEAR, 4, "Игорь", "Математика", "q1", "4"),
    ("U2", PAST_YEAR, 6, "Старший", "Математика", "h1", "2"),
    ("U3", PAST_YEAR, 4, "Чужой", "Математика", "q1", "3"),
]

OWN_SCHOOLS = ("U1", "U2")

#: СОУ weights of the marks, «н/а» weighing as «1».
SOU = {"5": Fraction(1), "4": Fraction(64, 100), "3": Fraction(36, 100)}
SOU.update({"2": Fraction(16, 100), "1": Fraction(8, 100), "н/а": Fraction(8, 100)})


# --- The independent computation ----------------------------------------------------------


def counted_values(year, period, grade=None, subject=None):
    """Return {school: {(student, subject): [values]}} of the marks a report counts."""
    values = defaultdict(lambda: defaultdict(list))
    for school, mark_year, mark_grade, student, mark_subject, stored, value in MARKS:
        if school not in OWN_SCHOOLS or mark_year != year or mark_grade == 1:
            continue
        if mark_subject in WITHOUT_MARKS or stored not in READS[period]:
            continue
        if value in ("", "осв"):
            continue
        if grade is not None and mark_grade != grade:
            continue
        if subject is not None and mark_subject != subject:
            continue
        values[school_name(school)][(student, mark_subject)].append(value)
    return values


def expected_indicators(by_student: dict[str, list[str]], per_subject: bool) -> dict:
    """Compute the four indicators of a group of students from their marks, exactly."""
    all_values = [value for values in by_student.values() for value in values]
    numbers = [int(value) for value in all_values if value.isdigit()]
    scaled = [value for value in all_values if value.isdigit() or value == "н/а"]
    students = len(by_student)
    passed = sum(
        all(value in ("3", "4", "5", "зач") for value in values) for values in by_student.values()
    )
    if per_subject:
        graded = [values for values in by_student.values() if values[0] not in ("зач", "незач")]
        good = sum(all(value in ("4", "5") for value in values) for values in graded)
        quality = Fraction(good, len(graded)) if graded else None
    else:
        good = sum(
            all(value in ("4", "5", "зач") for value in values) for values in by_student.values()
        )
        quality = Fraction(good, students)
    return {
        "students": students,
        "average": Fraction(sum(numbers), len(numbers)) if numbers else None,
        "pass_rate": Fraction(passed, students),
        "quality_rate": quality,
        "sou": sum(SOU[value] for value in scaled) / len(scaled) if scaled else None,
    }


def expected_subject_rows(year, period, grade=None, subject=None) -> dict:
    """Compute every row of the report per subject, the authority totals included."""
    schools = counted_values(year, period, grade, subject)
    by_subject = defaultdict(dict)
    for school, marks in schools.items():
        for (student, mark_subject), values in marks.items():
            by_subject[mark_subject].setdefault(school, {})[student] = values
    rows = {}
    for mark_subject, per_school in by_subject.items():
        everyone = {}
        for school, students in per_school.items():
            rows[(mark_subject, school)] = expected_indicators(students, per_subject=True)
            everyone.update({(school, name): values for name, values in students.items()})
        rows[(mark_subject, ALL_SCHOOLS)] = expected_indicators(everyone, per_subject=True)
    return rows


def expected_ranking(year, period, indicator, grade=None, subject=None) -> dict:
    """Compute {school: (rank, value, authority value)} of the ranking by hand."""
    per_subject = subject is not None
    schools = counted_values(year, period, grade, subject)
    per_school = {}
    everyone = {}
    for school, marks in schools.items():
        students = defaultdict(list)
        for (student, _subject), values in marks.items():
            students[student].extend(values)
            everyone.setdefault((school, student), []).extend(values)
        per_school[school] = expected_indicators(students, per_subject)[indicator]
    authority_value = expected_indicators(everyone, per_subject)[indicator] if everyone else None
    result = {}
    for school, value in per_school.items():
        better = sum(
            1 for other in per_school.values() if None not in (value, other) and other > value
        )
        rank = None if value is None else better + 1
        result[school] = (rank, value, authority_value)
    return result


# --- The data set -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def marks(app):
    """Two schools of a fresh authority and one of another, filled from :data:`MARKS`."""
    with app.app_context():
        data = build_marked_authorities("subjects", OWN_SCHOOLS, "U3")
        builders = {
            key: PeriodMarkBuilder(school, {name: "none" for name in WITHOUT_MARKS})
            for key, school in data.schools.items()
        }
        builders["U1"].assessments.update({name: "pass_fail" for name in PASS_FAIL_IN_U1})
        for builder in builders.values():
            builder.add_past_year()
        teach_half_years_from_grade_five(data.schools["U2"].school_id)
        for school, *mark in MARKS:
            builders[school].add_mark(*mark)
        db.session.commit()
        return data


def _period(year, period):
    return YearPeriod(year) if period == "year" else TermPeriod(year, period)


def _subject_rows(app, authority_id, year, period, grade=None, subject=None) -> dict:
    with app.app_context():
        selection = Selection(_period(year, period), grade, subject)
        frame = subjects_frame(authority_id, selection, SUBJECT_COLUMNS)
    return {(row["subject"], row["school"]): row for row in frame.to_dict("records")}


def _ranking(app, authority_id, year, period, indicator, grade=None, subject=None):
    with app.app_context():
        selection = Selection(_period(year, period), grade, subject)
        return ranking_frame(authority_id, selection, indicator, RANKING_COLUMNS)


def _assert_value(actual, expected, key):
    if expected is None:
        assert actual is None or actual != actual, key
    else:
        assert actual == pytest.approx(float(expected)), key


# --- Per subject: the computation ---------------------------------------------------------

CASES = [
    (YEAR, 1, None, None),
    (YEAR, 2, None, None),
    (YEAR, 3, None, None),
    (YEAR, "year", None, None),
    (YEAR, 1, 5, None),
    (YEAR, 1, None, "Математика"),
    (YEAR, 1, 10, "Алгебра"),
    (PAST_YEAR, 1, None, None),
    (PAST_YEAR, 2, None, None),
    (PAST_YEAR, "year", None, None),
]


@pytest.mark.parametrize(("year", "period", "grade", "subject"), CASES)
def test_subjects_match_independent_computation(app, marks, year, period, grade, subject):
    rows = _subject_rows(app, marks["authority_id"], year, period, grade, subject)
    expected = expected_subject_rows(year, period, grade, subject)
    assert set(rows) == set(expected)
    for key, indicators in expected.items():
        row = rows[key]
        assert row["students"] == indicators["students"], key
        for name in INDICATORS:
            _assert_value(row[name], indicators[name], (key, name))


def test_subjects_first_term_by_hand(app, marks):
    # Математика in U1: Аня 5, Борис 3, Вера «н/а»; Глеб is exempt and Дина's mark is blank.
    rows = _subject_rows(app, marks["authority_id"], YEAR, 1)
    maths = rows[("Математика", school_name("U1"))]
    assert maths["students"] == 3
    assert maths["average"] == pytest.approx(4.0)
    assert maths["pass_rate"] == pytest.approx(2 / 3)
    assert maths["quality_rate"] == pytest.approx(1 / 3)
    assert maths["sou"] == pytest.approx((1 + 0.36 + 0.08) / 3)


def test_subjects_pass_fail_school_has_no_quality(app, marks):
    rows = _subject_rows(app, marks["authority_id"], YEAR, 1)
    pass_fail = rows[("Физкультура", school_name("U1"))]
    assert pass_fail["students"] == 2
    assert pass_fail["pass_rate"] == pytest.approx(0.5)
    assert pass_fail["quality_rate"] != pass_fail["quality_rate"]
    total = rows[("Физкультура", ALL_SCHOOLS)]
    assert total["students"] == 5
    assert total["pass_rate"] == pytest.approx(4 / 5)
    assert total["quality_rate"] == pytest.approx(2 / 3)


def test_subjects_leave_out_marks_that_do_not_count(app, marks):
    rows = _subject_rows(app, marks["authority_id"], YEAR, 1)
    subjects = {subject for subject, _school in rows}
    assert "ОРКСЭ" not in subjects
    assert "Английский язык" not in subjects
    schools = {school for _subject, school in rows}
    assert school_name("U3") not in schools


def test_subjects_order_ends_each_subject_with_total(app, marks):
    with app.app_context():
        selection = Selection(TermPeriod(YEAR, 1), subject="Русский язык")
        frame = subjects_frame(marks["authority_id"], selection, SUBJECT_COLUMNS)
    assert list(frame["school"]) == [school_name("U1"), school_name("U2"), ALL_SCHOOLS]


def test_subjects_unknown_year_is_empty(app, marks):
    with app.app_context():
        selection = Selection(TermPeriod("1999/2000", 1))
        assert subjects_frame(marks["authority_id"], selection, SUBJECT_COLUMNS).empty


def test_subject_names_of_year(app, marks):
    with app.app_context():
        current = subject_names(marks["authority_id"], YEAR)
        past = subject_names(marks["authority_id"], PAST_YEAR)
    assert "Алгебра" in current
    assert "Физкультура" in current
    assert "ОРКСЭ" not in current
    assert "Алгебра" not in past
    assert "Русский язык" in past


# --- Ranking: the computation -------------------------------------------------------------

RANKING_CASES = [(YEAR, 1, indicator, None, None) for indicator in INDICATORS] + [
    (YEAR, 1, "quality_rate", None, "Математика"),
    (YEAR, 1, "average", 5, None),
    (YEAR, 2, "sou", None, None),
    (YEAR, "year", "pass_rate", None, None),
    (PAST_YEAR, 1, "quality_rate", None, None),
    (PAST_YEAR, 1, "average", None, "Математика"),
    (PAST_YEAR, "year", "sou", None, None),
]


@pytest.mark.parametrize(("year", "period", "indicator", "grade", "subject"), RANKING_CASES)
def test_ranking_matches_independent_computation(
    app, marks, year, period, indicator, grade, subject
):
    frame = _ranking(app, marks["authority_id"], year, period, indicator, grade, subject)
    expected = expected_ranking(year, period, indicator, grade, subject)
    rows = {row["school"]: row for row in frame.to_dict("records")}
    assert set(rows) == set(expected)
    for school, (rank, value, authority_value) in expected.items():
        row = rows[school]
        _assert_value(row["rank"], rank, school)
        _assert_value(row["value"], value, school)
        _assert_value(row["authority_value"], authority_value, school)
        difference = None if value is None else value - authority_value
        _assert_value(row["difference"], difference, school)
    ranks = [row["rank"] for row in frame.to_dict("records") if row["rank"] == row["rank"]]
    assert ranks == sorted(ranks)


def test_ranking_tie_shares_first_place(app, marks):
    # Across subjects in term 1, U1 has 3 of 6 students with only «4», «5» and «зач»,
    # and U2 has 2 of 4.
    frame = _ranking(app, marks["authority_id"], YEAR, 1, "quality_rate")
    assert list(frame["rank"]) == [1, 1]
    assert list(frame["school"]) == [school_name("U1"), school_name("U2")]
    assert list(frame["value"]) == pytest.approx([0.5, 0.5])
    assert list(frame["authority_value"]) == pytest.approx([0.5, 0.5])


def test_ranking_by_pass_rate_orders_schools(app, marks):
    frame = _ranking(app, marks["authority_id"], YEAR, 1, "pass_rate")
    assert list(frame["school"]) == [school_name("U2"), school_name("U1")]
    assert list(frame["rank"]) == [1, 2]
    assert frame["value"].iloc[0] == pytest.approx(3 / 4)
    assert frame["authority_value"].iloc[0] == pytest.approx(7 / 10)


def test_ranking_without_value_comes_last(app, marks):
    # U1 teaches Физкультура pass/fail, so it has no average there and gets no rank.
    frame = _ranking(app, marks["authority_id"], YEAR, 1, "average", subject="Физкультура")
    records = frame.to_dict("records")
    assert records[0]["school"] == school_name("U2")
    assert records[0]["rank"] == 1
    assert records[1]["school"] == school_name("U1")
    assert records[1]["rank"] != records[1]["rank"]


def test_competition_ranks_skip_after_tie():
    values = [Fraction(9, 10), Fraction(4, 5), Fraction(8, 10), None, Fraction(7, 10)]
    assert competition_ranks(values) == [1, 2, 2, None, 4]


def test_ranking_rejects_unknown_indicator(app, marks):
    with app.app_context(), pytest.raises(ValueError, match="median"):
        ranking_frame(marks["authority_id"], Selection(TermPeriod(YEAR, 1)), "median")


# --- Past closed years in the summary and the results -------------------------------------


def test_past_year_is_listed_as_closed(app, marks):
    with app.app_context():
        assert year_names(marks["authority_id"]) == [YEAR, PAST_YEAR]
        assert closed_year_names(marks["authority_id"]) == {PAST_YEAR}


def test_summary_reads_past_year(app, marks):
    columns = SummaryColumns(*(item for item in SummaryColumns.__dataclass_fields__))
    with app.app_context():
        frame = authority_summary(marks["authority_id"], TermPeriod(PAST_YEAR, 1), columns)
    records = frame.to_dict("records")
    rows = {(row["school"], row["grade"]): row for row in records if row["grade"] != "Итого"}
    values = counted_values(PAST_YEAR, 1)
    assert set(rows) == {(school_name("U1"), 4), (school_name("U2"), 4), (school_name("U2"), 6)}
    first = rows[(school_name("U1"), 4)]
    students = defaultdict(list)
    for (student, _subject), marks_of_student in values[school_name("U1")].items():
        students[student].extend(marks_of_student)
    expected = expected_indicators(students, per_subject=False)
    assert first["students"] == expected["students"]
    assert first["average"] == pytest.approx(float(expected["average"]))
    assert first["pass_rate"] == pytest.approx(float(expected["pass_rate"]))
    assert first["quality_rate"] == pytest.approx(float(expected["quality_rate"]))


def test_results_read_past_year_marks(app, marks):
    columns = ResultsColumns(*(item for item in ResultsColumns.__dataclass_fields__))
    with app.app_context():
        frame = authority_results(marks["authority_id"], YearPeriod(PAST_YEAR), columns)
    rows = {(row["school"], row["grade"]): row for row in frame.to_dict("records")}
    # U1's grade 4 of the past year: Аня «4», Борис «5», Вера «3»; U2's: Жанна «5».
    first = rows[(school_name("U1"), 4)]
    assert first["students"] == 3
    assert first["excellent"] == 1
    assert first["good"] == 1
    assert first["one_three"] == 1
    second = rows[(school_name("U2"), 4)]
    assert second["students"] == 1
    assert second["excellent"] == 1


# --- Pages --------------------------------------------------------------------------------


def test_subjects_page_shows_indicators(marks, login):
    client = login(marks["reader"])
    response = client.get(f"/authority/subjects?year={YEAR}&term=1")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Предметы по школам" in page
    assert school_name("U1") in page
    assert school_name("U2") in page
    assert school_name("U3") not in page
    assert "Степень обученности (СОУ)" in page
    # Математика in U1: pass rate 2 of 3, СОУ (100 + 36 + 8) / 3 %.
    assert "66,7 %" in page
    assert "48,0 %" in page


def test_subjects_page_filters_subject_and_grade(marks, login):
    client = login(marks["reader"])
    page = client.get(f"/authority/subjects?year={YEAR}&term=1&subject=Алгебра&grade=10").get_data(
        as_text=True
    )
    assert 'value="Алгебра" selected' in page
    assert 'value="10" selected' in page
    assert "Русский язык</td>" not in page
    assert "subject=%D0%90%D0%BB%D0%B3%D0%B5%D0%B1%D1%80%D0%B0" in page
    assert "grade=10" in page


def test_subjects_page_past_year(marks, login):
    client = login(marks["reader"])
    page = client.get(f"/authority/subjects?year={PAST_YEAR}&term=year").get_data(as_text=True)
    assert f'value="{PAST_YEAR}" selected' in page
    assert f"{PAST_YEAR} (закрыт)" in page
    assert "Алгебра" not in page
    assert school_name("U1") in page


def test_subjects_page_unknown_subject_is_reported(marks, login):
    client = login(marks["reader"])
    response = client.get(f"/authority/subjects?year={YEAR}&term=1&subject=Астрология")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Астрология" in page
    assert "Выберите предмет из списка" in page
    assert school_name("U1") in page


def test_subjects_page_invalid_grade_is_reported(marks, login):
    client = login(marks["reader"])
    response = client.get(f"/authority/subjects?year={YEAR}&term=1&grade=1")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Параллель 1 недопустима" in page
    assert "от 2 до 11" in page


def test_ranking_page_shows_ranks(marks, login):
    client = login(marks["reader"])
    response = client.get(f"/authority/ranking?year={YEAR}&term=1&indicator=pass_rate")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Рейтинг школ" in page
    assert 'value="pass_rate" selected' in page
    assert "Значение по управлению" in page
    assert "75,0 %" in page
    assert "70,0 %" in page
    assert school_name("U3") not in page


def test_ranking_page_invalid_indicator_is_reported(marks, login):
    client = login(marks["reader"])
    response = client.get(f"/authority/ranking?year={YEAR}&term=1&indicator=median")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Показатель median недопустим" in page
    assert 'value="quality_rate" selected' in page


def test_summary_page_offers_past_year(marks, login):
    client = login(marks["reader"])
    page = client.get(f"/authority/summary?year={PAST_YEAR}&term=1").get_data(as_text=True)
    assert f"{PAST_YEAR} (закрыт)" in page
    assert f'value="{PAST_YEAR}" selected' in page
    assert school_name("U1") in page


def test_comparison_menu_items(marks, login):
    client = login(marks["reader"])
    page = client.get("/authority/summary").get_data(as_text=True)
    assert "Отчёты управления" in page
    assert "Предметы по школам" in page
    assert "/authority/subjects" in page
    assert "Рейтинг школ" in page
    assert "/authority/ranking" in page


def test_other_authority_sees_none_of_these_schools(marks, login):
    client = login(marks["outsider"])
    own = marks["authority_id"]
    for report in ("subjects", "ranking"):
        for query in (f"year={YEAR}&term=1", f"authority={own}&year={YEAR}&term=1"):
            url = f"/authority/{report}?{query}"
            page = client.get(url).get_data(as_text=True)
            assert school_name("U1") not in page, url
            assert school_name("U2") not in page, url
            assert school_name("U3") in page, url
            response = client.get(f"/authority/{report}.xlsx?{query}")
            sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
            values = {cell.value for row in sheet.iter_rows() for cell in row}
            assert school_name("U1") not in values, url
            assert school_name("U3") in values, url


def test_server_admin_unknown_authority_is_404(world, login):
    client = login(world.users["server_admin"])
    for url in ("/authority/subjects", "/authority/ranking.xlsx"):
        assert client.get(f"{url}?authority=987654").status_code == 404, url


def test_school_roles_have_no_comparison(world, login):
    for code in ("principal", "school_admin", "teacher"):
        client = login(world["A"].users[code])
        for url in ("/authority/subjects", "/authority/ranking.xlsx"):
            assert client.get(url).status_code == 403, (code, url)


# --- XLSX ---------------------------------------------------------------------------------


def _download(marks, login, url):
    client = login(marks["reader"])
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    return response, openpyxl.load_workbook(io.BytesIO(response.data)).active


def test_subjects_xlsx_matches_computation(marks, login):
    response, sheet = _download(marks, login, f"/authority/subjects.xlsx?year={YEAR}&term=1")
    assert "2026-2027" in response.headers["Content-Disposition"]
    assert sheet["A1"].value == "Предметы по школам"
    assert "Период: 1." in sheet["A2"].value
    assert "Предмет: все предметы." in sheet["A2"].value
    assert sheet.freeze_panes == "A4"
    assert sheet.auto_filter.ref is not None
    header = [cell.value for cell in sheet[3]]
    assert header[:3] == ["Предмет", "Школа", "Учащихся с отметками за период"]

    rows = {(row[0].value, row[1].value): row for row in sheet.iter_rows(min_row=4)}
    expected = expected_subject_rows(YEAR, 1)
    assert set(rows) == set(expected)
    quality = header.index("Качество знаний")
    sou = header.index("Степень обученности (СОУ)")
    for key, indicators in expected.items():
        assert rows[key][2].value == indicators["students"], key
        _assert_value(rows[key][quality].value, indicators["quality_rate"], key)
        _assert_value(rows[key][sou].value, indicators["sou"], key)
    assert rows[("Математика", ALL_SCHOOLS)][sou].number_format == "0.0%"


def test_ranking_xlsx_matches_computation(marks, login):
    url = f"/authority/ranking.xlsx?year={PAST_YEAR}&term=1&subject=Математика&indicator=average"
    _response, sheet = _download(marks, login, url)
    assert sheet["A1"].value == "Рейтинг школ"
    assert PAST_YEAR in sheet["A2"].value
    assert "Предмет: Математика." in sheet["A2"].value
    assert "Показатель: Средний балл." in sheet["A2"].value
    header = [cell.value for cell in sheet[3]]
    assert header == [
        "Место",
        "Школа",
        "Учащихся с отметками за период",
        "Средний балл",
        "Значение по управлению",
        "Отклонение от управления",
    ]
    expected = expected_ranking(PAST_YEAR, 1, "average", subject="Математика")
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    assert {row[1] for row in rows} == set(expected)
    for rank, school, _students, value, authority_value, _difference in rows:
        expected_rank, expected_value, expected_authority = expected[school]
        assert rank == expected_rank, school
        assert value == pytest.approx(float(expected_value)), school
        assert authority_value == pytest.approx(float(expected_authority)), school
    assert sheet["D4"].number_format == "0.00"


# --- Charts -------------------------------------------------------------------------------


def test_ranking_page_chart_has_values_per_school(marks, login):
    client = login(marks["reader"])
    page = client.get(f"/authority/ranking?year={YEAR}&term=1&indicator=pass_rate").get_data(
        as_text=True
    )
    chart = page_chart(page)
    expected = expected_ranking(YEAR, 1, "pass_rate")
    assert chart["kind"] == "bar"
    assert chart["title"] == "Успеваемость"
    assert set(chart["labels"]) == set(expected)
    value, reference = chart["series"]
    assert value["label"] == "Успеваемость"
    assert reference["label"] == "Значение по управлению"
    assert reference["reference"] is True
    for school, shown, authority in zip(
        chart["labels"], value["values"], reference["values"], strict=True
    ):
        _rank, expected_value, expected_authority = expected[school]
        assert shown == round(float(expected_value) * 100, 1), school
        assert authority == round(float(expected_authority) * 100, 1), school


def test_ranking_page_chart_average_is_not_percent(marks, login):
    client = login(marks["reader"])
    url = f"/authority/ranking?year={PAST_YEAR}&term=1&subject=Математика&indicator=average"
    chart = page_chart(client.get(url).get_data(as_text=True))
    expected = expected_ranking(PAST_YEAR, 1, "average", subject="Математика")
    value = chart["series"][0]
    assert value["percent"] is False
    for school, shown in zip(chart["labels"], value["values"], strict=True):
        expected_value = expected[school][1]
        if expected_value is None:
            assert shown is None, school
        else:
            assert shown == round(float(expected_value), 2), school


def test_ranking_page_loads_chart_scripts_with_nonce(app, marks, login):
    # Without a CSP extension FAB's nonce is empty. A csp_nonce() like Flask-Talisman's shows
    # that the page passes the request's nonce to both chart scripts.
    app.jinja_env.globals["csp_nonce"] = lambda: "nonce-of-request"
    try:
        client = login(marks["reader"])
        page = client.get(f"/authority/ranking?year={YEAR}&term=1").get_data(as_text=True)
    finally:
        del app.jinja_env.globals["csp_nonce"]
    for script in ("vendor/chartjs/chart.umd.min.js", "report_charts.js"):
        pattern = rf'<script src="/static/{re.escape(script)}" nonce="nonce-of-request"></script>'
        assert re.search(pattern, page), script
    assert "cdn" not in page.lower()


def test_ranking_page_without_marks_has_no_chart(marks, login):
    client = login(marks["reader"])
    page = client.get(f"/authority/ranking?year={YEAR}&term=1&grade=2").get_data(as_text=True)
    assert "ranking-empty" in page
    assert "report-chart-data" not in page
    assert "report_charts.js" not in page


def test_ranking_xlsx_chart_refers_to_table(marks, login):
    url = f"/authority/ranking.xlsx?year={YEAR}&term=1&indicator=quality_rate"
    _response, sheet = _download(marks, login, url)
    assert len(sheet._charts) == 1
    chart = sheet._charts[0]
    assert chart.barDir == "bar"
    rows = sheet.max_row
    refs = [
        (series.tx.strRef.f, series.cat.strRef.f, series.val.numRef.f) for series in chart.series
    ]
    sheet_ref = "'Рейтинг школ'!"
    assert refs == [
        (f"{sheet_ref}$D$3", f"{sheet_ref}$B$4:$B${rows}", f"{sheet_ref}$D$4:$D${rows}"),
        (f"{sheet_ref}$E$3", f"{sheet_ref}$B$4:$B${rows}", f"{sheet_ref}$E$4:$E${rows}"),
    ]
    assert sheet["D3"].value == "Качество знаний"
    assert sheet["E3"].value == "Значение по управлению"
    assert rows - 3 == len(expected_ranking(YEAR, 1, "quality_rate"))


# --- Chart per subject and background job -------------------------------------------------


def test_subjects_page_chart_shows_subject_totals(marks, login):
    client = login(marks["reader"])
    page = client.get(f"/authority/subjects?year={YEAR}&term=1").get_data(as_text=True)

    chart = page_chart(page)

    expected = expected_subject_rows(YEAR, 1)
    subjects = sorted({subject for subject, _school in expected})
    assert chart["labels"] == subjects
    pass_rates = chart_values(chart)["Успеваемость"]
    for subject, value in zip(subjects, pass_rates, strict=True):
        rate = expected[(subject, ALL_SCHOOLS)]["pass_rate"]
        assert value == pytest.approx(round(float(rate) * 100, 1)), subject
    assert 'data-testid="subjects-job"' in page


def test_subjects_xlsx_chart_refers_to_subject_totals(marks, login):
    client = login(marks["reader"])
    content = client.get(f"/authority/subjects.xlsx?year={YEAR}&term=1").data
    sheet = openpyxl.load_workbook(io.BytesIO(content))["По предметам"]

    expected = expected_subject_rows(YEAR, 1)
    subjects = sorted({subject for subject, _school in expected})
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    assert [row[0] for row in rows] == subjects
    for row in rows:
        assert row[1] == expected[(row[0], ALL_SCHOOLS)]["students"], row[0]
    ref = "'По предметам'!"
    last = 3 + len(subjects)
    categories = f"{ref}$A$4:$A${last}"
    assert sheet_chart_refs(sheet) == [
        (f"{ref}$E$3", categories, f"{ref}$E$4:$E${last}"),
        (f"{ref}$D$3", categories, f"{ref}$D$4:$D${last}"),
    ]
    assert sheet["E3"].value == "Качество знаний"


def test_subjects_job_keeps_subject_and_grade(app, marks, login):
    client = login(marks["reader"])
    filters = {"year": YEAR, "term": "1", "subject": "Математика", "grade": "5"}

    content = queue_and_run(app, client, "/authority/subjects/job", filters)

    direct = client.get(
        f"/authority/subjects.xlsx?year={YEAR}&term=1&subject=Математика&grade=5"
    ).data
    values = workbook_values(content)
    assert values == workbook_values(direct)
    assert {row[0] for row in values["Предметы по школам"][3:]} == {"Математика"}


def test_ranking_job_keeps_indicator(app, marks, login):
    client = login(marks["reader"])
    filters = {"year": YEAR, "term": "1", "indicator": "pass_rate"}

    content = queue_and_run(app, client, "/authority/ranking/job", filters)

    direct = client.get(f"/authority/ranking.xlsx?year={YEAR}&term=1&indicator=pass_rate").data
    values = workbook_values(content)
    assert values == workbook_values(direct)
    assert "Показатель: Успеваемость." in values["Рейтинг школ"][1][0]
    assert len(values["Рейтинг школ"][3:]) == len(expected_ranking(YEAR, 1, "pass_rate"))
