"""Errors a user can fix, with messages in the user's language."""

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """A broken rule of the school's domain, with a message that says what to fix."""

    def __init__(self, message, **params):
        super().__init__(str(message))
        self.message = message
        self.params = params

    def __str__(self) -> str:
        text = str(self.message)
        return text % self.params if self.params else text


class FormErrors(Exception):
    """Every invalid value of one submitted form, so that nothing was saved.

    Each message names the value and the fix; pages list them all at once.
    """

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(str(message) for message in messages))
        self.messages = messages


class OutOfScope(DomainError):
    """An id of an object outside the user's organisation, reported as not found (404)."""

    def __init__(self, model_name: str = ""):
        super().__init__(_l("Not found."))
        self.model_name = model_name


#: Shown when the database rejects a write; the raw database text never reaches a user.
SAVE_FAILED = _l(
    "The record was not saved: it conflicts with another record (for example, "
    "the same name already exists in this school) or refers to a record that is in use. "
    "Check the values and try again."
)
