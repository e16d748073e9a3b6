"""The mail worker: sends the queued e-mails through SMTP and retries the failed ones.

Pages only insert :class:`~app.models.OutgoingMail` rows, so a slow or broken SMTP server
never slows a request. ``flask --app run worker`` calls :func:`send_due_mail` in rounds,
and the same rounds run the background report jobs (``app.services.report_jobs``).

Logs name mail ids and kinds only: addresses, names and bodies of e-mails are personal
data, and SMTP error texts may quote addresses, so only the error class is kept.
"""

import datetime as dt
import logging
import signal
import smtplib
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.models import OutgoingMail, db
from app.services import digest, report_jobs
from app.services.notifications import database_now

log = logging.getLogger(__name__)

#: E-mails sent in one round at most; the rest wait for the next round.
DEFAULT_ROUND_LIMIT = 100

MAIL_SECURITY_MODES = ("starttls", "ssl", "none")

#: Set once the worker has logged that MAIL_SERVER is empty, so the log is not flooded.
_reported_unconfigured = False


@dataclass
class MailRound:
    """Counts of one round of the worker."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    #: True when the SMTP server could not be reached and the round stopped early.
    stopped_early: bool = False

    @property
    def attempted(self) -> int:
        return self.sent + self.retried + self.failed


class ConnectionFailure(Exception):
    """The SMTP connection failed, so no further e-mail of this round can be sent."""

    def __init__(self, error: Exception):
        super().__init__(type(error).__name__)
        self.error = error


def send_due_mail(
    now: dt.datetime | None = None,
    limit: int = DEFAULT_ROUND_LIMIT,
    school_id: int | None = None,
) -> MailRound:
    """Send up to ``limit`` queued e-mails whose next attempt is due at ``now``.

    Each e-mail is claimed, sent and marked in a transaction of its own. On PostgreSQL the
    claim is ``SELECT … FOR UPDATE SKIP LOCKED``, so two workers never send one e-mail
    twice; the row stays locked while it is sent. SQLite runs a single worker.

    A failed attempt is retried after MAIL_RETRY_SECONDS × 2^(attempts − 1) seconds, and
    after MAIL_MAX_ATTEMPTS attempts the e-mail is marked failed. When the server cannot
    be reached at all, the round stops after that one attempt, so an outage costs one
    attempt per round instead of one per queued e-mail.

    ``now`` is on the database clock (:func:`database_now`), like ``next_attempt_at``.
    ``school_id`` limits the round to one school's e-mails. Without MAIL_SERVER the
    queue is left untouched.
    """
    config = current_app.config
    result = MailRound()
    if not _is_configured(config):
        return result

    sender = _Sender(config)
    try:
        for _ in range(limit):
            moment = now or database_now()
            mail = _claim_next(moment, school_id)
            if mail is None:
                break
            if result.attempted == 0:
                log.info("Mail round started")
            try:
                sender.send(mail)
            except ConnectionFailure as failure:
                _record_failure(mail, failure.error, moment, config, result)
                result.stopped_early = True
                log.warning("Mail round stopped: the SMTP server is unreachable")
                break
            except (smtplib.SMTPException, OSError) as error:
                _record_failure(mail, error, moment, config, result)
            except ValueError as error:
                # The headers cannot be built (a line break in the address or subject):
                # no retry can help, so the e-mail fails at once.
                _record_failure(mail, error, moment, config, result, permanent=True)
            else:
                _record_success(mail, moment, result)
    finally:
        sender.close()
        # End the transaction of the last claim, which found nothing, or of an error.
        db.session.rollback()

    if result.attempted:
        log.info(
            "Mail round finished: %s sent, %s to retry, %s failed",
            result.sent,
            result.retried,
            result.failed,
        )
    return result


def _is_configured(config) -> bool:
    global _reported_unconfigured
    if not config.get("MAIL_SERVER"):
        if not _reported_unconfigured:
            log.warning("MAIL_SERVER is not set: queued e-mails stay in the queue unsent")
            _reported_unconfigured = True
        return False
    if config.get("MAIL_SECURITY") not in MAIL_SECURITY_MODES:
        log.error(
            "MAIL_SECURITY %r is invalid: use one of %s; queued e-mails stay unsent",
            config.get("MAIL_SECURITY"),
            ", ".join(MAIL_SECURITY_MODES),
        )
        return False
    return True


def _claim_next(now: dt.datetime, school_id: int | None) -> OutgoingMail | None:
    """Lock and return the oldest due e-mail that no other worker holds."""
    statement = (
        select(OutgoingMail)
        .where(OutgoingMail.status == "queued", OutgoingMail.next_attempt_at <= now)
        .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id)
        .limit(1)
    )
    if school_id is not None:
        statement = statement.where(OutgoingMail.school_id == school_id)
    if db.session.get_bind().dialect.name == "postgresql":
        statement = statement.with_for_update(skip_locked=True)
    return db.session.scalars(statement).first()


def _record_success(mail: OutgoingMail, now: dt.datetime, result: MailRound) -> None:
    mail.attempts += 1
    mail.status = "sent"
    mail.sent_at = now
    mail.last_error = None
    db.session.commit()
    result.sent += 1
    log.info("Mail %s (%s) sent on attempt %s", mail.id, mail.kind, mail.attempts)


def _record_failure(mail, error, now, config, result: MailRound, permanent=False) -> None:
    """Count a failed attempt: schedule the retry with backoff, or give up at the limit."""
    mail.attempts += 1
    mail.last_error = type(error).__name__[:100]
    if permanent or mail.attempts >= config["MAIL_MAX_ATTEMPTS"]:
        mail.status = "failed"
        db.session.commit()
        result.failed += 1
        log.error(
            "Mail %s (%s) failed after %s attempts: %s",
            mail.id,
            mail.kind,
            mail.attempts,
            mail.last_error,
        )
        return
    delay = retry_delay(mail.attempts, config["MAIL_RETRY_SECONDS"])
    mail.next_attempt_at = now + delay
    db.session.commit()
    result.retried += 1
    log.warning(
        "Mail %s (%s) attempt %s failed: %s; retry in %s s",
        mail.id,
        mail.kind,
        mail.attempts,
        mail.last_error,
        int(delay.total_seconds()),
    )


def retry_delay(attempts: int, retry_seconds: int) -> dt.timedelta:
    """Return the wait after the given number of failed attempts: doubled each time."""
    return dt.timedelta(seconds=retry_seconds * 2 ** (attempts - 1))


def build_message(mail: OutgoingMail, sender: str) -> EmailMessage:
    """Build the UTF-8 e-mail of a queued row.

    The Message-ID is derived from the row id, so a resend after a crash between sending
    and recording carries the same id and mail clients can drop the duplicate.
    """
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = sender
    message["To"] = mail.recipient
    message["Date"] = formatdate(localtime=True)
    domain = sender.rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<outgoing-mail-{mail.id}@{domain}>"
    message.set_content(mail.body, charset="utf-8")
    return message


def tls_context() -> ssl.SSLContext:
    """Return the TLS context of SMTP connections: the system's trusted certificates."""
    return ssl.create_default_context()


class _Sender:
    """One SMTP connection, opened at the first e-mail of a round and reused for the rest."""

    def __init__(self, config):
        self.config = config
        self.connection: smtplib.SMTP | None = None

    def send(self, mail: OutgoingMail) -> None:
        """Send one e-mail; raise ConnectionFailure when the server cannot be used at all."""
        if self.connection is None:
            try:
                self.connection = self._connect()
            except (smtplib.SMTPException, OSError, UnicodeError) as error:
                # UnicodeError: smtplib sends the login in ASCII only, so a password
                # with other letters fails here, for every e-mail alike.
                raise ConnectionFailure(error) from error
        message = build_message(mail, self.config["MAIL_DEFAULT_SENDER"])
        try:
            self.connection.send_message(message)
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
            # The server refused this one e-mail (for example 451 or 550) and reset the
            # session, so the connection serves the next one, unless a 421 reply closed it.
            if self.connection.sock is None:
                self.connection = None
            raise
        except (smtplib.SMTPException, OSError) as error:
            self.close()
            raise ConnectionFailure(error) from error

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT"]
        if config["MAIL_SECURITY"] == "ssl":
            connection = smtplib.SMTP_SSL(host, port, timeout=timeout, context=tls_context())
        else:
            connection = smtplib.SMTP(host, port, timeout=timeout)
        try:
            if config["MAIL_SECURITY"] == "starttls":
                connection.starttls(context=tls_context())
            if config.get("MAIL_USERNAME"):
                connection.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
        except BaseException:
            connection.close()
            raise
        return connection

    def close(self) -> None:
        if self.connection is None:
            return
        try:
            self.connection.quit()
        except (smtplib.SMTPException, OSError):
            self.connection.close()
        self.connection = None


# --- The worker loop -------------------------------------------------------------------


class Worker:
    """Rounds of background work: due e-mails and report jobs every round, digests once a day.

    NOTE: a round runs its report jobs one after another, so a long report delays the
    next e-mails by its duration. On PostgreSQL a second worker process can share the
    load. SQLite supports one worker only, because the mail claim locks no rows there.
    """

    def __init__(self, interval: float):
        self.interval = interval
        #: The local day whose digests were queued by this process.
        self.digest_day: dt.date | None = None
        self._stop = threading.Event()

    def run(self, once: bool = False) -> None:
        """Run rounds until stopped by SIGTERM or Ctrl-C, or one round with ``once``."""
        previous_handler = _install_sigterm(self.stop)
        log.info("Worker started (interval %s s, once: %s)", self.interval, once)
        try:
            while not self._stop.is_set():
                self.run_round()
                if once:
                    break
                self._stop.wait(self.interval)
        except KeyboardInterrupt:
            log.info("Worker interrupted")
        finally:
            _restore_sigterm(previous_handler)
            log.info("Worker stopped")

    def stop(self, *_args) -> None:
        """Let the current round finish, then end :meth:`run`."""
        self._stop.set()

    def run_round(self, local_now: dt.datetime | None = None) -> None:
        """Queue the digests when they are due, send the due e-mails, then run report jobs.

        A database error ends that step of the round, not the worker: it is logged by
        class only (its text may quote e-mail addresses) and the next round tries again.
        """
        try:
            self._queue_digests_when_due(local_now or dt.datetime.now())
            send_due_mail()
        except SQLAlchemyError as error:
            db.session.rollback()
            log.error("Worker round failed: %s", type(error).__name__)
        try:
            report_jobs.run_due_jobs()
        except SQLAlchemyError as error:
            db.session.rollback()
            log.error("Report jobs round failed: %s", type(error).__name__)

    def _queue_digests_when_due(self, local_now: dt.datetime) -> None:
        today = local_now.date()
        if local_now.hour < current_app.config["DIGEST_HOUR"] or self.digest_day == today:
            return
        log.info("Daily digests started for %s", today.isoformat())
        count = digest.queue_daily_digests(today)
        self.digest_day = today
        log.info("Daily digests finished: %s queued", count)


#: Returned by _install_sigterm when no handler was installed.
_NOT_INSTALLED = object()


def _install_sigterm(handler):
    # Signal handlers can only be set from the main thread; a worker run elsewhere
    # (tests) relies on stop() instead.
    if threading.current_thread() is not threading.main_thread():
        return _NOT_INSTALLED
    return signal.signal(signal.SIGTERM, handler)


def _restore_sigterm(previous) -> None:
    if previous is not _NOT_INSTALLED:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
