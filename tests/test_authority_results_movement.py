"""Arrivals and departures in the authority's term and year results."""

import datetime as dt

import pandas as pd
import pytest

from app.models import EducationAuthority, Enrollment, SchoolClass, Student, db
from app.reports.authority import TermPeriod, YearPeriod
from app.reports.authority_results import ResultsColumns, authority_results
from tests.factories import build_school_under

YEAR = "2026/2027"
SCHOOL = "Школа № MV"
COLUMNS = ResultsColumns(*ResultsColumns.__dataclass_fields__)


def _student(school, class_id, first_name):
    student = Student(
        school_id=school.school_id,
        class_id=class_id,
        last_name="Движенцев",
        first_name=first_name,
        sex="m",
    )
    db.session.add(student)
    db.session.flush()
    return student.id


def _stay(school, student_id, class_id, start, **fields):
    values = {"start_kind": "admission", "start_order_number": "1-у"}
    values.update(fields)
    db.session.add(
        Enrollment(
            school_id=school.school_id,
            student_id=student_id,
            class_id=class_id,
            start_date=start,
            **values,
        )
    )


def _class(school, grade, name):
    school_class = SchoolClass(
        school_id=school.school_id,
        year_id=school.ids["AcademicYear"],
        grade=grade,
        letter="М",
        name=name,
    )
    db.session.add(school_class)
    db.session.flush()
    return school_class.id


@pytest.fixture(scope="module")
def moves(app, world):
    """School MV of a fresh authority. The factory admits its three grade 5 students on
    1 September. Added:

    - grade 5: an admission on 1 October, and a stay without an order (not an arrival)
      that ends with a departure on 10 November;
    - grade 10: a transfer in on 5 October, which is neither an arrival nor a departure;
    - grade 1, without marks: an admission on 20 September;
    - grade 5: an admission on 25 August, before the year began.
    """
    with app.app_context():
        authority = EducationAuthority(name="Управление для движения", short_name="УО-Д")
        db.session.add(authority)
        db.session.commit()
        school = build_school_under("MV", authority.id)
        class_5 = school.ids["SchoolClass"]
        class_10 = _class(school, 10, "10М")
        class_1 = _class(school, 1, "1М")

        _stay(school, _student(school, class_5, "Прибывший"), class_5, dt.date(2026, 10, 1))
        _stay(
            school,
            _student(school, class_5, "Выбывший"),
            class_5,
            dt.date(2026, 9, 1),
            start_order_number=None,
            is_backfilled=True,
            end_date=dt.date(2026, 11, 10),
            end_kind="departure",
            end_order_number="30-у",
        )
        _stay(
            school,
            _student(school, class_10, "Переведённый"),
            class_10,
            dt.date(2026, 10, 5),
            start_kind="transfer",
        )
        _stay(school, _student(school, class_1, "Первоклассник"), class_1, dt.date(2026, 9, 20))
        _stay(school, _student(school, class_5, "Летний"), class_5, dt.date(2026, 8, 25))
        db.session.commit()
        return authority.id


def _moves(app, authority_id, period) -> dict:
    with app.app_context():
        frame = authority_results(authority_id, period, COLUMNS)
    return {
        (row["school"], row["grade"]): (row["arrived"], row["departed"])
        for row in frame.to_dict("records")
    }


def test_first_quarter_arrivals(app, moves):
    rows = _moves(app, moves, TermPeriod(YEAR, 1))
    assert rows[(SCHOOL, 5)] == (4, 0)
    assert rows[(SCHOOL, 1)] == (1, 0)
    assert (SCHOOL, 10) not in rows
    assert rows[(SCHOOL, "Итого")] == (5, 0)
    assert rows[("Все школы", "Итого")] == (5, 0)


def test_second_quarter_departure(app, moves):
    rows = _moves(app, moves, TermPeriod(YEAR, 2))
    assert rows[(SCHOOL, 5)] == (0, 1)


def test_year_counts_every_movement(app, moves):
    rows = _moves(app, moves, YearPeriod(YEAR))
    assert rows[(SCHOOL, 5)] == (4, 1)
    assert rows[(SCHOOL, 1)] == (1, 0)


def test_movement_only_grade_has_no_rates(app, moves):
    with app.app_context():
        frame = authority_results(moves, TermPeriod(YEAR, 1), COLUMNS)
    grade_one = frame[(frame["school"] == SCHOOL) & (frame["grade"] == 1)].iloc[0]
    assert grade_one["students"] == 0
    assert pd.isna(grade_one["pass_rate"])
