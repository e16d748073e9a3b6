"""The thematic plan of a course (КТП): its topics in order, the XLSX import, and lesson topics.

A plan is an ordered list of topics, each taking a number of hours (lessons). The course's
held lessons, in date order and without the cancelled ones, take the plan's topics in turn:
a topic of two hours covers two consecutive lessons. Positions always run 1..n without
gaps; every change renumbers them in the same transaction.
"""

import datetime as dt
import logging
import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from zipfile import BadZipFile

import pandas as pd
from flask import current_app
from flask_babel import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import delete, func, or_, select

from app.errors import FormErrors
from app.models import AcademicYear, Course, Lesson, PlanItem, Term, db
from app.reports.xlsx import DATE, INTEGER, frame_to_xlsx
from app.services.dates import format_date

log = logging.getLogger(__name__)

MAX_TOPIC_LENGTH = 500
MAX_SECTION_LENGTH = 300
#: The largest value of the Numeric(4, 1) hours column.
MAX_HOURS = Decimal("999.9")
#: Rows one import takes. A course of 10 hours a week has about 350 lessons a year.
MAX_IMPORT_ROWS = 2000
#: Rows above the header that the import looks through: an exported plan has a title
#: and a filters row above its header.
HEADER_SEARCH_ROWS = 10

#: Column headers of the template and the export. The import matches them ignoring case,
#: and also takes the English names.
COLUMN_HEADERS = {
    "number": "№",
    "section": "Раздел",
    "topic": "Тема",
    "hours": "Часы",
    "date": "Дата",
}
HEADER_ALIASES = {
    "number": {"№", "no", "no.", "#", "номер"},
    "section": {"раздел", "section"},
    "topic": {"тема", "topic"},
    "hours": {"часы", "hours"},
    "date": {"дата", "date"},
}
REQUIRED_COLUMNS = ("topic", "hours")

IMPORT_MODES = ("replace", "append")


class PlanError(FormErrors):
    """One or more values of a plan form or file are invalid; nothing was saved."""


@dataclass
class PlanItemForm:
    """Values of one plan item as typed in the page's form."""

    topic: str = ""
    hours: str = "1"
    planned_date: str = ""
    section: str = ""
    #: Where to insert a new item (1 is first); empty appends it.
    position: str = ""


@dataclass(frozen=True)
class PlanValues:
    """Checked values of one plan item."""

    topic: str
    hours: Decimal
    planned_date: dt.date | None
    section: str | None


# --- Reading the plan ---------------------------------------------------------------


def course_plan(course: Course) -> list[PlanItem]:
    """List the plan items of a course by position."""
    statement = (
        select(PlanItem)
        .where(PlanItem.school_id == course.school_id, PlanItem.course_id == course.id)
        .order_by(PlanItem.position)
    )
    return list(db.session.scalars(statement))


def total_hours(items: list[PlanItem]) -> Decimal:
    return sum((Decimal(item.hours) for item in items), Decimal(0))


def format_hours(hours) -> str:
    """Show hours without a trailing zero: 2, 1.5."""
    text = f"{Decimal(hours):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- Checking values ------------------------------------------------------------------


def parse_hours(value) -> Decimal | None:
    """Read hours typed as text (``2``, ``1,5``) or stored as a number; None if invalid.

    Valid hours are positive, at most :data:`MAX_HOURS`, with at most one decimal place,
    as the column stores them.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        text = repr(value) if isinstance(value, float) else str(value)
    else:
        text = str(value or "").strip().replace(",", ".")
    try:
        hours = Decimal(text)
    except InvalidOperation:
        return None
    if not hours.is_finite() or hours <= 0 or hours > MAX_HOURS:
        return None
    if hours != hours.quantize(Decimal("0.1")):
        return None
    return hours.quantize(Decimal("0.1"))


def _check_text(topic: str, section: str, errors: list[str]) -> None:
    if not topic:
        errors.append(_("the topic is empty — enter the topic of the lesson."))
    elif len(topic) > MAX_TOPIC_LENGTH:
        errors.append(
            _(
                "the topic is %(length)s characters long — shorten it to at most %(max)s.",
                length=len(topic),
                max=MAX_TOPIC_LENGTH,
            )
        )
    if len(section) > MAX_SECTION_LENGTH:
        errors.append(
            _(
                "the section is %(length)s characters long — shorten it to at most %(max)s.",
                length=len(section),
                max=MAX_SECTION_LENGTH,
            )
        )


def _check_hours(value, errors: list[str]) -> Decimal | None:
    hours = parse_hours(value)
    if hours is None and not _cell_text(value):
        errors.append(_("the hours are missing — enter a number, for example 1 or 2."))
    elif hours is None:
        errors.append(
            _(
                "hours «%(value)s» — enter a number, for example 1 or 2.",
                value=_cell_text(value),
            )
        )
    return hours


def _check_date(day: dt.date | None, raw, year: AcademicYear, errors) -> None:
    """Add an error when the planned date is not a date or lies outside the school year."""
    if day is None:
        errors.append(
            _(
                "date «%(value)s» — enter a date as DD.MM.YYYY, for example 05.10.2026.",
                value=_cell_text(raw),
            )
        )
    elif not year.contains(day):
        errors.append(
            _(
                "date %(date)s is outside the school year %(year)s (%(start)s–%(end)s) — "
                "correct the date or leave it empty.",
                date=format_date(day),
                year=year.name,
                start=format_date(year.start_date),
                end=format_date(year.end_date),
            )
        )


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def check_form(form: PlanItemForm, year: AcademicYear) -> PlanValues:
    """Check a plan item typed in the page; raise :class:`PlanError` listing every problem."""
    errors: list[str] = []
    topic, section = form.topic.strip(), form.section.strip()
    _check_text(topic, section, errors)
    hours = _check_hours(form.hours, errors)
    position = form.position.strip()
    if position and (not position.isdigit() or int(position) < 1):
        errors.append(
            _(
                "the position «%(value)s» is invalid — enter a whole number from 1, "
                "or leave it empty to add the topic at the end.",
                value=position,
            )
        )
    planned_date = None
    if form.planned_date.strip():
        planned_date = _read_date(form.planned_date)
        _check_date(planned_date, form.planned_date, year, errors)
    if errors:
        raise PlanError([_capitalise(message) for message in errors])
    return PlanValues(topic, hours, planned_date, section or None)


def _capitalise(message: str) -> str:
    return message[:1].upper() + message[1:]


def _read_date(value) -> dt.date | None:
    """Read a date cell: a spreadsheet date, an Excel day number, DD.MM.YYYY or YYYY-MM-DD."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            converted = from_excel(value)
        except (ValueError, OverflowError, TypeError):
            return None
        return converted.date() if isinstance(converted, dt.datetime) else None
    text = str(value).strip()
    for date_format in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, date_format).date()
        except ValueError:
            continue
    return None


# --- Changing the plan ----------------------------------------------------------------


def _lock_course(course: Course) -> None:
    """Serialise plan changes of one course, so that two saves never number alike.

    On PostgreSQL the row lock makes a second change wait for the first to commit.
    SQLite ignores FOR UPDATE and serialises writers by itself.
    """
    db.session.execute(
        select(Course.id)
        .where(Course.school_id == course.school_id, Course.id == course.id)
        .with_for_update()
    )


def _renumber(items: list[PlanItem]) -> None:
    """Give the items positions 1..n in list order, without breaking the unique position.

    The positions are first moved above every current one, then set, so that no two rows
    hold the same position at any moment (the check forbids positions below 1).
    """
    if not items:
        return
    base = max(max(item.position or 0 for item in items), len(items)) + 1
    for offset, item in enumerate(items):
        item.position = base + offset
    db.session.flush()
    for offset, item in enumerate(items):
        item.position = offset + 1
    db.session.flush()


def _clamp_position(text: str, count: int) -> int:
    """The 0-based insert index for a typed position; empty or invalid text appends."""
    text = (text or "").strip()
    if not text.isdigit():
        return count
    return min(max(int(text), 1), count + 1) - 1


def add_item(course: Course, form: PlanItemForm, acting_user_id: int | None) -> PlanItem:
    """Add a topic to the plan, at the typed position or at the end, and commit."""
    values = check_form(form, course.year)
    _lock_course(course)
    items = course_plan(course)
    item = PlanItem(
        school_id=course.school_id,
        course_id=course.id,
        position=len(items) + 1,
        topic=values.topic,
        hours=values.hours,
        planned_date=values.planned_date,
        section=values.section,
    )
    index = _clamp_position(form.position, len(items))
    if index < len(items):
        # The new row first takes a free position above the others, then all are renumbered.
        item.position = max(existing.position for existing in items) + 1
    db.session.add(item)
    db.session.flush()
    items.insert(index, item)
    _renumber(items)
    db.session.commit()
    log.info("User %s added plan item %s to course %s", acting_user_id, item.id, course.id)
    return item


def update_item(item: PlanItem, form: PlanItemForm, acting_user_id: int | None) -> None:
    """Change a topic's text, hours, date and section and commit."""
    values = check_form(form, item.course.year)
    _lock_course(item.course)
    item.topic = values.topic
    item.hours = values.hours
    item.planned_date = values.planned_date
    item.section = values.section
    db.session.commit()
    log.info("User %s changed plan item %s", acting_user_id, item.id)


def delete_item(item: PlanItem, acting_user_id: int | None) -> None:
    """Delete a topic and close the gap in the positions, in one transaction."""
    course = item.course
    _lock_course(course)
    item_id = item.id
    db.session.delete(item)
    db.session.flush()
    _renumber(course_plan(course))
    db.session.commit()
    log.info("User %s deleted plan item %s of course %s", acting_user_id, item_id, course.id)


def move_item(item: PlanItem, position: int, acting_user_id: int | None) -> bool:
    """Move a topic to ``position`` (clamped to 1..n); False when it stays where it is."""
    course = item.course
    _lock_course(course)
    items = course_plan(course)
    target = min(max(position, 1), len(items))
    if target == item.position:
        return False
    items.remove(item)
    items.insert(target - 1, item)
    _renumber(items)
    db.session.commit()
    log.info("User %s moved plan item %s to position %s", acting_user_id, item.id, target)
    return True


# --- Importing from XLSX --------------------------------------------------------------


@dataclass(frozen=True)
class ImportResult:
    added: int
    removed: int


def check_upload_name(filename: str | None) -> None:
    """Raise :class:`PlanError` unless the file name is an XLSX workbook's."""
    name = (filename or "").strip()
    if not name:
        raise PlanError([_("Choose an XLSX file with the plan.")])
    if PurePath(name).suffix.lower() != ".xlsx":
        raise PlanError(
            [
                _(
                    "The file «%(name)s» is not an XLSX workbook: save the plan in Excel "
                    "as .xlsx (download the template) and upload it again.",
                    name=name,
                )
            ]
        )


def _check_size(stream, name: str) -> None:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    if size > limit:
        raise PlanError(
            [
                _(
                    "The file «%(name)s» is larger than the limit of %(limit)s MB: "
                    "remove other sheets or pictures and upload it again.",
                    name=name,
                    limit=limit // (1024 * 1024),
                )
            ]
        )
    if size == 0:
        raise PlanError([_("The file «%(name)s» is empty.", name=name)])


def _sheet_rows(stream, name: str) -> list[tuple[int, tuple]]:
    """Read the first sheet as (row number as Excel shows it, cell values) pairs."""
    # NOTE: openpyxl unpacks the whole workbook; the size limit above bounds the file,
    # not its unpacked size.
    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, OSError, ValueError):
        raise PlanError(
            [
                _(
                    "The file «%(name)s» could not be read as an XLSX workbook: open it in "
                    "Excel, save it as .xlsx and upload it again.",
                    name=name,
                )
            ]
        ) from None
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            rows.append((number, tuple(values)))
            if len(rows) > MAX_IMPORT_ROWS + HEADER_SEARCH_ROWS:
                break
        return rows
    finally:
        workbook.close()


def _header_columns(rows) -> tuple[int, dict[str, int]]:
    """Find the header row among the first rows; return its index and column per field."""
    for index, (_number, values) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns = {}
        for col, value in enumerate(values):
            label = str(value).strip().lower() if value is not None else ""
            for key, aliases in HEADER_ALIASES.items():
                if label in aliases and key not in columns:
                    columns[key] = col
        if all(key in columns for key in REQUIRED_COLUMNS):
            return index, columns
    raise PlanError(
        [
            _(
                "The file has no header row with the columns «%(topic)s» and «%(hours)s» "
                "in its first %(rows)s rows: download the template and fill it in.",
                topic=COLUMN_HEADERS["topic"],
                hours=COLUMN_HEADERS["hours"],
                rows=HEADER_SEARCH_ROWS,
            )
        ]
    )


def _cell(values: tuple, columns: dict[str, int], key: str):
    col = columns.get(key)
    if col is None or col >= len(values):
        return None
    value = values[col]
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _parse_rows(rows, year: AcademicYear) -> list[PlanValues]:
    """Check every data row; raise :class:`PlanError` with one message per problem."""
    header_index, columns = _header_columns(rows)
    errors: list[str] = []
    parsed: list[PlanValues] = []
    data_rows = [
        (number, values)
        for number, values in rows[header_index + 1 :]
        if any(_cell(values, columns, key) is not None for key in columns if key != "number")
    ]
    if len(data_rows) > MAX_IMPORT_ROWS:
        raise PlanError(
            [
                _(
                    "The file has more than %(max)s topics: split the plan into several files.",
                    max=MAX_IMPORT_ROWS,
                )
            ]
        )
    for number, values in data_rows:
        topic = _cell_text(_cell(values, columns, "topic"))
        section = _cell_text(_cell(values, columns, "section"))
        row_errors: list[str] = []
        _check_text(topic, section, row_errors)
        hours = _check_hours(_cell(values, columns, "hours"), row_errors)
        raw_date = _cell(values, columns, "date")
        planned_date = None
        if raw_date is not None:
            planned_date = _read_date(raw_date)
            _check_date(planned_date, raw_date, year, row_errors)
        errors.extend(_("Row %(row)s: %(error)s", row=number, error=error) for error in row_errors)
        if not row_errors:
            parsed.append(PlanValues(topic, hours, planned_date, section or None))
    if errors:
        raise PlanError(errors)
    if not parsed:
        raise PlanError([_("The file contains no topics below its header row.")])
    return parsed


def import_plan(
    course: Course, stream, filename: str, mode: str, acting_user_id: int | None
) -> ImportResult:
    """Import the plan from an XLSX file: all rows or none.

    The first sheet needs a header row with «Тема» and «Часы»; «Раздел», «Дата» and «№»
    are optional, and «№» is ignored because the rows' order is the plan's order. Every
    row is checked first, and any problem raises :class:`PlanError` with one message per
    problem, naming the row as Excel numbers it, and nothing is saved. ``mode``
    ``replace`` deletes the current plan, ``append`` adds the rows after it.
    """
    if mode not in IMPORT_MODES:
        raise PlanError([_("Choose whether the file replaces the plan or is added to it.")])
    check_upload_name(filename)
    _check_size(stream, filename)
    rows = _parse_rows(_sheet_rows(stream, filename), course.year)

    _lock_course(course)
    removed = 0
    start = 1
    if mode == "replace":
        removed = db.session.execute(
            delete(PlanItem).where(
                PlanItem.school_id == course.school_id, PlanItem.course_id == course.id
            )
        ).rowcount
    else:
        start = len(course_plan(course)) + 1
    for offset, values in enumerate(rows):
        db.session.add(
            PlanItem(
                school_id=course.school_id,
                course_id=course.id,
                position=start + offset,
                topic=values.topic,
                hours=values.hours,
                planned_date=values.planned_date,
                section=values.section,
            )
        )
    db.session.commit()
    log.info(
        "User %s imported %s plan items into course %s (%s, %s removed)",
        acting_user_id,
        len(rows),
        course.id,
        mode,
        removed,
    )
    return ImportResult(added=len(rows), removed=removed)


# --- Lesson topics from the plan ------------------------------------------------------


def _course_lessons(course: Course) -> list[Lesson]:
    """Load the course's lessons that are not cancelled, in date and lesson-number order."""
    statement = (
        select(Lesson)
        .where(
            Lesson.school_id == course.school_id,
            Lesson.course_id == course.id,
            Lesson.is_cancelled.is_(False),
        )
        .order_by(Lesson.date, Lesson.lesson_number, Lesson.id)
    )
    return list(db.session.scalars(statement))


def item_offsets(items: list[PlanItem]) -> list[tuple[Decimal, Decimal]]:
    """(first lesson, end) of each item in lesson units: item 1 starts at lesson 0."""
    offsets = []
    start = Decimal(0)
    for item in items:
        end = start + Decimal(item.hours)
        offsets.append((start, end))
        start = end
    return offsets


def topics_by_lesson_index(items: list[PlanItem], lesson_count: int) -> list[str | None]:
    """Map each of ``lesson_count`` lessons, in order, to its planned topic; None past the plan.

    Lesson k takes the item whose hours cover the start of that lesson, so an item of two
    hours fills two lessons.
    """
    # NOTE: with fractional hours (two items of 0.5) one lesson starts only one of the
    # items, and the other topic is not given to any lesson.
    topics: list[str | None] = [None] * lesson_count
    for item, (start, end) in zip(items, item_offsets(items), strict=True):
        first = math.ceil(start)
        last = math.ceil(end)
        for index in range(first, min(last, lesson_count)):
            topics[index] = item.topic
    return topics


def _closed_periods(course: Course) -> list[tuple[dt.date, dt.date]]:
    """Date ranges whose lessons are read-only: the closed terms of the course's grade."""
    grade = course.school_class.grade
    statement = select(Term.start_date, Term.end_date).where(
        Term.school_id == course.school_id,
        Term.year_id == course.year_id,
        Term.grade_from <= grade,
        Term.grade_to >= grade,
        Term.is_closed.is_(True),
    )
    return [(start, end) for start, end in db.session.execute(statement)]


def prefill_topics(
    course: Course, overwrite: bool = False, acting_user_id: int | None = None
) -> int:
    """Give the course's lessons the plan's topics in order and commit; return the count.

    Cancelled lessons take no topic and are skipped in the order. Without ``overwrite``
    only lessons without a topic get one. Lessons of a closed term or year are left as
    they are, since they are read-only.
    """
    if course.year.is_closed:
        return 0
    items = course_plan(course)
    lessons = _course_lessons(course)
    closed = _closed_periods(course)
    changed = 0
    for lesson, topic in zip(lessons, topics_by_lesson_index(items, len(lessons)), strict=True):
        if topic is None or any(start <= lesson.date <= end for start, end in closed):
            continue
        current = (lesson.topic or "").strip()
        if current == topic or (current and not overwrite):
            continue
        lesson.topic = topic
        changed += 1
    db.session.commit()
    log.info(
        "User %s filled %s lesson topics of course %s from the plan",
        acting_user_id,
        changed,
        course.id,
    )
    return changed


def planned_topic(lesson: Lesson) -> str | None:
    """Find the plan's topic for a lesson by its place among the course's lessons, or None."""
    if lesson.is_cancelled or lesson.id is None:
        return None
    course = lesson.course
    items = course_plan(course)
    if not items:
        return None
    lesson_ids = list(
        db.session.scalars(
            select(Lesson.id)
            .where(
                Lesson.school_id == course.school_id,
                Lesson.course_id == course.id,
                Lesson.is_cancelled.is_(False),
            )
            .order_by(Lesson.date, Lesson.lesson_number, Lesson.id)
        )
    )
    if lesson.id not in lesson_ids:
        return None
    return topics_by_lesson_index(items, len(lesson_ids))[lesson_ids.index(lesson.id)]


# --- Counts for the page ------------------------------------------------------------


def lessons_without_topic(course: Course) -> int:
    """Count the course's lessons that are not cancelled and have no topic."""
    statement = select(func.count(Lesson.id)).where(
        Lesson.school_id == course.school_id,
        Lesson.course_id == course.id,
        Lesson.is_cancelled.is_(False),
        or_(Lesson.topic.is_(None), func.trim(Lesson.topic) == ""),
    )
    return db.session.scalar(statement) or 0


# --- XLSX files -----------------------------------------------------------------------


def _plan_frame(items: list[PlanItem]) -> pd.DataFrame:
    rows = [
        [
            item.position,
            item.section or "",
            item.topic,
            float(item.hours),
            item.planned_date,
        ]
        for item in items
    ]
    return pd.DataFrame(rows, columns=list(COLUMN_HEADERS.values()))


def _plan_formats() -> dict[str, str]:
    # Hours keep Excel's general format, which shows 2 and 1.5 without padding.
    return {COLUMN_HEADERS["number"]: INTEGER, COLUMN_HEADERS["date"]: DATE}


def plan_xlsx(course: Course, items: list[PlanItem]) -> bytes:
    """Write the plan as an XLSX workbook that the import reads back unchanged."""
    title = _("Thematic plan: %(course)s", course=str(course))
    filters = _(
        "School year %(year)s, %(count)s topics, %(hours)s hours.",
        year=course.year.name,
        count=len(items),
        hours=format_hours(total_hours(items)),
    )
    return frame_to_xlsx([(_("Plan"), _plan_frame(items), _plan_formats())], title, filters)


def template_xlsx() -> bytes:
    """Write an empty plan with the column headers and a line on how to fill it in."""
    title = _("Thematic plan")
    help_text = _(
        "Fill in one topic a row under the header. «%(topic)s» and «%(hours)s» are "
        "required, «%(section)s» and «%(date)s» (DD.MM.YYYY) may be empty, «%(number)s» "
        "is not read: the plan keeps the order of the rows.",
        topic=COLUMN_HEADERS["topic"],
        hours=COLUMN_HEADERS["hours"],
        section=COLUMN_HEADERS["section"],
        date=COLUMN_HEADERS["date"],
        number=COLUMN_HEADERS["number"],
    )
    return frame_to_xlsx([(_("Plan"), _plan_frame([]), _plan_formats())], title, help_text)
