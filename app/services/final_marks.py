"""Final marks (итоговые отметки): term, year and exam marks of a course, and certificate marks.

The system suggests each mark from the journal by the school's regulation; the teacher
confirms or overrides it. The suggestion is stored beside the value (``suggested``), so
an override stays visible, and every change gets its audit row in the same transaction.

Rules of the suggestions:

- Term mark: the weighted average of the term's marks, rounded at the regulation's
  thresholds. «н/а» is proposed with fewer numeric marks than the regulation requires
  for the course's weekly hours, or when the student missed more than the regulation's
  share of the term's held lessons. With the «no top mark with a 2» rule on, a term that
  contains a mark of 2 or lower gets at most the mark below the top.
- Year mark: the mean of the term marks of the terms of the student's grade, with the
  regulation's tie rule for a mean exactly between two marks.
- Certificate mark: the federal order on certificates (приказ Минпросвещения № 546 of
  05.10.2020), see :func:`certificate_suggestion`.
"""

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from flask_appbuilder.security.sqla.models import User
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from app.errors import FormErrors
from app.models import (
    AcademicYear,
    Assignment,
    Attendance,
    CertificateMark,
    Course,
    FinalMark,
    Lesson,
    Mark,
    SchoolClass,
    Student,
    Subject,
    Term,
    db,
)
from app.models.regulation import Regulation
from app.services.journal import GridMark, course_terms, format_average, student_average
from app.services.journal_audit import record_change
from app.services.regulation import (
    regulation_for,
    required_marks,
    round_average,
    stored_thresholds,
)
from app.services.transferred_marks import transferred_pairs

log = logging.getLogger(__name__)

NOT_ATTESTED = "н/а"
EXEMPT = "осв"
PASS = "зач"
FAIL = "незач"
WORD_MARKS = (PASS, FAIL, NOT_ATTESTED, EXEMPT)

#: Grades whose students receive a school-leaving certificate (аттестат).
CERTIFICATE_GRADES = (9, 11)

#: The grades of the level of education each certificate covers: basic general education
#: (grades 5–9) and secondary general education (grades 10–11).
CERTIFICATE_LEVEL_GRADES = {9: (5, 9), 11: (10, 11)}


# --- Suggestions of term marks --------------------------------------------------------


@dataclass
class Suggestion:
    """A suggested final mark and the reason the page shows beside it."""

    value: str | None
    average: Decimal | None = None
    #: Why «н/а» was proposed or the mark lowered; empty for a plain rounded average.
    reason: str = ""

    @property
    def average_text(self) -> str:
        return format_average(self.average)


@dataclass
class TermRecord:
    """Marks and missed lessons of one student in one term of a course.

    Marks from another school's extract are added as numeric ``GridMark`` tuples.
    """

    marks: list[Mark | GridMark] = field(default_factory=list)
    missed: int = 0


def term_gets_marks(course: Course, term: Term, regulation: Regulation) -> bool:
    """Tell whether the course gives a mark for the term at all.

    Courses without marks give none; second-graders get marks from the term the
    regulation names (usually the second).
    """
    if not course.gives_marks:
        return False
    grade = course.school_class.grade
    return not (grade == 2 and term.number < regulation.grade2_marks_from_term)


def _held_lessons_count(course: Course, term: Term, as_of: dt.date) -> int:
    """Lessons of the course in the term that took place by ``as_of`` (cancelled ones not)."""
    return db.session.scalar(
        select(func.count(Lesson.id)).where(
            Lesson.school_id == course.school_id,
            Lesson.course_id == course.id,
            Lesson.date >= term.start_date,
            Lesson.date <= min(term.end_date, as_of),
            Lesson.is_cancelled.is_(False),
        )
    )


def _term_records(course: Course, term: Term, as_of: dt.date) -> dict[int, TermRecord]:
    """Marks and missed lessons of every student of the course in the term, by student id."""
    records: dict[int, TermRecord] = defaultdict(TermRecord)
    marks = db.session.scalars(
        select(Mark)
        .join(Mark.assignment)
        .join(Lesson, Lesson.id == Assignment.lesson_id)
        .options(contains_eager(Mark.assignment))
        .where(
            Mark.school_id == course.school_id,
            Lesson.course_id == course.id,
            Lesson.date >= term.start_date,
            Lesson.date <= term.end_date,
        )
    )
    for mark in marks:
        records[mark.student_id].marks.append(mark)
    # Marks brought from another school's extract count as numeric marks of the term.
    brought = transferred_pairs(course.school_id, [course.id], term.start_date, term.end_date)
    for (student_id, _course_id), pairs in brought.items():
        for value, weight in pairs:
            records[student_id].marks.append(GridMark(0, "number", value, None, weight))

    absences = db.session.scalars(
        select(Attendance)
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .where(
            Attendance.school_id == course.school_id,
            Lesson.course_id == course.id,
            Lesson.date >= term.start_date,
            Lesson.date <= min(term.end_date, as_of),
            Lesson.is_cancelled.is_(False),
        )
    )
    for entry in absences:
        if _counts_as_missed(entry):
            records[entry.student_id].missed += 1
    return records


def _counts_as_missed(entry: Attendance) -> bool:
    """Tell whether an entry is a missed lesson: «Н», unless school business (олимпиада)."""
    if entry.code.kind != "absent" or entry.code.counts_as_present:
        return False
    return not (entry.reason is not None and entry.reason.counts_as_present)


def suggest_term_marks(
    course: Course, term: Term, regulation: Regulation, as_of: dt.date | None = None
) -> dict[int, Suggestion]:
    """Suggest the term mark of every student of the course, by student id.

    ``as_of`` (today by default) decides which lessons were held; a term that has not
    started yet gets no suggestion.
    """
    as_of = as_of or dt.date.today()
    students = course.students()
    if not term_gets_marks(course, term, regulation) or term.start_date > as_of:
        return {student.id: Suggestion(None) for student in students}

    records = _term_records(course, term, as_of)
    held_count = _held_lessons_count(course, term, as_of)
    return {
        student.id: _term_suggestion(course, regulation, records.get(student.id), held_count)
        for student in students
    }


def _term_suggestion(
    course: Course, regulation: Regulation, record: TermRecord | None, held_count: int
) -> Suggestion:
    record = record or TermRecord()
    if course.assessment == "pass_fail":
        suggestion = _pass_fail_suggestion(record.marks, regulation, course)
    else:
        suggestion = _numeric_suggestion(course, regulation, record.marks)
    missed_share = Decimal(record.missed) / held_count if held_count else Decimal(0)
    if missed_share > Decimal(regulation.max_missed_share):
        suggestion.value = NOT_ATTESTED
        suggestion.reason = _(
            "not attested: missed %(missed)s of %(held)s lessons held",
            missed=record.missed,
            held=held_count,
        )
    return suggestion


def _numeric_suggestion(course: Course, regulation: Regulation, marks: list[Mark]) -> Suggestion:
    max_mark = course.school.max_mark
    average = student_average(course, marks)
    numbers = [mark.value for mark in marks if mark.kind == "number" and mark.value is not None]
    required = required_marks(regulation, course.hours_per_week)
    if len(numbers) < required:
        reason = _(
            "not attested: %(count)s marks, %(required)s required",
            count=len(numbers),
            required=required,
        )
        return Suggestion(NOT_ATTESTED, average, reason)
    if average is None:
        return Suggestion(None, None)

    mark = round_average(average, stored_thresholds(regulation, max_mark))
    if regulation.no_top_mark_with_fail and mark == max_mark and min(numbers) <= 2:
        reason = _(
            "lowered from %(top)s: the term has a mark of %(low)s",
            top=max_mark,
            low=min(numbers),
        )
        return Suggestion(str(max_mark - 1), average, reason)
    return Suggestion(str(mark), average)


def _pass_fail_suggestion(marks: list[Mark], regulation: Regulation, course: Course) -> Suggestion:
    """Suggest «зач» or «незач» from the term's pass/fail marks.

    NOTE: the regulation sets no rule for pass/fail periods, so this one is ours. «зач»
    is suggested when the student has at least as many «зач» as «незач» marks, because a
    tie goes in the student's favour as under the default year tie rule. The minimum
    number of marks applies to pass/fail marks as it does to numeric ones.
    """
    passes = sum(1 for mark in marks if mark.kind == "pass")
    fails = sum(1 for mark in marks if mark.kind == "fail")
    required = required_marks(regulation, course.hours_per_week)
    if passes + fails < required:
        reason = _(
            "not attested: %(count)s marks, %(required)s required",
            count=passes + fails,
            required=required,
        )
        return Suggestion(NOT_ATTESTED, None, reason)
    if passes + fails == 0:
        return Suggestion(None)
    return Suggestion(PASS if passes >= fails else FAIL)


# --- Suggestions of year marks --------------------------------------------------------


def _half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def suggest_year_mark(
    term_values: list[str | None], regulation: Regulation, exam_value: str | None = None
) -> Suggestion:
    """Suggest a year mark from the term marks of the student's grade, in date order.

    ``term_values`` contains one value per term that gives marks: the stored mark, or the
    suggestion where none is stored. A None means a term is not marked yet, so there is
    nothing to suggest. Any «н/а» gives «н/а»: a term without attestation is an
    academic debt the year mark cannot cover. «осв» terms are left out; when every term
    is «осв», so is the year. Pass/fail terms give «зач» only when no term is «незач».
    """
    if not term_values or any(value is None for value in term_values):
        return Suggestion(None)
    if NOT_ATTESTED in term_values:
        return Suggestion(NOT_ATTESTED, reason=_("not attested: a term is not attested"))

    numbers = [int(value) for value in term_values if value.isdigit()]
    if numbers:
        return _numeric_year_mark(numbers, regulation, exam_value)
    if FAIL in term_values:
        return Suggestion(FAIL)
    if PASS in term_values:
        return Suggestion(PASS)
    return Suggestion(EXEMPT)


def _numeric_year_mark(
    numbers: list[int], regulation: Regulation, exam_value: str | None
) -> Suggestion:
    """Round the mean of the term marks; a mean of x.5 is settled by the tie rule.

    The annual-test rule reads the exam mark as the direction: a test mark at or above
    the upper of the two marks rounds up, a lower one rounds down. Without a test mark
    the tie goes up, as in the student's favour.
    """
    mean = Decimal(sum(numbers)) / len(numbers)
    lower = int(mean)
    if mean - lower != Decimal("0.5"):
        return Suggestion(str(_half_up(mean)), mean)

    upper = lower + 1
    rule = regulation.year_tie_rule
    if rule == "last_term":
        return Suggestion(str(numbers[-1]), mean, _("tie: settled by the last term mark"))
    if rule == "annual_test" and exam_value is not None and exam_value.isdigit():
        chosen = upper if int(exam_value) >= upper else lower
        return Suggestion(str(chosen), mean, _("tie: settled by the annual test mark"))
    return Suggestion(str(upper), mean, _("tie: rounded in the student's favour"))


# --- The final marks page of a course -------------------------------------------------


def is_override(stored) -> bool:
    """Tell whether a stored final or certificate mark differs from its saved suggestion.

    A mark saved without a suggestion (an exam mark, or nothing to compute from) is no
    override.
    """
    if stored is None or stored.suggested is None:
        return False
    return stored.value != stored.suggested


@dataclass(frozen=True)
class CellKey:
    """One final-mark cell of the page: a student, a kind and, for term marks, the term."""

    student_id: int
    kind: str
    term_id: int | None = None

    @property
    def field_name(self) -> str:
        """The name of the cell's input; the hidden seen value is named ``seen-`` + it."""
        suffix = f"term-{self.term_id}" if self.kind == "term" else self.kind
        return f"mark-{self.student_id}-{suffix}"


@dataclass
class FinalCell:
    """A stored final mark (if any) and the system's suggestion for it."""

    key: CellKey
    stored: FinalMark | None
    suggestion: Suggestion
    #: Why the cell is read-only (a closed term or year); empty when it is open.
    lock: str = ""

    @property
    def value(self) -> str:
        return self.stored.value if self.stored is not None else ""

    @property
    def is_override(self) -> bool:
        """A stored mark that differs from the mark the system suggested when it was saved."""
        return is_override(self.stored)


@dataclass
class FinalRow:
    student: Student
    terms: dict[int, FinalCell]
    year: FinalCell
    exam: FinalCell | None


@dataclass
class FinalMarksPage:
    """Students × terms, year and exam marks of one course."""

    course: Course
    terms: list[Term]
    rows: list[FinalRow]
    show_exam: bool
    regulation: Regulation
    gives_marks: bool


def _stored_final_marks(course: Course) -> dict[CellKey, FinalMark]:
    rows = db.session.scalars(
        select(FinalMark).where(
            FinalMark.school_id == course.school_id, FinalMark.course_id == course.id
        )
    )
    return {CellKey(row.student_id, row.kind, row.term_id): row for row in rows}


def course_regulation(course: Course) -> Regulation:
    return regulation_for(course.school_id, course.year_id)


def _term_lock(term: Term, year: AcademicYear) -> str:
    if year.is_closed:
        return _year_lock(year)
    if term.is_closed:
        return _(
            "The term «%(term)s» is closed: its marks are read-only. The principal may "
            "reopen it on the page of terms.",
            term=term.name,
        )
    return ""


def _year_lock(year: AcademicYear) -> str:
    if not year.is_closed:
        return ""
    return _("The school year %(year)s is closed: its final marks are read-only.", year=year.name)


def shows_exam(course: Course, regulation: Regulation, stored: dict) -> bool:
    """Tell whether the page shows exam marks: graduating grades, the annual-test tie rule,
    or exam marks already stored."""
    if course.school_class.grade in CERTIFICATE_GRADES or regulation.year_tie_rule == "annual_test":
        return True
    return any(key.kind == "exam" for key in stored)


def final_marks_page(course: Course, as_of: dt.date | None = None) -> FinalMarksPage:
    """Assemble the final marks page: stored marks with suggestions, per student."""
    regulation = course_regulation(course)
    terms = course_terms(course)
    year = db.session.get(AcademicYear, course.year_id)
    stored = _stored_final_marks(course)
    suggestions = {term.id: suggest_term_marks(course, term, regulation, as_of) for term in terms}
    show_exam = shows_exam(course, regulation, stored)

    rows = []
    for student in course.students():
        term_cells = {}
        for term in terms:
            key = CellKey(student.id, "term", term.id)
            term_cells[term.id] = FinalCell(
                key, stored.get(key), suggestions[term.id][student.id], _term_lock(term, year)
            )
        exam_key = CellKey(student.id, "exam")
        exam = FinalCell(exam_key, stored.get(exam_key), Suggestion(None), _year_lock(year))
        year_key = CellKey(student.id, "year")
        year_suggestion = _year_suggestion(course, terms, regulation, term_cells, exam)
        rows.append(
            FinalRow(
                student=student,
                terms=term_cells,
                year=FinalCell(year_key, stored.get(year_key), year_suggestion, _year_lock(year)),
                exam=exam if show_exam else None,
            )
        )
    return FinalMarksPage(course, terms, rows, show_exam, regulation, course.gives_marks)


def _year_suggestion(course, terms, regulation, term_cells, exam: FinalCell) -> Suggestion:
    """Suggest the year mark from each term's stored mark, or the term's suggestion."""
    if not course.gives_marks:
        return Suggestion(None)
    values = []
    for term in terms:
        if not term_gets_marks(course, term, regulation):
            continue
        cell = term_cells[term.id]
        values.append(cell.stored.value if cell.stored is not None else cell.suggestion.value)
    exam_value = exam.stored.value if exam.stored is not None else None
    return suggest_year_mark(values, regulation, exam_value)


# --- Checking typed values ------------------------------------------------------------


class FinalMarkInputError(FormErrors):
    """One or more final marks are invalid or locked; nothing was saved."""


def allowed_final_marks_message(value: str, max_mark: int) -> str:
    """Build the error for an invalid final mark, naming the value and what is accepted."""
    return _(
        'Final mark "%(value)s" is invalid: enter a whole number from 1 to %(max)s, '
        '"зач", "незач", "н/а" or "осв", or leave the cell empty.',
        value=value,
        max=max_mark,
    )


def parse_final_value(text: str | None, max_mark: int) -> str | None:
    """Normalise a typed final mark; None means an empty cell.

    Raises ``ValueError`` with the user's message for anything but 1..``max_mark``,
    «зач», «незач», «н/а» and «осв».
    """
    cleaned = (text or "").strip().lower()
    if not cleaned:
        return None
    if cleaned in WORD_MARKS:
        return cleaned
    if cleaned.isdigit() and 1 <= int(cleaned) <= max_mark:
        return str(int(cleaned))
    raise ValueError(allowed_final_marks_message((text or "").strip()[:40], max_mark))


# --- Saving the final marks of a course -----------------------------------------------


@dataclass
class FinalMarksForm:
    """Typed values and the values the page showed when it was loaded, by cell."""

    values: dict[CellKey, str] = field(default_factory=dict)
    #: A cell missing here is saved without the concurrent-edit check.
    seen: dict[CellKey, str] = field(default_factory=dict)


def read_final_marks_form(course: Course, data) -> FinalMarksForm:
    """Read the cells of the course's students and terms from a submitted form mapping.

    Cells missing from ``data`` are left out, so they are neither changed nor checked.
    """
    form = FinalMarksForm()
    terms = course_terms(course)
    keys = []
    for student in course.students():
        keys += [CellKey(student.id, "term", term.id) for term in terms]
        keys += [CellKey(student.id, "year"), CellKey(student.id, "exam")]
    for key in keys:
        if key.field_name in data:
            form.values[key] = data.get(key.field_name, "")
        seen = data.get(f"seen-{key.field_name}")
        if seen is not None:
            form.seen[key] = seen
    return form


@dataclass
class SaveResult:
    changed: int = 0
    #: One message per cell another user changed since the page was loaded.
    conflicts: list[str] = field(default_factory=list)


@dataclass
class _Change:
    key: CellKey
    stored: FinalMark | None
    value: str | None


def _lock_course_row(course: Course) -> None:
    """Serialise saves of one course's final marks, and reread what another save committed.

    PostgreSQL makes a second save wait for the first; SQLite serialises writers itself.
    """
    db.session.execute(
        select(Course.id)
        .where(Course.school_id == course.school_id, Course.id == course.id)
        .with_for_update()
    )
    db.session.expire_all()


def _changer_name(user_id: int | None) -> str:
    """Name of the user who last changed a stored mark, for the conflict message."""
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None:
        return _("another user")
    return " ".join(part for part in (user.first_name, user.last_name) if part) or user.username


def _cell_label(key: CellKey, student: Student, terms: dict[int, Term]) -> str:
    if key.kind == "term":
        return _("%(student)s, %(term)s", student=student.short_name, term=terms[key.term_id].name)
    names = {"year": _("year mark"), "exam": _("exam mark")}
    return _("%(student)s, %(kind)s", student=student.short_name, kind=names[key.kind])


def _conflict_message(label: str, stored: FinalMark | None) -> str:
    changer = _changer_name(stored.changed_by_id if stored is not None else None)
    return _(
        "The mark %(cell)s was already changed by %(user)s: it is now «%(value)s». "
        "Check it and save again.",
        cell=label,
        user=changer,
        value=stored.value if stored is not None else _("no mark"),
    )


def save_final_marks(
    course: Course,
    form: FinalMarksForm,
    acting_user_id: int | None,
    as_of: dt.date | None = None,
) -> SaveResult:
    """Save the typed final marks of a course in one transaction.

    Every value is checked first: an invalid value, a value for a course without marks,
    or a change in a closed term or year raises ``FinalMarkInputError`` listing them all,
    and nothing is written. A cell another user changed since the page was loaded is
    left as it is and reported in ``SaveResult.conflicts``. Term and exam marks are
    written first, so that the year suggestion stored beside the year mark is computed
    from them.
    """
    _lock_course_row(course)
    page = final_marks_page(course, as_of)
    cells = _page_cells(page)
    result = SaveResult()
    changes = _collect_changes(course, page, cells, form, result)

    first = [change for change in changes if change.key.kind != "year"]
    for change in first:
        _apply_change(course, change, cells[change.key].suggestion.value, acting_user_id)
    db.session.flush()
    year_changes = [change for change in changes if change.key.kind == "year"]
    if year_changes:
        # The year suggestion reads the term and exam marks just written.
        fresh = {row.student.id: row.year for row in final_marks_page(course, as_of).rows}
        for change in year_changes:
            change.stored = fresh[change.key.student_id].stored
            suggestion = fresh[change.key.student_id].suggestion.value
            _apply_change(course, change, suggestion, acting_user_id)
    result.changed = len(changes)
    db.session.commit()
    log.info(
        "User %s saved final marks of course %s: %s changes, %s conflicts",
        acting_user_id,
        course.id,
        result.changed,
        len(result.conflicts),
    )
    return result


def _collect_changes(course, page, cells, form: FinalMarksForm, result: SaveResult):
    """Check every typed cell and return the changes to write.

    Raises ``FinalMarkInputError`` with every invalid or locked cell. Cells changed by
    another user since the page was loaded go into ``result.conflicts`` instead.
    """
    students = {row.student.id: row.student for row in page.rows}
    terms = {term.id: term for term in page.terms}
    errors: list[str] = []
    changes: list[_Change] = []
    for key, text in form.values.items():
        cell = cells.get(key)
        if cell is None:
            continue
        label = _cell_label(key, students[key.student_id], terms)
        try:
            value = parse_final_value(text, course.school.max_mark)
        except ValueError as error:
            errors.append(_("%(cell)s: %(error)s", cell=label, error=str(error)))
            continue
        if value == (cell.stored.value if cell.stored is not None else None):
            continue
        error = _write_rejection(course, cell, value)
        if error:
            errors.append(_("%(cell)s: %(error)s", cell=label, error=error))
            continue
        seen = form.seen.get(key)
        if seen is not None and seen.strip() != cell.value:
            result.conflicts.append(_conflict_message(label, cell.stored))
            continue
        changes.append(_Change(key, cell.stored, value))
    if errors:
        raise FinalMarkInputError(errors)
    return changes


def _write_rejection(course: Course, cell: FinalCell, value: str | None) -> str:
    """Return why a changed cell may not be written: a course without marks or a lock."""
    if value is not None and not course.gives_marks:
        return _(
            "the course %(course)s gives no marks, so leave the cell empty.", course=str(course)
        )
    return cell.lock


def _page_cells(page: FinalMarksPage) -> dict[CellKey, FinalCell]:
    cells = {}
    for row in page.rows:
        for cell in row.terms.values():
            cells[cell.key] = cell
        cells[row.year.key] = row.year
        if row.exam is not None:
            cells[row.exam.key] = row.exam
    return cells


def _apply_change(course: Course, change: _Change, suggested, acting_user_id) -> None:
    """Write one final mark with its audit row."""
    key, mark = change.key, change.stored
    audit = dict(
        school_id=course.school_id,
        user_id=acting_user_id,
        course_id=course.id,
        class_id=course.class_id,
        student_id=key.student_id,
        term_id=key.term_id,
    )
    if change.value is None:
        record_change("final_mark", "delete", record_id=mark.id, old=mark.value, **audit)
        db.session.delete(mark)
        return
    if mark is None:
        mark = FinalMark(
            school_id=course.school_id,
            student_id=key.student_id,
            course_id=course.id,
            kind=key.kind,
            term_id=key.term_id,
            value=change.value,
            suggested=suggested,
            changed_by_id=acting_user_id,
        )
        db.session.add(mark)
        db.session.flush()
        record_change("final_mark", "create", record_id=mark.id, new=change.value, **audit)
        return
    record_change(
        "final_mark", "change", record_id=mark.id, old=mark.value, new=change.value, **audit
    )
    mark.value = change.value
    mark.suggested = suggested
    mark.changed_by_id = acting_user_id
    mark.changed_at = func.now()


# --- Certificate marks ----------------------------------------------------------------


def whole_subject(subject: Subject) -> Subject:
    """Return the subject a certificate mark is given for: the whole one for a part (алгебра)."""
    return subject.parent if subject.parent is not None else subject


@dataclass
class _HistoryMark:
    """A final mark of a student with where it was given: year, grade and whole subject."""

    value: str
    kind: str
    year_id: int
    year_start: dt.date
    grade: int
    subject_id: int


def _student_history(
    school_id: int, student_ids: list[int], grades: tuple[int, int]
) -> dict[int, list[_HistoryMark]]:
    """Load the students' year, term and exam marks of lesson courses in the grades, by student."""
    statement = (
        select(FinalMark, Course, SchoolClass.grade, AcademicYear.start_date)
        .join(Course, Course.id == FinalMark.course_id)
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .join(AcademicYear, AcademicYear.id == Course.year_id)
        .where(
            FinalMark.school_id == school_id,
            FinalMark.student_id.in_(student_ids or [-1]),
            FinalMark.kind.in_(["term", "year", "exam"]),
            Course.kind == "lesson",
            SchoolClass.grade.between(*grades),
        )
    )
    history: dict[int, list[_HistoryMark]] = defaultdict(list)
    for mark, course, grade, year_start in db.session.execute(statement):
        history[mark.student_id].append(
            _HistoryMark(
                value=mark.value,
                kind=mark.kind,
                year_id=course.year_id,
                year_start=year_start,
                grade=grade,
                subject_id=whole_subject(course.subject).id,
            )
        )
    return history


def _mean_of_marks(values: list[str]) -> Suggestion:
    """Round the mean of final marks mathematically (x.5 up), as the federal order requires.

    «осв» marks are left out. Any «н/а» or «незач» leaves nothing to suggest, because a
    student with an academic debt gets no certificate mark. Only «зач» marks give «зач».
    """
    values = [value for value in values if value != EXEMPT]
    if not values:
        return Suggestion(EXEMPT)
    if NOT_ATTESTED in values or FAIL in values:
        return Suggestion(None, reason=_("an academic debt: a mark is «н/а» or «незач»"))
    numbers = [int(value) for value in values if value.isdigit()]
    if not numbers:
        return Suggestion(PASS)
    mean = Decimal(sum(numbers)) / len(numbers)
    return Suggestion(str(_half_up(mean)), mean)


def certificate_suggestion(
    history: list[_HistoryMark], subject_id: int, school_class: SchoolClass, taught_now: bool
) -> Suggestion:
    """Compute a student's certificate mark in a whole subject by the federal order № 546.

    Grade 9 with an exam mark (ОГЭ) of this year: the mean of the year and exam marks.
    Grade 9 without one: the year mark of the last year the subject was taught. Grade 11:
    the mean of the half-year and year marks of grades 10 and 11. Every mean is rounded
    mathematically.

    NOTE: parts of one subject (алгебра and геометрия for математика) give one mark. The
    order names a single year mark per subject, so all the parts' marks go into one mean
    with the same weight each: a part taught as long as another counts as much. Taking
    the mean of the parts' own results first would round twice.

    A subject the class is taught this year (``taught_now``) gets no suggestion until its
    year mark of this year is given, so an earlier year's mark is not taken for the last.
    """
    marks = [mark for mark in history if mark.subject_id == subject_id]
    year_id = school_class.year_id
    if taught_now and not any(m.kind == "year" and m.year_id == year_id for m in marks):
        return Suggestion(None, reason=_("the year mark of this year is not given yet"))
    if school_class.grade == 9:
        return _grade9_suggestion(marks, year_id)
    return _grade11_suggestion(marks)


def _grade9_suggestion(marks: list[_HistoryMark], year_id: int) -> Suggestion:
    year_marks = [mark for mark in marks if mark.kind == "year"]
    if not year_marks:
        return Suggestion(None)
    # The last year the subject (any of its parts) was taught, by the year's start date.
    last_start = max(mark.year_start for mark in year_marks)
    values = [mark.value for mark in year_marks if mark.year_start == last_start]
    exams = [mark.value for mark in marks if mark.kind == "exam" and mark.year_id == year_id]
    return _mean_of_marks(values + exams)


def _grade11_suggestion(marks: list[_HistoryMark]) -> Suggestion:
    values = []
    for grade in (10, 11):
        in_grade = [m for m in marks if m.grade == grade and m.kind in ("term", "year")]
        if not in_grade:
            continue
        # A repeated grade counts once: the latest year of it.
        latest = max(mark.year_start for mark in in_grade)
        values += [mark.value for mark in in_grade if mark.year_start == latest]
    if not values:
        return Suggestion(None)
    return _mean_of_marks(values)


@dataclass
class CertificateCell:
    key: tuple[int, int]
    stored: CertificateMark | None
    suggestion: Suggestion

    @property
    def value(self) -> str:
        return self.stored.value if self.stored is not None else ""

    @property
    def field_name(self) -> str:
        return f"cert-{self.key[0]}-{self.key[1]}"

    @property
    def is_override(self) -> bool:
        return is_override(self.stored)


@dataclass
class CertificatePage:
    school_class: SchoolClass
    subjects: list[Subject]
    #: (student, {subject id: cell})
    rows: list[tuple[Student, dict[int, CertificateCell]]]
    lock: str


def _taught_subject_ids(school_class: SchoolClass) -> set[int]:
    """Return the ids of the whole subjects of the class's courses that give marks."""
    courses = db.session.scalars(
        select(Course).where(
            Course.school_id == school_class.school_id,
            Course.class_id == school_class.id,
            Course.kind == "lesson",
            Course.assessment != "none",
        )
    )
    return {whole_subject(course.subject).id for course in courses}


def _certificate_subjects(school_class: SchoolClass, history, taught: set[int]) -> list[Subject]:
    """Load the whole subjects the students have marks in, and those taught this year."""
    ids = {mark.subject_id for marks in history.values() for mark in marks} | taught
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Subject)
            .where(Subject.school_id == school_class.school_id, Subject.id.in_(ids))
            .order_by(Subject.name)
        )
    )


def certificate_page(school_class: SchoolClass) -> CertificatePage:
    """Assemble the certificate marks of a class of grade 9 or 11: suggested and stored."""
    students = [student for student in school_class.students if student.is_active]
    grades = CERTIFICATE_LEVEL_GRADES[school_class.grade]
    history = _student_history(school_class.school_id, [s.id for s in students], grades)
    taught = _taught_subject_ids(school_class)
    subjects = _certificate_subjects(school_class, history, taught)
    stored = {
        (row.student_id, row.subject_id): row
        for row in db.session.scalars(
            select(CertificateMark).where(
                CertificateMark.school_id == school_class.school_id,
                CertificateMark.year_id == school_class.year_id,
                CertificateMark.student_id.in_([s.id for s in students] or [-1]),
            )
        )
    }
    rows = []
    for student in students:
        cells = {}
        for subject in subjects:
            key = (student.id, subject.id)
            suggestion = certificate_suggestion(
                history.get(student.id, []), subject.id, school_class, subject.id in taught
            )
            cells[subject.id] = CertificateCell(key, stored.get(key), suggestion)
        rows.append((student, cells))
    year = db.session.get(AcademicYear, school_class.year_id)
    return CertificatePage(school_class, subjects, rows, _year_lock(year))


def save_certificate_marks(
    school_class: SchoolClass, form: dict, seen: dict, acting_user_id: int | None
) -> SaveResult:
    """Save typed certificate marks of a class in one transaction, as the course page does.

    ``form`` and ``seen`` map (student id, subject id) to the typed and the shown value.
    Invalid values or a closed year raise ``FinalMarkInputError`` and nothing is written.
    A cell another user changed since the page was loaded is reported and left alone.
    """
    db.session.execute(
        select(SchoolClass.id)
        .where(SchoolClass.school_id == school_class.school_id, SchoolClass.id == school_class.id)
        .with_for_update()
    )
    db.session.expire_all()
    page = certificate_page(school_class)
    result = SaveResult()
    changes = _collect_certificate_changes(page, form, seen, result)

    for cell, value in changes:
        _apply_certificate_change(school_class, cell, value, acting_user_id)
    result.changed = len(changes)
    db.session.commit()
    log.info(
        "User %s saved certificate marks of class %s: %s changes, %s conflicts",
        acting_user_id,
        school_class.id,
        result.changed,
        len(result.conflicts),
    )
    return result


def _collect_certificate_changes(page: CertificatePage, form, seen, result: SaveResult):
    """Check every typed certificate cell and return (cell, value) pairs to write."""
    cells = {cell.key: cell for _student, row in page.rows for cell in row.values()}
    students = {student.id: student for student, _row in page.rows}
    subjects = {subject.id: subject for subject in page.subjects}
    max_mark = page.school_class.school.max_mark
    errors, changes = [], []
    for key, text in form.items():
        cell = cells.get(key)
        if cell is None:
            continue
        label = _(
            "%(student)s, %(subject)s",
            student=students[key[0]].short_name,
            subject=subjects[key[1]].name,
        )
        try:
            value = parse_final_value(text, max_mark)
        except ValueError as error:
            errors.append(_("%(cell)s: %(error)s", cell=label, error=str(error)))
            continue
        if value == (cell.stored.value if cell.stored is not None else None):
            continue
        if page.lock:
            errors.append(_("%(cell)s: %(error)s", cell=label, error=page.lock))
            continue
        seen_value = seen.get(key)
        if seen_value is not None and seen_value.strip() != cell.value:
            result.conflicts.append(_conflict_message(label, cell.stored))
            continue
        changes.append((cell, value))
    if errors:
        raise FinalMarkInputError(errors)
    return changes


def _apply_certificate_change(school_class, cell: CertificateCell, value, acting_user_id):
    """Write one certificate mark with its audit row.

    The row names the subject rather than a course: a course would name only one part
    of the subject (алгебра for математика).
    """
    student_id, subject_id = cell.key
    mark = cell.stored
    audit = dict(
        school_id=school_class.school_id,
        user_id=acting_user_id,
        class_id=school_class.id,
        student_id=student_id,
        subject_id=subject_id,
    )
    if value is None:
        record_change("final_mark", "delete", record_id=mark.id, old=mark.value, **audit)
        db.session.delete(mark)
        return
    if mark is None:
        mark = CertificateMark(
            school_id=school_class.school_id,
            student_id=student_id,
            year_id=school_class.year_id,
            subject_id=subject_id,
            value=value,
            suggested=cell.suggestion.value,
            changed_by_id=acting_user_id,
        )
        db.session.add(mark)
        db.session.flush()
        record_change("final_mark", "create", record_id=mark.id, new=value, **audit)
        return
    record_change("final_mark", "change", record_id=mark.id, old=mark.value, new=value, **audit)
    mark.value = value
    mark.suggested = cell.suggestion.value
    mark.changed_by_id = acting_user_id
    mark.changed_at = func.now()
