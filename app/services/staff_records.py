"""Staff personnel records (кадровый учёт): who may see them, their checks and the report.

The HR specialist and the school system administrator edit every employee's record, the
principal reads them all, and any other holder of the permission (a teacher) reads only
the record of their own employee row and gets 404 for any other employee's id.
"""

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask import abort
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import select

from app.errors import FormErrors
from app.models import (
    Employee,
    StaffEducation,
    StaffPosition,
    StaffRecord,
    TrainingCourse,
    db,
)
from app.models.staff import EDUCATION_LEVELS, QUALIFICATION_CATEGORIES
from app.security.scope import Scope, apply_scope, scoped_get_or_404
from app.services.dates import format_date, parse_user_date

log = logging.getLogger(__name__)

#: Roles that edit every record of their school.
EDITOR_ROLES = ("hr", "school_admin")
#: Roles that read every record of their school.
READER_ROLES = EDITOR_ROLES + ("principal",)

#: Schools plan professional training for each teacher at least once in three years, so the
#: report flags an employee whose last course ended earlier than that.
TRAINING_PERIOD_YEARS = 3
#: Months ahead the report looks for expiring qualification categories by default.
DEFAULT_EXPIRY_MONTHS = 6
MAX_EXPIRY_MONTHS = 60
#: The largest rate one position may carry; rates above 1.0 are rare but legal.
MAX_RATE = Decimal("2")
MAX_COURSE_HOURS = 5000
MAX_EXPERIENCE_YEARS = 80
EARLIEST_GRADUATION_YEAR = 1940


class StaffRecordError(FormErrors):
    """A staff record form had invalid values; nothing was saved."""


# --- Access ----------------------------------------------------------------------------


def sees_all(scope: Scope) -> bool:
    return scope.level == "school" and scope.has_role(*READER_ROLES)


def may_edit(scope: Scope) -> bool:
    return scope.level == "school" and scope.has_role(*EDITOR_ROLES)


def own_employee(scope: Scope) -> Employee | None:
    """Return the employee row of the session's login in its school, if there is one."""
    if scope.level != "school" or scope.user_id is None:
        return None
    statement = apply_scope(select(Employee), Employee, scope).where(
        Employee.user_id == scope.user_id
    )
    return db.session.scalars(statement).first()


def employee_or_404(scope: Scope, employee_id) -> Employee:
    """Load an employee whose record the session may read; otherwise 404."""
    employee = scoped_get_or_404(Employee, employee_id, scope)
    if sees_all(scope):
        return employee
    if scope.user_id is None or employee.user_id != scope.user_id:
        abort(404)
    return employee


def editable_employee_or_404(scope: Scope, employee_id) -> Employee:
    """Load an employee for a change: 404 outside the school, 403 for a reader."""
    employee = employee_or_404(scope, employee_id)
    if not may_edit(scope):
        abort(403)
    return employee


def editable_row_or_404(scope: Scope, model, row_id):
    """Load a position, education or course row for deletion, by the same rules."""
    row = scoped_get_or_404(model, row_id, scope)
    editable_employee_or_404(scope, row.employee_id)
    return row


# --- Dates and experience ----------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """Move a date by whole months, keeping the day or the month's last day."""
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    month += 1
    for last_day in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, last_day)
        except ValueError:
            continue
    raise ValueError(day)


def full_months_between(start: dt.date, end: dt.date) -> int:
    """Count whole months from ``start`` to ``end``; zero when ``end`` is earlier."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    return max(months, 0)


@dataclass(frozen=True)
class Experience:
    """A length of service in years and months."""

    years: int
    months: int

    def __str__(self) -> str:
        return _("%(years)s y. %(months)s m.", years=self.years, months=self.months)


def experience_today(years: int, months: int, as_of: dt.date | None, today: dt.date):
    """Return the experience stored on ``as_of`` grown by the whole months since then."""
    total = years * 12 + months
    if as_of is not None:
        total += full_months_between(as_of, today)
    return Experience(total // 12, total % 12)


# --- The per-employee screen -----------------------------------------------------------


@dataclass
class StaffCard:
    """Everything the employee's screen shows."""

    employee: Employee
    record: StaffRecord | None
    positions: list
    educations: list
    trainings: list
    total_experience: Experience | None
    teaching_experience: Experience | None
    training_cutoff: dt.date
    category_label: str = ""


def _rows(model, scope: Scope, employee_ids, order):
    statement = apply_scope(select(model), model, scope).where(model.employee_id.in_(employee_ids))
    return list(db.session.scalars(statement.order_by(*order)))


def _record_of(scope: Scope, employee: Employee) -> StaffRecord | None:
    statement = apply_scope(select(StaffRecord), StaffRecord, scope).where(
        StaffRecord.employee_id == employee.id
    )
    return db.session.scalars(statement).first()


def training_cutoff(today: dt.date) -> dt.date:
    """Return the date before which a finished course counts as older than three years."""
    return add_months(today, -12 * TRAINING_PERIOD_YEARS)


def staff_card(scope: Scope, employee: Employee, today: dt.date) -> StaffCard:
    record = _record_of(scope, employee)
    ids = [employee.id]
    card = StaffCard(
        employee=employee,
        record=record,
        positions=_rows(StaffPosition, scope, ids, [StaffPosition.date_from.desc()]),
        educations=_rows(StaffEducation, scope, ids, [StaffEducation.graduation_year]),
        trainings=_rows(TrainingCourse, scope, ids, [TrainingCourse.date_to.desc()]),
        total_experience=None,
        teaching_experience=None,
        training_cutoff=training_cutoff(today),
    )
    if record is not None:
        card.total_experience = experience_today(
            record.total_experience_years,
            record.total_experience_months,
            record.experience_as_of,
            today,
        )
        card.teaching_experience = experience_today(
            record.teaching_experience_years,
            record.teaching_experience_months,
            record.experience_as_of,
            today,
        )
        card.category_label = str(QUALIFICATION_CATEGORIES.get(record.category, ""))
    return card


def record_form_values(record: StaffRecord | None) -> dict[str, str]:
    """Return the stored category and experience as the record form shows them."""
    if record is None:
        return {"category": "none"}
    values = {"category": record.category}
    for name in ("category_assigned_on", "category_valid_until", "experience_as_of"):
        day = getattr(record, name)
        values[name] = format_date(day) if day else ""
    for name in (
        "total_experience_years",
        "total_experience_months",
        "teaching_experience_years",
        "teaching_experience_months",
    ):
        values[name] = str(getattr(record, name))
    return values


# --- Reading forms -----------------------------------------------------------------------


def _text(form, name: str) -> str:
    return (form.get(name) or "").strip()


def _date(form, name: str, label, errors: list, required: bool = False) -> dt.date | None:
    text = _text(form, name)
    if not text:
        if required:
            errors.append(_("Enter «%(field)s», for example 01.09.2026.", field=label))
        return None
    day = parse_user_date(text)
    if day is None:
        errors.append(
            _(
                "«%(field)s»: «%(value)s» is not a date; write it as 01.09.2026.",
                field=label,
                value=text,
            )
        )
    return day


def _whole_number(form, name: str, label, low: int, high: int, errors: list) -> int | None:
    text = _text(form, name)
    if not text:
        return None
    if not re.fullmatch(r"\d+", text) or not low <= int(text) <= high:
        errors.append(
            _(
                "«%(field)s»: «%(value)s» is not a whole number from %(low)s to %(high)s.",
                field=label,
                value=text,
                low=low,
                high=high,
            )
        )
        return None
    return int(text)


def _required_text(form, name: str, label, max_length: int, errors: list) -> str:
    text = _text(form, name)
    if not text:
        errors.append(_("Enter «%(field)s».", field=label))
    elif len(text) > max_length:
        errors.append(
            _(
                "«%(field)s» is %(length)s characters long: shorten it to %(max)s.",
                field=label,
                length=len(text),
                max=max_length,
            )
        )
    return text


def _check_order(start, end, start_label, end_label, errors: list) -> None:
    if start and end and end < start:
        errors.append(
            _(
                "«%(end_field)s» %(end)s is before «%(start_field)s» %(start)s: check both dates.",
                end_field=end_label,
                end=format_date(end),
                start_field=start_label,
                start=format_date(start),
            )
        )


def _check_not_future(day, label, today: dt.date, errors: list) -> None:
    if day and day > today:
        errors.append(
            _(
                "«%(field)s» %(date)s is in the future: enter a date up to today.",
                field=label,
                date=format_date(day),
            )
        )


def _read_rate(form, errors: list) -> Decimal | None:
    text = _text(form, "rate").replace(",", ".")
    try:
        rate = Decimal(text)
    except InvalidOperation:
        rate = None
    if rate is None or not rate.is_finite() or not Decimal(0) < rate <= MAX_RATE:
        errors.append(
            _(
                "Rate «%(value)s» is invalid: enter a share of a full rate greater than 0 "
                "and at most 2, for example 1 or 0,5.",
                value=_text(form, "rate"),
            )
        )
        return None
    return rate.quantize(Decimal("0.01"))


def _raise_if(errors: list) -> None:
    if errors:
        raise StaffRecordError(errors)


# --- Changes ------------------------------------------------------------------------------


def save_record(scope: Scope, employee: Employee, form, today: dt.date) -> StaffRecord:
    """Save the category and experience of one employee from the record form."""
    errors: list = []
    category = _text(form, "category") or "none"
    if category not in QUALIFICATION_CATEGORIES:
        errors.append(
            _("Category «%(value)s» is unknown: choose one from the list.", value=category)
        )
    assigned = _date(form, "category_assigned_on", _("Category assigned on"), errors)
    valid_until = _date(form, "category_valid_until", _("Category valid until"), errors)
    _check_order(
        assigned, valid_until, _("Category assigned on"), _("Category valid until"), errors
    )
    _check_not_future(assigned, _("Category assigned on"), today, errors)
    if category == "none" and (assigned or valid_until):
        errors.append(
            _("Dates of a category are given but no category is chosen: choose the category.")
        )

    numbers = {}
    for name, label, high in (
        ("total_experience_years", _("Total experience, years"), MAX_EXPERIENCE_YEARS),
        ("total_experience_months", _("Total experience, months"), 11),
        ("teaching_experience_years", _("Teaching experience, years"), MAX_EXPERIENCE_YEARS),
        ("teaching_experience_months", _("Teaching experience, months"), 11),
    ):
        numbers[name] = _whole_number(form, name, label, 0, high, errors) or 0
    as_of = _date(form, "experience_as_of", _("Experience counted on"), errors)
    _check_not_future(as_of, _("Experience counted on"), today, errors)
    teaching = numbers["teaching_experience_years"] * 12 + numbers["teaching_experience_months"]
    total = numbers["total_experience_years"] * 12 + numbers["total_experience_months"]
    if teaching > total:
        errors.append(_("The teaching experience is longer than the total experience: check both."))
    if (total or teaching) and as_of is None:
        errors.append(_("Enter the date the experience was counted on, for example 01.09.2026."))
    _raise_if(errors)

    record = _record_of(scope, employee)
    if record is None:
        record = StaffRecord(school_id=employee.school_id, employee_id=employee.id)
        db.session.add(record)
    record.category = category
    record.category_assigned_on = assigned
    record.category_valid_until = valid_until
    record.experience_as_of = as_of
    for name, value in numbers.items():
        setattr(record, name, value)
    db.session.commit()
    log.info("Staff record of employee %s saved by user %s", employee.id, scope.user_id)
    return record


def add_position(scope: Scope, employee: Employee, form) -> StaffPosition:
    """Add a position held at a rate, with its dates."""
    errors: list = []
    title = _required_text(form, "title", _("Position"), 150, errors)
    rate = _read_rate(form, errors)
    date_from = _date(form, "date_from", _("Start date"), errors, required=True)
    date_to = _date(form, "date_to", _("End date"), errors)
    _check_order(date_from, date_to, _("Start date"), _("End date"), errors)
    _raise_if(errors)
    return _add(
        scope,
        StaffPosition(
            school_id=employee.school_id,
            employee_id=employee.id,
            title=title,
            rate=rate,
            date_from=date_from,
            date_to=date_to,
        ),
    )


def add_education(scope: Scope, employee: Employee, form, today: dt.date) -> StaffEducation:
    """Add one education: level, institution, year of graduation and speciality."""
    errors: list = []
    level = _text(form, "level")
    if level not in EDUCATION_LEVELS:
        errors.append(_("Choose the level of education from the list."))
    institution = _required_text(form, "institution", _("Institution"), 300, errors)
    year = _whole_number(
        form,
        "graduation_year",
        _("Year of graduation"),
        EARLIEST_GRADUATION_YEAR,
        today.year,
        errors,
    )
    speciality = _text(form, "speciality")[:300] or None
    _raise_if(errors)
    return _add(
        scope,
        StaffEducation(
            school_id=employee.school_id,
            employee_id=employee.id,
            level=level,
            institution=institution,
            graduation_year=year,
            speciality=speciality,
        ),
    )


def add_training(scope: Scope, employee: Employee, form, today: dt.date) -> TrainingCourse:
    """Add a professional development course with its hours, dates and document."""
    errors: list = []
    name = _required_text(form, "name", _("Training course"), 500, errors)
    hours = _whole_number(form, "hours", _("Hours"), 1, MAX_COURSE_HOURS, errors)
    if hours is None and not _text(form, "hours"):
        errors.append(_("Enter the hours of the course, for example 72."))
    date_from = _date(form, "date_from", _("Start date"), errors, required=True)
    date_to = _date(form, "date_to", _("End date"), errors, required=True)
    _check_order(date_from, date_to, _("Start date"), _("End date"), errors)
    document = _text(form, "document")[:300] or None
    _raise_if(errors)
    return _add(
        scope,
        TrainingCourse(
            school_id=employee.school_id,
            employee_id=employee.id,
            name=name,
            hours=hours,
            date_from=date_from,
            date_to=date_to,
            document=document,
        ),
    )


def _add(scope: Scope, row):
    db.session.add(row)
    db.session.commit()
    log.info(
        "%s %s of employee %s added by user %s",
        type(row).__name__,
        row.id,
        row.employee_id,
        scope.user_id,
    )
    return row


def delete_row(scope: Scope, row) -> int:
    """Delete a position, education or course row; return its employee's id."""
    employee_id = row.employee_id
    db.session.delete(row)
    db.session.commit()
    log.info(
        "%s %s of employee %s deleted by user %s",
        type(row).__name__,
        row.id,
        employee_id,
        scope.user_id,
    )
    return employee_id


# --- The staff list report ----------------------------------------------------------------


@dataclass
class StaffLine:
    """One employee's line of the staff list report."""

    employee_id: int
    name: str
    positions: str
    rate: Decimal
    education: str
    category: str
    category_valid_until: dt.date | None
    category_expiring: bool
    last_training: dt.date | None
    training_outdated: bool
    total_experience: str
    teaching_experience: str
    flags: list = field(default_factory=list)


def parse_months(text: str | None) -> tuple[int, str | None]:
    """Read the report's horizon in months; an invalid value gives the default and a message."""
    text = (text or "").strip()
    if not text:
        return DEFAULT_EXPIRY_MONTHS, None
    if text.isdigit() and 1 <= int(text) <= MAX_EXPIRY_MONTHS:
        return int(text), None
    message = _(
        "«%(value)s» months is invalid: enter a whole number from 1 to %(max)s. "
        "The report shows %(default)s months.",
        value=text,
        max=MAX_EXPIRY_MONTHS,
        default=DEFAULT_EXPIRY_MONTHS,
    )
    return DEFAULT_EXPIRY_MONTHS, message


def _by_employee(rows) -> dict[int, list]:
    grouped: dict[int, list] = {}
    for row in rows:
        grouped.setdefault(row.employee_id, []).append(row)
    return grouped


def _current_positions(positions: list, today: dt.date) -> list:
    return [
        p for p in positions if p.date_from <= today and (p.date_to is None or p.date_to >= today)
    ]


def _education_text(educations: list) -> str:
    return "; ".join(
        ", ".join(
            part
            for part in (str(EDUCATION_LEVELS.get(e.level, e.level)), e.institution, e.speciality)
            if part
        )
        for e in educations
    )


def staff_report(scope: Scope, today: dt.date, months: int) -> list[StaffLine]:
    """List the school's active staff with positions, category and training flags.

    A category whose validity ends within ``months`` of today (or has ended) is flagged,
    and so is an employee whose last course ended before the three-year cutoff.
    """
    statement = apply_scope(select(Employee), Employee, scope).where(Employee.is_active.is_(True))
    employees = list(
        db.session.scalars(statement.order_by(Employee.last_name, Employee.first_name))
    )
    ids = [e.id for e in employees]
    records = {r.employee_id: r for r in _rows(StaffRecord, scope, ids, [StaffRecord.id])}
    positions = _by_employee(_rows(StaffPosition, scope, ids, [StaffPosition.date_from]))
    educations = _by_employee(_rows(StaffEducation, scope, ids, [StaffEducation.id]))
    trainings = _by_employee(_rows(TrainingCourse, scope, ids, [TrainingCourse.date_to]))
    horizon = add_months(today, months)
    cutoff = training_cutoff(today)
    return [
        _staff_line(
            employee,
            records.get(employee.id),
            _current_positions(positions.get(employee.id, []), today),
            educations.get(employee.id, []),
            trainings.get(employee.id, []),
            today,
            horizon,
            cutoff,
        )
        for employee in employees
    ]


def _staff_line(employee, record, positions, educations, trainings, today, horizon, cutoff):
    valid_until = record.category_valid_until if record else None
    last_training = trainings[-1].date_to if trainings else None
    total = teaching = ""
    category = str(QUALIFICATION_CATEGORIES["none"])
    if record is not None:
        category = str(QUALIFICATION_CATEGORIES.get(record.category, record.category))
        total = str(
            experience_today(
                record.total_experience_years,
                record.total_experience_months,
                record.experience_as_of,
                today,
            )
        )
        teaching = str(
            experience_today(
                record.teaching_experience_years,
                record.teaching_experience_months,
                record.experience_as_of,
                today,
            )
        )
    line = StaffLine(
        employee_id=employee.id,
        name=employee.full_name,
        positions="; ".join(f"{p.title} ({format_decimal(p.rate)})" for p in positions),
        rate=sum((p.rate for p in positions), Decimal(0)),
        education=_education_text(educations),
        category=category,
        category_valid_until=valid_until,
        category_expiring=valid_until is not None and valid_until <= horizon,
        last_training=last_training,
        training_outdated=last_training is None or last_training < cutoff,
        total_experience=total,
        teaching_experience=teaching,
    )
    if line.category_expiring:
        line.flags.append(_("category expires"))
    if line.training_outdated:
        line.flags.append(_("no course in 3 years"))
    return line
