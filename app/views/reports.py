"""Placeholder until the feature lands; registers nothing."""


def register(appbuilder) -> None:
    return None
