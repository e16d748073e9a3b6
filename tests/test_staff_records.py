"""Staff personnel records: checks, who reads and edits them, and the staff list report."""

import datetime as dt
import io
import itertools
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.models import (
    Employee,
    StaffEducation,
    StaffPosition,
    StaffRecord,
    TrainingCourse,
    db,
)
from app.services import staff_records as staff
from tests.factories import build_extra_school

SCHOOL_KEYS = itertools.count(1)


@pytest.fixture()
def school(app):
    """A school of its own, because the tests change staff records."""
    with app.app_context():
        return build_extra_school(f"staff-{next(SCHOOL_KEYS)}")


def _employee_id(app, school, first_name: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(Employee.id).where(
                Employee.school_id == school.school_id, Employee.first_name == first_name
            )
        )


def _rows(app, model, employee_id):
    with app.app_context():
        rows = db.session.scalars(select(model).where(model.employee_id == employee_id))
        result = list(rows)
        for row in result:
            db.session.expunge(row)
        return result


# --- Experience and dates -------------------------------------------------------------------


def test_experience_grows_by_whole_months():
    grown = staff.experience_today(10, 3, dt.date(2026, 9, 1), dt.date(2027, 11, 30))

    assert (grown.years, grown.months) == (11, 5)


def test_experience_without_date_stays():
    grown = staff.experience_today(4, 11, None, dt.date(2030, 1, 1))

    assert (grown.years, grown.months) == (4, 11)


def test_add_months_keeps_month_end():
    assert staff.add_months(dt.date(2026, 8, 31), 6) == dt.date(2027, 2, 28)
    assert staff.add_months(dt.date(2026, 3, 15), -36) == dt.date(2023, 3, 15)


# --- Editing by the HR specialist ------------------------------------------------------------


def test_hr_adds_positions_with_rates(app, school, login):
    employee_id = _employee_id(app, school, "secretary")
    client = login(school.users["hr"])

    first = client.post(
        f"/staff-records/{employee_id}/positions",
        data={"title": "Секретарь", "rate": "1", "date_from": "01.09.2020"},
    )
    second = client.post(
        f"/staff-records/{employee_id}/positions",
        data={"title": "Педагог-организатор", "rate": "0,5", "date_from": "2024-09-01"},
    )

    assert first.status_code == 302
    assert second.status_code == 302
    rates = sorted(row.rate for row in _rows(app, StaffPosition, employee_id))
    assert rates == [Decimal("0.50"), Decimal("1.00")]
    page = client.get(f"/staff-records/{employee_id}").get_data(as_text=True)
    assert "Педагог-организатор" in page


def test_hr_saves_category_and_experience(app, school, login):
    employee_id = _employee_id(app, school, "secretary")
    client = login(school.users["hr"])

    response = client.post(
        f"/staff-records/{employee_id}/record",
        data={
            "category": "highest",
            "category_assigned_on": "20.12.2023",
            "category_valid_until": "20.12.2028",
            "total_experience_years": "15",
            "total_experience_months": "2",
            "teaching_experience_years": "12",
            "teaching_experience_months": "0",
            "experience_as_of": "01.09.2025",
        },
    )

    assert response.status_code == 302
    (record,) = _rows(app, StaffRecord, employee_id)
    assert record.category == "highest"
    assert record.category_valid_until == dt.date(2028, 12, 20)
    assert (record.total_experience_years, record.total_experience_months) == (15, 2)
    page = client.get(f"/staff-records/{employee_id}").get_data(as_text=True)
    assert "Высшая" in page


def test_hr_adds_education_and_course(app, school, login):
    employee_id = _employee_id(app, school, "secretary")
    client = login(school.users["hr"])

    education = client.post(
        f"/staff-records/{employee_id}/education",
        data={
            "level": "higher_bachelor",
            "institution": "РГПУ им. А. И. Герцена",
            "graduation_year": "2012",
            "speciality": "Педагогическое образование",
        },
    )
    course = client.post(
        f"/staff-records/{employee_id}/trainings",
        data={
            "name": "Делопроизводство в образовательной организации",
            "hours": "72",
            "date_from": "01.02.2021",
            "date_to": "20.02.2021",
            "document": "Удостоверение № 0042",
        },
    )

    assert education.status_code == 302
    assert course.status_code == 302
    assert [e.graduation_year for e in _rows(app, StaffEducation, employee_id)] == [2012]
    assert [c.hours for c in _rows(app, TrainingCourse, employee_id)] == [72]


def test_invalid_position_names_each_value(app, school, login):
    employee_id = _employee_id(app, school, "secretary")
    client = login(school.users["hr"])

    response = client.post(
        f"/staff-records/{employee_id}/positions",
        data={"title": "", "rate": "1,5,", "date_from": "01.09.2024", "date_to": "31.08.2024"},
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Ставка «1,5,»" in page
    assert "Укажите «Должность»" in page
    assert "31.08.2024" in page
    assert _rows(app, StaffPosition, employee_id) == []


def test_rejected_form_keeps_typed_values(app, school, login):
    employee_id = _employee_id(app, school, "secretary")
    client = login(school.users["hr"])

    response = client.post(
        f"/staff-records/{employee_id}/trainings",
        data={"name": "Охрана труда", "hours": "40", "date_from": "10.02.2021"},
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="Охрана труда"' in page
    assert 'value="10.02.2021"' in page


def test_record_form_shows_stored_values(app, world, login):
    teacher_id = _employee_id(app, world["A"], "teacher")
    client = login(world["A"].users["hr"])

    page = client.get(f"/staff-records/{teacher_id}").get_data(as_text=True)

    assert 'value="20.12.2027"' in page
    assert '<option value="first" selected>' in page


@pytest.mark.parametrize("rate", ["0", "-1", "2,5", "abc", "NaN"])
def test_rate_out_of_range_rejected(app, school, login, rate):
    employee_id = _employee_id(app, school, "secretary")
    client = login(school.users["hr"])

    response = client.post(
        f"/staff-records/{employee_id}/positions",
        data={"title": "Учитель", "rate": rate, "date_from": "01.09.2024"},
    )

    assert response.status_code == 400
    assert f"Ставка «{rate}»" in response.get_data(as_text=True)


def test_invalid_record_names_each_value(app, school, login):
    employee_id = _employee_id(app, school, "secretary")
    client = login(school.users["hr"])

    response = client.post(
        f"/staff-records/{employee_id}/record",
        data={
            "category": "first",
            "category_assigned_on": "20.12.2025",
            "category_valid_until": "20.12.2024",
            "total_experience_years": "5",
            "total_experience_months": "14",
            "teaching_experience_years": "-1",
            "experience_as_of": "1 сентября",
        },
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "20.12.2024" in page
    assert "«14»" in page
    assert "«-1»" in page
    assert "«1 сентября» — не дата" in page
    assert _rows(app, StaffRecord, employee_id) == []


def test_invalid_course_rejected(app, school, login):
    employee_id = _employee_id(app, school, "secretary")
    client = login(school.users["hr"])

    response = client.post(
        f"/staff-records/{employee_id}/trainings",
        data={"name": "Курс", "hours": "0", "date_from": "01.02.2021"},
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "«0»" in page
    assert "Укажите «Дата окончания»" in page
    assert _rows(app, TrainingCourse, employee_id) == []


def test_school_admin_edits_and_deletes(app, school, login):
    teacher_id = _employee_id(app, school, "teacher")
    (position,) = _rows(app, StaffPosition, teacher_id)
    client = login(school.users["school_admin"])

    response = client.post(f"/staff-records/position/{position.id}/delete")

    assert response.status_code == 302
    assert _rows(app, StaffPosition, teacher_id) == []


# --- Who reads --------------------------------------------------------------------------------


def test_principal_reads_but_cannot_change(app, world, login):
    school = world["A"]
    teacher_id = _employee_id(app, school, "teacher")
    client = login(school.users["principal"])

    assert client.get("/staff-records/").status_code == 200
    assert client.get(f"/staff-records/{teacher_id}").status_code == 200
    response = client.post(
        f"/staff-records/{teacher_id}/positions",
        data={"title": "Учитель", "rate": "1", "date_from": "01.09.2024"},
    )
    assert response.status_code == 403


def test_teacher_reads_own_record_only(app, world, login):
    school = world["A"]
    teacher_id = _employee_id(app, school, "teacher")
    other_id = _employee_id(app, school, "secretary")
    client = login(school.users["teacher"])

    own = client.get(f"/staff-records/{teacher_id}")
    listing = client.get("/staff-records/")

    assert own.status_code == 200
    assert "Учитель математики" in own.get_data(as_text=True)
    assert listing.status_code == 302
    assert listing.location.endswith(f"/staff-records/{teacher_id}")
    assert client.get(f"/staff-records/{other_id}").status_code == 404
    assert client.get("/staff-records/report.xlsx").status_code == 404


def test_teacher_cannot_change_own_record(app, world, login):
    school = world["A"]
    teacher_id = _employee_id(app, school, "teacher")
    (position,) = _rows(app, StaffPosition, teacher_id)
    client = login(school.users["teacher"])

    response = client.post(f"/staff-records/position/{position.id}/delete")

    assert response.status_code == 403
    assert len(_rows(app, StaffPosition, teacher_id)) == 1


@pytest.mark.parametrize(
    "role", ["secretary", "medical", "psychologist", "technical_staff", "student", "parent"]
)
def test_other_roles_see_no_records(app, world, login, role):
    school = world["A"]
    teacher_id = _employee_id(app, school, "teacher")
    client = login(school.users[role])

    assert client.get("/staff-records/").status_code == 403
    assert client.get(f"/staff-records/{teacher_id}").status_code == 403


def test_authority_sees_no_records(app, world, login):
    teacher_id = _employee_id(app, world["A"], "teacher")
    client = login(world.users["authority"])

    assert client.get(f"/staff-records/{teacher_id}").status_code == 403


def test_other_school_ids_not_found(app, world, login):
    other = world["B"]
    other_teacher = _employee_id(app, other, "teacher")
    (position,) = _rows(app, StaffPosition, other_teacher)
    (training,) = _rows(app, TrainingCourse, other_teacher)
    client = login(world["A"].users["hr"])

    assert client.get(f"/staff-records/{other_teacher}").status_code == 404
    response = client.post(
        f"/staff-records/{other_teacher}/positions",
        data={"title": "Учитель", "rate": "1", "date_from": "01.09.2024"},
    )
    assert response.status_code == 404
    assert client.post(f"/staff-records/position/{position.id}/delete").status_code == 404
    assert client.post(f"/staff-records/training/{training.id}/delete").status_code == 404
    assert len(_rows(app, StaffPosition, other_teacher)) == 1
    assert len(_rows(app, TrainingCourse, other_teacher)) == 1


# --- The staff list report --------------------------------------------------------------------


def _set_category_and_course(app, employee_id, valid_until, course_end):
    with app.app_context():
        record = db.session.scalar(
            select(StaffRecord).where(StaffRecord.employee_id == employee_id)
        )
        record.category_valid_until = valid_until
        course = db.session.scalar(
            select(TrainingCourse).where(TrainingCourse.employee_id == employee_id)
        )
        course.date_from = course_end - dt.timedelta(days=10)
        course.date_to = course_end
        db.session.commit()


def test_report_flags_expiring_category_and_old_course(app, school, login):
    teacher_id = _employee_id(app, school, "teacher")
    today = dt.date.today()
    _set_category_and_course(
        app, teacher_id, today + dt.timedelta(days=60), staff.add_months(today, -37)
    )
    client = login(school.users["hr"])

    response = client.get("/staff-records/report.xlsx?months=3")

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    header = [cell.value for cell in sheet[3]]
    rows = {
        row[0]: dict(zip(header, row, strict=True))
        for row in sheet.iter_rows(min_row=4, values_only=True)
    }
    teacher = rows["Сотрудник teacher"]
    assert teacher["Должности (ставка)"] == "Учитель математики (1)"
    assert teacher["Квалификационная категория"] == "Первая"
    assert "категория истекает" in teacher["Внимание"]
    assert "нет курсов за 3 года" in teacher["Внимание"]
    assert "нет курсов за 3 года" in rows["Сотрудник secretary"]["Внимание"]
    assert "Сотрудник hr" in rows


def test_report_leaves_fresh_records_unflagged(app, school, login):
    teacher_id = _employee_id(app, school, "teacher")
    today = dt.date.today()
    _set_category_and_course(
        app, teacher_id, staff.add_months(today, 24), today - dt.timedelta(days=30)
    )
    client = login(school.users["hr"])

    response = client.get("/staff-records/report.xlsx?months=6")

    sheet = load_workbook(io.BytesIO(response.data)).active
    header = [cell.value for cell in sheet[3]]
    rows = {
        row[0]: dict(zip(header, row, strict=True))
        for row in sheet.iter_rows(min_row=4, values_only=True)
    }
    assert rows["Сотрудник teacher"]["Внимание"] in (None, "")


def test_report_page_shows_no_other_school(app, world, login):
    client = login(world["A"].users["hr"])

    response = client.get("/staff-records/?months=abc")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "«abc»" in page
    assert f'/staff-records/{_employee_id(app, world["A"], "teacher")}"' in page
    assert f'/staff-records/{_employee_id(app, world["B"], "teacher")}"' not in page
