"""Student movement (движение учащихся): admission, transfer between classes and departure.

Each movement is recorded against an order (приказ) with its number and date, and changes
the student's stays in classes (:class:`~app.models.Enrollment`). ``Student.class_id`` and
``Student.is_active`` are kept equal to the current stay here, in the same transaction.
"""

import datetime as dt
import logging
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, selectinload

from app.errors import SAVE_FAILED, FormErrors
from app.models import AcademicYear, Enrollment, SchoolClass, Student, db
from app.security.scope import Scope, apply_scope, scoped_get_or_404
from app.services.dates import format_date, parse_date_field, parse_user_date

log = logging.getLogger(__name__)

#: Maximum lengths of the typed values, as their columns allow.
ORDER_NUMBER_MAX = 50
PLACE_MAX = 255
NAME_MAX = 100
FILE_NUMBER_MAX = 30


class MovementError(FormErrors):
    """The movement breaks a rule; nothing was changed."""


# --- Requests, as the forms send them --------------------------------------------------


@dataclass
class OrderFields:
    """The date of a movement and its order (номер и дата приказа), as typed."""

    date_text: str = ""
    order_number: str = ""
    order_date_text: str = ""

    @classmethod
    def read(cls, form) -> dict:
        return {
            "date_text": form.get("date", "").strip(),
            "order_number": form.get("order_number", "").strip(),
            "order_date_text": form.get("order_date", "").strip(),
        }


@dataclass
class NewStudent:
    """The personal data of a student admitted for the first time to this school."""

    last_name: str = ""
    first_name: str = ""
    middle_name: str = ""
    sex: str = ""
    birth_date_text: str = ""
    personal_file_number: str = ""

    @classmethod
    def from_form(cls, form) -> "NewStudent":
        return cls(
            last_name=form.get("last_name", "").strip(),
            first_name=form.get("first_name", "").strip(),
            middle_name=form.get("middle_name", "").strip(),
            sex=form.get("sex", "").strip(),
            birth_date_text=form.get("birth_date", "").strip(),
            personal_file_number=form.get("personal_file_number", "").strip(),
        )


@dataclass
class AdmissionRequest(OrderFields):
    """An admission (зачисление): the class, the date, the order and where the student came from."""

    class_id: str = ""
    arrived_from: str = ""
    is_first_enrolment: bool = False

    @classmethod
    def from_form(cls, form) -> "AdmissionRequest":
        return cls(
            **OrderFields.read(form),
            class_id=form.get("class_id", "").strip(),
            arrived_from=form.get("arrived_from", "").strip(),
            is_first_enrolment=form.get("first_enrolment") in ("1", "on", "true"),
        )


@dataclass
class TransferRequest(OrderFields):
    """A transfer (перевод) to another class of the same school year."""

    class_id: str = ""

    @classmethod
    def from_form(cls, form) -> "TransferRequest":
        return cls(**OrderFields.read(form), class_id=form.get("class_id", "").strip())


@dataclass
class DepartureRequest(OrderFields):
    """A departure (выбытие): the date, the order, where the student went and why."""

    departed_to: str = ""
    reason: str = ""

    @classmethod
    def from_form(cls, form) -> "DepartureRequest":
        return cls(
            **OrderFields.read(form),
            departed_to=form.get("departed_to", "").strip(),
            reason=form.get("reason", "").strip(),
        )


@dataclass
class Order:
    """A checked movement date and order."""

    date: dt.date
    number: str
    order_date: dt.date


# --- Checks shared by the movements ----------------------------------------------------


def _read_order(request: OrderFields, all_errors: list) -> Order | None:
    errors: list = []
    day = parse_date_field(
        request.date_text,
        _("Enter the date of the movement, for example 01.09.2026."),
        _("«%(value)s» is not a date: write it as 01.09.2026.", value=request.date_text),
        errors,
    )
    if not request.order_number:
        errors.append(_("Enter the order number (номер приказа), for example «45-у»."))
    elif len(request.order_number) > ORDER_NUMBER_MAX:
        errors.append(
            _(
                "The order number «%(value)s» is longer than %(max)s characters: shorten it.",
                value=request.order_number,
                max=ORDER_NUMBER_MAX,
            )
        )
    order_date = parse_date_field(
        request.order_date_text,
        _("Enter the date of the order, for example 31.08.2026."),
        _(
            "The order date «%(value)s» is not a date: write it as 31.08.2026.",
            value=request.order_date_text,
        ),
        errors,
    )
    all_errors.extend(errors)
    if errors:
        return None
    return Order(day, request.order_number, order_date)


def _check_length(value: str, limit: int, label: str, errors: list) -> None:
    if len(value) > limit:
        errors.append(
            _(
                "%(field)s «%(value)s» is longer than %(max)s characters: shorten it.",
                field=label,
                value=value,
                max=limit,
            )
        )


def _class_or_404(scope: Scope, value: str) -> SchoolClass | None:
    if not value:
        return None
    return scoped_get_or_404(SchoolClass, value, scope)


def _check_day_in_year(day: dt.date, school_class: SchoolClass, errors: list) -> None:
    year = db.session.get(AcademicYear, school_class.year_id)
    if year.is_closed:
        errors.append(
            _(
                "The school year %(year)s of class %(class)s is closed: its movements can no "
                "longer change. Choose a class of the current year.",
                year=year.name,
                **{"class": school_class.name},
            )
        )
    elif not year.contains(day):
        errors.append(
            _(
                "The date %(date)s is outside the school year %(year)s of class %(class)s "
                "(%(start)s–%(end)s): enter a date inside it.",
                date=format_date(day),
                year=year.name,
                start=format_date(year.start_date),
                end=format_date(year.end_date),
                **{"class": school_class.name},
            )
        )


def _check_same_school(student: Student, school_class: SchoolClass) -> None:
    # The scoped lookups already return 404 for another school's class; this guards
    # callers outside a request, whose scope is not filtered.
    if school_class.school_id != student.school_id:
        raise MovementError([_("The class belongs to another school: choose a class of this one.")])


def _lock_student(student: Student) -> Student:
    """Lock the student's row, so that two movements of one student run one after another."""
    statement = select(Student).where(Student.id == student.id).with_for_update()
    return db.session.scalars(statement).one()


def _stays(student: Student) -> list[Enrollment]:
    statement = (
        select(Enrollment)
        .where(Enrollment.school_id == student.school_id, Enrollment.student_id == student.id)
        .order_by(Enrollment.start_date, Enrollment.id)
    )
    return list(db.session.scalars(statement))


def current_stay(student: Student) -> Enrollment | None:
    """Return the student's open stay in a class, or None when the student is not at school."""
    return next((stay for stay in _stays(student) if stay.end_date is None), None)


def _reject_if_not_after_start(day: dt.date, stay: Enrollment, errors: list) -> None:
    if day <= stay.start_date:
        errors.append(
            _(
                "The date %(date)s is not after the student joined class %(class)s on "
                "%(start)s: enter a later date.",
                date=format_date(day),
                start=format_date(stay.start_date),
                **{"class": stay.school_class.name},
            )
        )


# --- Admission -------------------------------------------------------------------------


def _read_new_student(scope: Scope, new: NewStudent, errors: list) -> dt.date | None:
    if not new.last_name:
        errors.append(_("Enter the student's surname."))
    if not new.first_name:
        errors.append(_("Enter the student's first name."))
    for value, label in (
        (new.last_name, _("The surname")),
        (new.first_name, _("The first name")),
        (new.middle_name, _("The patronymic")),
    ):
        _check_length(value, NAME_MAX, label, errors)
    if new.sex not in ("m", "f"):
        errors.append(_("Choose the student's sex."))
    birth_date = parse_date_field(
        new.birth_date_text,
        _("Enter the date of birth, for example 14.03.2015."),
        _(
            "The date of birth «%(value)s» is not a date: write it as 14.03.2015.",
            value=new.birth_date_text,
        ),
        errors,
    )
    _check_file_number(scope, new.personal_file_number, errors)
    return birth_date


def _check_file_number(scope: Scope, number: str, errors: list) -> None:
    if not number:
        errors.append(_("Enter the number of the personal file (личное дело), for example «А-15»."))
        return
    _check_length(number, FILE_NUMBER_MAX, _("The personal file number"), errors)
    statement = apply_scope(
        select(Student.id).where(Student.personal_file_number == number), Student, scope
    )
    if db.session.scalar(statement) is not None:
        errors.append(
            _(
                "The personal file number «%(value)s» is already given to another student of "
                "this school: enter another number.",
                value=number,
            )
        )


def _read_admission(scope: Scope, request: AdmissionRequest, errors: list):
    order = _read_order(request, errors)
    school_class = _class_or_404(scope, request.class_id)
    if school_class is None:
        errors.append(_("Choose the class the student is admitted to."))
    if request.is_first_enrolment and request.arrived_from:
        errors.append(
            _(
                "Either the student enters school for the first time or arrives from «%(value)s», "
                "not both: clear one of them.",
                value=request.arrived_from,
            )
        )
    elif not request.is_first_enrolment and not request.arrived_from:
        errors.append(
            _(
                "Enter the school the student arrives from, or tick «first enrolment» for a "
                "student who enters school for the first time."
            )
        )
    _check_length(request.arrived_from, PLACE_MAX, _("The previous school"), errors)
    if order is not None and school_class is not None:
        _check_day_in_year(order.date, school_class, errors)
    return order, school_class


def admit_new_student(scope: Scope, new: NewStudent, request: AdmissionRequest) -> Student:
    """Create a student and admit them to a class; every error of both forms is listed."""
    errors: list = []
    birth_date = _read_new_student(scope, new, errors)
    order, school_class = _read_admission(scope, request, errors)
    if errors:
        raise MovementError(errors)

    student = Student(
        school_id=school_class.school_id,
        last_name=new.last_name,
        first_name=new.first_name,
        middle_name=new.middle_name or None,
        sex=new.sex,
        birth_date=birth_date,
        personal_file_number=new.personal_file_number,
        is_active=False,
    )
    try:
        db.session.add(student)
        db.session.flush()
        _open_admission(student, school_class, order, request)
        db.session.commit()
    except IntegrityError as error:
        # Another request gave the same personal file number between the check and the write.
        db.session.rollback()
        log.warning(
            "Admission not saved in school %s: %s",
            school_class.school_id,
            type(error.orig).__name__,
        )
        raise MovementError([SAVE_FAILED]) from error
    log.info(
        "Student %s admitted to class %s in school %s by user %s",
        student.id,
        school_class.id,
        student.school_id,
        scope.user_id,
    )
    return student


def admit(scope: Scope, student: Student, request: AdmissionRequest) -> Enrollment:
    """Admit a student who is not at school now (created earlier, or who left and returns)."""
    student = _lock_student(student)
    errors: list = []
    order, school_class = _read_admission(scope, request, errors)
    stays = _stays(student)
    current = next((stay for stay in stays if stay.end_date is None), None)
    if current is not None:
        errors.append(
            _(
                "The student is already in class %(class)s since %(start)s: transfer them to "
                "another class or record their departure instead.",
                start=format_date(current.start_date),
                **{"class": current.school_class.name},
            )
        )
    elif order is not None and stays and order.date < stays[-1].end_date:
        errors.append(
            _(
                "The date %(date)s overlaps the student's earlier stay, which ended on "
                "%(end)s: enter %(end)s or a later date.",
                date=format_date(order.date),
                end=format_date(stays[-1].end_date),
            )
        )
    if errors:
        raise MovementError(errors)
    _check_same_school(student, school_class)

    stay = _open_admission(student, school_class, order, request)
    db.session.commit()
    log.info(
        "Student %s admitted to class %s in school %s by user %s",
        student.id,
        school_class.id,
        student.school_id,
        scope.user_id,
    )
    return stay


def _open_admission(student, school_class, order: Order, request: AdmissionRequest):
    stay = Enrollment(
        school_id=student.school_id,
        student_id=student.id,
        class_id=school_class.id,
        start_date=order.date,
        start_kind="admission",
        start_order_number=order.number,
        start_order_date=order.order_date,
        arrived_from=request.arrived_from or None,
        is_first_enrolment=request.is_first_enrolment,
    )
    db.session.add(stay)
    student.class_id = school_class.id
    student.is_active = True
    db.session.flush()
    return stay


# --- Transfer and departure ------------------------------------------------------------


def _current_or_error(student: Student, errors: list) -> Enrollment | None:
    stay = current_stay(student)
    if stay is None:
        errors.append(_("The student is not in any class of this school now: admit them first."))
    return stay


def transfer(scope: Scope, student: Student, request: TransferRequest) -> Enrollment:
    """Move a student to another class of the same year; the old stay ends on that date."""
    student = _lock_student(student)
    errors: list = []
    order = _read_order(request, errors)
    target = _class_or_404(scope, request.class_id)
    stay = _current_or_error(student, errors)
    if target is None:
        errors.append(_("Choose the class the student is transferred to."))
    if stay is not None and target is not None:
        _check_target(stay, target, errors)
    if stay is not None and order is not None:
        _reject_if_not_after_start(order.date, stay, errors)
    if order is not None and target is not None:
        _check_day_in_year(order.date, target, errors)
    if errors:
        raise MovementError(errors)
    _check_same_school(student, target)

    _close(stay, "transfer", order)
    new_stay = Enrollment(
        school_id=student.school_id,
        student_id=student.id,
        class_id=target.id,
        start_date=order.date,
        start_kind="transfer",
        start_order_number=order.number,
        start_order_date=order.order_date,
    )
    db.session.add(new_stay)
    student.class_id = target.id
    db.session.commit()
    log.info(
        "Student %s transferred from class %s to class %s in school %s by user %s",
        student.id,
        stay.class_id,
        target.id,
        student.school_id,
        scope.user_id,
    )
    return new_stay


def _check_target(stay: Enrollment, target: SchoolClass, errors: list) -> None:
    if target.id == stay.class_id:
        errors.append(
            _(
                "The student is already in class %(class)s: choose another class.",
                **{"class": target.name},
            )
        )
    elif target.year_id != stay.school_class.year_id:
        errors.append(
            _(
                "Class %(target)s belongs to another school year than class %(class)s: a "
                "transfer moves a student within one year, so choose a class of the same year.",
                target=target.name,
                **{"class": stay.school_class.name},
            )
        )


def depart(scope: Scope, student: Student, request: DepartureRequest) -> Enrollment:
    """Record a student's departure from the school: the current stay ends on that date."""
    student = _lock_student(student)
    errors: list = []
    order = _read_order(request, errors)
    stay = _current_or_error(student, errors)
    if not request.departed_to:
        errors.append(_("Enter where the student departs to, for example «Школа № 12, г. Тверь»."))
    if not request.reason:
        errors.append(_("Enter the reason of the departure, for example «смена места жительства»."))
    _check_length(request.departed_to, PLACE_MAX, _("The place of departure"), errors)
    _check_length(request.reason, PLACE_MAX, _("The reason"), errors)
    if stay is not None and order is not None:
        _reject_if_not_after_start(order.date, stay, errors)
        _check_day_in_year(order.date, stay.school_class, errors)
    if errors:
        raise MovementError(errors)

    _close(stay, "departure", order)
    stay.departed_to = request.departed_to
    stay.departure_reason = request.reason
    student.class_id = None
    student.is_active = False
    db.session.commit()
    log.info(
        "Student %s departed from class %s in school %s by user %s",
        student.id,
        stay.class_id,
        student.school_id,
        scope.user_id,
    )
    return stay


def _close(stay: Enrollment, kind: str, order: Order) -> None:
    stay.end_date = order.date
    stay.end_kind = kind
    stay.end_order_number = order.number
    stay.end_order_date = order.order_date


# --- Lists -------------------------------------------------------------------------------


def student_stays(student: Student) -> list[Enrollment]:
    """Return the student's stays in classes, oldest first."""
    return _stays(student)


def _covering(day: dt.date):
    return and_(
        Enrollment.start_date <= day,
        or_(Enrollment.end_date.is_(None), Enrollment.end_date > day),
    )


def _with_students(scope: Scope):
    """Select stays joined to their students, with the students and classes loaded at once."""
    return (
        apply_scope(select(Enrollment), Enrollment, scope)
        .join(Student, Student.id == Enrollment.student_id)
        .options(contains_eager(Enrollment.student), selectinload(Enrollment.school_class))
    )


def class_list(scope: Scope, school_class: SchoolClass, day: dt.date) -> list[Enrollment]:
    """Return the stays of the students who were in the class on ``day``, by surname."""
    statement = (
        _with_students(scope)
        .where(Enrollment.class_id == school_class.id, _covering(day))
        .order_by(Student.last_name, Student.first_name, Student.middle_name, Student.id)
    )
    return list(db.session.scalars(statement))


@dataclass
class BookEntry:
    """One line of the alphabetical book: an admission and the departure that ended it."""

    student: Student
    admission: Enrollment
    departure: Enrollment | None
    #: The class now, or None after the departure.
    current_class: SchoolClass | None


def alphabetical_book(scope: Scope) -> list[BookEntry]:
    """List every admission of the school (алфавитная книга) by surname.

    A student admitted again after a departure gets a line for each admission.
    """
    statement = _with_students(scope).order_by(
        Student.last_name,
        Student.first_name,
        Student.middle_name,
        Student.id,
        Enrollment.start_date,
        Enrollment.id,
    )
    entries: list[BookEntry] = []
    for stay in db.session.scalars(statement):
        if stay.start_kind == "admission" or not entries or entries[-1].student is not stay.student:
            entries.append(BookEntry(stay.student, stay, None, None))
        entry = entries[-1]
        if stay.end_kind == "departure":
            entry.departure = stay
        elif stay.end_date is None:
            entry.current_class = stay.school_class
    return entries


#: Students on one page of the movement page's list.
STUDENTS_PAGE_SIZE = 50


def search_students(
    scope: Scope, text: str, page: int = 1, page_size: int = STUDENTS_PAGE_SIZE
) -> tuple[list[Student], int]:
    """Return one page of the students whose surname starts with ``text``, and their count.

    Present and former students are both listed, for the movement page.
    """
    statement = apply_scope(select(Student), Student, scope)
    if text:
        # SQLite's lower() changes only ASCII letters, so the usual spellings of a Cyrillic
        # surname are matched one by one instead of comparing lower-cased text.
        spellings = {text, text.capitalize(), text.lower(), text.upper()}
        statement = statement.where(
            or_(*(Student.last_name.startswith(value, autoescape=True) for value in spellings))
        )
    total = db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    statement = statement.order_by(Student.last_name, Student.first_name, Student.id)
    statement = statement.offset((max(page, 1) - 1) * page_size).limit(page_size)
    return list(db.session.scalars(statement)), total


def school_classes(scope: Scope, open_years_only: bool = False) -> list[SchoolClass]:
    """Return the school's classes, newest year first, for the forms' choices."""
    statement = (
        apply_scope(select(SchoolClass), SchoolClass, scope)
        .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
        .order_by(AcademicYear.start_date.desc(), SchoolClass.grade, SchoolClass.letter)
    )
    if open_years_only:
        statement = statement.where(AcademicYear.is_closed.is_(False))
    return list(db.session.scalars(statement))


# --- The movement report -------------------------------------------------------------------


@dataclass
class MovementReport:
    """Students who arrived at and departed from the school in a date range."""

    date_from: dt.date
    date_to: dt.date
    arrivals: list[Enrollment] = field(default_factory=list)
    departures: list[Enrollment] = field(default_factory=list)


def arrived_between(date_from, date_to):
    """Build the condition that a stay began with an admission between the dates.

    The dates may be values or columns, such as a term's start and end.
    """
    # Backfilled stays were not admissions on their start date, only the first day known.
    return and_(
        Enrollment.start_kind == "admission",
        Enrollment.is_backfilled.is_(False),
        Enrollment.start_date.between(date_from, date_to),
    )


def departed_between(date_from, date_to):
    """Build the condition that a stay ended with a departure between the dates."""
    return and_(Enrollment.end_kind == "departure", Enrollment.end_date.between(date_from, date_to))


def movement_report(scope: Scope, date_from: dt.date, date_to: dt.date) -> MovementReport:
    """Arrivals and departures of the school in ``date_from``–``date_to``, both days included."""
    report = MovementReport(date_from, date_to)
    base = _with_students(scope)
    report.arrivals = list(
        db.session.scalars(
            base.where(arrived_between(date_from, date_to)).order_by(
                Enrollment.start_date, Student.last_name, Student.first_name
            )
        )
    )
    report.departures = list(
        db.session.scalars(
            base.where(departed_between(date_from, date_to)).order_by(
                Enrollment.end_date, Student.last_name, Student.first_name
            )
        )
    )
    return report


def read_period(date_from_text: str, date_to_text: str, default: tuple[dt.date, dt.date]):
    """Read the report's date range; return (from, to, error messages)."""
    errors = []
    date_from = parse_user_date(date_from_text) if date_from_text else default[0]
    date_to = parse_user_date(date_to_text) if date_to_text else default[1]
    if date_from is None:
        errors.append(_("«%(value)s» is not a date: write it as 01.09.2026.", value=date_from_text))
    if date_to is None:
        errors.append(_("«%(value)s» is not a date: write it as 01.09.2026.", value=date_to_text))
    if date_from is not None and date_to is not None and date_from > date_to:
        errors.append(
            _(
                "The period starts on %(start)s, after its end %(end)s: swap the dates.",
                start=format_date(date_from),
                end=format_date(date_to),
            )
        )
    if errors:
        return default[0], default[1], errors
    return date_from, date_to, []


# --- Counts for the authority ---------------------------------------------------------------


@dataclass(frozen=True)
class MovementCount:
    """Students who arrived at and departed from one grade of one school in a period."""

    school_id: int
    grade: int
    arrived: int
    departed: int


def movement_counts(school_ids, date_from: dt.date, date_to: dt.date) -> list[MovementCount]:
    """Count arrivals and departures per school and grade in ``date_from``–``date_to``.

    The grade is that of the class the student arrived in or departed from. The caller
    passes only schools its user may see: the function does not filter by a scope, so that
    an authority's report and a background job can call it alike. Counted in the database.
    """
    school_ids = list(school_ids)
    if not school_ids:
        return []
    counts: dict[tuple[int, int], list[int]] = {}
    for index, condition in enumerate(
        (arrived_between(date_from, date_to), departed_between(date_from, date_to))
    ):
        statement = (
            select(Enrollment.school_id, SchoolClass.grade, func.count(Enrollment.id))
            .join(SchoolClass, SchoolClass.id == Enrollment.class_id)
            .where(Enrollment.school_id.in_(school_ids), condition)
            .group_by(Enrollment.school_id, SchoolClass.grade)
        )
        for school_id, grade, count in db.session.execute(statement):
            counts.setdefault((school_id, grade), [0, 0])[index] = count
    return [
        MovementCount(school_id, grade, arrived, departed)
        for (school_id, grade), (arrived, departed) in sorted(counts.items())
    ]
