"""ВПР against term marks: comparisons by hand, the term compared with, scoping, page and XLSX."""

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import select

from app.models import (
    Assignment,
    AssignmentType,
    Course,
    EducationAuthority,
    FinalMark,
    Lesson,
    Mark,
    SchoolClass,
    Student,
    Subject,
    Term,
    db,
)
from app.reports.authority_vpr import VprColumns, authority_vpr
from tests.factories import add_membership, build_school_under, make_user
from tests.report_charts import (
    chart_values,
    page_chart,
    queue_and_run,
    sheet_chart_refs,
    workbook_values,
)

YEAR = "2026/2027"

COLUMNS = VprColumns(*VprColumns.__dataclass_fields__)


class VprBuilder:
    """Lessons with ВПР and other assignments, marks and term marks of one school."""

    def __init__(self, school):
        self.school = school
        self.sid = school.school_id
        self.vpr = self._type("Всероссийская проверочная работа", "ВПР")
        self.test = self._type("Самостоятельная работа", "СР")

    def _add(self, item):
        db.session.add(item)
        db.session.flush()
        return item

    def _type(self, name, short_name):
        return self._add(
            AssignmentType(
                school_id=self.sid, name=name, short_name=short_name, default_weight=Decimal(2)
            )
        )

    def term_id(self, kind, number):
        statement = select(Term.id).where(
            Term.school_id == self.sid, Term.kind == kind, Term.number == number
        )
        return db.session.scalars(statement).one()

    def student(self, class_id, first_name):
        student = Student(
            school_id=self.sid, class_id=class_id, last_name="Проверкин", first_name=first_name
        )
        student.sex = "f"
        return self._add(student).id

    def work(self, course_id, day, assignment_type, marks):
        """Add a lesson on the day with one assignment and the students' marks."""
        lesson = self._add(
            Lesson(school_id=self.sid, course_id=course_id, date=day, lesson_number=3)
        )
        assignment = self._add(
            Assignment(
                school_id=self.sid, lesson_id=lesson.id, type_id=assignment_type.id, weight=2
            )
        )
        for student_id, value in marks.items():
            db.session.add(
                Mark(
                    school_id=self.sid,
                    assignment_id=assignment.id,
                    student_id=student_id,
                    kind="number",
                    value=value,
                )
            )

    def term_mark(self, student_id, course_id, term_id, value):
        db.session.add(
            FinalMark(
                school_id=self.sid,
                student_id=student_id,
                course_id=course_id,
                kind="term",
                term_id=term_id,
                value=value,
            )
        )

    def grade_ten_course(self):
        school_class = self._add(
            SchoolClass(
                school_id=self.sid,
                year_id=self.school.ids["AcademicYear"],
                grade=10,
                letter="В",
                name="10В",
            )
        )
        subject = self._add(Subject(school_id=self.sid, name="Физика"))
        course = self._add(
            Course(
                school_id=self.sid,
                year_id=self.school.ids["AcademicYear"],
                subject_id=subject.id,
                class_id=school_class.id,
                hours_per_week=Decimal(2),
            )
        )
        return school_class.id, course.id


@pytest.fixture(scope="module")
def vpr(app, world):
    """Authority with schools V1 (ВПР written) and V2 (none).

    V1, grade 5 maths, ВПР on 10 April 2027, compared with the third quarter:

    - s1: term 4, ВПР 3, lowered;
    - s2: term 3, ВПР 3, confirmed;
    - s3: term 3, ВПР 4, raised;
    - s4: term «н/а», ВПР 2, left out.

    Left out as well: a test (not ВПР) with a 2 for s2 on the same day, and a ВПР of
    1 October, before any term ended. Grade 10 physics, half-years: ВПР 4 on 10 April
    against the first half-year's 5 → lowered.
    """
    with app.app_context():
        authority = EducationAuthority(name="Управление для ВПР", short_name="УО-В")
        db.session.add(authority)
        db.session.commit()
        school = build_school_under("V1", authority.id)
        build_school_under("V2", authority.id)

        build = VprBuilder(school)
        maths = school.ids["Course"]
        class_5 = school.ids["SchoolClass"]
        s1, s2, s3 = school.ids["Student"], school.ids["SiblingStudent"], school.ids["OtherStudent"]
        s4 = build.student(class_5, "Четвёртая")
        q3 = build.term_id("quarter", 3)
        for student_id, value in ((s1, "4"), (s2, "3"), (s3, "3"), (s4, "н/а")):
            build.term_mark(student_id, maths, q3, value)
        april = dt.date(2027, 4, 10)
        build.work(maths, april, build.vpr, {s1: 3, s2: 3, s3: 4, s4: 2})
        build.work(maths, april, build.test, {s2: 2})
        build.work(maths, dt.date(2026, 10, 1), build.vpr, {s1: 2})

        class_10, physics = build.grade_ten_course()
        senior = build.student(class_10, "Старшая")
        build.term_mark(senior, physics, build.term_id("half_year", 1), "5")
        build.work(physics, april, build.vpr, {senior: 4})

        reader = make_user("vpr_reader")
        add_membership(reader, "authority", authority=authority)
        db.session.commit()
        return {"authority_id": authority.id, "username": reader.username}


def _rows(app, vpr, year=YEAR):
    with app.app_context():
        frame = authority_vpr(vpr["authority_id"], year, COLUMNS)
    return {(row["school"], row["grade"], row["subject"]): row for row in frame.to_dict("records")}


def test_vpr_grade_five_by_hand(app, vpr):
    row = _rows(app, vpr)[("Школа № V1", 5, "Математика")]
    assert row["works"] == 3
    assert row["lowered"] == 1
    assert row["confirmed"] == 1
    assert row["raised"] == 1
    assert row["confirmed_rate"] == pytest.approx(1 / 3)


def test_vpr_half_year_compares_first_half(app, vpr):
    row = _rows(app, vpr)[("Школа № V1", 10, "Физика")]
    assert row["works"] == 1
    assert row["lowered"] == 1
    assert row["lowered_rate"] == pytest.approx(1.0)


def test_vpr_total_and_schools(app, vpr):
    rows = _rows(app, vpr)
    assert list(rows) == [
        ("Школа № V1", 5, "Математика"),
        ("Школа № V1", 10, "Физика"),
        ("Все школы", "Итого", ""),
    ]
    total = rows[("Все школы", "Итого", "")]
    assert (total["works"], total["lowered"], total["confirmed"], total["raised"]) == (4, 2, 1, 1)
    assert total["raised_rate"] == pytest.approx(1 / 4)


def test_vpr_other_year_is_empty(app, vpr):
    assert _rows(app, vpr, year="2025/2026") == {}


def test_vpr_leaves_out_other_authority(app, vpr, world):
    with app.app_context():
        frame = authority_vpr(world.authority_ids["first"], YEAR, COLUMNS)
    assert "Школа № V1" not in set(frame["school"])


def test_vpr_page_and_menu(vpr, login):
    client = login(vpr["username"])
    response = client.get(f"/authority/vpr?year={YEAR}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "ВПР и отметки за период" in page
    assert "Школа № V1" in page
    assert 'id="term"' not in page
    assert "/authority/vpr" in client.get("/authority/summary").get_data(as_text=True)


def test_vpr_xlsx_numbers(vpr, login):
    client = login(vpr["username"])
    response = client.get(f"/authority/vpr.xlsx?year={YEAR}")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    header = [cell.value for cell in sheet[3]]
    assert header[:4] == ["Школа", "Параллель", "Предмет", "Сравнено работ"]
    rows = {(row[0].value, row[2].value): row for row in sheet.iter_rows(min_row=4)}
    maths = rows[("Школа № V1", "Математика")]
    assert [cell.value for cell in maths[3:7]] == [3, 1, 1, 1]
    assert maths[8].number_format == "0.0%"


def test_school_roles_have_no_vpr(world, login):
    client = login(world["A"].users["principal"])
    assert client.get("/authority/vpr").status_code == 403
    assert client.get("/authority/vpr.xlsx").status_code == 403


# --- Chart and background job -------------------------------------------------------------


def test_vpr_page_chart_sums_school_shares(vpr, login):
    client = login(vpr["username"])
    page = client.get(f"/authority/vpr?year={YEAR}").get_data(as_text=True)

    chart = page_chart(page)

    # V1 compared 4 works: 2 lowered (maths s1, physics), 1 confirmed, 1 raised.
    assert chart["labels"] == ["Школа № V1"]
    assert chart_values(chart) == {
        "Понизили, доля": [50.0],
        "Подтвердили, доля": [25.0],
        "Повысили, доля": [25.0],
    }
    assert 'data-testid="vpr-job"' in page


def test_vpr_xlsx_chart_refers_to_school_sums(vpr, login):
    client = login(vpr["username"])
    content = client.get(f"/authority/vpr.xlsx?year={YEAR}").data
    sheet = openpyxl.load_workbook(io.BytesIO(content))["По школам"]

    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert rows[1][:5] == ("Школа № V1", 4, 2, 1, 1)
    assert rows[1][5:] == pytest.approx((0.5, 0.25, 0.25))
    assert len(rows) == 2
    ref = "'По школам'!"
    assert sheet_chart_refs(sheet) == [
        # XlsxWriter writes a range of one cell as that cell.
        (f"{ref}${column}$3", f"{ref}$A$4", f"{ref}${column}$4")
        for column in ("F", "G", "H")
    ]


def test_vpr_job_builds_same_file(app, vpr, login):
    client = login(vpr["username"])

    content = queue_and_run(app, client, "/authority/vpr/job", {"year": YEAR})

    direct = client.get(f"/authority/vpr.xlsx?year={YEAR}").data
    assert workbook_values(content) == workbook_values(direct)
