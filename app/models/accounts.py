"""Per-login account state kept beside FAB's user table: sign-in failures, lock-out and
the forced password change.

FAB's ``ab_user`` belongs to the framework, so this state lives in a table of its own,
one row per login, created on first need.
"""

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String
from sqlalchemy.sql.expression import false

from app.models.base import db


class LoginState(db.Model):
    """Sign-in failures, the lock and the forced password change of one login.

    Times are naive UTC, like every other timestamp of the schema.
    """

    __tablename__ = "login_state"

    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    #: Failed sign-ins counted since ``failures_since``.
    failed_count = Column(Integer, nullable=False, default=0, server_default="0")
    #: Time of the first failure of the current counting window.
    failures_since = Column(DateTime)
    #: End of the lock: the login cannot sign in before this time. NULL when not locked.
    locked_until = Column(DateTime)
    #: Set when an administrator gave the login its password: the next sign-in must
    #: choose a new one before any other page opens.
    must_change_password = Column(Boolean, nullable=False, default=False, server_default=false())


class InviteCode(db.Model):
    """A login's one-time code that lets a school administrator add it to their school.

    The person shows the code from their own profile; only its hash is stored. One row per
    login: a new code replaces the previous one. Times are naive UTC.
    """

    __tablename__ = "invite_code"

    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    code_hash = Column(String(255), nullable=False)
    created_at = Column(DateTime, nullable=False)
    #: After this time the code is rejected.
    expires_at = Column(DateTime, nullable=False)
    #: Set when a school accepted the code; a used code is rejected.
    used_at = Column(DateTime)
    #: Wrong codes typed for this login since the code was made.
    failed_attempts = Column(Integer, nullable=False, default=0, server_default="0")
