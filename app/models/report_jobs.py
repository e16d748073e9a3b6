"""Background report jobs: a report queued by a user and built by ``flask --app run worker``."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    func,
)
from sqlalchemy.orm import deferred

from app.models.base import db

#: States of a report job, in the order a job passes through them.
REPORT_JOB_STATUSES = {
    "queued": _l("Queued"),
    "running": _l("Running"),
    "done": _l("Done"),
    "failed": _l("Failed"),
}


class ReportJob(db.Model):
    """A report built in the background, with its progress and, once done, its XLSX file.

    A job belongs to the organisation it was queued in: an authority (``authority_id``
    alone) or a school (``school_id``, and its authority). The table is not school-owned
    because an authority's job has no school. Pages filter jobs by the requesting user and
    the session's organisation.

    The XLSX file is stored in the row, not in the instance folder, because the web servers
    and the worker may run on hosts that share only the database. A database backup then
    contains the files too, and an XLSX summary takes tens of kilobytes. The worker deletes
    finished jobs after ``REPORT_JOB_KEEP_DAYS``, so the table stays small.
    """

    __tablename__ = "report_job"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued','running','done','failed')", name="ck_report_job_status"
        ),
        CheckConstraint(
            "authority_id IS NOT NULL OR school_id IS NOT NULL", name="ck_report_job_scope"
        ),
        CheckConstraint(
            "steps_done >= 0 AND steps_total >= 0", name="ck_report_job_steps_not_negative"
        ),
        # The worker's claim: the oldest queued job, and running jobs by heartbeat.
        Index("ix_report_job_status_created", "status", "created_at"),
        Index("ix_report_job_user_created", "user_id", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    #: The user who queued the job, the only one who may list and download it.
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    authority_id = Column(
        Integer, ForeignKey("education_authority.id", ondelete="CASCADE"), index=True
    )
    school_id = Column(Integer, ForeignKey("school.id", ondelete="CASCADE"), index=True)
    #: A key of ``app.services.report_kinds.REPORT_KINDS``.
    kind = Column(String(40), nullable=False)
    #: The report's filters, as the report kind reads them (year, term …).
    parameters = Column(JSON, nullable=False, default=dict)
    #: The language of the session that queued the job, used for the file and the texts.
    locale = Column(String(10), nullable=False, default="ru")
    status = Column(
        String(10), nullable=False, default="queued", info={"choices": REPORT_JOB_STATUSES}
    )
    steps_done = Column(Integer, nullable=False, default=0)
    steps_total = Column(Integer, nullable=False, default=0)
    #: The current step in words, in the job's language («Чтение отметок»).
    stage = Column(String(200))
    #: Times the job was claimed. A job whose worker keeps dying is marked failed after
    #: ``REPORT_JOB_MAX_ATTEMPTS`` claims.
    attempts = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime, nullable=False, server_default=func.now())
    started_at = Column(DateTime)
    #: Set at the claim and at every progress step. A running job whose heartbeat is
    #: older than ``REPORT_JOB_TIMEOUT_SECONDS`` is taken to have lost its worker.
    heartbeat_at = Column(DateTime)
    finished_at = Column(DateTime)
    #: The download name without ``.xlsx``.
    file_name = Column(String(255))
    #: The XLSX bytes, deferred so that listing jobs never loads the files.
    result = deferred(Column(LargeBinary))
    #: The reason of a failure for the user, in the job's language. The traceback goes
    #: to the worker's log only.
    error = Column(String(500))

    @property
    def percent(self) -> int:
        """Return the share of steps done, 0 to 100, for the progress bar."""
        if self.status == "done":
            return 100
        if not self.steps_total:
            return 0
        return min(100, self.steps_done * 100 // self.steps_total)

    @property
    def is_active(self) -> bool:
        return self.status in ("queued", "running")
