"""The school's personal-data change log, read by the school system administrator.

Filters by person (student, guardian or employee), by user and by dates; the rows come
from :class:`~app.models.PersonalDataAudit`, written by app/services/personal_data_audit.py.
"""

import datetime as dt
import math
from dataclasses import dataclass

from flask import abort
from flask_appbuilder.security.sqla.models import User
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import Date, DateTime, and_, func, select

from app.models import Employee, Guardian, PersonalDataAudit, Student, db
from app.models.audit import PERSON_KINDS
from app.security.scope import Scope, apply_scope, scoped_get_or_404
from app.services.dates import format_date, format_local_time, parse_user_date

PAGE_SIZE = 50
#: The maximum number of rows in one XLSX export; filters narrow a larger log.
EXPORT_LIMIT = 50_000

#: Person kinds and the query parameter and model of each.
PERSON_MODELS = {"student": Student, "guardian": Guardian, "employee": Employee}

#: Action names as nouns, so that one Russian word form fits every record: «Изменение».
ACTION_LABELS = {
    "create": lazy_pgettext("personal data action", "Creation"),
    "change": lazy_pgettext("personal data action", "Change"),
    "delete": lazy_pgettext("personal data action", "Deletion"),
    "view": lazy_pgettext("personal data action", "Viewing"),
}


def may_read_log(scope: Scope) -> bool:
    return scope.level == "school" and scope.has_role("school_admin")


@dataclass
class LogFilters:
    person_kind: str | None = None
    person_id: int | None = None
    user_id: int | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def query_args(self) -> dict:
        args = {}
        if self.person_kind:
            args[self.person_kind] = self.person_id
        if self.user_id:
            args["user"] = self.user_id
        if self.date_from:
            args["date_from"] = self.date_from.isoformat()
        if self.date_to:
            args["date_to"] = self.date_to.isoformat()
        return args


def describe_filters(scope: Scope, filters: LogFilters) -> str:
    """Describe the chosen filters in words for the head of the XLSX sheet."""
    parts = []
    if filters.person_kind is not None:
        model = PERSON_MODELS[filters.person_kind]
        person = scoped_get_or_404(model, filters.person_id, scope)
        kind = PERSON_KINDS[filters.person_kind]
        parts.append(_("%(kind)s: %(name)s", kind=kind, name=person.full_name))
    if filters.user_id is not None:
        user = db.session.get(User, filters.user_id)
        name = " ".join(part for part in (user.last_name, user.first_name) if part)
        parts.append(_("User: %(name)s", name=name))
    if filters.date_from is not None:
        parts.append(_("from %(date)s", date=format_date(filters.date_from)))
    if filters.date_to is not None:
        parts.append(_("to %(date)s", date=format_date(filters.date_to)))
    return "; ".join(parts) or _("All records")


def _date(args, name: str, errors: list) -> dt.date | None:
    text = (args.get(name) or "").strip()
    if not text:
        return None
    day = parse_user_date(text)
    if day is None:
        errors.append(_("«%(value)s» is not a date: write it as 05.10.2026.", value=text))
    return day


def log_users(scope: Scope) -> list[User]:
    """Users who appear in the school's log, for the filter."""
    authors = apply_scope(select(PersonalDataAudit.user_id), PersonalDataAudit, scope)
    statement = select(User).where(User.id.in_(authors)).order_by(User.last_name, User.id)
    return list(db.session.scalars(statement))


def parse_filters(scope: Scope, args) -> tuple[LogFilters, list[str]]:
    """Read the filters; a person or user outside the school gives 404."""
    errors: list[str] = []
    filters = LogFilters()
    for kind, model in PERSON_MODELS.items():
        if args.get(kind):
            filters.person_kind = kind
            filters.person_id = scoped_get_or_404(model, args.get(kind), scope).id
            break
    user_text = (args.get("user") or "").strip()
    if user_text:
        if not user_text.isdigit() or int(user_text) not in {u.id for u in log_users(scope)}:
            abort(404)
        filters.user_id = int(user_text)
    filters.date_from = _date(args, "date_from", errors)
    filters.date_to = _date(args, "date_to", errors)
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        errors.append(_("The period ends before it starts: enter the earlier date first."))
        filters.date_from = filters.date_to = None
    return filters, errors


def _filtered(scope: Scope, filters: LogFilters):
    statement = apply_scope(select(PersonalDataAudit), PersonalDataAudit, scope)
    conditions = []
    if filters.person_kind is not None:
        conditions.append(PersonalDataAudit.person_kind == filters.person_kind)
        conditions.append(PersonalDataAudit.person_id == filters.person_id)
    if filters.user_id is not None:
        conditions.append(PersonalDataAudit.user_id == filters.user_id)
    if filters.date_from is not None:
        conditions.append(PersonalDataAudit.changed_at >= filters.date_from)
    if filters.date_to is not None:
        conditions.append(PersonalDataAudit.changed_at < filters.date_to + dt.timedelta(days=1))
    if conditions:
        statement = statement.where(and_(*conditions))
    return statement.order_by(PersonalDataAudit.changed_at.desc(), PersonalDataAudit.id.desc())


@dataclass
class LogRow:
    """One line of the log with names instead of ids; ``changes`` as stored."""

    id: int
    changed_at: dt.datetime
    user: str
    address: str
    person_kind: str
    person_kind_label: str
    person_id: int | None
    person: str
    entity: str
    action: str
    #: The stored changes, each with ``old_text`` and ``new_text`` added for people to
    #: read unless the field is confidential.
    changes: list[dict]


def _person_names(entries) -> dict[tuple[str, int], str]:
    names = {}
    for kind, model in PERSON_MODELS.items():
        ids = {e.person_id for e in entries if e.person_kind == kind and e.person_id}
        if not ids:
            continue
        for person in db.session.scalars(select(model).where(model.id.in_(ids))):
            names[(kind, person.id)] = person.full_name
    return names


def _rows(statement) -> list[LogRow]:
    entries = list(db.session.scalars(statement))
    users = {
        user.id: " ".join(p for p in (user.last_name, user.first_name) if p)
        for user in db.session.scalars(
            select(User).where(User.id.in_({e.user_id for e in entries if e.user_id} or {-1}))
        )
    }
    names = _person_names(entries)
    describe = _ValueDescriber(entries)
    return [
        LogRow(
            id=entry.id,
            changed_at=entry.changed_at,
            user=users.get(entry.user_id, "—"),
            address=entry.address or "",
            person_kind=entry.person_kind,
            person_kind_label=str(PERSON_KINDS.get(entry.person_kind, entry.person_kind)),
            person_id=entry.person_id,
            person=names.get(
                (entry.person_kind, entry.person_id), _("record #%(id)s", id=entry.person_id)
            ),
            entity=entry.entity,
            action=str(ACTION_LABELS.get(entry.action, entry.action)),
            changes=[describe.change(entry, change) for change in entry.changes or []],
        )
        for entry in entries
    ]


def _audited_models() -> dict[str, type]:
    """Map the table names of audited models, and of the tables they refer to, to models."""
    return {mapper.class_.__tablename__: mapper.class_ for mapper in db.Model.registry.mappers}


class _ValueDescriber:
    """Turn stored values of a page of log rows into what people read.

    Codes become their labels, ids of other records their names, ISO dates the Russian
    form and times the school's time zone. Names are loaded once per page and table, and
    only within the rows' school.
    """

    def __init__(self, entries):
        self.models = _audited_models()
        self.names: dict[tuple[str, int], str] = {}
        wanted: dict[str, set[int]] = {}
        for entry in entries:
            for change in entry.changes or []:
                column = self._column(entry.entity, change.get("field"))
                target = self._target_table(column)
                if target is None:
                    continue
                for key in ("old", "new"):
                    if isinstance(change.get(key), int):
                        wanted.setdefault(target, set()).add(change[key])
        school_ids = {entry.school_id for entry in entries}
        for table, ids in wanted.items():
            self._load_names(table, ids, school_ids)

    def _column(self, entity: str, field: str | None):
        model = self.models.get(entity)
        if model is None or field is None:
            return None
        return model.__table__.columns.get(field)

    @staticmethod
    def _target_table(column) -> str | None:
        if column is None or not column.foreign_keys:
            return None
        return next(iter(column.foreign_keys)).column.table.name

    def _load_names(self, table: str, ids: set[int], school_ids: set[int]) -> None:
        model = User if table == User.__tablename__ else self.models.get(table)
        if model is None:
            return
        statement = select(model).where(model.id.in_(ids))
        if hasattr(model, "school_id"):
            statement = statement.where(model.school_id.in_(school_ids))
        for obj in db.session.scalars(statement):
            if model is User:
                name = " ".join(part for part in (obj.last_name, obj.first_name) if part)
            else:
                name = getattr(obj, "full_name", None) or str(obj)
            self.names[(table, obj.id)] = name

    def change(self, entry, change: dict) -> dict:
        """Return the change with ``old_text`` and ``new_text``; a confidential one as is."""
        if "old" not in change and "new" not in change:
            return dict(change)
        column = self._column(entry.entity, change.get("field"))
        return {
            **change,
            "old_text": self.value(column, change.get("old")),
            "new_text": self.value(column, change.get("new")),
        }

    def value(self, column, value) -> str:
        if value is None or value == "":
            return "—"
        if isinstance(value, bool):
            return str(_l("Yes") if value else _l("No"))
        if column is None:
            return str(value)
        choices = column.info.get("choices")
        if choices and value in choices:
            return str(choices[value])
        target = self._target_table(column)
        if target is not None:
            return self.names.get((target, value), _("record #%(id)s", id=value))
        return _typed_text(column, value)


def _typed_text(column, value) -> str:
    """Write a stored ISO date or time the way pages do; other values as they are."""
    try:
        if isinstance(column.type, DateTime):
            return format_local_time(dt.datetime.fromisoformat(value))
        if isinstance(column.type, Date):
            return format_date(dt.date.fromisoformat(value))
    except (TypeError, ValueError):
        pass
    return str(value)


@dataclass
class LogPage:
    rows: list[LogRow]
    page: int
    pages: int
    total: int


def log_page(scope: Scope, filters: LogFilters, page: int) -> LogPage:
    statement = _filtered(scope, filters)
    total = db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(page, 1), pages)
    chunk = statement.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    return LogPage(_rows(chunk), page, pages, total)


def log_export_rows(scope: Scope, filters: LogFilters) -> list[LogRow]:
    return _rows(_filtered(scope, filters).limit(EXPORT_LIMIT))
