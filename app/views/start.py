"""The start page: what each user type does first, in the current organisation."""

from flask import current_app, redirect, url_for
from flask_appbuilder import IndexView, expose
from flask_login import current_user

from app.security.scope import current_scope
from app.services.start import start_links


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
            self.index_template, links=start_links(scope, current_app.view_functions), scope=scope
        )
