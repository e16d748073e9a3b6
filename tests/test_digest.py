"""Daily digests: who gets one, what it contains, and when the worker queues them."""

import datetime as dt
from decimal import Decimal

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.models import (
    Announcement,
    Assignment,
    AssignmentType,
    Guardian,
    Holiday,
    Lesson,
    Mark,
    NotificationSetting,
    OutgoingMail,
    School,
    Student,
    db,
)
from app.services import digest as digest_service
from app.services.digest import queue_digests, schools_in_session
from app.services.mail import Worker, send_due_mail
from app.services.notifications import database_now, get_or_create_setting
from tests.factories import WEEK_START, add_membership, build_extra_school, make_user
from tests.smtp_server import SMTPTestServer

#: The evening of the factory lesson's day, on the database clock.
NOW = dt.datetime.combine(WEEK_START, dt.time(18, 0))
LATER = dt.datetime(2100, 1, 1)
SENDER = "noreply@school.example"


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _add_parent(school, username, student_id, *, email, active=True, barred=False, digest=True):
    """Add a parent login linked to a student, with the digest turned on or off."""
    user = make_user(username)
    user.email = email
    user.active = active
    add_membership(user, "parent", school=db.session.get(School, school.school_id))
    db.session.add(
        Guardian(
            school_id=school.school_id,
            student_id=student_id,
            user_id=user.id,
            last_name="Родственник",
            first_name=username,
            kind="father",
            is_barred=barred,
        )
    )
    setting = get_or_create_setting(school.school_id, user.id, student_id)
    setting.daily_digest = digest
    return user


@pytest.fixture(scope="module")
def family(app, world):
    """A school whose mother gets the digest for one of her two children.

    The other parents of the child each miss one condition: a placeholder address, a
    blocked login, a barred link, or the digest turned off.
    """
    with app.app_context():
        school = build_extra_school("DG1")
        sid = school.school_id
        anna_id, maria_id = school.ids["Student"], school.ids["SiblingStudent"]

        mother = _user("parent_DG1")
        mother.email = "mother.dg1@example.org"
        get_or_create_setting(sid, mother.id, anna_id).daily_digest = True
        get_or_create_setting(sid, mother.id, maria_id).daily_digest = False

        _add_parent(school, "father_DG1", anna_id, email="father_DG1@test.invalid")
        _add_parent(school, "granny_DG1", anna_id, email="granny.dg1@example.org", active=False)
        _add_parent(school, "barred_DG1", anna_id, email="barred.dg1@example.org", barred=True)
        _add_parent(school, "uncle_DG1", anna_id, email="uncle.dg1@example.org", digest=False)

        # The factory's mark of Anna (5 for a test) was given in the evening's period;
        # her sister got one too, but her digest is off.
        anna_mark = db.session.get(Mark, school.ids["Mark"])
        anna_mark.changed_at = NOW - dt.timedelta(hours=1)
        db.session.add(
            Mark(
                school_id=sid,
                assignment_id=anna_mark.assignment_id,
                student_id=maria_id,
                kind="number",
                value=3,
                changed_at=NOW - dt.timedelta(hours=1),
            )
        )
        announcement = db.session.get(Announcement, school.ids["Announcement"])
        announcement.created_at = NOW - dt.timedelta(hours=3)
        db.session.commit()
        return school


def _digests(school_id: int) -> list[OutgoingMail]:
    statement = (
        select(OutgoingMail)
        .where(OutgoingMail.school_id == school_id, OutgoingMail.kind == "digest")
        .order_by(OutgoingMail.id)
    )
    return list(db.session.scalars(statement))


def _setting(school_id, username, student_id) -> NotificationSetting:
    return db.session.scalar(
        select(NotificationSetting).where(
            NotificationSetting.school_id == school_id,
            NotificationSetting.user_id == _user(username).id,
            NotificationSetting.student_id == student_id,
        )
    )


def test_digest_delivered_to_opted_in_parent_only(app, family, monkeypatch):
    sid = family.school_id
    with app.app_context():
        queued = queue_digests(now=NOW, school_id=sid)
        mails = _digests(sid)
        anna_setting = _setting(sid, "parent_DG1", family.ids["Student"])
        sent_until = anna_setting.digest_sent_until
        father_setting = _setting(sid, "father_DG1", family.ids["Student"])

    assert queued == 1
    assert [mail.recipient for mail in mails] == ["mother.dg1@example.org"]
    assert sent_until == NOW
    # A parent left without an e-mail keeps the period for when an address is added.
    assert father_setting.digest_sent_until is None

    with SMTPTestServer() as server:
        for key, value in {
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": server.port,
            "MAIL_SECURITY": "none",
            "MAIL_USERNAME": "",
            "MAIL_DEFAULT_SENDER": SENDER,
        }.items():
            monkeypatch.setitem(app.config, key, value)
        with app.app_context():
            result = send_due_mail(now=LATER, school_id=sid)
        deliveries = list(server.deliveries)

    assert result.sent == 1
    assert [d.recipients for d in deliveries] == [["mother.dg1@example.org"]]
    [delivery] = deliveries
    body = delivery.text
    public_url = app.config["PUBLIC_URL"].rstrip("/")
    assert "05.10.2026" in delivery.subject
    assert "Школа № DG1" in delivery.subject
    assert "Ученикова Анна, 5А" in body
    assert "05.10.2026, Математика, Контрольная работа: 5" in body
    assert "Математика (" in body
    assert "№ 15, 16" in body
    assert "07.10.2026" in body
    assert "Родительское собрание" in body
    assert "В четверг в 18:00." in body
    assert f"{public_url}/diary/?student={family.ids['Student']}" in body
    assert "Мария" not in body
    assert ": 3" not in body


def test_digest_covers_only_new_items(app, family):
    sid = family.school_id
    anna_id = family.ids["Student"]
    with app.app_context():
        # The first digest of this module's family, in case this test runs alone.
        queue_digests(now=NOW, school_id=sid)
        before = len(_digests(sid))

        assert queue_digests(now=NOW + dt.timedelta(days=1), school_id=sid) == 0
        assert len(_digests(sid)) == before
        assert _setting(sid, "parent_DG1", anna_id).digest_sent_until == NOW + dt.timedelta(days=1)

        mark = db.session.get(Mark, family.ids["Mark"])
        mark.value = 4
        mark.changed_at = NOW + dt.timedelta(days=1, hours=2)
        db.session.commit()
        assert queue_digests(now=NOW + dt.timedelta(days=2), school_id=sid) == 1
        body = _digests(sid)[-1].body

    assert "05.10.2026, Математика, Контрольная работа: 4" in body
    assert "№ 15, 16" not in body
    assert "Родительское собрание" not in body


def test_digest_sent_once_a_day(app, world):
    with app.app_context():
        school = build_extra_school("DG2")
        sid, anna_id = school.school_id, school.ids["Student"]
        mother = _user("parent_DG2")
        mother.email = "mother.dg2@example.org"
        get_or_create_setting(sid, mother.id, anna_id).daily_digest = True
        db.session.get(Mark, school.ids["Mark"]).changed_at = NOW - dt.timedelta(hours=1)
        db.session.commit()
        assert queue_digests(now=NOW, school_id=sid) == 1

        # A worker restarted the same evening finds a mark given since, but sends
        # nothing more until the next day's run.
        db.session.get(Mark, school.ids["Mark"]).changed_at = NOW + dt.timedelta(hours=1)
        db.session.commit()
        assert queue_digests(now=NOW + dt.timedelta(hours=2), school_id=sid) == 0
        assert queue_digests(now=NOW + dt.timedelta(days=1), school_id=sid) == 1


def test_digest_homework_of_the_day_listed(app, world):
    with app.app_context():
        school = build_extra_school("DG3")
        sid, anna_id = school.school_id, school.ids["Student"]
        mother = _user("parent_DG3")
        mother.email = "mother.dg3@example.org"
        get_or_create_setting(sid, mother.id, anna_id).daily_digest = True
        lesson = db.session.get(Lesson, school.ids["Lesson"])
        homework_type = db.session.scalar(
            select(AssignmentType).where(
                AssignmentType.school_id == sid, AssignmentType.is_homework.is_(True)
            )
        )
        next_day = Lesson(
            school_id=sid,
            course_id=lesson.course_id,
            date=WEEK_START + dt.timedelta(days=1),
            lesson_number=1,
        )
        db.session.add(next_day)
        db.session.flush()
        db.session.add(
            Assignment(
                school_id=sid,
                lesson_id=next_day.id,
                type_id=homework_type.id,
                weight=Decimal("1"),
                text="Параграф 7, вопросы 1–3",
                created_at=NOW + dt.timedelta(hours=12),
            )
        )
        db.session.commit()

        assert queue_digests(now=NOW + dt.timedelta(days=1), school_id=sid) == 1
        body = _digests(sid)[-1].body

    assert "Параграф 7, вопросы 1–3" in body
    assert "06.10.2026" in body
    # The homework of the day before is not new in this period.
    assert "№ 15, 16" not in body


def test_digest_homework_entered_late_listed(app, world):
    with app.app_context():
        school = build_extra_school("DG8")
        sid, anna_id = school.school_id, school.ids["Student"]
        mother = _user("parent_DG8")
        mother.email = "mother.dg8@example.org"
        get_or_create_setting(sid, mother.id, anna_id).daily_digest = True
        lesson = db.session.get(Lesson, school.ids["Lesson"])
        homework_type = db.session.scalar(
            select(AssignmentType).where(
                AssignmentType.school_id == sid, AssignmentType.is_homework.is_(True)
            )
        )
        # Entered two days after its lesson, after that day's digest had gone.
        db.session.add(
            Assignment(
                school_id=sid,
                lesson_id=lesson.id,
                type_id=homework_type.id,
                weight=Decimal("1"),
                text="Выучить правило на с. 42",
                created_at=NOW + dt.timedelta(days=2, hours=-2),
            )
        )
        db.session.commit()

        assert queue_digests(now=NOW + dt.timedelta(days=2), school_id=sid) == 1
        body = _digests(sid)[-1].body

    assert "Выучить правило на с. 42" in body
    assert "№ 15, 16" not in body


def test_digest_period_capped_after_long_pause(app, world):
    with app.app_context():
        school = build_extra_school("DG4")
        sid, anna_id = school.school_id, school.ids["Student"]
        mother = _user("parent_DG4")
        mother.email = "mother.dg4@example.org"
        setting = get_or_create_setting(sid, mother.id, anna_id)
        setting.daily_digest = True
        setting.digest_sent_until = NOW - dt.timedelta(days=30)
        db.session.get(Mark, school.ids["Mark"]).changed_at = NOW - dt.timedelta(days=20)
        db.session.commit()

        assert queue_digests(now=NOW, school_id=sid) == 1
        body = _digests(sid)[-1].body
        assert _setting(sid, "parent_DG4", anna_id).digest_sent_until == NOW

    # The mark of 20 days ago is older than the longest period; the day's homework is new.
    assert "Контрольная работа: 5" not in body
    assert "№ 15, 16" in body


def test_schools_in_session(app, world):
    with app.app_context():
        school = build_extra_school("DG5")
        sid = school.school_id
        monday = dt.date(2027, 2, 1)
        saturday, sunday = monday + dt.timedelta(days=5), monday + dt.timedelta(days=6)
        db.session.add(Holiday(school_id=sid, date=monday, name="Карантин"))
        db.session.add(
            Holiday(
                school_id=sid,
                date=sunday + dt.timedelta(days=7),
                name="Перенос рабочего дня",
                is_working_day=True,
            )
        )
        db.session.commit()

        assert sid not in schools_in_session(monday)
        assert world["A"].school_id in schools_in_session(monday)
        assert sid in schools_in_session(saturday)
        assert sid not in schools_in_session(sunday)
        assert sid in schools_in_session(sunday + dt.timedelta(days=7))


def test_worker_queues_digests_once_per_day(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "DIGEST_HOUR", 18)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    calls = []
    monkeypatch.setattr(
        digest_service, "queue_daily_digests", lambda day, now=None: calls.append(day) or 0
    )
    monday = dt.date(2027, 2, 8)
    worker = Worker(interval=1)

    with app.app_context():
        worker.run_round(dt.datetime.combine(monday, dt.time(17, 59)))
        assert calls == []
        worker.run_round(dt.datetime.combine(monday, dt.time(18, 0)))
        worker.run_round(dt.datetime.combine(monday, dt.time(21, 0)))
        assert calls == [monday]
        worker.run_round(dt.datetime.combine(monday + dt.timedelta(days=1), dt.time(19, 0)))
    assert calls == [monday, monday + dt.timedelta(days=1)]


def test_worker_round_queues_real_digest(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "DIGEST_HOUR", 18)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    with app.app_context():
        school = build_extra_school("DG6")
        sid, anna_id = school.school_id, school.ids["Student"]
        mother = _user("parent_DG6")
        mother.email = "mother.dg6@example.org"
        get_or_create_setting(sid, mother.id, anna_id).daily_digest = True
        mark = db.session.get(Mark, school.ids["Mark"])
        mark.changed_at = database_now() - dt.timedelta(hours=1)
        db.session.commit()

        Worker(interval=1).run_round(dt.datetime(2027, 2, 8, 19, 0))
        mails = _digests(sid)

    assert [mail.recipient for mail in mails] == ["mother.dg6@example.org"]
    assert mails[0].status == "queued"


def test_student_who_left_gets_no_digest(app, world):
    with app.app_context():
        school = build_extra_school("DG7")
        sid, anna_id = school.school_id, school.ids["Student"]
        mother = _user("parent_DG7")
        mother.email = "mother.dg7@example.org"
        get_or_create_setting(sid, mother.id, anna_id).daily_digest = True
        db.session.get(Mark, school.ids["Mark"]).changed_at = NOW - dt.timedelta(hours=1)
        db.session.get(Student, anna_id).is_active = False
        db.session.commit()

        assert queue_digests(now=NOW, school_id=sid) == 0
