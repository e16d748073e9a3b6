"""The school card (паспорт ОУ): the school's own page and the authority's XLSX export."""

import datetime as dt
import logging

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.models import db
from app.reports.school_cards import school_cards_frame
from app.reports.xlsx import frame_to_xlsx, xlsx_response
from app.security.scope import current_scope
from app.services import school_card
from app.services.school_card import SchoolCardError

log = logging.getLogger(__name__)

#: Permission of the school's own card: the school administrator writes, the principal reads.
SCHOOL_CARD_PERMISSION = "SchoolCard"


class SchoolCardPageView(BaseView):
    """The card of the session's school, and its edit form for the school administrator."""

    route_base = "/school-card"
    default_view = "card"
    class_permission_name = SCHOOL_CARD_PERMISSION
    method_permission_name = {"card": "read", "edit": "write"}

    @expose("/")
    @has_access
    def card(self):
        school = school_card.own_school(current_scope())
        can_edit = self.appbuilder.sm.has_access("can_write", SCHOOL_CARD_PERMISSION)
        return self.render_template(
            "school_card.html",
            school=school,
            sections=school_card.card_sections(),
            display=school_card.display_value,
            can_edit=can_edit,
        )

    @expose("/edit", methods=["GET", "POST"])
    @has_access
    def edit(self):
        scope = current_scope()
        school = school_card.own_school(scope)
        if request.method == "GET":
            return self._render_form(scope, school_card.form_values(school), errors=[])
        try:
            school_card.update_card(scope, request.form, dt.date.today())
        except SchoolCardError as error:
            db.session.rollback()
            log.info("School card of school %s not saved: invalid values", scope.school_id)
            return self._render_form(scope, request.form, error.messages), 400
        flash(_("The school card is saved."), "success")
        return redirect(url_for("SchoolCardPageView.card"))

    def _render_form(self, scope, values, errors):
        return self.render_template(
            "school_card_edit.html",
            values=values,
            errors=errors,
            sections=school_card.card_sections(),
            employees=school_card.school_employees(scope),
        )


class SchoolCardExportView(BaseView):
    """The authority's cards of all its schools as one XLSX sheet."""

    route_base = "/authority/school-cards"
    default_view = "export"
    # The export is one of the authority's reports, and shares their permission.
    class_permission_name = "AuthorityReports"
    method_permission_name = {"export": "read"}

    @expose("/export.xlsx")
    @has_access
    def export(self):
        frame, formats = school_cards_frame(current_scope())
        title = _("School cards")
        content = frame_to_xlsx(
            [(title, frame, formats)], title, _("Date: %(date)s", date=_today_text())
        )
        return xlsx_response(content, title)


def _today_text() -> str:
    return dt.date.today().strftime("%d.%m.%Y")


def register(appbuilder) -> None:
    appbuilder.add_view(
        SchoolCardPageView,
        "School card",
        label=_l("School card"),
        category="Settings",
        category_label=_l("School settings"),
    )
    appbuilder.add_view_no_menu(SchoolCardExportView)
    appbuilder.add_link(
        "School cards in Excel",
        href="SchoolCardExportView.export",
        label=_l("School cards in Excel"),
        category="Authority",
        baseview=SchoolCardExportView,
    )
