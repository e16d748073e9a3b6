"""The page «My reports»: the user's background report jobs, their progress and files."""

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.models import db
from app.models.report_jobs import REPORT_JOB_STATUSES
from app.reports.xlsx import xlsx_response
from app.security.scope import current_scope
from app.services import report_jobs

REPORT_JOBS_PERMISSION = "ReportJobs"

#: Shown after a report page queued a job; the user is then taken to «My reports».
QUEUED_MESSAGE = _l(
    "The report is queued. It stays on the page «My reports» when you leave this page."
)

#: Seconds between reloads of the page while a job of the list is queued or running.
REFRESH_SECONDS = 3


class ReportJobView(BaseView):
    """The user's own report jobs in the current organisation; any other id gets 404."""

    route_base = "/report-jobs"
    default_view = "index"
    class_permission_name = REPORT_JOBS_PERMISSION
    method_permission_name = {"index": "read", "download": "read", "delete": "write"}

    @expose("/")
    @has_access
    def index(self):
        jobs = report_jobs.user_jobs(current_scope())
        highlight = request.args.get("highlight", "")
        return self.render_template(
            "report_jobs.html",
            jobs=jobs,
            describe=report_jobs.describe,
            statuses=REPORT_JOB_STATUSES,
            highlight=int(highlight) if highlight.isdigit() else None,
            refresh_seconds=REFRESH_SECONDS if any(job.is_active for job in jobs) else None,
            keep_days=current_app.config["REPORT_JOB_KEEP_DAYS"],
            can_delete=self.appbuilder.sm.has_access("can_write", REPORT_JOBS_PERMISSION),
        )

    @expose("/<int:job_id>/download")
    @has_access
    def download(self, job_id):
        job = report_jobs.job_or_404(current_scope(), job_id)
        if job.status != "done" or job.result is None:
            abort(404)
        return xlsx_response(job.result, job.file_name or "report")

    @expose("/<int:job_id>/delete", methods=["POST"])
    @has_access
    def delete(self, job_id):
        report_jobs.delete_job(current_scope(), job_id)
        db.session.commit()
        flash(_("The report is deleted."), "success")
        return redirect(url_for(".index"))


def register(appbuilder) -> None:
    # The menu item's name differs from the permission name: FAB's permission update
    # deletes menu_access from a view menu that is also a view's permission name.
    appbuilder.add_view(
        ReportJobView,
        "My reports",
        label=_l("My reports"),
        icon="fa-hourglass-half",
    )
