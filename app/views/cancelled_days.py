"""Cancelled days: the principal cancels a day's lessons of chosen classes or the school."""

import logging

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _

from app.models import db
from app.security.scope import current_scope
from app.services import cancelled_days
from app.services.cancelled_days import CancelledDayError, CancelRequest
from app.services.journal import may_close_periods

log = logging.getLogger(__name__)


class CancelledDaysView(BaseView):
    """List, cancel and restore days; linked from the principal's term page."""

    route_base = "/journal/cancelled-days"
    default_view = "days"
    class_permission_name = "Journal"
    method_permission_name = {"days": "read", "cancel": "write", "restore": "write"}

    @expose("/")
    @has_access
    def days(self):
        scope = self._principal_scope()
        return self._render(scope, CancelRequest(), errors=[])

    @expose("/cancel", methods=["POST"])
    @has_access
    def cancel(self):
        return self._change(cancelled_days.cancel_day, _("Lessons cancelled: %(count)s."))

    @expose("/restore", methods=["POST"])
    @has_access
    def restore(self):
        return self._change(cancelled_days.restore_day, _("Lessons restored: %(count)s."))

    def _change(self, action, done_message):
        scope = self._principal_scope()
        form = CancelRequest.from_form(request.form)
        try:
            count = action(scope, form)
        except CancelledDayError as error:
            db.session.rollback()
            log.info(
                "Cancelled day not changed in school %s by user %s: %s",
                scope.school_id,
                scope.user_id,
                error,
            )
            return self._render(scope, form, error.messages), 400
        flash(done_message % {"count": count}, "success")
        return redirect(url_for("CancelledDaysView.days"))

    def _principal_scope(self):
        scope = current_scope()
        if scope is None or not may_close_periods(scope):
            abort(403)
        return scope

    def _render(self, scope, form, errors):
        return self.render_template(
            "journal_cancelled_days.html",
            form=form,
            errors=errors,
            classes=cancelled_days.school_classes(scope),
            days=cancelled_days.cancelled_days(scope),
        )


def register(appbuilder) -> None:
    # Teachers hold the journal permission too, so the page is linked from the principal's
    # term page rather than from the menu.
    appbuilder.add_view_no_menu(CancelledDaysView)
