"""School reports of one class or student: period results, summary sheet, dynamics,
with a student's progress and report card in ``app/reports/school_student.py`` and
attendance in ``app/reports/school_attendance.py``.

Every function here takes an already authorised class or student (see
``app/services/school_reports.py``) and filters each query by its school, so the reports
run without a request. Queries stay inside one class: counts of period marks by value are
grouped in the database, and only one class's period marks and current marks are read.

Which period marks count (the same rules as the authority summary):

* lesson courses with marks or pass/fail; courses without marks and grade 1 are left out;
* «осв» (exempt) removes the student from that subject only, and a blank is not counted;
* a numeric mark passes at 3 and counts toward quality at 4 or 5; «1», «2», «н/а» and
  «незач» fail; «зач» passes;
* СОУ (степень обученности) = (n5 · 1.00 + n4 · 0.64 + n3 · 0.36 + n2 · 0.16 + n1 · 0.08) / n,
  where «н/а» counts as «1» and n counts the numeric marks and «н/а».

Rates and СОУ are fractions (0.75 for 75 %) so that XLSX shows them with a percent format.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from fractions import Fraction

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import Integer, and_, func, literal, or_, select, union_all

from app.models import (
    Assignment,
    Course,
    FinalMark,
    Lesson,
    Mark,
    School,
    SchoolClass,
    Student,
    Subject,
    Term,
    TransferredMark,
    db,
    study_group_student,
)
from app.reports.authority import (
    EXEMPT,
    NOT_ATTESTED,
    PASS_THRESHOLD,
    PASSING_WORDS,
    QUALITY_THRESHOLD,
    SOU_WEIGHTS,
)
from app.reports.charts import COLUMN, ChartSpec
from app.reports.xlsx import DECIMAL_2, INTEGER, PERCENT_1, Frame, frame_to_xlsx
from app.services.journal import weighted_average
from app.services.regulation import regulation_for, round_average, stored_thresholds
from app.services.transferred_marks import transferred_marks_query

#: Values counted in the per-mark columns, in the order they are shown.
COUNTED_VALUES = ("5", "4", "3", "2", "1", NOT_ATTESTED)


# --- Marks and indicators ---------------------------------------------------------------


def is_numeric(value: str | None) -> bool:
    return bool(value) and value.isdigit()


def is_counted(value: str | None) -> bool:
    """Tell whether a period mark counts: blanks and «осв» do not."""
    return bool(value) and value != EXEMPT


def passes(value: str) -> bool:
    if is_numeric(value):
        return int(value) >= PASS_THRESHOLD
    return value in PASSING_WORDS


def fails(value: str) -> bool:
    return is_counted(value) and not passes(value)


def reaches_quality(value: str) -> bool:
    """Tell whether a mark keeps a student among the quality students («зач» does)."""
    if is_numeric(value):
        return int(value) >= QUALITY_THRESHOLD
    return value in PASSING_WORDS


@dataclass
class Indicators:
    """Counts and rates of one subject, or of the whole class, in one period."""

    #: Students with a counted period mark.
    students: int = 0
    counts: Counter = field(default_factory=Counter)
    passed: int = 0
    quality: int = 0
    average: Fraction | None = None
    sou: Fraction | None = None
    #: False for a pass/fail subject, whose quality rate is not defined.
    has_quality: bool = True

    @property
    def pass_rate(self) -> Fraction | None:
        return Fraction(self.passed, self.students) if self.students else None

    @property
    def quality_rate(self) -> Fraction | None:
        if not self.students or not self.has_quality:
            return None
        return Fraction(self.quality, self.students)


def _average_and_sou(counts: Counter) -> tuple[Fraction | None, Fraction | None]:
    """Mean of the numeric marks, and СОУ over the numeric marks and «н/а»."""
    numeric = {int(value): n for value, n in counts.items() if is_numeric(value) and n}
    mark_count = sum(numeric.values())
    average = Fraction(sum(v * n for v, n in numeric.items()), mark_count) if mark_count else None

    weighted = sum(SOU_WEIGHTS.get(v, 0) * n for v, n in numeric.items())
    weighted += SOU_WEIGHTS[1] * counts.get(NOT_ATTESTED, 0)
    sou_count = mark_count + counts.get(NOT_ATTESTED, 0)
    sou = Fraction(weighted, 100 * sou_count) if sou_count else None
    return average, sou


def _numeric_quality(value: str) -> bool:
    return is_numeric(value) and reaches_quality(value)


def subject_indicators(counts: Counter) -> Indicators:
    """Indicators of one subject from the number of students per period mark value."""
    counted = Counter({value: n for value, n in counts.items() if is_counted(value) and n})
    average, sou = _average_and_sou(counted)
    return Indicators(
        students=sum(counted.values()),
        counts=counted,
        passed=sum(n for value, n in counted.items() if passes(value)),
        quality=sum(n for value, n in counted.items() if _numeric_quality(value)),
        average=average,
        sou=sou,
        has_quality=any(is_numeric(value) or value == NOT_ATTESTED for value in counted),
    )


def class_indicators(student_marks: dict[int, list[str]]) -> Indicators:
    """Compute the indicators across subjects.

    A student passes when every counted mark passes, and counts toward quality when every
    counted mark is 4 or 5 (or «зач»). The average and СОУ cover every counted mark.
    """
    counts: Counter = Counter()
    result = Indicators()
    for values in student_marks.values():
        counted = [value for value in values if is_counted(value)]
        if not counted:
            continue
        counts.update(counted)
        result.students += 1
        result.passed += all(passes(value) for value in counted)
        result.quality += all(reaches_quality(value) for value in counted)
    result.counts = counts
    result.average, result.sou = _average_and_sou(counts)
    return result


def as_float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


# --- The class, its students, terms and courses -------------------------------------------


def class_students(school_class: SchoolClass) -> list[Student]:
    """Active students of the class, by name."""
    statement = (
        select(Student)
        .where(
            Student.school_id == school_class.school_id,
            Student.class_id == school_class.id,
            Student.is_active.is_(True),
        )
        .order_by(Student.last_name, Student.first_name, Student.id)
    )
    return list(db.session.scalars(statement))


def class_terms(school_class: SchoolClass) -> list[Term]:
    """Terms of the class's year that apply to its grade, in date order."""
    statement = (
        select(Term)
        .where(
            Term.school_id == school_class.school_id,
            Term.year_id == school_class.year_id,
            Term.grade_from <= school_class.grade,
            Term.grade_to >= school_class.grade,
        )
        .order_by(Term.start_date, Term.number)
    )
    return list(db.session.scalars(statement))


def student_name(student: Student) -> str:
    return f"{student.last_name} {student.first_name}"


def _marked_course_condition():
    return and_(Course.kind == "lesson", Course.assessment.in_(("marks", "pass_fail")))


def _taken_courses_statement(school_class: SchoolClass):
    """(student id, course id) of every marked course the class's students take."""
    students = select(Student.id).where(
        Student.school_id == school_class.school_id,
        Student.class_id == school_class.id,
        Student.is_active.is_(True),
    )
    whole_class = (
        select(Student.id.label("student_id"), Course.id.label("course_id"))
        .join(
            Course,
            and_(
                Course.school_id == Student.school_id,
                Course.class_id == Student.class_id,
                Course.group_id.is_(None),
            ),
        )
        .where(Student.id.in_(students), Course.year_id == school_class.year_id)
    )
    in_groups = (
        select(study_group_student.c.student_id, Course.id.label("course_id"))
        .join(Course, Course.group_id == study_group_student.c.group_id)
        .where(
            study_group_student.c.student_id.in_(students),
            Course.school_id == school_class.school_id,
            Course.year_id == school_class.year_id,
        )
    )
    return whole_class.where(_marked_course_condition()), in_groups.where(
        _marked_course_condition()
    )


def taken_courses(school_class: SchoolClass) -> dict[int, set[int]]:
    """Map each student of the class to the ids of the marked courses they take."""
    taken: dict[int, set[int]] = defaultdict(set)
    for statement in _taken_courses_statement(school_class):
        for student_id, course_id in db.session.execute(statement):
            taken[student_id].add(course_id)
    return taken


def courses_by_id(school_id: int, course_ids) -> dict[int, Course]:
    if not course_ids:
        return {}
    statement = select(Course).where(Course.school_id == school_id, Course.id.in_(course_ids))
    return {course.id: course for course in db.session.scalars(statement)}


@dataclass(frozen=True)
class SubjectColumn:
    id: int
    name: str


def subject_columns(school_id: int, subject_ids) -> list[SubjectColumn]:
    if not subject_ids:
        return []
    rows = db.session.execute(
        select(Subject.id, Subject.name)
        .where(Subject.school_id == school_id, Subject.id.in_(subject_ids))
        .order_by(Subject.name, Subject.id)
    )
    return [SubjectColumn(row.id, row.name) for row in rows]


# --- Period marks of a class -----------------------------------------------------------------


def _final_marks_base(school_class: SchoolClass, kinds: tuple[str, ...]):
    """Select the period marks of the class's students in marked courses of the class's year."""
    students = select(Student.id).where(
        Student.school_id == school_class.school_id,
        Student.class_id == school_class.id,
        Student.is_active.is_(True),
    )
    return (
        select()
        .select_from(FinalMark)
        .join(
            Course, and_(Course.id == FinalMark.course_id, Course.school_id == FinalMark.school_id)
        )
        .where(
            FinalMark.school_id == school_class.school_id,
            FinalMark.student_id.in_(students),
            FinalMark.kind.in_(kinds),
            Course.year_id == school_class.year_id,
            _marked_course_condition(),
        )
    )


@dataclass(frozen=True)
class PeriodMark:
    student_id: int
    subject_id: int
    course_id: int
    #: The term, or None for a year mark.
    term_id: int | None
    value: str


def class_period_marks(
    school_class: SchoolClass, term_ids=None, with_year=False
) -> list[PeriodMark]:
    """Read the term marks (and year marks) of one class's students."""
    if school_class.grade <= 1:
        return []
    kinds = ("term", "year") if with_year else ("term",)
    statement = _final_marks_base(school_class, kinds).add_columns(
        FinalMark.student_id, Course.subject_id, Course.id, FinalMark.term_id, FinalMark.value
    )
    if term_ids is not None:
        statement = statement.where(or_(FinalMark.term_id.in_(term_ids), FinalMark.kind == "year"))
    return [PeriodMark(*row) for row in db.session.execute(statement)]


def class_mark_counts(school_class: SchoolClass, term_ids) -> dict[tuple[int, int], Counter]:
    """Count the term marks of the class by value, grouped in the database.

    Returns (term id, subject id) → Counter of values.
    """
    counts: dict[tuple[int, int], Counter] = defaultdict(Counter)
    if school_class.grade <= 1 or not term_ids:
        return counts
    statement = (
        _final_marks_base(school_class, ("term",))
        .add_columns(FinalMark.term_id, Course.subject_id, FinalMark.value, func.count())
        .where(FinalMark.term_id.in_(term_ids))
        .group_by(FinalMark.term_id, Course.subject_id, FinalMark.value)
    )
    for term_id, subject_id, value, number in db.session.execute(statement):
        counts[(term_id, subject_id)][value] += number
    return counts


# --- Suggested marks from current averages ---------------------------------------------------


def term_numeric_marks(school_class: SchoolClass, term: Term, course_ids, student_ids):
    """(student id, course id, value, weight) of the numeric marks of the term, by date.

    Marks of the term's lessons and marks brought from another school's extract dated in
    the term are read in one UNION ALL statement. On one day the extract's marks come
    first, because they carry no lesson number.
    """
    if not course_ids or not student_ids:
        return []
    course_ids, student_ids = list(course_ids), list(student_ids)
    journal = (
        select(
            Mark.student_id.label("student_id"),
            Lesson.course_id.label("course_id"),
            Mark.value.label("value"),
            Assignment.weight.label("weight"),
            Lesson.date.label("day"),
            Lesson.lesson_number.label("lesson_number"),
            Assignment.id.label("item_id"),
        )
        .join(
            Assignment,
            and_(Assignment.id == Mark.assignment_id, Assignment.school_id == Mark.school_id),
        )
        .join(Lesson, and_(Lesson.id == Assignment.lesson_id, Lesson.school_id == Mark.school_id))
        .where(
            Mark.school_id == school_class.school_id,
            Mark.kind == "number",
            Mark.value.is_not(None),
            Mark.student_id.in_(student_ids),
            Lesson.course_id.in_(course_ids),
            Lesson.date >= term.start_date,
            Lesson.date <= term.end_date,
            Lesson.is_cancelled.is_(False),
        )
    )
    brought = transferred_marks_query(
        school_class.school_id, course_ids, term.start_date, term.end_date
    ).with_only_columns(
        TransferredMark.student_id,
        TransferredMark.course_id,
        TransferredMark.value,
        TransferredMark.weight,
        TransferredMark.date,
        literal(0, Integer),
        TransferredMark.id,
    )
    brought = brought.where(TransferredMark.student_id.in_(student_ids))
    marks = union_all(journal, brought).subquery()
    statement = select(
        marks.c.student_id, marks.c.course_id, marks.c.value, marks.c.weight
    ).order_by(marks.c.day, marks.c.lesson_number, marks.c.item_id)
    return list(db.session.execute(statement))


def student_course_averages(school_class, term, course_ids, student_ids) -> dict:
    """Map (student id, course id) to the unrounded weighted average of the term."""
    pairs: dict[tuple[int, int], list] = defaultdict(list)
    for student_id, course_id, value, weight in term_numeric_marks(
        school_class, term, course_ids, student_ids
    ):
        pairs[(student_id, course_id)].append((value, weight))
    school = db.session.get(School, school_class.school_id)
    return {key: weighted_average(marks, school.weighting_enabled) for key, marks in pairs.items()}


def suggested_marks(school_class: SchoolClass, term: Term, missing: set[tuple[int, int]]):
    """Round the current averages of the (student id, course id) pairs without a term mark.

    Only courses with marks get a suggestion; a pair without numeric marks gets none.
    """
    courses = courses_by_id(school_class.school_id, {course_id for _student, course_id in missing})
    numeric = {(s, c) for s, c in missing if courses[c].assessment == "marks"}
    if not numeric:
        return {}
    averages = student_course_averages(
        school_class, term, {c for _s, c in numeric}, {s for s, _c in numeric}
    )
    school = db.session.get(School, school_class.school_id)
    thresholds = stored_thresholds(
        regulation_for(school_class.school_id, school_class.year_id), school.max_mark
    )
    # NOTE: the regulation's «н/а» proposal (too few marks, too many missed lessons) is
    # not applied here: a suggestion is the rounded average only.
    return {
        key: str(round_average(average, thresholds))
        for key in numeric
        if (average := averages.get(key)) is not None
    }


# --- Class results for a period ---------------------------------------------------------------


@dataclass
class ClassResults:
    """Period results of one class: the mark grid, indicators and the lists of students."""

    school_class: SchoolClass
    term: Term
    subjects: list[SubjectColumn]
    students: list[Student]
    #: (student id, subject id) → period mark value.
    marks: dict[tuple[int, int], str]
    #: (student id, subject id) pairs whose mark is suggested from the current average.
    suggested: set[tuple[int, int]]
    by_subject: dict[int, Indicators]
    whole_class: Indicators

    @property
    def uses_suggestions(self) -> bool:
        return bool(self.suggested)

    def student_values(self, student_id: int) -> list[str]:
        return [
            self.marks[(student_id, s.id)]
            for s in self.subjects
            if (student_id, s.id) in self.marks
        ]


def class_results(school_class: SchoolClass, term: Term, suggest: bool = True) -> ClassResults:
    """Collect the period marks of a class, filling gaps with suggested marks when asked."""
    students = class_students(school_class)
    if school_class.grade <= 1:
        return ClassResults(school_class, term, [], students, {}, set(), {}, Indicators())

    marks: dict[tuple[int, int], str] = {}
    marked_pairs = set()
    subject_of_course = {}
    for mark in class_period_marks(school_class, [term.id]):
        if mark.term_id != term.id:
            continue
        marks[(mark.student_id, mark.subject_id)] = mark.value
        marked_pairs.add((mark.student_id, mark.course_id))
        subject_of_course[mark.course_id] = mark.subject_id

    counts = {
        subject_id: counter
        for (_term, subject_id), counter in class_mark_counts(school_class, [term.id]).items()
    }

    suggested: set[tuple[int, int]] = set()
    if suggest:
        taken = taken_courses(school_class)
        missing = {
            (student_id, course_id)
            for student_id, course_ids in taken.items()
            for course_id in course_ids
            if (student_id, course_id) not in marked_pairs
        }
        courses = courses_by_id(school_class.school_id, {c for _s, c in missing})
        for (student_id, course_id), value in suggested_marks(school_class, term, missing).items():
            subject_id = courses[course_id].subject_id
            if (student_id, subject_id) in marks:
                continue
            marks[(student_id, subject_id)] = value
            suggested.add((student_id, subject_id))
            counts.setdefault(subject_id, Counter())[value] += 1

    subjects = subject_columns(
        school_class.school_id, {subject_id for _student, subject_id in marks} | set(counts)
    )
    by_subject = {s.id: subject_indicators(counts.get(s.id, Counter())) for s in subjects}
    results = ClassResults(
        school_class, term, subjects, students, marks, suggested, by_subject, Indicators()
    )
    results.whole_class = class_indicators({s.id: results.student_values(s.id) for s in students})
    return results


@dataclass(frozen=True)
class ResultColumns:
    """Column names of the class results, in the user's language."""

    student: str
    subject: str
    students: str
    exempt: str
    average: str
    pass_rate: str
    quality_rate: str
    sou: str
    suggested: str
    category: str
    subjects: str

    @classmethod
    def translated(cls) -> "ResultColumns":
        return cls(
            student=_("Student"),
            subject=_("Subject"),
            students=_("Students with a period mark"),
            exempt=_("Exempt («осв»)"),
            average=_("Average mark"),
            pass_rate=_("Pass rate"),
            quality_rate=_("Quality rate"),
            sou=_("Degree of learning (СОУ)"),
            suggested=_("Suggested from current averages"),
            category=_("List"),
            subjects=_("Subjects"),
        )


def count_column(value: str) -> str:
    return _("Marks «%(value)s»", value=value)


def cell_value(value: str | None):
    """Convert a numeric mark to a number, so that the XLSX sums and filters it."""
    if value is None:
        return None
    return int(value) if is_numeric(value) else value


def _indicator_cells(columns: ResultColumns, indicators: Indicators) -> dict:
    cells = {columns.students: indicators.students}
    for value in COUNTED_VALUES:
        cells[count_column(value)] = indicators.counts.get(value, 0)
    cells[columns.average] = as_float(indicators.average)
    cells[columns.pass_rate] = as_float(indicators.pass_rate)
    cells[columns.quality_rate] = as_float(indicators.quality_rate)
    cells[columns.sou] = as_float(indicators.sou)
    return cells


def results_marks_frame(results: ClassResults, columns: ResultColumns) -> Frame:
    """Build students × subjects with each student's counts of «5» … «н/а» and a totals row."""
    subject_names = [s.name for s in results.subjects]
    count_names = [count_column(value) for value in COUNTED_VALUES]
    records = []
    totals = Counter()
    for student in results.students:
        row = {columns.student: student_name(student)}
        values = []
        for subject in results.subjects:
            value = results.marks.get((student.id, subject.id))
            row[subject.name] = cell_value(value)
            if value is not None:
                values.append(value)
        value_counts = Counter(values)
        for value, name in zip(COUNTED_VALUES, count_names, strict=True):
            row[name] = value_counts.get(value, 0)
            totals[name] += row[name]
        row[columns.suggested] = ", ".join(
            s.name for s in results.subjects if (student.id, s.id) in results.suggested
        )
        records.append(row)
    total_row = {columns.student: _("Total"), **{name: totals[name] for name in count_names}}
    records.append(total_row)
    frame = pd.DataFrame.from_records(
        records, columns=[columns.student, *subject_names, *count_names, columns.suggested]
    )
    formats = {name: INTEGER for name in count_names}
    return _("Marks"), frame, formats


def results_subjects_frame(results: ClassResults, columns: ResultColumns) -> Frame:
    """Build one row per subject with counts and rates, and the whole class last."""
    records = []
    for subject in results.subjects:
        indicators = results.by_subject[subject.id]
        exempt = sum(
            1
            for student in results.students
            if results.marks.get((student.id, subject.id)) == EXEMPT
        )
        records.append(
            {
                columns.subject: subject.name,
                **_indicator_cells(columns, indicators),
                columns.exempt: exempt,
            }
        )
    records.append(
        {
            columns.subject: _("Whole class"),
            **_indicator_cells(columns, results.whole_class),
            columns.exempt: None,
        }
    )
    names = [columns.subject, columns.students]
    names += [count_column(value) for value in COUNTED_VALUES]
    names += [columns.exempt, columns.average, columns.pass_rate, columns.quality_rate, columns.sou]
    frame = pd.DataFrame.from_records(records, columns=names)
    return _("Subjects"), frame, _indicator_formats(columns)


def with_chart(frame: Frame, spec: ChartSpec) -> Frame:
    """Attach a chart to a (sheet title, frame, formats) sheet, for the page and the XLSX."""
    title, table, formats = frame[:3]
    return (title, table, formats, spec)


def class_results_chart(columns: ResultColumns | None = None) -> ChartSpec:
    """Describe the chart of the subjects sheet: the count of each period mark per subject."""
    columns = columns or ResultColumns.translated()
    return ChartSpec(
        kind=COLUMN,
        category=columns.subject,
        values=tuple(count_column(value) for value in COUNTED_VALUES),
        title=_("Period marks by subject"),
        without_total=True,
    )


def dynamics_chart(frame: Frame, dynamics: "Dynamics") -> ChartSpec:
    """Describe the chart of one dynamics sheet: each subject's indicator in every period."""
    title, _table, formats = frame[:3]
    terms = tuple(term.name for term in dynamics.terms)
    percent = tuple(name for name in terms if formats.get(name) == PERCENT_1)
    return ChartSpec(kind=COLUMN, category=_("Subject"), values=terms, title=title, percent=percent)


def _indicator_formats(columns: ResultColumns) -> dict[str, str]:
    formats = {columns.students: INTEGER, columns.exempt: INTEGER}
    formats.update({count_column(value): INTEGER for value in COUNTED_VALUES})
    formats.update(
        {
            columns.average: DECIMAL_2,
            columns.pass_rate: PERCENT_1,
            columns.quality_rate: PERCENT_1,
            columns.sou: PERCENT_1,
        }
    )
    return formats


@dataclass(frozen=True)
class StudentLists:
    """Students with exactly one «3», with exactly one «4», and with a failing mark."""

    one_three: list[tuple[Student, list[str]]]
    one_four: list[tuple[Student, list[str]]]
    failing: list[tuple[Student, list[str]]]


def student_lists(results: ClassResults) -> StudentLists:
    """Sort students into the lists: one «3» (no fails), one «4» (no 3 and no fails), any fail.

    A fail is «2», «1», «н/а» or «незач»; the subjects named are those of the mark.
    """
    one_three, one_four, failing = [], [], []
    for student in results.students:
        by_value = defaultdict(list)
        for subject in results.subjects:
            value = results.marks.get((student.id, subject.id))
            if is_counted(value):
                by_value[value].append(subject.name)
        failed = [name for value, names in by_value.items() if fails(value) for name in names]
        if failed:
            failing.append((student, sorted(failed)))
        elif len(by_value.get("3", [])) == 1:
            one_three.append((student, by_value["3"]))
        elif not by_value.get("3") and len(by_value.get("4", [])) == 1:
            one_four.append((student, by_value["4"]))
    return StudentLists(one_three, one_four, failing)


def results_lists_frame(lists: StudentLists, columns: ResultColumns) -> Frame:
    records = []
    for label, entries in (
        (_("One «3»"), lists.one_three),
        (_("One «4»"), lists.one_four),
        (_("«2» or «н/а»"), lists.failing),
    ):
        for student, subjects in entries:
            records.append(
                {
                    columns.category: label,
                    columns.student: student_name(student),
                    columns.subjects: ", ".join(subjects),
                }
            )
    frame = pd.DataFrame.from_records(
        records, columns=[columns.category, columns.student, columns.subjects]
    )
    return _("Lists"), frame, {}


def class_results_frames(results: ClassResults, columns: ResultColumns | None = None):
    columns = columns or ResultColumns.translated()
    return [
        results_marks_frame(results, columns),
        results_subjects_frame(results, columns),
        results_lists_frame(student_lists(results), columns),
    ]


# --- Summary sheet (сводная ведомость) ---------------------------------------------------------


def term_label(term: Term) -> str:
    return term.name


def summary_sheet_frame(school_class: SchoolClass) -> Frame:
    """Build students × (subject, period) for the class's year, the year mark last."""
    terms = class_terms(school_class)
    marks = class_period_marks(school_class, [t.id for t in terms], with_year=True)
    students = class_students(school_class)
    subjects = subject_columns(school_class.school_id, {m.subject_id for m in marks})
    by_key = {(m.student_id, m.subject_id, m.term_id): m.value for m in marks}

    periods = [(t.id, term_label(t)) for t in terms] + [(None, _("Year"))]
    student_column = _("Student")
    names = [student_column]
    for subject in subjects:
        names += [f"{subject.name}: {label}" for _term, label in periods]
    records = []
    for student in students:
        row = {student_column: student_name(student)}
        for subject in subjects:
            for term_id, label in periods:
                row[f"{subject.name}: {label}"] = cell_value(
                    by_key.get((student.id, subject.id, term_id))
                )
        records.append(row)
    return _("Summary sheet"), pd.DataFrame.from_records(records, columns=names), {}


def describe_year(school_class: SchoolClass) -> str:
    """Return the filters line of a class report over the whole school year."""
    return _(
        "Class: %(class_name)s. School year: %(year)s.",
        class_name=school_class.name,
        year=school_class.year.name,
    )


def summary_sheet_title(school_class: SchoolClass) -> str:
    return _("Summary sheet of %(class_name)s", class_name=school_class.name)


def summary_sheet_workbook(frame: Frame, school_class: SchoolClass) -> tuple[str, bytes]:
    """Write the summary sheet to XLSX; return the download name and the bytes.

    The page's download and the background job both write the file this way.
    """
    title = summary_sheet_title(school_class)
    return title, frame_to_xlsx([frame], title, describe_year(school_class))


# --- Dynamics --------------------------------------------------------------------------------

# NOTE: charts of the dynamics are not built; the tables and the XLSX carry the numbers.


@dataclass
class Dynamics:
    """Indicators of every subject and of the whole class, term by term."""

    terms: list[Term]
    subjects: list[SubjectColumn]
    #: (term id, subject id or None for the whole class) → indicators.
    indicators: dict[tuple[int, int | None], Indicators]


def class_dynamics(school_class: SchoolClass) -> Dynamics:
    """Compute the indicators of each term of the class's year from stored term marks."""
    terms = class_terms(school_class)
    term_ids = [t.id for t in terms]
    counts = class_mark_counts(school_class, term_ids)
    indicators = {key: subject_indicators(counter) for key, counter in counts.items()}

    per_student: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for mark in class_period_marks(school_class, term_ids):
        if mark.term_id is not None:
            per_student[mark.term_id][mark.student_id].append(mark.value)
    for term in terms:
        indicators[(term.id, None)] = class_indicators(per_student.get(term.id, {}))
    subjects = subject_columns(school_class.school_id, {subject_id for _term, subject_id in counts})
    return Dynamics(terms, subjects, indicators)


def change_column(term: Term, previous: Term) -> str:
    return _("Change %(term)s vs %(previous)s", term=term.name, previous=previous.name)


def dynamics_frames(dynamics: Dynamics) -> list[Frame]:
    """Build one sheet per indicator: subjects and the class by terms and their changes."""
    sheets = [
        (_("Average mark"), lambda i: i.average, DECIMAL_2),
        (_("Pass rate"), lambda i: i.pass_rate, PERCENT_1),
        (_("Quality rate"), lambda i: i.quality_rate, PERCENT_1),
        (_("Degree of learning (СОУ)"), lambda i: i.sou, PERCENT_1),
    ]
    subject_column = _("Subject")
    rows = [(s.id, s.name) for s in dynamics.subjects] + [(None, _("Whole class"))]
    frames = []
    for title, read, number_format in sheets:
        names = [subject_column]
        formats = {}
        records = []
        for term_index, term in enumerate(dynamics.terms):
            names.append(term.name)
            formats[term.name] = number_format
            if term_index:
                change = change_column(term, dynamics.terms[term_index - 1])
                names.append(change)
                formats[change] = number_format
        for subject_id, subject_name in rows:
            row = {subject_column: subject_name}
            previous = None
            for term_index, term in enumerate(dynamics.terms):
                indicators = dynamics.indicators.get((term.id, subject_id))
                value = read(indicators) if indicators is not None else None
                row[term.name] = as_float(value)
                if term_index:
                    change = change_column(term, dynamics.terms[term_index - 1])
                    both = value is not None and previous is not None
                    row[change] = as_float(value - previous) if both else None
                previous = value
            records.append(row)
        frames.append((title, pd.DataFrame.from_records(records, columns=names), formats))
    return frames
