"""The weighted average of current marks and the parsing of typed mark values."""

import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import Assignment, AssignmentType, Course, Mark, School, Term, db
from app.services.journal import (
    format_average,
    parse_mark_value,
    weighted_average,
)
from tests.factories import WEEK_START, add_course_with_lesson, build_extra_school

TWO_PLACES = Decimal("0.01")


def rounded(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(TWO_PLACES)


def test_average_of_domain_example():
    marks = [(5, "1.0"), (3, "0.5"), (4, "1.5")]
    assert rounded(weighted_average(marks)) == Decimal("4.17")
    assert format_average(weighted_average(marks)) == "4.17"


@pytest.mark.parametrize(
    ("marks", "expected"),
    [
        ([(5, "1"), (4, "1")], "4.50"),
        ([(5, "2"), (3, "1")], "4.33"),
        ([(2, "1"), (5, "3")], "4.25"),
        # A weight-0 mark is left out while another weight is not 0.
        ([(5, "1"), (2, "0")], "5.00"),
        # Every weight is 0: the plain mean.
        ([(5, "0"), (4, "0")], "4.50"),
        # Duty, pass/fail and blank marks do not count.
        ([(4, "1"), (None, "1"), ("duty", "2"), ("pass", "1"), ("fail", "1")], "4.00"),
    ],
)
def test_average_cases(marks, expected):
    assert format_average(weighted_average(marks)) == expected


def test_average_without_weighting_is_plain_mean():
    marks = [(5, "1.0"), (3, "0.5"), (4, "1.5")]
    assert rounded(weighted_average(marks, weighting_enabled=False)) == Decimal("4.00")
    marks = [(5, "2"), (4, "0"), (4, "1")]
    assert rounded(weighted_average(marks, weighting_enabled=False)) == Decimal("4.33")


def test_average_of_nothing_is_dash():
    assert weighted_average([]) is None
    assert weighted_average([(None, "1"), ("duty", "1"), ("pass", "1")]) is None
    assert format_average(None) == "—"


def test_average_keeps_raw_value():
    average = weighted_average([(3, "1"), (4, "1")])
    assert average == Decimal("3.5")
    average = weighted_average([(5, "1"), (4, "1"), (4, "1")])
    assert average > Decimal("4.33")
    assert average < Decimal("4.34")


def test_average_of_mark_rows():
    def mark(kind, value, weight):
        return Mark(kind=kind, value=value, assignment=Assignment(weight=Decimal(weight)))

    marks = [
        mark("number", 5, "1.0"),
        mark("number", 3, "0.5"),
        mark("number", 4, "1.5"),
        mark("duty", None, "3"),
        mark("pass", None, "1"),
    ]
    assert format_average(weighted_average(marks)) == "4.17"
    assert format_average(weighted_average(marks, weighting_enabled=False)) == "4.00"


@pytest.fixture()
def marks_course():
    return Course(assessment="marks", kind="lesson")


@pytest.fixture()
def pass_fail_course():
    return Course(assessment="pass_fail", kind="lesson")


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [("5", "number", 5), (" 1 ", "number", 1), (".", "duty", None), ("Точка", "duty", None)],
)
def test_parse_valid_marks(app, marks_course, text, kind, value):
    with app.test_request_context():
        parsed = parse_mark_value(text, marks_course, 5)
    assert parsed.kind == kind
    assert parsed.value == value


def test_parse_empty_mark_is_none(app, marks_course):
    with app.test_request_context():
        assert parse_mark_value("", marks_course, 5) is None
        assert parse_mark_value("   ", marks_course, 5) is None


@pytest.mark.parametrize("text", ["7", "0", "abc", "зач", "4.5", "-3"])
def test_parse_invalid_mark_names_value(app, marks_course, text):
    with app.test_request_context():
        with pytest.raises(ValueError) as error:
            parse_mark_value(text, marks_course, 5)
    message = str(error.value)
    assert f"Отметка «{text}» недопустима" in message
    assert "от 1 до 5" in message


def test_parse_respects_school_max_mark(app, marks_course):
    with app.test_request_context():
        assert parse_mark_value("10", marks_course, 10).value == 10
        with pytest.raises(ValueError, match="от 1 до 10"):
            parse_mark_value("11", marks_course, 10)


def test_parse_pass_fail_course(app, pass_fail_course):
    with app.test_request_context():
        assert parse_mark_value("зач", pass_fail_course, 5).kind == "pass"
        assert parse_mark_value("НЕЗАЧ", pass_fail_course, 5).kind == "fail"
        assert parse_mark_value(".", pass_fail_course, 5).kind == "duty"
        with pytest.raises(ValueError, match="«5» недопустима.*«зач», «незач»"):
            parse_mark_value("5", pass_fail_course, 5)


# --- The averaging rule as a table, checked in the service and on real pages ---------------

#: (case id, marks as (value, weight), weighting on, the average as shown).
#: A value of None is an assignment without a mark; "duty", "pass" and "fail" are the
#: non-numeric kinds. Expected values use a point here and a comma on the Russian pages.
AVERAGE_TABLE = [
    ("domain-example", [(5, "1.0"), (3, "0.5"), (4, "1.5")], True, "4.17"),
    ("blank-not-counted", [(5, "1"), (None, "3"), (4, "1")], True, "4.50"),
    ("duty-not-counted", [(5, "1"), ("duty", "2"), (3, "1")], True, "4.00"),
    ("pass-fail-not-counted", [(3, "1"), ("pass", "5"), ("fail", "5")], True, "3.00"),
    ("weight-0-left-out", [(5, "1"), (2, "0")], True, "5.00"),
    ("all-weights-0-plain-mean", [(5, "0"), (2, "0"), (4, "0")], True, "3.67"),
    ("weighting-off-plain-mean", [(5, "1.0"), (3, "0.5"), (4, "1.5")], False, "4.00"),
    # NOTE: with weighting off every weight is ignored, so a weight-0 mark counts too:
    # (5 + 4 + 4) / 3. This pins the current reading of the rule.
    ("weighting-off-counts-weight-0", [(5, "2"), (4, "0"), (4, "1")], False, "4.33"),
    ("nothing-to-average", [], True, "—"),
    ("only-non-numeric", [(None, "1"), ("duty", "1"), ("pass", "1")], True, "—"),
    ("nothing-with-weighting-off", [("fail", "1")], False, "—"),
    # Exactly 4.165 = (4 × 1.67 + 5 × 0.33) / 2: ROUND_HALF_UP shows 4.17.
    ("half-up-4.165", [(4, "1.67"), (5, "0.33")], True, "4.17"),
    # Exactly 4.125 = (4 × 7 + 5) / 8: half-up gives 4.13 where half-even would give 4.12.
    ("half-up-not-half-even", [(4, "7"), (5, "1")], True, "4.13"),
    ("two-decimals-always", [(5, "1")], True, "5.00"),
]


@pytest.mark.parametrize(
    ("marks", "weighting", "expected"),
    [pytest.param(marks, on, expected, id=case) for case, marks, on, expected in AVERAGE_TABLE],
)
def test_average_table_in_service(marks, weighting, expected):
    assert format_average(weighted_average(marks, weighting)) == expected


def test_half_up_rounds_the_exact_raw_value():
    raw = weighted_average([(4, "1.67"), (5, "0.33")])
    assert raw == Decimal("4.165")
    assert format_average(raw) == "4.17"
    assert format_average(Decimal("4.1649999")) == "4.16"


@pytest.fixture(scope="module")
def average_pages(app, world):
    """Two schools (weighting on and off), a course per table case with its marks for Анна.

    Returns case id → (school, course id, subject name). Every mark sits in one lesson of
    05.10.2026, inside the first quarter, so both pages average the same marks.
    """
    with app.app_context():
        schools = {True: build_extra_school("AV1"), False: build_extra_school("AV2")}
        db.session.get(School, schools[False].school_id).weighting_enabled = False
        courses = {}
        for case, marks, weighting, _ in AVERAGE_TABLE:
            school = schools[weighting]
            subject = f"Предмет {case}"
            course, lesson = add_course_with_lesson(school, subject, day=WEEK_START)
            _add_marks(school, lesson, marks)
            courses[case] = (school, course.id, subject)
        db.session.commit()
        return courses


def _add_marks(school, lesson, marks) -> None:
    kind = db.session.get(AssignmentType, school.ids["AssignmentType"])
    student_id = school.ids["Student"]
    for value, weight in marks:
        assignment = Assignment(
            school_id=school.school_id,
            lesson_id=lesson.id,
            type_id=kind.id,
            weight=Decimal(weight),
            text="",
        )
        db.session.add(assignment)
        db.session.flush()
        if value is None:
            continue
        numeric = isinstance(value, int)
        db.session.add(
            Mark(
                school_id=school.school_id,
                assignment_id=assignment.id,
                student_id=student_id,
                kind="number" if numeric else value,
                value=value if numeric else None,
            )
        )
    db.session.flush()


def _first_quarter_id(app, school) -> int:
    with app.app_context():
        return db.session.scalar(
            select(Term.id).where(
                Term.school_id == school.school_id, Term.kind == "quarter", Term.number == 1
            )
        )


def _on_page(expected: str) -> str:
    """The value as a Russian page shows it: a decimal comma."""
    return expected.replace(".", ",")


@pytest.mark.parametrize(
    ("case", "expected"),
    [pytest.param(case, expected, id=case) for case, *_, expected in AVERAGE_TABLE],
)
def test_average_table_on_course_page(app, average_pages, login, case, expected):
    school, course_id, _ = average_pages[case]
    client = login(school.users["principal"])
    page = client.get(f"/journal/course/{course_id}?term={_first_quarter_id(app, school)}")
    assert page.status_code == 200
    row = page.text.split(f'data-student="{school.ids["Student"]}"')[1].split("</tr>")[0]
    average = re.search(r'data-testid="average"><strong>([^<]*)<', row).group(1)
    assert average == _on_page(expected)


@pytest.mark.parametrize(
    ("case", "expected"),
    [pytest.param(case, expected, id=case) for case, *_, expected in AVERAGE_TABLE],
)
def test_average_table_in_diary(app, average_pages, login, case, expected):
    school, _, subject = average_pages[case]
    client = login(school.users["parent"])
    page = client.get(
        "/diary/", query_string={"student": school.ids["Student"], "week": WEEK_START}
    )
    assert page.status_code == 200
    rows = page.text.split('data-testid="results-subject"')[1:]
    row = next(row for row in rows if f">{subject}<" in row).split("</tr>")[0]
    average = re.search(r'<td data-testid="average">([^<]*)</td>', row).group(1)
    assert average == _on_page(expected)


@pytest.mark.parametrize("language", ["ru", "en"])
def test_format_average_writes_as_babel_does(app, language):
    from flask_babel import format_decimal

    values = ["4.165", "4.1649999", "10", "2.005", "1234.5"]
    with app.test_request_context(headers={"Accept-Language": language}):
        from flask import session

        session["locale"] = language
        for value in values:
            rounded = Decimal(value).quantize(TWO_PLACES, rounding="ROUND_HALF_UP")
            expected = format_decimal(rounded, format="0.00")
            assert format_average(Decimal(value)) == expected
        assert format_average(Decimal("4.165")) == ("4,17" if language == "ru" else "4.17")
