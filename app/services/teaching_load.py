"""Teaching load (нагрузка): courses of a year checked against the curriculum, and teachers' hours.

The curriculum (учебный план) gives weekly hours of a subject for a grade, or for one class,
and a class's own row wins over its grade's row. Only courses of the kind «lesson» are compared
with it, because extra-curricular hours have a plan of their own. A class split into groups
for a subject (languages, technology) is checked group by group: each group, together with
the subject's whole-class courses, carries the full hours of the plan.

Every teacher of a course carries the course's full hours in the teachers' totals, because
each of them gives every lesson of it.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.models import AcademicYear, Course, CurriculumHours, SchoolClass, Subject, db
from app.reports.xlsx import DECIMAL_2
from app.security.scope import Scope, apply_scope
from app.services.staff_records import own_employee

log = logging.getLogger(__name__)

#: Roles that see the whole school's load and its differences from the curriculum.
SCHOOL_WIDE_ROLES = ("principal", "school_admin")


@dataclass(frozen=True)
class CourseLoad:
    """One course as the load lists it."""

    course_id: int
    class_name: str
    subject: str
    #: The group of a split class or a cross-class group; empty for the whole class.
    group: str | None
    teachers: str
    hours: Decimal
    kind: str


@dataclass(frozen=True)
class PlanDifference:
    """A class's subject whose courses differ from the curriculum."""

    class_name: str
    subject: str
    #: The group whose hours differ, for a class split into groups.
    group: str | None
    #: «no_course», «too_few», «too_many» or «not_in_plan».
    kind: str
    planned: Decimal | None
    taught: Decimal | None


@dataclass
class TeacherLoad:
    """A teacher's weekly hours, by class and in total."""

    employee_id: int
    name: str
    by_class: dict[str, Decimal] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return sum(self.by_class.values(), Decimal(0))


@dataclass
class TeachingLoad:
    year: AcademicYear | None
    courses: list[CourseLoad]
    differences: list[PlanDifference]
    teachers: list[TeacherLoad]
    #: False for a teacher, whose page shows only their own courses and no differences.
    school_wide: bool


def teaching_load(scope: Scope, year: AcademicYear | None) -> TeachingLoad:
    """Build the load of a school year: the whole school's, or a teacher's own."""
    school_wide = scope.has_role(*SCHOOL_WIDE_ROLES)
    if year is None:
        return TeachingLoad(None, [], [], [], school_wide)

    courses = _courses(scope, year)
    if not school_wide:
        employee = own_employee(scope)
        employee_id = employee.id if employee is not None else None
        courses = [c for c in courses if any(t.id == employee_id for t in c.teachers)]

    differences = plan_differences(scope, year, courses) if school_wide else []
    teachers = _teacher_loads(courses)
    if not school_wide:
        teachers = [t for t in teachers if t.employee_id == employee_id]
    log.info(
        "Built the teaching load of school %s, year %d for user %s: %d courses",
        scope.school_id,
        year.id,
        scope.user_id,
        len(courses),
    )
    return TeachingLoad(
        year, [_course_load(c) for c in courses], differences, teachers, school_wide
    )


def _courses(scope: Scope, year: AcademicYear) -> list[Course]:
    statement = (
        apply_scope(select(Course), Course, scope)
        .where(Course.year_id == year.id)
        .options(selectinload(Course.group))
    )
    courses = list(db.session.scalars(statement))
    courses.sort(
        key=lambda c: (
            c.school_class.grade,
            c.school_class.name,
            c.subject.name,
            c.group.name if c.group else "",
        )
    )
    return courses


def _course_load(course: Course) -> CourseLoad:
    return CourseLoad(
        course_id=course.id,
        class_name=course.school_class.name,
        subject=course.subject.name,
        group=course.group.name if course.group else None,
        teachers=", ".join(sorted(t.short_name for t in course.teachers)),
        hours=Decimal(course.hours_per_week),
        kind=course.kind,
    )


def _teacher_loads(courses: list[Course]) -> list[TeacherLoad]:
    loads: dict[int, TeacherLoad] = {}
    for course in courses:
        for teacher in course.teachers:
            load = loads.setdefault(teacher.id, TeacherLoad(teacher.id, teacher.short_name))
            class_name = course.school_class.name
            load.by_class[class_name] = load.by_class.get(class_name, Decimal(0)) + Decimal(
                course.hours_per_week
            )
    return sorted(loads.values(), key=lambda load: (load.name, load.employee_id))


# --- The curriculum ------------------------------------------------------------------------


def class_plans(scope: Scope, year: AcademicYear) -> dict[int, dict[int, Decimal]]:
    """Read the weekly hours of each class by subject id: the class's rows over the grade's."""
    classes = db.session.scalars(
        apply_scope(select(SchoolClass), SchoolClass, scope).where(SchoolClass.year_id == year.id)
    ).all()
    rows = db.session.scalars(
        apply_scope(select(CurriculumHours), CurriculumHours, scope).where(
            CurriculumHours.year_id == year.id
        )
    ).all()
    by_grade: dict[int, dict[int, Decimal]] = defaultdict(dict)
    by_class: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for row in rows:
        if row.class_id is None:
            by_grade[row.grade][row.subject_id] = Decimal(row.hours_per_week)
        else:
            by_class[row.class_id][row.subject_id] = Decimal(row.hours_per_week)
    return {
        school_class.id: {
            **by_grade.get(school_class.grade, {}),
            **by_class.get(school_class.id, {}),
        }
        for school_class in classes
    }


def plan_differences(
    scope: Scope, year: AcademicYear, courses: list[Course]
) -> list[PlanDifference]:
    """List, per class and subject, where the lesson courses differ from the curriculum."""
    plans = class_plans(scope, year)
    whole: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    groups: dict[tuple[int, int], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for course in courses:
        if course.kind != "lesson":
            continue
        key = (course.class_id, course.subject_id)
        if course.group is None:
            whole[key] += Decimal(course.hours_per_week)
        else:
            groups[key][course.group.name] += Decimal(course.hours_per_week)

    classes = {
        school_class.id: school_class
        for school_class in db.session.scalars(
            apply_scope(select(SchoolClass), SchoolClass, scope).where(
                SchoolClass.year_id == year.id
            )
        )
    }
    subject_names = {c.subject_id: c.subject.name for c in courses}
    subject_names.update(_subject_names(scope, {s for plan in plans.values() for s in plan}))

    differences = []
    for class_id, school_class in classes.items():
        plan = plans.get(class_id, {})
        taught_subjects = {s for (c, s) in set(whole) | set(groups) if c == class_id}
        for subject_id in set(plan) | taught_subjects:
            differences.extend(
                _subject_differences(
                    school_class.name,
                    subject_names.get(subject_id, "?"),
                    plan.get(subject_id),
                    whole.get((class_id, subject_id)),
                    groups.get((class_id, subject_id), {}),
                )
            )
    grades = {c.name: c.grade for c in classes.values()}
    differences.sort(
        key=lambda d: (grades.get(d.class_name, 0), d.class_name, d.subject, d.group or "")
    )
    return differences


def _subject_names(scope: Scope, subject_ids: set[int]) -> dict[int, str]:
    if not subject_ids:
        return {}
    statement = apply_scope(select(Subject.id, Subject.name), Subject, scope).where(
        Subject.id.in_(subject_ids)
    )
    return dict(db.session.execute(statement).all())


def _subject_differences(
    class_name: str,
    subject: str,
    planned: Decimal | None,
    whole: Decimal | None,
    groups: dict[str, Decimal],
) -> list[PlanDifference]:
    """Compare one subject of a class with its plan, group by group when it is split."""
    if whole is None and not groups:
        if planned:
            return [PlanDifference(class_name, subject, None, "no_course", planned, None)]
        return []
    if planned is None:
        taught = (whole or Decimal(0)) + max(groups.values(), default=Decimal(0))
        return [PlanDifference(class_name, subject, None, "not_in_plan", None, taught)]

    streams = {name: (whole or Decimal(0)) + hours for name, hours in groups.items()}
    if not streams:
        streams = {None: whole}
    differences = []
    for group, taught in sorted(streams.items(), key=lambda item: item[0] or ""):
        if taught < planned:
            differences.append(
                PlanDifference(class_name, subject, group, "too_few", planned, taught)
            )
        elif taught > planned:
            differences.append(
                PlanDifference(class_name, subject, group, "too_many", planned, taught)
            )
    return differences


# --- Words and export ------------------------------------------------------------------------


def hours_text(value: Decimal | None) -> str:
    """Write hours the Russian way: «5», «2,5»; nothing for a missing value."""
    if value is None:
        return ""
    text = f"{Decimal(value).normalize():f}"
    return text.replace(".", ",")


def difference_text(difference: PlanDifference) -> str:
    """Describe a difference in a sentence for the page and the export."""
    planned = hours_text(difference.planned)
    taught = hours_text(difference.taught)
    if difference.kind == "no_course":
        return _("No course: the plan has %(planned)s h a week.", planned=planned)
    if difference.kind == "not_in_plan":
        return _(
            "Not in the plan of the grade or class: the courses have %(taught)s h a week.",
            taught=taught,
        )
    if difference.kind == "too_few":
        return _(
            "Too few hours: %(taught)s h a week instead of %(planned)s.",
            taught=taught,
            planned=planned,
        )
    return _(
        "Too many hours: %(taught)s h a week instead of %(planned)s.",
        taught=taught,
        planned=planned,
    )


def load_frames(load: TeachingLoad) -> list:
    """Build the sheets of the load for :func:`app.reports.xlsx.frame_to_xlsx`."""
    hours_column = _("Hours a week")
    courses = pd.DataFrame(
        [
            (c.class_name, c.subject, c.group or "", c.teachers, float(c.hours))
            for c in load.courses
        ],
        columns=[_("Class"), _("Subject"), _("Group"), _("Teachers"), hours_column],
    )
    teachers = pd.DataFrame(
        [
            (teacher.name, class_name, float(hours))
            for teacher in load.teachers
            for class_name, hours in sorted(teacher.by_class.items())
        ],
        columns=[_("Teacher"), _("Class"), hours_column],
    )
    totals = pd.DataFrame(
        [(teacher.name, float(teacher.total)) for teacher in load.teachers],
        columns=[_("Teacher"), hours_column],
    )
    frames = [
        (_("Courses"), courses, {hours_column: DECIMAL_2}),
        (_("Teachers by class"), teachers, {hours_column: DECIMAL_2}),
        (_("Teachers' totals"), totals, {hours_column: DECIMAL_2}),
    ]
    if load.school_wide:
        differences = pd.DataFrame(
            [
                (d.class_name, d.subject, d.group or "", difference_text(d))
                for d in load.differences
            ],
            columns=[_("Class"), _("Subject"), _("Group"), _("Difference")],
        )
        frames.insert(1, (_("Differences from the plan"), differences, {}))
    return frames
