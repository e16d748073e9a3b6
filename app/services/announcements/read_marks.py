"""Read marks of announcements and the statistics of who has read one."""

import datetime as dt
from dataclasses import dataclass, field

from flask_appbuilder.security.sqla.models import Role, User
from sqlalchemy import or_, select, union
from sqlalchemy.exc import IntegrityError

from app.models import (
    Announcement,
    AnnouncementClass,
    AnnouncementRead,
    Course,
    Employee,
    Guardian,
    Membership,
    SchoolClass,
    Student,
    course_teacher,
    db,
    membership_role,
)
from app.security.roles import ROLES
from app.services.announcements.access import AnnouncementAccess
from app.services.announcements.listing import _user_name

#: Names listed per group in the read statistics; the rest is given as a number.
NAMES_SHOWN = 300


def mark_read(access: AnnouncementAccess, announcement: Announcement) -> bool:
    """Record that the session's user has read the announcement, once; return if it was new.

    The author's own reading is not recorded, and nor is a server-level visit.
    """
    scope = access.scope
    if scope.level != "school" or scope.user_id is None:
        return False
    if announcement.author_id == scope.user_id:
        return False
    already = db.session.scalar(
        select(AnnouncementRead.id).where(
            AnnouncementRead.school_id == announcement.school_id,
            AnnouncementRead.announcement_id == announcement.id,
            AnnouncementRead.user_id == scope.user_id,
        )
    )
    if already is not None:
        return False
    return record_read(announcement, scope.user_id)


def record_read(announcement: Announcement, user_id: int) -> bool:
    """Insert a read mark and commit; return False when the mark exists already.

    Two requests of one reader (a double click, two tabs) may both pass the check in
    :func:`mark_read`; the unique constraint then rejects the second insert.
    """
    db.session.add(
        AnnouncementRead(
            school_id=announcement.school_id, announcement_id=announcement.id, user_id=user_id
        )
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def _members(school_id: int, codes=None):
    """Build a select() of the users with an active membership, holding one of ``codes``."""
    statement = select(Membership.user_id.label("user_id")).where(
        Membership.school_id == school_id, Membership.is_active.is_(True)
    )
    if codes is not None:
        names = [ROLES[code].name for code in codes if code in ROLES]
        holders = (
            select(membership_role.c.membership_id)
            .join(Role, Role.id == membership_role.c.role_id)
            .where(Role.name.in_(names))
        )
        statement = statement.where(Membership.id.in_(holders))
    return statement


def _class_readers(school_id: int, announcement_id: int):
    """Build a select() of the students, parents and teachers of an announcement's classes."""
    class_ids = select(AnnouncementClass.class_id).where(
        AnnouncementClass.school_id == school_id,
        AnnouncementClass.announcement_id == announcement_id,
    )
    students = select(Student.id).where(
        Student.school_id == school_id,
        Student.class_id.in_(class_ids),
        Student.is_active.is_(True),
    )
    student_users = select(Student.user_id.label("user_id")).where(
        Student.id.in_(students), Student.user_id.in_(_members(school_id, ["student"]))
    )
    parent_users = select(Guardian.user_id.label("user_id")).where(
        Guardian.school_id == school_id,
        Guardian.student_id.in_(students),
        Guardian.is_barred.is_(False),
        Guardian.user_id.in_(_members(school_id, ["parent"])),
    )
    led = select(SchoolClass.class_teacher_id).where(
        SchoolClass.school_id == school_id, SchoolClass.id.in_(class_ids)
    )
    taught = (
        select(course_teacher.c.employee_id)
        .join(Course, Course.id == course_teacher.c.course_id)
        .where(Course.school_id == school_id, Course.class_id.in_(class_ids))
    )
    teacher_users = select(Employee.user_id.label("user_id")).where(
        Employee.school_id == school_id,
        or_(Employee.id.in_(led), Employee.id.in_(taught)),
        Employee.user_id.in_(_members(school_id, ["teacher"])),
    )
    return union(student_users, parent_users, teacher_users)


def addressed_reader_ids(announcement: Announcement):
    """Build a select() of the ids of the users an announcement is addressed to.

    It is the reading rule turned around, the author left out: a user is listed exactly
    when the announcement's audience includes them.
    """
    if announcement.audience == "school":
        addressed = _members(announcement.school_id)
    elif announcement.audience == "roles":
        addressed = _members(announcement.school_id, announcement.role_codes)
    else:
        addressed = _class_readers(announcement.school_id, announcement.id)
    users = addressed.subquery()
    statement = select(users.c.user_id).where(users.c.user_id.is_not(None)).distinct()
    if announcement.author_id is not None:
        statement = statement.where(users.c.user_id != announcement.author_id)
    return statement


@dataclass
class ReadStatistics:
    """How many of the addressed readers have read an announcement, and who."""

    addressed: int
    read: int
    #: (name, when read) of the addressed readers who have read it, in name order.
    read_names: list[tuple[str, dt.datetime]] = field(default_factory=list)
    unread_names: list[str] = field(default_factory=list)
    #: Names left out of the lists above, beyond :data:`NAMES_SHOWN`.
    more_read: int = 0
    more_unread: int = 0


def read_statistics(announcement: Announcement) -> ReadStatistics:
    addressed = addressed_reader_ids(announcement).subquery()
    reads = dict(
        db.session.execute(
            select(AnnouncementRead.user_id, AnnouncementRead.read_at).where(
                AnnouncementRead.school_id == announcement.school_id,
                AnnouncementRead.announcement_id == announcement.id,
            )
        ).all()
    )
    users = db.session.scalars(
        select(User)
        .where(User.id.in_(select(addressed.c.user_id)))
        .order_by(User.last_name, User.first_name, User.id)
    ).all()

    read_names = [(_user_name(user), reads[user.id]) for user in users if user.id in reads]
    unread_names = [_user_name(user) for user in users if user.id not in reads]
    return ReadStatistics(
        addressed=len(users),
        read=len(read_names),
        read_names=read_names[:NAMES_SHOWN],
        unread_names=unread_names[:NAMES_SHOWN],
        more_read=max(0, len(read_names) - NAMES_SHOWN),
        more_unread=max(0, len(unread_names) - NAMES_SHOWN),
    )
