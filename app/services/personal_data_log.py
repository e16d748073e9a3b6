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
from sqlalchemy import and_, func, select

from app.models import Employee, Guardian, PersonalDataAudit, Student, db
from app.models.audit import PERSON_KINDS, PERSONAL_DATA_ACTIONS
from app.security.scope import Scope, apply_scope, scoped_get_or_404
from app.services.dates import parse_user_date

PAGE_SIZE = 50
#: The maximum number of rows in one XLSX export; filters narrow a larger log.
EXPORT_LIMIT = 50_000

#: Person kinds and the query parameter and model of each.
PERSON_MODELS = {"student": Student, "guardian": Guardian, "employee": Employee}


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
    return [
        LogRow(
            id=entry.id,
            changed_at=entry.changed_at,
            user=users.get(entry.user_id, "—"),
            address=entry.address or "",
            person_kind=entry.person_kind,
            person_kind_label=str(PERSON_KINDS.get(entry.person_kind, entry.person_kind)),
            person_id=entry.person_id,
            person=names.get((entry.person_kind, entry.person_id), f"#{entry.person_id}"),
            entity=entry.entity,
            action=str(PERSONAL_DATA_ACTIONS.get(entry.action, entry.action)),
            changes=list(entry.changes or []),
        )
        for entry in entries
    ]


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
