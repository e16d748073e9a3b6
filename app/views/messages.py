"""Placeholder for the messages pages; the feature's views are registered here."""


def register(appbuilder) -> None:
    """Register the feature's views (none yet)."""
