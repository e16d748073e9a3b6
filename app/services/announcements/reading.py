"""The reading rule of announcements and the scoped lookup of one announcement or file by id."""

import datetime as dt

from flask import abort
from sqlalchemy import and_, false, literal, or_, select, true, union

from app.models import (
    Announcement,
    AnnouncementClass,
    Attachment,
    Course,
    Employee,
    Guardian,
    Membership,
    SchoolClass,
    Student,
    course_teacher,
    db,
)
from app.security.scope import Scope, apply_scope, scope_of, scoped_get_or_404
from app.services.announcements.access import AnnouncementAccess, _sees_whole_school

NEWEST_FIRST = (Announcement.display_from.desc(), Announcement.id.desc())


def _covers(on_date: dt.date):
    return and_(Announcement.display_from <= on_date, Announcement.display_to >= on_date)


def _teacher_class_selects(school_id: int, user_id: int) -> list:
    """Build the select()s of the classes a teacher leads and of those they teach."""
    employees = select(Employee.id).where(
        Employee.school_id == school_id, Employee.user_id == user_id
    )
    led = select(SchoolClass.id).where(
        SchoolClass.school_id == school_id, SchoolClass.class_teacher_id.in_(employees)
    )
    taught = (
        select(Course.class_id)
        .join(course_teacher, course_teacher.c.course_id == Course.id)
        .where(Course.school_id == school_id, course_teacher.c.employee_id.in_(employees))
    )
    return [led, taught]


def teacher_class_ids(school_id: int, user_id: int):
    """Build a select() of the ids of the classes a teacher leads or teaches a course in."""
    return union(*_teacher_class_selects(school_id, user_id))


def _reader_class_ids(scope: Scope):
    """Build a select() of the classes the reader belongs to by role, or None for none.

    A student belongs to their class, a parent to the classes of their children (unless
    barred), a teacher to the classes they lead or teach.
    """
    school_id, user_id = scope.school_id, scope.user_id
    parts = []
    if scope.has_role("student"):
        parts.append(
            select(Student.class_id).where(
                Student.school_id == school_id,
                Student.user_id == user_id,
                Student.is_active.is_(True),
            )
        )
    if scope.has_role("parent"):
        children = select(Guardian.student_id).where(
            Guardian.school_id == school_id,
            Guardian.user_id == user_id,
            Guardian.is_barred.is_(False),
        )
        parts.append(
            select(Student.class_id).where(
                Student.school_id == school_id,
                Student.id.in_(children),
                Student.is_active.is_(True),
            )
        )
    if scope.has_role("teacher"):
        parts.extend(_teacher_class_selects(school_id, user_id))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else union(*parts)


def _audience_condition(scope: Scope):
    """Build the condition on Announcement for the audiences the reader belongs to."""
    conditions = [Announcement.audience == "school"]

    codes = sorted(scope.role_codes)
    if codes:
        # Codes are stored comma-separated, so ",teacher," is looked for in ",a,teacher,b,".
        padded = literal(",") + Announcement.audience_roles + literal(",")
        matches = [padded.contains(f",{code},", autoescape=True) for code in codes]
        conditions.append(and_(Announcement.audience == "roles", or_(*matches)))

    class_ids = _reader_class_ids(scope)
    if class_ids is not None:
        addressed = select(AnnouncementClass.announcement_id).where(
            AnnouncementClass.school_id == scope.school_id,
            AnnouncementClass.class_id.in_(class_ids),
        )
        conditions.append(and_(Announcement.audience == "classes", Announcement.id.in_(addressed)))
    return or_(*conditions)


def _reader_condition(scope: Scope):
    """Build the condition on Announcement for what the reader may read, dates aside."""
    if _sees_whole_school(scope):
        return true()
    if scope.level != "school" or scope.user_id is None:
        return false()
    return or_(Announcement.author_id == scope.user_id, _audience_condition(scope))


def visible_statement(scope: Scope, on_date: dt.date):
    """Build a select() of the announcements the scope's reader sees on ``on_date``.

    This is the one reading rule: audience, authorship or management, and the display
    period covering the day, inside the scope's school (every school at server level).
    """
    statement = apply_scope(select(Announcement), Announcement, scope)
    return statement.where(_covers(on_date), _reader_condition(scope))


def reader_scope(school_id: int, user_id: int) -> Scope | None:
    """Return the scope of a user's active membership in a school, or None without one."""
    membership = db.session.scalars(
        select(Membership).where(
            Membership.school_id == school_id,
            Membership.user_id == user_id,
            Membership.is_active.is_(True),
        )
    ).first()
    return scope_of(membership, user_id) if membership is not None else None


def announcements_visible_to(
    school_id: int,
    user_id: int,
    on_date: dt.date,
    created_since: dt.datetime | None = None,
) -> list[Announcement]:
    """List the announcements of a school that a user sees on a day, newest first.

    The audience is evaluated from the roles of the user's active membership in the
    school, their children and their classes; a user without one sees nothing. With
    ``created_since``, only announcements created after it are listed; it is compared
    with ``created_at`` as the database stored it (naive, the database server's time).
    Works without a request, for the e-mail digest.
    """
    scope = reader_scope(school_id, user_id)
    if scope is None:
        return []
    statement = visible_statement(scope, on_date)
    if created_since is not None:
        statement = statement.where(Announcement.created_at > created_since)
    return list(db.session.scalars(statement.order_by(*NEWEST_FIRST)))


def get_readable_or_404(
    access: AnnouncementAccess, announcement_id, today: dt.date
) -> Announcement:
    """Load an announcement the session may open; any other id raises 404."""
    announcement = scoped_get_or_404(Announcement, announcement_id, access.scope)
    if access.sees_whole_school or announcement.author_id == access.scope.user_id:
        return announcement
    visible = db.session.scalar(
        visible_statement(access.scope, today)
        .where(Announcement.id == announcement.id)
        .with_only_columns(Announcement.id)
    )
    if visible is None:
        abort(404)
    return announcement


def get_attachment_or_404(announcement: Announcement, attachment_id) -> Attachment:
    """Return a file of an announcement the caller has already loaded through its scope."""
    for attachment in announcement.attachments:
        if str(attachment.id) == str(attachment_id):
            return attachment
    abort(404)
