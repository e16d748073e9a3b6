"""Every view of the application is registered here, in one place."""

from app.views.records import register_record_views


def register_views(appbuilder) -> None:
    register_record_views(appbuilder)
    # Feature pages register themselves through their modules' register() functions.
    from app.views import organisation

    organisation.register(appbuilder)
