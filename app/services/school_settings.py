"""The school's own settings: shifts, week, mark scale, weighting, absence notes, mark lock,
whether class teachers may enter marks in every subject of their class, and whether they
manage the logins of their class's students and parents.

The school administrator edits them for the session's school only; the principal reads
them. Every value is checked before anything is written, and all of them are saved in
one transaction or none.
"""

import logging
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.errors import DomainError, FormErrors
from app.models import AcademicYear, FinalMark, Mark, School, SchoolClass, db
from app.security.scope import Scope, apply_scope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NumberRule:
    """The allowed whole numbers of one setting, and its name in messages."""

    label: object
    minimum: int
    maximum: int
    #: An empty value is allowed and stored as NULL (the setting is off).
    optional: bool = False


SHIFTS = NumberRule(_l("Number of shifts"), 1, 3)
# NOTE: the database allows a scale up to 100; the page keeps to the scales schools use.
MAX_MARK = NumberRule(_l("Top of the mark scale"), 2, 10)
ABSENCE_NOTE_MAX_DAYS = NumberRule(_l("School days one parent's note may cover"), 1, 30)
MARK_LOCK_DAYS = NumberRule(_l("Days until marks and attendance lock"), 1, 365, optional=True)

#: Class names quoted at most in the message about shifts still in use.
QUOTED_CLASSES = 5


class SettingsInputError(FormErrors):
    """One or more typed values are invalid, so nothing was saved."""


@dataclass
class SettingsForm:
    """The settings form as typed: numbers stay text so that a wrong value is shown again."""

    shifts: str = ""
    six_day_week: bool = False
    max_mark: str = ""
    weighting_enabled: bool = False
    absence_note_max_days: str = ""
    mark_lock_days: str = ""
    class_teacher_enters_all: bool = False
    class_teachers_manage_logins: bool = True

    @classmethod
    def from_school(cls, school: School) -> "SettingsForm":
        return cls(
            shifts=str(school.shifts),
            six_day_week=bool(school.six_day_week),
            max_mark=str(school.max_mark),
            weighting_enabled=bool(school.weighting_enabled),
            absence_note_max_days=str(school.absence_note_max_days),
            mark_lock_days="" if not school.mark_lock_days else str(school.mark_lock_days),
            class_teacher_enters_all=bool(school.class_teacher_enters_all),
            class_teachers_manage_logins=bool(school.class_teachers_manage_logins),
        )

    @classmethod
    def from_request(cls, data) -> "SettingsForm":
        """Read a submitted form; an unchecked checkbox is absent from the request."""
        return cls(
            shifts=data.get("shifts", "").strip(),
            six_day_week=data.get("six_day_week") == "1",
            max_mark=data.get("max_mark", "").strip(),
            weighting_enabled=data.get("weighting_enabled") == "1",
            absence_note_max_days=data.get("absence_note_max_days", "").strip(),
            mark_lock_days=data.get("mark_lock_days", "").strip(),
            class_teacher_enters_all=data.get("class_teacher_enters_all") == "1",
            class_teachers_manage_logins=data.get("class_teachers_manage_logins") == "1",
        )


# --- Reading ------------------------------------------------------------------------


def require_school(scope: Scope | None) -> int:
    """Return the scope's school id, or raise when the session works outside a school."""
    if scope is None or scope.level != "school" or scope.school_id is None:
        raise DomainError(
            _(
                "Open a school first: school settings belong to one school. "
                "Choose it in the organisation menu."
            )
        )
    return scope.school_id


def get_school(scope: Scope | None, for_update: bool = False) -> School:
    """Load the session's own school through the tenancy filter.

    ``for_update`` locks the row on PostgreSQL, so two saves of the settings run one
    after the other; SQLite ignores the lock and serialises writers by itself.
    """
    school_id = require_school(scope)
    statement = apply_scope(select(School).where(School.id == school_id), School, scope)
    if for_update:
        statement = statement.with_for_update()
    school = db.session.scalars(statement).first()
    if school is None:
        # The membership names a school the scope filter does not return: a broken
        # membership row, reported like a missing school.
        raise DomainError(_("The school of this session was not found. Choose it again."))
    return school


# --- Checks -------------------------------------------------------------------------


def _parse_number(text: str, rule: NumberRule, errors: list[str]) -> int | None:
    """Return the typed whole number, or None after adding a message to ``errors``.

    An empty value of an optional setting is None without a message.
    """
    if not text:
        if rule.optional:
            return None
        errors.append(
            _(
                "%(field)s: the value is missing. Enter a whole number from %(min)s to %(max)s.",
                field=rule.label,
                min=rule.minimum,
                max=rule.maximum,
            )
        )
        return None
    if text.isdigit() and rule.minimum <= int(text) <= rule.maximum:
        return int(text)
    if rule.optional:
        errors.append(
            _(
                "%(field)s: «%(value)s» is invalid. Enter a whole number from %(min)s to "
                "%(max)s, or leave the field empty to turn the lock off.",
                field=rule.label,
                value=text,
                min=rule.minimum,
                max=rule.maximum,
            )
        )
    else:
        errors.append(
            _(
                "%(field)s: «%(value)s» is invalid. Enter a whole number from %(min)s to %(max)s.",
                field=rule.label,
                value=text,
                min=rule.minimum,
                max=rule.maximum,
            )
        )
    return None


def highest_given_mark(school_id: int) -> int | None:
    """Return the highest numeric mark of the school, current or final, or None.

    Final marks are text («5», «зач», «н/а»), so their few distinct values are read and
    the numeric ones compared here.
    """
    current = db.session.scalar(
        select(func.max(Mark.value)).where(Mark.school_id == school_id, Mark.kind == "number")
    )
    final_values = db.session.scalars(
        select(FinalMark.value).where(FinalMark.school_id == school_id).distinct()
    )
    numbers = [int(value) for value in final_values if value.isdigit()]
    if current is not None:
        numbers.append(current)
    return max(numbers, default=None)


def _check_max_mark(school: School, max_mark: int, errors: list[str]) -> None:
    """Reject a scale whose top is below a mark the school has already given."""
    if max_mark >= school.max_mark:
        # Raising the top or keeping it leaves every given mark on the scale.
        return
    highest = highest_given_mark(school.id)
    if highest is None or highest <= max_mark:
        return
    errors.append(
        _(
            "%(field)s cannot be %(value)s: this school already has a mark of %(mark)s. "
            "Enter %(mark)s or more, or correct the marks above %(value)s first.",
            field=MAX_MARK.label,
            value=max_mark,
            mark=highest,
        )
    )


def _check_shifts(school: School, shifts: int, errors: list[str]) -> None:
    """Reject fewer shifts than the classes of the open school years are taught in."""
    if shifts >= school.shifts:
        # Keeping or adding shifts leaves every class in a shift of the school.
        return
    open_classes = (
        select(SchoolClass.name, SchoolClass.shift)
        .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
        .where(
            SchoolClass.school_id == school.id,
            AcademicYear.school_id == school.id,
            AcademicYear.is_closed.is_(False),
        )
        .subquery()
    )
    highest = db.session.scalar(select(func.max(open_classes.c.shift)))
    if highest is None or highest <= shifts:
        return

    # One more name than is quoted tells whether the list goes on.
    names = list(
        db.session.scalars(
            select(open_classes.c.name)
            .where(open_classes.c.shift == highest)
            .order_by(open_classes.c.name)
            .limit(QUOTED_CLASSES + 1)
        )
    )
    quoted = ", ".join(names[:QUOTED_CLASSES])
    if len(names) > QUOTED_CLASSES:
        quoted += " …"
    errors.append(
        _(
            "%(field)s cannot be %(value)s: classes %(classes)s are taught in shift %(shift)s. "
            "Enter %(shift)s or more, or move the classes to another shift first.",
            field=SHIFTS.label,
            value=shifts,
            classes=quoted,
            shift=highest,
        )
    )


def check_settings(school: School, form: SettingsForm) -> dict:
    """Return the checked values to store, or raise SettingsInputError with every message."""
    errors: list[str] = []
    # Messages follow the order of the page. A value is checked against the stored
    # marks and classes only when it is a valid number itself.
    shifts = _parse_number(form.shifts, SHIFTS, errors)
    if shifts is not None:
        _check_shifts(school, shifts, errors)
    max_mark = _parse_number(form.max_mark, MAX_MARK, errors)
    if max_mark is not None:
        _check_max_mark(school, max_mark, errors)
    lock_days = _parse_number(form.mark_lock_days, MARK_LOCK_DAYS, errors)
    note_days = _parse_number(form.absence_note_max_days, ABSENCE_NOTE_MAX_DAYS, errors)
    if errors:
        raise SettingsInputError(errors)

    return {
        "shifts": shifts,
        "six_day_week": form.six_day_week,
        "max_mark": max_mark,
        "weighting_enabled": form.weighting_enabled,
        "absence_note_max_days": note_days,
        "mark_lock_days": lock_days,
        "class_teacher_enters_all": form.class_teacher_enters_all,
        "class_teachers_manage_logins": form.class_teachers_manage_logins,
    }


# --- Saving -------------------------------------------------------------------------


def save_settings(scope: Scope | None, form: SettingsForm) -> list[str]:
    """Check and store the settings of the session's school in one commit.

    Returns the names of the settings that changed. On SettingsInputError or DomainError
    nothing is written, and the caller rolls the session back.
    """
    school = get_school(scope, for_update=True)
    values = check_settings(school, form)
    changed = [name for name, value in values.items() if getattr(school, name) != value]
    for name in changed:
        setattr(school, name, values[name])
    # NOTE: the journal does not lock the school row. So a journal save that read the
    # old scale top before this commit may still store a mark above the new top.
    db.session.commit()
    if changed:
        log.info(
            "School %s settings changed by user %s: %s",
            school.id,
            scope.user_id,
            ", ".join(f"{name}={values[name]}" for name in changed),
        )
    return changed
