"""Reading a FET file (``.fet``, the XML of the FET timetabling program).

FET describes students as years, groups and subgroups. A year named like a class («5А»),
or without groups, is a class, and its groups and subgroups are its study groups. Any
other year («5», «2026») is a parallel: its groups are classes, and their subgroups
are study groups. Activities become courses. A time fixed at 100 % becomes a line of the
weekly template: FET writes one for a locked activity, and one for every activity in the
``*_data_and_timetable.fet`` file it saves with a timetable. In FET 6's mornings and
afternoons mode, two FET days make one school day.
"""

from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element

from flask_babel import gettext as _

from app.services.timetable_import.plan import (
    ActivitySpec,
    GroupSpec,
    ImportFileError,
    PlacementSpec,
    Plan,
    class_spec,
    clean,
    is_class_name,
)

#: Template lines hold lesson numbers up to 12 and ISO weekdays up to 7.
MAX_LESSON = 12
MAX_WEEKDAY = 7


def read_fet(root: Element) -> Plan:
    """Turn the root element of a FET file into a plan."""
    if root.tag != "fet":
        raise ImportFileError(
            [
                _(
                    "The file is not a FET file (its root element is «%(tag)s»): "
                    "choose another format or file.",
                    tag=root.tag,
                )
            ]
        )
    plan = Plan()
    _read_names(root, "Teachers_List/Teacher", plan.teachers)
    _read_names(root, "Subjects_List/Subject", plan.subjects)
    _read_names(root, "Rooms_List/Room", plan.rooms)
    _read_students(root, plan)
    durations = _read_activities(root, plan)
    _read_placements(root, plan, durations)
    return plan


def _name(element: Element) -> str:
    """Read the name of a list entry: a <Name> child in FET 5 and 6, the text in older files."""
    child = element.find("Name")
    return clean(child.text if child is not None else element.text)


def _read_names(root: Element, path: str, target: dict[str, str]) -> None:
    for element in root.findall(path):
        name = _name(element)
        if name:
            target.setdefault(name, name)


def _read_students(root: Element, plan: Plan) -> None:
    for year in root.findall("Students_List/Year"):
        year_name = _name(year)
        groups = year.findall("Group")
        spec = class_spec(year_name)
        if not groups or is_class_name(spec):
            # «5А» with groups «5А девочки»: the year is the class, its groups are parts.
            plan.classes.setdefault(year_name, spec)
            plan.sets.setdefault(year_name, [(year_name, None)])
            for group in groups:
                _add_subgroup(plan, _name(group), year_name)
                for subgroup in group.findall("Subgroup"):
                    _add_subgroup(plan, _name(subgroup), year_name)
            continue
        # «5» with groups «5А», «5Б»: the year is a parallel, its groups are classes.
        members = []
        for group in groups:
            group_name = _name(group)
            plan.classes.setdefault(group_name, class_spec(group_name, year_name))
            plan.sets.setdefault(group_name, [(group_name, None)])
            members.append((group_name, None))
            for subgroup in group.findall("Subgroup"):
                _add_subgroup(plan, _name(subgroup), group_name)
        plan.sets.setdefault(year_name, members)


def _add_subgroup(plan: Plan, name: str, class_key: str) -> None:
    spec = plan.groups.setdefault(name, GroupSpec(name=name))
    if class_key not in spec.class_keys:
        spec.class_keys.append(class_key)
    plan.sets.setdefault(name, [(spec.class_keys[0], name)])


def _number(text, default: Decimal) -> Decimal:
    try:
        return Decimal(clean(text))
    except (InvalidOperation, ValueError):
        return default


def _is_active(element: Element) -> bool:
    return clean(element.findtext("Active", "true")).lower() != "false"


def _read_activities(root: Element, plan: Plan) -> dict[str, int]:
    """Read the active activities; return each one's duration in lessons by its id."""
    durations = {}
    for element in root.findall("Activities_List/Activity"):
        key = clean(element.findtext("Id"))
        if not _is_active(element):
            plan.problem("activity", f"№ {key}", _("the activity is switched off in FET"))
            continue
        duration = _number(element.findtext("Duration"), Decimal(1))
        durations[key] = int(duration)
        plan.activities.append(
            ActivitySpec(
                key=key,
                subject=clean(element.findtext("Subject")) or None,
                teachers=[clean(t.text) for t in element.findall("Teacher") if clean(t.text)],
                students=[clean(s.text) for s in element.findall("Students") if clean(s.text)],
                hours=duration,
            )
        )
    return durations


def _positions(root: Element, path: str) -> dict[str, int]:
    return {_name(element): index for index, element in enumerate(root.findall(path))}


def _fixed(element: Element) -> bool:
    weight = _number(element.findtext("Weight_Percentage"), Decimal(0))
    return _is_active(element) and weight >= 100


def _read_placements(root: Element, plan: Plan, durations: dict[str, int]) -> None:
    days = _positions(root, "Days_List/Day")
    hours = _positions(root, "Hours_List/Hour")
    half_days = clean(root.findtext("Mode")) == "Mornings_Afternoons"
    rooms = {}
    for element in root.iter("ConstraintActivityPreferredRoom"):
        if _fixed(element):
            rooms[clean(element.findtext("Activity_Id"))] = clean(element.findtext("Room"))
    for element in root.iter("ConstraintActivityPreferredStartingTime"):
        key = clean(element.findtext("Activity_Id"))
        if not _fixed(element) or key not in durations:
            continue
        day = days.get(clean(element.findtext("Preferred_Day")))
        hour = hours.get(clean(element.findtext("Preferred_Hour")))
        if day is None or hour is None:
            continue
        if half_days:
            # A FET day of this mode is a morning (even position) or an afternoon (odd),
            # and the afternoon's lessons follow the morning's in the school day.
            weekday, first = day // 2 + 1, (day % 2) * len(hours) + hour + 1
        else:
            weekday, first = day + 1, hour + 1
        _place(plan, key, weekday, first, durations[key], rooms.get(key) or None)


def _place(plan: Plan, key: str, weekday: int, first: int, duration: int, room) -> None:
    if weekday > MAX_WEEKDAY:
        reason = _("day %(day)s of the FET week is beyond the seventh day", day=weekday)
        plan.problem("placement", f"№ {key}", reason)
        return
    for lesson_number in range(first, first + max(duration, 1)):
        if lesson_number > MAX_LESSON:
            reason = _(
                "lesson %(number)s is beyond the twelfth lesson of the day", number=lesson_number
            )
            plan.problem("placement", f"№ {key}", reason)
            continue
        plan.placements.append(PlacementSpec(key, weekday, lesson_number, room))
