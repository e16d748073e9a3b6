"""Announcements: the school's list and pages, the writers' form, and the authority's
announcements to its schools."""

import datetime as dt
import logging

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.errors import DomainError
from app.models import db
from app.models.communication import AUDIENCE_KINDS
from app.security.scope import current_scope
from app.services import announcements as service
from app.services.attachments import format_size, send_attachment, stored_path

log = logging.getLogger(__name__)

PERMISSION = "Announcements"
AUTHORITY_PERMISSION = "AuthorityAnnouncements"

#: The list's period filters with their tab names.
PERIOD_LABELS = {
    "current": _l("Shown now"),
    "future": _l("Scheduled"),
    "past": _l("Finished"),
}


def _uploads() -> list:
    """Return the chosen files, without the empty part a browser sends when none is chosen."""
    return [upload for upload in request.files.getlist("files") if upload and upload.filename]


def _page_number() -> int:
    text = request.args.get("page", "1")
    return int(text) if text.isdigit() and int(text) > 0 else 1


def _send_or_404(attachment):
    if not stored_path(attachment).is_file():
        log.warning("attachment %s: the file is missing on disk", attachment.id)
        abort(404)
    return send_attachment(attachment)


def _upload_settings() -> dict:
    """Return the upload limits for the form's help text."""
    return {
        "max_size": format_size(current_app.config["ATTACHMENT_MAX_BYTES"]),
        "extensions": ", ".join(sorted(current_app.config["ATTACHMENT_EXTENSIONS"])),
    }


class AnnouncementView(BaseView):
    """Announcements of the session's school: the list, one announcement, and writing."""

    route_base = "/announcements"
    default_view = "index"
    class_permission_name = PERMISSION
    method_permission_name = {
        "index": "read",
        "show": "read",
        "attachment": "read",
        "new": "write",
        "create": "write",
        "edit": "write",
        "update": "write",
        "delete": "write",
    }

    def _access(self) -> service.AnnouncementAccess:
        may_write = self.appbuilder.sm.has_access("can_write", PERMISSION)
        return service.AnnouncementAccess(current_scope(), may_write)

    @expose("/")
    @has_access
    def index(self):
        access = self._access()
        period = request.args.get("period", "current")
        if period not in service.PERIODS or not access.lists_other_periods:
            period = "current"
        page = _page_number()
        rows, total = service.list_page(access, period, dt.date.today(), page)
        return self.render_template(
            "announcements_list.html",
            rows=rows,
            total=total,
            page=page,
            pages=max(1, -(-total // service.PAGE_SIZE)),
            period=period,
            period_labels=PERIOD_LABELS,
            access=access,
        )

    @expose("/<int:announcement_id>")
    @has_access
    def show(self, announcement_id):
        access = self._access()
        announcement = service.get_readable_or_404(access, announcement_id, dt.date.today())
        service.mark_read(access, announcement)

        statistics = None
        if service.may_see_statistics(access, announcement):
            statistics = service.read_statistics(announcement)
        row = service.announcement_rows(access.scope, [announcement])[0]
        return self.render_template(
            "announcements_show.html",
            announcement=announcement,
            row=row,
            statistics=statistics,
            may_edit=service.may_edit(access, announcement),
            access=access,
            format_size=format_size,
        )

    @expose("/<int:announcement_id>/attachments/<int:attachment_id>")
    @has_access
    def attachment(self, announcement_id, attachment_id):
        access = self._access()
        announcement = service.get_readable_or_404(access, announcement_id, dt.date.today())
        return _send_or_404(service.get_attachment_or_404(announcement, attachment_id))

    @expose("/new", methods=["GET"])
    @has_access
    def new(self):
        access = self._access()
        if not access.writes:
            return self._refuse_writing()
        form = service.AnnouncementForm.blank(access, dt.date.today())
        return self._render_form(access, form, None, [])

    @expose("/new", methods=["POST"])
    @has_access
    def create(self):
        access = self._access()
        if not access.writes:
            return self._refuse_writing()
        form = service.AnnouncementForm.from_request(request.form)
        uploads = _uploads()
        try:
            announcement = service.create_announcement(access, form, uploads)
        except service.AnnouncementInputError as error:
            db.session.rollback()
            return self._render_form(access, form, None, error.messages, bool(uploads)), 400
        except DomainError as error:
            db.session.rollback()
            return self._render_form(access, form, None, [str(error)], bool(uploads)), 400
        flash(_("The announcement is saved."), "success")
        return redirect(url_for("AnnouncementView.show", announcement_id=announcement.id))

    @expose("/<int:announcement_id>/edit", methods=["GET"])
    @has_access
    def edit(self, announcement_id):
        access = self._access()
        announcement = self._editable_or_abort(access, announcement_id)
        form = service.AnnouncementForm.from_announcement(announcement)
        return self._render_form(access, form, announcement, [])

    @expose("/<int:announcement_id>/edit", methods=["POST"])
    @has_access
    def update(self, announcement_id):
        access = self._access()
        announcement = self._editable_or_abort(access, announcement_id)
        form = service.AnnouncementForm.from_request(request.form)
        uploads = _uploads()
        try:
            service.update_announcement(access, announcement, form, uploads)
        except (service.AnnouncementInputError, DomainError) as error:
            db.session.rollback()
            messages = getattr(error, "messages", None) or [str(error)]
            announcement = self._editable_or_abort(access, announcement_id)
            return self._render_form(access, form, announcement, messages, bool(uploads)), 400
        flash(_("The announcement is saved."), "success")
        return redirect(url_for("AnnouncementView.show", announcement_id=announcement_id))

    @expose("/<int:announcement_id>/delete", methods=["POST"])
    @has_access
    def delete(self, announcement_id):
        access = self._access()
        announcement = self._editable_or_abort(access, announcement_id)
        try:
            service.delete_announcement(access, announcement)
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for("AnnouncementView.show", announcement_id=announcement_id))
        flash(_("The announcement is deleted."), "success")
        return redirect(url_for("AnnouncementView.index"))

    def _editable_or_abort(self, access, announcement_id):
        """Load an announcement the session may change: 404 when unreadable, 403 when
        readable but not the session's to change."""
        announcement = service.get_readable_or_404(access, announcement_id, dt.date.today())
        if not service.may_edit(access, announcement):
            abort(403)
        return announcement

    def _refuse_writing(self):
        flash(
            _(
                "Announcements are written inside a school by its principal, school "
                "administrator or teachers. Open the school in the organisation menu."
            ),
            "warning",
        )
        return redirect(url_for("AnnouncementView.index"))

    def _render_form(self, access, form, announcement, errors, had_files=False):
        return self.render_template(
            "announcements_form.html",
            form=form,
            announcement=announcement,
            errors=errors,
            had_files=had_files,
            access=access,
            audience_kinds=AUDIENCE_KINDS,
            role_choices=service.role_choices(),
            class_choices=service.class_choices(access, announcement),
            chosen_roles=set(form.role_codes),
            chosen_classes={str(value) for value in form.class_ids},
            removed_attachments={str(value) for value in form.remove_attachment_ids},
            format_size=format_size,
            **_upload_settings(),
        )


class AuthorityAnnouncementView(BaseView):
    """The authority's announcements, each copied into every school of the authority.

    The server administrator reads every authority's announcements; only an authority
    session writes.
    """

    route_base = "/authority-announcements"
    default_view = "index"
    class_permission_name = AUTHORITY_PERMISSION
    method_permission_name = {
        "index": "read",
        "show": "read",
        "attachment": "read",
        "new": "write",
        "create": "write",
        "edit": "write",
        "update": "write",
        "delete": "write",
    }

    @expose("/")
    @has_access
    def index(self):
        scope = current_scope()
        return self.render_template(
            "announcements_authority_list.html",
            rows=service.authority_rows(scope),
            writes=scope.level == "authority",
            show_authority=scope.level == "server",
        )

    @expose("/<int:authority_announcement_id>")
    @has_access
    def show(self, authority_announcement_id):
        scope = current_scope()
        original = service.get_authority_announcement_or_404(scope, authority_announcement_id)
        copies = service.authority_copies(original)
        return self.render_template(
            "announcements_authority_show.html",
            original=original,
            schools=[copy.school for copy in copies],
            attachments=service.authority_attachments(original),
            writes=scope.level == "authority",
            format_size=format_size,
        )

    @expose("/<int:authority_announcement_id>/attachments/<int:attachment_id>")
    @has_access
    def attachment(self, authority_announcement_id, attachment_id):
        scope = current_scope()
        original = service.get_authority_announcement_or_404(scope, authority_announcement_id)
        return _send_or_404(service.get_authority_attachment_or_404(original, attachment_id))

    @expose("/new", methods=["GET"])
    @has_access
    def new(self):
        today = dt.date.today()
        form = service.AnnouncementForm(
            display_from=today.isoformat(),
            display_to=(today + dt.timedelta(days=service.DEFAULT_DISPLAY_DAYS)).isoformat(),
        )
        return self._render_form(form, None, [])

    @expose("/new", methods=["POST"])
    @has_access
    def create(self):
        scope = current_scope()
        form = service.AnnouncementForm.from_request(request.form)
        uploads = _uploads()
        try:
            original = service.publish_authority_announcement(scope, form, uploads)
        except (service.AnnouncementInputError, DomainError) as error:
            db.session.rollback()
            messages = getattr(error, "messages", None) or [str(error)]
            return self._render_form(form, None, messages, bool(uploads)), 400
        flash(_("The announcement is published in your schools."), "success")
        return redirect(
            url_for("AuthorityAnnouncementView.show", authority_announcement_id=original.id)
        )

    @expose("/<int:authority_announcement_id>/edit", methods=["GET"])
    @has_access
    def edit(self, authority_announcement_id):
        original = self._writable_or_abort(authority_announcement_id)
        return self._render_form(service.AnnouncementForm.from_announcement(original), original, [])

    @expose("/<int:authority_announcement_id>/edit", methods=["POST"])
    @has_access
    def update(self, authority_announcement_id):
        scope = current_scope()
        original = self._writable_or_abort(authority_announcement_id)
        form = service.AnnouncementForm.from_request(request.form)
        uploads = _uploads()
        try:
            service.update_authority_announcement(scope, original, form, uploads)
        except (service.AnnouncementInputError, DomainError) as error:
            db.session.rollback()
            messages = getattr(error, "messages", None) or [str(error)]
            original = self._writable_or_abort(authority_announcement_id)
            return self._render_form(form, original, messages, bool(uploads)), 400
        flash(_("The announcement is saved in every school."), "success")
        return redirect(
            url_for(
                "AuthorityAnnouncementView.show",
                authority_announcement_id=authority_announcement_id,
            )
        )

    @expose("/<int:authority_announcement_id>/delete", methods=["POST"])
    @has_access
    def delete(self, authority_announcement_id):
        scope = current_scope()
        original = self._writable_or_abort(authority_announcement_id)
        try:
            service.delete_authority_announcement(scope, original)
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(
                url_for(
                    "AuthorityAnnouncementView.show",
                    authority_announcement_id=authority_announcement_id,
                )
            )
        flash(_("The announcement is deleted from every school."), "success")
        return redirect(url_for("AuthorityAnnouncementView.index"))

    def _writable_or_abort(self, authority_announcement_id):
        """Load one of the session's authority announcements; the server level gets 403."""
        scope = current_scope()
        original = service.get_authority_announcement_or_404(scope, authority_announcement_id)
        if scope.level != "authority":
            abort(403)
        return original

    def _render_form(self, form, original, errors, had_files=False):
        scope = current_scope()
        if scope.level != "authority":
            abort(403)
        return self.render_template(
            "announcements_authority_form.html",
            form=form,
            original=original,
            attachments=service.authority_attachments(original) if original else [],
            removed_attachments={str(value) for value in form.remove_attachment_ids},
            errors=errors,
            had_files=had_files,
            format_size=format_size,
            **_upload_settings(),
        )


def register(appbuilder) -> None:
    # The menu items' names differ from the permission names: FAB's permission update
    # deletes menu_access from a view menu that is also a view's permission name.
    appbuilder.add_view(
        AnnouncementView,
        "Announcements list",
        label=_l("Announcements"),
        category="Communication",
        category_label=_l("Communication"),
    )
    appbuilder.add_view(
        AuthorityAnnouncementView,
        "Announcements to schools",
        label=_l("Announcements to schools"),
        category="Communication",
        category_label=_l("Communication"),
    )
