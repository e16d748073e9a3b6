"""Regeneration of future dated lessons after the weekly template changed.

A future lesson the template no longer gives is removed when it is empty: no assignment
(so no marks), no attendance, no topic, and no change made by hand. Any other such lesson
is kept and reported, so that the principal can move or cancel it. Future lessons the
template gives and that are missing are then created. Past lessons are never touched.
"""

import datetime as dt
import logging
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import delete, exists, func, select

from app.models import Assignment, Attendance, Lesson, Term, db
from app.security.scope import Scope
from app.services.dates import format_date
from app.services.timetable import current_year, generate_lessons, planned_lessons
from app.services.timetable_grid import check_term_open

log = logging.getLogger(__name__)

#: Reasons for keeping a lesson the template no longer gives.
KEPT_CHANGED = "changed"
KEPT_FILLED = "filled"


@dataclass
class KeptLesson:
    lesson: Lesson
    #: KEPT_CHANGED or KEPT_FILLED.
    why: str


@dataclass
class Regeneration:
    """The outcome of one regeneration: lessons created, removed and kept."""

    created: int = 0
    removed: int = 0
    kept: list[KeptLesson] = field(default_factory=list)


def _filled_lesson_ids(lesson_ids: list[int]) -> set[int]:
    """Ids of the lessons that have an assignment, attendance or a topic."""
    if not lesson_ids:
        return set()
    has_assignment = exists(select(Assignment.id).where(Assignment.lesson_id == Lesson.id))
    has_attendance = exists(select(Attendance.id).where(Attendance.lesson_id == Lesson.id))
    has_topic = func.length(func.coalesce(Lesson.topic, "")) > 0
    statement = select(Lesson.id).where(
        Lesson.id.in_(lesson_ids), has_assignment | has_attendance | has_topic
    )
    return set(db.session.scalars(statement))


def regenerate_lessons(
    school_id: int, start: dt.date, end: dt.date, *, today: dt.date
) -> Regeneration:
    """Bring the future lessons of ``start``–``end`` in line with the template.

    Only lessons dated after ``today`` are removed or created. The year is the one
    containing ``start``. The caller commits.
    """
    result = Regeneration()
    year = current_year(school_id, start)
    if year is None:
        return result
    first_future = max(start, today + dt.timedelta(days=1), year.start_date)
    last = min(end, year.end_date)
    if first_future > last:
        return result

    planned = planned_lessons(school_id, year, first_future, last, set())
    wanted = {(row["course_id"], row["date"], row["lesson_number"]) for row in planned}
    _remove_stale(school_id, first_future, last, wanted, result)
    result.created = generate_lessons(school_id, first_future, last, today=start)
    log.info(
        "Regenerated lessons of school %d, %s to %s: %d created, %d removed, %d kept",
        school_id,
        first_future,
        last,
        result.created,
        result.removed,
        len(result.kept),
    )
    return result


def _remove_stale(
    school_id: int, first: dt.date, last: dt.date, wanted: set[tuple], result: Regeneration
) -> None:
    """Remove empty lessons of ``first``–``last`` missing from ``wanted``; record the rest."""
    lessons = db.session.scalars(
        select(Lesson)
        .where(Lesson.school_id == school_id, Lesson.date >= first, Lesson.date <= last)
        .order_by(Lesson.date, Lesson.lesson_number, Lesson.id)
    ).unique()
    stale = [
        lesson
        for lesson in lessons
        if (lesson.course_id, lesson.date, lesson.lesson_number) not in wanted
    ]
    filled = _filled_lesson_ids([lesson.id for lesson in stale])
    removable = []
    for lesson in stale:
        if lesson.changed_at is not None:
            result.kept.append(KeptLesson(lesson, KEPT_CHANGED))
        elif lesson.id in filled:
            result.kept.append(KeptLesson(lesson, KEPT_FILLED))
        else:
            removable.append(lesson.id)
    if removable:
        db.session.execute(
            delete(Lesson).where(Lesson.id.in_(removable)),
            execution_options={"synchronize_session": False},
        )
    result.removed = len(removable)


def regenerate_term_lessons(scope: Scope, term: Term, today: dt.date) -> Regeneration:
    """Regenerate the lessons of ``term``'s dates for every class of the school, and commit."""
    check_term_open(scope, term)
    result = regenerate_lessons(term.school_id, term.start_date, term.end_date, today=today)
    db.session.commit()
    log.info("User %s regenerated the lessons of term %d", scope.user_id, term.id)
    return result


#: Kept lessons named in the page message; the rest are counted.
LISTED_KEPT = 20


def kept_lesson_text(kept: KeptLesson) -> str:
    lesson = kept.lesson
    course = lesson.course
    why = (
        _("changed by hand")
        if kept.why == KEPT_CHANGED
        else _("has assignments, attendance or a topic")
    )
    return _(
        "%(subject)s, %(target)s, lesson %(number)s on %(date)s (%(why)s)",
        subject=course.subject.name,
        target=course.group.name if course.group else course.school_class.name,
        number=lesson.lesson_number,
        date=format_date(lesson.date),
        why=why,
    )


def kept_lessons_message(kept: list[KeptLesson]) -> str:
    """Build the page message that lists the kept lessons the template no longer gives."""
    names = "; ".join(kept_lesson_text(item) for item in kept[:LISTED_KEPT])
    message = ngettext(
        "%(num)d future lesson is no longer in the template but was kept: %(names)s.",
        "%(num)d future lessons are no longer in the template but were kept: %(names)s.",
        len(kept),
        names=names,
    )
    if len(kept) > LISTED_KEPT:
        message += " " + _("And %(count)s more.", count=len(kept) - LISTED_KEPT)
    return message + " " + _("Move or cancel them on the lesson changes page.")
