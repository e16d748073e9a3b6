"""The personal-data audit: every change of a person's data, and reads of confidential records.

One SQLAlchemy ``after_flush`` hook writes the audit rows of every ORM write of a model
that declares ``__audit_person__`` (whose data the row is) and ``__audit_confidential__``
(fields whose values must never be logged). The rows go out on the flush's own connection,
so a change and its audit row are committed or rolled back together, whatever page, API
or import wrote the change. Confidential reads are recorded by :func:`record_view`.

NOTE: Core statements (``update(Student)``, ``insert(...)`` without ORM objects) bypass the
hook, so personal data must be written through ORM objects. Rows the database removes by
ON DELETE CASCADE (a deleted student's health record) get no row of their own either.
"""

import datetime as dt
from decimal import Decimal

from flask import g, has_request_context
from flask_login import current_user
from flask_sqlalchemy.session import Session
from sqlalchemy import event, insert, inspect
from sqlalchemy.orm.base import LoaderCallableStatus

from app.models import PersonalDataAudit, db
from app.services.journal_audit import client_address

#: Columns that locate a row rather than describe a person.
UNAUDITED_COLUMNS = frozenset({"id", "school_id"})


def is_audited(obj) -> bool:
    return hasattr(type(obj), "__audit_confidential__")


def acting_user_id() -> int | None:
    """Return the signed-in user's id, or None for commands and background jobs."""
    if not has_request_context():
        return None
    user = getattr(g, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        user = current_user if current_user and current_user.is_authenticated else None
    return getattr(user, "id", None)


def _person(obj) -> tuple[str, int | None]:
    if hasattr(obj, "audit_person"):
        return obj.audit_person()
    kind, attribute = type(obj).__audit_person__
    return kind, getattr(obj, attribute)


def _plain(value):
    """Convert a value for JSON: dates and decimals become text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _field_change(name: str, old, new, confidential: frozenset) -> dict:
    if name in confidential:
        return {"field": name}
    return {"field": name, "old": _plain(old), "new": _plain(new)}


def _changes(obj, action: str) -> list[dict]:
    """List the changed fields of one row, with old and new values unless confidential."""
    state = inspect(obj)
    confidential = type(obj).__audit_confidential__
    changes = []
    for column in state.mapper.column_attrs:
        name = column.key
        if name in UNAUDITED_COLUMNS:
            continue
        history = state.attrs[name].history
        if action == "create":
            new = getattr(obj, name)
            if new is not None:
                changes.append(_field_change(name, None, new, confidential))
        elif action == "delete":
            old = _loaded(state.attrs[name].loaded_value)
            if old is not None:
                changes.append(_field_change(name, old, None, confidential))
        elif history.has_changes():
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old != new:
                changes.append(_field_change(name, old, new, confidential))
    return changes


def _loaded(value):
    """Return a loaded value, or None for an attribute that was never loaded."""
    return None if isinstance(value, LoaderCallableStatus) else value


def _audit_row(obj, action: str, user_id, address) -> dict | None:
    changes = _changes(obj, action)
    if action == "change" and not changes:
        return None
    person_kind, person_id = _person(obj)
    return dict(
        school_id=obj.school_id,
        user_id=user_id,
        address=address,
        person_kind=person_kind,
        person_id=person_id,
        entity=type(obj).__tablename__,
        record_id=obj.id,
        action=action,
        changes=changes,
    )


def _after_flush(session, flush_context) -> None:
    """Write the audit rows of the flushed changes on the flush's connection."""
    pending = [(obj, "create") for obj in session.new if is_audited(obj)]
    pending += [(obj, "change") for obj in session.dirty if is_audited(obj)]
    pending += [(obj, "delete") for obj in session.deleted if is_audited(obj)]
    if not pending:
        return
    user_id = acting_user_id()
    address = client_address()
    rows = [_audit_row(obj, action, user_id, address) for obj, action in pending]
    rows = [row for row in rows if row is not None]
    if rows:
        session.connection().execute(insert(PersonalDataAudit), rows)


def install_audit_hook() -> None:
    """Listen to every flush of the application's sessions. Calling it twice is harmless."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


def record_view(obj, fields: list[str]) -> None:
    """Record that the current user read confidential ``fields`` of ``obj``, by name only.

    The caller commits, together with whatever else the request writes.
    """
    person_kind, person_id = _person(obj)
    db.session.add(
        PersonalDataAudit(
            school_id=obj.school_id,
            user_id=acting_user_id(),
            address=client_address(),
            person_kind=person_kind,
            person_id=person_id,
            entity=type(obj).__tablename__,
            record_id=obj.id,
            action="view",
            changes=[{"field": name} for name in fields],
        )
    )
