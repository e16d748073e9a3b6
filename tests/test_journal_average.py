"""The weighted average of current marks and the parsing of typed mark values."""

from decimal import Decimal

import pytest

from app.models import Assignment, Course, Mark
from app.services.journal import (
    format_average,
    parse_mark_value,
    weighted_average,
)

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
