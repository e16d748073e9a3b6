"""Consents to personal-data processing (the secretary) and the change log (the administrator)."""

import pandas as pd
from flask import abort, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.models import PersonalDataConsent
from app.reports.xlsx import current_school_label, frame_to_xlsx, xlsx_response
from app.security.scope import current_scope
from app.services import personal_data_log
from app.services.dates import format_local_time
from app.services.personal_data_consents import check_consent
from app.views.base import SchoolModelView
from app.views.labels import LABELS
from app.views.records import _interface

#: Names of the audited tables as the log shows them.
ENTITY_LABELS = {
    "student": _l("Student"),
    "guardian": _l("Parent or guardian"),
    "employee": _l("Employee"),
    "health_record": _l("Health record"),
    "health_exemption": _l("PE exemption"),
    "social_status": _l("Social passport"),
    "psychology_consent": _l("Consent to psychological help"),
    "psychologist_note": _l("Psychologist note"),
    "personal_data_consent": _l("Consent to personal-data processing"),
}


class PersonalDataConsentView(SchoolModelView):
    """Consents of students, guardians and employees; a minor's is given by a guardian."""

    datamodel = _interface(PersonalDataConsent)
    class_permission_name = "PersonalDataConsents"
    route_base = "/personal-data-consents"
    label_columns = LABELS
    list_columns = ["student", "guardian", "employee", "scope", "given_on", "withdrawn_on"]
    add_columns = edit_columns = [
        "student",
        "guardian",
        "employee",
        "given_by_guardian",
        "scope",
        "given_on",
        "withdrawn_on",
    ]
    base_order = ("given_on", "desc")

    def pre_add(self, item):
        super().pre_add(item)
        check_consent(item)

    def pre_update(self, item):
        super().pre_update(item)
        check_consent(item)


def _field_text(change: dict) -> str:
    """Format one changed field for the log; a confidential field shows its name alone."""
    name = str(LABELS.get(change.get("field"), change.get("field")))
    if "old_text" not in change:
        return name
    return f"{name}: {change['old_text']} → {change['new_text']}"


def _changes_text(changes: list[dict]) -> str:
    return "; ".join(_field_text(change) for change in changes)


class PersonalDataLogView(BaseView):
    """The personal-data log: who changed or read whose data, when and from which address."""

    route_base = "/personal-data-log"
    default_view = "log"
    class_permission_name = "PersonalDataLog"
    method_permission_name = {"log": "read", "export": "read"}

    @expose("/")
    @has_access
    def log(self):
        scope = self._scope()
        filters, errors = personal_data_log.parse_filters(scope, request.args)
        page_number = request.args.get("page", "1")
        page_number = int(page_number) if page_number.isdigit() else 1
        page = personal_data_log.log_page(scope, filters, page_number)
        return self.render_template(
            "personal_data_log.html",
            page=page,
            filters=filters,
            errors=errors,
            users=personal_data_log.log_users(scope),
            entity_labels=ENTITY_LABELS,
            changes_text=_changes_text,
            args=request.args,
        )

    @expose("/export.xlsx")
    @has_access
    def export(self):
        scope = self._scope()
        filters, errors = personal_data_log.parse_filters(scope, request.args)
        rows = personal_data_log.log_export_rows(scope, filters)
        columns = [
            _("When"),
            _("User"),
            _("Address"),
            _("Whose data"),
            _("Person"),
            _("Record"),
            _("Action"),
            _("Fields"),
        ]
        frame = pd.DataFrame(
            [
                [
                    format_local_time(row.changed_at, seconds=True),
                    row.user,
                    row.address,
                    row.person_kind_label,
                    row.person,
                    str(ENTITY_LABELS.get(row.entity, row.entity)),
                    row.action,
                    _changes_text(row.changes),
                ]
                for row in rows
            ],
            columns=columns,
        )
        title = _("Personal-data change log")
        # Excel allows 31 characters in a sheet name; the title has more.
        sheet_name = _("Personal-data log")
        filters_text = personal_data_log.describe_filters(scope, filters)
        content = frame_to_xlsx([(sheet_name, frame, {})], title, filters_text)
        return xlsx_response(content, _("personal-data-log"), current_school_label())

    def _scope(self):
        scope = current_scope()
        if scope is None or not personal_data_log.may_read_log(scope):
            abort(403)
        return scope


def register(appbuilder) -> None:
    PersonalDataConsentView.list_title = _l("Consents to personal-data processing")
    PersonalDataConsentView.show_title = _l("Consent to personal-data processing")
    PersonalDataConsentView.add_title = _l("New consent to personal-data processing")
    PersonalDataConsentView.edit_title = _l("Consent to personal-data processing: editing")
    appbuilder.add_view(
        PersonalDataConsentView,
        "Personal-data consents",
        label=_l("Consents to personal-data processing"),
        category="People",
        category_label=_l("People"),
    )
    appbuilder.add_view(
        PersonalDataLogView,
        "Personal-data log",
        label=_l("Personal-data change log"),
        category="People",
        category_label=_l("People"),
    )
