"""Every view of the application is registered here, in one place."""

import importlib
from collections import defaultdict

from app.views.records import register_record_views

#: Feature modules under app.views, each with a register(appbuilder) function, in the
#: order their menus appear.
FEATURE_MODULES = [
    "organisation",
    "account",
    "journal",
    "journal_fill",
    "final_marks",
    "thematic_plan",
    "cancelled_days",
    "assignment_files",
    "attendance_reasons",
    "diary",
    "assessment_schedule",
    "timetable",
    "lesson_changes",
    "timetable_editor",
    "teaching_load",
    "reports",
    "school_card",
    "staff_records",
    "school_reports",
    "report_jobs",
    "users",
    "class_logins",
    "people_import",
    "timetable_import",
    "movement",
    "certificates",
    "transferred_marks",
    "school_settings",
    "regulation",
    "announcements",
    "messages",
    "absence_notes",
    "notifications",
    "health",
    "social_passport",
    "personal_data",
]


def register_views(appbuilder) -> None:
    register_record_views(appbuilder)
    for name in FEATURE_MODULES:
        module = importlib.import_module(f"app.views.{name}")
        module.register(appbuilder)
    share_permission_sets(appbuilder.baseviews)


def share_permission_sets(views) -> None:
    """Give every view that shares a permission name the union of their permissions.

    FAB deletes a permission of the shared name when the view it records lacks it, unless
    some role has it. The read-only class reports page under "Journal" logged a rejected
    deletion of «can_write» on every start.
    """
    by_name = defaultdict(set)
    for view in views:
        if view.base_permissions:
            by_name[view.class_permission_name].update(view.base_permissions)
    for view in views:
        if view.base_permissions:
            view.base_permissions = sorted(by_name[view.class_permission_name])
