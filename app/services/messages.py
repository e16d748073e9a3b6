"""Messages between parents, students and the school: address book, folders, threads, drafts.

Who may write to whom is decided here, never by the form: :func:`allowed_recipients` builds
the session's address book, and :func:`save_message` rejects any recipient outside it.

A message without ``sent_at`` is its sender's draft. The recipients of a draft are already
stored as :class:`~app.models.MessageRecipient` rows, so every query of received mail also
checks ``Message.sent_at``. Deleting moves a message to the deleted folder of one
participant. A row is removed only once no participant sees it and no other message of a
thread points at it.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass, field

from flask import abort, url_for
from flask_appbuilder.security.sqla.models import Role, User
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, func, or_, select, union_all, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from app.errors import DomainError, FormErrors
from app.models import (
    Attachment,
    Course,
    Employee,
    Guardian,
    Membership,
    Message,
    MessageRecipient,
    School,
    SchoolClass,
    Student,
    Subject,
    course_teacher,
    db,
    membership_role,
)
from app.security.criteria import built_once, core_rows, in_school
from app.security.roles import ROLES
from app.security.scope import Scope, scoped_get_or_404
from app.services.attachments import (
    AttachmentError,
    check_upload,
    remove_files,
    store_upload,
    stored_path,
)
from app.services.diary import own_students, student_courses, visible_students_query
from app.services.notifications import mark_read_for_links, notify, public_url

log = logging.getLogger(__name__)

#: Folders of the inbox, in the order of their tabs.
FOLDERS = {
    "incoming": _l("Incoming"),
    "sent": _l("Sent"),
    "drafts": _l("Drafts"),
    "deleted": _l("Deleted"),
}

#: Messages on one page of a folder.
PAGE_SIZE = 20
#: The length of the subject column.
SUBJECT_MAX_LENGTH = 255
#: Maximum length of a message text, in characters. Longer texts go as an attached file.
BODY_MAX_LENGTH = 20_000
#: Files one message may carry; each is checked by the attachment service.
MAX_ATTACHMENTS = 10
#: Recipients named on a folder row before «and N more».
NAMES_ON_ROW = 3

#: Roles that may write to every member of their school.
WHOLE_SCHOOL_ROLES = ("principal", "school_admin")
#: Roles that may write to the school's staff.
STAFF_ROLES = ("teacher", "secretary", "hr", "medical", "psychologist", "technical_staff")
#: Roles whose members parents may write to as the school's administration.
ADMINISTRATION_ROLES = ("principal", "school_admin")

#: How a guardian is named next to the child: «мама: Иванов Пётр, 5А».
GUARDIAN_WORDS = {
    "mother": _l("mum"),
    "father": _l("dad"),
    "guardian": _l("guardian"),
}

REPLY_PREFIX = "Re: "


class MessageInputError(FormErrors):
    """One or more values of the message form are invalid; nothing was saved or sent."""


def _require_school(scope: Scope | None) -> int:
    """Return the scope's school id; messages live inside one school."""
    if scope is None or scope.level != "school" or scope.user_id is None:
        raise DomainError(
            _(
                "Messages are kept per school. Choose a school in the organisation menu "
                "to read and write them."
            )
        )
    return scope.school_id


def _school_or_404(scope: Scope | None) -> int:
    if scope is None or scope.level != "school" or scope.user_id is None:
        abort(404)
    return scope.school_id


# --- Display names -----------------------------------------------------------------------


def _student_label(student: Student) -> str:
    """Name a student with the class: «Иванов Пётр, 5А»."""
    text = f"{student.last_name} {student.first_name}"
    if student.school_class is not None:
        text += f", {student.school_class.name}"
    return text


class PeopleNames:
    """Display names of logins, from the staff, student and guardian rows of one school.

    A staff row names a login before a guardian row, and a guardian row before a student
    row. A login without any of them is named by its user name.
    """

    def __init__(self, school_id: int, user_ids):
        ids = sorted({user_id for user_id in user_ids if user_id is not None})
        self.employees: dict[int, Employee] = {}
        self.students: dict[int, Student] = {}
        self.guardians: dict[int, list[Guardian]] = defaultdict(list)
        self.users: dict[int, User] = {}
        if not ids:
            return
        for employee in db.session.scalars(
            select(Employee).where(Employee.school_id == school_id, Employee.user_id.in_(ids))
        ):
            self.employees[employee.user_id] = employee
        for student in db.session.scalars(
            select(Student)
            .options(selectinload(Student.school_class))
            .where(Student.school_id == school_id, Student.user_id.in_(ids))
        ):
            self.students[student.user_id] = student
        for guardian in db.session.scalars(
            select(Guardian)
            .options(selectinload(Guardian.student).selectinload(Student.school_class))
            .where(Guardian.school_id == school_id, Guardian.user_id.in_(ids))
            .order_by(Guardian.id)
        ):
            self.guardians[guardian.user_id].append(guardian)
        for user in db.session.scalars(select(User).where(User.id.in_(ids))):
            self.users[user.id] = user

    def employee_name(self, user_id: int) -> str | None:
        employee = self.employees.get(user_id)
        return employee.short_name if employee else None

    def guardian_name(self, user_id: int) -> str | None:
        """Name a parent with their children: «Иванова А. П. (мама: Иванов Пётр, 5А)»."""
        rows = self.guardians.get(user_id)
        if not rows:
            return None
        name = rows[0].short_name
        if len({row.kind for row in rows}) == 1:
            word = GUARDIAN_WORDS.get(rows[0].kind, rows[0].kind)
            children = "; ".join(_student_label(row.student) for row in rows)
            return f"{name} ({word}: {children})"
        parts = [
            f"{GUARDIAN_WORDS.get(row.kind, row.kind)}: {_student_label(row.student)}"
            for row in rows
        ]
        return f"{name} ({'; '.join(parts)})"

    def student_name(self, user_id: int) -> str | None:
        student = self.students.get(user_id)
        return _student_label(student) if student is not None else None

    def user_name(self, user_id: int | None) -> str:
        user = self.users.get(user_id)
        if user is None:
            return _("Deleted user")
        return f"{user.last_name} {user.first_name}".strip() or user.username

    def name(self, user_id: int | None, prefer: str | None = None) -> str:
        """Return the display name, from the kind of row ``prefer`` names when it exists."""
        if user_id is None:
            return _("Deleted user")
        finders = {
            "employee": self.employee_name,
            "guardian": self.guardian_name,
            "student": self.student_name,
        }
        order = ["employee", "guardian", "student"]
        if prefer in finders:
            order.remove(prefer)
            order.insert(0, prefer)
        for kind in order:
            found = finders[kind](user_id)
            if found:
                return found
        return self.user_name(user_id)


# --- The address book ---------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    """A person the session may write to, as the recipient list shows them."""

    user_id: int
    name: str
    #: What the person is to the writer: subjects taught, position, role.
    note: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} — {self.note}" if self.note else self.name


@dataclass
class ContactGroup:
    label: str
    contacts: list[Contact]


@dataclass
class AddressBook:
    """The recipients a session may choose, in labelled groups."""

    groups: list[ContactGroup]

    @property
    def user_ids(self) -> set[int]:
        return {contact.user_id for group in self.groups for contact in group.contacts}

    def names(self) -> dict[int, str]:
        return {
            contact.user_id: contact.name for group in self.groups for contact in group.contacts
        }


@dataclass
class _RawGroup:
    """A group before names are loaded: user id → notes, and which row names them."""

    label: str
    prefer: str | None = None
    members: dict[int, list[str]] = field(default_factory=dict)

    def add(self, user_id: int | None, note: str | None = None) -> None:
        if user_id is None:
            return
        notes = self.members.setdefault(user_id, [])
        if note and note not in notes:
            notes.append(str(note))


def _active_member_ids(school_id: int):
    """Build a select() of the logins with an active membership in the school."""
    return (
        select(Membership.user_id)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.school_id == school_id,
            Membership.is_active.is_(True),
            User.active.is_(True),
        )
    )


def allowed_recipients(scope: Scope) -> AddressBook:
    """Build the address book of the session: whom it may write to, in labelled groups.

    - parent: the teachers and class teachers of their own children, and the
      administration (principal and school administrator roles);
    - student: the teachers of their own courses and their class teacher;
    - teacher: students and parents (not barred) of the classes they teach or lead, and
      the school's staff;
    - principal, school administrator: every member of the school;
    - other staff roles: the school's staff.

    Everybody may also reply to the people who wrote to them. Only logins with an active
    membership in the school are listed, and never the session's own login.
    """
    school_id = _require_school(scope)
    active = _active_member_ids(school_id)
    groups: list[_RawGroup] = []
    if scope.has_role(*WHOLE_SCHOOL_ROLES):
        groups += _whole_school_groups(school_id, active)
    else:
        if scope.has_role("parent", "student"):
            own_teachers = _own_teacher_groups(scope, active)
            if own_teachers is not None:
                groups.append(own_teachers)
        if scope.has_role("parent"):
            groups.append(_administration_group(school_id, active))
        if scope.has_role("teacher"):
            groups += _taught_class_groups(scope, active)
        if scope.has_role(*STAFF_ROLES):
            groups.append(_staff_group(school_id, active))
    listed = {user_id for group in groups for user_id in group.members}
    groups.append(_wrote_to_you_group(scope, active, listed))
    return _named_book(school_id, groups, exclude=scope.user_id)


def _named_book(school_id: int, groups: list[_RawGroup], exclude: int) -> AddressBook:
    """Name the members of the groups; a login listed in several groups stays in the first."""
    user_ids = {user_id for group in groups for user_id in group.members}
    names = PeopleNames(school_id, user_ids)
    placed = {exclude}
    book = []
    for group in groups:
        contacts = []
        for user_id, notes in group.members.items():
            if user_id in placed:
                continue
            placed.add(user_id)
            contacts.append(Contact(user_id, names.name(user_id, group.prefer), ", ".join(notes)))
        if contacts:
            contacts.sort(key=lambda contact: (contact.name.lower(), contact.user_id))
            book.append(ContactGroup(group.label, contacts))
    return AddressBook(book)


def _own_teacher_groups(scope: Scope, active) -> _RawGroup | None:
    """Teachers and class teachers of one's own children (parent) or of oneself (student).

    A parent of several children gets one group, with each note naming the child.
    """
    students = own_students(scope)
    if not students:
        return None
    several = len(students) > 1
    if students[0].user_id == scope.user_id:
        group = _RawGroup(_("My teachers"), prefer="employee")
    elif several:
        group = _RawGroup(_("Teachers of your children"), prefer="employee")
    else:
        group = _RawGroup(
            _("Teachers of %(student)s", student=_student_label(students[0])), prefer="employee"
        )
    for student in students:
        suffix = f" ({student.first_name})" if several else ""
        class_teacher = _class_teacher_user_id(student, active)
        group.add(class_teacher, _("class teacher") + suffix)
        taught = (
            select(Employee.user_id, Subject.name)
            .select_from(Course)
            .join(course_teacher, course_teacher.c.course_id == Course.id)
            .join(Employee, Employee.id == course_teacher.c.employee_id)
            .join(Subject, Subject.id == Course.subject_id)
            .where(
                Course.id.in_(student_courses(student)),
                Employee.is_active.is_(True),
                Employee.user_id.in_(active),
            )
            .order_by(Subject.name)
        )
        for user_id, subject in db.session.execute(taught):
            group.add(user_id, subject + suffix)
    return group


def _class_teacher_user_id(student: Student, active) -> int | None:
    school_class = student.school_class
    if school_class is None or school_class.class_teacher_id is None:
        return None
    return db.session.scalar(
        select(Employee.user_id).where(
            Employee.id == school_class.class_teacher_id,
            Employee.is_active.is_(True),
            Employee.user_id.in_(active),
        )
    )


def _administration_group(school_id: int, active) -> _RawGroup:
    role_codes = {ROLES[code].name: code for code in ADMINISTRATION_ROLES}
    statement = (
        select(Membership.user_id, Role.name)
        .join(membership_role, membership_role.c.membership_id == Membership.id)
        .join(Role, Role.id == membership_role.c.role_id)
        .where(
            Membership.school_id == school_id,
            Membership.user_id.in_(active),
            Role.name.in_(list(role_codes)),
        )
        .order_by(Role.name)
    )
    group = _RawGroup(_("Administration"), prefer="employee")
    for user_id, role_name in db.session.execute(statement):
        group.add(user_id, ROLES[role_codes[role_name]].label)
    return group


def _staff_group(school_id: int, active) -> _RawGroup:
    statement = select(Employee.user_id, Employee.position).where(
        Employee.school_id == school_id,
        Employee.is_active.is_(True),
        Employee.user_id.in_(active),
    )
    group = _RawGroup(_("Staff"), prefer="employee")
    for user_id, position in db.session.execute(statement):
        group.add(user_id, position)
    return group


def _class_sort_key(school_class: SchoolClass | None) -> tuple:
    if school_class is None:
        return (99, "")
    return (school_class.grade, school_class.name)


def _class_groups(students: list[Student], guardians: list[Guardian]) -> list[_RawGroup]:
    """Group students and parents by class: «Students of 5А», «Parents of 5А» …"""
    by_class: dict[int | None, tuple[SchoolClass | None, _RawGroup, _RawGroup]] = {}

    def groups_of(school_class):
        key = school_class.id if school_class is not None else None
        if key not in by_class:
            if school_class is None:
                labels = (_("Students without a class"), _("Parents of students without a class"))
            else:
                labels = (
                    _("Students of %(class_name)s", class_name=school_class.name),
                    _("Parents of %(class_name)s", class_name=school_class.name),
                )
            by_class[key] = (
                school_class,
                _RawGroup(labels[0], prefer="student"),
                _RawGroup(labels[1], prefer="guardian"),
            )
        return by_class[key]

    for student in students:
        groups_of(student.school_class)[1].add(student.user_id)
    for guardian in guardians:
        groups_of(guardian.student.school_class)[2].add(guardian.user_id)

    ordered = sorted(by_class.values(), key=lambda entry: _class_sort_key(entry[0]))
    return [
        group
        for _class, students_group, parents_group in ordered
        for group in (students_group, parents_group)
    ]


def _taught_class_groups(scope: Scope, active) -> list[_RawGroup]:
    """Students and parents of the classes and groups a teacher teaches or leads."""
    teacher_scope = Scope(
        user_id=scope.user_id,
        membership_id=scope.membership_id,
        level=scope.level,
        school_id=scope.school_id,
        role_codes=frozenset({"teacher"}),
    )
    taught = select(visible_students_query(teacher_scope).subquery().c.id)
    students = db.session.scalars(
        select(Student)
        .options(selectinload(Student.school_class))
        .where(
            Student.school_id == scope.school_id,
            Student.id.in_(taught),
            Student.user_id.in_(active),
        )
    ).all()
    guardians = db.session.scalars(
        select(Guardian)
        .options(selectinload(Guardian.student).selectinload(Student.school_class))
        .where(
            Guardian.school_id == scope.school_id,
            Guardian.student_id.in_(taught),
            Guardian.is_barred.is_(False),
            Guardian.user_id.in_(active),
        )
    ).all()
    return _class_groups(list(students), list(guardians))


def _whole_school_groups(school_id: int, active) -> list[_RawGroup]:
    """List every member of the school: administration, staff, students and parents by class."""
    # NOTE: every login of the school is one option of the compose form. A school of 1,000
    # students with two parent logins each gives about 3,000 options, an estimated few
    # hundred KB of HTML for the principal's browser.
    member_ids = set(db.session.scalars(active))
    groups = [_administration_group(school_id, active), _staff_group(school_id, active)]
    students = list(
        db.session.scalars(
            select(Student)
            .options(selectinload(Student.school_class))
            .where(Student.school_id == school_id, Student.user_id.in_(active))
        )
    )
    guardians = list(
        db.session.scalars(
            select(Guardian)
            .options(selectinload(Guardian.student).selectinload(Student.school_class))
            .where(Guardian.school_id == school_id, Guardian.user_id.in_(active))
        )
    )
    groups += _class_groups(students, guardians)

    named = {user_id for group in groups for user_id in group.members}
    others = _RawGroup(_("Other members of the school"))
    for user_id in sorted(member_ids - named):
        others.add(user_id)
    groups.append(others)
    return groups


def _wrote_to_you_group(scope: Scope, active, listed: set[int]) -> _RawGroup:
    """People outside the address book who sent the session a message: they get replies."""
    statement = (
        select(Message.sender_id)
        .join(MessageRecipient, MessageRecipient.message_id == Message.id)
        .where(
            Message.school_id == scope.school_id,
            Message.sent_at.is_not(None),
            Message.sender_id.in_(active),
            MessageRecipient.school_id == scope.school_id,
            MessageRecipient.user_id == scope.user_id,
        )
        .distinct()
    )
    group = _RawGroup(_("People who wrote to you"))
    for sender_id in db.session.scalars(statement):
        if sender_id not in listed:
            group.add(sender_id)
    return group


# --- Folders -------------------------------------------------------------------------------


@dataclass
class FolderRow:
    """One message as a folder lists it."""

    message: Message
    #: "sender" when the session wrote it, "recipient" when it received it.
    role: str
    unread: bool
    #: The sender for received messages, the recipients for own ones.
    people: str
    #: When the message was sent, or created for drafts.
    date: object


@dataclass
class FolderPage:
    folder: str
    rows: list[FolderRow]
    page: int
    pages: int
    total: int


@dataclass
class FolderCounts:
    """Unread messages per folder, and the number of drafts."""

    incoming_unread: int
    deleted_unread: int
    drafts: int

    @property
    def total_unread(self) -> int:
        return self.incoming_unread + self.deleted_unread


def _received(school_id: int, user_id: int):
    """Build a select() of the session's recipient rows of sent messages, with the message."""
    return (
        select(MessageRecipient, Message)
        .join(Message, Message.id == MessageRecipient.message_id)
        .where(
            MessageRecipient.school_id == school_id,
            MessageRecipient.user_id == user_id,
            MessageRecipient.purged.is_(False),
            Message.school_id == school_id,
            Message.sent_at.is_not(None),
        )
    )


def _own(school_id: int, user_id: int):
    return select(Message).where(
        Message.school_id == school_id,
        Message.sender_id == user_id,
        Message.sender_purged.is_(False),
    )


def unread_count(scope: Scope | None) -> int:
    """Count the unread messages of the incoming folder in one query."""
    school_id = _require_school(scope)
    # Every page's navbar shows this count, so it runs past the ORM, built once.
    params = {"school": school_id, "user": scope.user_id}
    return core_rows(db.session, _unread_count_statement(), params)[0][0] or 0


@built_once
def _unread_count_statement():
    """Build the navbar's count of unread messages, naming the school on the join itself."""
    school, user = bindparam("school"), bindparam("user")
    return (
        select(func.count(MessageRecipient.id))
        .join(Message, in_school(Message, Message.id == MessageRecipient.message_id, school))
        .where(
            MessageRecipient.school_id == school,
            MessageRecipient.user_id == user,
            MessageRecipient.read_at.is_(None),
            MessageRecipient.deleted_at.is_(None),
            MessageRecipient.purged.is_(False),
            Message.sent_at.is_not(None),
        )
    )


def folder_counts(scope: Scope) -> FolderCounts:
    school_id = _require_school(scope)
    unread = _received(school_id, scope.user_id).where(MessageRecipient.read_at.is_(None))
    drafts = _own(school_id, scope.user_id).where(
        Message.sent_at.is_(None), Message.sender_deleted_at.is_(None)
    )
    return FolderCounts(
        incoming_unread=_count(unread.where(MessageRecipient.deleted_at.is_(None))),
        deleted_unread=_count(unread.where(MessageRecipient.deleted_at.is_not(None))),
        drafts=_count(drafts),
    )


def _page_numbers(total: int, page: int) -> tuple[int, int]:
    pages = max(1, -(-total // PAGE_SIZE))
    return min(max(page, 1), pages), pages


def _count(statement) -> int:
    return db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0


def folder_page(scope: Scope, folder: str, page: int = 1) -> FolderPage:
    """Return one page of a folder, most recent first."""
    school_id = _require_school(scope)
    if folder not in FOLDERS:
        abort(404)
    user_id = scope.user_id
    if folder == "incoming":
        statement = _received(school_id, user_id).where(MessageRecipient.deleted_at.is_(None))
        total = _count(statement)
        page, pages = _page_numbers(total, page)
        pairs = db.session.execute(
            statement.order_by(Message.sent_at.desc(), Message.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        ).all()
        entries = [(message, "recipient", row) for row, message in pairs]
    elif folder in ("sent", "drafts"):
        statement = _own(school_id, user_id).where(Message.sender_deleted_at.is_(None))
        if folder == "sent":
            statement = statement.where(Message.sent_at.is_not(None))
            order = (Message.sent_at.desc(), Message.id.desc())
        else:
            statement = statement.where(Message.sent_at.is_(None))
            order = (Message.created_at.desc(), Message.id.desc())
        total = _count(statement)
        page, pages = _page_numbers(total, page)
        messages = db.session.scalars(
            statement.order_by(*order).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
        ).all()
        entries = [(message, "sender", None) for message in messages]
    else:
        entries, total, page, pages = _deleted_entries(school_id, user_id, page)
    return FolderPage(folder, _folder_rows(school_id, entries), page, pages, total)


def _deleted_union(school_id: int, user_id: int):
    """Build a subquery of (message id, deleted at) of received and own deleted messages."""
    received = (
        select(
            MessageRecipient.message_id.label("message_id"),
            MessageRecipient.deleted_at.label("deleted_at"),
        )
        .join(Message, Message.id == MessageRecipient.message_id)
        .where(
            MessageRecipient.school_id == school_id,
            MessageRecipient.user_id == user_id,
            MessageRecipient.deleted_at.is_not(None),
            MessageRecipient.purged.is_(False),
            Message.sent_at.is_not(None),
        )
    )
    own = select(
        Message.id.label("message_id"),
        Message.sender_deleted_at.label("deleted_at"),
    ).where(
        Message.school_id == school_id,
        Message.sender_id == user_id,
        Message.sender_deleted_at.is_not(None),
        Message.sender_purged.is_(False),
    )
    return union_all(received, own).subquery()


def _deleted_entries(school_id: int, user_id: int, page: int):
    """Received and own messages in the deleted folder, most recently deleted first."""
    both = _deleted_union(school_id, user_id)
    total = db.session.scalar(select(func.count()).select_from(both)) or 0
    page, pages = _page_numbers(total, page)
    ids = list(
        db.session.scalars(
            select(both.c.message_id)
            .order_by(both.c.deleted_at.desc(), both.c.message_id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    )

    messages = {
        m.id: m for m in db.session.scalars(select(Message).where(Message.id.in_(ids or [-1])))
    }
    rows = {
        r.message_id: r
        for r in db.session.scalars(
            select(MessageRecipient).where(
                MessageRecipient.school_id == school_id,
                MessageRecipient.user_id == user_id,
                MessageRecipient.message_id.in_(ids or [-1]),
            )
        )
    }

    # Nobody is among the recipients of their own message, so the sender decides the role.
    entries = []
    for message_id in ids:
        message = messages[message_id]
        if message.sender_id == user_id:
            entries.append((message, "sender", None))
        else:
            entries.append((message, "recipient", rows.get(message_id)))
    return entries, total, page, pages


def _folder_rows(school_id: int, entries) -> list[FolderRow]:
    user_ids = set()
    for message, role, _row in entries:
        if role == "recipient":
            user_ids.add(message.sender_id)
        else:
            user_ids.update(r.user_id for r in message.recipients[:NAMES_ON_ROW])
    names = PeopleNames(school_id, user_ids)
    rows = []
    for message, role, recipient_row in entries:
        if role == "recipient":
            people = names.name(message.sender_id)
        else:
            people = _recipient_summary(names, message.recipients)
        rows.append(
            FolderRow(
                message=message,
                role=role,
                unread=recipient_row is not None and recipient_row.read_at is None,
                people=people,
                date=message.sent_at or message.created_at,
            )
        )
    return rows


def _recipient_summary(names: PeopleNames, recipients) -> str:
    if not recipients:
        return "—"
    shown = ", ".join(names.name(r.user_id) for r in recipients[:NAMES_ON_ROW])
    more = len(recipients) - NAMES_ON_ROW
    if more > 0:
        return _("%(names)s and %(count)s more", names=shown, count=more)
    return shown


# --- One message and its thread ----------------------------------------------------------


def _participant_condition(school_id: int, user_id: int):
    """Build the WHERE condition on Message for the messages a login still sees."""
    received = select(MessageRecipient.message_id).where(
        MessageRecipient.school_id == school_id,
        MessageRecipient.user_id == user_id,
        MessageRecipient.purged.is_(False),
    )
    return or_(
        and_(Message.sender_id == user_id, Message.sender_purged.is_(False)),
        and_(Message.sent_at.is_not(None), Message.id.in_(received)),
    )


def visible_message_or_404(scope: Scope, message_id) -> Message:
    """Load a message the session wrote or received and still sees; any other id gives 404.

    Drafts are seen by their sender only.
    """
    school_id = _school_or_404(scope)
    message = scoped_get_or_404(Message, message_id, scope)
    visible = db.session.scalar(
        select(Message.id).where(
            Message.id == message.id,
            Message.school_id == school_id,
            _participant_condition(school_id, scope.user_id),
        )
    )
    if visible is None:
        abort(404)
    return message


def _recipient_row(message: Message, user_id: int) -> MessageRecipient | None:
    return db.session.scalar(
        select(MessageRecipient).where(
            MessageRecipient.school_id == message.school_id,
            MessageRecipient.message_id == message.id,
            MessageRecipient.user_id == user_id,
        )
    )


@dataclass
class ThreadEntry:
    """A message of a thread as the session sees it."""

    message: Message
    sender_name: str
    #: Every recipient for the session's own messages; for received ones only the
    #: session itself, because co-recipients (other parents) are not the reader's to see.
    recipient_names: list[str]
    other_recipients: int
    is_own: bool
    is_deleted: bool
    #: True when this page load marked the message read.
    was_unread: bool


@dataclass
class Thread:
    subject: str
    entries: list[ThreadEntry]
    #: The message whose link was opened.
    focus_id: int
    #: The session's drafts of replies in this thread.
    drafts: list[Message]


def open_thread(scope: Scope, message_id) -> Thread:
    """Return the thread of a message with the messages the session takes part in.

    The session's unread received messages of the thread are marked read and committed.
    Drafts are not threads: the caller opens them in the draft form.
    """
    message = visible_message_or_404(scope, message_id)
    if message.is_draft:
        abort(404)
    school_id, user_id = scope.school_id, scope.user_id
    root_id = message.root_id
    in_thread = or_(Message.id == root_id, Message.thread_id == root_id)
    messages = db.session.scalars(
        select(Message)
        .where(
            Message.school_id == school_id,
            in_thread,
            Message.sent_at.is_not(None),
            _participant_condition(school_id, user_id),
        )
        .order_by(Message.sent_at, Message.id)
    ).all()
    rows = {
        row.message_id: row
        for row in db.session.scalars(
            select(MessageRecipient).where(
                MessageRecipient.school_id == school_id,
                MessageRecipient.user_id == user_id,
                MessageRecipient.message_id.in_([m.id for m in messages] or [-1]),
            )
        )
    }
    entries = _thread_entries(school_id, user_id, messages, rows)
    drafts = db.session.scalars(
        _own(school_id, user_id)
        .where(
            Message.thread_id == root_id,
            Message.sent_at.is_(None),
            Message.sender_deleted_at.is_(None),
        )
        .order_by(Message.id)
    ).all()
    _mark_read(school_id, user_id, [row for row in rows.values() if row.read_at is None])
    mark_read_for_links(school_id, user_id, [thread_path(m) for m in messages])
    db.session.commit()
    root = next((m for m in messages if m.id == root_id), messages[0])
    return Thread(subject=root.subject, entries=entries, focus_id=message.id, drafts=drafts)


def _thread_entries(school_id, user_id, messages, rows) -> list[ThreadEntry]:
    user_ids = {user_id}
    for message in messages:
        user_ids.add(message.sender_id)
        if message.sender_id == user_id:
            user_ids.update(r.user_id for r in message.recipients)
    names = PeopleNames(school_id, user_ids)
    entries = []
    for message in messages:
        is_own = message.sender_id == user_id
        row = rows.get(message.id)
        if is_own:
            recipient_names = [names.name(r.user_id) for r in message.recipients]
            others = 0
            is_deleted = message.sender_deleted_at is not None
        else:
            recipient_names = [names.name(user_id)]
            others = len(message.recipients) - 1
            is_deleted = row is not None and row.deleted_at is not None
        entries.append(
            ThreadEntry(
                message=message,
                sender_name=names.name(message.sender_id),
                recipient_names=recipient_names,
                other_recipients=others,
                is_own=is_own,
                is_deleted=is_deleted,
                was_unread=row is not None and not is_own and row.read_at is None,
            )
        )
    return entries


def _mark_read(school_id: int, user_id: int, rows: list[MessageRecipient]) -> None:
    if not rows:
        return
    ids = [row.id for row in rows]
    db.session.execute(
        update(MessageRecipient)
        .where(
            MessageRecipient.school_id == school_id,
            MessageRecipient.user_id == user_id,
            MessageRecipient.id.in_(ids),
            MessageRecipient.read_at.is_(None),
        )
        .values(read_at=func.now())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    log.info("user %s read %s messages in school %s", user_id, len(ids), school_id)


# --- Composing, drafts and sending ----------------------------------------------------------


@dataclass
class MessageForm:
    """The values of the compose form, as typed; re-rendered unchanged after an error."""

    recipient_ids: list[int] = field(default_factory=list)
    subject: str = ""
    body: str = ""
    reply_to_id: int | None = None
    #: Attachments of a draft the writer ticked for removal.
    remove_attachment_ids: set[int] = field(default_factory=set)


def reply_subject(subject: str) -> str:
    """Return «Re: subject», without stacking prefixes on replies to replies."""
    subject = (subject or "").strip()
    if subject.lower().startswith(REPLY_PREFIX.lower().strip()):
        return subject[:SUBJECT_MAX_LENGTH]
    return (REPLY_PREFIX + subject)[:SUBJECT_MAX_LENGTH]


def reply_form(scope: Scope, message_id) -> MessageForm:
    """Prefill a reply: to the sender of a received message, or to the recipients of one's own."""
    original = visible_message_or_404(scope, message_id)
    if original.is_draft:
        abort(404)
    if original.sender_id == scope.user_id:
        recipients = [r.user_id for r in original.recipients]
    else:
        recipients = [original.sender_id] if original.sender_id is not None else []
    return MessageForm(
        recipient_ids=recipients,
        subject=reply_subject(original.subject),
        reply_to_id=original.id,
    )


def draft_or_404(scope: Scope, message_id) -> Message:
    """Load one of the session's drafts that is not in the deleted folder; else 404."""
    message = visible_message_or_404(scope, message_id)
    if (
        not message.is_draft
        or message.sender_id != scope.user_id
        or message.sender_deleted_at is not None
    ):
        abort(404)
    return message


def draft_form(draft: Message) -> MessageForm:
    return MessageForm(
        recipient_ids=[r.user_id for r in draft.recipients],
        subject=draft.subject,
        body=draft.body,
        reply_to_id=draft.reply_to_id,
    )


def reply_target_or_404(scope: Scope, reply_to_id) -> Message | None:
    """Load the message a reply replies to; an id the session may not see gives 404."""
    if reply_to_id is None:
        return None
    original = visible_message_or_404(scope, reply_to_id)
    if original.is_draft:
        abort(404)
    return original


def draft_reply_target(scope: Scope, draft: Message) -> Message | None:
    """Return the message a draft replies to, or None once the session no longer sees it."""
    if draft.reply_to_id is None:
        return None
    school_id = _school_or_404(scope)
    return db.session.scalar(
        select(Message).where(
            Message.id == draft.reply_to_id,
            Message.school_id == school_id,
            Message.sent_at.is_not(None),
            _participant_condition(school_id, scope.user_id),
        )
    )


def _validate(form: MessageForm, book: AddressBook, send: bool, attachment_count: int):
    errors = []
    unknown = [user_id for user_id in form.recipient_ids if user_id not in book.user_ids]
    if unknown:
        errors.append(
            _(
                "You cannot write to %(count)s of the chosen recipients: they are not in your "
                "address book. Choose recipients from the list.",
                count=len(unknown),
            )
        )
    if send and not form.recipient_ids:
        errors.append(_("Choose at least one recipient."))
    subject = form.subject.strip()
    body = form.body.strip()
    if send and not subject and not body:
        errors.append(_("The message is empty: type a subject or a text."))
    if not send and not subject and not body and not form.recipient_ids and not attachment_count:
        errors.append(_("The draft is empty: choose a recipient or type a subject or a text."))
    if len(subject) > SUBJECT_MAX_LENGTH:
        errors.append(
            _(
                "The subject is %(length)s characters long; the limit is %(limit)s. Shorten it.",
                length=len(subject),
                limit=SUBJECT_MAX_LENGTH,
            )
        )
    if len(form.body) > BODY_MAX_LENGTH:
        errors.append(
            _(
                "The text is %(length)s characters long; the limit is %(limit)s. Shorten it "
                "or attach it as a file.",
                length=len(form.body),
                limit=BODY_MAX_LENGTH,
            )
        )
    if attachment_count > MAX_ATTACHMENTS:
        errors.append(
            _(
                "%(count)s files are attached; a message may carry at most %(limit)s. "
                "Remove some of them.",
                count=attachment_count,
                limit=MAX_ATTACHMENTS,
            )
        )
    return errors


def _check_uploads(uploads) -> list[str]:
    errors = []
    for upload in uploads:
        try:
            check_upload(upload)
        except AttachmentError as error:
            errors.append(str(error))
    if errors:
        errors.append(_("Nothing was saved. Choose the accepted files again."))
    return errors


def save_message(
    scope: Scope,
    form: MessageForm,
    uploads: list,
    *,
    send: bool,
    draft: Message | None = None,
) -> Message:
    """Save a new message or a draft, and send it when ``send`` is set, in one transaction.

    Every recipient must be in the session's address book (:func:`allowed_recipients`),
    else :class:`MessageInputError` is raised and nothing is written. Each recipient of a
    sent message gets an in-app notice, and an e-mail when they opted in.
    """
    school_id = _require_school(scope)
    reply_to = reply_target_or_404(scope, form.reply_to_id) if draft is None else None
    book = allowed_recipients(scope)
    kept = [
        a for a in (draft.attachments if draft else []) if a.id not in form.remove_attachment_ids
    ]
    errors = _validate(form, book, send, len(kept) + len(uploads))
    errors += _check_uploads(uploads)
    if errors:
        raise MessageInputError(errors)

    message = draft or Message(school_id=school_id, sender_id=scope.user_id)
    if reply_to is not None:
        message.thread_id = reply_to.root_id
        message.reply_to_id = reply_to.id
    message.subject = form.subject.strip()
    message.body = form.body.rstrip()
    db.session.add(message)
    removed = _apply_removed_attachments(message, form.remove_attachment_ids)
    _apply_recipients(message, form.recipient_ids)
    db.session.flush()

    stored = []
    try:
        for upload in uploads:
            stored.append(store_upload(school_id, upload, scope.user_id, message_id=message.id))
        if send:
            message.sent_at = func.now()
            _notify_recipients(scope, message)
        db.session.commit()
    except (SQLAlchemyError, OSError):
        db.session.rollback()
        remove_files(stored)
        log.exception("message of user %s in school %s was not saved", scope.user_id, school_id)
        raise
    remove_files(removed)
    log.info(
        "user %s %s message %s in school %s: %s recipients, %s new files",
        scope.user_id,
        "sent" if send else "saved draft",
        message.id,
        school_id,
        len(form.recipient_ids),
        len(stored),
    )
    return message


def _apply_removed_attachments(message: Message, remove_ids: set[int]) -> list[Attachment]:
    removed = [a for a in message.attachments if a.id in remove_ids]
    for attachment in removed:
        message.attachments.remove(attachment)
    return removed


def _apply_recipients(message: Message, wanted_ids: list[int]) -> None:
    wanted = list(dict.fromkeys(wanted_ids))
    for row in list(message.recipients):
        if row.user_id not in wanted:
            message.recipients.remove(row)
    present = {row.user_id for row in message.recipients}
    for user_id in wanted:
        if user_id not in present:
            message.recipients.append(
                MessageRecipient(school_id=message.school_id, user_id=user_id)
            )


def thread_path(message: Message) -> str:
    return url_for("MessageView.thread", message_id=message.id)


def _notify_recipients(scope: Scope, message: Message) -> None:
    """Give each recipient a notice; the e-mail names sender and subject, never the text."""
    sender = PeopleNames(scope.school_id, [scope.user_id]).name(scope.user_id)
    school = db.session.get(School, scope.school_id)
    subject = message.subject or _("(no subject)")
    path = thread_path(message)
    url = public_url() + path
    text = _("New message from %(sender)s: «%(subject)s»", sender=sender, subject=subject)
    mail_subject = _("New message: %(subject)s", subject=subject)[:SUBJECT_MAX_LENGTH]
    mail_body = _(
        "%(sender)s sent you a message «%(subject)s» in %(school)s.\n\n"
        "Read it and reply: %(url)s\n\n"
        "The text of the message is not included in this e-mail; sign in to read it.",
        sender=sender,
        subject=subject,
        school=school.name,
        url=url,
    )
    # NOTE: the notice is written in the sender's language, as the recipient's locale
    # is not stored anywhere.
    for row in message.recipients:
        notify(
            scope.school_id,
            row.user_id,
            "message",
            text,
            path,
            mail_subject=mail_subject,
            mail_body=mail_body,
        )


# --- The deleted folder ------------------------------------------------------------------


def move_to_deleted(scope: Scope, message_id) -> Message:
    """Move a message to the session's deleted folder; others keep seeing it."""
    message = visible_message_or_404(scope, message_id)
    if message.sender_id == scope.user_id:
        if message.sender_deleted_at is None:
            message.sender_deleted_at = func.now()
    else:
        row = _recipient_row(message, scope.user_id)
        if row.deleted_at is None:
            row.deleted_at = func.now()
    db.session.commit()
    log.info("user %s deleted message %s", scope.user_id, message.id)
    return message


def restore(scope: Scope, message_id) -> Message:
    """Bring a message back from the deleted folder to the folder it came from."""
    message = visible_message_or_404(scope, message_id)
    if message.sender_id == scope.user_id:
        message.sender_deleted_at = None
    else:
        _recipient_row(message, scope.user_id).deleted_at = None
    db.session.commit()
    log.info("user %s restored message %s", scope.user_id, message.id)
    return message


def purge(scope: Scope, message_id) -> None:
    """Delete a message forever for the session: it leaves the deleted folder.

    The row itself is removed only when no participant sees it any more and no other
    message of its thread points at it.
    """
    message = visible_message_or_404(scope, message_id)
    if message.sender_id == scope.user_id:
        if message.sender_deleted_at is None:
            raise DomainError(_("Move the message to the deleted folder first."))
        message.sender_purged = True
    else:
        row = _recipient_row(message, scope.user_id)
        if row.deleted_at is None:
            raise DomainError(_("Move the message to the deleted folder first."))
        row.purged = True
    db.session.flush()
    files = _remove_unseen(message)
    db.session.commit()
    remove_files(files)
    log.info("user %s purged message %s", scope.user_id, message.id)


def _seen_by_anyone(message: Message) -> bool:
    if message.sender_id is not None and not message.sender_purged:
        return True
    if message.is_draft:
        return False
    return any(not row.purged for row in message.recipients)


def _referenced(message: Message) -> bool:
    return (
        db.session.scalar(
            select(Message.id)
            .where(
                Message.school_id == message.school_id,
                Message.id != message.id,
                or_(Message.thread_id == message.id, Message.reply_to_id == message.id),
            )
            .limit(1)
        )
        is not None
    )


def _remove_unseen(message: Message) -> list[Attachment]:
    """Delete the message, then the messages it replied to, while no participant sees them.

    Returns the attachments whose files are to be removed after the commit.
    """
    files = []
    candidates = [message]
    while candidates:
        current = candidates.pop()
        if _seen_by_anyone(current) or _referenced(current):
            continue
        parents = {current.reply_to_id, current.thread_id} - {None}
        files += list(current.attachments)
        db.session.delete(current)
        db.session.flush()
        log.info("message %s removed: no participant sees it", current.id)
        for parent_id in parents:
            parent = db.session.get(Message, parent_id)
            if parent is not None:
                candidates.append(parent)
    return files


# --- Attachments -------------------------------------------------------------------------------


def attachment_or_404(scope: Scope, message_id, attachment_id) -> Attachment:
    """Load an attachment of a message the session sees; a mismatched pair gives 404."""
    message = visible_message_or_404(scope, message_id)
    attachment = scoped_get_or_404(Attachment, attachment_id, scope)
    if attachment.message_id != message.id:
        abort(404)
    if not stored_path(attachment).is_file():
        log.warning("attachment %s of message %s: file missing", attachment.id, message.id)
        abort(404)
    return attachment
