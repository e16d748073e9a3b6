"""Who may open which school report, and the request values the reports take.

Holders of the "SchoolReports" permission (the principal and deputies) and the server
level open every class and student of the scope. A teacher opens the class reports of the
classes they lead (SchoolClass.class_teacher_id) and the progress of those students. A
parent or student opens only the progress and report card of their own child or self.
Any other id raises 404, as an id of another school does.
"""

import datetime as dt
from dataclasses import dataclass

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import select

from app.models import Employee, SchoolClass, Student, Term, db
from app.security.scope import Scope, apply_scope, scoped_get_or_404
from app.services.dates import format_date, parse_user_date
from app.services.diary import own_students


@dataclass(frozen=True)
class ReportAccess:
    """The school reports one session may open."""

    scope: Scope
    #: Every class and student of the scope.
    whole_school: bool
    #: Classes the session leads as class teacher.
    led_class_ids: frozenset
    #: Own children (parent) or self (student).
    own_student_ids: frozenset

    @property
    def opens_class_reports(self) -> bool:
        return self.whole_school or bool(self.led_class_ids)


def report_access(scope: Scope | None, holds_school_reports: bool) -> ReportAccess:
    """Work out the session's report rights from its scope and the permission matrix."""
    if scope is None or scope.level not in ("school", "server"):
        abort(404)
    whole_school = scope.level == "server" or holds_school_reports
    led = frozenset()
    if scope.level == "school" and scope.has_role("teacher") and scope.user_id is not None:
        employees = select(Employee.id).where(
            Employee.school_id == scope.school_id, Employee.user_id == scope.user_id
        )
        led = frozenset(
            db.session.scalars(
                select(SchoolClass.id).where(
                    SchoolClass.school_id == scope.school_id,
                    SchoolClass.class_teacher_id.in_(employees),
                )
            )
        )
    own = frozenset(s.id for s in own_students(scope))
    return ReportAccess(scope, whole_school, led, own)


def report_class_or_404(access: ReportAccess, class_id) -> SchoolClass:
    """Load a class whose reports the session may open; any other id raises 404."""
    school_class = scoped_get_or_404(SchoolClass, class_id, access.scope)
    if not access.whole_school and school_class.id not in access.led_class_ids:
        abort(404)
    return school_class


def report_classes(access: ReportAccess) -> list[SchoolClass]:
    """Classes offered in the selector, by year (newest first), grade and name."""
    statement = apply_scope(select(SchoolClass), SchoolClass, access.scope)
    if not access.whole_school:
        statement = statement.where(SchoolClass.id.in_(list(access.led_class_ids)))
    statement = statement.join(SchoolClass.year).order_by(
        SchoolClass.year_id.desc(), SchoolClass.grade, SchoolClass.name
    )
    return list(db.session.scalars(statement))


def report_student_or_404(access: ReportAccess, student_id) -> Student:
    """Load a student whose progress the session may open; any other id raises 404."""
    student = scoped_get_or_404(Student, student_id, access.scope)
    if access.whole_school:
        return student
    if student.class_id in access.led_class_ids or student.id in access.own_student_ids:
        return student
    abort(404)


def report_students(access: ReportAccess, class_id: int | None = None) -> list[Student]:
    """Students offered in the selector: own ones, or those of an allowed class."""
    statement = apply_scope(select(Student), Student, access.scope).where(
        Student.is_active.is_(True)
    )
    if class_id is not None:
        statement = statement.where(Student.class_id == class_id)
    elif access.whole_school:
        return []
    if not access.whole_school:
        allowed = Student.id.in_(list(access.own_student_ids))
        if access.led_class_ids:
            allowed = allowed | Student.class_id.in_(list(access.led_class_ids))
        statement = statement.where(allowed)
    return list(db.session.scalars(statement.order_by(Student.last_name, Student.first_name)))


def term_or_404(access: ReportAccess, term_id) -> Term:
    return scoped_get_or_404(Term, term_id, access.scope)


def check_term(term: Term | None, school_class: SchoolClass, terms: list[Term]):
    """Return the term if it is one of the class's terms, else None and a message with the fix."""
    if term is None or term in terms:
        return term, None
    message = _(
        "The term «%(term)s» does not apply to class %(class_name)s: "
        "choose one of the class's terms.",
        term=term.name,
        class_name=school_class.name,
    )
    return None, message


@dataclass(frozen=True)
class DateRangeInput:
    date_from: dt.date
    date_to: dt.date
    errors: tuple[str, ...] = ()


def parse_date_range(args, default_from: dt.date, default_to: dt.date) -> DateRangeInput:
    """Read ``date_from`` and ``date_to``; an invalid or reversed value is fixed with a message."""
    errors = []
    dates = {}
    for name, default in (("date_from", default_from), ("date_to", default_to)):
        text = (args.get(name) or "").strip()
        value = parse_user_date(text) if text else default
        if value is None:
            errors.append(
                _(
                    "The date «%(value)s» is invalid: write it as DD.MM.YYYY, "
                    "for example %(example)s.",
                    value=text,
                    example=format_date(default),
                )
            )
            value = default
        dates[name] = value
    if dates["date_from"] > dates["date_to"]:
        errors.append(
            _(
                "The start date %(start)s is after the end date %(end)s: the dates were swapped.",
                start=format_date(dates["date_from"]),
                end=format_date(dates["date_to"]),
            )
        )
        dates["date_from"], dates["date_to"] = dates["date_to"], dates["date_from"]
    return DateRangeInput(dates["date_from"], dates["date_to"], tuple(errors))
