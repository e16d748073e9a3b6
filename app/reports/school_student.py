"""A student's progress with class averages, and the report card (табель) of period marks.

Marks are read for one class only: the student's own and their classmates' in the same
courses, for the class average.
"""

from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction

import pandas as pd
from flask_babel import gettext as _

from app.models import School, SchoolClass, Student, Term, db
from app.reports.school import (
    as_float,
    cell_value,
    class_period_marks,
    class_terms,
    courses_by_id,
    subject_columns,
    taken_courses,
    term_numeric_marks,
)
from app.reports.xlsx import DECIMAL_2, Frame
from app.services.journal import weighted_average


@dataclass(frozen=True)
class ProgressRow:
    subject: str
    marks: list[int]
    average: Fraction | None
    class_average: Fraction | None
    period_mark: str | None


def student_progress(student: Student, school_class: SchoolClass, term: Term) -> list[ProgressRow]:
    """Marks, the weighted average and the class average per subject in one term.

    The class average is the mean of the weighted averages of the class's students who
    take the same course and have marks in the term.
    """
    taken = taken_courses(school_class)
    own_courses = taken.get(student.id, set())
    if not own_courses or school_class.grade <= 1:
        return []
    courses = courses_by_id(school_class.school_id, own_courses)
    classmates = {s for s, course_ids in taken.items() if course_ids & own_courses}
    marks = term_numeric_marks(school_class, term, own_courses, classmates)

    own_marks: dict[int, list[int]] = defaultdict(list)
    pairs: dict[tuple[int, int], list] = defaultdict(list)
    for student_id, course_id, value, weight in marks:
        pairs[(student_id, course_id)].append((value, weight))
        if student_id == student.id:
            own_marks[course_id].append(value)
    school = db.session.get(School, school_class.school_id)
    averages = {
        key: weighted_average(values, school.weighting_enabled) for key, values in pairs.items()
    }
    period = {
        m.course_id: m.value
        for m in class_period_marks(school_class, [term.id])
        if m.student_id == student.id and m.term_id == term.id
    }

    rows = []
    for course in sorted(courses.values(), key=lambda c: (c.subject.name, c.id)):
        mates = [
            averages[(s, course.id)] for s in classmates if averages.get((s, course.id)) is not None
        ]
        class_average = Fraction(sum(mates)) / len(mates) if mates else None
        own = averages.get((student.id, course.id))
        rows.append(
            ProgressRow(
                subject=course.subject.name,
                marks=own_marks.get(course.id, []),
                average=Fraction(own) if own is not None else None,
                class_average=class_average,
                period_mark=period.get(course.id),
            )
        )
    return rows


def progress_frame(rows: list[ProgressRow]) -> Frame:
    subject, marks, average = _("Subject"), _("Marks"), _("Average mark")
    class_average, period_mark = _("Class average"), _("Term mark")
    records = [
        {
            subject: row.subject,
            marks: " ".join(str(m) for m in row.marks),
            average: as_float(row.average),
            class_average: as_float(row.class_average),
            period_mark: cell_value(row.period_mark),
        }
        for row in rows
    ]
    frame = pd.DataFrame.from_records(
        records, columns=[subject, marks, average, class_average, period_mark]
    )
    return _("Progress"), frame, {average: DECIMAL_2, class_average: DECIMAL_2}


def report_card_frame(student: Student, school_class: SchoolClass) -> Frame:
    """Build the report card (табель): subjects × terms with the year mark last."""
    terms = class_terms(school_class)
    marks = [
        m
        for m in class_period_marks(school_class, [t.id for t in terms], with_year=True)
        if m.student_id == student.id
    ]
    subjects = subject_columns(
        school_class.school_id,
        {m.subject_id for m in marks} | _taken_subjects(student, school_class),
    )
    by_key = {(m.subject_id, m.term_id): m.value for m in marks}
    subject_column = _("Subject")
    periods = [(t.id, t.name) for t in terms] + [(None, _("Year"))]
    records = []
    for subject in subjects:
        row = {subject_column: subject.name}
        for term_id, label in periods:
            row[label] = cell_value(by_key.get((subject.id, term_id)))
        records.append(row)
    names = [subject_column] + [label for _term, label in periods]
    return _("Report card"), pd.DataFrame.from_records(records, columns=names), {}


def _taken_subjects(student: Student, school_class: SchoolClass) -> set[int]:
    if school_class.grade <= 1:
        return set()
    course_ids = taken_courses(school_class).get(student.id, set())
    return {
        course.subject_id for course in courses_by_id(school_class.school_id, course_ids).values()
    }
