"""The school settings page: the school administrator edits, the principal reads."""

import logging

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.errors import DomainError
from app.models import db
from app.security.scope import current_scope
from app.services import school_settings
from app.services.school_settings import SettingsForm, SettingsInputError

PERMISSION = "SchoolSettings"

log = logging.getLogger(__name__)


class SchoolSettingsView(BaseView):
    """Settings of the session's own school; the URL carries no school id."""

    route_base = "/school-settings"
    default_view = "edit"
    class_permission_name = PERMISSION
    method_permission_name = {"edit": "read", "update": "write"}

    @expose("/", methods=["GET"])
    @has_access
    def edit(self):
        scope = current_scope()
        try:
            school = school_settings.get_school(scope)
        except DomainError as error:
            return self._render_no_school(error)
        return self._render_form(SettingsForm.from_school(school), errors=[])

    @expose("/", methods=["POST"])
    @has_access
    def update(self):
        scope = current_scope()
        form = SettingsForm.from_request(request.form)
        try:
            school_settings.save_settings(scope, form)
        except SettingsInputError as error:
            db.session.rollback()
            log.info(
                "School settings of school %s not saved for user %s: %s invalid values",
                scope.school_id,
                scope.user_id,
                len(error.messages),
            )
            return self._render_form(form, error.messages), 400
        except DomainError as error:
            db.session.rollback()
            log.info("School settings not saved for user %s: %s", scope.user_id, error)
            return self._render_no_school(error)
        flash(_("The school settings are saved."), "success")
        return redirect(url_for("SchoolSettingsView.edit"))

    def _render_form(self, form, errors):
        return self.render_template(
            "school_settings.html",
            form=form,
            errors=errors,
            may_write=self.appbuilder.sm.has_access("can_write", PERMISSION),
            may_edit_regulation=self.appbuilder.sm.has_access("can_read", "RegulationEdit"),
            rules=school_settings,
        )

    def _render_no_school(self, error):
        return self.render_template("school_settings.html", no_school=str(error))


def register(appbuilder) -> None:
    # The menu item's name differs from the permission name "SchoolSettings": FAB's
    # permission update deletes menu_access from a view menu that is also a view's
    # permission name.
    appbuilder.add_view(
        SchoolSettingsView,
        "School settings page",
        label=_l("General settings"),
        category="Settings",
        category_label=_l("School settings"),
    )
