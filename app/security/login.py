"""The sign-in page: FAB's database login with the lock-out message and «Запомнить меня»."""

from flask import flash, g, redirect, request
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import no_cache
from flask_appbuilder.security.forms import LoginForm_db
from flask_appbuilder.security.views import AuthDBView as FabAuthDBView
from flask_appbuilder.utils.base import get_safe_redirect
from flask_babel import lazy_gettext as _l
from flask_login import login_user
from wtforms import BooleanField

from app.security.sessions import start_session
from app.services import accounts

#: The ``g`` attribute where the security manager leaves the end of a login's lock.
LOCKED_UNTIL_ATTRIBUTE = "login_locked_until"


class LoginForm(LoginForm_db):
    """FAB's login form with the «remember me» checkbox."""

    remember = BooleanField(_l("Remember me on this device"))


class AuthDBView(FabAuthDBView):
    """FAB's login page with the lock-out message and the long session for families.

    The class keeps FAB's name, so the endpoints stay ``AuthDBView.login`` and
    ``AuthDBView.logout`` for every link and check that names them.
    """

    login_template = "login.html"

    @expose("/login/", methods=["GET", "POST"])
    @no_cache
    def login(self):
        if g.user is not None and g.user.is_authenticated:
            return redirect(self._get_safe_next_url())
        form = LoginForm()
        if not form.validate_on_submit():
            return self.render_template(
                self.login_template, title=self.title, form=form, appbuilder=self.appbuilder
            )

        next_url = get_safe_redirect(request.args.get("next", ""))
        user = self.appbuilder.sm.auth_user_db(form.username.data, form.password.data)
        if not user:
            until = g.pop(LOCKED_UNTIL_ATTRIBUTE, None)
            if until is not None:
                flash(accounts.locked_message(until), "danger")
            else:
                flash(str(self.invalid_login_message), "warning")
            return redirect(self.appbuilder.get_url_for_login_with(next_url))
        login_user(user, remember=False)
        start_session(user, remember=form.remember.data)
        return redirect(next_url)
