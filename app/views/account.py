"""The signed-in person's own account: the forced password change after an administrator's
password, and the invitation code that adds the login to another school."""

from flask import current_app, flash, make_response, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.models import db
from app.security.sessions import password_changed
from app.services import accounts, invites


class AccountPasswordView(BaseView):
    """Change the own password. A login with a given password is kept here until it does."""

    route_base = "/account/password"
    default_view = "change"

    @expose("/", methods=["GET"])
    @login_required
    def change(self):
        return self._render([])

    @expose("/", methods=["POST"])
    @login_required
    def save(self):
        user = current_user._get_current_object()
        try:
            accounts.change_own_password(
                user,
                request.form.get("current_password", ""),
                request.form.get("new_password", ""),
                request.form.get("repeat_password", ""),
            )
        except accounts.PasswordChangeError as error:
            db.session.rollback()
            return self._render(error.messages), 400
        password_changed()
        flash(_("Your new password is saved."), "success")
        return redirect(url_for("StartIndexView.index"))

    def _render(self, errors):
        return self.render_template(
            "account_password.html",
            errors=errors,
            forced=accounts.must_change_password(current_user.id),
            minimum=current_app.config["PASSWORD_MIN_LENGTH"],
        )


class AccountInviteView(BaseView):
    """Make the one-time code a school administrator types to add this login to a school."""

    route_base = "/account/invite-code"
    default_view = "show"

    @expose("/", methods=["GET"])
    @login_required
    def show(self):
        return self._render(None)

    @expose("/", methods=["POST"])
    @login_required
    def create(self):
        code, _expires_at = invites.issue_code(current_user.id)
        response = make_response(self._render(invites.format_code(code)))
        # The code is shown once; no cache may keep the page.
        response.headers["Cache-Control"] = "no-store"
        return response

    def _render(self, code):
        until = invites.valid_until(current_user.id)
        return self.render_template(
            "account_invite_code.html",
            code=code,
            valid_until=accounts.local_time_label(until) if until else None,
            hours=invites.INVITE_CODE_HOURS,
        )


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(AccountPasswordView())
    appbuilder.add_view_no_menu(AccountInviteView())
    # FAB's own profile page links to the invitation code; its permissions stay FAB's.
    for view in appbuilder.baseviews:
        if isinstance(view, appbuilder.sm.userdbmodelview):
            view.show_template = "account_profile.html"
