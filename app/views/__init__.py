"""Every view of the application is registered here, in one place."""

import importlib

from app.views.records import register_record_views

#: Feature modules under app.views, each with a register(appbuilder) function, in the
#: order their menus appear.
FEATURE_MODULES = [
    "organisation",
    "journal",
    "journal_fill",
    "attendance_reasons",
    "diary",
    "timetable",
    "reports",
    "users",
    "school_settings",
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
