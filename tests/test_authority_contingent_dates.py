"""Contingent of schools at a chosen date and its repeaters, counted by hand."""

import datetime as dt
import io

import openpyxl
import pytest

from app.models import AcademicYear, EducationAuthority, Enrollment, SchoolClass, Student, db
from app.reports.authority_contingent import ContingentColumns, contingent_students
from tests.factories import add_membership, build_school_under, make_user
from tests.report_charts import queue_and_run, workbook_values

YEAR = "2026/2027"
PAST_YEAR = "2025/2026"
SCHOOL = "Школа № rep1"


def _class(school, year_id, grade, name):
    school_class = SchoolClass(
        school_id=school.school_id, year_id=year_id, grade=grade, letter="Р", name=name
    )
    db.session.add(school_class)
    db.session.flush()
    return school_class.id


def _student(school, class_id, first_name, active=True):
    student = Student(
        school_id=school.school_id,
        class_id=class_id,
        last_name="Датов",
        first_name=first_name,
        sex="f",
        is_active=active,
    )
    db.session.add(student)
    db.session.flush()
    return student.id


def _stay(school, student_id, class_id, start, end=None, end_kind=None, start_kind="admission"):
    db.session.add(
        Enrollment(
            school_id=school.school_id,
            student_id=student_id,
            class_id=class_id,
            start_date=start,
            end_date=end,
            end_kind=end_kind,
            end_order_number="9-у" if end_kind else None,
            start_kind=start_kind,
            start_order_number="1-у",
        )
    )


@pytest.fixture(scope="module")
def dated(app, world):
    """School rep1 of a fresh authority.

    2025/2026: the factory's first student was in 5П (so a repeater in grade 5 now), its
    second student in 4П (moved up, not a repeater).
    2026/2027, besides the factory's three students of grade 5 from 1 September:

    - Ушедшая: grade 5 from 1 September, departed 1 December 2026;
    - Переведённая: grade 5 from 1 September, transferred to grade 6 on 1 November;
    - Новенькая: admitted to grade 5 on 1 February 2027.
    """
    with app.app_context():
        authority = EducationAuthority(name="Управление для контингента по дате", short_name="УО-Р")
        db.session.add(authority)
        db.session.commit()
        school = build_school_under("rep1", authority.id)
        class_5 = school.ids["SchoolClass"]
        class_6 = _class(school, school.ids["AcademicYear"], 6, "6Р")

        past = AcademicYear(
            school_id=school.school_id,
            name=PAST_YEAR,
            start_date=dt.date(2025, 9, 1),
            end_date=dt.date(2026, 5, 31),
        )
        db.session.add(past)
        db.session.flush()
        past_5 = _class(school, past.id, 5, "5П")
        past_4 = _class(school, past.id, 4, "4П")
        past_end = dt.date(2026, 6, 1)
        _stay(school, school.ids["Student"], past_5, dt.date(2025, 9, 1), past_end, "transfer")
        _stay(
            school, school.ids["SiblingStudent"], past_4, dt.date(2025, 9, 1), past_end, "transfer"
        )

        departed_id = _student(school, class_5, "Ушедшая", active=False)
        _stay(school, departed_id, class_5, dt.date(2026, 9, 1), dt.date(2026, 12, 1), "departure")
        moved = _student(school, class_6, "Переведённая")
        _stay(school, moved, class_5, dt.date(2026, 9, 1), dt.date(2026, 11, 1), "transfer")
        _stay(school, moved, class_6, dt.date(2026, 11, 1), start_kind="transfer")
        new = _student(school, class_5, "Новенькая")
        _stay(school, new, class_5, dt.date(2027, 2, 1))

        reader = make_user("rep_contingent_reader")
        add_membership(reader, "authority", authority=authority)
        db.session.commit()
        return {"authority_id": authority.id, "username": reader.username}


def _counts(app, dated, year=YEAR, on_day=None) -> dict:
    with app.app_context():
        columns = ContingentColumns.translated()
        frame = contingent_students(dated["authority_id"], year, columns, on_day)
    return {
        (row[columns.school], row[columns.grade]): (row[columns.students], row[columns.repeaters])
        for row in frame.to_dict("records")
    }


def test_current_classes_and_repeaters(app, dated):
    rows = _counts(app, dated)
    # Grade 5: the factory's three and Новенькая; the factory's first student repeats it.
    assert rows[(SCHOOL, 5)] == (4, 1)
    assert rows[(SCHOOL, 6)] == (1, 0)
    assert rows[("Все школы", "Итого")] == (5, 1)


def test_classes_on_a_date(app, dated):
    rows = _counts(app, dated, on_day=dt.date(2026, 10, 15))
    # Ушедшая and Переведённая are still in grade 5; Новенькая has not come yet.
    assert rows[(SCHOOL, 5)] == (5, 1)
    assert (SCHOOL, 6) not in rows


def test_classes_on_transfer_day(app, dated):
    rows = _counts(app, dated, on_day=dt.date(2026, 11, 1))
    # A stay covers its first day and not its last: the transfer day counts in grade 6.
    assert rows[(SCHOOL, 5)] == (4, 1)
    assert rows[(SCHOOL, 6)] == (1, 0)


def test_past_year_on_a_date(app, dated):
    rows = _counts(app, dated, year=PAST_YEAR, on_day=dt.date(2025, 10, 15))
    # No school year before 2025/2026, so no student is a repeater.
    assert rows == {
        (SCHOOL, 4): (1, 0),
        (SCHOOL, 5): (1, 0),
        (SCHOOL, "Итого"): (2, 0),
        ("Все школы", "Итого"): (2, 0),
    }


def test_past_year_without_date_is_empty(app, dated):
    assert _counts(app, dated, year=PAST_YEAR) == {}


def test_date_page_and_file(app, dated, login):
    client = login(dated["username"])
    page = client.get(f"/authority/contingent?year={YEAR}&on=2026-10-15").get_data(as_text=True)
    assert 'value="2026-10-15"' in page
    assert "Второгодники" in page

    response = client.get(f"/authority/contingent.xlsx?year={YEAR}&on=2026-10-15")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data))["Учащиеся"]
    assert "15.10.2026" in sheet["A2"].value
    header = [cell.value for cell in sheet[3]]
    rows = {(row[0], row[1]): row for row in sheet.iter_rows(min_row=4, values_only=True)}
    assert rows[(SCHOOL, 5)][header.index("Учащиеся")] == 5
    assert rows[(SCHOOL, 5)][header.index("Второгодники")] == 1


def test_invalid_date_is_reported(dated, login):
    client = login(dated["username"])
    page = client.get(f"/authority/contingent?year={YEAR}&on=2026-13-45").get_data(as_text=True)
    assert "Дата 2026-13-45 недопустима" in page
    # The report falls back to the current classes.
    assert 'value=""' in page


def test_date_job_builds_same_file(app, dated, login):
    client = login(dated["username"])
    filters = {"year": YEAR, "on": "2026-10-15"}

    content = queue_and_run(app, client, "/authority/contingent/job", filters)

    direct = client.get(f"/authority/contingent.xlsx?year={YEAR}&on=2026-10-15").data
    assert workbook_values(content) == workbook_values(direct)


def test_other_authority_sees_no_dated_students(dated, world, login):
    client = login(world.users["authority"])
    own = dated["authority_id"]
    page = client.get(f"/authority/contingent?authority={own}&year={YEAR}&on=2026-10-15")
    assert SCHOOL not in page.get_data(as_text=True)
