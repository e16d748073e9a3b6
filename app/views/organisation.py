"""Choosing and switching the organisation a session works in."""

import logging

from flask import abort, flash, redirect, request, session, url_for
from flask_appbuilder import BaseView, expose
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from app.security.scope import (
    MEMBERSHIP_SESSION_KEY,
    active_memberships,
    forget_cached_scope,
)

log = logging.getLogger(__name__)


class OrganisationView(BaseView):
    """The chooser shown after login to a user with several memberships, and the switch."""

    route_base = "/organisation"
    default_view = "choose"

    @expose("/choose", methods=["GET"])
    @login_required
    def choose(self):
        memberships = active_memberships(current_user)
        if not memberships:
            return self.render_template("organisation_none.html"), 403
        return self.render_template(
            "organisation_choose.html",
            memberships=memberships,
            current_id=session.get(MEMBERSHIP_SESSION_KEY),
        )

    @expose("/choose", methods=["POST"])
    @login_required
    def switch(self):
        wanted = request.form.get("membership_id", "")
        memberships = {m.id: m for m in active_memberships(current_user)}
        if not wanted.isdigit() or int(wanted) not in memberships:
            abort(404)
        session[MEMBERSHIP_SESSION_KEY] = int(wanted)
        forget_cached_scope()
        log.info("User %s switched to membership %s", current_user.id, wanted)
        flash(
            _l("You now work in: %(name)s.", name=memberships[int(wanted)].organisation_name()),
            "info",
        )
        return redirect(url_for("StartIndexView.index"))


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(OrganisationView())
