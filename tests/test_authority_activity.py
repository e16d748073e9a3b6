"""Journal keeping and parents' sign-ins per school: counts by hand, scoping, page and XLSX."""

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.models import Course, EducationAuthority, Guardian, Lesson, Subject, db
from app.reports.authority import TermPeriod
from app.reports.authority_activity import ActivityColumns, authority_activity
from tests.factories import add_membership, build_school_under, make_user
from tests.report_charts import (
    chart_values,
    page_chart,
    queue_and_run,
    sheet_chart_refs,
    workbook_values,
)

YEAR = "2026/2027"
#: The day the report is built for: inside the first quarter (1 September – 24 October).
TODAY = dt.date(2026, 10, 20)

COLUMNS = ActivityColumns(
    school="school",
    held="held",
    no_topic="no_topic",
    no_attendance="no_attendance",
    no_marks="no_marks",
    parents="parents",
    parents_signed_in="parents_signed_in",
    sign_in_rate="sign_in_rate",
)


def _lesson(school, course_id, day, topic=None, cancelled=False):
    db.session.add(
        Lesson(
            school_id=school.school_id,
            course_id=course_id,
            date=day,
            lesson_number=7,
            topic=topic,
            is_cancelled=cancelled,
        )
    )


def _course_without_marks(school):
    subject = Subject(school_id=school.school_id, name="ОРКСЭ")
    db.session.add(subject)
    db.session.flush()
    course = Course(
        school_id=school.school_id,
        year_id=school.ids["AcademicYear"],
        subject_id=subject.id,
        class_id=school.ids["SchoolClass"],
        assessment="none",
        hours_per_week=Decimal("1"),
    )
    db.session.add(course)
    db.session.flush()
    return course.id


def _parent_login(school, username, last_login, barred=False):
    """Give the school's student one more guardian with a login that last signed in then."""
    user = make_user(username)
    user.last_login = last_login
    db.session.add(
        Guardian(
            school_id=school.school_id,
            student_id=school.ids["Student"],
            user_id=user.id,
            last_name="Родителев",
            first_name="Пётр",
            kind="father",
            is_barred=barred,
        )
    )


@pytest.fixture(scope="module")
def activity(app, world):
    """A fresh authority with schools K1 and K2, counted by hand for the first quarter.

    K1: the factory's maths lesson of 5 October has a topic, an absence and a mark. Added:
    6 October without topic, 7 October with a topic only, and a lesson with a topic in a
    course without marks: 4 held, 3 of them take marks; 1 without topic, 3 without
    attendance, 2 of 3 without marks. Left out: a cancelled lesson, one on 10 November
    (second quarter) and one after today. Parents: the factory's parent (of two children,
    counted once) signed in on 15 September, a father never signed in, and a barred
    mother who signed in is left out: 2 parents, 1 signed in.
    K2: only the factory's lesson with no gaps, and its parent never signed in.
    """
    with app.app_context():
        authority = EducationAuthority(name="Управление для активности", short_name="УО-А")
        db.session.add(authority)
        db.session.commit()
        first = build_school_under("K1", authority.id)
        build_school_under("K2", authority.id)

        maths = first.ids["Course"]
        _lesson(first, maths, dt.date(2026, 10, 6))
        _lesson(first, maths, dt.date(2026, 10, 7), topic="Дроби")
        _lesson(first, _course_without_marks(first), dt.date(2026, 10, 8), topic="Введение")
        _lesson(first, maths, dt.date(2026, 10, 9), cancelled=True)
        _lesson(first, maths, dt.date(2026, 11, 10))
        _lesson(first, maths, dt.date(2026, 10, 21))

        factory_parent = db.session.scalars(
            select(Guardian.user_id).where(Guardian.school_id == first.school_id)
        ).first()
        db.session.get(User, factory_parent).last_login = dt.datetime(2026, 9, 15, 19, 30)
        _parent_login(first, "activity_father", None)
        _parent_login(first, "activity_barred", dt.datetime(2026, 10, 1, 8, 0), barred=True)

        reader = make_user("activity_reader")
        add_membership(reader, "authority", authority=authority)
        db.session.commit()
        return {"authority_id": authority.id, "username": reader.username}


def _rows(app, activity, number=1, today=TODAY):
    with app.app_context():
        frame = authority_activity(
            activity["authority_id"], TermPeriod(YEAR, number), today, COLUMNS
        )
    return {row["school"]: row for row in frame.to_dict("records")}


def test_activity_first_school_by_hand(app, activity):
    row = _rows(app, activity)["Школа № K1"]
    assert row["held"] == 4
    assert row["no_topic"] == pytest.approx(1 / 4)
    assert row["no_attendance"] == pytest.approx(3 / 4)
    assert row["no_marks"] == pytest.approx(2 / 3)
    assert row["parents"] == 2
    assert row["parents_signed_in"] == 1
    assert row["sign_in_rate"] == pytest.approx(1 / 2)


def test_activity_second_school_has_no_gaps(app, activity):
    row = _rows(app, activity)["Школа № K2"]
    assert row["held"] == 1
    assert row["no_topic"] == 0
    assert row["no_attendance"] == 0
    assert row["no_marks"] == 0
    assert row["parents"] == 1
    assert row["parents_signed_in"] == 0
    assert row["sign_in_rate"] == 0


def test_activity_total_adds_up_counts(app, activity):
    rows = _rows(app, activity)
    assert list(rows) == ["Школа № K1", "Школа № K2", "Все школы"]
    total = rows["Все школы"]
    assert total["held"] == 5
    assert total["no_topic"] == pytest.approx(1 / 5)
    assert total["no_attendance"] == pytest.approx(3 / 5)
    assert total["no_marks"] == pytest.approx(2 / 4)
    assert total["parents"] == 3
    assert total["sign_in_rate"] == pytest.approx(1 / 3)


def test_activity_second_quarter(app, activity):
    """In the second quarter K1 held one lesson (10 November), and no parent signed in
    since 3 November."""
    rows = _rows(app, activity, number=2, today=dt.date(2026, 12, 1))
    first = rows["Школа № K1"]
    assert first["held"] == 1
    assert first["no_topic"] == 1
    assert first["parents_signed_in"] == 0


def test_activity_leaves_out_other_authority(app, activity, world):
    rows = _rows(app, activity)
    assert "Школа № A" not in rows
    with app.app_context():
        frame = authority_activity(world.authority_ids["first"], TermPeriod(YEAR, 1), TODAY)
    assert "Школа № K1" not in set(frame.iloc[:, 0])


def test_activity_unknown_year_is_empty(app, activity):
    with app.app_context():
        frame = authority_activity(activity["authority_id"], TermPeriod("1999/2000", 1), TODAY)
    assert frame.empty


# --- Page and file ------------------------------------------------------------------------


def test_activity_page_shows_shares(activity, login):
    client = login(activity["username"])
    response = client.get(f"/authority/activity?year={YEAR}&term=1")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Ведение журнала и вход родителей" in page
    assert "Школа № K1" in page
    assert "Школа № A" not in page


def test_activity_menu_item(activity, login):
    page = login(activity["username"]).get("/authority/summary").get_data(as_text=True)
    assert "/authority/activity" in page


def test_activity_xlsx_numbers(activity, login):
    client = login(activity["username"])
    response = client.get(f"/authority/activity.xlsx?year={YEAR}&term=1")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    header = [cell.value for cell in sheet[3]]
    assert header[0] == "Школа"
    assert header[1] == "Проведено уроков"
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=4)}
    assert set(rows) == {"Школа № K1", "Школа № K2", "Все школы"}
    # The file is built for the real today, after the quarter, so the lesson of
    # 21 October is held too.
    assert rows["Школа № K1"][1].value == 5
    assert rows["Школа № K1"][2].number_format == "0.0%"
    assert rows["Все школы"][5].value == 3


def test_school_roles_have_no_activity(world, login):
    for code in ("principal", "school_admin", "teacher"):
        client = login(world["A"].users[code])
        assert client.get("/authority/activity").status_code == 403, code
        assert client.get("/authority/activity.xlsx").status_code == 403, code


# --- Chart and background job -------------------------------------------------------------


def test_activity_page_chart_shows_school_shares(activity, login):
    client = login(activity["username"])
    page = client.get(f"/authority/activity?year={YEAR}&term=1").get_data(as_text=True)

    chart = page_chart(page)

    # Built for the real today, after the quarter: K1 has 5 lessons (21 October too),
    # 2 without a topic, 4 without attendance, 3 of the 4 markable ones without marks.
    assert chart["labels"] == ["Школа № K1", "Школа № K2"]
    assert chart_values(chart) == {
        "Без темы": [40.0, 0.0],
        "Без посещаемости": [80.0, 0.0],
        "Без отметок": [75.0, 0.0],
        "Доля входивших родителей": [50.0, 0.0],
    }
    assert 'data-testid="activity-job"' in page


def test_activity_xlsx_chart_refers_to_schools(activity, login):
    client = login(activity["username"])
    content = client.get(f"/authority/activity.xlsx?year={YEAR}&term=1").data
    sheet = openpyxl.load_workbook(io.BytesIO(content))["По школам"]

    assert [row[0] for row in sheet.iter_rows(min_row=4, values_only=True)] == [
        "Школа № K1",
        "Школа № K2",
    ]
    ref = "'По школам'!"
    assert sheet_chart_refs(sheet) == [
        (f"{ref}${column}$3", f"{ref}$A$4:$A$5", f"{ref}${column}$4:${column}$5")
        for column in ("C", "D", "E", "H")
    ]


def test_activity_job_builds_same_file(app, activity, login):
    client = login(activity["username"])

    content = queue_and_run(app, client, "/authority/activity/job", {"year": YEAR, "term": "1"})

    direct = client.get(f"/authority/activity.xlsx?year={YEAR}&term=1").data
    assert workbook_values(content) == workbook_values(direct)
