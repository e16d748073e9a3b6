"""FAB's security manager, made to see only the roles of the session's membership."""

import logging

from flask import current_app, g, has_request_context, request
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import assoc_permissionview_role as role_link
from flask_login import current_user
from sqlalchemy import select

from app.security.login import LOCKED_UNTIL_ATTRIBUTE, AuthDBView
from app.security.scope import current_membership, current_scope
from app.services import accounts

log = logging.getLogger(__name__)

#: Menu items of reports that cover one school: a session outside a school (the server
#: administrator has every permission) would only reach their 404.
SCHOOL_ONLY_MENUS: set[str] = set()


def school_only_menu(name: str) -> None:
    """Hide the menu item ``name`` from sessions that do not work in a school."""
    SCHOOL_ONLY_MENUS.add(name)


def login_failed(response) -> bool:
    """Tell whether a response of the login form reports a failed sign-in.

    FAB redirects a wrong password back to the login page and renders an incomplete form
    again. A successful sign-in redirects elsewhere.
    """
    if response.status_code == 200:
        return True
    return response.status_code == 302 and "/login" in (response.location or "")


class SchoolSecurityManager(SecurityManager):
    """Permission checks use the roles of the current membership, not the user's own.

    A login may belong to several organisations with different roles; a session works in
    one of them, so the role × permission matrix must see that membership's roles only.
    """

    authdbview = AuthDBView

    def register_views(self):
        super().register_views()
        rate = current_app.config.get("LOGIN_FAILURE_LIMIT")
        if rate:
            self.limiter.limit(rate, methods=["POST"], deduct_when=login_failed)(
                self.auth_view.blueprint
            )

    def auth_user_db(self, username, password):
        """Check a login's password unless the login is locked, and count failures.

        A locked login is rejected before its password is checked, so even the right
        password fails. The end of the lock is left in ``g`` for the sign-in page. The
        REST login calls this method too, so the lock covers it.
        """
        user = self._find_login(username)
        if user is not None:
            until = accounts.locked_until(user.id)
            if until is not None:
                log.info("Sign-in of locked login %s rejected", user.id)
                setattr(g, LOCKED_UNTIL_ATTRIBUTE, until)
                return None

        signed_in = super().auth_user_db(username, password)
        if user is None or not user.is_active:
            return signed_in
        if signed_in is None:
            until = accounts.record_failure(user.id)
            if until is not None:
                setattr(g, LOCKED_UNTIL_ATTRIBUTE, until)
        else:
            accounts.record_success(user.id)
        return signed_in

    def reset_password(self, userid, password):
        """Set a password through FAB's own screens and lift the login's lock.

        FAB's server-level reset and its own-password form both come here, and a new
        password is how a locked-out person gets back in.
        """
        super().reset_password(userid, password)
        accounts.unlock(int(userid))
        self.session.commit()

    def _find_login(self, username):
        """Find a login by name or e-mail address, as FAB's own check does."""
        if not username:
            return None
        return self.find_user(username=username) or self.find_user(email=username)

    def get_user_roles(self, user):
        if not user.is_authenticated:
            return [self.get_public_role()]
        membership = current_membership(user)
        if membership is None:
            return []
        return list(membership.roles)

    def has_access(self, permission_name, view_name) -> bool:
        """Check a permission against the session's permission set, read once a request.

        FAB's own check resolves the user, the session's roles and a query for every
        call, and a page's menu makes some sixty calls. Requests without a signed-in,
        active user (the public role, API tokens) take FAB's path.
        """
        pairs = self.request_permissions()
        if pairs is None:
            return super().has_access(permission_name, view_name)
        return (permission_name, view_name) in pairs

    def request_permissions(self) -> frozenset | None:
        """Return the (permission, view) pairs of the signed-in session, or None without one."""
        if not has_request_context() or not current_user.is_authenticated:
            return None
        user = current_user._get_current_object()
        if not user.is_active:
            return None
        by_user = request.environ.setdefault("school.session_permissions", {})
        if user.id not in by_user:
            role_ids = [role.id for role in self.get_user_roles(user)]
            pairs = self._role_permission_pairs(tuple(sorted(role_ids)))
            scope = current_scope()
            if scope is None or scope.level != "school":
                pairs = pairs - {("menu_access", name) for name in SCHOOL_ONLY_MENUS}
            by_user[user.id] = pairs
        return by_user[user.id]

    def exist_permission_on_roles(self, view_name, permission_name, role_ids) -> bool:
        """Check a permission against the roles' permissions, read once a request.

        FAB asks the database once a check, and a page renders a menu of some sixty
        items, each one a check. The set is kept in the request's environ, not in ``g``:
        a test client may share one app context between requests of different users.
        """
        if not has_request_context():
            return super().exist_permission_on_roles(view_name, permission_name, role_ids)
        cache = request.environ.setdefault("school.permissions", {})
        key = tuple(sorted(role_ids))
        if key not in cache:
            cache[key] = self._role_permission_pairs(key)
        return (permission_name, view_name) in cache[key]

    def _role_permission_pairs(self, role_ids) -> frozenset:
        """Read every (permission, view) pair granted to the roles, in one query."""
        pv = self.permissionview_model
        rows = self.session.execute(
            select(self.permission_model.name, self.viewmenu_model.name)
            .select_from(pv)
            .join(self.permission_model, pv.permission_id == self.permission_model.id)
            .join(self.viewmenu_model, pv.view_menu_id == self.viewmenu_model.id)
            .join(role_link, role_link.c.permission_view_id == pv.id)
            .where(role_link.c.role_id.in_(role_ids))
        )
        return frozenset((permission, view) for permission, view in rows)
