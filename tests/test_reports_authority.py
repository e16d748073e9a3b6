"""The authority's summary: formulas on hand-made term marks, scoping, screen and XLSX."""

import datetime as dt
import io
import json
import re
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import select

from app.models import (
    Attendance,
    AttendanceCode,
    Course,
    EducationAuthority,
    FinalMark,
    Lesson,
    SchoolClass,
    Student,
    Subject,
    Term,
    db,
)
from app.reports.authority import (
    DateRange,
    SummaryColumns,
    TermPeriod,
    authority_summary,
    school_totals,
)
from tests.factories import add_membership, build_school_under, make_user

COLUMNS = SummaryColumns(
    school="school",
    grade="grade",
    students="students",
    passed="passed",
    quality_students="quality_students",
    average="average",
    quality_rate="quality_rate",
    pass_rate="pass_rate",
    sou="sou",
    missed_per_student="missed_per_student",
)

YEAR = "2026/2027"


def _term_id(school_id, kind, number):
    return db.session.scalars(
        select(Term.id).where(Term.school_id == school_id, Term.kind == kind, Term.number == number)
    ).one()


def _add_course(school, subject_name, class_id, **options):
    subject = Subject(school_id=school.school_id, name=subject_name)
    db.session.add(subject)
    db.session.flush()
    course = Course(
        school_id=school.school_id,
        year_id=school.ids["AcademicYear"],
        subject_id=subject.id,
        class_id=class_id,
        hours_per_week=Decimal("1"),
        **options,
    )
    db.session.add(course)
    db.session.flush()
    return course


def _add_class(school, grade, name):
    school_class = SchoolClass(
        school_id=school.school_id,
        year_id=school.ids["AcademicYear"],
        grade=grade,
        letter="Б",
        name=name,
    )
    db.session.add(school_class)
    db.session.flush()
    return school_class


def _add_student(school, class_id, first_name):
    student = Student(
        school_id=school.school_id,
        class_id=class_id,
        last_name="Отчётов",
        first_name=first_name,
        sex="m",
    )
    db.session.add(student)
    db.session.flush()
    return student.id


def _mark(school, student_id, course, term_id, value):
    db.session.add(
        FinalMark(
            school_id=school.school_id,
            student_id=student_id,
            course_id=course.id,
            kind="term",
            term_id=term_id,
            value=value,
        )
    )


def _code_id(school, code):
    statement = select(AttendanceCode.id).where(
        AttendanceCode.school_id == school.school_id, AttendanceCode.code == code
    )
    return db.session.scalars(statement).one()


def _attendance(school, course, student_id, day, code_id, reason_id=None, cancelled=False):
    """Add a lesson of the course on the day, with the student's attendance entry in it."""
    lesson = Lesson(
        school_id=school.school_id,
        course_id=course.id,
        date=day,
        lesson_number=6,
        is_cancelled=cancelled,
    )
    db.session.add(lesson)
    db.session.flush()
    db.session.add(
        Attendance(
            school_id=school.school_id,
            lesson_id=lesson.id,
            student_id=student_id,
            code_id=code_id,
            reason_id=reason_id,
        )
    )


def _add_attendance(first, courses, students):
    """Absences of school R1 around the factory's one (s3, ill, on 5 October).

    Counted in the first quarter: s1 on 6 October in grade 5, and the grade 10 student on
    10 November, inside the first half-year. Left out: s2 at an olympiad (counts as
    present), s2 late, s1 in a cancelled lesson, and s1 on 10 November, in the second
    quarter, where it is the only one.
    """
    russian, maths, senior_course = courses
    s1, s2, senior = students
    absent = _code_id(first, "Н")
    late = _code_id(first, "ОП")
    olympiad = AttendanceCode(
        school_id=first.school_id,
        code="ОЛ",
        name="Олимпиада",
        kind="reason",
        counts_as_present=True,
    )
    db.session.add(olympiad)
    db.session.flush()

    _attendance(first, russian, s1, dt.date(2026, 10, 6), absent)
    _attendance(first, senior_course, senior, dt.date(2026, 11, 10), absent)
    _attendance(first, russian, s2, dt.date(2026, 10, 7), absent, reason_id=olympiad.id)
    _attendance(first, maths, s2, dt.date(2026, 10, 7), late)
    _attendance(first, maths, s1, dt.date(2026, 10, 8), absent, cancelled=True)
    _attendance(first, maths, s1, dt.date(2026, 11, 10), absent)


@pytest.fixture(scope="module")
def marks(app, world):
    """A fresh authority with two schools and term marks whose summary is worked out by hand.

    School R1, grade 5, first quarter:
      s1: maths 5 (from the factory), russian 4, PE «зач»  → passes, quality; marks 5, 4
      s2: maths 3, russian «осв», PE «зач»                 → passes, no quality; mark 3
      s3: maths «н/а», russian 4                           → fails; mark 4
      s4: maths «осв», russian «осв»                       → left out
      s4: 5 in a course without marks, s2: 2 in an extra-curricular course → left out
    So 3 students, 2 passing, 1 with quality, average (5 + 4 + 3 + 4) / 4 = 4.0.
    СОУ (100 + 64 + 36 + 64 + 8) / 5 = 0.544, with «н/а» weighing as «1».
    Grade 1 (a 5 in maths) is left out. Grade 10 on half-years: 4 in the first half-year,
    2 in the second. School R2 keeps only the factory's 5 in grade 5.
    Missed lessons in the first quarter (see ``_add_attendance``): 2 in grade 5, 1 in
    grade 10 of R1, and the factory's 1 in R2.
    """
    with app.app_context():
        authority = EducationAuthority(name="Управление образования для отчётов", short_name="УО-О")
        db.session.add(authority)
        db.session.commit()
        first = build_school_under("R1", authority.id)
        second = build_school_under("R2", authority.id)

        q1 = _term_id(first.school_id, "quarter", 1)
        q2 = _term_id(first.school_id, "quarter", 2)
        half1 = _term_id(first.school_id, "half_year", 1)
        half2 = _term_id(first.school_id, "half_year", 2)
        class_5 = first.ids["SchoolClass"]
        maths = db.session.get(Course, first.ids["Course"])
        s1 = first.ids["Student"]
        s2 = first.ids["SiblingStudent"]
        s3 = first.ids["OtherStudent"]
        s4 = _add_student(first, class_5, "Четвёртый")

        russian = _add_course(first, "Русский язык", class_5)
        sport = _add_course(first, "Физическая культура", class_5, assessment="pass_fail")
        orkse = _add_course(first, "ОРКСЭ", class_5, assessment="none")
        club = _add_course(first, "Шахматы", class_5, kind="extracurricular")

        _mark(first, s1, russian, q1, "4")
        _mark(first, s1, sport, q1, "зач")
        _mark(first, s2, maths, q1, "3")
        _mark(first, s2, russian, q1, "осв")
        _mark(first, s2, sport, q1, "зач")
        _mark(first, s3, maths, q1, "н/а")
        _mark(first, s3, russian, q1, "4")
        _mark(first, s4, maths, q1, "осв")
        _mark(first, s4, russian, q1, "осв")
        _mark(first, s4, orkse, q1, "5")
        _mark(first, s2, club, q1, "2")
        _mark(first, s1, maths, q2, "2")

        class_1 = _add_class(first, 1, "1Б")
        first_grader = _add_student(first, class_1.id, "Первоклассник")
        _mark(first, first_grader, _add_course(first, "Математика 1", class_1.id), q1, "5")

        class_10 = _add_class(first, 10, "10Б")
        senior = _add_student(first, class_10.id, "Старший")
        senior_course = _add_course(first, "Математика 10", class_10.id)
        _mark(first, senior, senior_course, half1, "4")
        _mark(first, senior, senior_course, half2, "2")
        _add_attendance(first, (russian, maths, senior_course), (s1, s2, senior))
        reader = make_user("authority_reports")
        add_membership(reader, "authority", authority=authority)
        db.session.commit()
        return {
            "authority_id": authority.id,
            "first": first,
            "second": second,
            "username": reader.username,
        }


def _rows(app, authority_id, period):
    with app.app_context():
        frame = authority_summary(authority_id, period, COLUMNS)
    return {(row["school"], row["grade"]): row for row in frame.to_dict("records")}


def test_summary_grade_five_formulas(app, marks):
    rows = _rows(app, marks["authority_id"], TermPeriod(YEAR, 1))
    row = rows[("Школа № R1", 5)]
    assert row["students"] == 3
    assert row["passed"] == 2
    assert row["quality_students"] == 1
    assert row["average"] == pytest.approx(4.0)
    assert row["quality_rate"] == pytest.approx(1 / 3)
    assert row["pass_rate"] == pytest.approx(2 / 3)


def test_summary_leaves_out_grade_one(app, marks):
    rows = _rows(app, marks["authority_id"], TermPeriod(YEAR, 1))
    assert ("Школа № R1", 1) not in rows


def test_summary_second_school_row(app, marks):
    rows = _rows(app, marks["authority_id"], TermPeriod(YEAR, 1))
    row = rows[("Школа № R2", 5)]
    assert row["students"] == 1
    assert row["average"] == pytest.approx(5.0)
    assert row["quality_rate"] == pytest.approx(1.0)
    assert row["pass_rate"] == pytest.approx(1.0)


def test_summary_has_only_authority_schools(app, marks):
    rows = _rows(app, marks["authority_id"], TermPeriod(YEAR, 1))
    assert {school for school, _grade in rows} == {"Школа № R1", "Школа № R2", "Все школы"}


def test_summary_sou_and_missed_lessons(app, marks):
    rows = _rows(app, marks["authority_id"], TermPeriod(YEAR, 1))
    grade_five = rows[("Школа № R1", 5)]
    assert grade_five["sou"] == pytest.approx(0.544)
    assert grade_five["missed_per_student"] == pytest.approx(2 / 3)
    grade_ten = rows[("Школа № R1", 10)]
    assert grade_ten["sou"] == pytest.approx(0.64)
    assert grade_ten["missed_per_student"] == pytest.approx(1.0)
    assert rows[("Школа № R2", 5)]["missed_per_student"] == pytest.approx(1.0)


def test_summary_missed_lessons_of_second_quarter(app, marks):
    rows = _rows(app, marks["authority_id"], TermPeriod(YEAR, 2))
    assert rows[("Школа № R1", 5)]["missed_per_student"] == pytest.approx(1.0)


def test_summary_totals_follow_each_school(app, marks):
    with app.app_context():
        frame = authority_summary(marks["authority_id"], TermPeriod(YEAR, 1), COLUMNS)
    keys = [(row["school"], row["grade"]) for row in frame.to_dict("records")]
    assert keys == [
        ("Школа № R1", 5),
        ("Школа № R1", 10),
        ("Школа № R1", "Итого"),
        ("Школа № R2", 5),
        ("Школа № R2", "Итого"),
        ("Все школы", "Итого"),
    ]


def test_summary_totals_add_up_sums(app, marks):
    """School R1: 4 students, marks 5, 4, 3, 4, 4 and one «н/а», 3 missed lessons; R2: one
    student with a 5 and 1 missed lesson."""
    rows = _rows(app, marks["authority_id"], TermPeriod(YEAR, 1))
    first = rows[("Школа № R1", "Итого")]
    assert (first["students"], first["passed"], first["quality_students"]) == (4, 3, 2)
    assert first["average"] == pytest.approx(20 / 5)
    assert first["sou"] == pytest.approx(336 / 600)
    assert first["missed_per_student"] == pytest.approx(3 / 4)
    every = rows[("Все школы", "Итого")]
    assert (every["students"], every["passed"], every["quality_students"]) == (5, 4, 3)
    assert every["average"] == pytest.approx(25 / 6)
    assert every["sou"] == pytest.approx(436 / 700)
    assert every["quality_rate"] == pytest.approx(3 / 5)
    assert every["pass_rate"] == pytest.approx(4 / 5)
    assert every["missed_per_student"] == pytest.approx(4 / 5)


def test_summary_second_quarter(app, marks):
    rows = _rows(app, marks["authority_id"], TermPeriod(YEAR, 2))
    row = rows[("Школа № R1", 5)]
    assert row["students"] == 1
    assert row["average"] == pytest.approx(2.0)
    assert row["pass_rate"] == pytest.approx(0.0)
    assert row["quality_rate"] == pytest.approx(0.0)


def test_half_year_follows_quarter_end(app, marks):
    for number, average, pass_rate in [(1, 4.0, 1.0), (2, 4.0, 1.0), (3, 2.0, 0.0), (4, 2.0, 0.0)]:
        rows = _rows(app, marks["authority_id"], TermPeriod(YEAR, number))
        row = rows[("Школа № R1", 10)]
        assert row["students"] == 1, number
        assert row["average"] == pytest.approx(average), number
        assert row["pass_rate"] == pytest.approx(pass_rate), number


def test_summary_unknown_year_is_empty(app, marks):
    assert _rows(app, marks["authority_id"], TermPeriod("1999/2000", 1)) == {}


def test_summary_by_date_range(app, marks):
    period = DateRange(dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    rows = _rows(app, marks["authority_id"], period)
    assert rows[("Школа № R1", 5)]["students"] == 3
    assert ("Школа № R1", 10) not in rows


def test_world_authority_never_shows_school_c(app, world):
    rows = _rows(app, world.authority_ids["first"], TermPeriod(YEAR, 1))
    schools = {school for school, _grade in rows}
    assert "Школа № A" in schools
    assert "Школа № B" in schools
    assert "Школа № C" not in schools


# --- Pages -----------------------------------------------------------------------


def test_summary_page_lists_own_schools(world, login):
    client = login(world.users["authority"])
    response = client.get(f"/authority/summary?year={YEAR}&term=1")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Школа № A" in page
    assert "Школа № B" in page
    assert "Школа № C" not in page


def test_summary_page_shows_rates(marks, login):
    client = login(marks["username"])
    page = client.get(f"/authority/summary?year={YEAR}&term=1").get_data(as_text=True)
    assert "Школа № R1" in page
    assert "4,00" in page
    assert "33,3 %" in page
    assert "66,7 %" in page


def test_summary_page_ignores_other_authority_param(world, login):
    client = login(world.users["authority"])
    second = world.authority_ids["second"]
    page = client.get(f"/authority/summary?authority={second}").get_data(as_text=True)
    assert "Школа № C" not in page


def test_summary_page_invalid_term_is_reported(world, login):
    client = login(world.users["authority"])
    response = client.get("/authority/summary?term=9")
    assert response.status_code == 200
    assert "9" in response.get_data(as_text=True)


def test_summary_xlsx_download(world, login):
    client = login(world.users["authority"])
    response = client.get(f"/authority/summary.xlsx?year={YEAR}&term=1")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert disposition.rstrip('"').endswith(".xlsx")
    assert "2026-2027" in disposition

    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    values = [cell.value for row in sheet.iter_rows() for cell in row]
    assert "Школа № A" in values
    assert "Школа № B" in values
    assert "Школа № C" not in values
    assert sheet.freeze_panes == "A4"
    assert sheet.auto_filter.ref is not None


def test_summary_xlsx_numbers_are_numbers(marks, login):
    client = login(marks["username"])
    response = client.get(f"/authority/summary.xlsx?year={YEAR}&term=1")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = {(row[0].value, row[1].value): row for row in sheet.iter_rows(min_row=4)}
    grade_five = rows[("Школа № R1", 5)]
    assert grade_five[2].value == 3
    assert grade_five[5].value == pytest.approx(4.0)
    assert grade_five[5].number_format == "0.00"
    assert grade_five[6].value == pytest.approx(1 / 3)
    assert grade_five[6].number_format == "0.0%"
    assert grade_five[7].value == pytest.approx(2 / 3)
    assert "2026/2027" in sheet["A2"].value


def test_server_admin_picks_authority(world, login):
    client = login(world.users["server_admin"])
    second = world.authority_ids["second"]
    page = client.get(f"/authority/summary?authority={second}&year={YEAR}&term=1").get_data(
        as_text=True
    )
    assert "Школа № C" in page
    assert "Школа № A" not in page


def test_school_roles_have_no_summary(world, login):
    for code in ("principal", "school_admin", "teacher"):
        client = login(world["A"].users[code])
        assert client.get("/authority/summary").status_code == 403, code
        assert client.get("/authority/summary.xlsx").status_code == 403, code


# --- School cards ------------------------------------------------------------------


def test_school_cards_list_own_schools(world, login):
    client = login(world.users["authority"])
    response = client.get("/school-cards/list/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Школа № A" in page
    assert "Школа № B" in page
    assert "Школа № C" not in page


def test_school_card_of_other_authority_is_404(world, login):
    client = login(world.users["authority"])
    assert client.get(f"/school-cards/show/{world['A'].school_id}").status_code == 200
    assert client.get(f"/school-cards/show/{world['C'].school_id}").status_code == 404


def test_school_cards_are_read_only(world, login):
    client = login(world.users["authority"])
    school_id = world["A"].school_id
    assert client.get("/school-cards/add").status_code in (403, 404)
    assert client.post(f"/school-cards/edit/{school_id}", data={"name": "X"}).status_code in (
        403,
        404,
    )
    assert client.post(f"/school-cards/delete/{school_id}").status_code in (403, 404)


def test_default_term_is_latest_finished_quarter(app, marks):
    from app.reports.authority import default_term_number

    with app.app_context():
        authority_id = marks["authority_id"]
        # Before any quarter ends, the running one; afterwards the last one finished.
        assert default_term_number(authority_id, YEAR, dt.date(2026, 8, 20)) == 1
        assert default_term_number(authority_id, YEAR, dt.date(2026, 10, 1)) == 1
        assert default_term_number(authority_id, YEAR, dt.date(2026, 11, 3)) == 1
        assert default_term_number(authority_id, YEAR, dt.date(2027, 1, 20)) == 2
        assert default_term_number(authority_id, YEAR, dt.date(2027, 4, 1)) == 3
        assert default_term_number(authority_id, None, dt.date(2027, 4, 1)) == 1


# --- Totals per school and their chart -----------------------------------------------------

#: Each school's totals of the first quarter, by hand from the marks fixture: R1 has grade 5
#: (3 students, 2 passing, 1 with quality) and grade 10 (1 student with a 4); R2 one student
#: with a 5. As (students, passing, with quality, quality rate, pass rate).
SCHOOL_TOTALS = {
    "Школа № R1": (4, 3, 2, 0.5, 0.75),
    "Школа № R2": (1, 1, 1, 1.0, 1.0),
}


def test_school_totals_add_up_grades(app, marks):
    with app.app_context():
        frame = authority_summary(marks["authority_id"], TermPeriod(YEAR, 1), COLUMNS)
    totals = school_totals(frame, COLUMNS)
    assert list(totals["school"]) == ["Школа № R1", "Школа № R2"]
    for row in totals.to_dict("records"):
        expected = SCHOOL_TOTALS[row["school"]]
        counts = (row["students"], row["passed"], row["quality_students"])
        assert counts == expected[:3], row["school"]
        assert row["quality_rate"] == pytest.approx(expected[3]), row["school"]
        assert row["pass_rate"] == pytest.approx(expected[4]), row["school"]


def test_summary_page_chart_shows_school_rates(marks, login):
    client = login(marks["username"])
    page = client.get(f"/authority/summary?year={YEAR}&term=1").get_data(as_text=True)
    found = re.findall(
        r'<script type="application/json" class="report-chart-data">(.*?)</script>', page
    )
    assert len(found) == 1
    chart = json.loads(found[0])
    assert chart["title"] == "Качество знаний и успеваемость по школам"
    assert chart["labels"] == ["Школа № R1", "Школа № R2"]
    quality, passing = chart["series"]
    assert quality["label"] == "Качество знаний"
    assert passing["label"] == "Успеваемость"
    assert quality["values"] == [SCHOOL_TOTALS[name][3] * 100 for name in chart["labels"]]
    assert passing["values"] == [SCHOOL_TOTALS[name][4] * 100 for name in chart["labels"]]
    assert 'report_charts.js" nonce="' in page


def test_summary_xlsx_has_school_totals_chart(marks, login):
    client = login(marks["username"])
    response = client.get(f"/authority/summary.xlsx?year={YEAR}&term=1")
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["Сводка по школам", "По школам"]
    assert workbook["Сводка по школам"]._charts == []
    sheet = workbook["По школам"]
    assert [cell.value for cell in sheet[3]] == [
        "Школа",
        "Учащихся с отметками за период",
        "Успевающих",
        "Учатся на «4» и «5»",
        "Средний балл",
        "Качество знаний",
        "Успеваемость",
        "Степень обученности (СОУ)",
        "Пропущено уроков на учащегося",
    ]
    rows = {row[0]: row[1:] for row in sheet.iter_rows(min_row=4, values_only=True)}
    assert set(rows) == set(SCHOOL_TOTALS)
    for school, expected in SCHOOL_TOTALS.items():
        assert rows[school][:3] == expected[:3], school
        assert rows[school][4] == pytest.approx(expected[3]), school
        assert rows[school][5] == pytest.approx(expected[4]), school
    assert sheet["F4"].number_format == "0.0%"

    (chart,) = sheet._charts
    refs = [(s.tx.strRef.f, s.cat.strRef.f, s.val.numRef.f) for s in chart.series]
    name = "'По школам'!"
    assert refs == [
        (f"{name}$F$3", f"{name}$A$4:$A$5", f"{name}$F$4:$F$5"),
        (f"{name}$G$3", f"{name}$A$4:$A$5", f"{name}$G$4:$G$5"),
    ]
