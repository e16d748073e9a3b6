"""Writing a checked preview: every new and changed row in one transaction, or nothing."""

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.errors import SAVE_FAILED, DomainError
from app.models import Enrollment, Guardian, SchoolClass, db
from app.services.people_import.files import ImportFileError
from app.services.people_import.preview import CHANGED, NEW, Preview, model_of
from app.services.people_import.rows import PersonRow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportResult:
    added: int
    changed: int


def apply_preview(preview: Preview, school_id: int, acting_user_id: int | None) -> ImportResult:
    """Write the preview's new and changed rows and commit.

    A preview with an invalid row raises :class:`ImportFileError` with its messages, and
    a write the database rejects raises :class:`DomainError`; either way nothing is saved.

    A new student, or one without a class, gets a stay in the file's class from the start
    of its school year. The stay is marked as written without an order, like those of the
    students who were at the school before movements were recorded. The preview refuses to
    change the class of a student who has one, since that is a transfer.
    """
    if not preview.is_valid:
        raise ImportFileError(preview.errors)
    model = model_of(preview.kind)
    added = changed = 0
    try:
        for row in preview.rows:
            if row.status == NEW:
                person = model(school_id=school_id, **row.values)
                db.session.add(person)
                db.session.flush()
                _open_stay(person, school_id)
                added += 1
            elif row.status == CHANGED:
                person = _stored(model, school_id, row.match_id)
                had_class = getattr(person, "class_id", None) is not None
                for attribute, value in row.values.items():
                    setattr(person, attribute, value)
                if not had_class:
                    _open_stay(person, school_id)
                changed += 1
            else:
                continue
            _write_guardians(person, row, school_id)
        db.session.flush()
    except SQLAlchemyError:
        log.exception("Import of %s into school %s failed", preview.kind, school_id)
        db.session.rollback()
        raise DomainError(SAVE_FAILED) from None
    db.session.commit()
    log.info(
        "User %s imported %s into school %s: %s added, %s changed",
        acting_user_id,
        preview.kind,
        school_id,
        added,
        changed,
    )
    return ImportResult(added=added, changed=changed)


def _open_stay(person, school_id: int) -> None:
    """Record the stay of a student without a class in the class the file gives, if any."""
    class_id = getattr(person, "class_id", None)
    if class_id is None:
        return
    school_class = db.session.get(SchoolClass, class_id)
    db.session.add(
        Enrollment(
            school_id=school_id,
            student_id=person.id,
            class_id=class_id,
            start_date=school_class.year.start_date,
            start_kind="admission",
            is_backfilled=True,
        )
    )


def _stored(model, school_id: int, record_id: int):
    statement = select(model).where(model.school_id == school_id, model.id == record_id)
    return db.session.scalars(statement).one()


def _write_guardians(person, row: PersonRow, school_id: int) -> None:
    for guardian_row in row.guardians:
        if guardian_row.match_id is None:
            db.session.add(
                Guardian(school_id=school_id, student_id=person.id, **guardian_row.values)
            )
            continue
        statement = select(Guardian).where(
            Guardian.school_id == school_id,
            Guardian.student_id == person.id,
            Guardian.id == guardian_row.match_id,
        )
        guardian = db.session.scalars(statement).one()
        for attribute, value in guardian_row.values.items():
            setattr(guardian, attribute, value)
