"""Import of students (with their parents) and of staff from XLSX or CSV files.

An upload is read (:mod:`.files`), each row checked (:mod:`.rows`) and compared with the
school's records (:mod:`.preview`). The user sees every row marked new, changed,
duplicate or invalid; a confirmation reads the kept file (:mod:`.storage`) again, checks
it again, and writes it in one transaction (:mod:`.apply`) only if no row is invalid.
"""

import datetime as dt

from flask import current_app

from app.services.people_import.apply import ImportResult, apply_preview
from app.services.people_import.columns import FIELDS, KINDS, STAFF, STUDENTS, template_xlsx
from app.services.people_import.files import ImportFileError, read_table
from app.services.people_import.preview import (
    CHANGED,
    DUPLICATE,
    INVALID,
    NEW,
    STATUSES,
    Preview,
    build_preview,
)

__all__ = [
    "CHANGED",
    "DUPLICATE",
    "FIELDS",
    "INVALID",
    "KINDS",
    "NEW",
    "STAFF",
    "STATUSES",
    "STUDENTS",
    "ImportFileError",
    "ImportResult",
    "Preview",
    "apply_preview",
    "preview_file",
    "template_xlsx",
]


def preview_file(kind: str, school_id: int, data: bytes, name: str, today: dt.date) -> Preview:
    """Read and check an import file against one school; raise :class:`ImportFileError`."""
    table = read_table(kind, data, name, current_app.config["IMPORT_MAX_BYTES"])
    return build_preview(kind, school_id, table, today)
