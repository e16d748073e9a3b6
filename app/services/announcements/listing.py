"""Announcement lists and their rows with the unread mark, the author and the audience."""

import datetime as dt
from dataclasses import dataclass

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.models import Announcement, AnnouncementClass, AnnouncementRead, Employee, db
from app.models.communication import AUDIENCE_KINDS
from app.security.roles import ROLES
from app.security.scope import Scope, apply_scope
from app.services.announcements.access import AnnouncementAccess
from app.services.announcements.reading import NEWEST_FIRST, visible_statement

#: Filters of the list: announcements shown today, not yet shown, no longer shown.
PERIODS = ("current", "future", "past")

PAGE_SIZE = 50


def _listing_statement(access: AnnouncementAccess, period: str, today: dt.date):
    if period == "current" or not access.lists_other_periods:
        return visible_statement(access.scope, today)

    statement = apply_scope(select(Announcement), Announcement, access.scope)
    if not access.sees_whole_school:
        # A teacher lists only their own announcements before and after their dates.
        statement = statement.where(Announcement.author_id == access.scope.user_id)
    if period == "future":
        return statement.where(Announcement.display_from > today)
    return statement.where(Announcement.display_to < today)


@dataclass
class AnnouncementRow:
    """An announcement as lists show it."""

    announcement: Announcement
    #: The reader has not opened it yet.
    unread: bool
    #: The author's name, or the authority for its copies.
    source: str
    #: Whom it is for: «Вся школа», the roles or the classes.
    audience: str


def _with_classes(statement):
    return statement.options(
        selectinload(Announcement.classes).selectinload(AnnouncementClass.school_class)
    )


def list_page(
    access: AnnouncementAccess, period: str, today: dt.date, page: int
) -> tuple[list[AnnouncementRow], int]:
    """Return one page of the session's list for a period and the number of all rows."""
    statement = _listing_statement(access, period, today)
    total = db.session.scalar(select(func.count()).select_from(statement.subquery()))
    page_statement = (
        _with_classes(statement)
        .order_by(*NEWEST_FIRST)
        .offset((max(page, 1) - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    return announcement_rows(access.scope, list(db.session.scalars(page_statement))), total


def reader_announcements(scope: Scope, today: dt.date, limit: int | None = None):
    """Return the current announcements of a school session, unread first, as rows.

    The start page and the diary show these.
    """
    if scope.level != "school" or scope.user_id is None:
        return []
    statement = _with_classes(visible_statement(scope, today)).order_by(*NEWEST_FIRST)
    rows = announcement_rows(scope, list(db.session.scalars(statement)))
    # A stable sort keeps the newest-first order inside the unread and the read rows.
    rows.sort(key=lambda row: not row.unread)
    return rows[:limit] if limit is not None else rows


def diary_announcements(scope: Scope, student, today: dt.date) -> list:
    """Return the reader's current announcements that concern one child's diary.

    A parent of children in several classes reads announcements of all those classes on
    the start page; a child's diary keeps only those of that child's class and those
    addressed to the whole school or to roles.
    """
    rows = reader_announcements(scope, today)
    return [
        row
        for row in rows
        if row.announcement.audience != "classes"
        or any(link.class_id == student.class_id for link in row.announcement.classes)
    ]


def announcement_rows(scope: Scope, announcements: list[Announcement]) -> list[AnnouncementRow]:
    read_ids = _read_ids(scope, announcements)
    sources = source_names(announcements)
    return [
        AnnouncementRow(
            announcement=announcement,
            unread=_is_unread(scope, announcement, read_ids),
            source=sources.get(announcement.id, ""),
            audience=audience_text(announcement),
        )
        for announcement in announcements
    ]


def _is_unread(scope: Scope, announcement: Announcement, read_ids: set[int]) -> bool:
    if scope.level != "school" or announcement.author_id == scope.user_id:
        return False
    return announcement.id not in read_ids


def _read_ids(scope: Scope, announcements: list[Announcement]) -> set[int]:
    if scope.level != "school" or not announcements:
        return set()
    statement = select(AnnouncementRead.announcement_id).where(
        AnnouncementRead.school_id == scope.school_id,
        AnnouncementRead.user_id == scope.user_id,
        AnnouncementRead.announcement_id.in_([a.id for a in announcements]),
    )
    return set(db.session.scalars(statement))


def _user_name(user: User) -> str:
    return " ".join(part for part in (user.last_name, user.first_name) if part)


def source_names(announcements: list[Announcement]) -> dict[int, str]:
    """Map announcement ids to their author's name, or to the authority for its copies.

    A staff member is named as the school's staff list has them («Иванова А. П.»),
    anyone else by the name of their login.
    """
    names = {}
    authored = [a for a in announcements if a.authority_announcement_id is None and a.author_id]
    author_ids = {a.author_id for a in authored}
    school_ids = {a.school_id for a in authored}
    staff = {}
    users = {}
    if author_ids:
        employees = select(Employee).where(
            Employee.school_id.in_(school_ids), Employee.user_id.in_(author_ids)
        )
        staff = {(e.school_id, e.user_id): e.short_name for e in db.session.scalars(employees)}
        users = {
            user.id: _user_name(user)
            for user in db.session.scalars(select(User).where(User.id.in_(author_ids)))
        }
    for announcement in announcements:
        if announcement.authority_announcement_id is not None:
            names[announcement.id] = str(announcement.school.authority)
        elif announcement.author_id:
            key = (announcement.school_id, announcement.author_id)
            names[announcement.id] = staff.get(key) or users.get(announcement.author_id, "")
    return names


def role_label(code: str) -> str:
    spec = ROLES.get(code)
    return str(spec.label) if spec is not None else code


def audience_text(announcement: Announcement) -> str:
    """Say whom an announcement is for: «Вся школа», the roles or the class names."""
    if announcement.audience == "roles":
        return ", ".join(role_label(code) for code in announcement.role_codes)
    if announcement.audience == "classes":
        names = sorted(
            (link.school_class.grade, link.school_class.name)
            for link in announcement.classes
            if link.school_class is not None
        )
        return ", ".join(name for _grade, name in names)
    return str(AUDIENCE_KINDS["school"])
