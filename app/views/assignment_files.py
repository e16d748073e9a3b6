"""Files of assignments: attached in the journal, downloaded from the journal or the diary."""

import logging

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _

from app.models import db
from app.security.scope import current_scope
from app.services import assignment_files
from app.services.assignment_files import AssignmentFilesError
from app.services.attachments import files_by_assignment, format_size, send_attachment

log = logging.getLogger(__name__)


class AssignmentFilesView(BaseView):
    """The files of one assignment, reached from its lesson page."""

    route_base = "/journal/assignment"
    class_permission_name = "Journal"
    method_permission_name = {"files": "read", "upload": "write", "delete": "write"}

    @expose("/<int:assignment_id>/files", methods=["GET"])
    @has_access
    def files(self, assignment_id):
        scope = current_scope()
        assignment = assignment_files.assignment_for_journal_or_404(scope, assignment_id, False)
        return self._render(scope, assignment, errors=[])

    @expose("/<int:assignment_id>/files", methods=["POST"])
    @has_access
    def upload(self, assignment_id):
        scope = current_scope()
        assignment = assignment_files.assignment_for_journal_or_404(scope, assignment_id, True)
        if not assignment_files.may_attach(scope, assignment):
            abort(403)
        uploads = [f for f in request.files.getlist("files") if f and f.filename]
        try:
            count = assignment_files.add_files(assignment, uploads, scope.user_id)
        except AssignmentFilesError as error:
            log.info(
                "Files of assignment %s not stored for user %s: %s",
                assignment.id,
                scope.user_id,
                error,
            )
            return self._render(scope, assignment, error.messages), 400
        flash(_("Files attached: %(count)s.", count=count), "success")
        return redirect(url_for("AssignmentFilesView.files", assignment_id=assignment.id))

    @expose("/<int:assignment_id>/files/<int:attachment_id>/delete", methods=["POST"])
    @has_access
    def delete(self, assignment_id, attachment_id):
        scope = current_scope()
        assignment = assignment_files.assignment_for_journal_or_404(scope, assignment_id, True)
        if not assignment_files.may_attach(scope, assignment):
            abort(403)
        assignment_files.delete_file(assignment, attachment_id)
        flash(_("The file is removed."), "success")
        return redirect(url_for("AssignmentFilesView.files", assignment_id=assignment.id))

    def _render(self, scope, assignment, errors):
        db.session.refresh(assignment)
        return self.render_template(
            "journal_assignment_files.html",
            assignment=assignment,
            files=files_by_assignment(assignment.school_id, [assignment.id]).get(assignment.id, []),
            may_attach=assignment_files.may_attach(scope, assignment),
            max_files=assignment_files.MAX_FILES,
            errors=errors,
            format_size=format_size,
        )


class AssignmentFileDownloadView(BaseView):
    """Downloads for everyone who sees the assignment: journal readers, students, parents."""

    route_base = "/assignment-files"
    class_permission_name = "Diary"
    method_permission_name = {"download": "read"}

    @expose("/<int:attachment_id>")
    @has_access
    def download(self, attachment_id):
        may_read_journal = self.appbuilder.sm.has_access("can_read", "Journal")
        attachment = assignment_files.file_or_404(current_scope(), attachment_id, may_read_journal)
        return send_attachment(attachment)


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(AssignmentFilesView)
    appbuilder.add_view_no_menu(AssignmentFileDownloadView)
