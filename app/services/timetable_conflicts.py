"""Conflicts of the weekly timetable template (шаблон расписания).

The whole template of a school year is read with one statement (a UNION ALL of typed rows)
and checked in Python with dictionaries keyed by slot (weekday and lesson number) and
resource. For a school of 1,400 lines a week the Python part takes less time than one read
of the template lines (bench/timetable_speed.py). Names for the messages are read
afterwards, only for the lines that clash.

Two lines meet when they share the weekday and lesson number, their week parities can
fall on the same week (every week meets odd and even, odd never meets even) and their
dates of validity overlap. Lines that meet clash on:

- a teacher of both courses (``teacher``);
- the room (``room``);
- the class: a whole-class lesson meets any lesson of the class or of a group with
  students of the class (``class``);
- a group: the same group twice, or two groups with a student in common (``group``).
  Two groups with no student in common (the halves of a class split for a language)
  may run together; groups whose lists are still empty are taken as such halves.

Besides, a course placed more times a week than its hours (``load``, a line of odd or
even weeks counting 0.5) and a room with fewer seats than the students of the class or
group (``capacity``) are conflicts of one line.
"""

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import NamedTuple

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Date,
    Integer,
    Numeric,
    String,
    bindparam,
    cast,
    func,
    inspect,
    literal,
    null,
    select,
    union_all,
)

from app.errors import DomainError
from app.models import (
    Course,
    Employee,
    Room,
    SchoolClass,
    Student,
    StudyGroup,
    Subject,
    TimetableEntry,
    course_teacher,
    db,
    study_group_student,
)

log = logging.getLogger(__name__)

#: The id a proposed new line carries while it is checked.
NEW_LINE = 0

#: Weight of a line in the weekly count of a course's lessons, in half lessons: a line of
#: odd or even weeks counts as half a lesson a week.
_HALVES = {"every": 2, "odd": 1, "even": 1}

CONFLICT_KINDS = ("teacher", "room", "class", "group", "load", "capacity")


class Line(NamedTuple):
    """One line of the template, as the checker reads it.

    A named tuple rather than a dataclass, because the whole template's lines are built on
    every check and a tuple is the cheapest to build.
    """

    id: int
    course_id: int
    weekday: int
    lesson_number: int
    room_id: int | None
    week_parity: str = "every"
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    @property
    def slot(self) -> tuple[int, int]:
        return self.weekday, self.lesson_number


@dataclass(frozen=True)
class CourseFacts:
    class_id: int
    group_id: int | None
    hours_per_week: Decimal
    teacher_ids: tuple[int, ...]


@dataclass
class Template:
    """The template of one school year and the facts the checks need, keyed by id."""

    lines: list[Line]
    courses: dict[int, CourseFacts]
    room_capacities: dict[int, int | None]
    class_sizes: dict[int, int]
    group_students: dict[int, frozenset[int]]
    #: Classes whose students a group holds, the course's class always included.
    group_classes: dict[int, frozenset[int]] = field(default_factory=dict)

    def replaced(self, removed_id: int | None, added: Line | None) -> "Template":
        """Return a copy of the template with one line taken out and another put in."""
        lines = [line for line in self.lines if line.id != removed_id]
        if added is not None:
            lines.append(added)
        return Template(
            lines,
            self.courses,
            self.room_capacities,
            self.class_sizes,
            self.group_students,
            self.group_classes,
        )


@dataclass(frozen=True)
class Clash:
    """A conflict found, before its message is written.

    ``line`` is the line the message speaks of (the changed one, when a change is checked),
    ``other`` the line it meets, and ``resource`` the id of the teacher, room, class or
    group they share.
    """

    kind: str
    line: Line
    other: Line | None
    resource: int | None = None
    amount: Decimal | int | None = None


@dataclass(frozen=True)
class Conflict:
    """A conflict with its message, for the editor and the template check."""

    kind: str
    entry_ids: tuple[int, ...]
    #: The course of the line the message speaks of: «Математика, 5А».
    course: str
    message: str


# --- Reading the template ----------------------------------------------------------------


@cache
def _template_statement():
    """Build, once, the one statement that reads a year's template and the facts its checks need.

    It is a UNION ALL of typed rows that share one column layout, distinguished by ``kind``:

    - ``line``: a template line with its course's class, group, weekly hours and the ids of
      its teachers, comma-separated;
    - ``room``: a room's id in ``id`` and its seats in ``course_id``;
    - ``class``: a class's id in ``id`` and its active students in ``course_id``;
    - ``group``: a group's id in ``id``, its students' ids in ``ids`` and their classes'
      ids in ``more_ids``, comma-separated.

    The school and year are the parameters ``school_id`` and ``year_id``.
    """
    school_id = bindparam("school_id", type_=Integer)
    year_id = bindparam("year_id", type_=Integer)
    teachers = (
        select(
            course_teacher.c.course_id,
            func.aggregate_strings(cast(course_teacher.c.employee_id, String), ",").label("ids"),
        )
        .join(Course, Course.id == course_teacher.c.course_id)
        .where(Course.school_id == school_id, Course.year_id == year_id)
        .group_by(course_teacher.c.course_id)
        .subquery()
    )
    lines = (
        select(
            literal("line").label("kind"),
            TimetableEntry.id,
            TimetableEntry.course_id,
            TimetableEntry.weekday,
            TimetableEntry.lesson_number,
            TimetableEntry.room_id,
            TimetableEntry.week_parity,
            TimetableEntry.valid_from,
            TimetableEntry.valid_to,
            Course.class_id,
            Course.group_id,
            Course.hours_per_week,
            teachers.c.ids,
            _null(String),
        )
        .join(Course, Course.id == TimetableEntry.course_id)
        .outerjoin(teachers, teachers.c.course_id == Course.id)
        .where(TimetableEntry.school_id == school_id, Course.year_id == year_id)
    )
    rooms = _fact_row("room", Room.id, Room.capacity).where(Room.school_id == school_id)
    class_sizes = (
        _fact_row("class", Student.class_id, func.count())
        .where(Student.school_id == school_id, Student.is_active.is_(True))
        .group_by(Student.class_id)
    )
    groups = (
        _fact_row(
            "group",
            study_group_student.c.group_id,
            _null(Integer),
            ids=func.aggregate_strings(cast(study_group_student.c.student_id, String), ","),
            more_ids=func.aggregate_strings(cast(Student.class_id, String), ","),
        )
        .select_from(study_group_student)
        .join(StudyGroup, StudyGroup.id == study_group_student.c.group_id)
        .join(Student, Student.id == study_group_student.c.student_id)
        .where(StudyGroup.school_id == school_id, StudyGroup.year_id == year_id)
        .group_by(study_group_student.c.group_id)
    )
    return union_all(lines, rooms, class_sizes, groups)


def _null(type_):
    return cast(null(), type_)


def _fact_row(kind: str, key, amount, ids=None, more_ids=None):
    """Select a row of the template statement that is not a line (see its layout)."""
    return select(
        literal(kind),
        key,
        amount,
        _null(Integer),
        _null(Integer),
        _null(Integer),
        _null(String),
        _null(Date),
        _null(Date),
        _null(Integer),
        _null(Integer),
        _null(Numeric),
        ids if ids is not None else _null(String),
        more_ids if more_ids is not None else _null(String),
    )


def _split_ids(text: str | None) -> list[int]:
    return [int(part) for part in text.split(",")] if text else []


def load_template(school_id: int, year_id: int) -> Template:
    """Read the template of a school year and the facts its checks need, in one statement.

    Only the courses placed in the template are known afterwards, so :func:`with_course`
    adds a course placed for the first time.
    """
    lines: list[Line] = []
    courses: dict[int, CourseFacts] = {}
    room_capacities: dict[int, int | None] = {}
    class_sizes: dict[int, int] = {}
    group_students: dict[int, frozenset[int]] = {}
    classes: dict[int, set[int]] = defaultdict(set)
    rows = db.session.execute(
        _template_statement(), {"school_id": school_id, "year_id": year_id}
    ).all()
    for row in rows:
        kind = row[0]
        if kind == "line":
            lines.append(Line(*row[1:9]))
            course_id = row[2]
            if course_id not in courses:
                teacher_ids = tuple(sorted(set(_split_ids(row[12]))))
                courses[course_id] = CourseFacts(row[9], row[10], row[11], teacher_ids)
        elif kind == "room":
            room_capacities[row[1]] = row[2]
        elif kind == "class":
            class_sizes[row[1]] = row[2]
        else:
            group_students[row[1]] = frozenset(_split_ids(row[12]))
            classes[row[1]].update(_split_ids(row[13]))

    for facts in courses.values():
        if facts.group_id is not None:
            classes[facts.group_id].add(facts.class_id)

    return Template(
        lines=lines,
        courses=courses,
        room_capacities=room_capacities,
        class_sizes=class_sizes,
        group_students=group_students,
        group_classes={group_id: frozenset(ids) for group_id, ids in classes.items()},
    )


def with_course(template: Template, course_id: int) -> Template:
    """Add the facts of a course that has no line in the template yet."""
    if course_id in template.courses:
        return template
    rows = db.session.execute(
        select(
            Course.class_id, Course.group_id, Course.hours_per_week, course_teacher.c.employee_id
        )
        .outerjoin(course_teacher, course_teacher.c.course_id == Course.id)
        .where(Course.id == course_id)
    ).all()
    if not rows:
        return template
    class_id, group_id, hours = rows[0][:3]
    teacher_ids = tuple(sorted(row[3] for row in rows if row[3] is not None))
    template.courses[course_id] = CourseFacts(class_id, group_id, hours, teacher_ids)
    if group_id is not None:
        classes = set(template.group_classes.get(group_id, ())) | {class_id}
        template.group_classes[group_id] = frozenset(classes)
    return template


# --- The checks ---------------------------------------------------------------------------


def lines_meet(first: Line, second: Line) -> bool:
    """Tell whether two lines of the same slot can fall on the same day."""
    if (
        first.week_parity != "every"
        and second.week_parity != "every"
        and first.week_parity != second.week_parity
    ):
        return False
    if first.valid_from and second.valid_to and first.valid_from > second.valid_to:
        return False
    if second.valid_from and first.valid_to and second.valid_from > first.valid_to:
        return False
    return True


def _course_resources(course_id: int, template: Template) -> tuple[tuple[str, int], ...]:
    """Keys of what a course's lines occupy in their slot, the room aside."""
    facts = template.courses.get(course_id)
    if facts is None:
        return ()
    keys = [("teacher", teacher_id) for teacher_id in facts.teacher_ids]
    if facts.group_id is None:
        keys.append(("class", facts.class_id))
    else:
        keys.append(("group", facts.group_id))
        for class_id in template.group_classes.get(facts.group_id, (facts.class_id,)):
            keys.append(("part", class_id))
    return tuple(keys)


def _pair_clash(kind: str, key_id: int, first: Line, second: Line, template: Template):
    """Return the clash of two lines filed under one key, or None when the key allows both."""
    if kind == "part":
        first_group = template.courses[first.course_id].group_id
        second_group = template.courses[second.course_id].group_id
        if first_group == second_group:
            return None  # reported once, under the group's own key
        shared = template.group_students.get(first_group, frozenset()) & (
            template.group_students.get(second_group, frozenset())
        )
        if not shared:
            return None
        return "group", second_group, len(shared)
    if kind == "class":
        # Two group lessons of the class are judged under the key "part".
        first_group = template.courses[first.course_id].group_id
        second_group = template.courses[second.course_id].group_id
        if first_group is not None and second_group is not None:
            return None
    return kind, key_id, None


def slot_clashes(template: Template, only: Line | None = None) -> list[Clash]:
    """Find clashes of lines that meet in one slot; with ``only``, just those involving it.

    Each line is filed under (slot, key) for every teacher, room, class or group it
    holds, and only the keys filed more than once are compared pairwise.
    """
    course_keys: dict[int, tuple] = {}
    holders: dict[tuple, list[Line]] = {}
    shared: list[tuple] = []
    for line in template.lines:
        slot = (line.weekday, line.lesson_number)
        if only is not None and slot != only.slot:
            continue
        keys = course_keys.get(line.course_id)
        if keys is None:
            keys = course_keys[line.course_id] = _course_resources(line.course_id, template)
        if line.room_id is not None:
            keys = (*keys, ("room", line.room_id))
        for key in keys:
            filed = (slot, key)
            holding = holders.get(filed)
            if holding is None:
                holders[filed] = [line]
                # A whole-class lesson also meets the class's group lessons.
                if key[0] == "part" and (slot, ("class", key[1])) in holders:
                    shared.append((slot, ("class", key[1])))
                elif key[0] == "class" and (slot, ("part", key[1])) in holders:
                    shared.append(filed)
                continue
            if len(holding) == 1:
                shared.append(filed)
            holding.append(line)

    clashes = []
    seen = set()
    for filed in dict.fromkeys(shared):
        slot, (kind, key_id) = filed
        holding = holders[filed]
        if kind == "class":
            holding = holding + holders.get((slot, ("part", key_id)), [])
        clashes.extend(_clashes_of(kind, key_id, holding, template, only, seen))
    return clashes


def _clashes_of(kind, key_id, holding, template, only, seen):
    found = []
    for index, first in enumerate(holding):
        for second in holding[index + 1 :]:
            if only is not None and only.id not in (first.id, second.id):
                continue
            if first.id == second.id or not lines_meet(first, second):
                continue
            clash = _pair_clash(kind, key_id, first, second, template)
            if clash is None:
                continue
            clash_kind, resource, amount = clash
            # The message speaks of the changed line, else of the later one.
            if only is not None:
                line, other = (first, second) if first.id == only.id else (second, first)
            else:
                line, other = (first, second) if first.id > second.id else (second, first)
            mark = (clash_kind, resource, min(first.id, second.id), max(first.id, second.id))
            if mark in seen:
                continue
            seen.add(mark)
            found.append(Clash(clash_kind, line, other, resource, amount))
    return found


def load_clashes(template: Template, course_ids: set[int] | None = None) -> list[Clash]:
    """Find courses placed more often a week than their hours.

    Lines with dates of validity that do not overlap replace one another, so a course's
    count is the largest sum over the dates where its lines begin.
    """
    by_course: dict[int, list[Line]] = defaultdict(list)
    for line in template.lines:
        if course_ids is None or line.course_id in course_ids:
            by_course[line.course_id].append(line)

    clashes = []
    for course_id, lines in by_course.items():
        facts = template.courses.get(course_id)
        if facts is None:
            continue
        placed = _largest_weekly_count(lines)
        if placed > facts.hours_per_week:
            line = max(lines, key=lambda item: item.id if item.id != NEW_LINE else 1 << 62)
            clashes.append(Clash("load", line, None, course_id, placed))
    return clashes


def _largest_weekly_count(lines: list[Line]) -> Decimal:
    if all(line.valid_from is None and line.valid_to is None for line in lines):
        halves = sum(_HALVES.get(line.week_parity, 2) for line in lines)
        return Decimal(halves) / 2
    largest = 0
    for start in {line.valid_from for line in lines}:
        halves = sum(_HALVES.get(line.week_parity, 2) for line in lines if _runs_on(line, start))
        largest = max(largest, halves)
    return Decimal(largest) / 2


def _runs_on(line: Line, start: dt.date | None) -> bool:
    """Tell whether a line runs at a start date; None is the start of the year."""
    if start is None:
        return line.valid_from is None
    if line.valid_from is not None and line.valid_from > start:
        return False
    return line.valid_to is None or line.valid_to >= start


def capacity_clashes(template: Template, lines: list[Line] | None = None) -> list[Clash]:
    """Find lines whose room has fewer seats than the students of the class or group."""
    clashes = []
    for line in template.lines if lines is None else lines:
        capacity = template.room_capacities.get(line.room_id) if line.room_id else None
        facts = template.courses.get(line.course_id)
        if capacity is None or facts is None:
            continue
        if facts.group_id is not None:
            size = len(template.group_students.get(facts.group_id, ()))
        else:
            size = template.class_sizes.get(facts.class_id, 0)
        if size > capacity:
            clashes.append(Clash("capacity", line, None, line.room_id, size))
    return clashes


def find_clashes(template: Template) -> list[Clash]:
    """Find every conflict of a whole template."""
    return slot_clashes(template) + load_clashes(template) + capacity_clashes(template)


def change_clashes(template: Template, line: Line, *, count_load: bool) -> list[Clash]:
    """Find the conflicts a new or moved line brings; the template must already contain it.

    The load of the course is counted only when asked: moving a line keeps the count.
    """
    clashes = slot_clashes(template, only=line)
    if count_load:
        clashes += load_clashes(template, {line.course_id})
    return clashes + capacity_clashes(template, [line])


# --- Messages --------------------------------------------------------------------------------


def weekday_phrase(weekday: int) -> str:
    """The weekday as it follows «в»: «в понедельник», «во вторник»."""
    phrases = {
        1: _("on Monday"),
        2: _("on Tuesday"),
        3: _("on Wednesday"),
        4: _("on Thursday"),
        5: _("on Friday"),
        6: _("on Saturday"),
        7: _("on Sunday"),
    }
    return phrases[weekday]


def slot_phrase(weekday: int, lesson_number: int) -> str:
    return _(
        "%(weekday)s, lesson %(number)s", weekday=weekday_phrase(weekday), number=lesson_number
    )


class _Names:
    """Names of the courses, teachers, rooms and groups the clashes mention, read once."""

    def __init__(self, clashes: list[Clash]):
        course_ids = {c.line.course_id for c in clashes} | {
            c.other.course_id for c in clashes if c.other is not None
        }
        self.courses = {}
        rows = db.session.execute(
            select(Course.id, Subject.name, SchoolClass.name, StudyGroup.name)
            .join(Subject, Subject.id == Course.subject_id)
            .join(SchoolClass, SchoolClass.id == Course.class_id)
            .outerjoin(StudyGroup, StudyGroup.id == Course.group_id)
            .where(Course.id.in_(course_ids))
        )
        for course_id, subject, class_name, group_name in rows:
            self.courses[course_id] = (subject, group_name or class_name, class_name)

        def ids(kind):
            return {c.resource for c in clashes if c.kind == kind}

        self.teachers = {
            employee.id: employee.short_name
            for employee in db.session.scalars(
                select(Employee).where(Employee.id.in_(ids("teacher")))
            )
        }
        room_ids = ids("room") | ids("capacity")
        self.rooms = dict(
            db.session.execute(select(Room.id, Room.name).where(Room.id.in_(room_ids))).all()
        )
        self.classes = dict(
            db.session.execute(
                select(SchoolClass.id, SchoolClass.name).where(SchoolClass.id.in_(ids("class")))
            ).all()
        )
        self.groups = dict(
            db.session.execute(
                select(StudyGroup.id, StudyGroup.name).where(StudyGroup.id.in_(ids("group")))
            ).all()
        )

    def course(self, course_id: int) -> str:
        subject, target, _class_name = self.courses.get(course_id, ("?", "?", "?"))
        return f"{subject}, {target}"

    def subject(self, course_id: int) -> str:
        return self.courses.get(course_id, ("?", "?", "?"))[0]

    def target(self, course_id: int) -> str:
        return self.courses.get(course_id, ("?", "?", "?"))[1]


def _message(clash: Clash, names: _Names, template: Template) -> str:
    other = clash.other
    when = slot_phrase(clash.line.weekday, clash.line.lesson_number)
    if clash.kind == "teacher":
        return _(
            "Teacher %(teacher)s already teaches %(subject)s in %(target)s %(when)s.",
            teacher=names.teachers.get(clash.resource, "?"),
            subject=names.subject(other.course_id),
            target=names.target(other.course_id),
            when=when,
        )
    if clash.kind == "room":
        return _(
            "Room %(room)s is already taken by %(subject)s of %(target)s %(when)s.",
            room=names.rooms.get(clash.resource, "?"),
            subject=names.subject(other.course_id),
            target=names.target(other.course_id),
            when=when,
        )
    if clash.kind == "class":
        return _(
            "Class %(class_name)s already has %(subject)s (%(target)s) %(when)s.",
            class_name=names.classes.get(clash.resource, "?"),
            subject=names.subject(other.course_id),
            target=names.target(other.course_id),
            when=when,
        )
    if clash.kind == "group":
        if clash.amount:
            return _(
                "Group %(group)s shares %(count)s students with %(target)s, which has "
                "%(subject)s %(when)s.",
                group=names.target(clash.line.course_id),
                count=clash.amount,
                target=names.target(other.course_id),
                subject=names.subject(other.course_id),
                when=when,
            )
        return _(
            "Group %(group)s already has %(subject)s %(when)s.",
            group=names.groups.get(clash.resource, "?"),
            subject=names.subject(other.course_id),
            when=when,
        )
    if clash.kind == "load":
        hours = template.courses[clash.resource].hours_per_week
        return _(
            "The template has %(placed)s lessons a week of %(course)s, more than its "
            "%(hours)s hours a week.",
            placed=_number(clash.amount),
            course=names.course(clash.resource),
            hours=_number(hours),
        )
    return _(
        "Room %(room)s has %(capacity)s seats, fewer than the %(size)s students of %(target)s "
        "(%(subject)s %(when)s).",
        room=names.rooms.get(clash.resource, "?"),
        capacity=template.room_capacities.get(clash.resource),
        size=clash.amount,
        target=names.target(clash.line.course_id),
        subject=names.subject(clash.line.course_id),
        when=when,
    )


def _number(value) -> str:
    """Write 5, 5.5 or 2.5 the Russian way: «5», «5,5»."""
    value = Decimal(value).normalize()
    text = f"{value:f}"
    return text.replace(".", ",")


def describe(clashes: list[Clash], template: Template) -> list[Conflict]:
    """Write the message of every clash, reading the names they mention at once."""
    if not clashes:
        return []
    names = _Names(clashes)
    conflicts = []
    for clash in clashes:
        ids = (clash.line.id,) if clash.other is None else (clash.line.id, clash.other.id)
        conflicts.append(
            Conflict(
                kind=clash.kind,
                entry_ids=ids,
                course=names.course(clash.line.course_id),
                message=_message(clash, names, template),
            )
        )
    return conflicts


def check_template(school_id: int, year_id: int) -> list[Conflict]:
    """Find every conflict of a school year's template and write its messages."""
    template = load_template(school_id, year_id)
    clashes = find_clashes(template)
    log.info(
        "Checked %d template lines of school %d, year %d: %d conflicts",
        len(template.lines),
        school_id,
        year_id,
        len(clashes),
    )
    return describe(clashes, template)


def entry_conflicts(entry: TimetableEntry) -> list[Conflict]:
    """Find the conflicts a template line written outside the editor would bring.

    The line may be new or an edited row not yet flushed. As in the editor, the course's
    load is counted only when the line is new or moves to another course.
    """
    state = inspect(entry)
    count_load = (
        entry.id is None
        or state.attrs.course_id.history.has_changes()
        or state.attrs.course.history.has_changes()
    )
    course_id = entry.course.id if entry.course is not None else entry.course_id
    room_id = entry.room.id if entry.room is not None else entry.room_id
    line = Line(
        entry.id or NEW_LINE,
        course_id,
        entry.weekday,
        entry.lesson_number,
        room_id,
        entry.week_parity or "every",
        entry.valid_from,
        entry.valid_to,
    )

    # The stored version of an edited line is read and then replaced by the new one.
    with db.session.no_autoflush:
        year_id = db.session.scalar(select(Course.year_id).where(Course.id == course_id))
        if year_id is None:
            return []
        template = load_template(entry.school_id, year_id)
        template = with_course(template, course_id).replaced(entry.id, line)
        clashes = change_clashes(template, line, count_load=count_load)
        return describe(clashes, template)


def reject_conflicting_entry(entry: TimetableEntry) -> None:
    """Raise a :class:`DomainError` listing the conflicts of a line saved outside the editor.

    Only the template editor saves a conflicting line, with the user's explicit override,
    so the generic list and REST API of template lines reject one.
    """
    found = entry_conflicts(entry)
    if not found:
        return
    log.info(
        "Rejected a template line of course %s outside the editor: %d conflicts",
        entry.course_id,
        len(found),
    )
    raise DomainError(
        _l(
            "The lesson was not saved: %(conflicts)s To place it despite the conflicts, "
            "use the timetable template editor and confirm the override there."
        ),
        conflicts=" ".join(conflict.message for conflict in found),
    )
