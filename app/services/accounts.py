"""Sign-in failures, the lock-out of a login, and the forced password change.

A login is locked for ``LOGIN_LOCK_MINUTES`` after ``LOGIN_LOCK_FAILURES`` failed sign-ins
counted within ``LOGIN_LOCK_WINDOW_MINUTES``. The per-address limit of the login form is
separate and stays. The counters change in single UPDATE statements, so concurrent failed
sign-ins of one login are all counted. PostgreSQL makes a second UPDATE of the row wait for
the first and then applies it to the first one's result, and SQLite runs one writer at a time.
"""

import datetime as dt
import logging

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from werkzeug.security import check_password_hash, generate_password_hash

from app.errors import FormErrors
from app.models import LoginState, db
from app.services.dates import format_local_time

log = logging.getLogger(__name__)


def utc_now() -> dt.datetime:
    """Return the current time as naive UTC, the form the schema stores."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def local_time_label(moment: dt.datetime) -> str:
    """Format a naive UTC time for people, in the deployment's TIMEZONE: «05.12.2026 14:35»."""
    return format_local_time(moment)


def _ensure_state(user_id: int) -> None:
    """Insert the login's state row unless it exists, which is safe when two requests race."""
    insert = (
        postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    )
    statement = (
        insert(LoginState)
        .values(user_id=user_id)
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    db.session.execute(statement)


def _update(user_id: int):
    return (
        update(LoginState)
        .where(LoginState.user_id == user_id)
        .execution_options(synchronize_session=False)
    )


# --- Lock-out -------------------------------------------------------------------------


def locked_until(user_id: int, now: dt.datetime | None = None) -> dt.datetime | None:
    """Return the end of the login's lock, or None when the login is not locked now."""
    now = now or utc_now()
    until = db.session.scalar(select(LoginState.locked_until).where(LoginState.user_id == user_id))
    return until if until is not None and until > now else None


def record_failure(user_id: int, now: dt.datetime | None = None) -> dt.datetime | None:
    """Count a failed sign-in of a login, lock it when the limit is reached, and commit.

    Returns the end of the lock when this failure locked the login, otherwise None. A
    failure older than the window starts the count again at one.
    """
    config = current_app.config
    now = now or utc_now()
    window_start = now - dt.timedelta(minutes=config["LOGIN_LOCK_WINDOW_MINUTES"])
    _ensure_state(user_id)

    restart = or_(LoginState.failures_since.is_(None), LoginState.failures_since < window_start)
    db.session.execute(
        _update(user_id).values(
            failed_count=case((restart, 1), else_=LoginState.failed_count + 1),
            failures_since=case((restart, now), else_=LoginState.failures_since),
        )
    )
    count = db.session.scalar(select(LoginState.failed_count).where(LoginState.user_id == user_id))
    until = None
    if count >= config["LOGIN_LOCK_FAILURES"]:
        until = now + dt.timedelta(minutes=config["LOGIN_LOCK_MINUTES"])
        # The count starts again, so that after the lock ends the login has its full
        # number of attempts.
        db.session.execute(
            _update(user_id).values(locked_until=until, failed_count=0, failures_since=None)
        )
        log.warning("Login %s locked until %s UTC after %s failed sign-ins", user_id, until, count)
    db.session.commit()
    return until


def record_success(user_id: int) -> None:
    """Forget the failures of a login after a successful sign-in, and commit."""
    db.session.execute(
        _update(user_id)
        .where(LoginState.failed_count > 0)
        .values(failed_count=0, failures_since=None)
    )
    db.session.commit()


def unlock(user_id: int) -> bool:
    """Lift the lock of a login, forget its failures and return whether it was locked.

    The caller commits.
    """
    was_locked = locked_until(user_id) is not None
    db.session.execute(
        _update(user_id).values(locked_until=None, failed_count=0, failures_since=None)
    )
    return was_locked


def locks_of(user_ids: list[int], now: dt.datetime | None = None) -> dict[int, dt.datetime]:
    """Map the locked logins among ``user_ids`` to the end of their lock."""
    if not user_ids:
        return {}
    now = now or utc_now()
    rows = db.session.execute(
        select(LoginState.user_id, LoginState.locked_until).where(
            LoginState.user_id.in_(user_ids), LoginState.locked_until > now
        )
    )
    return dict(rows.all())


def locked_message(until: dt.datetime) -> str:
    """Build the sign-in page's message for a locked login, with the local end of the lock."""
    return _(
        "This login is locked after too many failed sign-ins until %(time)s. Try again "
        "after that time, or ask your school system administrator to lift the lock.",
        time=local_time_label(until),
    )


# --- Forced password change -----------------------------------------------------------


def require_password_change(user_id: int) -> None:
    """Make the login choose a new password at its next sign-in. The caller commits."""
    _ensure_state(user_id)
    db.session.execute(_update(user_id).values(must_change_password=True))


def must_change_password(user_id: int) -> bool:
    """Tell whether the login still has a password an administrator gave it."""
    return bool(
        db.session.scalar(
            select(LoginState.must_change_password).where(LoginState.user_id == user_id)
        )
    )


class PasswordChangeError(FormErrors):
    """The new password was rejected, so the old one stays."""


def check_new_password(user, current: str, new: str, repeated: str) -> list[str]:
    """Return every reason to reject a password change, in the order of the form."""
    errors = []
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if not check_password_hash(user.password, current or ""):
        errors.append(_("The current password is wrong. Enter the password you signed in with."))
    if len(new or "") < minimum:
        errors.append(
            _(
                "The new password is too short: it has %(length)s characters. "
                "Enter at least %(minimum)s characters.",
                length=len(new or ""),
                minimum=minimum,
            )
        )
    elif check_password_hash(user.password, new):
        errors.append(
            _("The new password is the same as the current one. Enter a different password.")
        )
    if new != repeated:
        errors.append(_("The two new passwords differ. Type the same new password in both fields."))
    return errors


def change_own_password(user, current: str, new: str, repeated: str) -> None:
    """Check and store a login's new password, clear the forced change, and commit.

    Raises PasswordChangeError with every message when the password is rejected.
    """
    errors = check_new_password(user, current, new, repeated)
    if errors:
        raise PasswordChangeError(errors)
    method = current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt")
    user.password = generate_password_hash(new, method=method)
    db.session.execute(_update(user.id).values(must_change_password=False))
    db.session.commit()
    log.info("Login %s changed its own password", user.id)
