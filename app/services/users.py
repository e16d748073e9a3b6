"""The school administrator's user management: logins, school roles, blocking, passwords.

Everything here works on the memberships of one school, the scope's. A school
administrator never sees or changes another organisation's membership of the same login,
and may grant only the school-level roles of :func:`school_role_codes`.
"""

import logging
import re
import secrets
import string
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask import abort, current_app
from flask_appbuilder.security.sqla.models import Role, User
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from app.errors import DomainError
from app.models import Employee, Guardian, LoginState, Membership, Student, db
from app.security.roles import ROLES, school_role_codes
from app.security.scope import Scope, apply_scope, scoped_get_or_404
from app.services import accounts

log = logging.getLogger(__name__)

#: Kinds of person a login can be made for, with their model and default role.
PERSON_KINDS = {
    "employee": (Employee, None),
    "student": (Student, "student"),
    "guardian": (Guardian, "parent"),
}

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")

#: Placeholder addresses of people without e-mail end in this reserved domain (RFC 2606),
#: which never delivers mail. FAB needs a unique, non-empty e-mail on every login.
PLACEHOLDER_DOMAIN = ".invalid"

#: Characters of a login name that a placeholder address keeps; others become dashes.
_PLACEHOLDER_UNSAFE = re.compile(r"[^a-z0-9._-]+")

#: Letters and digits of generated passwords, without look-alikes (0/O, 1/l/I).
PASSWORD_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
PASSWORD_LENGTH = 12


def _require_school(scope: Scope) -> int:
    if scope is None or scope.level != "school":
        raise DomainError(
            _(
                "Open a school first: users are managed inside one school. "
                "Choose it in the organisation menu."
            )
        )
    return scope.school_id


# --- Reading --------------------------------------------------------------------


@dataclass
class MembershipRow:
    """A membership of the school as the list shows it."""

    membership: Membership
    username: str
    person_name: str
    role_labels: list[str]
    is_active: bool
    #: End of the login's lock after failed sign-ins (naive UTC), or None.
    locked_until: object = None


def _person_names(school_id: int, user_ids: list[int]) -> dict[int, str]:
    """Map login ids to the full names of the school's people; a staff record wins over others."""
    names: dict[int, str] = {}
    if not user_ids:
        return names
    for model in (Guardian, Student, Employee):
        statement = select(model).where(model.school_id == school_id, model.user_id.in_(user_ids))
        for person in db.session.scalars(statement):
            names[person.user_id] = person.full_name
    return names


def role_label(role: Role) -> str:
    code = next((code for code, spec in ROLES.items() if spec.name == role.name), None)
    return str(ROLES[code].label) if code else role.name


#: Rows on one page of the school users list.
MEMBERSHIPS_PAGE_SIZE = 50


def list_memberships(
    scope: Scope,
    search: str = "",
    page: int = 1,
    page_size: int = MEMBERSHIPS_PAGE_SIZE,
    locked_only: bool = False,
) -> tuple[list[MembershipRow], int]:
    """Return one page of the school's memberships and the number of all that match.

    ``search`` matches the login name or the login's first or last name, ignoring case;
    ``locked_only`` keeps the logins locked now after failed sign-ins.
    """
    school_id = _require_school(scope)
    statement = apply_scope(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.school_id == school_id),
        Membership,
        scope,
    )
    pattern = search.strip().lower()
    if pattern:
        like = f"%{pattern}%"
        statement = statement.where(
            func.lower(User.username).like(like)
            | func.lower(User.last_name).like(like)
            | func.lower(User.first_name).like(like)
        )
    if locked_only:
        locked = select(LoginState.user_id).where(LoginState.locked_until > accounts.utc_now())
        statement = statement.where(User.id.in_(locked))
    total = db.session.scalar(select(func.count()).select_from(statement.subquery()))
    page = max(page, 1)
    statement = statement.order_by(User.username).offset((page - 1) * page_size).limit(page_size)
    pairs = db.session.execute(statement).all()
    user_ids = [user.id for _membership, user in pairs]
    names = _person_names(school_id, user_ids)
    locks = accounts.locks_of(user_ids)
    return [
        MembershipRow(
            membership=membership,
            username=user.username,
            person_name=names.get(user.id) or f"{user.last_name} {user.first_name}".strip(),
            role_labels=sorted(role_label(role) for role in membership.roles),
            is_active=membership.is_active,
            locked_until=locks.get(user.id),
        )
        for membership, user in pairs
    ], total


def get_membership(scope: Scope, membership_id) -> Membership:
    """Load a membership of the scope's school; for any other membership, abort with 404."""
    _require_school(scope)
    membership = scoped_get_or_404(Membership, membership_id, scope)
    if membership.school_id != scope.school_id:
        abort(404)
    return membership


@dataclass(frozen=True)
class PersonChoice:
    """A person of the school without a login, as ``kind:id`` for the form."""

    key: str
    kind: str
    name: str


def people_without_login(scope: Scope) -> list[PersonChoice]:
    """Staff, active students and guardians of the school that have no login yet."""
    _require_school(scope)
    choices = []
    for kind, (model, _role) in PERSON_KINDS.items():
        statement = apply_scope(select(model).where(model.user_id.is_(None)), model, scope)
        if model is Student:
            statement = statement.where(Student.is_active.is_(True))
        if model is Employee:
            statement = statement.where(Employee.is_active.is_(True))
        statement = statement.order_by(model.last_name, model.first_name, model.id)
        for person in db.session.scalars(statement):
            choices.append(
                PersonChoice(f"{kind}:{person.id}", kind, _person_choice_label(kind, person))
            )
    return choices


def _person_choice_label(kind: str, person) -> str:
    if kind == "student":
        class_name = person.school_class.name if person.school_class else "—"
        return _(
            "%(name)s, student of %(class_name)s", name=person.full_name, class_name=class_name
        )
    if kind == "guardian":
        return _(
            "%(name)s, parent of %(child)s", name=person.full_name, child=person.student.short_name
        )
    return _("%(name)s, staff", name=person.full_name)


def grantable_roles() -> list[Role]:
    """FAB roles of the school-level user types, in the order of the role table."""
    sm = current_app.appbuilder.sm
    roles = []
    for code in school_role_codes():
        role = sm.find_role(ROLES[code].name)
        if role is not None:
            roles.append(role)
    return roles


# --- Checks -----------------------------------------------------------------------


def resolve_role_ids(values) -> list[Role]:
    """Turn submitted role ids into school roles; anything else is a bad request (400).

    A forged id, for example of the server administrator or authority role, stops the
    whole change before anything is written.
    """
    allowed = {role.id: role for role in grantable_roles()}
    roles = []
    for value in values:
        if not str(value).isdigit() or int(value) not in allowed:
            log.warning("Rejected role id %r outside the school roles", value)
            abort(400)
        role = allowed[int(value)]
        if role not in roles:
            roles.append(role)
    return roles


def _check_username(username: str) -> str:
    username = (username or "").strip()
    if not USERNAME_PATTERN.match(username):
        raise DomainError(
            _(
                "The login %(username)s is invalid: use 3 to 64 Latin letters, digits, dots, "
                "dashes or underscores, starting with a letter or digit.",
                username=username,
            )
        )
    taken = db.session.scalar(
        select(func.count(User.id)).where(func.lower(User.username) == username.lower())
    )
    if taken:
        raise DomainError(
            _("The login %(username)s is already taken. Choose another login.", username=username)
        )
    return username


def is_placeholder(email: str | None) -> bool:
    """Tell whether an address is a placeholder in the reserved .invalid domain."""
    domain = (email or "").rpartition("@")[2].lower().rstrip(".")
    return domain == PLACEHOLDER_DOMAIN[1:] or domain.endswith(PLACEHOLDER_DOMAIN)


def _email_taken(addresses: list[str], except_user_id: int | None = None) -> bool:
    """Tell whether another login has one of the addresses, ignoring case."""
    statement = select(func.count(User.id)).where(
        func.lower(User.email).in_([address.lower() for address in addresses])
    )
    if except_user_id is not None:
        statement = statement.where(User.id != except_user_id)
    return bool(db.session.scalar(statement))


def placeholder_email(username: str, school_id: int, user_id: int | None = None) -> str:
    """Make a unique placeholder address in the .invalid domain for a login without e-mail.

    The address is ``<login>@school-<school id>.invalid``, with a counter after the login
    name when that is taken. ``user_id`` names the login the address is for, so that its
    own current placeholder counts as free.
    """
    name = _PLACEHOLDER_UNSAFE.sub("-", username.lower()).strip(".-") or f"user-{user_id}"
    candidate, counter = f"{name}@school-{school_id}{PLACEHOLDER_DOMAIN}", 2
    while _email_taken([candidate], user_id):
        candidate = f"{name}-{counter}@school-{school_id}{PLACEHOLDER_DOMAIN}"
        counter += 1
    return candidate


def check_email_address(email: str, user_id: int | None = None) -> str:
    """Validate an e-mail address typed by a person and return the form to store.

    The stored form has a lower-case domain in ASCII (an internationalised domain such as
    почта.рф becomes its xn-- form), so SMTP servers without SMTPUTF8 support accept it.
    The syntax is checked offline, without DNS. An address that a login other than
    ``user_id`` uses, in any letter case, is rejected with a message that does not say
    whose it is.
    """
    email = (email or "").strip()
    if is_placeholder(email):
        raise DomainError(
            _(
                "The e-mail address %(email)s is in the reserved .invalid domain, which "
                "receives no mail. Enter a real address or leave the field empty.",
                email=email,
            )
        )
    if not email.rpartition("@")[0].isascii():
        raise DomainError(
            _(
                "The e-mail address %(email)s has non-Latin letters before the @ sign, which "
                "mail servers often reject. Enter an address with Latin letters before the @.",
                email=email,
            )
        )
    try:
        validated = validate_email(email, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        raise DomainError(
            _(
                "The e-mail address %(email)s is invalid. Enter it as name@example.ru "
                "or leave it empty.",
                email=email,
            )
        ) from None

    # Older rows may contain a Unicode domain, so both spellings count as taken.
    if _email_taken([validated.ascii_email, validated.normalized], user_id):
        raise DomainError(_email_taken_message(email))
    return validated.ascii_email


def _email_taken_message(email: str) -> str:
    return _(
        "The e-mail address %(email)s already belongs to another login. "
        "Enter another address or leave it empty.",
        email=email,
    )


def resolve_email(email: str | None, username: str, school_id: int, user_id=None) -> str:
    """Return the checked address to store, or a new placeholder when the field is empty."""
    if (email or "").strip():
        return check_email_address(email, user_id)
    return placeholder_email(username, school_id, user_id)


def store_email(user: User, email: str | None, school_id: int) -> bool:
    """Check an address, store it on a login and return whether the address changed.

    An empty value puts back a placeholder in the .invalid domain. The change is flushed,
    so an address that another transaction stored in the meantime fails here, as a
    DomainError, on the database's unique constraint. The caller commits, or rolls back
    on a DomainError.
    """
    new_email = resolve_email(email, user.username, school_id, user.id)
    if new_email == user.email:
        return False
    user.email = new_email
    try:
        db.session.flush()
    except IntegrityError:
        # NOTE: the constraint compares exact strings, so only the check above catches
        # an address that differs from another login's in letter case alone.
        raise DomainError(_email_taken_message(new_email)) from None
    return True


def _person(scope: Scope, person_key: str):
    kind, _sep, person_id = (person_key or "").partition(":")
    if kind not in PERSON_KINDS:
        raise DomainError(
            _(
                "Choose the person the login is for: %(value)s is not one of the list.",
                value=person_key,
            )
        )
    model, default_role = PERSON_KINDS[kind]
    person = scoped_get_or_404(model, person_id, scope)
    if person.user_id is not None:
        raise DomainError(
            _("%(name)s already has a login. Reset its password instead.", name=person.full_name)
        )
    return kind, person, default_role


def generate_password() -> str:
    """Make a random initial password with a lower-case letter, a capital and a digit."""
    while True:
        password = "".join(secrets.choice(PASSWORD_ALPHABET) for _i in range(PASSWORD_LENGTH))
        if (
            any(c.islower() for c in password)
            and any(c.isupper() for c in password)
            and any(c.isdigit() for c in password)
        ):
            return password


def _hash(password: str) -> str:
    method = current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt")
    return generate_password_hash(password, method=method)


# --- Changes ----------------------------------------------------------------------


@dataclass(frozen=True)
class NewLogin:
    membership_id: int
    username: str
    email: str
    password: str


def create_login(
    scope: Scope, person_key: str, username: str, email: str | None, role_ids: list
) -> NewLogin:
    """Create a login for a person of the school, with a membership holding school roles.

    Students get the student role and guardians the parent role when no role is chosen.
    Returns the new login with its random initial password, which is stored only hashed.
    """
    school_id = _require_school(scope)
    roles = resolve_role_ids(role_ids)
    kind, person, default_role = _person(scope, person_key)
    username = _check_username(username)
    email = resolve_email(email, username, school_id)
    if not roles and default_role:
        roles = [current_app.appbuilder.sm.find_role(ROLES[default_role].name)]

    password = generate_password()
    user = current_app.appbuilder.sm.user_model(
        username=username,
        first_name=person.first_name,
        last_name=person.last_name,
        email=email,
        active=True,
        password=_hash(password),
    )
    db.session.add(user)
    db.session.flush()
    person.user_id = user.id
    membership = Membership(user_id=user.id, school_id=school_id, roles=roles, is_active=True)
    db.session.add(membership)
    accounts.require_password_change(user.id)
    db.session.commit()
    log.info(
        "User %s created login %s for %s %s in school %s",
        scope.user_id,
        user.id,
        kind,
        person.id,
        school_id,
    )
    return NewLogin(membership.id, username, email, password)


def set_roles(scope: Scope, membership_id, role_ids: list) -> Membership:
    """Replace the school roles of a membership; roles outside the school's are kept as they are."""
    membership = get_membership(scope, membership_id)
    roles = resolve_role_ids(role_ids)
    school_role_ids = {role.id for role in grantable_roles()}
    kept = [role for role in membership.roles if role.id not in school_role_ids]
    if membership.user_id == scope.user_id and not any(
        role.name == ROLES["school_admin"].name for role in roles
    ):
        raise DomainError(
            _(
                "You cannot take the school system administrator role from your own login: "
                "ask another administrator to do it."
            )
        )
    membership.roles = kept + roles
    db.session.commit()
    log.info(
        "User %s set roles %s on membership %s",
        scope.user_id,
        sorted(role.id for role in membership.roles),
        membership.id,
    )
    return membership


def set_active(scope: Scope, membership_id, active: bool) -> Membership:
    """Block or unblock a login in this school only; its other memberships stay as they are."""
    membership = get_membership(scope, membership_id)
    if membership.user_id == scope.user_id and not active:
        raise DomainError(_("You cannot block your own login. Ask another administrator to do it."))
    membership.is_active = active
    db.session.commit()
    log.info("User %s set membership %s active=%s", scope.user_id, membership.id, active)
    return membership


def reset_password(scope: Scope, membership_id) -> tuple[Membership, str]:
    """Give the login of a membership a new random password and return it.

    Logins that also work at the server or authority level are rejected with a
    DomainError, because their password is not the school's to change.
    """
    membership = get_membership(scope, membership_id)
    user = db.session.get(User, membership.user_id)
    if _works_above_school(user):
        raise DomainError(
            _(
                "The password of %(username)s cannot be reset here, because the login also "
                "works for the authority or the server. Ask the server administrator.",
                username=user.username,
            )
        )
    password = generate_password()
    user.password = _hash(password)
    # A reset is how a locked-out person gets back in, so it lifts the lock too.
    accounts.unlock(user.id)
    accounts.require_password_change(user.id)
    db.session.commit()
    log.info("User %s reset the password of login %s", scope.user_id, user.id)
    return membership, password


def lift_lock(scope: Scope, membership_id) -> Membership:
    """Lift the lock of a login of the school after failed sign-ins.

    Raises DomainError when the login is not locked.
    """
    membership = get_membership(scope, membership_id)
    if not accounts.unlock(membership.user_id):
        raise DomainError(_("The login is not locked: nothing to lift."))
    db.session.commit()
    log.info("User %s lifted the lock of login %s", scope.user_id, membership.user_id)
    return membership


def set_email(scope: Scope, membership_id, email: str | None) -> Membership:
    """Change the e-mail address of a login of the school; an empty value clears it.

    The same rules as for a password reset apply: logins that also work at the server
    or authority level are rejected, because their account is not the school's to change.
    On a DomainError nothing is committed, and the caller rolls back.
    """
    membership = get_membership(scope, membership_id)
    user = db.session.get(User, membership.user_id)
    if _works_above_school(user):
        raise DomainError(
            _(
                "The e-mail address of %(username)s cannot be changed here, because the login "
                "also works for the authority or the server. Ask the server administrator.",
                username=user.username,
            )
        )
    if store_email(user, email, scope.school_id):
        db.session.commit()
        log.info("User %s changed the e-mail address of login %s", scope.user_id, user.id)
    return membership


def _works_above_school(user: User) -> bool:
    """Tell whether a login also has server roles or an authority membership."""
    other_levels = db.session.scalar(
        select(func.count(Membership.id)).where(
            Membership.user_id == user.id, Membership.school_id.is_(None)
        )
    )
    return bool(user.roles or other_levels)
