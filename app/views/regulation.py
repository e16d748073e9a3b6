"""The school's assessment regulation: the principal and the administrator edit it per
year, and every member of the school, parents and students included, reads it."""

import logging

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.errors import DomainError
from app.models import db
from app.models.regulation import YEAR_TIE_RULES
from app.security.scope import current_scope
from app.services import regulation as rules
from app.services.regulation import RegulationForm, RegulationInputError

EDIT_PERMISSION = "RegulationEdit"
READ_PERMISSION = "Regulation"

log = logging.getLogger(__name__)


class RegulationEditView(BaseView):
    """Settings of one year's regulation of the session's school; ``?year=`` picks the year."""

    route_base = "/regulation"
    default_view = "edit"
    class_permission_name = EDIT_PERMISSION
    method_permission_name = {"edit": "read", "update": "write"}

    @expose("/", methods=["GET"])
    @has_access
    def edit(self):
        try:
            page = rules.regulation_page(current_scope(), request.args.get("year"))
        except DomainError as error:
            return self._render_no_school(error)
        form = RegulationForm.from_regulation(page.regulation, page.max_mark)
        return self._render_form(page, form, errors=[])

    @expose("/", methods=["POST"])
    @has_access
    def update(self):
        scope = current_scope()
        try:
            page = rules.regulation_page(scope, request.form.get("year"))
        except DomainError as error:
            return self._render_no_school(error)
        form = RegulationForm.from_request(request.form, page.max_mark)
        try:
            rules.save_regulation(scope, page, form)
        except RegulationInputError as error:
            db.session.rollback()
            log.info(
                "Regulation of school %s, year %s not saved for user %s: %s invalid values",
                page.school.id,
                page.year.id,
                scope.user_id,
                len(error.messages),
            )
            return self._render_form(page, form, error.messages), 400
        except DomainError as error:
            db.session.rollback()
            log.info(
                "Regulation of school %s, year %s not saved for user %s: %s",
                page.school.id,
                page.year.id,
                scope.user_id,
                error,
            )
            return self._render_form(page, form, [str(error)]), 409
        flash(_("The regulation for %(year)s is saved.", year=page.year.name), "success")
        return redirect(url_for("RegulationEditView.edit", year=page.year.id))

    def _render_form(self, page, form, errors):
        return self.render_template(
            "regulation_edit.html",
            page=page,
            form=form,
            errors=errors,
            may_write=self.appbuilder.sm.has_access("can_write", EDIT_PERMISSION)
            and not page.year.is_closed,
            tie_rules=YEAR_TIE_RULES,
            rules=rules,
            defaults=rules.default_thresholds(page.max_mark),
        )

    def _render_no_school(self, error):
        return self.render_template("regulation_edit.html", no_school=str(error))


class RegulationReadView(BaseView):
    """The year's regulation in plain words, for every member of the school."""

    route_base = "/regulation"
    default_view = "show"
    class_permission_name = READ_PERMISSION
    method_permission_name = {"show": "read"}

    @expose("/view", methods=["GET"])
    @has_access
    def show(self):
        try:
            page = rules.regulation_page(current_scope(), request.args.get("year"))
        except DomainError as error:
            return self.render_template("regulation_view.html", no_school=str(error))
        return self.render_template(
            "regulation_view.html",
            page=page,
            thresholds=rules.threshold_lines(page),
            marks_needed=rules.describe_marks_needed(page.regulation),
            top_mark_rule=rules.describe_top_mark_rule(page),
            tie_rule=rules.describe_year_tie_rule(page.regulation),
            grade2=rules.describe_grade2(page.regulation),
            may_edit=self.appbuilder.sm.has_access("can_read", EDIT_PERMISSION),
        )


def register(appbuilder) -> None:
    # Menu item names differ from the permission names: FAB's permission update deletes
    # menu_access from a view menu that is also a view's permission name.
    appbuilder.add_view(
        RegulationEditView,
        "Regulation settings page",
        label=_l("Assessment regulation"),
        category="Settings",
        category_label=_l("School settings"),
    )
    appbuilder.add_view(
        RegulationReadView,
        "Regulation page",
        label=_l("Assessment regulation"),
        category="Journal and diary",
        category_label=_l("Journal"),
    )
