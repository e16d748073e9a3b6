"""In-app notices and the e-mail queue behind them.

Features call :func:`notify`; it adds a :class:`~app.models.Notification` and, when the
user opted in, an :class:`~app.models.OutgoingMail` in the same transaction. Nothing here
talks to the SMTP server: the worker (``flask --app run worker``) sends the queue.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from flask import abort, current_app, has_request_context, request
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import bindparam, func, select, update

from app.models import (
    Guardian,
    Membership,
    Notification,
    NotificationSetting,
    OutgoingMail,
    Student,
    db,
)
from app.security.criteria import built_once, core_rows
from app.security.scope import Scope, scoped_get_or_404
from app.services.users import PLACEHOLDER_DOMAIN, store_email

log = logging.getLogger(__name__)

#: The link base used when neither PUBLIC_URL nor a request gives an address. It is
#: the address `make run` serves by default.
FALLBACK_PUBLIC_URL = "http://127.0.0.1:8080"


def public_url() -> str:
    """Return the address links in e-mails and feeds start with, without a final slash.

    PUBLIC_URL wins. Without it a page uses the address its request came to, so a demo on
    another port hands out working links; the worker, which has no request, falls back
    to the default address of `make run`.
    """
    configured = current_app.config.get("PUBLIC_URL")
    if configured:
        return configured.rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return FALLBACK_PUBLIC_URL


#: Notice kinds that may send an e-mail at once, and the setting that allows it.
IMMEDIATE_EMAIL_SETTINGS = {
    "absence": "absence_email",
    "message": "message_email",
}


def deliverable_address(user: User | None) -> str | None:
    """Return the user's e-mail address, or None for a placeholder or a blocked login."""
    if user is None or not user.active or not user.email:
        return None
    if user.email.lower().endswith(PLACEHOLDER_DOMAIN):
        return None
    return user.email


def find_setting(
    school_id: int, user_id: int, student_id: int | None
) -> NotificationSetting | None:
    """Return the user's e-mail choices in a school, per child when a student is given."""
    statement = select(NotificationSetting).where(
        NotificationSetting.school_id == school_id,
        NotificationSetting.user_id == user_id,
    )
    if student_id is None:
        statement = statement.where(NotificationSetting.student_id.is_(None))
    else:
        statement = statement.where(NotificationSetting.student_id == student_id)
    return db.session.scalars(statement.order_by(NotificationSetting.id)).first()


def get_or_create_setting(
    school_id: int, user_id: int, student_id: int | None
) -> NotificationSetting:
    """Return the user's e-mail choices, adding a row with everything off when none exists."""
    setting = find_setting(school_id, user_id, student_id)
    if setting is None:
        setting = NotificationSetting(school_id=school_id, user_id=user_id, student_id=student_id)
        db.session.add(setting)
        db.session.flush()
    return setting


def queue_mail(school_id: int, recipient: str, subject: str, body: str, kind: str) -> OutgoingMail:
    """Add an e-mail to the queue; the caller commits."""
    mail = OutgoingMail(
        school_id=school_id, recipient=recipient, subject=subject, body=body, kind=kind
    )
    db.session.add(mail)
    return mail


def notify(
    school_id: int,
    user_id: int,
    kind: str,
    text: str,
    link: str | None = None,
    *,
    student_id: int | None = None,
    mail_subject: str | None = None,
    mail_body: str | None = None,
) -> Notification:
    """Add an in-app notice, and queue an e-mail when the user opted in to this kind.

    ``student_id`` names the child a parent's notice is about; the absence e-mail is
    chosen per child. The caller commits, so the notice and its e-mail land together
    with the change that caused them.
    """
    notification = Notification(
        school_id=school_id, user_id=user_id, kind=kind, text=text[:500], link=link
    )
    db.session.add(notification)

    setting_name = IMMEDIATE_EMAIL_SETTINGS.get(kind)
    if setting_name is None or mail_subject is None:
        return notification
    setting_student = student_id if kind == "absence" else None
    setting = find_setting(school_id, user_id, setting_student)
    if setting is None or not getattr(setting, setting_name):
        return notification
    address = deliverable_address(db.session.get(User, user_id))
    if address is not None:
        queue_mail(school_id, address, mail_subject, mail_body or text, kind)
    return notification


# --- The clock of stored times --------------------------------------------------------


def database_now() -> dt.datetime:
    """Return the database's current time as a naive timestamp.

    Stored times (``created_at``, ``Mark.changed_at``) come from the database's ``now()``:
    UTC on SQLite, the session time zone on PostgreSQL. Periods compared with them must
    be measured on the same clock, not on the Python process's.
    """
    value = db.session.scalar(select(func.now()))
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=None)


# --- The notices page ------------------------------------------------------------------

#: Notices shown on one page of the notices list.
NOTICES_PAGE_SIZE = 20


def _own_notices(scope: Scope):
    """Build a select() of the session user's notices in the session's school."""
    return select(Notification).where(
        Notification.school_id == scope.school_id,
        Notification.user_id == scope.user_id,
    )


def notices_page(scope: Scope, page: int) -> tuple[list[Notification], int]:
    """Return one page of the user's notices, newest first, and the total count."""
    if scope.level != "school" or scope.user_id is None:
        return [], 0
    total = db.session.scalar(select(func.count()).select_from(_own_notices(scope).subquery()))
    statement = (
        _own_notices(scope)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset((max(page, 1) - 1) * NOTICES_PAGE_SIZE)
        .limit(NOTICES_PAGE_SIZE)
    )
    return list(db.session.scalars(statement)), total


def unread_count(scope: Scope | None) -> int:
    """Count the user's unread notices in the session's school; 0 outside a school."""
    if scope is None or scope.level != "school" or scope.user_id is None:
        return 0
    # Every page's navbar shows this count, so it runs past the ORM, built once.
    params = {"school": scope.school_id, "user": scope.user_id}
    return core_rows(db.session, _unread_count_statement(), params)[0][0] or 0


@built_once
def _unread_count_statement():
    return select(func.count(Notification.id)).where(
        Notification.school_id == bindparam("school"),
        Notification.user_id == bindparam("user"),
        Notification.read_at.is_(None),
    )


def own_notice_or_404(scope: Scope, notification_id) -> Notification:
    """Load one of the user's own notices; another user's or school's id raises 404."""
    notice = scoped_get_or_404(Notification, notification_id, scope)
    if notice.user_id != scope.user_id:
        abort(404)
    return notice


def mark_read(scope: Scope, notification_id) -> Notification:
    """Mark one of the user's notices read, keeping the first read time; the caller commits."""
    notice = own_notice_or_404(scope, notification_id)
    if notice.read_at is None:
        notice.read_at = database_now()
    return notice


def mark_read_for_links(school_id: int, user_id: int, links) -> int:
    """Mark the user's unread notices that point at any of these pages read.

    Opening the page a notice is about answers it, so its badge count should drop without
    a second visit to the notices page. The caller commits.
    """
    links = [link for link in links if link]
    if not links:
        return 0
    statement = (
        update(Notification)
        .where(
            Notification.school_id == school_id,
            Notification.user_id == user_id,
            Notification.read_at.is_(None),
            Notification.link.in_(links),
        )
        .values(read_at=database_now())
    )
    return db.session.execute(statement).rowcount


def mark_all_read(scope: Scope) -> int:
    """Mark every unread notice of the user in the school read; return how many changed."""
    if scope.level != "school" or scope.user_id is None:
        return 0
    statement = (
        update(Notification)
        .where(
            Notification.school_id == scope.school_id,
            Notification.user_id == scope.user_id,
            Notification.read_at.is_(None),
        )
        .values(read_at=database_now())
    )
    return db.session.execute(statement).rowcount


def safe_link(link: str | None) -> str | None:
    """Return the notice's link when it is a path of this application, else None.

    Links are written by the application, but a path is checked anyway so that a
    notice can never send its reader to another site.
    """
    if not link or not link.startswith("/") or link.startswith("//") or "\\" in link:
        return None
    return link


# --- E-mail settings -------------------------------------------------------------------


@dataclass
class ChildSetting:
    """A parent's e-mail choices for one child as the settings page shows them."""

    student: Student
    daily_digest: bool
    absence_email: bool


@dataclass
class SettingsPage:
    """What the settings page shows: the address on file and the current choices."""

    address: str | None
    message_email: bool
    children: list[ChildSetting]


def address_on_file(user: User | None) -> str | None:
    """Return the user's real e-mail address, or None when it is missing or a placeholder."""
    if user is None or not user.email:
        return None
    if user.email.lower().endswith(PLACEHOLDER_DOMAIN):
        return None
    return user.email


def own_children(scope: Scope) -> list[Student]:
    """List the parent's children in the session's school, leaving out barred links.

    Students who left the school (``is_active`` false) are left out too: no digest or
    absence e-mail can concern them any more.
    """
    if scope.level != "school" or scope.user_id is None or not scope.has_role("parent"):
        return []
    children = select(Guardian.student_id).where(
        Guardian.school_id == scope.school_id,
        Guardian.user_id == scope.user_id,
        Guardian.is_barred.is_(False),
    )
    statement = (
        select(Student)
        .where(
            Student.school_id == scope.school_id,
            Student.id.in_(children),
            Student.is_active.is_(True),
        )
        .order_by(Student.last_name, Student.first_name, Student.id)
    )
    return list(db.session.scalars(statement))


def settings_page(scope: Scope) -> SettingsPage:
    """Collect the settings page of the session user without adding any row."""
    user = db.session.get(User, scope.user_id)
    own = find_setting(scope.school_id, scope.user_id, None)
    children = []
    for student in own_children(scope):
        setting = find_setting(scope.school_id, scope.user_id, student.id)
        children.append(
            ChildSetting(
                student=student,
                daily_digest=bool(setting and setting.daily_digest),
                absence_email=bool(setting and setting.absence_email),
            )
        )
    return SettingsPage(
        address=address_on_file(user),
        message_email=bool(own and own.message_email),
        children=children,
    )


def save_settings(scope: Scope, form) -> None:
    """Store the choices of a submitted settings form; the caller commits.

    Only the parent's own children are read from the form, so a field naming any other
    student is ignored. Turning a digest on starts its period afresh: the first digest
    covers the last day, not the weeks since the digest was last turned off.
    """
    own = get_or_create_setting(scope.school_id, scope.user_id, None)
    own.message_email = form.get("message_email") == "1"
    for student in own_children(scope):
        setting = get_or_create_setting(scope.school_id, scope.user_id, student.id)
        digest = form.get(f"daily_digest_{student.id}") == "1"
        if digest and not setting.daily_digest:
            setting.digest_sent_until = None
        setting.daily_digest = digest
        setting.absence_email = form.get(f"absence_email_{student.id}") == "1"
    log.info("Notification settings saved: school %s, user %s", scope.school_id, scope.user_id)


def set_own_email(scope: Scope, email: str | None) -> bool:
    """Check and store the session user's own e-mail address, and return whether it changed.

    An empty value clears the address: a placeholder in the .invalid domain takes its
    place, so no e-mail is sent any more. Raises DomainError for an invalid address or
    one that another login uses. The caller commits, or rolls back on a DomainError.
    """
    user = db.session.get(User, scope.user_id)
    changed = store_email(user, email, scope.school_id)
    if changed:
        log.info("User %s changed their own e-mail address", scope.user_id)
    return changed


def has_active_membership(user_id: int, school_id: int) -> bool:
    """Tell whether a login may still work in a school: its membership there is active."""
    statement = select(Membership.id).where(
        Membership.user_id == user_id,
        Membership.school_id == school_id,
        Membership.is_active.is_(True),
    )
    return db.session.scalar(statement.limit(1)) is not None
