"""Logins of one class's students and parents: creation for the whole class at once with a
login sheet, password resets and contacts.

The school administrator manages every class of the school. A class teacher manages only
the classes they lead, and only while the school setting «class teachers manage their
class's logins» is on. Any other class returns 404, like a class of another school.
Initial passwords exist in readable form only in the response that created them.
"""

import logging
import re
from dataclasses import dataclass

from flask import abort, current_app
from flask_appbuilder.security.sqla.models import User
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.demo.names import transliterate
from app.errors import DomainError
from app.models import (
    AcademicYear,
    Employee,
    Guardian,
    Membership,
    School,
    SchoolClass,
    Student,
    db,
)
from app.security.roles import CODE_BY_NAME, ROLES
from app.security.scope import Scope, apply_scope, scoped_get_or_404
from app.services import accounts, contacts, users

log = logging.getLogger(__name__)

#: Role codes of the logins a class teacher may reset and edit: families only, so that a
#: colleague who is also a parent of the class stays with the school administrator.
FAMILY_ROLES = frozenset({"student", "parent"})

#: A phone number as people type it: digits with an optional leading +, spaces,
#: brackets and dashes.
PHONE_PATTERN = re.compile(r"^\+?[0-9 ()\-]+$")
PHONE_MIN_DIGITS = 5
PHONE_MAX_DIGITS = 15


# --- Access ---------------------------------------------------------------------------


def _school(scope: Scope) -> School:
    users._require_school(scope)
    return db.session.get(School, scope.school_id)


def _leads_class(scope: Scope, school_class: SchoolClass) -> bool:
    """Tell whether the session's login is the class teacher of the class."""
    if school_class.class_teacher_id is None:
        return False
    teacher_user = db.session.scalar(
        select(Employee.user_id).where(
            Employee.id == school_class.class_teacher_id,
            Employee.school_id == school_class.school_id,
        )
    )
    return teacher_user is not None and teacher_user == scope.user_id


def may_manage(scope: Scope, school_class: SchoolClass) -> bool:
    """Tell whether the session may manage the logins of the class."""
    if scope.has_role("school_admin"):
        return True
    if not scope.has_role("teacher"):
        return False
    return _school(scope).class_teachers_manage_logins and _leads_class(scope, school_class)


def get_class(scope: Scope, class_id) -> SchoolClass:
    """Load a class whose logins the session manages; any other class aborts with 404."""
    users._require_school(scope)
    school_class = scoped_get_or_404(SchoolClass, class_id, scope)
    if not may_manage(scope, school_class):
        abort(404)
    return school_class


def manageable_classes(scope: Scope) -> list[SchoolClass]:
    """Return the classes of the school's open years whose logins the session manages."""
    users._require_school(scope)
    statement = apply_scope(
        select(SchoolClass)
        .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
        .where(AcademicYear.is_closed.is_(False))
        .order_by(SchoolClass.grade, SchoolClass.name),
        SchoolClass,
        scope,
    )
    return [c for c in db.session.scalars(statement) if may_manage(scope, c)]


# --- Reading --------------------------------------------------------------------------


@dataclass
class ClassPerson:
    """A student or a parent of the class, with their login if they have one."""

    kind: str  # "student" or "guardian"
    person: object
    username: str | None
    locked_until: object = None

    @property
    def role_label(self) -> str:
        return str(ROLES["student" if self.kind == "student" else "parent"].label)


def _students(school_class: SchoolClass, for_update: bool = False) -> list[Student]:
    statement = (
        select(Student)
        .where(
            Student.school_id == school_class.school_id,
            Student.class_id == school_class.id,
            Student.is_active.is_(True),
        )
        .order_by(Student.last_name, Student.first_name, Student.id)
    )
    if for_update:
        statement = statement.with_for_update()
    return list(db.session.scalars(statement))


def _guardians(school_class: SchoolClass, for_update: bool = False) -> list[Guardian]:
    statement = (
        select(Guardian)
        .join(Student, Student.id == Guardian.student_id)
        .where(
            Guardian.school_id == school_class.school_id,
            Student.class_id == school_class.id,
            Student.is_active.is_(True),
        )
        .order_by(Student.last_name, Student.first_name, Guardian.id)
    )
    if for_update:
        statement = statement.with_for_update(of=Guardian)
    return list(db.session.scalars(statement))


def class_people(school_class: SchoolClass) -> list[ClassPerson]:
    """Return the class's active students, each followed by their parents."""
    students = _students(school_class)
    guardians_by_student: dict[int, list[Guardian]] = {}
    for guardian in _guardians(school_class):
        guardians_by_student.setdefault(guardian.student_id, []).append(guardian)

    people = []
    for student in students:
        people.append(ClassPerson("student", student, None))
        people.extend(
            ClassPerson("guardian", g, None) for g in guardians_by_student.get(student.id, [])
        )

    user_ids = [p.person.user_id for p in people if p.person.user_id]
    names = dict(
        db.session.execute(select(User.id, User.username).where(User.id.in_(user_ids))).all()
    )
    locks = accounts.locks_of(user_ids)
    for entry in people:
        entry.username = names.get(entry.person.user_id)
        entry.locked_until = locks.get(entry.person.user_id)
    return people


# --- Bulk creation --------------------------------------------------------------------


@dataclass(frozen=True)
class SheetRow:
    """One slip of the login sheet: who, in which role, the login and its initial password."""

    name: str
    role: str
    class_name: str
    username: str
    password: str


@dataclass(frozen=True)
class LoginSheet:
    """The logins created in one request, with their initial passwords."""

    school_name: str
    class_name: str
    rows: list[SheetRow]


class UsernameMaker:
    """Make free logins from names: «Иванова Анна Петровна» → ivanovaap1, ivanovaap2, …"""

    def __init__(self):
        self.taken: set[str] = set()

    def make(self, person) -> str:
        initials = "".join(
            transliterate(part[:1]) for part in (person.first_name, person.middle_name) if part
        )
        base = re.sub(r"[^a-z0-9]", "", transliterate(person.last_name) + initials) or "user"
        self._load(base)
        number = 1
        while f"{base}{number}" in self.taken:
            number += 1
        username = f"{base}{number}"
        self.taken.add(username)
        return username

    def _load(self, base: str) -> None:
        existing = db.session.scalars(
            select(func.lower(User.username)).where(func.lower(User.username).like(f"{base}%"))
        )
        self.taken.update(existing)


def _family_key(guardian: Guardian) -> tuple:
    """Identify one parent across the rows of their children, for one login per parent."""
    return (
        guardian.full_name.lower(),
        (guardian.phone or "").strip(),
        (guardian.email or "").strip().lower(),
    )


def _new_login(school_id: int, person, role_code: str, maker: UsernameMaker, email=None):
    """Create a login with a membership of the role, flagged to change its password."""
    username = maker.make(person)
    try:
        address = users.check_email_address(email) if (email or "").strip() else None
    except DomainError:
        # A parent's address on file that is invalid or taken gets a placeholder, so one
        # bad address does not stop the whole class.
        address = None
    address = address or users.placeholder_email(username, school_id)
    password = users.generate_password()
    user = current_app.appbuilder.sm.user_model(
        username=username,
        first_name=person.first_name,
        last_name=person.last_name,
        email=address,
        active=True,
        password=users._hash(password),
    )
    db.session.add(user)
    db.session.flush()
    role = current_app.appbuilder.sm.find_role(ROLES[role_code].name)
    db.session.add(Membership(user_id=user.id, school_id=school_id, roles=[role], is_active=True))
    accounts.require_password_change(user.id)
    return user, password


def create_class_logins(scope: Scope, class_id) -> LoginSheet:
    """Create logins for every student and parent of the class without one, in one commit.

    Barred parents get none. A parent with several children in the class, recorded in
    one guardian row per child with the same name and contacts, gets one login. Returns
    the sheet with the initial passwords, which are stored only hashed.
    """
    school_class = get_class(scope, class_id)
    school = _school(scope)
    maker = UsernameMaker()
    rows = []
    # The rows are locked on PostgreSQL, so two runs at once cannot both give a person a login.
    for student in _students(school_class, for_update=True):
        if student.user_id is not None:
            continue
        user, password = _new_login(school.id, student, "student", maker)
        student.user_id = user.id
        rows.append(_sheet_row(student, "student", school_class, user.username, password))

    guardians = _guardians(school_class, for_update=True)
    # A parent who already has a login through one child's row gets it on the others.
    parent_logins = {_family_key(g): g.user_id for g in guardians if g.user_id is not None}
    for guardian in guardians:
        if guardian.user_id is not None or guardian.is_barred:
            continue
        key = _family_key(guardian)
        if key in parent_logins:
            guardian.user_id = parent_logins[key]
            continue
        user, password = _new_login(school.id, guardian, "parent", maker, guardian.email)
        guardian.user_id = user.id
        parent_logins[key] = user.id
        rows.append(_sheet_row(guardian, "parent", school_class, user.username, password))

    db.session.commit()
    log.info(
        "User %s created %s logins for class %s in school %s",
        scope.user_id,
        len(rows),
        school_class.id,
        school.id,
    )
    return LoginSheet(school.name, school_class.name, rows)


def _sheet_row(person, role_code, school_class, username, password) -> SheetRow:
    return SheetRow(
        name=person.full_name,
        role=str(ROLES[role_code].label),
        class_name=school_class.name,
        username=username,
        password=password,
    )


# --- One person -----------------------------------------------------------------------


def get_person(scope: Scope, class_id, kind: str, person_id):
    """Load a student or parent of a class the session manages; anything else is 404."""
    school_class = get_class(scope, class_id)
    if kind == "student":
        person = scoped_get_or_404(Student, person_id, scope)
        in_class = person.class_id == school_class.id
    elif kind == "guardian":
        person = scoped_get_or_404(Guardian, person_id, scope)
        in_class = person.student.class_id == school_class.id
    else:
        abort(404)
    if not in_class:
        abort(404)
    return school_class, person


def _family_login(person) -> User:
    """Return the person's login, when it works only as a student or parent.

    Raises DomainError for a person without a login, and for a login with staff or
    higher roles anywhere, whose password and address only the school administrator
    changes.
    """
    if person.user_id is None:
        raise DomainError(
            _(
                "%(name)s has no login yet. Create the class's logins first.",
                name=person.full_name,
            )
        )
    user = db.session.get(User, person.user_id)
    memberships = db.session.scalars(select(Membership).where(Membership.user_id == user.id))
    codes = {CODE_BY_NAME.get(role.name, role.name) for m in memberships for role in m.roles}
    if user.roles or not codes <= FAMILY_ROLES:
        raise DomainError(
            _(
                "The login %(username)s also works as staff, so only the school system "
                "administrator changes it.",
                username=user.username,
            )
        )
    return user


def reset_person_password(scope: Scope, class_id, kind: str, person_id) -> LoginSheet:
    """Give a student's or parent's login a new random password, lift its lock, and commit.

    Returns a one-slip sheet with the new password.
    """
    school_class, person = get_person(scope, class_id, kind, person_id)
    user = _family_login(person)
    password = users.generate_password()
    user.password = users._hash(password)
    accounts.unlock(user.id)
    accounts.require_password_change(user.id)
    db.session.commit()
    log.info("User %s reset the password of login %s", scope.user_id, user.id)
    role = "student" if kind == "student" else "parent"
    row = _sheet_row(person, role, school_class, user.username, password)
    return LoginSheet(_school(scope).name, school_class.name, [row])


def check_phone(phone: str) -> str | None:
    """Return a typed phone number trimmed, or None for an empty one.

    Raises DomainError for an invalid number.
    """
    phone = (phone or "").strip()
    if not phone:
        return None
    digits = sum(char.isdigit() for char in phone)
    if not PHONE_PATTERN.match(phone) or not PHONE_MIN_DIGITS <= digits <= PHONE_MAX_DIGITS:
        raise DomainError(
            _(
                "The phone number %(phone)s is invalid. Enter %(min)s to %(max)s digits, "
                "for example +7 912 345-67-89, or leave the field empty.",
                phone=phone,
                min=PHONE_MIN_DIGITS,
                max=PHONE_MAX_DIGITS,
            )
        )
    return phone


def update_contacts(scope: Scope, class_id, kind: str, person_id, phone: str, email: str):
    """Store the phone and e-mail of a student or parent of the class, and commit.

    The address goes to the person's record and, when the person has a login, to the
    login, which receives the notices. A student's phone is stored as +7XXXXXXXXXX. On
    DomainError nothing is committed and the caller rolls back.
    """
    _school_class, person = get_person(scope, class_id, kind, person_id)
    if kind == "student":
        person.phone = contacts.normalise_russian_phone(phone)
        person.email = contacts.check_email(email)
        if person.user_id is not None:
            users.store_email(_family_login(person), email, scope.school_id)
    else:
        person.phone = check_phone(phone)
        if person.user_id is not None:
            user = _family_login(person)
            users.store_email(user, email, scope.school_id)
        address = (email or "").strip()
        person.email = users.check_email_address(address, person.user_id) if address else None
    db.session.commit()
    log.info("User %s changed the contacts of %s %s", scope.user_id, kind, person.id)
    return person
