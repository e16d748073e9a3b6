"""Private iCalendar links to one student's lessons and homework.

A student (for themself) or a parent (for each own child) creates a link on the notice
settings page. The token is shown once; only its SHA-256 is stored, so the table alone
opens no feed. The public route ``/calendar/<token>.ics`` needs no login: calendar apps
fetch it on their own. A revoked link, or one whose holder lost access to the student
(blocked login or membership, barred parent, student left), returns 404.
"""

import datetime as dt
import hashlib
import logging
import secrets
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import abort, current_app
from flask_appbuilder.security.sqla.models import User
from flask_babel import force_locale
from flask_babel import gettext as _
from icalendar import Calendar, Event, vDuration
from sqlalchemy import select

from app.models import (
    Assignment,
    AssignmentType,
    CalendarFeed,
    Guardian,
    Lesson,
    Student,
    Subject,
    db,
)
from app.models.curriculum import Course
from app.security.scope import Scope
from app.services.diary import bell_schedules, bell_times, student_courses
from app.services.notifications import (
    database_now,
    has_active_membership,
    own_children,
    public_url,
)

log = logging.getLogger(__name__)

#: Days before today whose lessons the feed still lists.
PAST_DAYS = 14
#: Days after today whose lessons the feed lists.
FUTURE_DAYS = 60
#: How often calendar apps are asked to fetch the feed again.
REFRESH_INTERVAL = dt.timedelta(hours=1)


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def feed_url(token: str) -> str:
    """Return the public address of a feed, built on :func:`public_url`."""
    return f"{public_url()}/calendar/{token}.ics"


# --- Links on the settings page --------------------------------------------------------


def feed_students(scope: Scope) -> list[Student]:
    """List the students the session user may create a feed for: themself and own children."""
    if scope.level != "school" or scope.user_id is None:
        return []
    students = []
    if scope.has_role("student"):
        statement = select(Student).where(
            Student.school_id == scope.school_id,
            Student.user_id == scope.user_id,
            Student.is_active.is_(True),
        )
        students += list(db.session.scalars(statement))
    for child in own_children(scope):
        if child not in students:
            students.append(child)
    return students


def active_feeds(scope: Scope) -> dict[int, CalendarFeed]:
    """Map each student id to the user's link for that student that is not revoked."""
    if scope.level != "school" or scope.user_id is None:
        return {}
    statement = (
        select(CalendarFeed)
        .where(
            CalendarFeed.school_id == scope.school_id,
            CalendarFeed.user_id == scope.user_id,
            CalendarFeed.revoked_at.is_(None),
        )
        .order_by(CalendarFeed.id)
    )
    return {feed.student_id: feed for feed in db.session.scalars(statement)}


def create_feed(scope: Scope, student_id) -> str:
    """Create a new link for one of the user's students and return its token.

    Any earlier link of the user for that student is revoked. Another student's id, or
    one of another school, raises 404. The caller commits.
    """
    student = _feed_student_or_404(scope, student_id)
    now = database_now()
    for feed in _own_active_feeds(scope, student.id):
        feed.revoked_at = now
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed(
        school_id=scope.school_id,
        user_id=scope.user_id,
        student_id=student.id,
        token_hash=hash_token(token),
    )
    db.session.add(feed)
    db.session.flush()
    log.info(
        "Calendar feed %s created: school %s, user %s", feed.id, scope.school_id, scope.user_id
    )
    return token


def revoke_feed(scope: Scope, feed_id) -> CalendarFeed:
    """Revoke one of the user's links; another user's or school's id raises 404."""
    try:
        feed_id = int(feed_id)
    except (TypeError, ValueError):
        abort(404)
    feed = db.session.scalars(
        select(CalendarFeed).where(
            CalendarFeed.id == feed_id,
            CalendarFeed.school_id == scope.school_id,
            CalendarFeed.user_id == scope.user_id,
        )
    ).first()
    if feed is None or scope.level != "school":
        abort(404)
    if feed.revoked_at is None:
        feed.revoked_at = database_now()
        log.info("Calendar feed %s revoked", feed.id)
    return feed


def _feed_student_or_404(scope: Scope, student_id) -> Student:
    try:
        student_id = int(student_id)
    except (TypeError, ValueError):
        abort(404)
    student = next((s for s in feed_students(scope) if s.id == student_id), None)
    if student is None:
        abort(404)
    return student


def _own_active_feeds(scope: Scope, student_id: int) -> list[CalendarFeed]:
    statement = select(CalendarFeed).where(
        CalendarFeed.school_id == scope.school_id,
        CalendarFeed.user_id == scope.user_id,
        CalendarFeed.student_id == student_id,
        CalendarFeed.revoked_at.is_(None),
    )
    return list(db.session.scalars(statement))


# --- The public feed -------------------------------------------------------------------


def feed_for_token(token: str) -> CalendarFeed | None:
    """Find the live feed of a token; None when unknown, revoked or no longer allowed."""
    feed = db.session.scalars(
        select(CalendarFeed).where(
            CalendarFeed.token_hash == hash_token(token), CalendarFeed.revoked_at.is_(None)
        )
    ).first()
    if feed is None or not _holder_still_allowed(feed):
        return None
    return feed


def _holder_still_allowed(feed: CalendarFeed) -> bool:
    """Tell whether the link's holder may still see the student, as when it was made."""
    user = db.session.get(User, feed.user_id)
    student = db.session.get(Student, feed.student_id)
    if user is None or not user.active or student is None or not student.is_active:
        return False
    if student.school_id != feed.school_id or not has_active_membership(user.id, feed.school_id):
        return False
    if student.user_id == user.id:
        return True
    guardian = db.session.scalar(
        select(Guardian.id).where(
            Guardian.school_id == feed.school_id,
            Guardian.student_id == student.id,
            Guardian.user_id == user.id,
            Guardian.is_barred.is_(False),
        )
    )
    return guardian is not None


def build_feed(feed: CalendarFeed, today: dt.date | None = None) -> bytes:
    """Write the iCalendar text of a feed: lessons from 14 days ago to 60 days ahead.

    Lessons are timed events in TIMEZONE with the bell times the diary shows; a lesson
    without any time becomes an all-day event. Cancelled lessons carry STATUS:CANCELLED.
    Homework is an all-day event on its due date. UIDs are built from the school, row
    and student ids, so calendar apps update an event instead of adding a copy.
    """
    config = current_app.config
    zone = ZoneInfo(config["TIMEZONE"])
    today = today or dt.datetime.now(zone).date()
    first_day = today - dt.timedelta(days=PAST_DAYS)
    last_day = today + dt.timedelta(days=FUTURE_DAYS)
    student = db.session.get(Student, feed.student_id)
    host = urlsplit(public_url()).hostname or "localhost"
    stamp = dt.datetime.now(dt.UTC)

    with force_locale(config["BABEL_DEFAULT_LOCALE"]):
        calendar = _new_calendar(student, config["TIMEZONE"])
        schedules = bell_schedules(student)
        for lesson, subject in _lessons(student, first_day, last_day):
            times = bell_times(student, lesson, schedules)
            calendar.add_component(
                _lesson_event(student, lesson, subject, times, zone, host, stamp)
            )
        for assignment, subject in _homework(student, first_day, last_day):
            calendar.add_component(_homework_event(student, assignment, subject, host, stamp))
    calendar.add_missing_timezones(first_date=first_day - dt.timedelta(days=1))
    return calendar.to_ical()


def _new_calendar(student: Student, timezone: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//School information system//Timetable feed//RU")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _("Timetable: %(name)s", name=student.full_name))
    calendar.add("x-wr-timezone", timezone)
    calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    # An X- property has no known type, so the duration is typed here (PT1H).
    calendar.add("x-published-ttl", vDuration(REFRESH_INTERVAL))
    return calendar


def _lessons(student: Student, first_day: dt.date, last_day: dt.date):
    statement = (
        select(Lesson, Subject.name)
        .join(Course, Course.id == Lesson.course_id)
        .join(Subject, Subject.id == Course.subject_id)
        .where(
            Lesson.school_id == student.school_id,
            Lesson.course_id.in_(student_courses(student)),
            Lesson.date >= first_day,
            Lesson.date <= last_day,
        )
        .order_by(Lesson.date, Lesson.lesson_number, Lesson.id)
    )
    return db.session.execute(statement).tuples().all()


def _homework(student: Student, first_day: dt.date, last_day: dt.date):
    """List homework due in the feed's days; homework without a due date has no day."""
    statement = (
        select(Assignment, Subject.name)
        .join(AssignmentType, AssignmentType.id == Assignment.type_id)
        .join(Lesson, Lesson.id == Assignment.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .join(Subject, Subject.id == Course.subject_id)
        .where(
            Assignment.school_id == student.school_id,
            AssignmentType.is_homework.is_(True),
            Lesson.course_id.in_(student_courses(student)),
            Assignment.due_date >= first_day,
            Assignment.due_date <= last_day,
        )
        .order_by(Assignment.due_date, Assignment.id)
    )
    return db.session.execute(statement).tuples().all()


def _lesson_event(student, lesson, subject, times, zone, host, stamp) -> Event:
    event = Event()
    event.add("uid", f"lesson-{lesson.school_id}-{lesson.id}-{student.id}@{host}")
    event.add("dtstamp", stamp)
    starts_at, ends_at = times
    if starts_at is not None:
        start = dt.datetime.combine(lesson.date, starts_at, tzinfo=zone)
        event.add("dtstart", start)
        if ends_at is not None:
            event.add("dtend", dt.datetime.combine(lesson.date, ends_at, tzinfo=zone))
    else:
        event.add("dtstart", lesson.date)
        event.add("dtend", lesson.date + dt.timedelta(days=1))
    event.add("summary", subject)
    if lesson.room is not None:
        event.add("location", lesson.room.name)
    event.add("description", _lesson_description(lesson))
    if lesson.is_cancelled:
        event.add("status", "CANCELLED")
    else:
        event.add("status", "CONFIRMED")
    return event


def _lesson_description(lesson: Lesson) -> str:
    lines = [_("Lesson %(number)s", number=lesson.lesson_number)]
    if lesson.topic:
        lines.append(_("Topic: %(topic)s", topic=lesson.topic))
    if lesson.is_cancelled:
        lines.append(_("The lesson is cancelled."))
        if lesson.cancel_reason:
            lines.append(lesson.cancel_reason)
    return "\n".join(lines)


def _homework_event(student, assignment, subject, host, stamp) -> Event:
    event = Event()
    event.add("uid", f"homework-{assignment.school_id}-{assignment.id}-{student.id}@{host}")
    event.add("dtstamp", stamp)
    event.add("dtstart", assignment.due_date)
    event.add("dtend", assignment.due_date + dt.timedelta(days=1))
    event.add("summary", _("Homework: %(subject)s", subject=subject))
    event.add("description", assignment.text)
    # An all-day reminder must not mark the whole day busy.
    event.add("transp", "TRANSPARENT")
    return event
