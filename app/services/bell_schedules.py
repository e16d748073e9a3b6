"""Bell schedule variants (варианты расписания звонков) built from real school examples."""

import datetime as dt
import logging

from flask_babel import lazy_gettext as _l

from app.demo import reference
from app.errors import DomainError
from app.models import BellPeriod, BellSchedule, db

log = logging.getLogger(__name__)


def example_regimes() -> list[str]:
    """Return the labels of the real bell schedules shipped in the reference data."""
    return sorted(reference.bell_schedules())


def add_example_variant(
    school_id: int,
    regime: str,
    *,
    name: str,
    grade_from: int,
    grade_to: int,
    shift: int = 1,
    weekday: int | None = None,
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
) -> BellSchedule:
    """Add a bell schedule variant of a school with the lesson times of a real example.

    The caller commits. Raises :class:`DomainError` for an unknown example or an invalid
    range of grades, weekday or dates.
    """
    periods = reference.bell_schedules().get(regime)
    if periods is None:
        raise DomainError(
            _l(
                "The bell schedule example %(regime)s was not found: choose one of the "
                "examples listed by flask bell-schedule-examples."
            ),
            regime=regime,
        )
    if not 1 <= grade_from <= grade_to <= 11:
        raise DomainError(
            _l(
                "The grades %(first)s–%(last)s are invalid: enter grades from 1 to 11, "
                "the first not above the last."
            ),
            first=grade_from,
            last=grade_to,
        )
    if weekday is not None and not 1 <= weekday <= 7:
        raise DomainError(
            _l("The weekday %(value)s is invalid: enter 1 for Monday to 7 for Sunday."),
            value=weekday,
        )
    if valid_from and valid_to and valid_from > valid_to:
        raise DomainError(
            _l(
                "The dates %(start)s–%(end)s are invalid: the first date must not be later "
                "than the last."
            ),
            start=valid_from.strftime("%d.%m.%Y"),
            end=valid_to.strftime("%d.%m.%Y"),
        )

    schedule = BellSchedule(
        school_id=school_id,
        name=name,
        shift=shift,
        grade_from=grade_from,
        grade_to=grade_to,
        weekday=weekday,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    schedule.periods = [
        BellPeriod(
            school_id=school_id,
            lesson_number=period.lesson_number,
            starts_at=period.starts_at,
            ends_at=period.ends_at,
        )
        for period in periods
    ]
    db.session.add(schedule)
    db.session.flush()
    log.info(
        "Added bell schedule %d of school %d from an example, %d lessons",
        schedule.id,
        school_id,
        len(schedule.periods),
    )
    return schedule
