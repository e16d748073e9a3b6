"""Contingent of schools: students by grade, sex and age, shift, home schooling, and staff."""

import datetime as dt
import io
from collections import Counter
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import select

from app.models import (
    Course,
    EducationAuthority,
    Employee,
    HealthRecord,
    SchoolClass,
    Student,
    Subject,
    db,
)
from app.reports.authority_contingent import (
    AGES,
    ContingentColumns,
    StaffColumns,
    contingent_staff,
    contingent_students,
)
from tests.factories import add_membership, build_school_under, make_user
from tests.report_charts import (
    chart_values,
    page_chart,
    queue_and_run,
    sheet_chart_refs,
    workbook_values,
)

YEAR = "2026/2027"
COLUMNS = ContingentColumns.translated
SCHOOL = "Школа № N1"


def _student(school, class_id, first_name, sex, birth_date, active=True):
    student = Student(
        school_id=school.school_id,
        class_id=class_id,
        last_name="Контингентов",
        first_name=first_name,
        sex=sex,
        birth_date=birth_date,
        is_active=active,
    )
    db.session.add(student)
    db.session.flush()
    return student.id


def _senior_class(school):
    """Add a grade 10 class in the second shift with a home-schooling course."""
    school_class = SchoolClass(
        school_id=school.school_id,
        year_id=school.ids["AcademicYear"],
        grade=10,
        letter="Д",
        name="10Д",
        shift=2,
    )
    subject = Subject(school_id=school.school_id, name="Надомное обучение")
    db.session.add_all([school_class, subject])
    db.session.flush()
    db.session.add(
        Course(
            school_id=school.school_id,
            year_id=school.ids["AcademicYear"],
            subject_id=subject.id,
            class_id=school_class.id,
            kind="home",
            hours_per_week=Decimal(1),
        )
    )
    return school_class.id


@pytest.fixture(scope="module")
def contingent(app, world):
    """Authority with school N1; ages on 1 January 2027.

    Grade 5:

    - s1, a boy born 10.03.2016: 10;
    - s2, a girl born 01.01.2016: 11, with her birthday on the day;
    - s3, a boy born 01.06.2019: 7;
    - a girl born 02.02.2020: younger than 7;
    - a boy with no birth date;
    - a student who left: not counted.

    Grade 10, second shift, with a home-schooling course: a girl born 05.05.2009 (17) and
    a boy born 15.01.2008 (18, older). The factory records ОВЗ for s1, and the girl of
    grade 10 has a disability.
    """
    with app.app_context():
        authority = EducationAuthority(name="Управление для контингента", short_name="УО-К")
        db.session.add(authority)
        db.session.commit()
        school = build_school_under("N1", authority.id)

        births = [
            ("Student", "m", dt.date(2016, 3, 10)),
            ("SiblingStudent", "f", dt.date(2016, 1, 1)),
            ("OtherStudent", "m", dt.date(2019, 6, 1)),
        ]
        for key, sex, birth_date in births:
            student = db.session.get(Student, school.ids[key])
            student.sex, student.birth_date = sex, birth_date
        class_5 = school.ids["SchoolClass"]
        _student(school, class_5, "Младшая", "f", dt.date(2020, 2, 2))
        _student(school, class_5, "Бездатный", "m", None)
        _student(school, class_5, "Выбывший", "m", dt.date(2016, 5, 5), active=False)
        class_10 = _senior_class(school)
        senior = _student(school, class_10, "Старшая", "f", dt.date(2009, 5, 5))
        db.session.add(
            HealthRecord(school_id=school.school_id, student_id=senior, has_disability=True)
        )
        _student(school, class_10, "Взрослый", "m", dt.date(2008, 1, 15))

        reader = make_user("contingent_reader")
        add_membership(reader, "authority", authority=authority)
        db.session.commit()
        return {
            "authority_id": authority.id,
            "school_id": school.school_id,
            "username": reader.username,
        }


def _rows(app, contingent):
    with app.app_context():
        columns = COLUMNS()
        frame = contingent_students(contingent["authority_id"], YEAR, columns)
        rows = {(row[columns.school], row[columns.grade]): row for row in frame.to_dict("records")}
    return columns, rows


def _ages(columns, row) -> dict:
    return {age: row[label] for age, label in zip(AGES, columns.ages, strict=True) if row[label]}


def test_contingent_grade_five(app, contingent):
    columns, rows = _rows(app, contingent)
    row = rows[(SCHOOL, 5)]
    assert row[columns.students] == 5
    assert row[columns.boys] == 3
    assert row[columns.girls] == 2
    assert _ages(columns, row) == {7: 1, 10: 1, 11: 1}
    assert row[columns.younger] == 1
    assert row[columns.older] == 0
    assert row[columns.no_birth_date] == 1
    assert row[columns.second_shift] == 0
    assert row[columns.home_schooling] == 0
    assert row[columns.special_needs] == 1
    assert row[columns.disability] == 0


def test_contingent_grade_ten(app, contingent):
    columns, rows = _rows(app, contingent)
    row = rows[(SCHOOL, 10)]
    assert row[columns.students] == 2
    assert _ages(columns, row) == {17: 1}
    assert row[columns.older] == 1
    assert row[columns.second_shift] == 2
    assert row[columns.home_schooling] == 2
    assert row[columns.special_needs] == 0
    assert row[columns.disability] == 1


def test_contingent_totals(app, contingent):
    columns, rows = _rows(app, contingent)
    assert list(rows) == [(SCHOOL, 5), (SCHOOL, 10), (SCHOOL, "Итого"), ("Все школы", "Итого")]
    total = rows[("Все школы", "Итого")]
    assert total[columns.students] == 7
    assert total[columns.boys] == 4
    assert total[columns.second_shift] == 2
    assert total[columns.special_needs] == 1
    assert total[columns.disability] == 1
    assert _ages(columns, total) == {7: 1, 10: 1, 11: 1, 17: 1}


def test_contingent_staff_by_position(app, contingent):
    with app.app_context():
        columns = StaffColumns.translated()
        frame = contingent_staff(contingent["authority_id"], columns)
        employees = db.session.scalars(
            select(Employee).where(
                Employee.school_id == contingent["school_id"], Employee.is_active.is_(True)
            )
        ).all()
        expected = Counter(
            (employee.position or "").strip() or "Должность не указана" for employee in employees
        )
    counted = {row[columns.position]: row[columns.employees] for row in frame.to_dict("records")}
    assert counted == dict(expected)
    assert set(frame[columns.school]) == {SCHOOL}


def test_contingent_leaves_out_other_authority(app, contingent, world):
    with app.app_context():
        columns = COLUMNS()
        frame = contingent_students(world.authority_ids["first"], YEAR, columns)
    assert SCHOOL not in set(frame[columns.school])


def test_contingent_page_and_file(contingent, login):
    client = login(contingent["username"])
    page = client.get(f"/authority/contingent?year={YEAR}").get_data(as_text=True)
    assert "Контингент школ" in page
    assert 'data-testid="contingent-table"' in page
    assert 'data-testid="staff-table"' in page

    response = client.get(f"/authority/contingent.xlsx?year={YEAR}")
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["Учащиеся", "Сотрудники", "По параллелям"]
    sheet = workbook["Учащиеся"]
    header = [cell.value for cell in sheet[3]]
    assert header[:5] == ["Школа", "Параллель", "Учащиеся", "Мальчиков", "Девочек"]
    assert "10 лет" in header
    rows = {(row[0], row[1]): row for row in sheet.iter_rows(min_row=4, values_only=True)}
    assert rows[(SCHOOL, 5)][2] == 5


def test_school_roles_have_no_contingent(world, login):
    client = login(world["A"].users["principal"])
    assert client.get("/authority/contingent").status_code == 403


# --- Chart and background job -------------------------------------------------------------


def test_contingent_page_chart_by_grade(contingent, login):
    client = login(contingent["username"])
    page = client.get(f"/authority/contingent?year={YEAR}").get_data(as_text=True)

    chart = page_chart(page)

    # Grade 5: three boys and two girls; grade 10: one of each. The student who left is out.
    assert chart["labels"] == ["5", "10"]
    assert chart_values(chart) == {"Мальчиков": [3.0, 1.0], "Девочек": [2.0, 1.0]}
    assert 'data-testid="contingent-job"' in page


def test_contingent_xlsx_chart_by_grade(contingent, login):
    client = login(contingent["username"])
    content = client.get(f"/authority/contingent.xlsx?year={YEAR}").data
    sheet = openpyxl.load_workbook(io.BytesIO(content))["По параллелям"]

    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert rows == [
        ("Параллель", "Учащиеся", "Мальчиков", "Девочек"),
        (5, 5, 3, 2),
        (10, 2, 1, 1),
    ]
    ref = "'По параллелям'!"
    assert sheet_chart_refs(sheet) == [
        (f"{ref}$C$3", f"{ref}$A$4:$A$5", f"{ref}$C$4:$C$5"),
        (f"{ref}$D$3", f"{ref}$A$4:$A$5", f"{ref}$D$4:$D$5"),
    ]


def test_contingent_job_builds_same_file(app, contingent, login):
    client = login(contingent["username"])

    content = queue_and_run(app, client, "/authority/contingent/job", {"year": YEAR})

    direct = client.get(f"/authority/contingent.xlsx?year={YEAR}").data
    assert workbook_values(content) == workbook_values(direct)
