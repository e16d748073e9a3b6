"""Contingent of the authority's schools, with the breakdowns of the federal form ОО-1.

Students are those active now in the classes of the chosen school year, or, for a chosen
date, those whose stay in a class of that year (``Enrollment``) covers the date. Each school
and grade counts:

* boys and girls, and the age on 1 January of the year after the school year begins;
* the second shift, and home schooling (a course of the kind «home» of the student's class);
* ОВЗ and disability, from the medical worker's health record. Only these counts leave
  the health record;
* repeaters (второгодники): students with a stay in a class of the same grade in the
  school's previous school year.

Staff are the active employees of each school by position.

Everything is grouped in the database. Ages come from the number of students born in each
year (and on 1 January of it), so only a few rows per grade reach Python.

NOTE: without a date students belong to the class they are in now, so a past year shows
students only for a chosen date.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass, fields
from functools import partial

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import and_, case, exists, extract, func, or_, select
from sqlalchemy.orm import aliased

from app.models import (
    AcademicYear,
    Course,
    Employee,
    Enrollment,
    HealthRecord,
    School,
    SchoolClass,
    Student,
    db,
)
from app.reports.authority import rows_with_totals
from app.reports.xlsx import INTEGER

#: The ages the form counts one by one; younger and older students share the end columns.
YOUNGEST_AGE = 7
OLDEST_AGE = 17
AGES = tuple(range(YOUNGEST_AGE, OLDEST_AGE + 1))


@dataclass(frozen=True)
class ContingentColumns:
    """Column names of the students' table, in the user's language. Ages follow ``girls``."""

    school: str
    grade: str
    students: str
    boys: str
    girls: str
    younger: str
    ages: tuple[str, ...]
    older: str
    no_birth_date: str
    second_shift: str
    home_schooling: str
    special_needs: str
    disability: str
    repeaters: str

    @classmethod
    def translated(cls) -> "ContingentColumns":
        return cls(
            school=_("School"),
            grade=_("Grade"),
            students=_("Students"),
            boys=_("Boys"),
            girls=_("Girls"),
            younger=_("Younger than %(age)s", age=YOUNGEST_AGE),
            ages=tuple(_("Age %(age)s", age=age) for age in AGES),
            older=_("%(age)s and older", age=OLDEST_AGE + 1),
            no_birth_date=_("No birth date"),
            second_shift=_("In the second shift"),
            home_schooling=_("Home schooling"),
            special_needs=_("With ОВЗ"),
            disability=_("With a disability"),
            repeaters=_("Repeaters"),
        )

    def names(self) -> list[str]:
        names = []
        for item in fields(self):
            value = getattr(self, item.name)
            names.extend(value if isinstance(value, tuple) else [value])
        return names

    def formats(self) -> dict[str, str]:
        return {name: INTEGER for name in self.names()[1:]}


#: Counts of the classes' flags, summed over their students.
FLAG_COUNTS = ("second_shift", "home_schooling", "special_needs", "disability", "repeaters")


def _year_ids(year_name: str):
    return select(AcademicYear.id).where(AcademicYear.name == year_name)


def _repeater_condition():
    """Build the condition that the student had a stay in the same grade the year before.

    The previous year is the school's school year that began last before the class's year.
    """
    current_year = aliased(AcademicYear)
    previous_year = aliased(AcademicYear)
    earlier_class = aliased(SchoolClass)
    earlier_stay = aliased(Enrollment)
    previous_year_id = (
        select(previous_year.id)
        .where(
            previous_year.school_id == SchoolClass.school_id,
            previous_year.start_date
            < select(current_year.start_date)
            .where(current_year.id == SchoolClass.year_id)
            .correlate(SchoolClass)
            .scalar_subquery(),
        )
        .order_by(previous_year.start_date.desc())
        .limit(1)
        .correlate(SchoolClass)
        .scalar_subquery()
    )
    return (
        exists()
        .where(
            earlier_stay.student_id == Student.id,
            earlier_stay.school_id == Student.school_id,
            earlier_class.id == earlier_stay.class_id,
            earlier_class.grade == SchoolClass.grade,
            earlier_class.year_id == previous_year_id,
        )
        .correlate(Student, SchoolClass)
    )


def _student_groups(authority_id: int, year_name: str, on_day: dt.date | None = None) -> list:
    """Count the students of each school, grade, sex and birth year, in name order.

    Without ``on_day`` a student counts in their current class if active; with it, in the
    class of their stay covering that day. A birth on 1 January is kept apart, since that
    student is a year older on that day.
    """
    birth_year = extract("year", Student.birth_date)
    new_year_birthday = and_(
        extract("month", Student.birth_date) == 1, extract("day", Student.birth_date) == 1
    )
    home_course = exists().where(
        Course.school_id == SchoolClass.school_id,
        Course.class_id == SchoolClass.id,
        Course.kind == "home",
    )
    # NOTE: a class with a home-schooling course counts all its students as schooled at
    # home, because a course is given to a class (or group), not to one student.
    statement = select(
        School.id.label("school_id"),
        School.name.label("school"),
        SchoolClass.grade.label("grade"),
        Student.sex.label("sex"),
        birth_year.label("birth_year"),
        case((new_year_birthday, 1), else_=0).label("new_year_birthday"),
        func.count().label("students"),
        func.sum(case((SchoolClass.shift == 2, 1), else_=0)).label("second_shift"),
        func.sum(case((home_course, 1), else_=0)).label("home_schooling"),
        func.sum(case((HealthRecord.has_special_needs, 1), else_=0)).label("special_needs"),
        func.sum(case((HealthRecord.has_disability, 1), else_=0)).label("disability"),
        func.sum(case((_repeater_condition(), 1), else_=0)).label("repeaters"),
    ).select_from(Student)
    if on_day is None:
        statement = statement.join(
            SchoolClass,
            and_(SchoolClass.id == Student.class_id, SchoolClass.school_id == Student.school_id),
        ).where(Student.is_active.is_(True))
    else:
        statement = statement.join(
            Enrollment,
            and_(
                Enrollment.student_id == Student.id,
                Enrollment.school_id == Student.school_id,
                Enrollment.start_date <= on_day,
                or_(Enrollment.end_date.is_(None), Enrollment.end_date > on_day),
            ),
        ).join(
            SchoolClass,
            and_(
                SchoolClass.id == Enrollment.class_id,
                SchoolClass.school_id == Enrollment.school_id,
            ),
        )
    statement = (
        statement.join(School, School.id == Student.school_id)
        .outerjoin(
            HealthRecord,
            and_(
                HealthRecord.student_id == Student.id,
                HealthRecord.school_id == Student.school_id,
            ),
        )
        .where(
            School.authority_id == authority_id,
            SchoolClass.year_id.in_(_year_ids(year_name)),
        )
        .group_by(
            School.id, School.name, SchoolClass.grade, Student.sex, birth_year, new_year_birthday
        )
        .order_by(School.name, School.id, SchoolClass.grade)
    )
    return db.session.execute(statement).all()


def _age_key(birth_year, new_year_birthday: int, on_year: int):
    """Return the counted column of an age on 1 January of ``on_year``."""
    if birth_year is None:
        return "no_birth_date"
    age = on_year - int(birth_year) - 1 + new_year_birthday
    if age < YOUNGEST_AGE:
        return "younger"
    if age > OLDEST_AGE:
        return "older"
    return age


@dataclass
class _GradeRow:
    school_id: int
    school: str
    grade: int
    counts: Counter


def _grade_rows(groups: list, on_year: int) -> list[_GradeRow]:
    """Fold the groups of each school and grade into one row of counts."""
    rows: list[_GradeRow] = []
    for group in groups:
        if not rows or (rows[-1].school_id, rows[-1].grade) != (group.school_id, group.grade):
            rows.append(_GradeRow(group.school_id, group.school, group.grade, Counter()))
        counts = rows[-1].counts
        students = int(group.students)
        counts["students"] += students
        counts["boys" if group.sex == "m" else "girls"] += students
        counts[_age_key(group.birth_year, int(group.new_year_birthday), on_year)] += students
        for name in FLAG_COUNTS:
            counts[name] += int(getattr(group, name) or 0)
    return rows


def _record(columns: ContingentColumns, school: str, grade, counts: Counter) -> dict:
    record = {columns.school: school, columns.grade: grade}
    for name in ("students", "boys", "girls", "younger", "older", "no_birth_date", *FLAG_COUNTS):
        record[getattr(columns, name)] = counts[name]
    for age, label in zip(AGES, columns.ages, strict=True):
        record[label] = counts[age]
    return record


def _age_year(year_name: str) -> int:
    """Return the year whose 1 January the ages are counted on: the one after the year began."""
    start = db.session.scalar(
        select(func.min(AcademicYear.start_date)).where(AcademicYear.name == year_name)
    )
    return (start or dt.date.today()).year + 1


def contingent_students(
    authority_id: int,
    year_name: str | None,
    columns: ContingentColumns | None = None,
    on_day: dt.date | None = None,
) -> pd.DataFrame:
    """Build the students' table: a row per school and grade, school totals, authority total.

    ``on_day`` selects the class of each student's stay on that date instead of the
    current class.
    """
    columns = columns or ContingentColumns.translated()
    year_name = year_name or ""
    groups = _student_groups(authority_id, year_name, on_day)
    rows = _grade_rows(groups, _age_year(year_name)) if groups else []
    records = rows_with_totals(rows, lambda row: row.counts, partial(_record, columns))
    return pd.DataFrame.from_records(records, columns=columns.names())


@dataclass(frozen=True)
class StaffColumns:
    """Column names of the staff table, in the user's language."""

    school: str
    position: str
    employees: str

    @classmethod
    def translated(cls) -> "StaffColumns":
        return cls(school=_("School"), position=_("Position"), employees=_("Employees"))

    def names(self) -> list[str]:
        return [self.school, self.position, self.employees]

    def formats(self) -> dict[str, str]:
        return {self.employees: INTEGER}


def contingent_staff(authority_id: int, columns: StaffColumns | None = None) -> pd.DataFrame:
    """Count the active employees of each school by position, in name order."""
    columns = columns or StaffColumns.translated()
    position = func.coalesce(func.nullif(func.trim(Employee.position), ""), _("No position"))
    statement = (
        select(School.name, position.label("position"), func.count().label("employees"))
        .join(School, School.id == Employee.school_id)
        .where(School.authority_id == authority_id, Employee.is_active.is_(True))
        .group_by(School.id, School.name, position)
        .order_by(School.name, School.id, position)
    )
    records = [
        {columns.school: row.name, columns.position: row.position, columns.employees: row.employees}
        for row in db.session.execute(statement)
    ]
    return pd.DataFrame.from_records(records, columns=columns.names())
