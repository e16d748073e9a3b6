"""The rules of the school's regulation that the journal suggests period marks by.

The regulation row of a year may be missing: the school then works by the defaults of
DOMAIN §5 (round at .5, three marks for a subject of one hour a week, «н/а» when more
than half of the lessons were missed, ties in the student's favour).
"""

import math
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import select

from app.errors import DomainError
from app.models import Regulation, db

#: The part of a mark an average needs to round up to it, unless the regulation says else.
DEFAULT_FRACTION = Decimal("0.5")


class ThresholdError(DomainError):
    """A threshold text the regulation form cannot take."""


def regulation_for(school_id: int, year_id: int) -> Regulation:
    """Return the year's regulation, or an unsaved one holding the defaults."""
    regulation = db.session.scalar(
        select(Regulation).where(Regulation.school_id == school_id, Regulation.year_id == year_id)
    )
    if regulation is not None:
        return regulation
    return default_regulation(school_id, year_id)


def default_regulation(school_id: int, year_id: int) -> Regulation:
    """Build a transient regulation with the defaults; it is not added to the session."""
    return Regulation(
        school_id=school_id,
        year_id=year_id,
        thresholds="",
        min_marks=3,
        min_marks_per_extra_hour=1,
        max_missed_share=Decimal("0.5"),
        no_top_mark_with_fail=False,
        year_tie_rule="student",
        grade2_marks_from_term=2,
    )


def default_thresholds(max_mark: int) -> dict[int, Decimal]:
    """Map each mark from 2 to the top to the lowest average that rounds to it."""
    return {mark: mark - 1 + DEFAULT_FRACTION for mark in range(2, max_mark + 1)}


def parse_thresholds(text: str, max_mark: int) -> dict[int, Decimal]:
    """Read ``3:2.6,4:3.6`` into the full map of thresholds, defaults filled in.

    Each threshold must lie between the two marks of its boundary, and they must rise with
    the mark; otherwise a :class:`ThresholdError` names the wrong pair.
    """
    thresholds = default_thresholds(max_mark)
    for pair in filter(None, (part.strip() for part in (text or "").split(","))):
        mark, value = _parse_pair(pair, max_mark)
        thresholds[mark] = value
    return thresholds


def _parse_pair(pair: str, max_mark: int) -> tuple[int, Decimal]:
    mark_text, _sep, value_text = pair.partition(":")
    try:
        mark = int(mark_text)
        value = Decimal(value_text.strip().replace(",", "."))
    except (ValueError, InvalidOperation):
        raise ThresholdError(
            _(
                "«%(pair)s» is not a threshold: write the mark and the lowest average, "
                "for example «4:3.6».",
                pair=pair,
            )
        ) from None
    if not 2 <= mark <= max_mark or not mark - 1 < value <= mark:
        raise ThresholdError(
            _(
                "Threshold «%(pair)s»: the average for a %(mark)s must lie above "
                "%(low)s and not above %(mark)s.",
                pair=pair,
                mark=mark,
                low=mark - 1,
            )
        )
    return mark, value


def format_thresholds(thresholds: dict[int, Decimal], max_mark: int) -> str:
    """Write back only the thresholds that differ from the default."""
    defaults = default_thresholds(max_mark)
    return ",".join(
        f"{mark}:{_plain(value)}"
        for mark, value in sorted(thresholds.items())
        if value != defaults.get(mark)
    )


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def round_average(average: Decimal, thresholds: dict[int, Decimal]) -> int:
    """Round a raw average to a mark: the highest mark whose threshold it reaches.

    The average is compared unrounded (3.49 gives 3 at the default .5), as DOMAIN §5 asks.
    """
    mark = 1
    for candidate, lowest in sorted(thresholds.items()):
        if average >= lowest:
            mark = candidate
    return mark


def required_marks(regulation: Regulation, hours_per_week) -> int:
    """Marks a period mark needs in a subject of the given weekly hours."""
    extra_hours = max(0, math.ceil(Decimal(hours_per_week or 1)) - 1)
    return regulation.min_marks + extra_hours * regulation.min_marks_per_extra_hour
