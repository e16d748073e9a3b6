"""The notices page, the e-mail and calendar settings, and the public calendar feed."""

import logging

from flask import (
    Response,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    request,
    session,
    url_for,
)
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError

from app.errors import DomainError
from app.models import db
from app.models.communication import NOTIFICATION_KINDS
from app.security.criteria import set_request_school
from app.security.scope import current_scope
from app.services import calendar_feed, notifications

log = logging.getLogger(__name__)

PERMISSION = "Notifications"

#: Session key carrying a new calendar token from its form to the page that shows it.
NEW_FEED_SESSION_KEY = "new_calendar_feed"

#: The endpoint of the public feed, open without login and without a chosen organisation.
FEED_ENDPOINT = "calendar_feed"


class NotificationView(BaseView):
    """The user's notices in the current school, and their e-mail and calendar settings."""

    route_base = "/notifications"
    default_view = "index"
    class_permission_name = PERMISSION
    method_permission_name = {
        "index": "read",
        "open": "read",
        "mark_read": "write",
        "mark_all_read": "write",
        "settings": "read",
        "save_settings": "write",
        "save_email": "write",
        "new_feed": "write",
        "revoke_feed": "write",
    }

    @expose("/")
    @has_access
    def index(self):
        scope = current_scope()
        page = request.args.get("page", "1")
        page = int(page) if page.isdigit() and int(page) > 0 else 1
        notices, total = notifications.notices_page(scope, page)
        pages = max(1, -(-total // notifications.NOTICES_PAGE_SIZE))
        return self.render_template(
            "notifications.html",
            notices=notices,
            total=total,
            page=page,
            pages=pages,
            kinds=NOTIFICATION_KINDS,
            unread=notifications.unread_count(scope),
            in_school=scope.level == "school",
            safe_link=notifications.safe_link,
        )

    @expose("/<int:notification_id>/open")
    @has_access
    def open(self, notification_id):
        """Mark a notice read and follow its link.

        A GET changes state here because following a link is how a notice is read; the
        change is only the reader's own read mark.
        """
        scope = current_scope()
        notice = notifications.mark_read(scope, notification_id)
        db.session.commit()
        link = notifications.safe_link(notice.link)
        return redirect(link or url_for(".index"))

    @expose("/<int:notification_id>/read", methods=["POST"])
    @has_access
    def mark_read(self, notification_id):
        scope = current_scope()
        notifications.mark_read(scope, notification_id)
        db.session.commit()
        return redirect(url_for(".index", page=request.form.get("page", "1")))

    @expose("/read-all", methods=["POST"])
    @has_access
    def mark_all_read(self):
        scope = current_scope()
        changed = notifications.mark_all_read(scope)
        db.session.commit()
        flash(_("Notices marked read: %(count)s.", count=changed), "success")
        return redirect(url_for(".index"))

    @expose("/settings", methods=["GET"])
    @has_access
    def settings(self):
        scope = current_scope()
        new_feed = session.pop(NEW_FEED_SESSION_KEY, None)
        if not new_feed:
            return self._render_settings(scope)
        # The token is shown on this one page and never again, so the page is kept out of
        # every cache; a reload shows the page without it instead of making a new link.
        page = self._render_settings(
            scope,
            new_feed_url=calendar_feed.feed_url(new_feed["token"]),
            new_feed_student=new_feed["student"],
        )
        response = make_response(page)
        response.headers["Cache-Control"] = "no-store"
        return response

    @expose("/settings", methods=["POST"])
    @has_access
    def save_settings(self):
        scope = current_scope()
        if scope.level != "school":
            abort(404)
        notifications.save_settings(scope, request.form)
        db.session.commit()
        flash(_("The notice settings are saved."), "success")
        # The address sits in the same form, so one Save button keeps all that was typed.
        if "email" in request.form:
            return self._save_email(scope, request.form["email"], quiet_if_unchanged=True)
        return redirect(url_for(".settings"))

    @expose("/settings/email", methods=["POST"])
    @has_access
    def save_email(self):
        scope = current_scope()
        if scope.level != "school":
            abort(404)
        return self._save_email(scope, request.form.get("email", ""))

    def _save_email(self, scope, email: str, quiet_if_unchanged: bool = False):
        try:
            changed = notifications.set_own_email(scope, email)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return self._render_settings(scope, email_value=email)
        if not changed:
            if not quiet_if_unchanged:
                flash(_("The e-mail address is unchanged."), "info")
        elif email.strip():
            flash(_("The e-mail address is saved."), "success")
        else:
            flash(_("The e-mail address is removed: no e-mail will be sent to you."), "success")
        return redirect(url_for(".settings"))

    @expose("/calendar/<int:student_id>/new", methods=["POST"])
    @has_access
    def new_feed(self, student_id):
        scope = current_scope()
        token = calendar_feed.create_feed(scope, student_id)
        db.session.commit()
        # Post, redirect, get: the token rides in the signed session cookie of its own
        # user to the next page, which shows it once and drops it.
        session[NEW_FEED_SESSION_KEY] = {"token": token, "student": int(student_id)}
        return redirect(url_for(".settings"))

    @expose("/calendar/<int:feed_id>/revoke", methods=["POST"])
    @has_access
    def revoke_feed(self, feed_id):
        scope = current_scope()
        calendar_feed.revoke_feed(scope, feed_id)
        db.session.commit()
        flash(_("The calendar link is revoked: calendar apps can no longer open it."), "success")
        return redirect(url_for(".settings"))

    def _render_settings(self, scope, new_feed_url=None, new_feed_student=None, email_value=None):
        """Render the settings page; ``email_value`` refills the address field after an error."""
        in_school = scope.level == "school"
        page = notifications.settings_page(scope) if in_school else None
        if email_value is None and page is not None:
            email_value = page.address or ""
        return self.render_template(
            "notifications_settings.html",
            in_school=in_school,
            page=page,
            email_value=email_value,
            feed_students=calendar_feed.feed_students(scope),
            feeds=calendar_feed.active_feeds(scope),
            new_feed_url=new_feed_url,
            new_feed_student=new_feed_student,
        )


def calendar_feed_view(token: str):
    """Serve a feed to calendar apps: no login, read-only, 404 for unknown or revoked.

    NOTE: the token is part of the path, so web server and proxy access logs record it;
    those logs must be kept as private as the links themselves.
    """
    # The feed row alone decides the school: a signed-in session's own school filter
    # must neither hide the row nor widen what the feed reads.
    set_request_school(None)
    feed = calendar_feed.feed_for_token(token)
    if feed is None:
        abort(404)
    set_request_school(feed.school_id)
    body = calendar_feed.build_feed(feed)
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = 'inline; filename="timetable.ics"'
    response.headers["Cache-Control"] = "private, max-age=900"
    return response


def unread_badge_count() -> int:
    """Count the session's unread notices for the navbar badge; 0 when the count fails.

    The navbar is drawn on error pages too, where the database may be the failure: the
    badge must not turn a page's error into a second one.
    """
    try:
        return notifications.unread_count(current_scope())
    except SQLAlchemyError as error:
        log.warning("Unread notice count failed: %s", type(error).__name__)
        return 0


def inject_unread_count():
    return {"unread_notice_count": unread_badge_count}


def register(appbuilder) -> None:
    # The menu item's name differs from the permission name: FAB's permission update
    # deletes menu_access from a view menu that is also a view's permission name.
    appbuilder.add_view(
        NotificationView,
        "Notices",
        label=_l("Notices"),
        category="Communication",
        category_label=_l("Communication"),
    )
    app = current_app
    app.add_url_rule("/calendar/<token>.ics", FEED_ENDPOINT, calendar_feed_view)
    app.context_processor(inject_unread_count)
