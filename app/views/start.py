"""The start page: what each user type does first, in the current organisation."""

import datetime as dt

from flask import current_app, redirect, url_for
from flask_appbuilder import IndexView, expose
from flask_login import current_user

from app.security.scope import current_scope
from app.services.announcements import reader_announcements
from app.services.start import start_links

#: Announcements the start page lists; the rest are on the announcements page.
START_PAGE_ANNOUNCEMENTS = 5


class StartIndexView(IndexView):
    """Shows the links of the session's roles; anonymous visitors go to the login page."""

    route_base = ""
    index_template = "start.html"

    @expose("/")
    def index(self):
        if not current_user.is_authenticated:
            return redirect(url_for("AuthDBView.login"))
        scope = current_scope()
        if scope.level == "none":
            return redirect(url_for("OrganisationView.choose"))
        return self.render_template(
            self.index_template,
            links=start_links(scope, current_app.view_functions),
            scope=scope,
            announcement_rows=self._announcement_rows(scope),
        )

    def _announcement_rows(self, scope):
        """Return the session's current announcements, or None when it may not read them."""
        if scope.level != "school":
            return None
        if not self.appbuilder.sm.has_access("can_read", "Announcements"):
            return None
        return reader_announcements(scope, dt.date.today(), limit=START_PAGE_ANNOUNCEMENTS)
