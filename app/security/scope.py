"""Tenancy: the current user's scope and the one place that applies it to queries.

Every lookup of school data, in generated views, REST APIs, dropdowns and custom pages,
goes through :func:`apply_scope`, so an id of another school is simply not found.
"""

from dataclasses import dataclass
from itertools import groupby
from typing import NamedTuple

from flask import abort, g, has_request_context, request, session
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.sqla.models import Role, assoc_user_role
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import bindparam, false, literal, literal_column, null, select, union_all

from app.models import (
    EducationAuthority,
    Membership,
    School,
    db,
    is_school_owned,
    membership_role,
)
from app.security.criteria import built_once, core_rows
from app.security.roles import CODE_BY_NAME

MEMBERSHIP_SESSION_KEY = "membership_id"
MEMBERSHIP_HEADER = "X-Membership"
#: The environ key of the memberships a request has read (see ``active_memberships``).
MEMBERSHIPS_ENVIRON_KEY = "school.memberships"
#: The id of the server membership, which FAB's user roles make.
SERVER_MEMBERSHIP_ID = 0


@dataclass(frozen=True)
class Scope:
    """The current session's view of the data: one organisation and its roles there."""

    user_id: int | None
    membership_id: int | None
    level: str  # "school", "authority", "server" or "none"
    school_id: int | None = None
    authority_id: int | None = None
    role_codes: frozenset = frozenset()

    def has_role(self, *codes: str) -> bool:
        return any(code in self.role_codes for code in codes)


NO_SCOPE = Scope(user_id=None, membership_id=None, level="none")


class RoleRef(NamedTuple):
    """A role held in a membership, with what the permission checks read of it."""

    id: int
    name: str


@dataclass(frozen=True)
class ActiveMembership:
    """A membership a login may work in, as a request reads it: ids, roles and a name.

    Server-wide roles (the server administrator) stay in FAB's user-role table, so FAB's
    own commands such as ``flask fab create-admin`` give a working login. Those roles make
    the server membership, with id 0. School and authority roles live in
    :class:`Membership` rows, where a school cannot reach them.
    """

    id: int
    user_id: int
    school_id: int | None
    authority_id: int | None
    roles: tuple[RoleRef, ...]
    #: The school's or the authority's name; None for the server membership.
    organisation: str | None

    # The model's own rule: "school", "authority" or "server".
    level = Membership.level

    def organisation_name(self) -> str:
        return self.organisation or str(_l("Server"))

    def __str__(self) -> str:
        return self.organisation_name()


def active_memberships(user) -> list[ActiveMembership]:
    """Return the memberships a login may work in, ordered for the chooser.

    A request needs them several times (the scope, the organisation check, the menu), so the
    list is kept for the request; ``forget_cached_scope`` drops it after a change.
    """
    if user is None or not getattr(user, "is_active", False):
        return []
    if not has_request_context():
        return _read_memberships(user)
    by_user = request.environ.setdefault(MEMBERSHIPS_ENVIRON_KEY, {})
    if user.id not in by_user:
        by_user[user.id] = _read_memberships(user)
    return by_user[user.id]


@built_once
def _memberships_statement():
    """Build the one statement that reads a login's memberships, roles and names.

    Every request reads them. As three ORM loads (the memberships, their roles, the
    login's server roles), they took the journal page about 1 ms more CPU.
    """
    user = bindparam("user")
    memberships = (
        select(
            Membership.id,
            Membership.school_id,
            Membership.authority_id,
            Role.id.label("role_id"),
            Role.name.label("role_name"),
            School.name.label("school_name"),
            EducationAuthority.short_name.label("authority_short_name"),
            EducationAuthority.name.label("authority_name"),
        )
        .select_from(Membership)
        .outerjoin(membership_role, membership_role.c.membership_id == Membership.id)
        .outerjoin(Role, Role.id == membership_role.c.role_id)
        .outerjoin(School, School.id == Membership.school_id)
        .outerjoin(EducationAuthority, EducationAuthority.id == Membership.authority_id)
        .where(Membership.user_id == user, Membership.is_active.is_(True))
    )
    server_roles = (
        select(
            literal(SERVER_MEMBERSHIP_ID),
            null(),
            null(),
            Role.id,
            Role.name,
            null(),
            null(),
            null(),
        )
        .select_from(assoc_user_role)
        .join(Role, Role.id == assoc_user_role.c.role_id)
        .where(assoc_user_role.c.user_id == user)
    )
    return union_all(memberships, server_roles).order_by(literal_column("1"), literal_column("4"))


def _read_memberships(user) -> list[ActiveMembership]:
    """Read the active memberships of a login, the server one (id 0) first."""
    rows = core_rows(db.session, _memberships_statement(), {"user": user.id})
    memberships = []
    for membership_id, group in groupby(rows, key=lambda row: row[0]):
        group = list(group)
        first = group[0]
        memberships.append(
            ActiveMembership(
                id=membership_id,
                user_id=user.id,
                school_id=first.school_id,
                authority_id=first.authority_id,
                roles=tuple(RoleRef(r.role_id, r.role_name) for r in group if r.role_id),
                organisation=first.school_name
                or first.authority_short_name
                or first.authority_name,
            )
        )
    return memberships


def _requested_membership_id(memberships: list[ActiveMembership]) -> int | None:
    """Return the requested membership id: session choice, header, or the only one."""
    chosen = session.get(MEMBERSHIP_SESSION_KEY)
    if chosen is None:
        header = request.headers.get(MEMBERSHIP_HEADER)
        chosen = int(header) if header and header.isdigit() else None
    if chosen is None and len(memberships) == 1:
        chosen = memberships[0].id
    return chosen


def _request_user():
    user = getattr(g, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return user
    if current_user and current_user.is_authenticated:
        return current_user
    return None


def current_membership(user=None) -> ActiveMembership | None:
    """Return the membership of the current request, or None when none is chosen."""
    if not has_request_context():
        return None
    user = user or _request_user()
    if user is None:
        return None
    cached = g.get("_membership_cache")
    if cached is not None and cached[0] == user.id:
        return cached[1]

    memberships = active_memberships(user)
    wanted = _requested_membership_id(memberships)
    membership = next((m for m in memberships if m.id == wanted), None)
    g._membership_cache = (user.id, membership)
    return membership


def scope_of(membership: ActiveMembership | Membership | None, user_id: int | None) -> Scope:
    if membership is None:
        return Scope(user_id=user_id, membership_id=None, level="none")
    codes = frozenset(CODE_BY_NAME.get(role.name, role.name) for role in membership.roles)
    return Scope(
        user_id=user_id,
        membership_id=membership.id,
        level=membership.level,
        school_id=membership.school_id,
        authority_id=membership.authority_id,
        role_codes=codes,
    )


def current_scope() -> Scope | None:
    """Return the scope of the current request, or None outside requests (commands, jobs)."""
    if not has_request_context():
        return None
    user = _request_user()
    user_id = user.id if user else None
    cached = g.get("_scope")
    # The cache is checked against the user because a test client reuses an app context
    # (and so ``g``) across requests of different users.
    if cached is not None and cached.user_id == user_id:
        return cached
    g.pop("_membership_cache", None)
    scope = scope_of(current_membership(user), user_id)
    g._scope = scope
    return scope


def forget_cached_scope() -> None:
    """Drop the scope kept for this request, after the membership has changed."""
    g.pop("_scope", None)
    g.pop("_membership_cache", None)
    if has_request_context():
        request.environ.pop(MEMBERSHIPS_ENVIRON_KEY, None)


def scope_condition(model, scope: Scope | None):
    """Build the WHERE condition that keeps a query of ``model`` inside ``scope``.

    Returns None when nothing needs filtering: trusted code outside a request, the
    server level, and models that are not organisation data.
    """
    if scope is None:
        return None
    if model is School:
        return _school_condition(scope)
    if model is EducationAuthority:
        return _authority_condition(scope)
    if model is Membership:
        return _membership_condition(scope)
    if is_school_owned(model):
        if scope.level == "server":
            return None
        if scope.level == "school":
            return model.school_id == scope.school_id
        return false()
    return None


def _school_condition(scope: Scope):
    if scope.level == "server":
        return None
    if scope.level == "authority":
        return School.authority_id == scope.authority_id
    if scope.level == "school":
        return School.id == scope.school_id
    return false()


def _authority_condition(scope: Scope):
    if scope.level == "server":
        return None
    if scope.level == "authority":
        return EducationAuthority.id == scope.authority_id
    if scope.level == "school":
        owner = select(School.authority_id).where(School.id == scope.school_id)
        return EducationAuthority.id == owner.scalar_subquery()
    return false()


def _membership_condition(scope: Scope):
    if scope.level == "server":
        return None
    if scope.level == "school":
        return Membership.school_id == scope.school_id
    return false()


def apply_scope(query, model, scope: Scope | None = None):
    """Filter a legacy Query or a select() of ``model`` to the current scope."""
    scope = current_scope() if scope is None else scope
    condition = scope_condition(model, scope)
    if condition is None:
        return query
    return query.where(condition) if hasattr(query, "where") else query.filter(condition)


def scoped_get_or_404(model, object_id, scope: Scope | None = None):
    """Load one object by id inside the current scope; outside it or missing, 404."""
    try:
        object_id = int(object_id)
    except (TypeError, ValueError):
        abort(404)
    statement = apply_scope(select(model).where(model.id == object_id), model, scope)
    obj = db.session.scalars(statement).first()
    if obj is None:
        abort(404)
    return obj


class ScopedSQLAInterface(SQLAInterface):
    """FAB's data interface with the tenancy filter applied to every query and get.

    FAB's list, show, edit, delete, actions, REST and related dropdowns all read through
    ``_apply_inner_all`` or ``get_related_interface``, so scoping here covers them all.
    """

    def _apply_inner_all(self, query, filters=None, *args, **kwargs):
        query = apply_scope(query, self.obj)
        return super()._apply_inner_all(query, filters, *args, **kwargs)

    def get_related_obj(self, col_name, value):
        """Return the related row of this school with the id ``value``, or None.

        A relation filter in the URL (``?_flt_0_student=10``) passes the id as text, which
        PostgreSQL does not compare with an integer column, so it is converted here.
        """
        model = self.get_related_model(col_name)
        try:
            row_id = int(value)
        except (TypeError, ValueError):
            return None
        statement = apply_scope(select(model).where(model.id == row_id), model)
        return self.session.scalars(statement).first()
