"""The mail worker against a real SMTP server on 127.0.0.1: delivery, retries, logs."""

import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select, text

from app.models import OutgoingMail, db
from app.services import mail as mail_service
from app.services.mail import Worker, send_due_mail
from app.services.notifications import get_or_create_setting, notify, queue_mail
from tests.factories import build_extra_school
from tests.smtp_server import Authenticator, SMTPTestServer, free_port, make_certificate

ROOT = Path(__file__).resolve().parent.parent
SENDER = "Школа <noreply@school.example>"
#: A moment on the database clock that every queued row of these tests is due at.
LATER = dt.datetime(2100, 1, 1, 12, 0)


@pytest.fixture()
def mail_log(monkeypatch):
    """Enable the worker's logger, which the migrations' logging.config.fileConfig disables."""
    logger = logging.getLogger("app.services.mail")
    monkeypatch.setattr(logger, "disabled", False)
    return logger


@pytest.fixture()
def smtp():
    with SMTPTestServer() as server:
        yield server


def use_server(app, monkeypatch, port, **settings):
    """Point the app's mail settings at a local server for one test."""
    values = {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
        "MAIL_SECURITY": "none",
        "MAIL_USERNAME": "",
        "MAIL_PASSWORD": "",
        "MAIL_DEFAULT_SENDER": SENDER,
        "MAIL_TIMEOUT": 5,
        "MAIL_MAX_ATTEMPTS": 4,
        "MAIL_RETRY_SECONDS": 60,
        **settings,
    }
    for key, value in values.items():
        monkeypatch.setitem(app.config, key, value)


def queue(app, school_id: int, recipient: str, subject="Новое сообщение", body="Текст письма"):
    with app.app_context():
        mail = queue_mail(school_id, recipient, subject, body, "message")
        db.session.flush()
        mail.next_attempt_at = dt.datetime(2026, 10, 5, 12, 0)
        db.session.commit()
        return mail.id


def row(app, mail_id: int) -> OutgoingMail:
    with app.app_context():
        mail = db.session.get(OutgoingMail, mail_id)
        db.session.expunge(mail)
        return mail


def run_round(app, school_id: int, now=LATER, **kwargs):
    with app.app_context():
        return send_due_mail(now=now, school_id=school_id, **kwargs)


def test_message_notice_email_delivered(app, world, smtp, monkeypatch):
    use_server(app, monkeypatch, smtp.port)
    with app.app_context():
        school = build_extra_school("MW1")
        parent = db.session.scalar(select(User).where(User.username == "parent_MW1"))
        parent.email = "mother.mw1@example.org"
        get_or_create_setting(school.school_id, parent.id, None).message_email = True
        notify(
            school.school_id,
            parent.id,
            "message",
            "Новое сообщение от учителя",
            "/messages/",
            mail_subject="Новое сообщение: «Экскурсия»",
            mail_body="Учитель написал вам сообщение «Экскурсия в музей».",
        )
        db.session.commit()
        mail_id = db.session.scalar(
            select(OutgoingMail.id).where(
                OutgoingMail.school_id == school.school_id,
                OutgoingMail.recipient == "mother.mw1@example.org",
            )
        )

    result = run_round(app, school.school_id, now=None)

    assert result.sent == 1
    [delivery] = smtp.delivered_to("mother.mw1@example.org")
    assert delivery.subject == "Новое сообщение: «Экскурсия»"
    assert delivery.message["From"] == SENDER
    assert delivery.message["To"] == "mother.mw1@example.org"
    assert delivery.message.get_content_type() == "text/plain"
    assert delivery.message.get_content_charset() == "utf-8"
    assert delivery.text.strip() == "Учитель написал вам сообщение «Экскурсия в музей»."
    assert delivery.message["Message-ID"] == f"<outgoing-mail-{mail_id}@school.example>"
    stored = row(app, mail_id)
    assert stored.status == "sent"
    assert stored.attempts == 1
    assert stored.sent_at is not None
    assert stored.last_error is None


def test_notice_without_opt_in_or_address_queues_nothing(app, world):
    with app.app_context():
        school = build_extra_school("MW2")
        parent = db.session.scalar(select(User).where(User.username == "parent_MW2"))
        notify(school.school_id, parent.id, "message", "Без подписки", mail_subject="Тема")
        get_or_create_setting(school.school_id, parent.id, None).message_email = True
        # The factory's address is a placeholder in the reserved .invalid domain.
        notify(school.school_id, parent.id, "message", "Без адреса", mail_subject="Тема")
        db.session.commit()
        queued = db.session.scalars(
            select(OutgoingMail).where(
                OutgoingMail.school_id == school.school_id, OutgoingMail.status == "queued"
            )
        ).all()
    assert queued == []


def test_refused_mail_retried_with_backoff(app, world, smtp, monkeypatch):
    use_server(app, monkeypatch, smtp.port, MAIL_RETRY_SECONDS=60)
    with app.app_context():
        school = build_extra_school("MW3")
    mail_id = queue(app, school.school_id, "retry.mw3@example.org")
    smtp.handler.failures["retry.mw3@example.org"] = 2
    start = dt.datetime(2026, 10, 5, 12, 0)

    first = run_round(app, school.school_id, now=start)
    after_first = row(app, mail_id)
    assert first.retried == 1
    assert after_first.status == "queued"
    assert after_first.attempts == 1
    assert after_first.last_error == "SMTPDataError"
    assert after_first.next_attempt_at == start + dt.timedelta(seconds=60)

    early = run_round(app, school.school_id, now=start + dt.timedelta(seconds=59))
    assert early.attempted == 0
    assert row(app, mail_id).attempts == 1

    run_round(app, school.school_id, now=start + dt.timedelta(seconds=60))
    after_second = row(app, mail_id)
    assert after_second.attempts == 2
    assert after_second.next_attempt_at == start + dt.timedelta(seconds=60 + 120)

    last = run_round(app, school.school_id, now=start + dt.timedelta(seconds=180))
    delivered = row(app, mail_id)
    assert last.sent == 1
    assert delivered.status == "sent"
    assert delivered.attempts == 3
    assert delivered.last_error is None
    assert smtp.handler.refused == ["retry.mw3@example.org"] * 2
    assert len(smtp.delivered_to("retry.mw3@example.org")) == 1


def test_mail_failed_after_max_attempts(app, world, smtp, monkeypatch):
    use_server(app, monkeypatch, smtp.port, MAIL_MAX_ATTEMPTS=3, MAIL_RETRY_SECONDS=10)
    with app.app_context():
        school = build_extra_school("MW4")
    mail_id = queue(app, school.school_id, "never.mw4@example.org")
    good_id = queue(app, school.school_id, "fine.mw4@example.org")
    smtp.handler.failures["never.mw4@example.org"] = 100

    now = dt.datetime(2026, 10, 5, 12, 0)
    for _ in range(3):
        run_round(app, school.school_id, now=now)
        now += dt.timedelta(hours=1)
    result = run_round(app, school.school_id, now=now)

    failed = row(app, mail_id)
    assert failed.status == "failed"
    assert failed.attempts == 3
    assert failed.last_error == "SMTPDataError"
    assert result.attempted == 0
    assert smtp.delivered_to("never.mw4@example.org") == []
    # A refused recipient does not hold up the other e-mails of the round.
    assert row(app, good_id).status == "sent"
    assert len(smtp.delivered_to("fine.mw4@example.org")) == 1


def test_unreachable_server_loses_nothing(app, world, monkeypatch):
    closed_port = free_port()
    use_server(app, monkeypatch, closed_port, MAIL_RETRY_SECONDS=30)
    with app.app_context():
        school = build_extra_school("MW5")
    first_id = queue(app, school.school_id, "first.mw5@example.org")
    second_id = queue(app, school.school_id, "second.mw5@example.org")
    start = dt.datetime(2026, 10, 5, 12, 0)

    result = run_round(app, school.school_id, now=start)

    assert result.stopped_early
    assert result.retried == 1
    tried = row(app, first_id)
    assert tried.attempts == 1
    assert tried.last_error == "ConnectionRefusedError"
    assert tried.next_attempt_at == start + dt.timedelta(seconds=30)
    # The round stopped at the unreachable server: the second e-mail kept its attempts.
    assert row(app, second_id).attempts == 0

    with SMTPTestServer() as server:
        monkeypatch.setitem(app.config, "MAIL_PORT", server.port)
        result = run_round(app, school.school_id, now=start + dt.timedelta(seconds=30))
        assert result.sent == 2
        assert len(server.delivered_to("first.mw5@example.org")) == 1
        assert len(server.delivered_to("second.mw5@example.org")) == 1
    assert row(app, first_id).status == "sent"
    assert row(app, second_id).status == "sent"


def test_worker_logs_no_address(app, world, smtp, monkeypatch, caplog, mail_log):
    use_server(app, monkeypatch, smtp.port, MAIL_MAX_ATTEMPTS=2)
    with app.app_context():
        school = build_extra_school("MW6")
    sent_id = queue(app, school.school_id, "private.mw6@example.org", body="Ученикова Анна")
    refused_id = queue(app, school.school_id, "secret.mw6@example.org")
    smtp.handler.failures["secret.mw6@example.org"] = 5

    with caplog.at_level(logging.DEBUG):
        run_round(app, school.school_id, now=dt.datetime(2026, 10, 5, 12, 0))
        run_round(app, school.school_id, now=LATER)

    # The test SMTP server logs envelopes itself; only the application's lines count.
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("app."))
    assert row(app, refused_id).status == "failed"
    assert f"Mail {sent_id} (message) sent" in logged
    assert f"Mail {refused_id} (message) attempt 1 failed: SMTPDataError" in logged
    assert f"Mail {refused_id} (message) failed after 2 attempts" in logged
    for secret in ("private.mw6", "secret.mw6", "example.org", "Ученикова"):
        assert secret not in logged


def test_without_mail_server_queue_untouched(app, world, monkeypatch, caplog, mail_log):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setattr(mail_service, "_reported_unconfigured", False)
    with app.app_context():
        school = build_extra_school("MW7")
    mail_id = queue(app, school.school_id, "waiting.mw7@example.org")

    with caplog.at_level(logging.INFO, logger="app.services.mail"):
        first = run_round(app, school.school_id)
        second = run_round(app, school.school_id)

    assert first.attempted == second.attempted == 0
    waiting = row(app, mail_id)
    assert waiting.status == "queued"
    assert waiting.attempts == 0
    assert caplog.text.count("MAIL_SERVER is not set") == 1


def test_line_break_in_address_fails_at_once(app, world, smtp, monkeypatch):
    use_server(app, monkeypatch, smtp.port)
    with app.app_context():
        school = build_extra_school("MW8")
    mail_id = queue(app, school.school_id, "a.mw8@example.org\nBcc: b.mw8@example.org")

    result = run_round(app, school.school_id)

    broken = row(app, mail_id)
    assert result.failed == 1
    assert broken.status == "failed"
    assert broken.attempts == 1
    assert broken.last_error == "ValueError"
    assert smtp.deliveries == []


def test_login_over_starttls(app, world, monkeypatch, tmp_path):
    certificate = make_certificate(tmp_path)
    authenticator = Authenticator("school-mailer", "Secret-1")
    client_context = mail_service.ssl.create_default_context(cafile=str(certificate[0]))
    monkeypatch.setattr(mail_service, "tls_context", lambda: client_context)
    with app.app_context():
        school = build_extra_school("MW9")
    mail_id = queue(app, school.school_id, "tls.mw9@example.org")

    with SMTPTestServer(authenticator=authenticator, certificate=certificate, starttls=True) as s:
        use_server(
            app,
            monkeypatch,
            s.port,
            MAIL_SECURITY="starttls",
            MAIL_USERNAME="school-mailer",
            MAIL_PASSWORD="Secret-1",
        )
        result = run_round(app, school.school_id)
        assert len(s.delivered_to("tls.mw9@example.org")) == 1

    assert result.sent == 1
    assert authenticator.logins == ["school-mailer"]
    assert row(app, mail_id).status == "sent"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_wrong_password_retried(app, world, monkeypatch):
    authenticator = Authenticator("school-mailer", "right")
    with app.app_context():
        school = build_extra_school("MW10")
    mail_id = queue(app, school.school_id, "auth.mw10@example.org")

    with SMTPTestServer(authenticator=authenticator) as server:
        use_server(app, monkeypatch, server.port, MAIL_USERNAME="school-mailer")
        monkeypatch.setitem(app.config, "MAIL_PASSWORD", "wrong")
        result = run_round(app, school.school_id)
        assert server.deliveries == []

    refused = row(app, mail_id)
    assert result.stopped_early
    assert refused.status == "queued"
    assert refused.last_error == "SMTPAuthenticationError"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_non_ascii_password_keeps_mail_queued(app, world, monkeypatch):
    """smtplib logs in with ASCII only: a setting error is retried, never a failed e-mail."""
    authenticator = Authenticator("school-mailer", "right")
    with app.app_context():
        school = build_extra_school("MW15")
    mail_id = queue(app, school.school_id, "ascii.mw15@example.org")

    with SMTPTestServer(authenticator=authenticator) as server:
        use_server(app, monkeypatch, server.port, MAIL_USERNAME="school-mailer")
        monkeypatch.setitem(app.config, "MAIL_PASSWORD", "Пароль")
        result = run_round(app, school.school_id)

    kept = row(app, mail_id)
    assert result.stopped_early
    assert kept.status == "queued"
    assert kept.last_error == "UnicodeEncodeError"


def test_implicit_tls(app, world, monkeypatch, tmp_path):
    certificate = make_certificate(tmp_path)
    client_context = mail_service.ssl.create_default_context(cafile=str(certificate[0]))
    monkeypatch.setattr(mail_service, "tls_context", lambda: client_context)
    with app.app_context():
        school = build_extra_school("MW11")
    mail_id = queue(app, school.school_id, "ssl.mw11@example.org")

    with SMTPTestServer(certificate=certificate, implicit_tls=True) as server:
        use_server(app, monkeypatch, server.port, MAIL_SECURITY="ssl")
        result = run_round(app, school.school_id)
        assert len(server.delivered_to("ssl.mw11@example.org")) == 1

    assert result.sent == 1
    assert row(app, mail_id).status == "sent"


def test_locked_mail_skipped_by_second_worker(app, world, smtp, monkeypatch):
    """A row another worker has locked (FOR UPDATE) is skipped, so it is sent only once."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SKIP LOCKED claims are a PostgreSQL feature; SQLite runs one worker")
        school = build_extra_school("MW12")
    use_server(app, monkeypatch, smtp.port)
    mail_id = queue(app, school.school_id, "locked.mw12@example.org")

    with app.app_context():
        other_worker = db.engine.connect()
        transaction = other_worker.begin()
        other_worker.execute(
            text("SELECT id FROM outgoing_mail WHERE id = :id FOR UPDATE"), {"id": mail_id}
        )
        try:
            skipped = send_due_mail(now=LATER, school_id=school.school_id)
        finally:
            transaction.rollback()
            other_worker.close()

    assert skipped.attempted == 0
    assert row(app, mail_id).status == "queued"
    assert run_round(app, school.school_id).sent == 1
    assert len(smtp.delivered_to("locked.mw12@example.org")) == 1


def test_worker_round_sends_and_stops(app, world, smtp, monkeypatch):
    use_server(app, monkeypatch, smtp.port)
    # No digest run: the hour is never reached.
    monkeypatch.setitem(app.config, "DIGEST_HOUR", 24)
    with app.app_context():
        school = build_extra_school("MW13")
    mail_id = queue(app, school.school_id, "worker.mw13@example.org")

    worker = Worker(interval=0.05)
    # The worker runs in a thread with an app context of its own, as the command does.
    thread = threading.Thread(target=_run_in_context, args=(app, worker))
    thread.start()
    deadline = time.monotonic() + 10
    while row(app, mail_id).status != "sent" and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.stop()
    thread.join(timeout=10)

    assert not thread.is_alive()
    assert row(app, mail_id).status == "sent"
    assert len(smtp.delivered_to("worker.mw13@example.org")) == 1


def _run_in_context(app, worker):
    with app.app_context():
        worker.run()


def test_worker_command_once(app, world, smtp, monkeypatch):
    use_server(app, monkeypatch, smtp.port)
    monkeypatch.setitem(app.config, "DIGEST_HOUR", 24)
    with app.app_context():
        school = build_extra_school("MW14")
    mail_id = queue(app, school.school_id, "once.mw14@example.org")

    result = app.test_cli_runner().invoke(args=["worker", "--once"])

    assert result.exit_code == 0, result.output
    assert row(app, mail_id).status == "sent"


def test_worker_process_stops_on_sigterm(app, world):
    environment = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "MAIL_SERVER": "",
        "DIGEST_HOUR": "24",
    }
    command = [sys.executable, "-m", "flask", "--app", "run", "worker", "--interval", "60"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=environment, stderr=subprocess.PIPE, text=True
    )
    try:
        started = _wait_for_line(process, "Worker started", timeout=60)
        assert started, "the worker did not log its start"
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    rest = process.stderr.read()
    assert process.returncode == 0
    assert "Worker stopped" in rest


def _wait_for_line(process, fragment: str, timeout: float) -> bool:
    found = threading.Event()

    def read():
        for line in process.stderr:
            if fragment in line:
                found.set()
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return found.wait(timeout)
