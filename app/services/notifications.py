"""In-app notices and the e-mail queue behind them.

Features call :func:`notify`; it adds a :class:`~app.models.Notification` and, when the
user opted in, an :class:`~app.models.OutgoingMail` in the same transaction. Nothing here
talks to the SMTP server: the worker (``flask --app run worker``) sends the queue.
"""

import logging

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.models import Notification, NotificationSetting, OutgoingMail, db

log = logging.getLogger(__name__)

#: Placeholder addresses of people without e-mail end in this reserved domain.
PLACEHOLDER_DOMAIN = ".invalid"

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
