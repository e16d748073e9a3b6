"""The second step of attendance: reasons of absence set against a document.

In the lesson a teacher marks «Н» (absent) or «ОП» (late). Afterwards the class teacher,
or the principal for any class, records a document (a medical certificate, a parent's
note, an order) and sets a reason (Б, УП, НП …) on the student's absences in its dates.
Only absences («Н») get a reason; lateness stays as marked. An absence that already has
a reason keeps it unless the user chooses to replace it. Every reason set is recorded in
the journal's audit log in the same transaction.

Absences in a closed term or year are not changed by a teacher; the principal may
change them, and the audit row is then flagged as a correction. The school's "lock marks
N days after the lesson" setting does not apply: reasons arrive days after the lesson by
their nature, as with parents' notes.
"""

import datetime as dt
import logging
import mimetypes
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from flask import abort, current_app, send_file
from flask_babel import gettext as _
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from app.errors import FormErrors
from app.models import (
    AbsenceDocument,
    Attendance,
    AttendanceCode,
    Course,
    Employee,
    Lesson,
    SchoolClass,
    Student,
    Subject,
    db,
)
from app.models.attendance_docs import ABSENCE_DOCUMENT_KINDS
from app.security.scope import Scope, apply_scope, scoped_get_or_404
from app.services import journal_audit
from app.services.absence_notes import locked_periods, reason_codes
from app.services.attachments import AttachmentError, check_upload
from app.services.dates import format_date, parse_date_field

log = logging.getLogger(__name__)

#: Roles that set reasons in every class of their school and correct closed periods.
WHOLE_SCHOOL_ROLES = ("principal",)
#: Roles that read the day's absentees of every class: the principal, and the medical
#: worker and the secretary, who act on the list by the second lesson.
ABSENTEE_LIST_ROLES = ("principal", "medical", "secretary")

#: The maximum range of dates one form may cover: one school year.
MAX_RANGE_DAYS = 366
MAX_NUMBER_LENGTH = 50


class ReasonInputError(FormErrors):
    """One or more values of the form are invalid, so nothing was saved."""


# --- Who sets reasons in which class ------------------------------------------------


@dataclass(frozen=True)
class ReasonAccess:
    """The classes a session works with, and whether it corrects closed periods."""

    scope: Scope
    #: True for the principal and the server administrator: every class of the school.
    whole_school: bool
    #: Classes whose class teacher is this session's staff row.
    led_class_ids: frozenset

    @property
    def corrects_locked(self) -> bool:
        return self.whole_school


def reason_access(scope: Scope, whole_school_roles=WHOLE_SCHOOL_ROLES) -> ReasonAccess:
    """Work out which classes a session may handle from its scope.

    Holders of ``whole_school_roles`` handle every class; anybody else the classes they
    lead as class teacher.
    """
    whole_school = scope.level == "server" or (
        scope.level == "school" and scope.has_role(*whole_school_roles)
    )
    led = frozenset()
    if scope.level == "school" and scope.user_id is not None:
        employees = select(Employee.id).where(
            Employee.school_id == scope.school_id, Employee.user_id == scope.user_id
        )
        led = frozenset(
            db.session.scalars(
                select(SchoolClass.id).where(
                    SchoolClass.school_id == scope.school_id,
                    SchoolClass.class_teacher_id.in_(employees),
                )
            )
        )
    return ReasonAccess(scope, whole_school, led)


def visible_classes(access: ReasonAccess) -> list[SchoolClass]:
    """List the classes the session handles, by grade and name."""
    statement = apply_scope(select(SchoolClass), SchoolClass, access.scope)
    if not access.whole_school:
        statement = statement.where(SchoolClass.id.in_(list(access.led_class_ids)))
    return list(
        db.session.scalars(statement.order_by(SchoolClass.grade, SchoolClass.name, SchoolClass.id))
    )


def class_or_404(access: ReasonAccess, class_id) -> SchoolClass:
    """A class of the school the session handles; any other id raises 404 (not found)."""
    school_class = scoped_get_or_404(SchoolClass, class_id, access.scope)
    if not access.whole_school and school_class.id not in access.led_class_ids:
        abort(404)
    return school_class


def student_or_404(access: ReasonAccess, student_id) -> Student:
    """A student of a class the session handles; any other id raises 404 (not found)."""
    student = scoped_get_or_404(Student, student_id, access.scope)
    if not access.whole_school and student.class_id not in access.led_class_ids:
        abort(404)
    return student


def document_or_404(access: ReasonAccess, document_id) -> AbsenceDocument:
    """A document of a student the session handles; any other id raises 404 (not found)."""
    document = scoped_get_or_404(AbsenceDocument, document_id, access.scope)
    student_or_404(access, document.student_id)
    return document


def class_students(school_class: SchoolClass) -> list[Student]:
    return list(
        db.session.scalars(
            select(Student)
            .where(Student.school_id == school_class.school_id, Student.class_id == school_class.id)
            .order_by(Student.last_name, Student.first_name, Student.id)
        )
    )


def class_documents(school_class: SchoolClass) -> list[AbsenceDocument]:
    """The documents of the class's students, newest first."""
    return list(
        db.session.scalars(
            select(AbsenceDocument)
            .join(Student, Student.id == AbsenceDocument.student_id)
            .where(
                AbsenceDocument.school_id == school_class.school_id,
                Student.class_id == school_class.id,
            )
            .order_by(AbsenceDocument.date_from.desc(), AbsenceDocument.id.desc())
        )
    )


# --- Absences -----------------------------------------------------------------------


@dataclass
class AbsenceLine:
    """One absence («Н») in one lesson."""

    attendance: Attendance
    date: dt.date
    lesson_number: int
    subject: str
    #: The grade of the lesson's class, which decides which terms cover the date.
    grade: int
    locked: bool = False


@dataclass
class AbsenceDay:
    date: dt.date
    lines: list[AbsenceLine] = field(default_factory=list)


@dataclass
class StudentAbsences:
    student: Student
    days: list[AbsenceDay] = field(default_factory=list)

    @property
    def first_date(self) -> dt.date:
        return self.days[0].date

    @property
    def last_date(self) -> dt.date:
        return self.days[-1].date

    @property
    def count(self) -> int:
        return sum(len(day.lines) for day in self.days)


def _absence_statement(school_id: int):
    """Absences («Н», kind "absent") with their lesson's date, number, subject and grade."""
    return (
        select(Attendance, Lesson.date, Lesson.lesson_number, Subject.name, SchoolClass.grade)
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .join(Subject, Subject.id == Course.subject_id)
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .join(AttendanceCode, AttendanceCode.id == Attendance.code_id)
        .where(
            Attendance.school_id == school_id,
            Lesson.school_id == school_id,
            AttendanceCode.kind == "absent",
        )
        .order_by(Lesson.date, Lesson.lesson_number, Attendance.id)
    )


def _lines(statement) -> list[AbsenceLine]:
    return [
        AbsenceLine(attendance, date, number, subject, grade)
        for attendance, date, number, subject, grade in db.session.execute(statement)
    ]


def open_absences(school_class: SchoolClass) -> list[StudentAbsences]:
    """The class's students' absences without a reason, grouped by student and date."""
    students = {student.id: student for student in class_students(school_class)}
    if not students:
        return []
    statement = _absence_statement(school_class.school_id).where(
        Attendance.student_id.in_(list(students)), Attendance.reason_id.is_(None)
    )
    lines = _lines(statement)
    if lines:
        first, last = min(line.date for line in lines), max(line.date for line in lines)
        locks = locked_periods(school_class.school_id, first, last)
        for line in lines:
            line.locked = locks.covers(line.date, line.grade)

    grouped: dict[int, StudentAbsences] = {}
    for line in lines:
        student_id = line.attendance.student_id
        group = grouped.setdefault(student_id, StudentAbsences(students[student_id]))
        if not group.days or group.days[-1].date != line.date:
            group.days.append(AbsenceDay(line.date))
        group.days[-1].lines.append(line)
    return [grouped[sid] for sid in students if sid in grouped]


# --- Setting reasons ----------------------------------------------------------------


@dataclass
class ReasonForm:
    """The form as typed, kept to show it again after an error."""

    student_id: str = ""
    date_from: str = ""
    date_to: str = ""
    reason_id: str = ""
    #: An existing document's id, or "" for a new document.
    document_id: str = ""
    kind: str = "certificate"
    number: str = ""
    issued_on: str = ""
    replace: bool = False


@dataclass
class ReasonResult:
    #: Absences that got the reason now.
    applied: int = 0
    #: Absences that already had a reason, left as they were.
    kept: int = 0
    #: Of ``applied``, those in a closed period changed as the principal's correction.
    corrected: int = 0
    document: AbsenceDocument | None = None


def _parse_range(form: ReasonForm, errors: list[str]) -> tuple[dt.date | None, dt.date | None]:
    start = parse_date_field(
        form.date_from,
        _("Enter the first day of the absence."),
        _('The first day "%(value)s" is not a date: enter it as DD.MM.YYYY.', value=form.date_from),
        errors,
    )
    end = parse_date_field(
        form.date_to,
        _("Enter the last day of the absence."),
        _('The last day "%(value)s" is not a date: enter it as DD.MM.YYYY.', value=form.date_to),
        errors,
    )
    if start and end and start > end:
        errors.append(
            _(
                "The last day %(end)s is before the first day %(start)s: enter the dates in order.",
                start=format_date(start),
                end=format_date(end),
            )
        )
        return None, None
    if start and end and (end - start).days >= MAX_RANGE_DAYS:
        errors.append(
            _(
                "The dates %(start)s–%(end)s span more than a school year: narrow them.",
                start=format_date(start),
                end=format_date(end),
            )
        )
        return None, None
    return start, end


def _chosen_reason(school_id: int, reason_id: str, errors: list[str]) -> AttendanceCode | None:
    codes = {str(code.id): code for code in reason_codes(school_id)}
    if not codes:
        errors.append(
            _(
                "The school has no reason codes of absence. Ask the school system "
                "administrator to add them (for example Б, УП, НП) to the attendance codes."
            )
        )
        return None
    reason = codes.get(reason_id.strip())
    if reason is None:
        errors.append(_("Choose the reason of the absence from the list."))
    return reason


def _existing_document(
    access: ReasonAccess, student: Student, form: ReasonForm, start, end, errors
) -> AbsenceDocument:
    document = document_or_404(access, form.document_id)
    if document.student_id != student.id:
        errors.append(
            _(
                "The chosen document belongs to another student. Choose a document of "
                "this student or record a new one."
            )
        )
    elif start and end and not (document.date_from <= start and end <= document.date_to):
        errors.append(
            _(
                "The document covers %(doc_start)s–%(doc_end)s: enter dates within them "
                "or record a new document.",
                doc_start=format_date(document.date_from),
                doc_end=format_date(document.date_to),
            )
        )
    return document


def _new_document(
    student: Student, form: ReasonForm, start, end, upload: FileStorage | None, errors
) -> AbsenceDocument | None:
    if form.kind not in ABSENCE_DOCUMENT_KINDS:
        errors.append(_("Choose the kind of the document from the list."))
    number = form.number.strip()
    if len(number) > MAX_NUMBER_LENGTH:
        errors.append(
            _(
                "The document number is too long: %(length)s characters; shorten it to at "
                "most %(max)s.",
                length=len(number),
                max=MAX_NUMBER_LENGTH,
            )
        )
    issued_on = parse_date_field(
        form.issued_on,
        _("Enter the date of the document."),
        _(
            'The date of the document "%(value)s" is not a date: enter it as DD.MM.YYYY.',
            value=form.issued_on,
        ),
        errors,
    )
    has_upload = upload is not None and bool((upload.filename or "").strip())
    if has_upload:
        try:
            check_upload(upload)
        except AttachmentError as error:
            errors.append(str(error))
    if errors or start is None or end is None:
        return None
    return AbsenceDocument(
        school_id=student.school_id,
        student_id=student.id,
        kind=form.kind,
        number=number or None,
        issued_on=issued_on,
        date_from=start,
        date_to=end,
    )


def set_reasons(
    access: ReasonAccess, form: ReasonForm, upload: FileStorage | None = None
) -> ReasonResult:
    """Record or choose a document and set its reason on the student's absences, at once.

    Only absences («Н») in the dates get the reason; one that has a reason keeps it
    unless ``form.replace``. A teacher cannot change an absence in a closed term or year
    (nothing is saved then); the principal can, and the audit row says it is a correction.
    """
    student = student_or_404(access, form.student_id)
    errors: list[str] = []
    start, end = _parse_range(form, errors)
    reason = _chosen_reason(student.school_id, form.reason_id, errors)
    if form.document_id.strip():
        document = _existing_document(access, student, form, start, end, errors)
    else:
        document = _new_document(student, form, start, end, upload, errors)
    if errors:
        raise ReasonInputError(errors)

    lines = _lines(
        _absence_statement(student.school_id).where(
            Attendance.student_id == student.id, Lesson.date.between(start, end)
        )
    )
    to_change, result = _split(lines, reason, form.replace)
    _check_locks(access, student.school_id, start, end, to_change)

    document.reason_id = reason.id
    if document.id is None:
        document.created_by_id = access.scope.user_id
        db.session.add(document)
    stored = _store_scan(document, upload)
    try:
        for line in to_change:
            _apply(line, reason, access.scope.user_id)
            result.applied += 1
            result.corrected += int(line.locked)
        db.session.flush()
        result.document = document
        db.session.commit()
    except Exception:
        db.session.rollback()
        _remove_scan(stored)
        raise
    log.info(
        "User %s set reason %s on %s absences of student %s (document %s, %s kept, %s corrected)",
        access.scope.user_id,
        reason.id,
        result.applied,
        student.id,
        document.id,
        result.kept,
        result.corrected,
    )
    return result


def _split(lines: list[AbsenceLine], reason: AttendanceCode, replace: bool):
    result = ReasonResult()
    to_change = []
    for line in lines:
        current = line.attendance.reason_id
        if current is None or (replace and current != reason.id):
            to_change.append(line)
        else:
            result.kept += 1
    return to_change, result


def _check_locks(access: ReasonAccess, school_id, start, end, lines: list[AbsenceLine]) -> None:
    """Mark the lines in closed periods; a teacher may not change any of them."""
    if not lines:
        return
    locks = locked_periods(school_id, start, end)
    locked_days = set()
    for line in lines:
        line.locked = locks.covers(line.date, line.grade)
        if line.locked:
            locked_days.add(line.date)
    if locked_days and not access.corrects_locked:
        days = ", ".join(format_date(day) for day in sorted(locked_days))
        raise ReasonInputError(
            [
                _(
                    "Absences on %(days)s lie in a closed term or year and cannot be "
                    "changed. Leave these days out of the dates, or ask the principal to "
                    "correct them.",
                    days=days,
                )
            ]
        )


def _apply(line: AbsenceLine, reason: AttendanceCode, user_id: int | None) -> None:
    entry = line.attendance
    journal_audit.record_change(
        "attendance",
        "reason",
        school_id=entry.school_id,
        user_id=user_id,
        record_id=entry.id,
        lesson=entry.lesson,
        student_id=entry.student_id,
        old=journal_audit.attendance_text(entry.code, entry.reason),
        new=journal_audit.attendance_text(entry.code, reason),
        correction=line.locked,
    )
    entry.reason_id = reason.id
    entry.changed_by_id = user_id
    entry.changed_at = func.now()


# --- Scans --------------------------------------------------------------------------


def _scan_path(school_id: int, stored_name: str) -> Path:
    folder = Path(current_app.config["ATTACHMENTS_DIR"]) / str(int(school_id))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / stored_name


def _store_scan(document: AbsenceDocument, upload: FileStorage | None) -> Path | None:
    """Write an upload already checked into the school's folder; return its path."""
    if upload is None or not (upload.filename or "").strip():
        return None
    filename = Path(upload.filename.strip()).name
    stored_name = f"doc-{secrets.token_hex(16)}"
    path = _scan_path(document.school_id, stored_name)
    upload.stream.seek(0)
    upload.save(path)
    document.scan_filename = filename[:255]
    document.scan_stored_name = stored_name
    document.scan_content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    document.scan_size = path.stat().st_size
    return path


def _remove_scan(path: Path | None) -> None:
    if path is None:
        return
    try:
        path.unlink(missing_ok=True)
    except OSError as error:
        log.warning("document scan not removed after a failed save: %s", error)


def send_scan(document: AbsenceDocument):
    """Send a document's scan; the caller found the document through :func:`document_or_404`."""
    if not document.has_scan:
        abort(404)
    path = _scan_path(document.school_id, document.scan_stored_name)
    if not path.is_file():
        log.warning("document %s: scan file missing", document.id)
        abort(404)
    return send_file(
        path,
        mimetype=document.scan_content_type,
        as_attachment=True,
        download_name=document.scan_filename,
        max_age=0,
    )


# --- The day's absentees ------------------------------------------------------------


@dataclass
class DayStudent:
    student: Student
    lines: list[AbsenceLine] = field(default_factory=list)


@dataclass
class DayClass:
    school_class: SchoolClass
    students: list[DayStudent] = field(default_factory=list)


def day_absentees(access: ReasonAccess, day: dt.date) -> list[DayClass]:
    """The day's absentees by the student's class, with the lessons they missed."""
    classes = visible_classes(access)
    if not classes:
        return []
    by_class = {school_class.id: DayClass(school_class) for school_class in classes}
    statement = (
        select(Attendance, Lesson.date, Lesson.lesson_number, Subject.name, SchoolClass.grade)
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .join(Subject, Subject.id == Course.subject_id)
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .join(AttendanceCode, AttendanceCode.id == Attendance.code_id)
        .join(Student, Student.id == Attendance.student_id)
        .where(
            Lesson.date == day,
            AttendanceCode.kind == "absent",
            Student.class_id.in_(list(by_class)),
            Attendance.school_id == Student.school_id,
        )
        .order_by(Student.last_name, Student.first_name, Student.id, Lesson.lesson_number)
    )
    statement = apply_scope(statement, Attendance, access.scope)
    students: dict[int, DayStudent] = {}
    for line in _lines(statement):
        student = line.attendance.student
        entry = students.get(student.id)
        if entry is None:
            entry = students[student.id] = DayStudent(student)
            by_class[student.class_id].students.append(entry)
        entry.lines.append(line)
    return [day_class for day_class in by_class.values() if day_class.students]
