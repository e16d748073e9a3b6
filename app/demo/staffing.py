"""Teaching load and the weekly timetable of a demo school.

Subjects are grouped into teacher specialisations. Each specialisation gets as many teachers
as its weekly hours need (about 23 hours each), and every class keeps one teacher per
specialisation. The timetable is then laid out class by class so that no teacher is in two
rooms at once, with «Разговоры о важном» first on Monday.
"""

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

CONVERSATIONS = "Разговоры о важном"

#: Subjects the primary class teacher (учитель начальных классов) teaches in grades 1–4.
PRIMARY_TEACHER_SUBJECTS = {
    "Русский язык",
    "Литературное чтение",
    "Математика",
    "Окружающий мир",
    "Изобразительное искусство",
    "Труд (технология)",
    "Основы религиозных культур и светской этики",
}

#: Subject specialisations of subject teachers, with the subjects each one teaches.
SPECIALISATIONS = {
    "Учитель русского языка и литературы": {"Русский язык", "Литература"},
    "Учитель математики и информатики": {
        "Математика",
        "Алгебра",
        "Геометрия",
        "Вероятность и статистика",
        "Алгебра и начала математического анализа",
        "Информатика",
    },
    "Учитель иностранного языка": {"Иностранный язык"},
    "Учитель истории и обществознания": {
        "История",
        "Обществознание",
        "Основы духовно-нравственной культуры народов России",
        "Индивидуальный проект",
    },
    "Учитель географии, биологии и химии": {"География", "Биология", "Химия"},
    "Учитель физики": {"Физика"},
    "Учитель музыки и изобразительного искусства": {"Музыка", "Изобразительное искусство"},
    "Учитель труда (технологии) и ОБЗР": {
        "Труд (технология)",
        "Основы безопасности и защиты Родины",
    },
    "Учитель физической культуры": {"Физическая культура"},
}

#: Specialisation of the teacher who also works in a second school: informatics only.
SECOND_SCHOOL_SPECIALISATION = "Учитель информатики"

#: Weekly hours a subject teacher is planned for; the federal norm is 18 a rate. The
#: maximum leaves one hour for «Разговоры о важном» of a class teacher, to stay within 27.
TARGET_HOURS = 23
MAX_HOURS = 26


@dataclass
class PlannedCourse:
    class_key: str
    grade: int
    subject: str
    hours: int
    kind: str = "lesson"
    assessment: str = "marks"
    teacher: "PlannedTeacher | None" = None


@dataclass
class PlannedTeacher:
    key: int
    position: str
    courses: list = field(default_factory=list)
    #: Class this teacher is class teacher of, when any.
    class_key: str | None = None
    #: Set for the teacher shared with another school.
    shared: bool = False

    @property
    def hours(self) -> int:
        return sum(course.hours for course in self.courses)


def specialisation_of(subject: str, grade: int) -> str | None:
    """Specialisation that teaches a subject in a grade; None for the primary class teacher."""
    if grade <= 4 and subject in PRIMARY_TEACHER_SUBJECTS:
        return None
    for name, subjects in SPECIALISATIONS.items():
        if subject in subjects:
            return name
    raise ValueError(f"No teacher specialisation teaches {subject}")


def plan_teachers(
    courses: list[PlannedCourse],
    classes: list[tuple[str, int]],
    rng: random.Random,
    shared_informatics: bool,
) -> list[PlannedTeacher]:
    """Assign every course a teacher, creating just enough teachers; return the teachers.

    ``classes`` is (class key, grade) in order. With ``shared_informatics``, informatics is
    taught by one teacher of its own, who is the teacher shared with another school.
    """
    teachers: list[PlannedTeacher] = []

    def new_teacher(position: str) -> PlannedTeacher:
        teacher = PlannedTeacher(key=len(teachers), position=position)
        teachers.append(teacher)
        return teacher

    by_class = defaultdict(list)
    for course in courses:
        by_class[course.class_key].append(course)

    # Primary classes: one class teacher teaches the class nearly everything.
    for class_key, grade in classes:
        if grade > 4:
            continue
        teacher = new_teacher("Учитель начальных классов")
        teacher.class_key = class_key
        for course in by_class[class_key]:
            if course.subject in PRIMARY_TEACHER_SUBJECTS or course.subject == CONVERSATIONS:
                course.teacher = teacher
                teacher.courses.append(course)

    # Subject teachers: blocks of one class and one specialisation, largest first, each to the
    # least loaded teacher of the specialisation.
    blocks: dict[str, list[list[PlannedCourse]]] = defaultdict(list)
    for class_key, grade in classes:
        per_specialisation = defaultdict(list)
        for course in by_class[class_key]:
            if course.teacher is not None or course.subject == CONVERSATIONS:
                continue
            name = specialisation_of(course.subject, grade)
            if shared_informatics and course.subject == "Информатика":
                name = SECOND_SCHOOL_SPECIALISATION
            per_specialisation[name].append(course)
        for name, block in per_specialisation.items():
            blocks[name].append(block)

    for name, block_list in blocks.items():
        total = sum(course.hours for block in block_list for course in block)
        count = 1 if name == SECOND_SCHOOL_SPECIALISATION else max(1, round(total / TARGET_HOURS))
        count = max(count, math.ceil(total / MAX_HOURS))
        staff = [new_teacher(name) for _ in range(count)]
        if name == SECOND_SCHOOL_SPECIALISATION:
            staff[0].shared = True
        block_list.sort(key=lambda block: -sum(course.hours for course in block))
        for block in block_list:
            teacher = min(staff, key=lambda t: (t.hours, t.key))
            for course in block:
                course.teacher = teacher
                teacher.courses.append(course)

    # Class teachers of grades 5–11: a teacher of the class without a class yet, most hours first.
    for class_key, grade in classes:
        if grade <= 4:
            continue
        candidates = {
            course.teacher.key: course.teacher for course in by_class[class_key] if course.teacher
        }
        free = [t for t in candidates.values() if t.class_key is None and not t.shared]
        if not free:
            free = [
                t
                for t in teachers
                if t.class_key is None
                and not t.shared
                and t.position != "Учитель начальных классов"
            ]
        if not free:
            continue
        hours_in_class = {
            key: sum(c.hours for c in by_class[class_key] if c.teacher and c.teacher.key == key)
            for key in candidates
        }
        chosen = max(free, key=lambda t: (hours_in_class.get(t.key, 0), -t.key))
        chosen.class_key = class_key

    # «Разговоры о важном» is led by the class teacher.
    class_teachers = {t.class_key: t for t in teachers if t.class_key}
    for course in courses:
        if course.subject == CONVERSATIONS and course.teacher is None:
            course.teacher = class_teachers.get(course.class_key) or teachers[0]
            course.teacher.courses.append(course)
    return teachers


@dataclass(frozen=True)
class PlannedSlot:
    course: PlannedCourse
    weekday: int
    lesson_number: int


def plan_timetable(
    courses: list[PlannedCourse],
    classes: list[tuple[str, int]],
    rng: random.Random,
    days: int = 5,
) -> tuple[list[PlannedSlot], int]:
    """Lay the courses out over the week; return the slots and the teacher clashes left.

    The week is Monday to Friday, or to Saturday with ``days`` 6. Each class has «Разговоры
    о важном» at Monday lesson 1 and its lessons from lesson 2 on Monday and lesson 1 on other
    days, spread evenly over the week. The whole week is laid out again, up to
    PLAN_ATTEMPTS times, until no teacher clash is left. Otherwise the best layout is kept.
    """
    best = None
    for _attempt in range(PLAN_ATTEMPTS):
        slots, clashes = _plan_once(courses, classes, rng, days)
        if best is None or clashes < best[1]:
            best = (slots, clashes)
        if not clashes:
            break
    return best


#: Layouts of the whole week tried before the one with the fewest teacher clashes is kept.
PLAN_ATTEMPTS = 30


def _plan_once(courses, classes, rng, days) -> tuple[list[PlannedSlot], int]:
    busy: set[tuple[int, int, int]] = set()
    slots: list[PlannedSlot] = []
    clashes = 0
    by_class = defaultdict(list)
    for course in courses:
        by_class[course.class_key].append(course)

    for class_key, _grade in classes:
        class_courses = by_class[class_key]
        for course in class_courses:
            if course.subject == CONVERSATIONS:
                slots.append(PlannedSlot(course, 1, 1))
                busy.add((course.teacher.key, 1, 1))
        lessons = [c for c in class_courses if c.subject != CONVERSATIONS]
        total = sum(c.hours for c in lessons)
        per_day = {day: total // days for day in range(1, days + 1)}
        for day in [*range(2, days + 1), 1][: total % days]:
            per_day[day] += 1
        free = [
            (day, number)
            for day in range(1, days + 1)
            for number in range(2 if day == 1 else 1, (2 if day == 1 else 1) + per_day[day])
        ]
        units = [
            c for c in sorted(lessons, key=lambda c: (-c.hours, c.subject)) for _ in range(c.hours)
        ]
        # A random layout may leave a teacher in two classes at once, so a class is laid
        # out again, up to CLASS_ATTEMPTS times, until its teachers are free everywhere.
        best = None
        for _attempt in range(CLASS_ATTEMPTS):
            trial_busy = set(busy)
            placed, clashed = _place_class(units, list(free), trial_busy, rng)
            if best is None or clashed < best[2]:
                best = (placed, trial_busy, clashed)
            if not clashed:
                break
        placed, busy, clashed = best
        clashes += clashed
        slots.extend(PlannedSlot(course, day, number) for (day, number), course in placed.items())
    return slots, clashes


#: Layouts tried per class before the one with the fewest teacher clashes is kept.
CLASS_ATTEMPTS = 40


def _place_class(units, free, busy, rng) -> tuple[dict[tuple[int, int], PlannedCourse], int]:
    """Place one class's lessons in its free slots; return them and the teacher clashes."""
    clashes = 0
    days_of_course = defaultdict(set)
    placed: dict[tuple[int, int], PlannedCourse] = {}
    for course in units:
        teacher_free = [s for s in free if (course.teacher.key, *s) not in busy]
        fresh_day = [s for s in teacher_free if s[0] not in days_of_course[course.subject]]
        slot = rng.choice(fresh_day or teacher_free or free)
        free.remove(slot)
        if not teacher_free:
            slot, clashed = _swap_into(course, slot, placed, busy)
            clashes += clashed
        placed[slot] = course
        busy.add((course.teacher.key, *slot))
        days_of_course[course.subject].add(slot[0])
    return placed, clashes


def _swap_into(course, free_slot, placed, busy) -> tuple[tuple[int, int], int]:
    """Find a slot for a course whose teacher is busy at every free slot of the class.

    A lesson already placed at slot P moves to the free slot when its teacher is free there
    and the course's teacher is free at P; the course then takes P. Returns the slot for the
    course and 1 when no such swap exists and the course must clash, else 0.
    """
    for slot, other in list(placed.items()):
        if (course.teacher.key, *slot) in busy or (other.teacher.key, *free_slot) in busy:
            continue
        busy.discard((other.teacher.key, *slot))
        busy.add((other.teacher.key, *free_slot))
        placed[free_slot] = other
        del placed[slot]
        return slot, 0
    return free_slot, 1


def weekly_hours(hours: Decimal) -> int:
    """Whole lessons a week for the timetable; the demo curricula have whole hours only."""
    return int(hours.to_integral_value())
