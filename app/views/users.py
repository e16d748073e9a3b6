"""The school administrator's screens for the logins of their school."""

from flask import flash, make_response, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.errors import DomainError
from app.models import db
from app.security.scope import current_scope
from app.services import accounts, invites, users


def _no_store(response):
    """Keep pages that show a password out of every cache."""
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    return response


class SchoolUserView(BaseView):
    """Memberships of the session's school: create logins, set roles, block, reset passwords."""

    route_base = "/school-users"
    default_view = "list"
    class_permission_name = "SchoolUsers"
    method_permission_name = {
        "list": "read",
        "new": "write",
        "create": "write",
        "edit": "write",
        "update_roles": "write",
        "update_active": "write",
        "update_email": "write",
        "new_password": "write",
        "unlock": "write",
        "invite": "write",
        "accept_invite": "write",
    }

    @expose("/")
    @has_access
    def list(self):
        scope = current_scope()
        search = request.args.get("q", "")
        page = request.args.get("page", "1")
        page = int(page) if page.isdigit() else 1
        locked_only = request.args.get("locked") == "1"
        try:
            rows, total = users.list_memberships(
                scope, search=search, page=page, locked_only=locked_only
            )
        except DomainError as error:
            flash(str(error), "danger")
            rows, total = [], 0
        pages = max(1, -(-total // users.MEMBERSHIPS_PAGE_SIZE))
        return self.render_template(
            "users_list.html",
            rows=rows,
            total=total,
            page=page,
            pages=pages,
            search=search,
            locked_only=locked_only,
            time_label=accounts.local_time_label,
        )

    @expose("/new", methods=["GET"])
    @has_access
    def new(self):
        return self._render_new_form({})

    @expose("/new", methods=["POST"])
    @has_access
    def create(self):
        scope = current_scope()
        form = request.form
        try:
            login = users.create_login(
                scope,
                form.get("person", ""),
                form.get("username", ""),
                form.get("email"),
                form.getlist("role_id"),
            )
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return self._render_new_form(form)
        return _no_store(
            self.render_template(
                "users_password.html",
                username=login.username,
                email=login.email,
                password=login.password,
                membership_id=login.membership_id,
                created=True,
            )
        )

    @expose("/invite", methods=["GET"])
    @has_access
    def invite(self):
        return self._render_invite_form({})

    @expose("/invite", methods=["POST"])
    @has_access
    def accept_invite(self):
        scope = current_scope()
        form = request.form
        invitation = invites.Invitation(
            username=form.get("username", ""),
            code=form.get("code", ""),
            role_ids=form.getlist("role_id"),
            student_ids=form.getlist("student_id"),
            employee_id=form.get("employee_id", ""),
        )
        try:
            membership = invites.accept_invitation(scope, invitation)
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return self._render_invite_form(form), 400
        flash(
            _(
                "The login %(username)s is added to this school.",
                username=membership.user.username,
            ),
            "success",
        )
        return redirect(url_for(".edit", membership_id=membership.id))

    @expose("/<int:membership_id>", methods=["GET"])
    @has_access
    def edit(self, membership_id):
        scope = current_scope()
        try:
            membership = users.get_membership(scope, membership_id)
        except DomainError as error:
            flash(str(error), "danger")
            return redirect(url_for(".list"))
        return self._render_edit(scope, membership)

    @expose("/<int:membership_id>/roles", methods=["POST"])
    @has_access
    def update_roles(self, membership_id):
        scope = current_scope()
        try:
            users.set_roles(scope, membership_id, request.form.getlist("role_id"))
            flash(_("The roles are saved."), "success")
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
        return redirect(url_for(".edit", membership_id=membership_id))

    @expose("/<int:membership_id>/email", methods=["POST"])
    @has_access
    def update_email(self, membership_id):
        scope = current_scope()
        email = request.form.get("email", "")
        try:
            membership = users.get_membership(scope, membership_id)
        except DomainError as error:
            flash(str(error), "danger")
            return redirect(url_for(".list"))
        try:
            users.set_email(scope, membership.id, email)
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return self._render_edit(scope, membership, email_value=email)
        if email.strip():
            flash(_("The e-mail address is saved."), "success")
        else:
            flash(_("The e-mail address is removed: no e-mail is sent to this login."), "success")
        return redirect(url_for(".edit", membership_id=membership_id))

    @expose("/<int:membership_id>/active", methods=["POST"])
    @has_access
    def update_active(self, membership_id):
        scope = current_scope()
        active = request.form.get("active") == "1"
        try:
            users.set_active(scope, membership_id, active)
            flash(_("The login is unblocked.") if active else _("The login is blocked."), "success")
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
        return redirect(url_for(".edit", membership_id=membership_id))

    @expose("/<int:membership_id>/unlock", methods=["POST"])
    @has_access
    def unlock(self, membership_id):
        scope = current_scope()
        try:
            users.lift_lock(scope, membership_id)
            flash(_("The lock is lifted: the login can sign in again."), "success")
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
        return redirect(url_for(".edit", membership_id=membership_id))

    @expose("/<int:membership_id>/password", methods=["POST"])
    @has_access
    def new_password(self, membership_id):
        scope = current_scope()
        try:
            membership, password = users.reset_password(scope, membership_id)
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for(".edit", membership_id=membership_id))
        return _no_store(
            self.render_template(
                "users_password.html",
                username=membership.user.username,
                email=membership.user.email,
                password=password,
                membership_id=membership.id,
                created=False,
            )
        )

    def _render_edit(self, scope, membership, email_value=None):
        """Render the edit page; ``email_value`` refills the address field after an error."""
        email = membership.user.email
        placeholder = users.is_placeholder(email)
        if email_value is None:
            email_value = "" if placeholder else email
        return self.render_template(
            "users_edit.html",
            membership=membership,
            roles=users.grantable_roles(),
            role_label=users.role_label,
            held_role_ids={role.id for role in membership.roles},
            own=membership.user_id == scope.user_id,
            email_value=email_value,
            has_address=not placeholder,
            locked_until=accounts.locked_until(membership.user_id),
            time_label=accounts.local_time_label,
        )

    def _render_invite_form(self, form):
        scope = current_scope()
        try:
            students = invites.invitable_students(scope)
            employees = invites.invitable_employees(scope)
        except DomainError as error:
            flash(str(error), "danger")
            return redirect(url_for(".list"))
        getlist = form.getlist if hasattr(form, "getlist") else (lambda _name: [])
        return self.render_template(
            "users_invite.html",
            form=form,
            students=students,
            employees=employees,
            roles=users.grantable_roles(),
            role_label=users.role_label,
            chosen_role_ids={int(v) for v in getlist("role_id") if v.isdigit()},
            chosen_student_ids={int(v) for v in getlist("student_id") if v.isdigit()},
            max_attempts=invites.INVITE_CODE_MAX_ATTEMPTS,
        )

    def _render_new_form(self, form):
        scope = current_scope()
        try:
            people = users.people_without_login(scope)
        except DomainError as error:
            flash(str(error), "danger")
            return redirect(url_for(".list"))
        return self.render_template(
            "users_new.html",
            people=people,
            roles=users.grantable_roles(),
            role_label=users.role_label,
            form=form,
            chosen_role_ids={int(v) for v in form.getlist("role_id") if v.isdigit()}
            if hasattr(form, "getlist")
            else set(),
        )


def register(appbuilder) -> None:
    appbuilder.add_view(
        SchoolUserView,
        "School users list",
        label=_l("School users"),
        category="Settings",
        category_label=_l("School settings"),
    )
