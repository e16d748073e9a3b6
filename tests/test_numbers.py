"""Weights and averages written with the decimal sign of the user's locale."""

from decimal import Decimal

import pytest
from flask_babel import force_locale

from app.services.journal import assignment_title, format_average
from app.services.numbers import format_weight


@pytest.mark.parametrize(
    ("locale", "weight", "text"),
    [
        ("ru", Decimal("1.50"), "1,5"),
        ("ru", Decimal("0.25"), "0,25"),
        ("ru", Decimal("2.00"), "2"),
        ("ru", Decimal("10"), "10"),
        ("en", Decimal("1.50"), "1.5"),
        ("en", Decimal("2.00"), "2"),
    ],
)
def test_weight_in_locale(app, locale, weight, text):
    with app.test_request_context(), force_locale(locale):
        assert format_weight(weight) == text


def test_mark_tooltip_weight_in_russian(app):
    with app.test_request_context(), force_locale("ru"):
        assert assignment_title("Самостоятельная работа", Decimal("1.5")).endswith("вес 1,5")


def test_average_in_locale(app):
    with app.test_request_context():
        with force_locale("ru"):
            assert format_average(Decimal("4.166")) == "4,17"
        with force_locale("en"):
            assert format_average(Decimal("4.166")) == "4.17"
