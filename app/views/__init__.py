"""Every view of the application is registered here, in one place."""

import importlib

from app.views.records import register_record_views

#: Feature modules under app.views, each with a register(appbuilder) function, in the
#: order their menus appear.
FEATURE_MODULES = [
    "organisation",
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
    "reports",
    "school_reports",
    "users",
    "school_settings",
    "regulation",
    "announcements",
    "messages",
    "absence_notes",
    "notifications",
]


def register_views(appbuilder) -> None:
    register_record_views(appbuilder)
    for name in FEATURE_MODULES:
        module = importlib.import_module(f"app.views.{name}")
        module.register(appbuilder)
