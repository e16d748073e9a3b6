"""Background report jobs: queue a report, claim it in the worker, build it, keep the file.

A page calls :func:`enqueue` and returns at once. ``flask --app run worker`` calls
:func:`run_due_jobs` in every round. Each job is claimed by one worker only: on
PostgreSQL the oldest queued row is read with ``SELECT … FOR UPDATE SKIP LOCKED``, and on
both databases the claim is a conditional ``UPDATE … WHERE status = 'queued'`` that only
one worker can win.

Every progress step commits the step and a heartbeat. A running job whose heartbeat is
older than ``REPORT_JOB_TIMEOUT_SECONDS`` lost its worker (killed, out of memory, host
down): it is queued again, and after ``REPORT_JOB_MAX_ATTEMPTS`` claims marked failed.
Each claim increments ``attempts``, and a worker writes to its job only while that count
is still its own, so a worker that was presumed dead cannot overwrite the new claim.

Logs name job ids, kinds and user ids, never the report's contents.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from flask import abort, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, false, select, update

from app.models import ReportJob, db
from app.security.scope import Scope
from app.services.notifications import database_now
from app.services.report_kinds import REPORT_KINDS, ReportJobError

log = logging.getLogger(__name__)

#: Jobs run in one worker round at most, so that e-mails wait for at most this many
#: reports before the next round sends them.
DEFAULT_ROUND_LIMIT = 5

#: Jobs shown on the user's page, newest first.
LIST_LIMIT = 50

#: Claims tried in one call when other workers win the race for the same rows.
CLAIM_TRIES = 5

INTERNAL_ERROR = _l(
    "The report could not be built because of an internal error. Queue it again; "
    "if it fails again, tell the server administrator."
)
WORKER_LOST = _l(
    "The report was interrupted %(count)s times before it finished, so it is no longer "
    "retried. Queue it with a shorter period, or tell the server administrator."
)
UNKNOWN_KIND = _l(
    "This kind of report can no longer run in the background. Build it on its own page."
)


class JobLost(Exception):
    """The job is no longer this worker's claim: it was queued again or deleted."""


@dataclass
class JobRound:
    """Counts of one round of report jobs."""

    done: int = 0
    failed: int = 0
    requeued: int = 0
    abandoned: int = 0
    deleted: int = 0


# --- Queueing and reading ----------------------------------------------------------------


def enqueue(
    user_id: int,
    kind: str,
    parameters: dict,
    *,
    locale: str,
    authority_id: int | None = None,
    school_id: int | None = None,
) -> ReportJob:
    """Add a queued job for the user. The caller commits.

    ``authority_id`` and ``school_id`` must come from the user's scope: the worker passes
    them to the report instead of any value in ``parameters``.
    """
    if kind not in REPORT_KINDS:
        raise ValueError(f"unknown report kind {kind!r}")
    if authority_id is None and school_id is None:
        raise ValueError("a report job needs an authority or a school")

    job = ReportJob(
        user_id=user_id,
        authority_id=authority_id,
        school_id=school_id,
        kind=kind,
        parameters=parameters,
        locale=locale,
        status="queued",
        steps_done=0,
        steps_total=0,
        attempts=0,
        stage=_("Waiting for the worker"),
    )
    db.session.add(job)
    db.session.flush()
    log.info("Report job %s (%s) queued by user %s", job.id, kind, user_id)
    return job


def _scope_condition(scope: Scope):
    """Keep the user's own jobs of the session's organisation."""
    if scope.user_id is None:
        return false()
    own = ReportJob.user_id == scope.user_id
    if scope.level == "school":
        return own & (ReportJob.school_id == scope.school_id)
    if scope.level == "authority":
        return own & (ReportJob.authority_id == scope.authority_id) & ReportJob.school_id.is_(None)
    if scope.level == "server":
        return own
    return false()


def user_jobs(scope: Scope) -> list[ReportJob]:
    """List the newest jobs the user queued in the session's organisation."""
    statement = (
        select(ReportJob)
        .where(_scope_condition(scope))
        .order_by(ReportJob.created_at.desc(), ReportJob.id.desc())
        .limit(LIST_LIMIT)
    )
    return list(db.session.scalars(statement))


def job_or_404(scope: Scope, job_id) -> ReportJob:
    """Load one of the user's jobs; any other id, or a missing one, raises 404."""
    try:
        job_id = int(job_id)
    except (TypeError, ValueError):
        abort(404)
    statement = select(ReportJob).where(ReportJob.id == job_id, _scope_condition(scope))
    job = db.session.scalars(statement).first()
    if job is None:
        abort(404)
    return job


def delete_job(scope: Scope, job_id) -> None:
    """Delete one of the user's jobs with its file. The caller commits.

    A running job is deleted too: its worker stops at the next progress step, when its
    write finds no row (:class:`JobLost`).
    """
    job = job_or_404(scope, job_id)
    db.session.delete(job)
    db.session.flush()
    log.info("Report job %s (%s) deleted by user %s", job.id, job.kind, scope.user_id)


def describe(job: ReportJob) -> tuple[str, str]:
    """Return the report's name and its filters in words, for the list page."""
    kind = REPORT_KINDS.get(job.kind)
    if kind is None:
        return job.kind, ""
    return str(kind.label), kind.describe(job.parameters or {})


# --- The worker's side -------------------------------------------------------------------


def run_due_jobs(limit: int = DEFAULT_ROUND_LIMIT) -> JobRound:
    """Requeue the jobs of dead workers, delete expired ones, then run up to ``limit`` jobs."""
    config = current_app.config
    result = JobRound()
    now = database_now()
    result.requeued, result.abandoned = requeue_stale(
        now, config["REPORT_JOB_TIMEOUT_SECONDS"], config["REPORT_JOB_MAX_ATTEMPTS"]
    )
    result.deleted = delete_expired(now, config["REPORT_JOB_KEEP_DAYS"])

    for _round in range(limit):
        job = claim_next()
        if job is None:
            break
        if run_job(job):
            result.done += 1
        else:
            result.failed += 1
    db.session.rollback()
    return result


def claim_next(now: dt.datetime | None = None) -> ReportJob | None:
    """Mark the oldest queued job running for this worker and return it, or None.

    The claim is committed before the report starts, so that the page shows the job
    running and no other worker can take it.
    """
    postgres = db.session.get_bind().dialect.name == "postgresql"
    for _try in range(CLAIM_TRIES):
        moment = now or database_now()
        candidate = (
            select(ReportJob.id)
            .where(ReportJob.status == "queued")
            .order_by(ReportJob.created_at, ReportJob.id)
            .limit(1)
        )
        if postgres:
            candidate = candidate.with_for_update(skip_locked=True)
        job_id = db.session.scalar(candidate)
        if job_id is None:
            db.session.rollback()
            return None
        if claim(job_id, moment):
            return db.session.get(ReportJob, job_id)
    return None


def claim(job_id: int, now: dt.datetime) -> bool:
    """Move one job from queued to running, or return False if another worker claimed it."""
    statement = (
        update(ReportJob)
        .where(ReportJob.id == job_id, ReportJob.status == "queued")
        .values(
            status="running",
            attempts=ReportJob.attempts + 1,
            started_at=now,
            heartbeat_at=now,
            steps_done=0,
            steps_total=0,
        )
        .execution_options(synchronize_session=False)
    )
    claimed = db.session.execute(statement).rowcount == 1
    db.session.commit()
    if claimed:
        log.info("Report job %s claimed", job_id)
    return claimed


class _Claim:
    """A job claimed by this worker, whose writes succeed only while the claim lasts."""

    def __init__(self, job: ReportJob):
        self.job_id = job.id
        self.attempt = job.attempts

    def write(self, **values) -> None:
        """Update the job and commit, or raise JobLost when the claim has ended."""
        statement = (
            update(ReportJob)
            .where(
                ReportJob.id == self.job_id,
                ReportJob.status == "running",
                ReportJob.attempts == self.attempt,
            )
            .values(heartbeat_at=database_now(), **values)
            .execution_options(synchronize_session=False)
        )
        updated = db.session.execute(statement).rowcount
        db.session.commit()
        if updated != 1:
            raise JobLost(self.job_id)

    def progress(self, steps_done: int, steps_total: int, stage: str) -> None:
        self.write(steps_done=steps_done, steps_total=steps_total, stage=str(stage)[:200])


def run_job(job: ReportJob) -> bool:
    """Build a claimed job's report, record the file or the failure, and return True if done."""
    own_claim = _Claim(job)
    kind = REPORT_KINDS.get(job.kind)
    job_kind = job.kind
    # The scope columns override the parameters, so a job reads only its organisation.
    parameters = {
        **(job.parameters or {}),
        "authority_id": job.authority_id,
        "school_id": job.school_id,
    }
    with force_locale(job.locale):
        try:
            if kind is None:
                raise ReportJobError(UNKNOWN_KIND)
            file_name, content = kind.build(parameters, own_claim.progress)
        except JobLost:
            db.session.rollback()
            log.warning("Report job %s (%s) was taken from this worker", own_claim.job_id, job_kind)
            return False
        except ReportJobError as error:
            db.session.rollback()
            log.info("Report job %s (%s) rejected: %s", own_claim.job_id, job_kind, error)
            return _record_failure(own_claim, str(error))
        except Exception:  # noqa: BLE001 - any bug of a report must fail its job, not the worker
            db.session.rollback()
            log.exception("Report job %s (%s) failed", own_claim.job_id, job_kind)
            return _record_failure(own_claim, str(INTERNAL_ERROR))
        return _record_success(own_claim, job_kind, file_name, content)


def _record_success(own_claim: _Claim, kind: str, file_name: str, content: bytes) -> bool:
    try:
        own_claim.write(
            status="done",
            steps_done=ReportJob.steps_total,
            stage=_("Ready"),
            finished_at=database_now(),
            file_name=file_name[:255],
            result=content,
            error=None,
        )
    except JobLost:
        log.warning("Report job %s was taken from this worker before it finished", own_claim.job_id)
        return False
    log.info("Report job %s (%s) done: %s bytes", own_claim.job_id, kind, len(content))
    return True


def _record_failure(own_claim: _Claim, message: str) -> bool:
    try:
        own_claim.write(status="failed", finished_at=database_now(), error=message[:500])
    except JobLost:
        log.warning("Report job %s was taken from this worker before it failed", own_claim.job_id)
    return False


def requeue_stale(now: dt.datetime, timeout_seconds: int, max_attempts: int) -> tuple[int, int]:
    """Queue again the running jobs without a heartbeat for ``timeout_seconds``.

    A job claimed ``max_attempts`` times already is marked failed instead, since its
    report may be what kills the worker. Returns (requeued, failed) counts.
    """
    limit = now - dt.timedelta(seconds=timeout_seconds)
    stale = (ReportJob.status == "running", ReportJob.heartbeat_at < limit)
    rows = db.session.execute(
        select(ReportJob.id, ReportJob.attempts, ReportJob.locale).where(*stale)
    ).all()
    requeued = abandoned = 0
    for job_id, attempts, locale in rows:
        statement = update(ReportJob).where(ReportJob.id == job_id, *stale)
        if attempts >= max_attempts:
            with force_locale(locale):
                message = str(WORKER_LOST) % {"count": attempts}
            statement = statement.values(status="failed", finished_at=now, error=message[:500])
        else:
            statement = statement.values(status="queued", stage=None)
        changed = db.session.execute(statement.execution_options(synchronize_session=False))
        if changed.rowcount != 1:
            continue
        if attempts >= max_attempts:
            abandoned += 1
            log.error("Report job %s failed: its worker was lost %s times", job_id, attempts)
        else:
            requeued += 1
            log.warning("Report job %s queued again: its worker sent no heartbeat", job_id)
    db.session.commit()
    return requeued, abandoned


def delete_expired(now: dt.datetime, keep_days: int) -> int:
    """Delete finished jobs older than ``keep_days`` with their files, and return the count."""
    limit = now - dt.timedelta(days=keep_days)
    statement = delete(ReportJob).where(
        ReportJob.status.in_(("done", "failed")), ReportJob.finished_at < limit
    )
    deleted = db.session.execute(statement.execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if deleted:
        log.info("Report jobs deleted after %s days: %s", keep_days, deleted)
    return deleted
