"""The certificate of study (справка об обучении) for a student who leaves without final
exams: the year marks of every year of study at the school, with the curriculum's hours.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import and_, or_, select

from app.models import (
    AcademicYear,
    Course,
    CurriculumHours,
    Enrollment,
    FinalMark,
    IssuedCertificate,
    SchoolClass,
    Subject,
    db,
)


@dataclass
class StudySubject:
    """One subject of one year of study: the year mark and the weekly hours, if planned."""

    name: str
    mark: str
    hours_per_week: Decimal | None


@dataclass
class StudyYear:
    """One academic year of study with the class and the subjects marked in it."""

    year_name: str
    class_name: str
    subjects: list[StudySubject] = field(default_factory=list)


@dataclass
class StudyPeriod:
    """The first and the last day at the school; ``last_day`` is None while still there."""

    first_day: dt.date | None
    last_day: dt.date | None


def study_period(certificate: IssuedCertificate) -> StudyPeriod:
    """Return the span of the student's stays in the school's classes."""
    stays = db.session.scalars(
        select(Enrollment)
        .where(
            Enrollment.school_id == certificate.school_id,
            Enrollment.student_id == certificate.student_id,
        )
        .order_by(Enrollment.start_date)
    ).all()
    if not stays:
        return StudyPeriod(None, None)
    return StudyPeriod(stays[0].start_date, stays[-1].end_date)


def _curriculum_hours(school_id: int, keys) -> dict[tuple[int, int, int], Decimal]:
    """Map (year id, subject id, class id) to weekly hours; a class's own row wins."""
    if not keys:
        return {}
    conditions = [
        and_(
            CurriculumHours.year_id == year_id,
            CurriculumHours.subject_id == subject_id,
            or_(
                CurriculumHours.class_id == class_id,
                and_(CurriculumHours.class_id.is_(None), CurriculumHours.grade == grade),
            ),
        )
        for year_id, subject_id, class_id, grade in keys
    ]
    rows = db.session.scalars(
        select(CurriculumHours).where(CurriculumHours.school_id == school_id, or_(*conditions))
    )
    by_grade: dict[tuple[int, int, int], Decimal] = {}
    by_class: dict[tuple[int, int, int], Decimal] = {}
    for row in rows:
        if row.class_id is not None:
            by_class[(row.year_id, row.subject_id, row.class_id)] = row.hours_per_week
        else:
            by_grade[(row.year_id, row.subject_id, row.grade)] = row.hours_per_week
    hours = {}
    for year_id, subject_id, class_id, grade in keys:
        value = by_class.get((year_id, subject_id, class_id))
        if value is None:
            value = by_grade.get((year_id, subject_id, grade))
        if value is not None:
            hours[(year_id, subject_id, class_id)] = value
    return hours


def study_years(certificate: IssuedCertificate) -> list[StudyYear]:
    """List the student's year marks by academic year and subject, with weekly hours."""
    rows = db.session.execute(
        select(
            FinalMark.value,
            Subject.id,
            Subject.name,
            AcademicYear.id,
            AcademicYear.name,
            SchoolClass.id,
            SchoolClass.name,
            SchoolClass.grade,
        )
        .join(Course, Course.id == FinalMark.course_id)
        .join(Subject, Subject.id == Course.subject_id)
        .join(AcademicYear, AcademicYear.id == Course.year_id)
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .where(
            FinalMark.school_id == certificate.school_id,
            FinalMark.student_id == certificate.student_id,
            FinalMark.kind == "year",
        )
        .order_by(AcademicYear.start_date, Subject.name)
    ).all()
    keys = {(row[3], row[1], row[5], row[7]) for row in rows}
    hours = _curriculum_hours(certificate.school_id, keys)

    years: dict[int, StudyYear] = {}
    for value, subject_id, subject_name, year_id, year_name, class_id, class_name, _grade in rows:
        year = years.setdefault(year_id, StudyYear(year_name, class_name))
        year.subjects.append(
            StudySubject(subject_name, value, hours.get((year_id, subject_id, class_id)))
        )
    return list(years.values())
