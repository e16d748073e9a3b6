"""Arrivals and departures in the authority's term and year results."""

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select

from app.models import EducationAuthority, Enrollment, School, SchoolClass, Student, db
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
    - grade 5: an admission on 25 August, before the year began;
    - grade 5 to grade 10: a student admitted on 20 August and transferred to grade 10 on
      15 October.
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
        moved = _student(school, class_10, "Переходящий")
        _stay(
            school,
            moved,
            class_5,
            dt.date(2026, 8, 20),
            end_date=dt.date(2026, 10, 15),
            end_kind="transfer",
            end_order_number="25-у",
        )
        _stay(school, moved, class_10, dt.date(2026, 10, 15), start_kind="transfer")
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
    assert rows[(SCHOOL, 10)] == (0, 0)
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


# --- Students at the start and at the end -------------------------------------------------

HEADS = ("at_start", "arrived", "departed", "transferred_in", "transferred_out", "at_end")


def _heads(app, authority_id, period) -> dict:
    with app.app_context():
        frame = authority_results(authority_id, period, COLUMNS)
    return {
        (row["school"], row["grade"]): tuple(row[name] for name in HEADS)
        for row in frame.to_dict("records")
    }


def test_first_quarter_start_and_end(app, moves):
    rows = _heads(app, moves, TermPeriod(YEAR, 1))
    # Grade 5 at the start: Летний (25 August), Переходящий (20 August) and Выбывший,
    # recorded without an order. The factory's three and Прибывший arrive. Переходящий
    # leaves for grade 10 on 15 October.
    assert rows[(SCHOOL, 5)] == (3, 4, 0, 0, 1, 6)
    # Grade 10 reads the first half-year: Переведённый and Переходящий come by transfer.
    assert rows[(SCHOOL, 10)] == (0, 0, 0, 2, 0, 2)
    assert rows[(SCHOOL, 1)] == (0, 1, 0, 0, 0, 1)
    assert rows[(SCHOOL, "Итого")] == (3, 5, 0, 2, 1, 9)


def test_second_quarter_start_and_end(app, moves):
    rows = _heads(app, moves, TermPeriod(YEAR, 2))
    assert rows[(SCHOOL, 5)] == (6, 0, 1, 0, 0, 5)


def test_year_start_and_end(app, moves):
    rows = _heads(app, moves, YearPeriod(YEAR))
    assert rows[(SCHOOL, 5)] == (3, 4, 1, 0, 1, 5)
    assert rows[(SCHOOL, 10)] == (0, 0, 0, 2, 0, 2)
    assert rows[("Все школы", "Итого")] == (3, 5, 1, 2, 1, 8)


@pytest.mark.parametrize("period", [1, 2, 3, 4, "year"])
def test_start_and_movements_add_up_to_end(app, moves, period):
    report_period = YearPeriod(YEAR) if period == "year" else TermPeriod(YEAR, period)
    rows = _heads(app, moves, report_period)
    assert rows
    for key, (start, arrived, departed, moved_in, moved_out, end) in rows.items():
        assert start + arrived - departed + moved_in - moved_out == end, key


def test_end_matches_class_lists(app, moves):
    """The year's end count is the number of stays open after 31 May, read independently."""
    rows = _heads(app, moves, YearPeriod(YEAR))
    with app.app_context():
        stays = db.session.scalars(
            select(Enrollment).where(Enrollment.school_id == _school_id(moves))
        ).all()
        open_stays = [
            stay
            for stay in stays
            if stay.start_date <= dt.date(2027, 5, 31)
            and (stay.end_date is None or stay.end_date > dt.date(2027, 5, 31))
        ]
    total_end = rows[(SCHOOL, "Итого")][-1]
    assert total_end == len(open_stays)


def _school_id(authority_id) -> int:
    return db.session.scalar(select(School.id).where(School.authority_id == authority_id))
