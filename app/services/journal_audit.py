"""The journal's audit log: one row per change of a mark, attendance entry or final mark.

Every path that writes a journal record calls :func:`record_change` in the same
transaction as the change, so the change and its audit row are committed or rolled back
together. The «Отчёт о доступе к журналу» reads these rows back.

The generic REST APIs of marks, attendance and final marks audit through
app/services/record_audit.py, and the «Сетевой Город» import audits the marks it writes.
"""

import datetime as dt
import math
from dataclasses import dataclass

from flask import abort, has_request_context, request
from flask_appbuilder.security.sqla.models import Role, User
from flask_babel import gettext as _
from sqlalchemy import and_, func, insert, select
from sqlalchemy.orm import aliased

from app.models import (
    AttendanceCode,
    Course,
    JournalAudit,
    Lesson,
    Membership,
    SchoolClass,
    Student,
    Subject,
    db,
    membership_role,
)
from app.models.audit import AUDIT_ACTIONS, AUDIT_ENTITIES
from app.security.roles import role_name
from app.security.scope import Scope, apply_scope, scoped_get_or_404

#: Rows on one page of the report.
PAGE_SIZE = 50
#: The maximum number of rows in one XLSX export. Filters narrow a larger log.
EXPORT_LIMIT = 50_000

MARK_TEXT = {"pass": "зач", "fail": "незач", "duty": "•"}


# --- Writing ------------------------------------------------------------------------


def client_address() -> str | None:
    """The client's address: the peer, or X-Forwarded-For when ProxyFix trusts a proxy."""
    if not has_request_context():
        return None
    return (request.remote_addr or "")[:45] or None


def mark_text(kind: str | None, value: int | None) -> str | None:
    """Show a mark as the journal prints it: «5», «зач», «незач», «•» (duty)."""
    if kind is None:
        return None
    if kind == "number":
        return str(value)
    return MARK_TEXT.get(kind, kind)


def attendance_text(code: AttendanceCode | None, reason: AttendanceCode | None = None):
    """Show an attendance entry: «Н», «ОП», or «Н (Б)» once a reason is set."""
    if code is None:
        return None
    if reason is None:
        return code.code
    return f"{code.code} ({reason.code})"


def record_change(entity: str, action: str, **fields) -> JournalAudit:
    """Add the audit row of one change to the current transaction and return it.

    ``lesson`` fills the lesson, course and class ids. The caller commits: the row is
    written with the change it records, or not at all.
    """
    row = JournalAudit(**_audit_values(entity, action, **fields))
    db.session.add(row)
    return row


def insert_change(entity: str, action: str, **fields) -> None:
    """Write the audit row of one change at once, in the current transaction.

    The same row as :func:`record_change`, sent as one INSERT without an ORM object: the
    grid's cell save writes its change the same way. The caller commits.
    """
    db.session.execute(insert(JournalAudit).values(**_audit_values(entity, action, **fields)))


def _audit_values(
    entity: str,
    action: str,
    *,
    school_id: int,
    user_id: int | None,
    record_id: int | None = None,
    lesson: Lesson | None = None,
    course_id: int | None = None,
    class_id: int | None = None,
    student_id: int | None = None,
    assignment_id: int | None = None,
    term_id: int | None = None,
    subject_id: int | None = None,
    old: str | None = None,
    new: str | None = None,
    old_comment: str | None = None,
    new_comment: str | None = None,
    correction: bool = False,
) -> dict:
    """The column values of one audit row."""
    if entity not in AUDIT_ENTITIES or action not in AUDIT_ACTIONS:
        raise ValueError(f"unknown audit entity or action: {entity} {action}")
    if lesson is not None:
        course_id = course_id or lesson.course_id
        class_id = class_id or lesson.course.class_id
    return dict(
        school_id=school_id,
        user_id=user_id,
        address=client_address(),
        entity=entity,
        action=action,
        is_correction=correction,
        record_id=record_id,
        lesson_id=lesson.id if lesson is not None else None,
        course_id=course_id,
        class_id=class_id,
        student_id=student_id,
        assignment_id=assignment_id,
        term_id=term_id,
        subject_id=subject_id,
        old_value=old,
        new_value=new,
        old_comment=old_comment,
        new_comment=new_comment,
    )


def record_reason(entry, reason_id: int, user_id: int | None) -> JournalAudit:
    """Record that an absence got a reason (an accepted note, or staff against a document)."""
    reason = db.session.get(AttendanceCode, reason_id)
    return record_change(
        "attendance",
        "reason",
        school_id=entry.school_id,
        user_id=user_id,
        record_id=entry.id,
        lesson=entry.lesson,
        student_id=entry.student_id,
        old=attendance_text(entry.code, entry.reason),
        new=attendance_text(entry.code, reason),
    )


def last_change(school_id: int, entity: str, lesson_id: int, student_id: int, assignment_id=None):
    """The latest audit row of one journal cell, or None."""
    statement = select(JournalAudit).where(
        JournalAudit.school_id == school_id,
        JournalAudit.entity == entity,
        JournalAudit.lesson_id == lesson_id,
        JournalAudit.student_id == student_id,
    )
    if assignment_id is not None:
        statement = statement.where(JournalAudit.assignment_id == assignment_id)
    return db.session.scalar(statement.order_by(JournalAudit.id.desc()).limit(1))


# --- The report ---------------------------------------------------------------------


class AuditFilterError(Exception):
    """A filter of the report is invalid; the message names the value and the fix."""


@dataclass
class AuditFilters:
    """Filters of the report, as ids and dates already checked against the scope."""

    class_id: int | None = None
    course_id: int | None = None
    lesson_id: int | None = None
    user_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def _int_or_none(text: str | None) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise AuditFilterError(text)
    return int(text)


def _date_or_none(text: str | None, errors: list[str]) -> dt.date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        errors.append(_('Date "%(value)s" is invalid: enter a date as YYYY-MM-DD.', value=text))
        return None


def parse_filters(scope: Scope, args) -> tuple[AuditFilters, list[str]]:
    """Read the report's filters; an id of another school or an unknown id gives 404."""
    errors: list[str] = []
    filters = AuditFilters()
    try:
        filters.class_id = _int_or_none(args.get("class_id"))
        filters.course_id = _int_or_none(args.get("course_id"))
        filters.lesson_id = _int_or_none(args.get("lesson_id"))
        filters.user_id = _int_or_none(args.get("user_id"))
    except AuditFilterError:
        # A non-numeric id is no id of the school: the same answer as a missing one.
        abort(404)
    if filters.class_id is not None:
        scoped_get_or_404(SchoolClass, filters.class_id, scope)
    if filters.course_id is not None:
        scoped_get_or_404(Course, filters.course_id, scope)
    if filters.lesson_id is not None:
        scoped_get_or_404(Lesson, filters.lesson_id, scope)
    if filters.user_id is not None and filters.user_id not in {u.id for u in audit_users(scope)}:
        abort(404)
    filters.date_from = _date_or_none(args.get("date_from"), errors)
    filters.date_to = _date_or_none(args.get("date_to"), errors)
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        errors.append(
            _(
                "The period is invalid: %(start)s is after %(end)s. Enter the earlier date first.",
                start=filters.date_from.strftime("%d.%m.%Y"),
                end=filters.date_to.strftime("%d.%m.%Y"),
            )
        )
        filters.date_from = filters.date_to = None
    return filters, errors


def audit_users(scope: Scope) -> list[User]:
    """List the users who appear in the school's log or work on its staff, for the filter.

    Students and parents never write the journal, and listing them made the select of a
    school of a thousand students some three thousand options long.
    """
    family = [role_name("student"), role_name("parent")]
    staff_memberships = (
        select(membership_role.c.membership_id)
        .join(Role, Role.id == membership_role.c.role_id)
        .where(Role.name.not_in(family))
    )
    members = select(Membership.user_id).where(Membership.id.in_(staff_memberships))
    if scope.school_id is not None:
        members = members.where(Membership.school_id == scope.school_id)
    authors = apply_scope(select(JournalAudit.user_id), JournalAudit, scope)
    statement = (
        select(User)
        .where(User.id.in_(members) | User.id.in_(authors))
        .order_by(User.last_name, User.first_name, User.id)
    )
    return list(db.session.scalars(statement))


def _filtered(scope: Scope, filters: AuditFilters):
    statement = apply_scope(select(JournalAudit), JournalAudit, scope)
    conditions = []
    if filters.class_id is not None:
        conditions.append(JournalAudit.class_id == filters.class_id)
    if filters.course_id is not None:
        conditions.append(JournalAudit.course_id == filters.course_id)
    if filters.lesson_id is not None:
        conditions.append(JournalAudit.lesson_id == filters.lesson_id)
    if filters.user_id is not None:
        conditions.append(JournalAudit.user_id == filters.user_id)
    if filters.date_from is not None:
        conditions.append(JournalAudit.changed_at >= filters.date_from)
    if filters.date_to is not None:
        conditions.append(JournalAudit.changed_at < filters.date_to + dt.timedelta(days=1))
    return statement.where(and_(*conditions)) if conditions else statement


@dataclass
class AuditRow:
    """One line of the report, with names instead of ids."""

    id: int
    changed_at: dt.datetime
    user: str
    address: str
    school_class: str
    subject: str
    lesson: str
    student: str
    entity: str
    action: str
    old_value: str
    new_value: str
    comment: str
    is_correction: bool


@dataclass
class AuditPage:
    rows: list[AuditRow]
    page: int
    pages: int
    total: int


def _rows(statement) -> list[AuditRow]:
    """Turn audit rows into report lines, with one query for the names."""
    audit = aliased(JournalAudit, statement.subquery())
    named = (
        select(
            audit,
            User.first_name,
            User.last_name,
            SchoolClass.name,
            Subject.name,
            Lesson.date,
            Lesson.lesson_number,
            Student.last_name,
            Student.first_name,
        )
        .outerjoin(User, User.id == audit.user_id)
        .outerjoin(SchoolClass, SchoolClass.id == audit.class_id)
        .outerjoin(Course, Course.id == audit.course_id)
        # A certificate mark belongs to a subject, not a course: its row keeps the subject.
        .outerjoin(Subject, Subject.id == func.coalesce(audit.subject_id, Course.subject_id))
        .outerjoin(Lesson, Lesson.id == audit.lesson_id)
        .outerjoin(Student, Student.id == audit.student_id)
        .order_by(audit.changed_at.desc(), audit.id.desc())
    )
    rows = []
    for row in db.session.execute(named):
        entry = row[0]
        user = " ".join(part for part in (row[2], row[1]) if part) or "—"
        lesson = ""
        if row[5] is not None:
            lesson = _(
                "%(date)s, lesson %(number)s", date=row[5].strftime("%d.%m.%Y"), number=row[6]
            )
        comment = ""
        if (entry.old_comment or "") != (entry.new_comment or ""):
            comment = f"{entry.old_comment or '—'} → {entry.new_comment or '—'}"
        rows.append(
            AuditRow(
                id=entry.id,
                changed_at=entry.changed_at,
                user=user,
                address=entry.address or "",
                school_class=row[3] or "",
                subject=row[4] or "",
                lesson=lesson,
                student=" ".join(part for part in (row[7], row[8]) if part),
                entity=str(AUDIT_ENTITIES.get(entry.entity, entry.entity)),
                action=str(AUDIT_ACTIONS.get(entry.action, entry.action)),
                old_value=entry.old_value or "",
                new_value=entry.new_value or "",
                comment=comment,
                is_correction=entry.is_correction,
            )
        )
    return rows


def audit_page(scope: Scope, filters: AuditFilters, page: int) -> AuditPage:
    """One page of the report, newest change first."""
    statement = _filtered(scope, filters)
    total = db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(page, 1), pages)
    chunk = statement.order_by(JournalAudit.changed_at.desc(), JournalAudit.id.desc())
    chunk = chunk.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    return AuditPage(_rows(chunk), page, pages, total)


def audit_export_rows(scope: Scope, filters: AuditFilters) -> list[AuditRow]:
    """Every row the filters select, newest first, up to :data:`EXPORT_LIMIT`."""
    statement = _filtered(scope, filters).order_by(
        JournalAudit.changed_at.desc(), JournalAudit.id.desc()
    )
    return _rows(statement.limit(EXPORT_LIMIT))
