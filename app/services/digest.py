"""Daily digests: one e-mail per parent and school with the children's news of the day.

A parent turns the digest on per child on the notices settings page. The worker calls
:func:`queue_digests` once per school day after DIGEST_HOUR; the e-mails then go out
through the mail queue like any other.
"""

import datetime as dt
import logging
from dataclasses import dataclass, field

from flask import current_app
from flask_appbuilder.security.sqla.models import User
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.models import (
    Assignment,
    AssignmentType,
    Course,
    Guardian,
    Holiday,
    Lesson,
    Mark,
    NotificationSetting,
    School,
    Student,
    Subject,
    db,
)
from app.services.announcements import announcements_visible_to
from app.services.dates import format_date
from app.services.diary import student_courses
from app.services.notifications import (
    database_now,
    deliverable_address,
    has_active_membership,
    public_url,
    queue_mail,
)

log = logging.getLogger(__name__)

#: The period of a first digest, and of one turned on again.
DEFAULT_PERIOD = dt.timedelta(hours=24)
#: The maximum period a digest covers, so that a worker stopped for weeks does not send
#: a parent every mark of those weeks in one e-mail.
MAX_PERIOD = dt.timedelta(days=7)
#: A child whose last digest ended less than this long ago gets none: a worker restarted
#: in the evening, or run by cron with ``--once``, sends each day's digest only once.
MIN_INTERVAL = dt.timedelta(hours=12)

#: The queue kind of digest e-mails.
DIGEST_KIND = "digest"

SUNDAY = 6
#: The maximum length of an announcement's text quoted in a digest, in characters.
ANNOUNCEMENT_EXCERPT = 300


@dataclass
class DigestMark:
    date: dt.date
    subject: str
    assignment_type: str
    text: str
    comment: str | None


@dataclass
class DigestHomework:
    subject: str
    text: str
    given_on: dt.date
    due_date: dt.date | None


@dataclass
class ChildDigest:
    """One child's part of a digest."""

    student: Student
    marks: list[DigestMark] = field(default_factory=list)
    homework: list[DigestHomework] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.marks and not self.homework


# --- Which schools have a school day -------------------------------------------------------


def schools_in_session(day: dt.date) -> list[int]:
    """List the ids of the schools for which ``day`` is a school day.

    Monday to Saturday are school days (six-day weeks exist) unless the school entered
    the day as a holiday; a Sunday counts only when the school entered it as a moved
    working day.
    """
    school_ids = list(db.session.scalars(select(School.id).order_by(School.id)))
    statement = select(Holiday.school_id, Holiday.is_working_day).where(Holiday.date == day)
    holidays = dict(db.session.execute(statement).tuples().all())
    working = []
    for school_id in school_ids:
        if school_id in holidays:
            if holidays[school_id]:
                working.append(school_id)
        elif day.weekday() != SUNDAY:
            working.append(school_id)
    return working


def queue_daily_digests(day: dt.date, now: dt.datetime | None = None) -> int:
    """Queue the digests of every school that has a school day on ``day``."""
    count = 0
    for school_id in schools_in_session(day):
        count += queue_digests(now=now, school_id=school_id)
    return count


# --- Building and queueing the digests -----------------------------------------------------


def queue_digests(now: dt.datetime | None = None, school_id: int | None = None) -> int:
    """Queue one digest e-mail per parent and school; return how many were queued.

    A digest covers each child the parent turned it on for, since that child's last
    digest (or the last 24 hours): new and changed marks, homework given in the lessons
    of those days, and the announcements addressed to the parent. With nothing new no
    e-mail is queued, but the period still moves on. A parent without a real e-mail
    address, or whose login or school membership is blocked, gets none, and the period
    stays where it was. Each parent's e-mail and period are committed together.

    ``now`` is on the database clock, like ``Mark.changed_at``. The function commits and
    rolls back the session itself, so it must not run inside another transaction.
    """
    now = now or database_now()
    queued = 0
    for school, user_id in _parents_with_digest(school_id):
        try:
            if _queue_parent_digest(school, user_id, now):
                queued += 1
        except SQLAlchemyError as error:
            db.session.rollback()
            log.error(
                "Digest of user %s in school %s failed: %s", user_id, school, type(error).__name__
            )
    if queued:
        log.info("Digests queued: %s", queued)
    return queued


def _setting_rows(school_id: int | None, user_id: int | None = None):
    """Build a select() of the digest settings that still have a valid parent link."""
    statement = (
        select(NotificationSetting)
        .join(
            Guardian,
            (Guardian.school_id == NotificationSetting.school_id)
            & (Guardian.student_id == NotificationSetting.student_id)
            & (Guardian.user_id == NotificationSetting.user_id),
        )
        .join(Student, Student.id == NotificationSetting.student_id)
        .where(
            NotificationSetting.daily_digest.is_(True),
            NotificationSetting.student_id.is_not(None),
            Guardian.is_barred.is_(False),
            Student.is_active.is_(True),
        )
    )
    if school_id is not None:
        statement = statement.where(NotificationSetting.school_id == school_id)
    if user_id is not None:
        statement = statement.where(NotificationSetting.user_id == user_id)
    return statement


def _parents_with_digest(school_id: int | None) -> list[tuple[int, int]]:
    statement = _setting_rows(school_id).with_only_columns(
        NotificationSetting.school_id, NotificationSetting.user_id
    )
    rows = db.session.execute(statement.distinct()).tuples().all()
    db.session.rollback()
    return sorted(rows)


def _locked_settings(school_id: int, user_id: int) -> list[NotificationSetting]:
    """Load one parent's digest settings, locked on PostgreSQL against a second worker."""
    statement = _setting_rows(school_id, user_id).order_by(
        Student.last_name, Student.first_name, Student.id
    )
    if db.session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(of=NotificationSetting)
    return list(db.session.scalars(statement))


def _period_start(setting: NotificationSetting, now: dt.datetime) -> dt.datetime:
    start = setting.digest_sent_until or now - DEFAULT_PERIOD
    return max(start, now - MAX_PERIOD)


def _queue_parent_digest(school_id: int, user_id: int, now: dt.datetime) -> bool:
    settings = [
        setting
        for setting in _locked_settings(school_id, user_id)
        if setting.digest_sent_until is None or setting.digest_sent_until <= now - MIN_INTERVAL
    ]
    address = deliverable_address(db.session.get(User, user_id))
    if not settings or address is None or not has_active_membership(user_id, school_id):
        db.session.rollback()
        return False

    children = [
        child_digest(setting.student_id, _period_start(setting, now), now) for setting in settings
    ]
    # Announcements go to the parent, not to a child: the latest period start keeps an
    # announcement already mailed with one child's period out of the next digest.
    since = max(_period_start(setting, now) for setting in settings)
    announcements = announcements_for(school_id, user_id, since, now)
    for setting in settings:
        setting.digest_sent_until = now

    has_news = announcements or any(not child.is_empty for child in children)
    mail = None
    if has_news:
        subject, body = compose_digest(school_id, children, announcements, now)
        mail = queue_mail(school_id, address, subject, body, DIGEST_KIND)
    db.session.commit()
    if mail is not None:
        log.info("Digest mail %s queued: school %s, user %s", mail.id, school_id, user_id)
    return mail is not None


def child_digest(student_id: int, since: dt.datetime, now: dt.datetime) -> ChildDigest:
    """Collect one child's marks changed and homework given in the period (since, now]."""
    student = db.session.get(Student, student_id)
    digest = ChildDigest(student=student)
    digest.marks = _new_marks(student, since, now)
    digest.homework = _new_homework(student, since, now)
    return digest


def _new_marks(student: Student, since: dt.datetime, now: dt.datetime) -> list[DigestMark]:
    statement = (
        select(Mark, AssignmentType.name, Lesson.date, Subject.name)
        .join(Assignment, Assignment.id == Mark.assignment_id)
        .join(AssignmentType, AssignmentType.id == Assignment.type_id)
        .join(Lesson, Lesson.id == Assignment.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .join(Subject, Subject.id == Course.subject_id)
        .where(
            Mark.school_id == student.school_id,
            Mark.student_id == student.id,
            Mark.changed_at > since,
            Mark.changed_at <= now,
        )
        .order_by(Lesson.date, Lesson.lesson_number, Mark.id)
    )
    return [
        DigestMark(
            date=date,
            subject=subject,
            assignment_type=type_name,
            text=_mark_text(mark),
            comment=mark.comment,
        )
        for mark, type_name, date, subject in db.session.execute(statement)
    ]


def _mark_text(mark: Mark) -> str:
    if mark.is_duty:
        return _("duty mark (work owed)")
    return mark.display()


def _new_homework(student: Student, since: dt.datetime, now: dt.datetime) -> list[DigestHomework]:
    """List homework of the student's courses entered in the period, whatever its lesson's date."""
    statement = (
        select(Assignment, Lesson.date, Subject.name)
        .join(AssignmentType, AssignmentType.id == Assignment.type_id)
        .join(Lesson, Lesson.id == Assignment.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .join(Subject, Subject.id == Course.subject_id)
        .where(
            Assignment.school_id == student.school_id,
            AssignmentType.is_homework.is_(True),
            Lesson.course_id.in_(student_courses(student)),
            Assignment.created_at > since,
            Assignment.created_at <= now,
        )
        .order_by(Lesson.date, Lesson.lesson_number, Assignment.id)
    )
    return [
        DigestHomework(
            subject=subject, text=assignment.text, given_on=date, due_date=assignment.due_date
        )
        for assignment, date, subject in db.session.execute(statement)
    ]


def announcements_for(school_id: int, user_id: int, since: dt.datetime, now: dt.datetime) -> list:
    """List the announcements addressed to the user, shown today and created in the period."""
    found = announcements_visible_to(school_id, user_id, now.date(), since)
    return [item for item in found if item.created_at is None or item.created_at <= now]


# --- The text of the e-mail ---------------------------------------------------------------


def compose_digest(
    school_id: int, children: list[ChildDigest], announcements: list, now: dt.datetime
) -> tuple[str, str]:
    """Write the subject and plain-text body of a digest, in the default language."""
    config = current_app.config
    school = db.session.get(School, school_id)
    base_url = public_url()
    with force_locale(config["BABEL_DEFAULT_LOCALE"]):
        subject = _(
            "Diary digest for %(date)s: %(school)s",
            date=format_date(now.date()),
            school=school.name,
        )
        lines = [_("Hello!"), "", _("What is new in the school diary:"), ""]
        for child in children:
            lines += _child_lines(child, base_url)
        if announcements:
            lines += _announcement_lines(announcements)
        settings_url = f"{base_url}/notifications/settings"
        lines += [
            "—",
            _(
                "You receive this e-mail because you turned on the daily digest. "
                "Turn it off in the notice settings: %(url)s",
                url=settings_url,
            ),
        ]
    return subject, "\n".join(lines) + "\n"


def _child_lines(child: ChildDigest, base_url: str) -> list[str]:
    student = child.student
    heading = student.full_name
    if student.school_class is not None:
        heading += f", {student.school_class.name}"
    lines = [heading]
    if child.is_empty:
        lines.append(_("No new marks or homework."))
    if child.marks:
        lines.append(_("New and changed marks:"))
        for mark in child.marks:
            line = (
                f"  {format_date(mark.date)}, {mark.subject}, {mark.assignment_type}: {mark.text}"
            )
            if mark.comment:
                line += f" ({mark.comment})"
            lines.append(line)
    if child.homework:
        lines.append(_("New homework:"))
        for homework in child.homework:
            if homework.due_date is not None:
                when = _(
                    "given %(given)s, due %(due)s",
                    given=format_date(homework.given_on),
                    due=format_date(homework.due_date),
                )
            else:
                when = _("given %(given)s", given=format_date(homework.given_on))
            lines.append(f"  {homework.subject} ({when}): {homework.text}")
    diary_url = f"{base_url}/diary/?student={student.id}"
    lines.append(_("Diary: %(url)s", url=diary_url))
    lines.append("")
    return lines


def _announcement_lines(announcements: list) -> list[str]:
    lines = [_("Announcements:")]
    for announcement in announcements:
        lines.append(f"  {announcement.title}")
        text = (announcement.body or "").strip()
        if len(text) > ANNOUNCEMENT_EXCERPT:
            text = text[:ANNOUNCEMENT_EXCERPT].rstrip() + "…"
        if text:
            lines += [f"    {line}" for line in text.splitlines() if line.strip()]
    lines.append("")
    return lines
