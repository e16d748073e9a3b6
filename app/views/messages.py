"""The inbox: folders, threads, the compose and draft forms, and attachment downloads."""

import logging

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from app.errors import SAVE_FAILED, DomainError
from app.models import db
from app.security.scope import current_scope
from app.services import messages
from app.services.attachments import format_size, send_attachment

log = logging.getLogger(__name__)

PERMISSION = "Messages"


class MessageView(BaseView):
    """Folders of received, sent, draft and deleted messages, threads and the compose form."""

    route_base = "/messages"
    default_view = "inbox"
    class_permission_name = PERMISSION
    method_permission_name = {
        "inbox": "read",
        "sent": "read",
        "drafts": "read",
        "deleted": "read",
        "thread": "read",
        "download": "read",
        "compose": "write",
        "compose_post": "write",
        "reply": "write",
        "edit": "write",
        "edit_post": "write",
        "delete": "write",
        "restore": "write",
        "purge": "write",
    }

    # --- Folders ---------------------------------------------------------------------------

    @expose("/")
    @has_access
    def inbox(self):
        return self._render_folder("incoming")

    @expose("/sent")
    @has_access
    def sent(self):
        return self._render_folder("sent")

    @expose("/drafts")
    @has_access
    def drafts(self):
        return self._render_folder("drafts")

    @expose("/deleted")
    @has_access
    def deleted(self):
        return self._render_folder("deleted")

    def _render_folder(self, folder: str):
        scope = current_scope()
        try:
            page = messages.folder_page(scope, folder, _requested_page())
            counts = messages.folder_counts(scope)
        except DomainError as error:
            return self.render_template("messages_no_school.html", message=str(error))
        return self.render_template(
            "messages_folder.html",
            folder=folder,
            folders=messages.FOLDERS,
            folder_endpoints=FOLDER_ENDPOINTS,
            listing=page,
            counts=counts,
        )

    # --- A thread --------------------------------------------------------------------------

    @expose("/<int:message_id>")
    @has_access
    def thread(self, message_id):
        scope = current_scope()
        message = messages.visible_message_or_404(scope, message_id)
        if message.is_draft:
            if message.sender_deleted_at is not None:
                abort(404)
            return redirect(url_for(".edit", message_id=message.id))
        thread = messages.open_thread(scope, message.id)
        return self.render_template(
            "messages_thread.html",
            thread=thread,
            folder_endpoints=FOLDER_ENDPOINTS,
            format_size=format_size,
        )

    @expose("/<int:message_id>/attachments/<int:attachment_id>")
    @has_access
    def download(self, message_id, attachment_id):
        attachment = messages.attachment_or_404(current_scope(), message_id, attachment_id)
        return send_attachment(attachment)

    # --- Compose, reply and drafts ----------------------------------------------------------

    @expose("/compose", methods=["GET"])
    @has_access
    def compose(self):
        try:
            return self._render_form(messages.MessageForm())
        except DomainError as error:
            return self.render_template("messages_no_school.html", message=str(error))

    @expose("/<int:message_id>/reply", methods=["GET"])
    @has_access
    def reply(self, message_id):
        form = messages.reply_form(current_scope(), message_id)
        return self._render_form(form)

    @expose("/compose", methods=["POST"])
    @has_access
    def compose_post(self):
        form = _form_from_request()
        return self._save(form, draft=None)

    @expose("/<int:message_id>/edit", methods=["GET"])
    @has_access
    def edit(self, message_id):
        draft = messages.draft_or_404(current_scope(), message_id)
        return self._render_form(messages.draft_form(draft), draft=draft)

    @expose("/<int:message_id>/edit", methods=["POST"])
    @has_access
    def edit_post(self, message_id):
        draft = messages.draft_or_404(current_scope(), message_id)
        form = _form_from_request()
        return self._save(form, draft=draft)

    def _save(self, form, draft):
        scope = current_scope()
        send = request.form.get("action") == "send"
        uploads = [f for f in request.files.getlist("attachments") if f and f.filename]
        try:
            message = messages.save_message(scope, form, uploads, send=send, draft=draft)
        except messages.MessageInputError as error:
            db.session.rollback()
            return self._render_form(form, draft=draft, errors=error.messages), 400
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for(".inbox"))
        except (SQLAlchemyError, OSError):
            return self._render_form(form, draft=draft, errors=[str(SAVE_FAILED)]), 500
        if send:
            flash(_("The message is sent."), "success")
            return redirect(url_for(".thread", message_id=message.id))
        flash(_("The draft is saved."), "success")
        return redirect(url_for(".edit", message_id=message.id))

    def _render_form(self, form, draft=None, errors=()):
        scope = current_scope()
        book = messages.allowed_recipients(scope)
        if draft is not None:
            reply_to = messages.draft_reply_target(scope, draft)
        else:
            reply_to = messages.reply_target_or_404(scope, form.reply_to_id)
        return self.render_template(
            "messages_compose.html",
            form=form,
            book=book,
            draft=draft,
            reply_to=reply_to,
            errors=list(errors),
            chosen=set(form.recipient_ids),
            max_attachments=messages.MAX_ATTACHMENTS,
            max_size=format_size(current_app.config["ATTACHMENT_MAX_BYTES"]),
            extensions=", ".join(sorted(current_app.config["ATTACHMENT_EXTENSIONS"])),
            subject_max=messages.SUBJECT_MAX_LENGTH,
            body_max=messages.BODY_MAX_LENGTH,
            format_size=format_size,
        )

    # --- Deleted folder -----------------------------------------------------------------------

    @expose("/<int:message_id>/delete", methods=["POST"])
    @has_access
    def delete(self, message_id):
        messages.move_to_deleted(current_scope(), message_id)
        flash(_("The message is moved to the deleted folder."), "success")
        return redirect(_back_to(url_for(".inbox")))

    @expose("/<int:message_id>/restore", methods=["POST"])
    @has_access
    def restore(self, message_id):
        messages.restore(current_scope(), message_id)
        flash(_("The message is restored."), "success")
        return redirect(_back_to(url_for(".deleted")))

    @expose("/<int:message_id>/purge", methods=["POST"])
    @has_access
    def purge(self, message_id):
        try:
            messages.purge(current_scope(), message_id)
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "warning")
            return redirect(url_for(".deleted"))
        flash(_("The message is deleted forever."), "success")
        return redirect(url_for(".deleted"))


#: Folder key → the view method that lists it.
FOLDER_ENDPOINTS = {
    "incoming": "MessageView.inbox",
    "sent": "MessageView.sent",
    "drafts": "MessageView.drafts",
    "deleted": "MessageView.deleted",
}


def _requested_page() -> int:
    text = request.args.get("page", "1")
    return int(text) if text.isdigit() else 1


def _back_to(default: str) -> str:
    """Return the folder page the form came from, or ``default``; only paths of this view."""
    target = request.form.get("next", "")
    if target.startswith("/messages") and not target.startswith("//"):
        return target
    return default


def _form_from_request() -> messages.MessageForm:
    """Read the compose form; an id that is not a number is kept as -1, so it is rejected."""
    data = request.form
    recipient_ids = [int(v) if v.isdigit() else -1 for v in data.getlist("recipients") if v]
    reply_to = data.get("reply_to", "")
    return messages.MessageForm(
        recipient_ids=list(dict.fromkeys(recipient_ids)),
        subject=data.get("subject", ""),
        body=data.get("body", ""),
        reply_to_id=int(reply_to) if reply_to.isdigit() else None,
        remove_attachment_ids={int(v) for v in data.getlist("remove_attachment") if v.isdigit()},
    )


def unread_messages_count() -> int | None:
    """Return the navbar's unread count, or None where the navbar shows no messages link."""
    if not current_user.is_authenticated:
        return None
    scope = current_scope()
    if scope is None or scope.level != "school":
        return None
    if not current_app.appbuilder.sm.has_access("can_read", PERMISSION):
        return None
    try:
        return messages.unread_count(scope)
    except SQLAlchemyError:
        # The error page of a failed transaction renders the navbar too, and must not fail
        # a second time.
        log.warning("unread message count failed for user %s", getattr(g.user, "id", None))
        return None


def _navbar_context() -> dict:
    return {"unread_messages_count": unread_messages_count}


def register(appbuilder) -> None:
    # The menu item's name differs from the permission name "Messages": FAB's permission
    # update deletes menu_access from a view menu that is also a view's permission name.
    appbuilder.add_view(
        MessageView,
        "Messages inbox",
        label=_l("Messages"),
        category="Communication",
        category_label=_l("Communication"),
    )
    current_app.context_processor(_navbar_context)
