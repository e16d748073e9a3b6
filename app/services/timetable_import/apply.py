"""Writing a confirmed preview: every new record in one transaction, or nothing."""

import logging
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from app.errors import SAVE_FAILED, DomainError
from app.models import (
    Course,
    Employee,
    Room,
    SchoolClass,
    StudyGroup,
    Subject,
    TimetableEntry,
    db,
)
from app.services.timetable_conflicts import Conflict, check_template
from app.services.timetable_import.plan import ImportFileError
from app.services.timetable_import.preview import Preview

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportResult:
    """How many records of each kind the import created."""

    created: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.created.values())


def apply_preview(preview: Preview, school_id: int, acting_user_id: int | None) -> ImportResult:
    """Create the preview's new records and commit, or save nothing and raise an error."""
    if not preview.is_valid:
        raise ImportFileError(preview.errors)
    try:
        created = _write(preview, school_id)
    except SQLAlchemyError:
        log.exception("Timetable import into school %s failed", school_id)
        db.session.rollback()
        raise DomainError(SAVE_FAILED) from None
    db.session.commit()
    log.info(
        "User %s imported a timetable into school %s, year %s: %s",
        acting_user_id,
        school_id,
        preview.year_id,
        created,
    )
    return ImportResult(created=created)


def import_conflicts(preview: Preview, school_id: int) -> list[Conflict]:
    """Find the conflicts of the year's template as it would be after the import.

    The records are written inside a savepoint, checked with the editor's conflict check
    and rolled back, so nothing of the file is kept.
    """
    savepoint = db.session.begin_nested()
    try:
        _write(preview, school_id)
        return check_template(school_id, preview.year_id)
    except SQLAlchemyError:
        log.exception("Conflict check of a timetable import into school %s failed", school_id)
        return []
    finally:
        savepoint.rollback()


def _write(preview: Preview, school_id: int) -> dict[str, int]:
    """Add the preview's new records to the session and flush them, counted by kind."""
    ids: dict[str, int] = {}
    created = dict.fromkeys(("teacher", "subject", "room", "class", "group", "course", "entry"), 0)
    _create_simple(preview, "room", Room, school_id, ids, created)
    _create_simple(preview, "subject", Subject, school_id, ids, created)
    _create_simple(preview, "teacher", Employee, school_id, ids, created)
    _create_dependent(preview, school_id, ids, created)
    courses = _create_courses(preview, school_id, ids, created)
    rooms = _kind_ids(ids, "room")
    for (key, weekday, lesson_number, parity), room in preview.entries.items():
        db.session.add(
            TimetableEntry(
                school_id=school_id,
                course_id=courses[key],
                weekday=weekday,
                lesson_number=lesson_number,
                week_parity=parity,
                room_id=_id(room, rooms),
            )
        )
        created["entry"] += 1
    db.session.flush()
    return created


def _id(token: str | None, ids: dict[str, int]) -> int | None:
    """Look up the record id of a token, once the new records are flushed."""
    if token is None:
        return None
    if token.startswith("db:"):
        return int(token[3:])
    return ids[token]


def _create_simple(preview, kind, model, school_id, ids, created) -> None:
    for token, values in preview.creates[kind].items():
        if not token.startswith("new:"):
            continue
        record = model(school_id=school_id, **values)
        db.session.add(record)
        db.session.flush()
        ids[f"{kind}|{token}"] = record.id
        created[kind] += 1


def _kind_ids(ids: dict[str, int], kind: str) -> dict[str, int]:
    prefix = f"{kind}|"
    return {key[len(prefix) :]: value for key, value in ids.items() if key.startswith(prefix)}


def _create_dependent(preview, school_id, ids, created) -> None:
    for token, values in preview.creates["class"].items():
        if token.startswith("new:"):
            record = SchoolClass(school_id=school_id, year_id=preview.year_id, **values)
            db.session.add(record)
            db.session.flush()
            ids[f"class|{token}"] = record.id
            created["class"] += 1
    classes = _kind_ids(ids, "class")
    for token, values in preview.creates["group"].items():
        if token.startswith("new:"):
            record = StudyGroup(
                school_id=school_id,
                year_id=preview.year_id,
                name=values["name"],
                class_id=_id(values["class"], classes),
            )
            db.session.add(record)
            db.session.flush()
            ids[f"group|{token}"] = record.id
            created["group"] += 1


def _create_courses(preview, school_id, ids, created) -> dict[tuple, int]:
    subjects, classes = _kind_ids(ids, "subject"), _kind_ids(ids, "class")
    groups, teachers = _kind_ids(ids, "group"), _kind_ids(ids, "teacher")
    course_ids = {}
    for key, course in preview.courses.items():
        if course["id"] is not None:
            course_ids[key] = course["id"]
            continue
        subject, school_class, group = key
        record = Course(
            school_id=school_id,
            year_id=preview.year_id,
            subject_id=_id(subject, subjects),
            class_id=_id(school_class, classes),
            group_id=_id(group, groups),
            kind="lesson",
            hours_per_week=course["hours"],
        )
        record.teachers = [db.session.get(Employee, _id(t, teachers)) for t in course["teachers"]]
        db.session.add(record)
        db.session.flush()
        course_ids[key] = record.id
        created["course"] += 1
    return course_ids
