"""Results («Итоги») of one student: term and year marks, averages and the class average.

The block has a line per course the student attends that takes marks. A line shows the
term marks of the year's terms that apply to the student's grade and the year mark. It also
shows the student's weighted average in one term and the class average of that course in
the same term.

The class average («средний балл класса») is the average over all the numeric marks
that the course's students received in the term, pooled, with the marks they brought from
another school's extract of current marks dated in the term. It follows the rule of a
student's average: Σ(mark × weight) / Σ(weight), or the plain mean when the school turned
weighting off or every weight is 0. It is not the mean
of the students' averages, so a student with more marks weighs more. The course's students
are those in it now: the class's students for a class course, the group's for a group
course. The database computes it in one aggregate query for all the courses.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Integer, and_, cast, exists, func, or_, select, union_all

from app.models import (
    Assignment,
    Course,
    FinalMark,
    Lesson,
    Mark,
    Student,
    Term,
    TransferredMark,
    db,
    study_group_student,
)
from app.services.diary import StudentCourse, student_course_rows
from app.services.journal import default_term, format_average, weighted_average

#: Weights have two decimals (Numeric(5, 2)). Summing them as whole hundredths keeps the
#: class average exact on SQLite too, which stores them as binary floats.
WEIGHT_SCALE = 100


@dataclass
class SubjectResult:
    """One course's line of the results block."""

    course_id: int
    subject: str
    #: Term id → the term mark as given («5», «зач», «н/а» …).
    term_marks: dict[int, str] = field(default_factory=dict)
    year_mark: str | None = None
    #: The student's weighted average in the shown term, unrounded.
    average: Decimal | None = None
    #: The class average of the course in the shown term, unrounded.
    class_average: Decimal | None = None

    @property
    def average_text(self) -> str:
        return format_average(self.average)

    @property
    def class_average_text(self) -> str:
        return format_average(self.class_average)


@dataclass
class DiaryResults:
    """The results block: the year's terms as columns and one line per course."""

    terms: list[Term]
    #: The term whose averages are shown; None when the year has no terms for the grade.
    average_term: Term | None
    subjects: list[SubjectResult]


def diary_results(
    student: Student,
    week_start: dt.date,
    today: dt.date,
    courses: list[StudentCourse] | None = None,
) -> DiaryResults | None:
    """Assemble the results of ``student``; None when none of their courses takes marks.

    The averages are those of the term that overlaps the viewed week, so a parent who
    opens a week of an earlier term gets that term's averages. A week outside every term
    (a vacation) shows the term containing ``today``, else the year's last term.
    ``courses`` are the student's courses when the caller has read them already.
    """
    if courses is None:
        courses = student_course_rows(student)
    courses = [course for course in courses if course.gives_marks]
    if not courses or student.school_class is None:
        return None

    terms = _grade_terms(student)
    term = _average_term(terms, week_start, today)
    subjects = {course.id: SubjectResult(course.id, course.subject) for course in courses}
    _add_final_marks(student, subjects)
    if term is not None:
        _add_averages(student, courses, term, subjects)
    return DiaryResults(terms=terms, average_term=term, subjects=list(subjects.values()))


def _grade_terms(student: Student) -> list[Term]:
    school_class = student.school_class
    statement = (
        select(Term)
        .where(
            Term.school_id == student.school_id,
            Term.year_id == school_class.year_id,
            Term.grade_from <= school_class.grade,
            Term.grade_to >= school_class.grade,
        )
        .order_by(Term.start_date)
    )
    return list(db.session.scalars(statement))


def _average_term(terms: list[Term], week_start: dt.date, today: dt.date) -> Term | None:
    monday = week_start - dt.timedelta(days=week_start.weekday())
    sunday = monday + dt.timedelta(days=6)
    for term in terms:
        if term.start_date <= sunday and term.end_date >= monday:
            return term
    return default_term(terms, today)


def _add_final_marks(student: Student, subjects: dict[int, SubjectResult]) -> None:
    statement = select(
        FinalMark.course_id, FinalMark.kind, FinalMark.term_id, FinalMark.value
    ).where(
        FinalMark.school_id == student.school_id,
        FinalMark.student_id == student.id,
        FinalMark.course_id.in_(list(subjects)),
        FinalMark.kind.in_(("term", "year")),
    )
    for course_id, kind, term_id, value in db.session.execute(statement):
        if kind == "term":
            subjects[course_id].term_marks[term_id] = value
        else:
            subjects[course_id].year_mark = value


def _add_averages(student, courses, term, subjects) -> None:
    course_ids = [course.id for course in courses]
    own = (
        select(Lesson.course_id, Mark.value, Assignment.weight)
        .join(Assignment, Assignment.id == Mark.assignment_id)
        .join(Lesson, Lesson.id == Assignment.lesson_id)
        .where(
            Mark.school_id == student.school_id,
            Mark.student_id == student.id,
            Mark.kind == "number",
            Lesson.course_id.in_(course_ids),
            Lesson.date >= term.start_date,
            Lesson.date <= term.end_date,
        )
    )
    # Marks brought from another school's extract count in the student's own average; one
    # UNION ALL keeps them in the same query.
    brought = select(
        TransferredMark.course_id, TransferredMark.value, TransferredMark.weight
    ).where(
        TransferredMark.school_id == student.school_id,
        TransferredMark.student_id == student.id,
        TransferredMark.course_id.in_(course_ids),
        TransferredMark.date >= term.start_date,
        TransferredMark.date <= term.end_date,
    )
    pairs = {course_id: [] for course_id in course_ids}
    for course_id, value, weight in db.session.execute(union_all(own, brought)):
        pairs[course_id].append((value, weight))

    class_totals = _class_totals(student.school_id, course_ids, term)
    weighting = student.school.weighting_enabled
    for course in courses:
        subjects[course.id].average = weighted_average(pairs[course.id], weighting)
        totals = class_totals.get(course.id)
        if totals is not None and totals[3]:
            subjects[course.id].class_average = _pooled_average(totals, weighting)


def _assignment_marks(aggregate):
    """Build a scalar subquery of ``aggregate`` over one assignment's numeric marks.

    Only the marks of the course's current students count. The subquery is correlated
    with the outer assignment and course rows, so that SQLite looks marks up by
    assignment in the mark index. Joined in one flat query instead, SQLite without table
    statistics scanned every mark of the school for each lesson (2 s for one parent's
    page of the demo school, on a busy 2-core development machine).
    """
    # The course (outer query) and the student (enclosing subquery) both come from outside.
    attends = _course_attendance()
    return (
        select(aggregate)
        .select_from(Mark)
        .join(Student, Student.id == Mark.student_id)
        .where(
            Mark.school_id == Assignment.school_id,
            Mark.assignment_id == Assignment.id,
            Mark.kind == "number",
            attends,
        )
        .correlate(Assignment, Course)
        .scalar_subquery()
    )


def _course_attendance():
    """Build the condition that the ``Student`` row attends the ``Course`` row now."""
    in_group = (
        exists()
        .where(
            study_group_student.c.group_id == Course.group_id,
            study_group_student.c.student_id == Student.id,
        )
        .correlate_except(study_group_student)
    )
    return or_(
        and_(Course.group_id.is_(None), Student.class_id == Course.class_id),
        and_(Course.group_id.is_not(None), in_group),
    )


def _class_totals(school_id, course_ids, term) -> dict[int, tuple[int, int, int, int]]:
    """Sum the marks of each course's current students in one aggregate query.

    Returns course id → (Σ mark × weight, Σ weight, Σ mark, number of marks), with weights
    in hundredths and each weight counted once per mark. The journal's marks and the marks
    brought from another school's extract are summed apart and added up by UNION ALL.
    """
    weight = cast(func.round(Assignment.weight * WEIGHT_SCALE), Integer)
    mark_sum = _assignment_marks(func.sum(Mark.value))
    mark_count = _assignment_marks(func.count(Mark.id))
    journal = (
        select(
            Lesson.course_id.label("course_id"),
            func.sum(weight * mark_sum).label("weighted_sum"),
            func.sum(weight * mark_count).label("weight_sum"),
            func.sum(mark_sum).label("plain_sum"),
            func.sum(mark_count).label("count"),
        )
        .select_from(Lesson)
        .join(Course, Course.id == Lesson.course_id)
        .join(Assignment, Assignment.lesson_id == Lesson.id)
        .where(
            Lesson.school_id == school_id,
            Assignment.school_id == school_id,
            Lesson.course_id.in_(course_ids),
            Lesson.date >= term.start_date,
            Lesson.date <= term.end_date,
        )
        .group_by(Lesson.course_id)
    )
    brought_weight = cast(func.round(TransferredMark.weight * WEIGHT_SCALE), Integer)
    brought = (
        select(
            TransferredMark.course_id,
            func.sum(brought_weight * TransferredMark.value),
            func.sum(brought_weight),
            func.sum(TransferredMark.value),
            func.count(TransferredMark.id),
        )
        .join(Course, Course.id == TransferredMark.course_id)
        .join(Student, Student.id == TransferredMark.student_id)
        .where(
            TransferredMark.school_id == school_id,
            TransferredMark.course_id.in_(course_ids),
            TransferredMark.date >= term.start_date,
            TransferredMark.date <= term.end_date,
            _course_attendance(),
        )
        .group_by(TransferredMark.course_id)
    )
    parts = union_all(journal, brought).subquery()
    statement = select(
        parts.c.course_id,
        func.sum(parts.c.weighted_sum),
        func.sum(parts.c.weight_sum),
        func.sum(parts.c.plain_sum),
        func.sum(parts.c.count),
    ).group_by(parts.c.course_id)
    return {
        row[0]: tuple(int(value or 0) for value in row[1:]) for row in db.session.execute(statement)
    }


def _pooled_average(totals: tuple[int, int, int, int], weighting_enabled: bool) -> Decimal:
    """Apply the weighted-average rule to summed marks: the plain mean without weights."""
    weighted_sum, weight_sum, plain_sum, count = totals
    if not weighting_enabled or weight_sum == 0:
        return Decimal(plain_sum) / count
    return Decimal(weighted_sum) / Decimal(weight_sum)
