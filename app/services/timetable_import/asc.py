"""Reading the XML export of aSc Timetables (lessons and placed cards).

aSc names its records by ids. A group marked ``entireclass`` is the whole class. Any other
group becomes a study group named after its class and itself («5А 1 группа»), because aSc
repeats group names in every class. A card is a lesson placed on a day pattern («01000» is
Tuesday) and a period; a weeks pattern «10» or «01» places it on odd or even weeks.
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
)

MAX_LESSON = 12


def read_asc(root: Element) -> Plan:
    """Turn the root element of an aSc export into a plan."""
    if root.tag != "timetable":
        raise ImportFileError(
            [
                _(
                    "The file is not an aSc Timetables export (its root element is "
                    "«%(tag)s»): choose another format or file.",
                    tag=root.tag,
                )
            ]
        )
    plan = Plan()
    for element in root.iterfind("teachers/teacher"):
        plan.teachers[element.get("id", "")] = _teacher_name(element)
    for element in root.iterfind("subjects/subject"):
        plan.subjects[element.get("id", "")] = clean(element.get("name"))
    for element in root.iterfind("classrooms/classroom"):
        plan.rooms[element.get("id", "")] = clean(element.get("name") or element.get("short"))
    _read_classes(root, plan)
    lessons = _read_lessons(root, plan)
    _read_cards(root, plan, lessons)
    return plan


def _teacher_name(element: Element) -> str:
    parts = [clean(element.get("lastname")), clean(element.get("firstname"))]
    joined = " ".join(part for part in parts if part)
    return joined or clean(element.get("name") or element.get("short"))


def _read_classes(root: Element, plan: Plan) -> None:
    for element in root.iterfind("classes/class"):
        key = element.get("id", "")
        name = clean(element.get("name") or element.get("short"))
        spec = class_spec(name)
        if spec.grade is None and clean(element.get("grade")).isdigit():
            spec = class_spec(name, clean(element.get("grade")))
        plan.classes[key] = spec
        plan.sets[key] = [(key, None)]
    for element in root.iterfind("groups/group"):
        key = element.get("id", "")
        class_key = element.get("classid", "")
        if class_key not in plan.classes:
            continue
        if element.get("entireclass") == "1":
            plan.sets[key] = [(class_key, None)]
            continue
        name = f"{plan.classes[class_key].name} {clean(element.get('name'))}"
        plan.groups[key] = GroupSpec(name=name, class_keys=[class_key])
        plan.sets[key] = [(class_key, key)]


def _ids(value) -> list[str]:
    return [part for part in clean(value).replace(" ", "").split(",") if part]


def _read_lessons(root: Element, plan: Plan) -> set[str]:
    keys = set()
    for element in root.iterfind("lessons/lesson"):
        key = element.get("id", "")
        groups = _ids(element.get("groupids"))
        students = groups or _ids(element.get("classids"))
        try:
            hours = Decimal(clean(element.get("periodsperweek")) or "1")
        except InvalidOperation:
            hours = Decimal(1)
        plan.activities.append(
            ActivitySpec(
                key=key,
                subject=element.get("subjectid") or None,
                teachers=_ids(element.get("teacherids")),
                students=students,
                hours=hours,
                label=_lesson_label(plan, element),
            )
        )
        keys.add(key)
    return keys


def _lesson_label(plan: Plan, element: Element) -> str:
    """Name a lesson by its subject and classes, since aSc ids mean nothing to a user."""
    subject = plan.subjects.get(element.get("subjectid") or "", "—")
    classes = [
        plan.classes[key].name for key in _ids(element.get("classids")) if key in plan.classes
    ]
    return f"{subject}: {', '.join(classes) or '—'}"


def _parity(weeks: str) -> str:
    """Week parity of an aSc weeks pattern: «10» is odd weeks, «01» even, the rest every."""
    return {"10": "odd", "01": "even"}.get(weeks, "every")


def _read_cards(root: Element, plan: Plan, lessons: set[str]) -> None:
    for element in root.iterfind("cards/card"):
        key = element.get("lessonid", "")
        if key not in lessons:
            continue
        period = clean(element.get("period"))
        days = clean(element.get("days"))
        if not period.isdigit() or "1" not in days:
            plan.problem("placement", key, _("the card has no day or period"))
            continue
        lesson_number = int(period)
        if lesson_number > MAX_LESSON:
            reason = _(
                "lesson %(number)s is beyond the twelfth lesson of the day", number=lesson_number
            )
            plan.problem("placement", key, reason)
            continue
        rooms = _ids(element.get("classroomids"))
        for index, flag in enumerate(days[:7]):
            if flag == "1":
                plan.placements.append(
                    PlacementSpec(
                        activity=key,
                        weekday=index + 1,
                        lesson_number=lesson_number,
                        room=rooms[0] if rooms else None,
                        parity=_parity(clean(element.get("weeks"))),
                    )
                )
