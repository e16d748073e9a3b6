"""Session lifetime: an inactivity timeout per role, and the long session of «Запомнить меня».

A session ends after the inactivity timeout of its roles (``SESSION_IDLE_TIMEOUT``). A
student or parent who ticks «Запомнить меня на этом устройстве» at sign-in instead stays
signed in for ``REMEMBER_ME_DAYS`` from the sign-in. Both limits are checked on the
server at every request, and the cookie's own expiry follows the same limit.
"""

import datetime as dt
import logging
import time

from flask import current_app, flash, jsonify, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l
from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request
from flask_login import current_user, logout_user
from itsdangerous import BadSignature

from app.security.roles import CODE_BY_NAME
from app.security.scope import active_memberships, current_scope
from app.services import accounts

log = logging.getLogger(__name__)

#: Session keys: the last request's time, the end of a remembered session, and the
#: inactivity timeout the cookie's expiry is computed from (all in epoch seconds).
LAST_SEEN_KEY = "last_seen"
REMEMBER_UNTIL_KEY = "remember_until"
IDLE_SECONDS_KEY = "idle_seconds"
#: Set at sign-in while the login must still change the password it was given. Kept in the
#: signed session so that other requests need no query for it, so a reset made while the
#: login is signed in applies from its next sign-in.
PASSWORD_CHANGE_KEY = "must_change_password"

#: Endpoints that neither extend nor end a session.
UNTRACKED_ENDPOINTS = {"static", "appbuilder.static", "favicon", "health", "calendar_feed"}

#: Endpoints a login with a forced password change may still open.
PASSWORD_CHANGE_ENDPOINTS = UNTRACKED_ENDPOINTS | {
    "AccountPasswordView.change",
    "AccountPasswordView.save",
    "AuthDBView.login",
    "AuthDBView.logout",
    "LocaleView.index",
}

SESSION_ENDED = _l("Your session ended after a period of inactivity. Sign in again.")
PASSWORD_CHANGE_REQUIRED = _l(
    "Choose your own password first: the password you were given is temporary."
)


def idle_timeout(role_codes) -> int:
    """Return the inactivity timeout in seconds for a set of role codes: the shortest one."""
    timeouts = current_app.config["SESSION_IDLE_TIMEOUT"]
    default = timeouts["default"]
    return min((timeouts.get(code, default) for code in role_codes), default=default)


def login_role_codes(user) -> set[str]:
    """Return the role codes a login has in any of its active memberships or on the server."""
    codes = set()
    for membership in active_memberships(user):
        codes.update(CODE_BY_NAME.get(role.name, role.name) for role in membership.roles)
    return codes


def may_be_remembered(user) -> bool:
    """Tell whether every role of the login allows the long session (students, parents)."""
    codes = login_role_codes(user)
    return bool(codes) and codes <= current_app.config["REMEMBER_ME_ROLES"]


def start_session(user, remember: bool) -> bool:
    """Set up the session of a new sign-in and return whether it is a remembered one."""
    session.permanent = True
    now = int(time.time())
    session[LAST_SEEN_KEY] = now
    session.pop(REMEMBER_UNTIL_KEY, None)
    if accounts.must_change_password(user.id):
        session[PASSWORD_CHANGE_KEY] = True
    else:
        session.pop(PASSWORD_CHANGE_KEY, None)
    if remember and may_be_remembered(user):
        days = current_app.config["REMEMBER_ME_DAYS"]
        session[REMEMBER_UNTIL_KEY] = now + days * 24 * 60 * 60
        return True
    return False


def _session_expired(now: int) -> bool:
    remember_until = session.get(REMEMBER_UNTIL_KEY)
    if remember_until is not None:
        return now > remember_until
    timeout = idle_timeout(current_scope().role_codes)
    session[IDLE_SECONDS_KEY] = timeout
    last_seen = session.get(LAST_SEEN_KEY, now)
    return now - last_seen > timeout


def end_idle_session():
    """End a signed-in session past its inactivity timeout or its remembered days.

    Requests with an API token carry no session and are left to the token's own expiry.
    """
    if request.endpoint in UNTRACKED_ENDPOINTS or request.path.startswith("/api/"):
        return None
    if not current_user.is_authenticated:
        return None
    now = int(time.time())
    if _session_expired(now):
        log.info("Session of login %s ended after inactivity", current_user.id)
        locale = session.get("locale")
        logout_user()
        session.clear()
        if locale:
            session["locale"] = locale
        flash(str(SESSION_ENDED), "info")
        return redirect(url_for("AuthDBView.login"))
    session[LAST_SEEN_KEY] = now
    return None


def _token_login_must_change() -> bool:
    """Tell whether an API call carries the token of a login that must change its password.

    A token taken before the change (or by such a login at all) must not open the REST API
    that the session of the same login cannot reach. A missing or broken token is left to
    the API view, which refuses it with its own message.
    """
    try:
        verify_jwt_in_request(optional=True)
        identity = get_jwt_identity()
    except Exception:  # noqa: BLE001 - the API view reports a bad token itself
        return False
    if identity is None or not str(identity).isdigit():
        return False
    return accounts.must_change_password(int(identity))


def require_password_change():
    """Send a login that must change its given password to the change page, and nowhere else."""
    if request.endpoint in PASSWORD_CHANGE_ENDPOINTS:
        return None
    if request.path.startswith("/api/") and _token_login_must_change():
        return jsonify({"message": str(PASSWORD_CHANGE_REQUIRED)}), 403
    if not session.get(PASSWORD_CHANGE_KEY) or not current_user.is_authenticated:
        return None
    if request.path.startswith("/api/"):
        return jsonify({"message": str(PASSWORD_CHANGE_REQUIRED)}), 403
    return redirect(url_for("AccountPasswordView.change"))


def password_changed() -> None:
    """Let the session open every page once its login has chosen its own password."""
    session.pop(PASSWORD_CHANGE_KEY, None)


def longest_session_seconds(app) -> int:
    """Return the longest time any session may last, in seconds."""
    idle = max(app.config["SESSION_IDLE_TIMEOUT"].values())
    return max(idle, app.config["REMEMBER_ME_DAYS"] * 24 * 60 * 60)


class SchoolSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, with the expiry of each session's own limit.

    Flask checks a cookie's signature against one lifetime for every session. Here that
    lifetime is the longest one, and the request hooks above end shorter sessions.
    """

    def open_session(self, app, request):
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        try:
            data = serializer.loads(value, max_age=longest_session_seconds(app))
        except BadSignature:
            return self.session_class()
        return self.session_class(data)

    def get_expiration_time(self, app, session):
        if not session.permanent:
            return None
        remember_until = session.get(REMEMBER_UNTIL_KEY)
        if remember_until is not None:
            return dt.datetime.fromtimestamp(remember_until, dt.UTC)
        seconds = session.get(IDLE_SECONDS_KEY) or app.permanent_session_lifetime.total_seconds()
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
