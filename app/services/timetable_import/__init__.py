"""Import of a timetable from FET, aSc Timetables or the XLSX grid, with a preview.

A reader turns the file into a plan (:mod:`.plan`), the preview matches it to the records
of the chosen school and year (:mod:`.preview`), and a confirmation reads the kept file
again and writes every new record in one transaction (:mod:`.apply`).
"""

from flask import current_app
from flask_babel import gettext as _

from app.models import AcademicYear, db
from app.services.timetable_import.apply import ImportResult, apply_preview, import_conflicts
from app.services.timetable_import.asc import read_asc
from app.services.timetable_import.fet import read_fet
from app.services.timetable_import.grid import COLUMNS, read_grid, template_xlsx
from app.services.timetable_import.plan import ImportFileError, Plan
from app.services.timetable_import.preview import KINDS, MATCHED, NEW, Preview, build_preview
from app.services.timetable_import.xmlsafe import parse_xml

#: The formats a file may have, by the code the upload form sends.
FORMATS = ("fet", "asc", "xlsx")

__all__ = [
    "COLUMNS",
    "FORMATS",
    "KINDS",
    "MATCHED",
    "NEW",
    "ImportFileError",
    "ImportResult",
    "Preview",
    "apply_preview",
    "preview_file",
    "read_plan",
    "template_xlsx",
]


def read_plan(file_format: str, data: bytes, name: str, max_bytes: int) -> Plan:
    """Read a file of one of :data:`FORMATS` into a plan; raise :class:`ImportFileError`."""
    if file_format == "fet":
        return read_fet(parse_xml(data, max_bytes))
    if file_format == "asc":
        return read_asc(parse_xml(data, max_bytes))
    return read_grid(data, name, max_bytes)


def preview_file(file_format: str, school_id: int, year_id: int, data: bytes, name: str) -> Preview:
    """Read a file and match it to one school's year."""
    year = db.session.get(AcademicYear, year_id)
    if year is None or year.school_id != school_id:
        raise ImportFileError([_("Choose a school year of your school.")])
    if year.is_closed:
        message = _("The school year %(year)s is closed: choose an open year.", year=year.name)
        raise ImportFileError([message])
    plan = read_plan(file_format, data, name, current_app.config["IMPORT_MAX_BYTES"])
    preview = build_preview(plan, school_id, year_id)
    if preview.is_valid and preview.entries:
        for conflict in import_conflicts(preview, school_id):
            preview.warnings.append(f"{conflict.course}: {conflict.message}")
    return preview
