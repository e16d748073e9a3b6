"""Matching a plan to one school and year: what exists, what will be created, what not.

Names match exactly, ignoring letter case, repeated spaces and the difference between
«ё» and «е». Each record of the file resolves to a token: ``db:<id>`` for a record the
school has, ``new:<name>`` for one the import creates, so that two file records with the
same name become one record of the school.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from app.models import (
    Course,
    Employee,
    Room,
    SchoolClass,
    StudyGroup,
    Subject,
    TimetableEntry,
    db,
)
from app.services.timetable_conflicts import slot_phrase
from app.services.timetable_import.plan import NO_STUDENTS, NO_SUBJECT, Plan, Problem

MATCHED = "matched"
NEW = "new"
KINDS = ("teacher", "subject", "room", "class", "group", "course", "entry")


def normal(name: str) -> str:
    """Fold the case and spacing of a name and read «ё» as «е», for comparison."""
    return " ".join(str(name).casefold().replace("ё", "е").split())


@dataclass
class Line:
    """One record of the file as the preview shows it."""

    kind: str
    name: str
    status: str


@dataclass(repr=False)
class Preview:
    """The matched plan, ready to be shown and, once confirmed, written."""

    year_id: int
    lines: list[Line] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: Messages that do not block the import: the conflicts it brings, lessons on days off.
    warnings: list[str] = field(default_factory=list)
    targets: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    creates: dict[str, dict[str, dict]] = field(default_factory=lambda: defaultdict(dict))
    #: Courses by (subject, class, group) token: hours, teacher tokens, existing id.
    courses: dict[tuple, dict] = field(default_factory=dict)
    #: New template lines: (course key, weekday, lesson number, parity) → room token.
    entries: dict[tuple, str | None] = field(default_factory=dict)
    existing_entries: int = 0

    def __repr__(self) -> str:
        # Counts only: the names are teachers' personal data and stay out of logs.
        counts = {kind: (self.count(kind, MATCHED), self.count(kind, NEW)) for kind in KINDS}
        return f"Preview(year_id={self.year_id}, counts={counts}, errors={len(self.errors)})"

    def count(self, kind: str, status: str) -> int:
        if kind == "entry":
            return len(self.entries) if status == NEW else self.existing_entries
        return sum(1 for line in self.lines if line.kind == kind and line.status == status)

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def to_write(self) -> bool:
        return any(line.status == NEW for line in self.lines) or bool(self.entries)


def build_preview(plan: Plan, school_id: int, year_id: int) -> Preview:
    """Match every record of the plan to the school's records of one year."""
    preview = Preview(year_id=year_id, problems=list(plan.problems), errors=list(plan.errors))
    if preview.errors:
        return preview
    _match_named(preview, "subject", plan.subjects, _subjects(school_id), 150)
    _match_named(preview, "room", plan.rooms, _rooms(school_id), 50)
    _match_teachers(preview, plan.teachers, school_id)
    _match_classes(preview, plan, school_id, year_id)
    _match_groups(preview, plan, school_id, year_id)
    activity_courses = _match_courses(preview, plan, school_id, year_id)
    _match_entries(preview, plan, activity_courses, school_id)
    if plan.strict:
        for problem in preview.problems:
            preview.errors.append(
                _(
                    "«%(name)s» is not imported: %(reason)s.",
                    name=problem.name,
                    reason=problem.reason,
                )
            )
    return preview


def _subjects(school_id: int) -> dict[str, int]:
    found = {}
    for subject in db.session.scalars(select(Subject).where(Subject.school_id == school_id)):
        found.setdefault(normal(subject.name), subject.id)
        if subject.short_name:
            found.setdefault(normal(subject.short_name), subject.id)
    return found


def _rooms(school_id: int) -> dict[str, int]:
    rooms = db.session.scalars(select(Room).where(Room.school_id == school_id))
    return {normal(room.name): room.id for room in rooms}


def _resolve(preview: Preview, kind: str, key: str, name: str, found_id, values: dict) -> None:
    """Point a file record at an existing record or at one to create, and list it once."""
    token = f"db:{found_id}" if found_id is not None else f"new:{normal(name)}"
    preview.targets[kind][key] = token
    if found_id is None and token not in preview.creates[kind]:
        preview.creates[kind][token] = values
        preview.lines.append(Line(kind, name, NEW))
    elif found_id is not None and token not in preview.creates[kind]:
        preview.creates[kind][token] = {}
        preview.lines.append(Line(kind, name, MATCHED))


def _too_long(preview: Preview, kind: str, name: str, limit: int) -> bool:
    if len(name) <= limit:
        return False
    reason = _("the name is longer than %(limit)s characters", limit=limit)
    preview.problems.append(Problem(kind, name, reason))
    return True


def _match_named(preview, kind: str, names: dict[str, str], found: dict[str, int], limit: int):
    for key, name in names.items():
        if not name or _too_long(preview, kind, name, limit):
            continue
        _resolve(preview, kind, key, name, found.get(normal(name)), {"name": name})


def _teacher_index(school_id: int) -> dict[str, list[int]]:
    index = defaultdict(set)
    for employee in db.session.scalars(select(Employee).where(Employee.school_id == school_id)):
        short = employee.short_name
        for variant in (employee.full_name, short, short.replace(". ", ".")):
            index[normal(variant)].add(employee.id)
        index[normal(f"{employee.last_name} {employee.first_name}")].add(employee.id)
    return {name: sorted(ids) for name, ids in index.items()}


def _person_values(name: str) -> dict | None:
    """Surname, name and patronymic from a name written in the Russian order."""
    parts = name.split()
    values = {
        "last_name": parts[0],
        "first_name": parts[1] if len(parts) > 1 else "",
        "middle_name": " ".join(parts[2:]) or None,
    }
    if any(len(value or "") > 100 for value in values.values()):
        return None
    return values


def _match_teachers(preview: Preview, teachers: dict[str, str], school_id: int) -> None:
    index = _teacher_index(school_id)
    for key, name in teachers.items():
        if not name:
            continue
        found = index.get(normal(name), [])
        if len(found) > 1:
            reason = _("several employees of the school have this name; link the courses by hand")
            preview.problems.append(Problem("teacher", name, reason))
            continue
        values = _person_values(name)
        if values is None:
            preview.problems.append(Problem("teacher", name, _("a part of the name is too long")))
            continue
        _resolve(preview, "teacher", key, name, found[0] if found else None, values)


def _match_classes(preview: Preview, plan: Plan, school_id: int, year_id: int) -> None:
    statement = select(SchoolClass).where(
        SchoolClass.school_id == school_id, SchoolClass.year_id == year_id
    )
    found = {normal(c.name): c.id for c in db.session.scalars(statement)}
    for key, spec in plan.classes.items():
        if spec.grade is None or not 1 <= spec.grade <= 11:
            reason = _(
                "the name does not start with a grade from 1 to 11; "
                "rename the class in the file like «5А»"
            )
            preview.problems.append(Problem("class", spec.name, reason))
            continue
        name = f"{spec.grade}{spec.letter}"
        existing = found.get(normal(name), found.get(normal(spec.name)))
        if existing is None and (len(spec.letter) > 5 or len(name) > 10):
            reason = _(
                "the letter of the class is longer than 5 characters; shorten it in the file"
            )
            preview.problems.append(Problem("class", spec.name, reason))
            continue
        values = {"name": name, "grade": spec.grade, "letter": spec.letter}
        _resolve(preview, "class", key, name, existing, values)


def _match_groups(preview: Preview, plan: Plan, school_id: int, year_id: int) -> None:
    statement = select(StudyGroup).where(
        StudyGroup.school_id == school_id, StudyGroup.year_id == year_id
    )
    found = {normal(g.name): g.id for g in db.session.scalars(statement)}
    for key, spec in plan.groups.items():
        if _too_long(preview, "group", spec.name, 100):
            continue
        class_tokens = [preview.targets["class"].get(k) for k in spec.class_keys]
        if not class_tokens or class_tokens[0] is None:
            reason = _("the class of the group is not imported")
            preview.problems.append(Problem("group", spec.name, reason))
            continue
        # A group listed in several classes is a group drawn from several classes.
        values = {
            "name": spec.name,
            "class": class_tokens[0] if len(set(class_tokens)) == 1 else None,
        }
        _resolve(preview, "group", key, spec.name, found.get(normal(spec.name)), values)


def _existing_courses(school_id: int, year_id: int) -> dict[tuple, Course]:
    statement = select(Course).where(
        Course.school_id == school_id, Course.year_id == year_id, Course.kind == "lesson"
    )
    return {
        (f"db:{c.subject_id}", f"db:{c.class_id}", f"db:{c.group_id}" if c.group_id else None): c
        for c in db.session.scalars(statement)
    }


def _activity_targets(preview: Preview, plan: Plan, activity) -> list[tuple]:
    """List the (class token, group token) pairs an activity is taught to."""
    pairs = []
    for name in activity.students:
        for class_key, group_key in plan.sets.get(name, []):
            class_token = preview.targets["class"].get(class_key)
            group_token = preview.targets["group"].get(group_key) if group_key else None
            if class_token is None or (group_key and group_token is None):
                continue
            if (class_token, group_token) not in pairs:
                pairs.append((class_token, group_token))
    return pairs


def _match_courses(preview: Preview, plan: Plan, school_id: int, year_id: int) -> dict:
    existing = _existing_courses(school_id, year_id)
    activity_courses = {}
    for activity in plan.activities:
        label = activity.label or f"№ {activity.key}"
        subject = preview.targets["subject"].get(activity.subject or "")
        if subject is None:
            preview.problems.append(Problem("activity", label, str(NO_SUBJECT)))
            continue
        pairs = _activity_targets(preview, plan, activity)
        if not pairs:
            preview.problems.append(Problem("activity", label, str(NO_STUDENTS)))
            continue
        teachers = [
            preview.targets["teacher"][t]
            for t in activity.teachers
            if t in preview.targets["teacher"]
        ]
        keys = []
        for class_token, group_token in pairs:
            key = (subject, class_token, group_token)
            found = existing.get(key)
            course = preview.courses.setdefault(
                key,
                {
                    "hours": Decimal(0),
                    "teachers": [],
                    "id": found.id if found is not None else None,
                    "school_hours": found.hours_per_week if found is not None else None,
                },
            )
            course["hours"] += activity.hours
            course["teachers"] += [t for t in teachers if t not in course["teachers"]]
            keys.append(key)
        activity_courses[activity.key] = keys
    names = _new_names(preview)
    for key, course in preview.courses.items():
        status = MATCHED if course["id"] is not None else NEW
        preview.lines.append(Line("course", _course_label(names, key, course), status))
    return activity_courses


_COURSE_KEY_KINDS = (("subject", Subject), ("class", SchoolClass), ("group", StudyGroup))


def _new_names(preview: Preview) -> dict[tuple[str, str], str]:
    """Name the subjects, classes and groups by kind and token, for the course labels."""
    # Tokens of different kinds may share an id («db:5»), so the kind is part of the key.
    names = {}
    for kind, model in _COURSE_KEY_KINDS:
        for token, values in preview.creates[kind].items():
            names[kind, token] = values.get("name") or _known_name(model, token)
    return names


def _course_label(names: dict[tuple[str, str], str], key: tuple, course: dict) -> str:
    kinds = [kind for kind, _model in _COURSE_KEY_KINDS]
    parts = [names[kind, token] for kind, token in zip(kinds, key, strict=True) if token]
    label = _(
        "%(course)s, %(hours)s h a week",
        course=" — ".join(parts),
        hours=hours_text(course["hours"]),
    )
    school_hours = course.get("school_hours")
    if school_hours is not None and Decimal(school_hours) != course["hours"]:
        label += " " + _("(the school has %(hours)s h a week)", hours=hours_text(school_hours))
    return label


def hours_text(hours) -> str:
    """Write hours the Russian way, with a decimal comma: «2», «0,5»."""
    return f"{Decimal(hours).normalize():f}".replace(".", ",")


def _known_name(model, token: str) -> str:
    record = db.session.get(model, int(token[3:]))
    return record.name if record is not None else token


def _match_entries(preview: Preview, plan: Plan, activity_courses: dict, school_id: int) -> None:
    course_ids = [c["id"] for c in preview.courses.values() if c["id"] is not None]
    existing = set()
    if course_ids:
        statement = select(TimetableEntry).where(
            TimetableEntry.school_id == school_id, TimetableEntry.course_id.in_(course_ids)
        )
        for entry in db.session.scalars(statement):
            existing.add((entry.course_id, entry.weekday, entry.lesson_number, entry.week_parity))
    seen = set()
    five_day = _five_day_classes(preview, school_id)
    for placement in plan.placements:
        room = preview.targets["room"].get(placement.room) if placement.room else None
        for key in activity_courses.get(placement.activity, []):
            slot = (key, placement.weekday, placement.lesson_number, placement.parity)
            if slot in seen:
                continue
            seen.add(slot)
            if placement.weekday > 5 and key[1] in five_day:
                preview.warnings.append(
                    _(
                        "%(class)s, %(slot)s: the class has a five-day week, "
                        "so the lesson falls on its day off.",
                        **{"class": five_day[key[1]], "slot": slot_phrase(*slot[1:3])},
                    )
                )
            course_id = preview.courses[key]["id"]
            if (course_id, *slot[1:]) in existing:
                preview.existing_entries += 1
                continue
            preview.entries[slot] = room


def _five_day_classes(preview: Preview, school_id: int) -> dict[str, str]:
    """Name the classes of the file that study five days a week, by token."""
    names = {}
    for token, values in preview.creates["class"].items():
        if token.startswith("new:"):
            names[token] = values["name"]
        else:
            school_class = db.session.get(SchoolClass, int(token[3:]))
            if school_class is not None and not school_class.six_day_week:
                names[token] = school_class.name
    return names
