"""Parents' absence notes (заявления об отсутствии) and the same-day absence notice.

A parent writes a note for a planned or past absence of their child, and the class
teacher accepts it with a reason code («УП» by default) or rejects it. Accepting sets that
reason on the child's absences («Н») in the note's dates that have no reason yet. The
journal calls :func:`apply_accepted_notes`, so an absence marked later gets it at once.
Absences in a closed term or year are never changed.

The journal also calls :func:`notify_same_day_absences`: when a student is newly marked
absent in today's lesson, each parent gets an in-app notice and, if they opted in, an
e-mail through the queue.
"""

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from flask import abort, has_request_context, url_for
from flask_babel import gettext as _
from sqlalchemy import case, false, func, or_, select
from sqlalchemy.orm import joinedload

from app.errors import DomainError, FormErrors
from app.models import (
    AbsenceNote,
    AcademicYear,
    Attendance,
    AttendanceCode,
    Course,
    Employee,
    Guardian,
    Holiday,
    Lesson,
    School,
    SchoolClass,
    Student,
    Subject,
    Term,
    Vacation,
    db,
)
from app.models.communication import ABSENCE_NOTE_STATUSES
from app.models.schoolyear import vacation_class
from app.security.scope import Scope, apply_scope, scoped_get_or_404
from app.services import journal_audit
from app.services.dates import format_date, parse_date_field
from app.services.notifications import notify

log = logging.getLogger(__name__)

#: Roles that read every note of their school.
WHOLE_SCHOOL_READERS = ("principal", "secretary", "server_admin")

#: The reason an accepted note proposes when the school has it: «уважительная причина».
DEFAULT_REASON_CODE = "УП"

#: Notes that block another note of the same child on overlapping dates.
ACTIVE_STATUSES = ("pending", "accepted")

MAX_REASON_TEXT_LENGTH = 1000
#: The length of ``AbsenceNote.decision_comment``.
MAX_COMMENT_LENGTH = 500
NOTES_PAGE_SIZE = 50

SATURDAY = 5


class NoteInputError(FormErrors):
    """One or more values of a note or decision form are invalid, so nothing was saved."""


def status_label(status: str) -> str:
    return str(ABSENCE_NOTE_STATUSES.get(status, status))


# --- Who reads and decides which note ----------------------------------------------


@dataclass(frozen=True)
class NoteAccess:
    """What one session may do with the absence notes of its school.

    A parent reads and writes the notes of their own children. A class teacher reads
    and decides the notes of their class's students. The principal and the secretary
    read every note of the school.
    """

    scope: Scope
    #: Whether the permission matrix grants writing absence notes at all.
    may_write: bool
    #: Classes whose class teacher is this session's staff row (teachers only).
    led_class_ids: frozenset
    reads_whole_school: bool

    @property
    def is_parent(self) -> bool:
        return self.scope.level == "school" and self.scope.has_role("parent")


def note_access(scope: Scope, may_write: bool) -> NoteAccess:
    """Work out the absence-note rights of a session from its scope and the matrix."""
    led_class_ids = frozenset()
    if scope.level == "school" and scope.user_id is not None and scope.has_role("teacher"):
        employees = select(Employee.id).where(
            Employee.school_id == scope.school_id, Employee.user_id == scope.user_id
        )
        led_class_ids = frozenset(
            db.session.scalars(
                select(SchoolClass.id).where(
                    SchoolClass.school_id == scope.school_id,
                    SchoolClass.class_teacher_id.in_(employees),
                )
            )
        )
    reads_whole_school = scope.level == "server" or scope.has_role(*WHOLE_SCHOOL_READERS)
    return NoteAccess(scope, may_write, led_class_ids, reads_whole_school)


def _own_children_ids(scope: Scope):
    return select(Guardian.student_id).where(
        Guardian.school_id == scope.school_id,
        Guardian.user_id == scope.user_id,
        Guardian.is_barred.is_(False),
    )


def _visible_condition(access: NoteAccess):
    """Build the WHERE condition on AbsenceNote for the notes the session may open."""
    if access.reads_whole_school:
        return None
    conditions = []
    if access.is_parent:
        conditions.append(AbsenceNote.student_id.in_(_own_children_ids(access.scope)))
    if access.led_class_ids:
        led_students = select(Student.id).where(
            Student.school_id == access.scope.school_id,
            Student.class_id.in_(access.led_class_ids),
        )
        conditions.append(AbsenceNote.student_id.in_(led_students))
    return or_(*conditions) if conditions else false()


def own_children(access: NoteAccess, active_only: bool = True) -> list[Student]:
    """List the children a parent may write notes for: linked to them and not barred."""
    if not access.is_parent:
        return []
    statement = apply_scope(select(Student), Student, access.scope).where(
        Student.id.in_(_own_children_ids(access.scope))
    )
    if active_only:
        statement = statement.where(Student.is_active.is_(True))
    return list(db.session.scalars(statement.order_by(Student.last_name, Student.first_name)))


def own_child_or_404(access: NoteAccess, student_id) -> Student:
    """Load one of the parent's children. Any other id, like a missing one, raises 404."""
    student = scoped_get_or_404(Student, student_id, access.scope)
    if student.id not in {child.id for child in own_children(access)}:
        abort(404)
    return student


def get_note_or_404(access: NoteAccess, note_id) -> AbsenceNote:
    """Load a note the session may open. A note of another school or child raises 404."""
    note = scoped_get_or_404(AbsenceNote, note_id, access.scope)
    condition = _visible_condition(access)
    if condition is None:
        return note
    allowed = db.session.scalar(select(AbsenceNote.id).where(AbsenceNote.id == note.id, condition))
    if allowed is None:
        abort(404)
    return note


def may_decide(access: NoteAccess, note: AbsenceNote) -> bool:
    """Tell whether the session is the class teacher of the note's child and may write."""
    return access.may_write and note.student.class_id in access.led_class_ids


def may_withdraw(access: NoteAccess, note: AbsenceNote) -> bool:
    """Tell whether the session wrote this note, may write, and the note awaits a decision."""
    return (
        access.may_write
        and access.is_parent
        and note.status == "pending"
        and note.author_id == access.scope.user_id
    )


def may_submit(access: NoteAccess) -> bool:
    return access.may_write and bool(own_children(access))


@dataclass
class NotePage:
    notes: list[AbsenceNote]
    total: int
    page: int
    pages: int


def visible_notes(access: NoteAccess, status: str | None = None, page: int = 1) -> NotePage:
    """List one page of the notes the session may open: awaiting a decision first."""
    statement = apply_scope(select(AbsenceNote), AbsenceNote, access.scope)
    condition = _visible_condition(access)
    if condition is not None:
        statement = statement.where(condition)
    if status in ABSENCE_NOTE_STATUSES:
        statement = statement.where(AbsenceNote.status == status)

    total = db.session.scalar(select(func.count()).select_from(statement.subquery()))
    pages = max(1, -(-total // NOTES_PAGE_SIZE))
    page = min(max(page, 1), pages)
    pending_first = case((AbsenceNote.status == "pending", 0), else_=1)
    statement = (
        statement.options(
            joinedload(AbsenceNote.student).joinedload(Student.school_class),
            joinedload(AbsenceNote.reason),
        )
        .order_by(pending_first, AbsenceNote.date_from.desc(), AbsenceNote.id.desc())
        .limit(NOTES_PAGE_SIZE)
        .offset((page - 1) * NOTES_PAGE_SIZE)
    )
    return NotePage(list(db.session.scalars(statement).unique()), total, page, pages)


# --- School days and locked periods -------------------------------------------------


def _works_six_days(school: School, student: Student) -> bool:
    school_class = student.school_class
    return school.six_day_week or (school_class is not None and school_class.six_day_week)


def _vacation_days(student: Student, start: dt.date, end: dt.date) -> set[dt.date]:
    """Days of the vacations in [start, end] that apply to the student's class."""
    for_class = select(vacation_class.c.vacation_id).where(
        vacation_class.c.class_id == student.class_id
    )
    any_class = select(vacation_class.c.vacation_id)
    statement = select(Vacation.start_date, Vacation.end_date).where(
        Vacation.school_id == student.school_id,
        Vacation.start_date <= end,
        Vacation.end_date >= start,
        or_(Vacation.id.not_in(any_class), Vacation.id.in_(for_class)),
    )
    days = set()
    for first, last in db.session.execute(statement):
        day = max(first, start)
        while day <= min(last, end):
            days.add(day)
            day += dt.timedelta(days=1)
    return days


def school_days(school: School, student: Student, start: dt.date, end: dt.date) -> list[dt.date]:
    """List the school days of the student in [start, end].

    Monday to Friday count, Saturday too when the school or the class works six days a
    week. A public holiday does not count, a working day moved to a weekend does, and
    vacation days of the student's class do not count either.
    """
    holidays = dict(
        db.session.execute(
            select(Holiday.date, Holiday.is_working_day).where(
                Holiday.school_id == school.id, Holiday.date.between(start, end)
            )
        ).all()
    )
    vacations = _vacation_days(student, start, end)
    six_days = _works_six_days(school, student)

    days = []
    day = start
    while day <= end:
        if day in vacations:
            counts = False
        elif day in holidays:
            counts = holidays[day]
        else:
            counts = day.weekday() < SATURDAY or (day.weekday() == SATURDAY and six_days)
        if counts:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


@dataclass
class LockedPeriods:
    """Closed terms and years of a school: journal entries dated in them must not change."""

    #: (start, end, grade from, grade to) of each closed term.
    terms: list[tuple[dt.date, dt.date, int, int]] = field(default_factory=list)
    #: (start, end) of each closed academic year.
    years: list[tuple[dt.date, dt.date]] = field(default_factory=list)

    def covers(self, day: dt.date, grade: int | None) -> bool:
        """Tell whether ``day`` is locked for a class of ``grade``."""
        if any(start <= day <= end for start, end in self.years):
            return True
        if grade is None:
            return False
        return any(
            start <= day <= end and grade_from <= grade <= grade_to
            for start, end, grade_from, grade_to in self.terms
        )


def locked_periods(school_id: int, start: dt.date, end: dt.date) -> LockedPeriods:
    """Load the closed terms and years of a school that overlap [start, end]."""
    terms = db.session.execute(
        select(Term.start_date, Term.end_date, Term.grade_from, Term.grade_to).where(
            Term.school_id == school_id,
            Term.is_closed.is_(True),
            Term.start_date <= end,
            Term.end_date >= start,
        )
    ).all()
    years = db.session.execute(
        select(AcademicYear.start_date, AcademicYear.end_date).where(
            AcademicYear.school_id == school_id,
            AcademicYear.is_closed.is_(True),
            AcademicYear.start_date <= end,
            AcademicYear.end_date >= start,
        )
    ).all()
    return LockedPeriods([tuple(row) for row in terms], [tuple(row) for row in years])


# --- Absences within a note's dates -------------------------------------------------

#: States of one absence in a note's dates: what the note did to it, or would do.
ABSENCE_STATES = ("note_reason", "other_reason", "locked", "open")


@dataclass
class AbsenceRow:
    """One absence («Н») of a note's child, with the lesson it belongs to."""

    attendance: Attendance
    date: dt.date
    lesson_number: int
    subject: str
    #: The grade of the lesson's class: the student's grade on that date.
    grade: int
    state: str = "open"


@dataclass
class NoteAbsences:
    """Counts of a note's absences by state, computed when shown, never stored.

    ``note_reason`` counts absences that carry the note's reason, ``other_reason`` those
    with another reason set by staff (kept), ``locked`` those without a reason in a
    closed term or year (left unchanged), ``open`` those still without a reason.
    """

    note_reason: int = 0
    other_reason: int = 0
    locked: int = 0
    open: int = 0

    @property
    def total(self) -> int:
        return self.note_reason + self.other_reason + self.locked + self.open

    def add(self, state: str) -> None:
        setattr(self, state, getattr(self, state) + 1)


def _absence_rows(school_id: int, student_ids, start: dt.date, end: dt.date) -> list:
    """Load the absences («Н», kind "absent») of students in [start, end], by date."""
    statement = (
        select(Attendance, Lesson.date, Lesson.lesson_number, Subject.name, SchoolClass.grade)
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .join(Subject, Subject.id == Course.subject_id)
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .join(AttendanceCode, AttendanceCode.id == Attendance.code_id)
        .where(
            Attendance.school_id == school_id,
            Lesson.school_id == school_id,
            Attendance.student_id.in_(list(student_ids)),
            Lesson.date.between(start, end),
            AttendanceCode.kind == "absent",
        )
        .order_by(Lesson.date, Lesson.lesson_number, Attendance.id)
    )
    return [
        AbsenceRow(attendance, date, number, subject, grade)
        for attendance, date, number, subject, grade in db.session.execute(statement)
    ]


def _state(row: AbsenceRow, note: AbsenceNote, locks: LockedPeriods) -> str:
    reason_id = row.attendance.reason_id
    if reason_id is not None:
        if note.status == "accepted" and reason_id == note.reason_id:
            return "note_reason"
        return "other_reason"
    if locks.covers(row.date, row.grade):
        return "locked"
    return "open"


def note_absence_rows(note: AbsenceNote) -> list[AbsenceRow]:
    """List the absences of the note's child in its dates, each with its state."""
    rows = _absence_rows(note.school_id, [note.student_id], note.date_from, note.date_to)
    locks = locked_periods(note.school_id, note.date_from, note.date_to)
    for row in rows:
        row.state = _state(row, note, locks)
    return rows


def note_summaries(notes: list[AbsenceNote]) -> dict[int, NoteAbsences]:
    """Count the absences of each note by state, with one query per school on the page."""
    summaries = {note.id: NoteAbsences() for note in notes}
    by_school = defaultdict(list)
    for note in notes:
        by_school[note.school_id].append(note)

    for school_id, school_notes in by_school.items():
        start = min(note.date_from for note in school_notes)
        end = max(note.date_to for note in school_notes)
        student_ids = {note.student_id for note in school_notes}
        rows_by_student = defaultdict(list)
        for row in _absence_rows(school_id, student_ids, start, end):
            rows_by_student[row.attendance.student_id].append(row)
        locks = locked_periods(school_id, start, end)
        for note in school_notes:
            for row in rows_by_student[note.student_id]:
                if note.date_from <= row.date <= note.date_to:
                    summaries[note.id].add(_state(row, note, locks))
    return summaries


# --- Writing a note -----------------------------------------------------------------


@dataclass
class NoteForm:
    """The note form as typed, kept to show it again after an error."""

    student_id: str = ""
    date_from: str = ""
    date_to: str = ""
    reason_text: str = ""


def _parse_dates(form: NoteForm, errors: list[str]) -> tuple[dt.date | None, dt.date | None]:
    start = parse_date_field(
        form.date_from,
        _("Enter the first day of the absence."),
        _(
            'First day "%(value)s" is invalid: enter a date such as 05.10.2026.',
            value=form.date_from.strip(),
        ),
        errors,
    )
    end = parse_date_field(
        form.date_to,
        _("Enter the last day of the absence."),
        _(
            'Last day "%(value)s" is invalid: enter a date such as 05.10.2026.',
            value=form.date_to.strip(),
        ),
        errors,
    )
    return start, end


def _check_reason_text(text: str, errors: list[str]) -> None:
    if not text:
        errors.append(_("Write the reason of the absence: the class teacher decides by it."))
    elif len(text) > MAX_REASON_TEXT_LENGTH:
        errors.append(
            _(
                "The reason is too long: %(length)s characters; shorten it to at most %(max)s.",
                length=len(text),
                max=MAX_REASON_TEXT_LENGTH,
            )
        )


def _check_span(student: Student, start: dt.date, end: dt.date, errors: list[str]) -> None:
    """Check the note against the school's limit of school days per parent's note."""
    school = db.session.get(School, student.school_id)
    days = school_days(school, student, start, end)
    if not days:
        errors.append(
            _(
                "The dates %(start)s–%(end)s contain no school day (weekends, holidays or "
                "vacation): check the dates of the absence.",
                start=format_date(start),
                end=format_date(end),
            )
        )
    elif len(days) > school.absence_note_max_days:
        errors.append(
            _(
                "The dates %(start)s–%(end)s cover %(count)s school days, but a parent's note "
                "may cover at most %(max)s. Shorten the dates; a longer absence needs a "
                "medical certificate or an order of the school.",
                start=format_date(start),
                end=format_date(end),
                count=len(days),
                max=school.absence_note_max_days,
            )
        )


def _check_overlap(student: Student, start: dt.date, end: dt.date, errors: list[str]) -> None:
    statement = (
        select(AbsenceNote)
        .where(
            AbsenceNote.school_id == student.school_id,
            AbsenceNote.student_id == student.id,
            AbsenceNote.status.in_(ACTIVE_STATUSES),
            AbsenceNote.date_from <= end,
            AbsenceNote.date_to >= start,
        )
        .order_by(AbsenceNote.date_from)
    )
    other = db.session.scalars(statement).first()
    if other is not None:
        errors.append(
            _(
                "The dates overlap another note for this child, %(start)s–%(end)s "
                "(%(status)s). Choose other dates, or withdraw that note first if it is "
                "still awaiting a decision.",
                start=format_date(other.date_from),
                end=format_date(other.date_to),
                status=status_label(other.status),
            )
        )


def _check_open_year(student: Student, start: dt.date, end: dt.date, errors: list[str]) -> None:
    closed = db.session.scalars(
        select(AcademicYear)
        .where(
            AcademicYear.school_id == student.school_id,
            AcademicYear.is_closed.is_(True),
            AcademicYear.start_date <= end,
            AcademicYear.end_date >= start,
        )
        .order_by(AcademicYear.start_date)
    ).first()
    if closed is not None:
        errors.append(
            _(
                "The dates fall in the closed school year %(year)s, whose journal can no "
                "longer change. Choose dates in the current school year.",
                year=closed.name,
            )
        )


def submit_note(access: NoteAccess, form: NoteForm) -> AbsenceNote:
    """Check the note form, save the note and tell the class teacher, in one transaction.

    A child other than the parent's own raises 404. Every other invalid value is
    collected into one ``NoteInputError`` and nothing is written.
    """
    errors: list[str] = []
    student = None
    if not form.student_id.strip():
        errors.append(_("Choose the child the note is about."))
    else:
        student = own_child_or_404(access, form.student_id.strip())

    start, end = _parse_dates(form, errors)
    reason_text = form.reason_text.strip()
    _check_reason_text(reason_text, errors)

    if start is not None and end is not None:
        if end < start:
            errors.append(
                _(
                    "The last day %(end)s is before the first day %(start)s: enter the "
                    "dates in order.",
                    start=format_date(start),
                    end=format_date(end),
                )
            )
        elif student is not None:
            _check_open_year(student, start, end, errors)
            _check_span(student, start, end, errors)
            _check_overlap(student, start, end, errors)
    if errors:
        raise NoteInputError(errors)

    note = AbsenceNote(
        school_id=student.school_id,
        student_id=student.id,
        author_id=access.scope.user_id,
        date_from=start,
        date_to=end,
        reason_text=reason_text,
        status="pending",
    )
    db.session.add(note)
    db.session.flush()
    _notify_class_teacher(note, student)
    db.session.commit()
    log.info(
        "User %s submitted absence note %s for student %s", note.author_id, note.id, student.id
    )
    return note


def withdraw_note(access: NoteAccess, note: AbsenceNote) -> None:
    """Delete a note its author withdraws while it awaits a decision."""
    if not may_withdraw(access, note):
        raise DomainError(
            _(
                "This note can no longer be withdrawn: it is %(status)s. Only a note "
                "awaiting a decision may be withdrawn, by the parent who wrote it.",
                status=status_label(note.status),
            )
        )
    note_id, student_id = note.id, note.student_id
    db.session.delete(note)
    db.session.commit()
    log.info(
        "User %s withdrew absence note %s of student %s", access.scope.user_id, note_id, student_id
    )


# --- Deciding a note ----------------------------------------------------------------


def reason_codes(school_id: int) -> list[AttendanceCode]:
    """List the school's reason codes (Б, УП, НП …), excused ones first."""
    return list(
        db.session.scalars(
            select(AttendanceCode)
            .where(AttendanceCode.school_id == school_id, AttendanceCode.kind == "reason")
            .order_by(AttendanceCode.is_excused.desc(), AttendanceCode.code)
        )
    )


def default_reason(codes: list[AttendanceCode]) -> AttendanceCode | None:
    """Propose «УП» when the school has it, otherwise its first excused reason."""
    for code in codes:
        if code.code == DEFAULT_REASON_CODE:
            return code
    return next((code for code in codes if code.is_excused), codes[0] if codes else None)


@dataclass
class ApplyResult:
    """Counts of the absences in a note's dates that accepting it changed or left alone."""

    #: Absences that got the note's reason now.
    applied: int = 0
    #: Absences that already had a reason set by staff, left as they were.
    kept: int = 0
    #: Absences without a reason in a closed term or year, left unchanged.
    locked: int = 0


def _check_pending(note: AbsenceNote) -> None:
    # Locking the row makes two class teachers deciding at once wait for each other.
    db.session.refresh(note, with_for_update=True)
    if note.status != "pending":
        raise DomainError(
            _(
                "This note is already decided: %(status)s. Reload the page to see the decision.",
                status=status_label(note.status),
            )
        )


def _clean_comment(comment: str, errors: list[str]) -> str | None:
    comment = comment.strip()
    if len(comment) > MAX_COMMENT_LENGTH:
        errors.append(
            _(
                "The comment is too long: %(length)s characters; shorten it to at most %(max)s.",
                length=len(comment),
                max=MAX_COMMENT_LENGTH,
            )
        )
    return comment or None


def accept_note(access: NoteAccess, note: AbsenceNote, reason_id: str, comment: str) -> ApplyResult:
    """Accept a note and set its reason code on the matching absences, in one transaction.

    Only absences («Н») without a reason get it, so a reason set by staff is never
    overridden. Absences in a closed term or year stay as they are.
    """
    if not may_decide(access, note):
        abort(404)
    _check_pending(note)
    errors: list[str] = []
    codes = {str(code.id): code for code in reason_codes(note.school_id)}
    reason = codes.get(reason_id.strip())
    if not codes:
        errors.append(
            _(
                "The school has no reason codes of absence. Ask the school system "
                "administrator to add them (for example Б, УП, НП) to the attendance codes."
            )
        )
    elif reason is None:
        errors.append(_("Choose the reason of the absence from the list."))
    cleaned = _clean_comment(comment, errors)
    if errors:
        raise NoteInputError(errors)

    note.status = "accepted"
    note.reason_id = reason.id
    note.decided_by_id = access.scope.user_id
    note.decided_at = func.now()
    note.decision_comment = cleaned
    result = _apply_note(note, access.scope.user_id)
    _notify_decision(note)
    db.session.commit()
    log.info(
        "User %s accepted absence note %s: %s absences set, %s kept, %s locked",
        access.scope.user_id,
        note.id,
        result.applied,
        result.kept,
        result.locked,
    )
    return result


def reject_note(access: NoteAccess, note: AbsenceNote, comment: str) -> None:
    """Reject a note with a comment for the parent. No absence changes."""
    if not may_decide(access, note):
        abort(404)
    _check_pending(note)
    errors: list[str] = []
    cleaned = _clean_comment(comment, errors)
    if cleaned is None:
        errors.append(_("Write why the note is rejected: the parent reads this comment."))
    if errors:
        raise NoteInputError(errors)

    note.status = "rejected"
    note.reason_id = None
    note.decided_by_id = access.scope.user_id
    note.decided_at = func.now()
    note.decision_comment = cleaned
    _notify_decision(note)
    db.session.commit()
    log.info("User %s rejected absence note %s", access.scope.user_id, note.id)


def _apply_note(note: AbsenceNote, acting_user_id: int | None) -> ApplyResult:
    """Set the note's reason on its child's absences without one, outside locked periods."""
    result = ApplyResult()
    locks = locked_periods(note.school_id, note.date_from, note.date_to)
    applied_ids = []
    for row in _absence_rows(note.school_id, [note.student_id], note.date_from, note.date_to):
        entry = row.attendance
        if entry.reason_id is not None:
            result.kept += 1
        elif locks.covers(row.date, row.grade):
            result.locked += 1
        else:
            journal_audit.record_reason(entry, note.reason_id, acting_user_id)
            entry.reason_id = note.reason_id
            entry.changed_by_id = acting_user_id
            entry.changed_at = func.now()
            applied_ids.append(entry.id)
            result.applied += 1
    log.info("Absence note %s set its reason on attendance %s", note.id, applied_ids)
    return result


def apply_accepted_notes(lesson: Lesson, acting_user_id: int | None = None) -> int:
    """Give the lesson's absences without a reason the reason of an accepted note.

    The journal calls this when it saves a lesson, so an absence marked after a planned
    absence was accepted gets its reason at once. Nothing changes when the lesson lies in
    a closed term or year. Returns the number of absences that got a reason.
    """
    entries = list(
        db.session.scalars(
            select(Attendance)
            .join(AttendanceCode, AttendanceCode.id == Attendance.code_id)
            .where(
                Attendance.school_id == lesson.school_id,
                Attendance.lesson_id == lesson.id,
                Attendance.reason_id.is_(None),
                AttendanceCode.kind == "absent",
            )
        )
    )
    if not entries:
        return 0
    notes = db.session.scalars(
        select(AbsenceNote)
        .where(
            AbsenceNote.school_id == lesson.school_id,
            AbsenceNote.student_id.in_([entry.student_id for entry in entries]),
            AbsenceNote.status == "accepted",
            AbsenceNote.reason_id.is_not(None),
            AbsenceNote.date_from <= lesson.date,
            AbsenceNote.date_to >= lesson.date,
        )
        .order_by(AbsenceNote.id)
    )
    reason_by_student = {}
    for note in notes:
        reason_by_student.setdefault(note.student_id, (note.id, note.reason_id))
    if not reason_by_student:
        return 0

    grade = lesson.course.school_class.grade
    if locked_periods(lesson.school_id, lesson.date, lesson.date).covers(lesson.date, grade):
        log.info("Lesson %s is in a closed period: accepted notes not applied", lesson.id)
        return 0
    applied = 0
    for entry in entries:
        if entry.student_id not in reason_by_student:
            continue
        note_id, reason_id = reason_by_student[entry.student_id]
        journal_audit.record_reason(entry, reason_id, acting_user_id)
        entry.reason_id = reason_id
        entry.changed_by_id = acting_user_id
        entry.changed_at = func.now()
        applied += 1
        log.info("Absence note %s set its reason on attendance %s", note_id, entry.id)
    return applied


# --- Notices ------------------------------------------------------------------------


def _link(endpoint: str, external: bool = False, **values) -> str | None:
    """Build a link to a page, or None outside a request (commands and jobs)."""
    if not has_request_context():
        return None
    return url_for(endpoint, _external=external, **values)


def _student_label(student: Student) -> str:
    if student.school_class is None:
        return student.full_name
    return f"{student.full_name} ({student.school_class.name})"


def _notify_class_teacher(note: AbsenceNote, student: Student) -> None:
    school_class = student.school_class
    teacher = school_class.class_teacher if school_class is not None else None
    if teacher is None or teacher.user_id is None:
        # NOTE: a class without a class teacher login leaves the note unannounced. The
        # principal and the secretary still find it in their list.
        log.warning(
            "Absence note %s: class of student %s has no class teacher login", note.id, student.id
        )
        return
    text = _(
        "New absence note for %(student)s, %(start)s–%(end)s: it awaits your decision.",
        student=_student_label(student),
        start=format_date(note.date_from),
        end=format_date(note.date_to),
    )
    link = _link("AbsenceNoteView.show", note_id=note.id)
    notify(note.school_id, teacher.user_id, "absence_note", text, link, student_id=student.id)


def _notify_decision(note: AbsenceNote) -> None:
    """Tell the parent who wrote the note about the decision, unless they are barred now."""
    still_guardian = db.session.scalar(
        select(Guardian.id).where(
            Guardian.school_id == note.school_id,
            Guardian.student_id == note.student_id,
            Guardian.user_id == note.author_id,
            Guardian.is_barred.is_(False),
        )
    )
    if note.author_id is None or still_guardian is None:
        log.info("Absence note %s: its author is no longer a guardian, no notice", note.id)
        return
    values = {
        "student": note.student.full_name,
        "start": format_date(note.date_from),
        "end": format_date(note.date_to),
    }
    if note.status == "accepted":
        reason = db.session.get(AttendanceCode, note.reason_id)
        text = _(
            "Your absence note for %(student)s, %(start)s–%(end)s, is accepted: "
            "reason «%(reason)s».",
            reason=str(reason),
            **values,
        )
    else:
        text = _(
            "Your absence note for %(student)s, %(start)s–%(end)s, is rejected: %(comment)s",
            comment=note.decision_comment or "",
            **values,
        )
    link = _link("AbsenceNoteView.show", note_id=note.id)
    notify(note.school_id, note.author_id, "absence_note", text, link, student_id=note.student_id)


def notify_same_day_absences(
    lesson: Lesson, entries: list[Attendance], today: dt.date | None = None
) -> int:
    """Tell each parent of a student newly marked absent in today's lesson.

    ``entries`` are the attendance rows the journal has just set to an absence code
    («Н»), not lateness and not unchanged rows. Each parent linked to the child and not
    barred gets an in-app notice; :func:`notify` also queues an e-mail when that parent
    turned on absence e-mails for that child. Returns the number of notices.
    """
    # NOTE: only lessons dated today send a notice, so absences of earlier days entered
    # late send none. "Today" is the server's local date; schools in other time zones
    # would need a time zone setting of their own.
    today = today or dt.date.today()
    if lesson.date != today or not entries:
        return 0
    student_ids = {entry.student_id for entry in entries}
    guardians = db.session.execute(
        select(Guardian.user_id, Guardian.student_id)
        .where(
            Guardian.school_id == lesson.school_id,
            Guardian.student_id.in_(student_ids),
            Guardian.user_id.is_not(None),
            Guardian.is_barred.is_(False),
        )
        .distinct()
    ).all()
    students = {
        student.id: student
        for student in db.session.scalars(
            select(Student).where(
                Student.school_id == lesson.school_id, Student.id.in_(student_ids)
            )
        )
    }
    for user_id, student_id in guardians:
        _notify_parent_of_absence(lesson, students[student_id], user_id)
    log.info("Lesson %s: %s absence notices to parents", lesson.id, len(guardians))
    return len(guardians)


def _notify_parent_of_absence(lesson: Lesson, student: Student, user_id: int) -> None:
    values = {
        "student": student.full_name,
        "number": lesson.lesson_number,
        "subject": lesson.course.subject.name,
        "date": format_date(lesson.date),
    }
    text = _(
        "%(student)s is marked absent in lesson %(number)s (%(subject)s) on %(date)s.",
        **values,
    )
    week = {"student": student.id, "week": lesson.date.isoformat()}
    link = _link("DiaryView.index", **week)
    page = _link("DiaryView.index", external=True, **week)
    body = text
    if page:
        body += "\n\n" + _("The diary: %(link)s", link=page)
    body += "\n\n" + _(
        "You receive this e-mail because absence e-mails are turned on for this child in "
        "your notification settings."
    )
    notify(
        lesson.school_id,
        user_id,
        "absence",
        text,
        link,
        student_id=student.id,
        mail_subject=_("Absence in a lesson: %(student)s, %(date)s", **values),
        mail_body=body,
    )
