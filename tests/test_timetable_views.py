"""Timetable views of a student and of a day, the printable layout and the XLSX export."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.models import Course, Lesson, StudyGroup, Subject, db
from app.reports.xlsx import XLSX_MIMETYPE
from tests.factories import WEEK_START, build_extra_school


@pytest.fixture(scope="module")
def school(app, world):
    """A school whose class 5А has an English group lesson the test student is not in."""
    with app.app_context():
        built = build_extra_school("chg3")
        group = db.session.get(StudyGroup, built.ids["StudyGroup"])
        other_group = StudyGroup(
            school_id=built.school_id,
            year_id=group.year_id,
            name="5А англ. 2",
            class_id=group.class_id,
        )
        english = Subject(school_id=built.school_id, name="Английский язык")
        db.session.add_all([other_group, english])
        db.session.flush()
        for name, study_group, number in (("own", group, 3), ("other", other_group, 4)):
            course = Course(
                school_id=built.school_id,
                year_id=group.year_id,
                subject_id=english.id,
                class_id=group.class_id,
                group_id=study_group.id,
            )
            db.session.add(course)
            db.session.flush()
            lesson = Lesson(
                school_id=built.school_id,
                course_id=course.id,
                date=WEEK_START,
                lesson_number=number,
                topic=f"Тема группы {name}",
            )
            db.session.add(lesson)
        db.session.commit()
        return built


def _student_url(school, key="Student", **query):
    arguments = "&".join(f"{name}={value}" for name, value in query.items())
    return f"/timetable/student/{school.ids[key]}" + (f"?{arguments}" if arguments else "")


def test_student_sees_own_group_lessons_only(school, login):
    page = login(school.users["student"]).get(_student_url(school, week=WEEK_START.isoformat()))
    assert page.status_code == 200
    assert "5А англ. 1" in page.text
    assert "5А англ. 2" not in page.text
    assert "Математика" in page.text


def test_student_cannot_open_classmate(school, login):
    client = login(school.users["student"])
    assert client.get(_student_url(school, "OtherStudent")).status_code == 404


def test_parent_opens_own_children_only(school, login):
    client = login(school.users["parent"])
    assert client.get(_student_url(school)).status_code == 200
    assert client.get(_student_url(school, "SiblingStudent")).status_code == 200
    assert client.get(_student_url(school, "OtherStudent")).status_code == 404


def test_parent_gets_404_for_other_school_student(world, school, login):
    client = login(school.users["parent"])
    other = world["B"].ids["Student"]
    assert client.get(f"/timetable/student/{other}").status_code == 404


def test_teacher_opens_student_timetable(school, login):
    client = login(school.users["teacher"])
    assert client.get(_student_url(school, "OtherStudent")).status_code == 200


def test_day_mode_shows_one_day(school, login):
    client = login(school.users["principal"])
    url = f"/timetable/class/{school.ids['SchoolClass']}?day={WEEK_START.isoformat()}"
    page = client.get(url)
    assert page.status_code == 200
    assert "Понедельник" in page.text
    assert "Вторник" not in page.text
    assert "Математика" in page.text
    next_day = client.get(
        f"/timetable/class/{school.ids['SchoolClass']}"
        f"?day={(WEEK_START + dt.timedelta(days=1)).isoformat()}"
    )
    assert "Математика" not in next_day.text


def test_invalid_day_is_reported(school, login):
    page = login(school.users["principal"]).get(
        f"/timetable/class/{school.ids['SchoolClass']}?day=понедельник"
    )
    assert page.status_code == 200
    assert "понедельник" in page.text


def test_print_layout_has_no_menu(school, login):
    page = login(school.users["student"]).get(
        _student_url(school, week=WEEK_START.isoformat(), print="1")
    )
    assert page.status_code == 200
    assert "@media print" in page.text
    assert "navbar" not in page.text
    assert "Математика" in page.text


@pytest.mark.parametrize("kind", ["class", "teacher", "room", "student"])
def test_xlsx_export_of_every_view(app, school, login, kind):
    with app.app_context():
        teacher_id = db.session.scalar(
            select(Course.teachers.property.secondary.c.employee_id).where(
                Course.teachers.property.secondary.c.course_id == school.ids["Course"]
            )
        )
    ids = {
        "class": school.ids["SchoolClass"],
        "teacher": teacher_id,
        "room": school.ids["Room"],
        "student": school.ids["Student"],
    }
    response = login(school.users["principal"]).get(
        f"/timetable/{kind}/{ids[kind]}?week={WEEK_START.isoformat()}&format=xlsx"
    )
    assert response.status_code == 200
    assert response.mimetype == XLSX_MIMETYPE
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).active
    cells = [value for row in sheet.iter_rows(values_only=True) for value in row if value]
    assert any("Математика" in str(value) for value in cells)
    assert any("Понедельник 05.10" == str(value) for value in cells)


def test_xlsx_of_template_and_day(school, login):
    client = login(school.users["principal"])
    base = f"/timetable/class/{school.ids['SchoolClass']}"
    template = client.get(f"{base}?format=xlsx")
    assert template.mimetype == XLSX_MIMETYPE
    day = client.get(f"{base}?day={WEEK_START.isoformat()}&format=xlsx")
    sheet = load_workbook(io.BytesIO(day.data), read_only=True).active
    header = [value for value in next(sheet.iter_rows(min_row=3, max_row=3, values_only=True))]
    assert header[2:] == ["Понедельник 05.10"]
