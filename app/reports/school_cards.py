"""The authority's table of its schools' cards, one row per school, for XLSX export."""

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import select

from app.models import School, db
from app.reports.xlsx import DATE, INTEGER
from app.security.scope import Scope, apply_scope
from app.services.school_card import CARD_FIELDS, COUNT, FLAG
from app.services.school_card import DATE as DATE_FIELD


def _cell(school: School, field):
    """Return a cell value: dates and counts stay typed, flags read «Да» or «Нет»."""
    value = getattr(school, field.name)
    if field.kind == FLAG and value is not None:
        return _("Yes") if value else _("No")
    return value


def school_cards_frame(scope: Scope) -> tuple[pd.DataFrame, dict[str, str]]:
    """Return the cards of the schools in ``scope`` and the number formats of the columns."""
    statement = apply_scope(select(School), School, scope).order_by(School.name)
    schools = list(db.session.scalars(statement))
    columns = [str(field.label) for field in CARD_FIELDS]
    rows = [[_cell(school, field) for field in CARD_FIELDS] for school in schools]
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    formats = {}
    for field in CARD_FIELDS:
        if field.kind == COUNT:
            formats[str(field.label)] = INTEGER
        elif field.kind == DATE_FIELD:
            formats[str(field.label)] = DATE
    return frame, formats
