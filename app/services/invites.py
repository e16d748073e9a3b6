"""Invitations of an existing login to a school by a one-time code.

A person who already has a login (a teacher of another school, a parent with a child in
another school) makes a code in their own profile and gives it to the school system
administrator. The administrator types the login name and the code and chooses the school
roles, the children for a parent and the staff record for a teacher. The membership is then
created in the administrator's school. The code is eight characters from an alphabet
without look-alikes, valid for ``INVITE_CODE_HOURS``, single use and stored hashed. After
``INVITE_CODE_MAX_ATTEMPTS`` wrong codes for one login, its code stops working.

No page or message here reveals the login's other memberships to the school. Messages
name only the login and this school's records.
"""

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from flask import abort, current_app
from flask_appbuilder.security.sqla.models import Role, User
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from app.errors import DomainError
from app.models import Employee, Guardian, InviteCode, Membership, Student, db
from app.security.roles import ROLES
from app.security.scope import Scope, apply_scope, scoped_get_or_404
from app.services import accounts, users

log = logging.getLogger(__name__)

#: Capital Latin letters and digits without look-alikes (0/O, 1/I/L), so a code read out
#: over the phone or copied from a screen is typed right.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
INVITE_CODE_HOURS = 24
INVITE_CODE_MAX_ATTEMPTS = 5


# --- The person's side ------------------------------------------------------------------


def format_code(code: str) -> str:
    """Split a code in two halves for reading: «ABCD-EF23»."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def _normalise_typed_code(code: str) -> str:
    """Upper-case a typed code and drop the spaces and dashes people add."""
    return "".join(char for char in (code or "").upper() if char not in " -\t")


def issue_code(user_id: int, now: dt.datetime | None = None) -> tuple[str, dt.datetime]:
    """Make a new code for a login, replacing any earlier one, and commit.

    Returns the code, which exists in readable form only in this response, and the
    naive UTC time it expires at.
    """
    now = now or accounts.utc_now()
    code = "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))
    expires_at = now + dt.timedelta(hours=INVITE_CODE_HOURS)
    row = db.session.get(InviteCode, user_id)
    if row is None:
        row = InviteCode(user_id=user_id)
        db.session.add(row)
    row.code_hash = generate_password_hash(code)
    row.created_at = now
    row.expires_at = expires_at
    row.used_at = None
    row.failed_attempts = 0
    db.session.commit()
    log.info("Login %s made an invite code valid until %s UTC", user_id, expires_at)
    return code, expires_at


def valid_until(user_id: int, now: dt.datetime | None = None) -> dt.datetime | None:
    """Return when the login's current code expires, or None when it has no usable code."""
    now = now or accounts.utc_now()
    row = db.session.get(InviteCode, user_id)
    if row is None or not _is_usable(row, now):
        return None
    return row.expires_at


def _is_usable(row: InviteCode, now: dt.datetime) -> bool:
    return (
        row.used_at is None
        and row.expires_at > now
        and row.failed_attempts < INVITE_CODE_MAX_ATTEMPTS
    )


# --- The school's side ------------------------------------------------------------------


@dataclass(frozen=True)
class Invitation:
    """An administrator's request: the login, its code and what to give it in the school."""

    username: str
    code: str
    role_ids: list
    student_ids: list
    employee_id: str = ""


def invitable_students(scope: Scope) -> list[Student]:
    """Active students of the scope's school, for the parent's choice of children."""
    users._require_school(scope)
    statement = apply_scope(
        select(Student)
        .where(Student.is_active.is_(True))
        .order_by(Student.last_name, Student.first_name, Student.id),
        Student,
        scope,
    )
    return list(db.session.scalars(statement))


def invitable_employees(scope: Scope) -> list[Employee]:
    """Active staff records of the scope's school that no login is linked to."""
    users._require_school(scope)
    statement = apply_scope(
        select(Employee)
        .where(Employee.is_active.is_(True), Employee.user_id.is_(None))
        .order_by(Employee.last_name, Employee.first_name, Employee.id),
        Employee,
        scope,
    )
    return list(db.session.scalars(statement))


def _find_login(username: str) -> User | None:
    name = (username or "").strip().lower()
    if not name:
        return None
    return db.session.scalars(select(User).where(func.lower(User.username) == name)).first()


def _no_code_message(username: str) -> str:
    return _(
        "No invitation code is waiting for the login %(username)s. Check the login name, "
        "and ask the person to open their profile and make a code.",
        username=username,
    )


def _check_code(user: User, username: str, code: str, now: dt.datetime) -> InviteCode:
    """Return the login's code row when ``code`` matches it; otherwise raise DomainError.

    A wrong code is counted and committed before the error is raised, so the limit applies
    even though the caller rolls back.
    """
    statement = select(InviteCode).where(InviteCode.user_id == user.id).with_for_update()
    row = db.session.scalars(statement).first()
    if row is None:
        raise DomainError(_no_code_message(username))
    if row.used_at is not None:
        raise DomainError(
            _(
                "The code of the login %(username)s has already been used. Ask the person "
                "to make a new code in their profile.",
                username=username,
            )
        )
    if row.failed_attempts >= INVITE_CODE_MAX_ATTEMPTS:
        raise DomainError(
            _(
                "The code of the login %(username)s no longer works after %(count)s wrong "
                "codes. Ask the person to make a new code in their profile.",
                username=username,
                count=INVITE_CODE_MAX_ATTEMPTS,
            )
        )
    if row.expires_at <= now:
        raise DomainError(
            _(
                "The code of the login %(username)s has expired: a code is valid for "
                "%(hours)s hours. Ask the person to make a new code in their profile.",
                username=username,
                hours=INVITE_CODE_HOURS,
            )
        )
    if check_password_hash(row.code_hash, _normalise_typed_code(code)):
        return row

    row.failed_attempts += 1
    left = INVITE_CODE_MAX_ATTEMPTS - row.failed_attempts
    db.session.commit()
    log.warning("Wrong invite code for login %s, %s attempts left", user.id, left)
    if left <= 0:
        raise DomainError(
            _(
                "The code %(code)s is wrong, and the code of this login no longer works. "
                "Ask the person to make a new code in their profile.",
                code=code,
            )
        )
    raise DomainError(
        ngettext(
            "The code %(code)s is wrong. Check it with the person: %(num)s attempt is left.",
            "The code %(code)s is wrong. Check it with the person: %(num)s attempts are left.",
            left,
            code=code,
        )
    )


def _chosen_roles(invitation: Invitation, students: list, employee) -> list[Role]:
    """Return the chosen school roles, or the parent or teacher role for an empty choice."""
    roles = users.resolve_role_ids(invitation.role_ids)
    if roles:
        return roles
    sm = current_app.appbuilder.sm
    if students:
        roles.append(sm.find_role(ROLES["parent"].name))
    if employee is not None:
        roles.append(sm.find_role(ROLES["teacher"].name))
    if not roles:
        raise DomainError(
            _("Choose the roles of the login in this school, or the children or staff record.")
        )
    return roles


def _chosen_employee(scope: Scope, employee_id) -> Employee | None:
    if not str(employee_id or "").strip():
        return None
    employee = scoped_get_or_404(Employee, employee_id, scope)
    if employee.user_id is not None:
        raise DomainError(
            _(
                "The staff record of %(name)s is already linked to a login. Choose another "
                "record or none.",
                name=employee.full_name,
            )
        )
    return employee


def _chosen_students(scope: Scope, student_ids) -> list[Student]:
    students = []
    for student_id in student_ids:
        student = scoped_get_or_404(Student, student_id, scope)
        if not student.is_active:
            abort(404)
        if student not in students:
            students.append(student)
    return students


def _link_guardian(school_id: int, student: Student, user: User) -> Guardian:
    """Link the login to the student's guardian record of the same name, or add a record.

    A record of the same surname and first name without a login is taken for the same
    parent, entered by the secretary. Otherwise the parent gets a new record with the
    login's name.
    """
    records = db.session.scalars(
        select(Guardian).where(Guardian.school_id == school_id, Guardian.student_id == student.id)
    ).all()
    for record in records:
        if record.user_id == user.id:
            return record
    for record in records:
        same_name = (record.last_name or "").lower() == (user.last_name or "").lower() and (
            record.first_name or ""
        ).lower() == (user.first_name or "").lower()
        if record.user_id is None and same_name:
            record.user_id = user.id
            return record
    guardian = Guardian(
        school_id=school_id,
        student_id=student.id,
        user_id=user.id,
        last_name=user.last_name,
        first_name=user.first_name,
        kind="guardian",
    )
    db.session.add(guardian)
    return guardian


def accept_invitation(
    scope: Scope, invitation: Invitation, now: dt.datetime | None = None
) -> Membership:
    """Give an existing login a membership in the scope's school by its code, and commit.

    Raises DomainError for an unknown login, a wrong, used or expired code, a login that
    is already a member of the school, or an empty choice of roles. Ids of students or
    staff records outside the school abort with 404.
    """
    school_id = users._require_school(scope)
    now = now or accounts.utc_now()
    students = _chosen_students(scope, invitation.student_ids)
    employee = _chosen_employee(scope, invitation.employee_id)
    roles = _chosen_roles(invitation, students, employee)

    username = (invitation.username or "").strip()
    user = _find_login(username)
    if user is None:
        raise DomainError(_no_code_message(username))
    row = _check_code(user, username, invitation.code, now)
    existing = db.session.scalar(
        select(Membership.id).where(
            Membership.user_id == user.id, Membership.school_id == school_id
        )
    )
    if existing is not None:
        raise DomainError(
            _(
                "The login %(username)s is already a user of this school. Change its roles "
                "on its page in the list of users.",
                username=user.username,
            )
        )

    row.used_at = now
    membership = Membership(user_id=user.id, school_id=school_id, roles=roles, is_active=True)
    db.session.add(membership)
    for student in students:
        _link_guardian(school_id, student, user)
    if employee is not None:
        employee.user_id = user.id
    db.session.commit()
    log.info(
        "User %s added login %s to school %s by invite code: membership %s, students %s, "
        "employee %s",
        scope.user_id,
        user.id,
        school_id,
        membership.id,
        [student.id for student in students],
        employee.id if employee is not None else None,
    )
    return membership
