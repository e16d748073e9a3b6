"""Numbers as the user's locale writes them: «0,5» in Russian, «0.5» in English."""

from decimal import Decimal
from functools import lru_cache

from babel.numbers import get_decimal_symbol
from flask_babel import get_locale


def locale_decimal_symbol() -> str | None:
    """Return the decimal sign of the user's locale, or None outside a request's locale."""
    locale = get_locale()
    return None if locale is None else _decimal_symbol(str(locale))


@lru_cache(maxsize=16)
def _decimal_symbol(locale: str) -> str:
    return get_decimal_symbol(locale)


def format_weight(weight) -> str:
    """Show an assignment's weight without trailing zeros: 1, 0,5, 1,25 in Russian."""
    text = f"{Decimal(weight):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", locale_decimal_symbol() or ".")
