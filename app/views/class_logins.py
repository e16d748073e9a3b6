"""Logins of a class's students and parents, for the school administrator and the class teacher."""

import base64

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.errors import DomainError
from app.models import db
from app.reports import login_sheet
from app.reports.xlsx import XLSX_MIMETYPE, export_file_name
from app.security.scope import current_scope
from app.services import accounts, class_logins, users
from app.services.notifications import public_url
from app.views.users import _no_store

PERSON_KINDS = ("student", "guardian")


class ClassLoginView(BaseView):
    """Create a class's logins at once with a login sheet, reset passwords, edit contacts."""

    route_base = "/class-logins"
    default_view = "index"
    class_permission_name = "ClassLogins"
    method_permission_name = {
        "index": "read",
        "show": "read",
        "create": "write",
        "student_password": "write",
        "guardian_password": "write",
        "student_contacts": "write",
        "guardian_contacts": "write",
        "save_student_contacts": "write",
        "save_guardian_contacts": "write",
    }

    @expose("/")
    @has_access
    def index(self):
        try:
            classes = class_logins.manageable_classes(current_scope())
        except DomainError as error:
            flash(str(error), "danger")
            classes = []
        return self.render_template("class_logins_index.html", classes=classes)

    @expose("/<int:class_id>")
    @has_access
    def show(self, class_id):
        school_class = class_logins.get_class(current_scope(), class_id)
        return self.render_template(
            "class_logins_show.html",
            school_class=school_class,
            people=class_logins.class_people(school_class),
            time_label=accounts.local_time_label,
        )

    @expose("/<int:class_id>/logins", methods=["POST"])
    @has_access
    def create(self, class_id):
        sheet = class_logins.create_class_logins(current_scope(), class_id)
        if not sheet.rows:
            flash(_("Every student and parent of the class already has a login."), "info")
            return redirect(url_for(".show", class_id=class_id))
        return self._render_sheet(class_id, sheet, created=True)

    @expose("/<int:class_id>/students/<int:student_id>/password", methods=["POST"])
    @has_access
    def student_password(self, class_id, student_id):
        return self._reset(class_id, "student", student_id)

    @expose("/<int:class_id>/guardians/<int:guardian_id>/password", methods=["POST"])
    @has_access
    def guardian_password(self, class_id, guardian_id):
        return self._reset(class_id, "guardian", guardian_id)

    @expose("/<int:class_id>/students/<int:student_id>/contacts", methods=["GET"])
    @has_access
    def student_contacts(self, class_id, student_id):
        return self._contacts_form(class_id, "student", student_id)

    @expose("/<int:class_id>/guardians/<int:guardian_id>/contacts", methods=["GET"])
    @has_access
    def guardian_contacts(self, class_id, guardian_id):
        return self._contacts_form(class_id, "guardian", guardian_id)

    @expose("/<int:class_id>/students/<int:student_id>/contacts", methods=["POST"])
    @has_access
    def save_student_contacts(self, class_id, student_id):
        return self._save_contacts(class_id, "student", student_id)

    @expose("/<int:class_id>/guardians/<int:guardian_id>/contacts", methods=["POST"])
    @has_access
    def save_guardian_contacts(self, class_id, guardian_id):
        return self._save_contacts(class_id, "guardian", guardian_id)

    # --- Helpers ---------------------------------------------------------------------

    def _reset(self, class_id, kind, person_id):
        try:
            sheet = class_logins.reset_person_password(current_scope(), class_id, kind, person_id)
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for(".show", class_id=class_id))
        return self._render_sheet(class_id, sheet, created=False)

    def _render_sheet(self, class_id, sheet, created: bool):
        """Render the printable sheet, with its XLSX embedded: passwords are never stored."""
        site = public_url()
        content = login_sheet.sheet_xlsx(sheet, site)
        file_name = export_file_name(_("Logins"), sheet.school_name, sheet.class_name)
        page = self.render_template(
            "class_logins_sheet.html",
            sheet=sheet,
            site=site,
            created=created,
            class_id=class_id,
            xlsx_href=f"data:{XLSX_MIMETYPE};base64,{base64.b64encode(content).decode()}",
            xlsx_name=file_name,
        )
        return _no_store(page)

    def _contacts_form(self, class_id, kind, person_id, phone=None, email=None, status=200):
        school_class, person = class_logins.get_person(current_scope(), class_id, kind, person_id)
        if email is None:
            email = _shown_email(kind, person)
        if phone is None:
            phone = person.phone or ""
        page = self.render_template(
            "class_logins_contacts.html",
            school_class=school_class,
            person=person,
            kind=kind,
            phone=phone,
            email=email,
        )
        return page, status

    def _save_contacts(self, class_id, kind, person_id):
        phone = request.form.get("phone", "")
        email = request.form.get("email", "")
        try:
            class_logins.update_contacts(current_scope(), class_id, kind, person_id, phone, email)
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return self._contacts_form(class_id, kind, person_id, phone, email, status=400)
        flash(_("The contacts are saved."), "success")
        return redirect(url_for(".show", class_id=class_id))


def _shown_email(kind: str, person) -> str:
    """Return the address the contacts form starts with: the record's, else the login's."""
    email = person.email or ""
    if not email and person.user_id:
        email = person.user.email
    return "" if users.is_placeholder(email) else email


def register(appbuilder) -> None:
    appbuilder.add_view(
        ClassLoginView,
        "Class logins",
        label=_l("Logins of a class"),
        category="Settings",
        category_label=_l("School settings"),
    )
