"""Communication: announcements, messages, absence notes, notifications and the mail queue.

Every table here is school-owned except the authority's own announcements. Such an
announcement is copied into each school of the authority when it is published, so a
school reads only its own rows and needs no second tenancy rule.
"""

from flask_appbuilder.security.sqla.models import User
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import relationship

from app.models.base import SchoolOwned, db

#: Audiences an announcement may address.
AUDIENCE_KINDS = {
    "school": _l("Whole school"),
    "roles": _l("Chosen roles"),
    "classes": _l("Chosen classes"),
}

#: States of a parent's absence note (заявление об отсутствии).
ABSENCE_NOTE_STATUSES = {
    "pending": _l("Awaiting decision"),
    "accepted": _l("Accepted"),
    "rejected": _l("Rejected"),
}

#: Kinds of in-app notice; each may also be sent by e-mail.
NOTIFICATION_KINDS = {
    "absence": _l("Absence in a lesson"),
    "message": _l("New message"),
    "announcement": _l("Announcement"),
    "absence_note": _l("Absence note"),
    "certificate": _l("Certificate request"),
}

#: States of a queued e-mail.
MAIL_STATUSES = {
    "queued": _l("Waiting to be sent"),
    "sent": _l("E-mail sent"),
    "failed": _l("Sending failed"),
}


class AuthorityAnnouncement(db.Model):
    """An announcement of an education authority to all its schools.

    Publishing copies it into an :class:`Announcement` of every school of the authority;
    this row keeps the original for the authority's own list.
    """

    __tablename__ = "authority_announcement"

    id = Column(Integer, primary_key=True)
    authority_id = Column(
        Integer,
        ForeignKey("education_authority.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    title = Column(String(255), nullable=False)
    body = Column(Text, nullable=False, default="")
    display_from = Column(Date, nullable=False)
    display_to = Column(Date, nullable=False)
    author_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    created_at = Column(DateTime, nullable=False, server_default=func.now())

    authority = relationship("EducationAuthority")
    author = relationship(User)

    def __str__(self) -> str:
        return self.title


class Announcement(SchoolOwned, db.Model):
    """An announcement (объявление) shown on the start page and in the diary."""

    __tablename__ = "announcement"
    __table_args__ = (
        CheckConstraint(
            "audience IN ('school','roles','classes')", name="ck_announcement_audience"
        ),
        CheckConstraint("display_from <= display_to", name="ck_announcement_period"),
        Index("ix_announcement_school_display", "school_id", "display_to"),
    )

    id = Column(Integer, primary_key=True)
    title = Column(String(255), nullable=False)
    body = Column(Text, nullable=False, default="")
    audience = Column(
        String(10), nullable=False, default="school", info={"choices": AUDIENCE_KINDS}
    )
    #: Role codes separated by commas, for the "roles" audience.
    audience_roles = Column(String(255), nullable=False, default="")
    display_from = Column(Date, nullable=False)
    display_to = Column(Date, nullable=False)
    author_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    #: Set on the school copies of an authority announcement.
    authority_announcement_id = Column(
        Integer, ForeignKey("authority_announcement.id", ondelete="CASCADE")
    )
    created_at = Column(DateTime, nullable=False, server_default=func.now())

    author = relationship(User)
    classes = relationship("AnnouncementClass", cascade="all, delete-orphan", lazy="selectin")
    attachments = relationship(
        "Attachment",
        primaryjoin="Attachment.announcement_id == Announcement.id",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="Attachment.id",
    )

    @property
    def role_codes(self) -> list[str]:
        return [code for code in self.audience_roles.split(",") if code]

    def __str__(self) -> str:
        return self.title


class AnnouncementClass(SchoolOwned, db.Model):
    """A class an announcement is addressed to."""

    __tablename__ = "announcement_class"
    __table_args__ = (
        UniqueConstraint("school_id", "announcement_id", "class_id", name="uq_announcement_class"),
    )

    id = Column(Integer, primary_key=True)
    announcement_id = Column(
        Integer, ForeignKey("announcement.id", ondelete="CASCADE"), nullable=False
    )
    class_id = Column(Integer, ForeignKey("school_class.id", ondelete="CASCADE"), nullable=False)

    school_class = relationship("SchoolClass")


class AnnouncementRead(SchoolOwned, db.Model):
    """The mark that one reader has read one announcement."""

    __tablename__ = "announcement_read"
    __table_args__ = (
        UniqueConstraint("school_id", "announcement_id", "user_id", name="uq_announcement_read"),
    )

    id = Column(Integer, primary_key=True)
    announcement_id = Column(
        Integer, ForeignKey("announcement.id", ondelete="CASCADE"), nullable=False
    )
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    read_at = Column(DateTime, nullable=False, server_default=func.now())


class Message(SchoolOwned, db.Model):
    """A message (сообщение) of one sender to one or more recipients in the same school.

    A message without ``sent_at`` is the sender's draft. Replies point at the first
    message of their thread, so a thread is one indexed lookup.
    """

    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_school_sender", "school_id", "sender_id"),
        Index("ix_message_school_thread", "school_id", "thread_id"),
    )

    id = Column(Integer, primary_key=True)
    sender_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    #: The first message of the thread; empty on the first message itself.
    thread_id = Column(Integer, ForeignKey("message.id", ondelete="SET NULL"))
    reply_to_id = Column(Integer, ForeignKey("message.id", ondelete="SET NULL"))
    subject = Column(String(255), nullable=False, default="")
    body = Column(Text, nullable=False, default="")
    created_at = Column(DateTime, nullable=False, server_default=func.now())
    sent_at = Column(DateTime)
    #: The sender moved the message to the deleted folder.
    sender_deleted_at = Column(DateTime)
    #: The sender removed it from the deleted folder too.
    sender_purged = Column(Boolean, nullable=False, default=False)

    sender = relationship(User, foreign_keys=[sender_id])
    recipients = relationship(
        "MessageRecipient",
        back_populates="message",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="MessageRecipient.id",
    )
    attachments = relationship(
        "Attachment",
        primaryjoin="Attachment.message_id == Message.id",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="Attachment.id",
    )

    @property
    def is_draft(self) -> bool:
        return self.sent_at is None

    @property
    def root_id(self) -> int:
        return self.thread_id or self.id

    def __str__(self) -> str:
        return self.subject


class MessageRecipient(SchoolOwned, db.Model):
    """One recipient of a message, with their own read and deleted state."""

    __tablename__ = "message_recipient"
    __table_args__ = (
        UniqueConstraint("school_id", "message_id", "user_id", name="uq_message_recipient"),
        Index("ix_message_recipient_school_user", "school_id", "user_id"),
    )

    id = Column(Integer, primary_key=True)
    message_id = Column(Integer, ForeignKey("message.id", ondelete="CASCADE"), nullable=False)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    read_at = Column(DateTime)
    deleted_at = Column(DateTime)
    purged = Column(Boolean, nullable=False, default=False)

    message = relationship("Message", back_populates="recipients")
    user = relationship(User)


class Attachment(SchoolOwned, db.Model):
    """A file attached to a message, an announcement or an assignment, stored under the
    school's folder.

    Files are served only through the scoped routes of their owner.
    """

    __tablename__ = "attachment"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN message_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN announcement_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN assignment_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="ck_attachment_owner",
        ),
        UniqueConstraint("school_id", "stored_name", name="uq_attachment_stored_name"),
    )

    id = Column(Integer, primary_key=True)
    message_id = Column(Integer, ForeignKey("message.id", ondelete="CASCADE"), index=True)
    announcement_id = Column(Integer, ForeignKey("announcement.id", ondelete="CASCADE"), index=True)
    #: Files of homework and other assignments: a worksheet, a scan of the task.
    assignment_id = Column(Integer, ForeignKey("assignment.id", ondelete="CASCADE"), index=True)
    #: The name the uploader gave the file, shown and sent back on download.
    filename = Column(String(255), nullable=False)
    #: A random name on disk, so that no uploaded name reaches the file system.
    stored_name = Column(String(64), nullable=False)
    content_type = Column(String(100), nullable=False)
    size = Column(Integer, nullable=False)
    uploaded_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    created_at = Column(DateTime, nullable=False, server_default=func.now())

    def __str__(self) -> str:
        return self.filename


class AbsenceNote(SchoolOwned, db.Model):
    """A parent's note about a planned or past absence of their child.

    An accepted note sets the reason of the child's absences in its dates that have no
    reason yet, now and when a teacher marks one later.
    """

    __tablename__ = "absence_note"
    __table_args__ = (
        CheckConstraint("date_from <= date_to", name="ck_absence_note_dates"),
        CheckConstraint(
            "status IN ('pending','accepted','rejected')", name="ck_absence_note_status"
        ),
        Index("ix_absence_note_school_student", "school_id", "student_id"),
    )

    id = Column(Integer, primary_key=True)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    author_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    date_from = Column(Date, nullable=False)
    date_to = Column(Date, nullable=False)
    #: The parent's words: why the child is or was away.
    reason_text = Column(Text, nullable=False)
    status = Column(
        String(10), nullable=False, default="pending", info={"choices": ABSENCE_NOTE_STATUSES}
    )
    #: The attendance reason («УП» by default) set on the matching absences.
    reason_id = Column(Integer, ForeignKey("attendance_code.id", ondelete="RESTRICT"))
    decided_by_id = Column(Integer, ForeignKey("ab_user.id", ondelete="SET NULL"))
    decided_at = Column(DateTime)
    decision_comment = Column(String(500))
    created_at = Column(DateTime, nullable=False, server_default=func.now())

    student = relationship("Student")
    author = relationship(User, foreign_keys=[author_id])
    decided_by = relationship(User, foreign_keys=[decided_by_id])
    reason = relationship("AttendanceCode")

    def __str__(self) -> str:
        return f"{self.date_from:%d.%m.%Y}–{self.date_to:%d.%m.%Y}"


class Notification(SchoolOwned, db.Model):
    """An in-app notice for one user: an absence of their child, a new message …"""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_school_user", "school_id", "user_id", "read_at"),)

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    kind = Column(String(20), nullable=False, info={"choices": NOTIFICATION_KINDS})
    text = Column(String(500), nullable=False)
    #: A path inside the application to open from the notice.
    link = Column(String(255))
    created_at = Column(DateTime, nullable=False, server_default=func.now())
    read_at = Column(DateTime)


class NotificationSetting(SchoolOwned, db.Model):
    """One user's e-mail choices in one school; per child for parents.

    A row with ``student_id`` empty holds the user's own choices (message notices); a row
    per child holds a parent's digest and absence choices for that child.
    """

    __tablename__ = "notification_setting"
    __table_args__ = (
        UniqueConstraint("school_id", "user_id", "student_id", name="uq_notification_setting"),
    )

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"))
    #: A daily e-mail of new marks, homework and announcements.
    daily_digest = Column(Boolean, nullable=False, default=False)
    #: An e-mail within minutes when the child is marked absent.
    absence_email = Column(Boolean, nullable=False, default=False)
    #: An e-mail at once for each new message.
    message_email = Column(Boolean, nullable=False, default=False)
    #: The end of the period the last digest covered.
    digest_sent_until = Column(DateTime)


class OutgoingMail(SchoolOwned, db.Model):
    """An e-mail waiting in the queue, sent by the worker and retried on failure.

    The queue keeps pages fast whatever the SMTP server does: a request only inserts a
    row, and ``flask --app run worker`` sends it.
    """

    __tablename__ = "outgoing_mail"
    __table_args__ = (
        CheckConstraint("status IN ('queued','sent','failed')", name="ck_outgoing_mail_status"),
        Index("ix_outgoing_mail_status_due", "status", "next_attempt_at"),
    )

    id = Column(Integer, primary_key=True)
    recipient = Column(String(255), nullable=False)
    subject = Column(String(255), nullable=False)
    body = Column(Text, nullable=False)
    kind = Column(String(20), nullable=False)
    status = Column(String(10), nullable=False, default="queued", info={"choices": MAIL_STATUSES})
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False, server_default=func.now())
    #: The class of the last error, never its text, because SMTP errors may quote addresses.
    last_error = Column(String(100))
    created_at = Column(DateTime, nullable=False, server_default=func.now())
    sent_at = Column(DateTime)


class CalendarFeed(SchoolOwned, db.Model):
    """A private iCalendar link to one student's timetable and homework.

    Only the SHA-256 of the token is stored, so the table alone opens no feed; revoking
    sets ``revoked_at`` and a new link gets a new token.
    """

    __tablename__ = "calendar_feed"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_calendar_feed_token"),)

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    student_id = Column(Integer, ForeignKey("student.id", ondelete="CASCADE"), nullable=False)
    token_hash = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, server_default=func.now())
    revoked_at = Column(DateTime)

    student = relationship("Student")
