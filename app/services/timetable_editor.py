"""The weekly template editor: the grids it shows, and placing, moving and removing lines.

Every change is checked with :mod:`app.services.timetable_conflicts` before it is written,
and its class with the health rules of :mod:`app.services.timetable_health`, whose warnings
never block a save.
A change with conflicts is written only when the caller passes ``override``, and the line
then keeps who saved it, when, and the conflicts accepted. Dated lessons already generated
are not touched: a change of the template applies to lessons generated afterwards.
"""

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.errors import FormErrors, OutOfScope
from app.models import (
    Course,
    Employee,
    Room,
    SchoolClass,
    StudyGroup,
    Subject,
    TimetableEntry,
    course_teacher,
    db,
)
from app.models.timetable import WEEK_PARITIES
from app.services import timetable_conflicts as conflicts
from app.services import timetable_health as health
from app.services.timetable_conflicts import NEW_LINE, Conflict, Line

log = logging.getLogger(__name__)

#: Lesson numbers the grid always shows; rows are added for lessons placed beyond them.
DEFAULT_LESSON_NUMBERS = range(1, 9)

#: Lesson numbers a line may take, as the table's check constraint allows.
LESSON_NUMBER_RANGE = range(0, 13)


class EditorInputError(FormErrors):
    """Invalid values of one requested change; nothing was written."""


@dataclass
class EntryCard:
    """A template line as the editor shows it."""

    id: int
    subject: str
    target: str
    is_group: bool
    teachers: str
    room_id: int | None
    room: str
    week_parity: str
    notes: list[str] = field(default_factory=list)
    #: The conflicts accepted when the line was saved despite them; empty otherwise.
    override_note: str = ""


@dataclass
class EditorGrid:
    """The week of one class: lesson numbers down, the days of its week across."""

    school_class: SchoolClass
    weekdays: list[int]
    lesson_numbers: list[int]
    cells: dict[tuple[int, int], list[EntryCard]]
    courses: list[tuple[int, str]]
    rooms: list[tuple[int, str]]

    def cell(self, weekday: int, lesson_number: int) -> list[EntryCard]:
        return self.cells.get((weekday, lesson_number), [])


@dataclass
class ChangeResult:
    """The outcome of one change: saved or not, and the conflicts found."""

    saved: bool
    conflicts: list[Conflict]
    entry_id: int | None = None
    #: Health rules the class's template breaks with the change applied.
    warnings: list[health.HealthWarning] = field(default_factory=list)


def week_days(six_day_week: bool) -> list[int]:
    return [1, 2, 3, 4, 5, 6] if six_day_week else [1, 2, 3, 4, 5]


def _lesson_numbers(used: set[int]) -> list[int]:
    numbers = set(DEFAULT_LESSON_NUMBERS) | used
    return list(range(min(numbers), max(numbers) + 1))


def _parity_note(parity: str) -> str | None:
    if parity == "odd":
        return _("odd weeks")
    if parity == "even":
        return _("even weeks")
    return None


# --- Reading the grids ------------------------------------------------------------------------


def class_editor_grid(school_class: SchoolClass) -> EditorGrid:
    """Read the template of a class, and the courses and rooms the place form offers."""
    school_id = school_class.school_id
    rows = db.session.execute(
        select(
            TimetableEntry.id,
            TimetableEntry.weekday,
            TimetableEntry.lesson_number,
            TimetableEntry.room_id,
            TimetableEntry.week_parity,
            TimetableEntry.valid_from,
            TimetableEntry.valid_to,
            TimetableEntry.override_note,
            Course.id,
            Course.group_id,
            Subject.name,
            StudyGroup.name,
            Room.name,
        )
        .join(Course, Course.id == TimetableEntry.course_id)
        .join(Subject, Subject.id == Course.subject_id)
        .outerjoin(StudyGroup, StudyGroup.id == Course.group_id)
        .outerjoin(Room, Room.id == TimetableEntry.room_id)
        .where(TimetableEntry.school_id == school_id, Course.class_id == school_class.id)
        .order_by(TimetableEntry.weekday, TimetableEntry.lesson_number, TimetableEntry.id)
    ).all()
    teachers = _teacher_names(school_id, [Course.class_id == school_class.id])

    cells: dict[tuple[int, int], list[EntryCard]] = defaultdict(list)
    for row in rows:
        (entry_id, weekday, number, room_id, parity, valid_from, valid_to, note) = row[:8]
        course_id, group_id, subject, group_name, room_name = row[8:]
        notes = [text for text in [_parity_note(parity)] if text]
        if valid_from:
            notes.append(_("from %(date)s", date=valid_from.strftime("%d.%m.%Y")))
        if valid_to:
            notes.append(_("until %(date)s", date=valid_to.strftime("%d.%m.%Y")))
        cells[(weekday, number)].append(
            EntryCard(
                id=entry_id,
                subject=subject,
                target=group_name or school_class.name,
                is_group=group_id is not None,
                teachers=", ".join(teachers.get(course_id, [])),
                room_id=room_id,
                room=room_name or "",
                week_parity=parity,
                notes=notes,
                override_note=note or "",
            )
        )

    weekdays = week_days(school_class.six_day_week)
    used = {number for _weekday, number in cells}
    return EditorGrid(
        school_class=school_class,
        weekdays=weekdays,
        lesson_numbers=_lesson_numbers(used),
        cells=dict(cells),
        courses=_class_courses(school_class),
        rooms=_school_rooms(school_id),
    )


def _teacher_names(school_id: int, course_conditions: list) -> dict[int, list[str]]:
    rows = db.session.execute(
        select(course_teacher.c.course_id, Employee)
        .join(Course, Course.id == course_teacher.c.course_id)
        .join(Employee, Employee.id == course_teacher.c.employee_id)
        .where(Course.school_id == school_id, *course_conditions)
        .order_by(Employee.last_name, Employee.first_name)
    ).all()
    names: dict[int, list[str]] = defaultdict(list)
    for course_id, employee in rows:
        names[course_id].append(employee.short_name)
    return names


def _class_courses(school_class: SchoolClass) -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(Course.id, Subject.name, StudyGroup.name)
        .join(Subject, Subject.id == Course.subject_id)
        .outerjoin(StudyGroup, StudyGroup.id == Course.group_id)
        .where(Course.school_id == school_class.school_id, Course.class_id == school_class.id)
        .order_by(Subject.name, StudyGroup.name, Course.id)
    ).all()
    teachers = _teacher_names(school_class.school_id, [Course.class_id == school_class.id])
    choices = []
    for course_id, subject, group_name in rows:
        label = f"{subject} ({group_name})" if group_name else subject
        names = ", ".join(teachers.get(course_id, []))
        choices.append((course_id, f"{label} — {names}" if names else label))
    return choices


def _school_rooms(school_id: int) -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(Room.id, Room.name, Room.capacity)
        .where(Room.school_id == school_id)
        .order_by(Room.name)
    ).all()
    return [
        (room_id, _("%(name)s, %(seats)s seats", name=name, seats=capacity) if capacity else name)
        for room_id, name, capacity in rows
    ]


@dataclass
class SchoolOverview:
    """Every class's template side by side: a row per class, a column per day and lesson."""

    weekdays: list[int]
    lesson_numbers: list[int]
    classes: list[tuple[int, str]]
    #: (class id, weekday, lesson number) → short texts: subject and room.
    cells: dict[tuple[int, int, int], list[str]]

    def cell(self, class_id: int, weekday: int, lesson_number: int) -> list[str]:
        return self.cells.get((class_id, weekday, lesson_number), [])


def school_overview(school_id: int, year_id: int) -> SchoolOverview:
    """Read the whole school's template of a year with two column queries."""
    classes = db.session.execute(
        select(SchoolClass.id, SchoolClass.name, SchoolClass.six_day_week)
        .where(SchoolClass.school_id == school_id, SchoolClass.year_id == year_id)
        .order_by(SchoolClass.grade, SchoolClass.name)
    ).all()
    rows = db.session.execute(
        select(
            Course.class_id,
            TimetableEntry.weekday,
            TimetableEntry.lesson_number,
            TimetableEntry.week_parity,
            func.coalesce(Subject.short_name, Subject.name),
            Room.name,
        )
        .join(Course, Course.id == TimetableEntry.course_id)
        .join(Subject, Subject.id == Course.subject_id)
        .outerjoin(Room, Room.id == TimetableEntry.room_id)
        .where(TimetableEntry.school_id == school_id, Course.year_id == year_id)
        .order_by(TimetableEntry.id)
    ).all()
    cells: dict[tuple[int, int, int], list[str]] = defaultdict(list)
    for class_id, weekday, number, parity, subject, room in rows:
        text = f"{subject} ({room})" if room else subject
        parity_note = _parity_note(parity)
        if parity_note:
            text = f"{text}, {parity_note}"
        cells[(class_id, weekday, number)].append(text)
    used = {number for _class_id, _weekday, number in cells}
    return SchoolOverview(
        weekdays=week_days(any(six_day for _id, _name, six_day in classes)),
        lesson_numbers=_lesson_numbers(used),
        classes=[(class_id, name) for class_id, name, _six_day in classes],
        cells=dict(cells),
    )


# --- Changes --------------------------------------------------------------------------------


def _parse_int(value, errors: list, message) -> int | None:
    if isinstance(value, bool):
        errors.append(message)
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        errors.append(message)
        return None


def _read_slot(data: dict, six_day_week: bool, errors: list) -> tuple[int | None, int | None]:
    days = week_days(six_day_week)
    day_message = _(
        "The day %(value)s is not a day of the class's week: choose a day from 1 "
        "(Monday) to %(last)s.",
        value=data.get("weekday"),
        last=days[-1],
    )
    weekday = _parse_int(data.get("weekday"), errors, day_message)
    if weekday is not None and weekday not in days:
        errors.append(day_message)
        weekday = None

    number_message = _(
        "The lesson number %(value)s is invalid: give a number from 0 to 12.",
        value=data.get("lesson_number"),
    )
    number = _parse_int(data.get("lesson_number"), errors, number_message)
    if number is not None and number not in LESSON_NUMBER_RANGE:
        errors.append(number_message)
        number = None
    return weekday, number


def _read_room(data: dict, school_id: int) -> int | None:
    """Return the room id of the request, or None; raise OutOfScope for another school's."""
    value = data.get("room")
    if value in (None, ""):
        return None
    try:
        room_id = int(value)
    except (TypeError, ValueError):
        raise OutOfScope("Room") from None
    found = db.session.scalar(
        select(Room.id).where(Room.id == room_id, Room.school_id == school_id)
    )
    if found is None:
        raise OutOfScope("Room")
    return found


def _read_parity(data: dict, errors: list) -> str:
    parity = data.get("week_parity") or "every"
    if parity not in WEEK_PARITIES:
        errors.append(
            _(
                "The week parity %(value)s is invalid: choose every, odd or even weeks.",
                value=parity,
            )
        )
    return parity


def _check(school_id: int, year_id: int, removed_id, line: Line, count_load: bool):
    template = conflicts.load_template(school_id, year_id)
    template = conflicts.with_course(template, line.course_id).replaced(removed_id, line)
    clashes = conflicts.change_clashes(template, line, count_load=count_load)
    return conflicts.describe(clashes, template)


def _mark_override(entry: TimetableEntry, found: list[Conflict], user_id: int) -> None:
    if found:
        entry.override_by_id = user_id
        entry.override_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        entry.override_note = "\n".join(conflict.message for conflict in found)
    else:
        entry.override_by_id = None
        entry.override_at = None
        entry.override_note = None


def place_entry(
    school_class: SchoolClass, user_id: int, data: dict, override: bool
) -> ChangeResult:
    """Add a line for a course of the class, unless it conflicts and ``override`` is off.

    ``data`` contains ``course``, ``room`` (may be empty), ``weekday``, ``lesson_number``
    and ``week_parity``. A course or room of another class or school raises OutOfScope.
    """
    errors: list[str] = []
    course_id = db.session.scalar(
        select(Course.id).where(
            Course.id == _parse_int(data.get("course"), [], ""),
            Course.school_id == school_class.school_id,
            Course.class_id == school_class.id,
        )
    )
    if course_id is None:
        raise OutOfScope("Course")
    room_id = _read_room(data, school_class.school_id)
    weekday, number = _read_slot(data, school_class.six_day_week, errors)
    parity = _read_parity(data, errors)
    if errors:
        raise EditorInputError(errors)

    line = Line(NEW_LINE, course_id, weekday, number, room_id, parity)
    found = _check(school_class.school_id, school_class.year_id, None, line, count_load=True)
    warnings = health.check_class(school_class, added=line)
    if found and not override:
        return ChangeResult(saved=False, conflicts=found, warnings=warnings)

    entry = TimetableEntry(
        school_id=school_class.school_id,
        course_id=course_id,
        weekday=weekday,
        lesson_number=number,
        room_id=room_id,
        week_parity=parity,
    )
    _mark_override(entry, found, user_id)
    db.session.add(entry)
    db.session.flush()
    log.info(
        "User %s placed template line %s (course %s) with %d conflicts overridden",
        user_id,
        entry.id,
        course_id,
        len(found),
    )
    return ChangeResult(saved=True, conflicts=found, entry_id=entry.id, warnings=warnings)


def move_entry(entry: TimetableEntry, user_id: int, data: dict, override: bool) -> ChangeResult:
    """Move a line to another day, lesson or room, unless it conflicts and ``override`` is off.

    A ``room`` key left out keeps the line's room; an empty one clears it.
    """
    school_class = entry.course.school_class
    errors: list[str] = []
    room_id = _read_room(data, entry.school_id) if "room" in data else entry.room_id
    weekday, number = _read_slot(data, school_class.six_day_week, errors)
    if errors:
        raise EditorInputError(errors)

    line = Line(
        entry.id,
        entry.course_id,
        weekday,
        number,
        room_id,
        entry.week_parity,
        entry.valid_from,
        entry.valid_to,
    )
    found = _check(entry.school_id, entry.course.year_id, entry.id, line, count_load=False)
    warnings = health.check_class(school_class, removed_id=entry.id, added=line)
    if found and not override:
        return ChangeResult(saved=False, conflicts=found, entry_id=entry.id, warnings=warnings)

    entry.weekday = weekday
    entry.lesson_number = number
    entry.room_id = room_id
    _mark_override(entry, found, user_id)
    db.session.flush()
    log.info(
        "User %s moved template line %s with %d conflicts overridden", user_id, entry.id, len(found)
    )
    return ChangeResult(saved=True, conflicts=found, entry_id=entry.id, warnings=warnings)


def remove_entry(entry: TimetableEntry, user_id: int) -> ChangeResult:
    """Delete a line; removing a lesson can create no conflict, but health warnings remain."""
    entry_id = entry.id
    school_class = entry.course.school_class
    db.session.delete(entry)
    db.session.flush()
    log.info("User %s removed template line %s", user_id, entry_id)
    return ChangeResult(saved=True, conflicts=[], warnings=health.check_class(school_class))
