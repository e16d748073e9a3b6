"""Announcements (объявления) of a school and of its education authority.

Who reads a school announcement:

- audience "school": everyone with an active membership in the school;
- audience "roles": the members holding one of the chosen role codes there;
- audience "classes": the students of the chosen classes, their parents (guardians who are
  not barred), the class teachers and the teachers of courses of those classes.

Readers see an announcement only while its display period covers the day. Its author, the
principal and the school administrator see every announcement of their school, and writers
also list their future and past ones. :func:`visible_statement` is the one rule of "who
sees what on a day": the list, the page of one announcement, the start page, the diary and
:func:`announcements_visible_to` (for the e-mail digest) all read through it.

An authority announcement is kept as an :class:`~app.models.AuthorityAnnouncement` and
copied into every school of the authority as an announcement to the whole school, files
included. Schools read their copies and cannot change them; the authority's edits and
deletion reach every copy.
"""

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field

from flask import abort
from flask_appbuilder.security.sqla.models import Role, User
from flask_babel import gettext as _
from sqlalchemy import and_, delete, false, func, literal, or_, select, true, union
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import selectinload

from app.errors import SAVE_FAILED, DomainError
from app.models import (
    AcademicYear,
    Announcement,
    AnnouncementClass,
    AnnouncementRead,
    Attachment,
    AuthorityAnnouncement,
    Course,
    Employee,
    Guardian,
    Membership,
    School,
    SchoolClass,
    Student,
    course_teacher,
    db,
    membership_role,
)
from app.models.communication import AUDIENCE_KINDS
from app.security.roles import ROLES, school_role_codes
from app.security.scope import Scope, apply_scope, scope_of, scoped_get_or_404
from app.services.attachments import (
    AttachmentError,
    check_upload,
    copy_attachment,
    remove_files,
    store_upload,
)

log = logging.getLogger(__name__)

#: Roles that see and manage every announcement of their school.
MANAGER_ROLES = ("principal", "school_admin")
#: Roles that write announcements; a teacher only to the classes they teach or lead.
WRITER_ROLES = (*MANAGER_ROLES, "teacher")

#: Filters of the list: announcements shown today, not yet shown, no longer shown.
PERIODS = ("current", "future", "past")

PAGE_SIZE = 50
TITLE_MAX_LENGTH = 255
#: Days a new announcement is shown unless the writer sets another end date.
DEFAULT_DISPLAY_DAYS = 7
#: Names listed per group in the read statistics; the rest is given as a number.
NAMES_SHOWN = 300

#: Dates are typed the Russian way (05.10.2026) or sent by <input type="date"> in ISO.
DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d")

NEWEST_FIRST = (Announcement.display_from.desc(), Announcement.id.desc())


class AnnouncementInputError(Exception):
    """Form input that cannot be saved; each message names the value and the fix."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


# --- Who may do what ----------------------------------------------------------------


def _sees_whole_school(scope: Scope) -> bool:
    if scope.level == "server":
        return True
    return scope.level == "school" and scope.has_role(*MANAGER_ROLES)


@dataclass(frozen=True)
class AnnouncementAccess:
    """The rights of one session over school announcements."""

    scope: Scope
    #: True when the session has the write permission of the Announcements feature.
    may_write: bool = False

    @property
    def sees_whole_school(self) -> bool:
        """Managers read every announcement of their school; the server level, of all."""
        return _sees_whole_school(self.scope)

    @property
    def manages(self) -> bool:
        """Principals and school administrators address anyone and edit any announcement."""
        return (
            self.may_write and self.scope.level == "school" and self.scope.has_role(*MANAGER_ROLES)
        )

    @property
    def writes(self) -> bool:
        return (
            self.may_write and self.scope.level == "school" and self.scope.has_role(*WRITER_ROLES)
        )

    @property
    def lists_other_periods(self) -> bool:
        """Writers list future and past announcements too; readers list current ones only."""
        return self.writes or self.scope.level == "server"


def may_edit(access: AnnouncementAccess, announcement: Announcement) -> bool:
    """Tell whether the session may edit or delete the announcement.

    A teacher changes only their own announcements; managers change any of their school's
    except the copies of an authority announcement, which only the authority changes.
    """
    if not access.writes or announcement.authority_announcement_id is not None:
        return False
    if announcement.school_id != access.scope.school_id:
        return False
    return access.manages or announcement.author_id == access.scope.user_id


def may_see_statistics(access: AnnouncementAccess, announcement: Announcement) -> bool:
    """Tell whether the session sees who has read it: the author and the managers do."""
    if access.sees_whole_school:
        return True
    return announcement.author_id is not None and announcement.author_id == access.scope.user_id


# --- Who reads what ---------------------------------------------------------------


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


# --- Lists and their rows ---------------------------------------------------------------


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


# --- Read marks ---------------------------------------------------------------------


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


# --- The form -------------------------------------------------------------------------


@dataclass
class AnnouncementForm:
    """The announcement form as typed, kept so that an error loses nothing."""

    title: str = ""
    body: str = ""
    audience: str = "school"
    role_codes: list[str] = field(default_factory=list)
    class_ids: list[str] = field(default_factory=list)
    display_from: str = ""
    display_to: str = ""
    #: Attachments ticked for removal on the edit form.
    remove_attachment_ids: list[str] = field(default_factory=list)

    @classmethod
    def from_request(cls, data) -> "AnnouncementForm":
        """Read the form from a request's form data (a MultiDict)."""
        return cls(
            title=data.get("title", ""),
            body=data.get("body", ""),
            audience=data.get("audience", ""),
            role_codes=data.getlist("role"),
            class_ids=data.getlist("class_id"),
            display_from=data.get("display_from", ""),
            display_to=data.get("display_to", ""),
            remove_attachment_ids=data.getlist("remove_attachment"),
        )

    @classmethod
    def blank(cls, access: AnnouncementAccess, today: dt.date) -> "AnnouncementForm":
        """Return a new announcement's form: shown from today for a week, to the whole
        school (managers) or to the teacher's classes."""
        return cls(
            audience="school" if access.manages else "classes",
            display_from=today.isoformat(),
            display_to=(today + dt.timedelta(days=DEFAULT_DISPLAY_DAYS)).isoformat(),
        )

    @classmethod
    def from_announcement(cls, announcement) -> "AnnouncementForm":
        """Return the form of a stored school or authority announcement."""
        classes = getattr(announcement, "classes", [])
        return cls(
            title=announcement.title,
            body=announcement.body or "",
            audience=getattr(announcement, "audience", "school"),
            role_codes=list(getattr(announcement, "role_codes", [])),
            class_ids=[str(link.class_id) for link in classes],
            display_from=announcement.display_from.isoformat(),
            display_to=announcement.display_to.isoformat(),
        )

    def date_value(self, name: str) -> str:
        """Return a typed date as <input type="date"> shows it: ISO when it can be read."""
        text = getattr(self, name)
        parsed = _read_date(text)
        return parsed.isoformat() if parsed is not None else text


@dataclass
class AnnouncementInput:
    """The checked values of an announcement form."""

    title: str
    body: str
    display_from: dt.date
    display_to: dt.date
    audience: str = "school"
    role_codes: list[str] = field(default_factory=list)
    class_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class ClassChoice:
    id: int
    label: str


def role_choices() -> list[tuple[str, str]]:
    """(code, label) of the school roles an announcement may be addressed to."""
    return [(code, role_label(code)) for code in school_role_codes()]


def class_choices(
    access: AnnouncementAccess, announcement: Announcement | None = None
) -> list[ClassChoice]:
    """Classes the form offers: those the session may address in open school years.

    Managers address any class of the school, a teacher only the classes they teach or
    lead. Classes the edited announcement names already stay listed.
    """
    scope = access.scope
    allowed = _addressable_classes(access)
    open_years = select(AcademicYear.id).where(
        AcademicYear.school_id == scope.school_id, AcademicYear.is_closed.is_(False)
    )
    chosen = [link.class_id for link in announcement.classes] if announcement else []
    statement = allowed.where(or_(SchoolClass.year_id.in_(open_years), SchoolClass.id.in_(chosen)))
    classes = list(
        db.session.scalars(
            statement.order_by(SchoolClass.year_id, SchoolClass.grade, SchoolClass.name)
        )
    )
    several_years = len({c.year_id for c in classes}) > 1
    return [
        ClassChoice(c.id, f"{c.name} ({c.year.name})" if several_years else c.name) for c in classes
    ]


def _addressable_classes(access: AnnouncementAccess):
    """Build a select() of the classes the session may address."""
    scope = access.scope
    statement = select(SchoolClass).where(SchoolClass.school_id == scope.school_id)
    if not access.manages:
        statement = statement.where(
            SchoolClass.id.in_(teacher_class_ids(scope.school_id, scope.user_id))
        )
    return statement


def _read_date(text: str) -> dt.date | None:
    text = (text or "").strip()
    for date_format in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, date_format).date()
        except ValueError:
            continue
    return None


def _parse_date(text: str, field_label: str, errors: list[str]) -> dt.date | None:
    text = (text or "").strip()
    example = dt.date.today().strftime("%d.%m.%Y")
    if not text:
        errors.append(
            _(
                "Enter the date «%(field)s», for example %(example)s.",
                field=field_label,
                example=example,
            )
        )
        return None
    parsed = _read_date(text)
    if parsed is None:
        errors.append(
            _(
                "The date «%(value)s» in «%(field)s» is invalid: enter it as dd.mm.yyyy, "
                "for example %(example)s.",
                value=text,
                field=field_label,
                example=example,
            )
        )
    return parsed


def _parse_common(form: AnnouncementForm, errors: list[str]):
    """Check the title and the display period shared by school and authority forms."""
    title = (form.title or "").strip()
    if not title:
        errors.append(_("Enter the title of the announcement."))
    elif len(title) > TITLE_MAX_LENGTH:
        errors.append(
            _(
                "The title is %(length)s characters long; shorten it to %(max)s characters.",
                length=len(title),
                max=TITLE_MAX_LENGTH,
            )
        )

    display_from = _parse_date(form.display_from, _("Show from"), errors)
    display_to = _parse_date(form.display_to, _("Show until"), errors)
    if display_from and display_to and display_from > display_to:
        errors.append(
            _(
                "The display period ends on %(end)s, before it starts on %(start)s. "
                "Set «Show until» to %(start)s or later.",
                start=display_from.strftime("%d.%m.%Y"),
                end=display_to.strftime("%d.%m.%Y"),
            )
        )
    return title, (form.body or "").strip(), display_from, display_to


def _parse_roles(form: AnnouncementForm, errors: list[str]) -> list[str]:
    codes = []
    known = set(school_role_codes())
    for code in form.role_codes:
        if code not in known:
            errors.append(
                _(
                    "The role «%(value)s» is not a school role; tick roles from the list.",
                    value=code,
                )
            )
        elif code not in codes:
            codes.append(code)
    if not form.role_codes:
        errors.append(_("Tick at least one role the announcement is for."))
    return codes


def _parse_classes(
    access: AnnouncementAccess, form: AnnouncementForm, errors: list[str]
) -> list[int]:
    requested = []
    for value in form.class_ids:
        if not str(value).isdigit():
            errors.append(
                _(
                    "The class «%(value)s» is not found in this school; tick classes from "
                    "the list.",
                    value=value,
                )
            )
        elif int(value) not in requested:
            requested.append(int(value))
    if not form.class_ids:
        errors.append(_("Tick at least one class the announcement is for."))
        return []

    scope = access.scope
    in_school = dict(
        db.session.execute(
            select(SchoolClass.id, SchoolClass.name).where(
                SchoolClass.school_id == scope.school_id, SchoolClass.id.in_(requested)
            )
        ).all()
    )
    allowed = set(
        db.session.scalars(
            _addressable_classes(access)
            .where(SchoolClass.id.in_(requested))
            .with_only_columns(SchoolClass.id)
        )
    )
    for class_id in requested:
        if class_id not in in_school:
            errors.append(
                _(
                    "The class «%(value)s» is not found in this school; tick classes from "
                    "the list.",
                    value=class_id,
                )
            )
        elif class_id not in allowed:
            errors.append(
                _(
                    "You may address only the classes you teach or lead; class %(name)s is "
                    "not one of them.",
                    name=in_school[class_id],
                )
            )
    return [class_id for class_id in requested if class_id in allowed]


def _check_uploads(uploads, errors: list[str]) -> None:
    for upload in uploads:
        try:
            check_upload(upload)
        except AttachmentError as error:
            errors.append(str(error))


def parse_form(access: AnnouncementAccess, form: AnnouncementForm, uploads=()) -> AnnouncementInput:
    """Check a school announcement form; raise :class:`AnnouncementInputError` with every
    problem found."""
    errors: list[str] = []
    title, body, display_from, display_to = _parse_common(form, errors)

    audience = form.audience
    role_codes: list[str] = []
    class_ids: list[int] = []
    if audience not in AUDIENCE_KINDS:
        errors.append(
            _(
                "The audience «%(value)s» is unknown: choose the whole school, chosen roles "
                "or chosen classes.",
                value=audience,
            )
        )
    elif audience != "classes" and not access.manages:
        errors.append(
            _(
                "A teacher addresses only the classes they teach or lead: choose «Chosen "
                "classes» and tick your classes."
            )
        )
    elif audience == "roles":
        role_codes = _parse_roles(form, errors)
    elif audience == "classes":
        class_ids = _parse_classes(access, form, errors)

    _check_uploads(uploads, errors)
    if errors:
        raise AnnouncementInputError(errors)
    return AnnouncementInput(
        title=title,
        body=body,
        display_from=display_from,
        display_to=display_to,
        audience=audience,
        role_codes=role_codes,
        class_ids=class_ids,
    )


# --- Writing school announcements -------------------------------------------------------


def _require_writer(access: AnnouncementAccess) -> None:
    if not access.writes:
        raise DomainError(
            _(
                "Announcements are written inside a school by its principal, school "
                "administrator or teachers. Open the school in the organisation menu."
            )
        )


def _commit(new_attachments, removed_attachments=()) -> None:
    """Commit the write; on failure drop the files just stored and raise a DomainError.

    Files of removed attachments are deleted only once the rows are gone for good.
    """
    try:
        db.session.commit()
    except SQLAlchemyError:
        log.exception("Saving an announcement failed")
        db.session.rollback()
        remove_files(new_attachments)
        raise DomainError(SAVE_FAILED) from None
    remove_files(removed_attachments)


def _abandon_files(files: list[Attachment], error: Exception) -> DomainError:
    """Roll the write back, delete the files stored so far and return the error to raise."""
    db.session.rollback()
    remove_files(files)
    if isinstance(error, AttachmentError):
        return DomainError(str(error))
    log.error("Storing announcement files failed: %s", type(error).__name__)
    return DomainError(
        _(
            "The files could not be stored on the server, so nothing was saved. Try again, "
            "and tell the administrator if it happens again."
        )
    )


def _store_uploads(school_id: int, announcement_id: int, uploads, user_id) -> list[Attachment]:
    stored = []
    try:
        for upload in uploads:
            stored.append(store_upload(school_id, upload, user_id, announcement_id=announcement_id))
    except (AttachmentError, OSError) as error:
        raise _abandon_files(stored, error) from None
    return stored


def _apply_input(announcement: Announcement, data: AnnouncementInput) -> None:
    announcement.title = data.title
    announcement.body = data.body
    announcement.display_from = data.display_from
    announcement.display_to = data.display_to
    announcement.audience = data.audience
    announcement.audience_roles = ",".join(data.role_codes)
    _set_classes(announcement, data.class_ids)


def _set_classes(announcement: Announcement, class_ids: list[int]) -> None:
    """Keep the class rows that stay and add the missing ones, so no unique key clashes."""
    requested_ids = set(class_ids)
    for link in list(announcement.classes):
        if link.class_id not in requested_ids:
            announcement.classes.remove(link)
    present = {link.class_id for link in announcement.classes}
    for class_id in class_ids:
        if class_id not in present:
            announcement.classes.append(
                AnnouncementClass(school_id=announcement.school_id, class_id=class_id)
            )


def create_announcement(
    access: AnnouncementAccess, form: AnnouncementForm, uploads=()
) -> Announcement:
    """Check the form and save a new announcement of the session's school with its files."""
    _require_writer(access)
    data = parse_form(access, form, uploads)
    scope = access.scope
    announcement = Announcement(
        school_id=scope.school_id, author_id=scope.user_id, audience_roles=""
    )
    _apply_input(announcement, data)
    db.session.add(announcement)
    db.session.flush()

    stored = _store_uploads(scope.school_id, announcement.id, uploads, scope.user_id)
    _commit(stored)
    log.info(
        "announcement %s created in school %s by user %s",
        announcement.id,
        scope.school_id,
        scope.user_id,
    )
    return announcement


def update_announcement(
    access: AnnouncementAccess, announcement: Announcement, form: AnnouncementForm, uploads=()
) -> Announcement:
    """Check the form and save it over an announcement the session may edit."""
    if not may_edit(access, announcement):
        raise DomainError(_("You may change only your own announcements."))
    data = parse_form(access, form, uploads)
    _apply_input(announcement, data)

    removed = _remove_attachments(announcement, form.remove_attachment_ids)
    db.session.flush()
    stored = _store_uploads(announcement.school_id, announcement.id, uploads, access.scope.user_id)
    _commit(stored, removed)
    log.info("announcement %s updated by user %s", announcement.id, access.scope.user_id)
    return announcement


def _remove_attachments(announcement: Announcement, attachment_ids) -> list[Attachment]:
    requested_ids = {str(value) for value in attachment_ids}
    removed = [a for a in announcement.attachments if str(a.id) in requested_ids]
    for attachment in removed:
        announcement.attachments.remove(attachment)
    return removed


def delete_announcement(access: AnnouncementAccess, announcement: Announcement) -> None:
    """Delete an announcement the session may edit, with its read marks and files."""
    if not may_edit(access, announcement):
        raise DomainError(_("You may delete only your own announcements."))
    files = list(announcement.attachments)
    announcement_id = announcement.id
    _delete_announcements([announcement])
    _commit([], files)
    log.info("announcement %s deleted by user %s", announcement_id, access.scope.user_id)


def _delete_announcements(announcements: list[Announcement]) -> None:
    """Delete announcements with their read marks; classes and attachments go by cascade.

    Read marks are deleted here because SQLite does not apply ON DELETE CASCADE unless
    foreign keys are switched on.
    """
    for announcement in announcements:
        db.session.execute(
            delete(AnnouncementRead).where(
                AnnouncementRead.school_id == announcement.school_id,
                AnnouncementRead.announcement_id == announcement.id,
            )
        )
        db.session.delete(announcement)


# --- Authority announcements -------------------------------------------------------------


@dataclass
class AuthorityRow:
    """An authority announcement in the authority's list."""

    announcement: AuthorityAnnouncement
    #: Schools holding a copy.
    schools: int
    #: Read marks of all copies together; names stay inside the schools.
    reads: int


def _require_authority(scope: Scope) -> int:
    """Return the scope's authority; other levels may only read, so they get 403."""
    if scope.level != "authority" or scope.authority_id is None:
        abort(403)
    return scope.authority_id


def authority_rows(scope: Scope) -> list[AuthorityRow]:
    """List the authority's announcements, or every authority's at server level."""
    statement = select(AuthorityAnnouncement)
    if scope.level == "authority":
        statement = statement.where(AuthorityAnnouncement.authority_id == scope.authority_id)
    elif scope.level != "server":
        return []
    originals = list(
        db.session.scalars(
            statement.order_by(
                AuthorityAnnouncement.display_from.desc(), AuthorityAnnouncement.id.desc()
            )
        )
    )
    ids = [original.id for original in originals] or [-1]
    schools = dict(
        db.session.execute(
            select(Announcement.authority_announcement_id, func.count(Announcement.id))
            .where(Announcement.authority_announcement_id.in_(ids))
            .group_by(Announcement.authority_announcement_id)
        ).all()
    )
    reads = dict(
        db.session.execute(
            select(Announcement.authority_announcement_id, func.count(AnnouncementRead.id))
            .join(AnnouncementRead, AnnouncementRead.announcement_id == Announcement.id)
            .where(Announcement.authority_announcement_id.in_(ids))
            .group_by(Announcement.authority_announcement_id)
        ).all()
    )
    return [
        AuthorityRow(original, schools.get(original.id, 0), reads.get(original.id, 0))
        for original in originals
    ]


def get_authority_announcement_or_404(scope: Scope, announcement_id) -> AuthorityAnnouncement:
    """Load an authority announcement of the scope's authority (any at server level).

    Authority announcements are not school data, so the school scope does not cover
    them. This is their one scoped lookup, and another authority's id raises 404.
    """
    try:
        announcement_id = int(announcement_id)
    except (TypeError, ValueError):
        abort(404)
    statement = select(AuthorityAnnouncement).where(AuthorityAnnouncement.id == announcement_id)
    if scope.level == "authority":
        statement = statement.where(AuthorityAnnouncement.authority_id == scope.authority_id)
    elif scope.level != "server":
        abort(404)
    original = db.session.scalars(statement).first()
    if original is None:
        abort(404)
    return original


def authority_copies(original: AuthorityAnnouncement) -> list[Announcement]:
    """Return the school copies of an authority announcement, oldest first."""
    statement = (
        select(Announcement)
        .where(Announcement.authority_announcement_id == original.id)
        .order_by(Announcement.id)
    )
    return list(db.session.scalars(statement))


def authority_attachments(original: AuthorityAnnouncement) -> list[Attachment]:
    """Return the files of an authority announcement, as its oldest copy stores them."""
    copies = authority_copies(original)
    return list(copies[0].attachments) if copies else []


def get_authority_attachment_or_404(original: AuthorityAnnouncement, attachment_id) -> Attachment:
    """Return a file of any copy of an authority announcement loaded through its scope."""
    try:
        attachment_id = int(attachment_id)
    except (TypeError, ValueError):
        abort(404)
    copies = select(Announcement.id).where(Announcement.authority_announcement_id == original.id)
    attachment = db.session.scalars(
        select(Attachment).where(
            Attachment.id == attachment_id, Attachment.announcement_id.in_(copies)
        )
    ).first()
    if attachment is None:
        abort(404)
    return attachment


def _authority_schools(authority_id: int) -> list[School]:
    statement = select(School).where(School.authority_id == authority_id).order_by(School.id)
    return list(db.session.scalars(statement))


def parse_authority_form(form: AnnouncementForm, uploads=()) -> AnnouncementInput:
    """Check an authority announcement form: title, text, dates and files."""
    errors: list[str] = []
    title, body, display_from, display_to = _parse_common(form, errors)
    _check_uploads(uploads, errors)
    if errors:
        raise AnnouncementInputError(errors)
    return AnnouncementInput(
        title=title, body=body, display_from=display_from, display_to=display_to
    )


def _school_copy(original: AuthorityAnnouncement, school_id: int) -> Announcement:
    return Announcement(
        school_id=school_id,
        title=original.title,
        body=original.body,
        audience="school",
        audience_roles="",
        display_from=original.display_from,
        display_to=original.display_to,
        author_id=original.author_id,
        authority_announcement_id=original.id,
    )


def _apply_to_copy(original: AuthorityAnnouncement, copy: Announcement) -> None:
    copy.title = original.title
    copy.body = original.body
    copy.display_from = original.display_from
    copy.display_to = original.display_to


def _fan_out_uploads(copies: list[Announcement], uploads, user_id) -> list[Attachment]:
    """Store each upload in the first copy's school and copy the file into the others."""
    if not copies:
        return []
    first, others = copies[0], copies[1:]
    stored = _store_uploads(first.school_id, first.id, uploads, user_id)
    copied = []
    try:
        for source in stored:
            for copy in others:
                copied.append(copy_attachment(source, copy.school_id, announcement_id=copy.id))
    except OSError as error:
        raise _abandon_files(stored + copied, error) from None
    return stored + copied


def _check_schools_for_files(schools: list, uploads) -> None:
    if uploads and not schools:
        raise AnnouncementInputError(
            [
                _(
                    "Your authority has no schools yet, and files are kept in the schools: "
                    "save the announcement without files."
                )
            ]
        )


def publish_authority_announcement(
    scope: Scope, form: AnnouncementForm, uploads=()
) -> AuthorityAnnouncement:
    """Save an authority announcement and copy it, files included, into every school."""
    authority_id = _require_authority(scope)
    data = parse_authority_form(form, uploads)
    schools = _authority_schools(authority_id)
    _check_schools_for_files(schools, uploads)

    original = AuthorityAnnouncement(
        authority_id=authority_id,
        title=data.title,
        body=data.body,
        display_from=data.display_from,
        display_to=data.display_to,
        author_id=scope.user_id,
    )
    db.session.add(original)
    db.session.flush()
    copies = [_school_copy(original, school.id) for school in schools]
    db.session.add_all(copies)
    db.session.flush()

    stored = _fan_out_uploads(copies, uploads, scope.user_id)
    _commit(stored)
    log.info(
        "authority announcement %s published to %s schools by user %s",
        original.id,
        len(copies),
        scope.user_id,
    )
    return original


def _attachment_keys(attachments) -> dict[int, tuple]:
    """Key each attachment by name, size and its rank among files of that name and size.

    Copies are made in the same order in every school, so equal keys mark the copies of
    one file across the schools.
    """
    seen = Counter()
    keys = {}
    for attachment in sorted(attachments, key=lambda a: a.id):
        pair = (attachment.filename, attachment.size)
        keys[attachment.id] = (*pair, seen[pair])
        seen[pair] += 1
    return keys


def update_authority_announcement(
    scope: Scope, original: AuthorityAnnouncement, form: AnnouncementForm, uploads=()
) -> AuthorityAnnouncement:
    """Save the form over an authority announcement and bring every school copy in line.

    Schools added to the authority since publishing get their copy now, with the files.
    """
    authority_id = _require_authority(scope)
    if original.authority_id != authority_id:
        abort(404)
    data = parse_authority_form(form, uploads)
    original.title = data.title
    original.body = data.body
    original.display_from = data.display_from
    original.display_to = data.display_to

    copies = authority_copies(original)
    removed = _remove_authority_attachments(copies, form.remove_attachment_ids)
    for copy in copies:
        _apply_to_copy(original, copy)
    db.session.flush()

    schools = _authority_schools(authority_id)
    _check_schools_for_files(schools, uploads)
    new_copies, copied = _add_missing_copies(original, copies, schools)
    stored = _fan_out_uploads(copies + new_copies, uploads, scope.user_id)
    _commit(copied + stored, removed)
    log.info(
        "authority announcement %s updated by user %s: %s copies, %s new",
        original.id,
        scope.user_id,
        len(copies) + len(new_copies),
        len(new_copies),
    )
    return original


def _remove_authority_attachments(copies: list[Announcement], attachment_ids) -> list[Attachment]:
    """Remove the files ticked on the first copy from every copy."""
    if not copies or not attachment_ids:
        return []
    requested_ids = {str(value) for value in attachment_ids}
    reference_keys = _attachment_keys(copies[0].attachments)
    removed_keys = {
        key for attachment_id, key in reference_keys.items() if str(attachment_id) in requested_ids
    }
    removed = []
    for copy in copies:
        keys = _attachment_keys(copy.attachments)
        for attachment in list(copy.attachments):
            if keys[attachment.id] in removed_keys:
                copy.attachments.remove(attachment)
                removed.append(attachment)
    return removed


def _add_missing_copies(original, copies, schools):
    """Copy the announcement and the first copy's files into schools that lack it."""
    present = {copy.school_id for copy in copies}
    new_copies = [_school_copy(original, s.id) for s in schools if s.id not in present]
    if not new_copies:
        return [], []
    db.session.add_all(new_copies)
    db.session.flush()
    sources = list(copies[0].attachments) if copies else []
    copied = []
    try:
        for copy in new_copies:
            for source in sources:
                copied.append(copy_attachment(source, copy.school_id, announcement_id=copy.id))
    except OSError as error:
        raise _abandon_files(copied, error) from None
    return new_copies, copied


def delete_authority_announcement(scope: Scope, original: AuthorityAnnouncement) -> None:
    """Delete an authority announcement, its copy in every school and all their files."""
    authority_id = _require_authority(scope)
    if original.authority_id != authority_id:
        abort(404)
    copies = authority_copies(original)
    files = [attachment for copy in copies for attachment in copy.attachments]
    original_id = original.id
    _delete_announcements(copies)
    # The copies go first. No relationship links them to the original, so the ORM might
    # delete it first, and PostgreSQL would then delete the copies by cascade and leave
    # the ORM's DELETE of them no rows.
    db.session.flush()
    db.session.delete(original)
    _commit([], files)
    log.info(
        "authority announcement %s deleted with %s copies by user %s",
        original_id,
        len(copies),
        scope.user_id,
    )
