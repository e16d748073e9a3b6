"""Student movement pages: admission, transfer and departure, class lists at a date, the
alphabetical book and the movement report, for the secretary and the school administrator.

The principal has read access and sees every page without the forms.
"""

import datetime as dt
import logging

import pandas as pd
from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.models import AcademicYear, Enrollment, SchoolClass, Student, db
from app.models.enrollment import END_KINDS, START_KINDS
from app.reports.xlsx import DATE, current_school_label, frame_to_xlsx, xlsx_response
from app.security.manager import school_only_menu
from app.security.scope import apply_scope, current_scope, scoped_get_or_404
from app.services import movement
from app.services.dates import format_date, local_today, parse_user_date
from app.services.movement import (
    AdmissionRequest,
    DepartureRequest,
    MovementError,
    NewStudent,
    TransferRequest,
)

log = logging.getLogger(__name__)

PERMISSION = "StudentMovement"

#: The menu items of the pages, all under «Люди».
MENU_NAMES = ("Student movement", "Class list at a date", "Alphabetical book", "Movement report")


def _school_scope():
    """Return the session's scope. The pages serve one school, so other levels get 404."""
    scope = current_scope()
    if scope is None or scope.level != "school":
        abort(404)
    return scope


def _current_year(scope, today: dt.date) -> AcademicYear | None:
    statement = apply_scope(
        select(AcademicYear).where(
            AcademicYear.start_date <= today, AcademicYear.end_date >= today
        ),
        AcademicYear,
        scope,
    )
    return db.session.scalars(statement).first()


def _default_period(scope, today: dt.date) -> tuple[dt.date, dt.date]:
    year = _current_year(scope, today)
    if year is None:
        return today - dt.timedelta(days=30), today
    return year.start_date, min(year.end_date, today)


def _order_text(number, day) -> str:
    if not number:
        return "—"
    if day is None:
        return number
    return _("№ %(number)s of %(date)s", number=number, date=format_date(day))


class MovementView(BaseView):
    """Admission, transfer and departure of students, with their lists and report."""

    route_base = "/movement"
    default_view = "index"
    class_permission_name = PERMISSION
    method_permission_name = {
        "index": "read",
        "admit_new": "write",
        "student": "read",
        "admit": "write",
        "transfer": "write",
        "depart": "write",
        "enrollment": "read",
        "class_list": "read",
        "book": "read",
        "book_xlsx": "read",
        "report": "read",
        "report_xlsx": "read",
    }

    # --- movements ---------------------------------------------------------------

    @expose("/")
    @has_access
    def index(self):
        scope = _school_scope()
        return self._render_index(scope, NewStudent(), AdmissionRequest(), errors=[])

    @expose("/admit", methods=["POST"])
    @has_access
    def admit_new(self):
        scope = _school_scope()
        new = NewStudent.from_form(request.form)
        admission = AdmissionRequest.from_form(request.form)
        try:
            student = movement.admit_new_student(scope, new, admission)
        except MovementError as error:
            db.session.rollback()
            self._log_rejected(scope, "admission", error)
            return self._render_index(scope, new, admission, error.messages), 400
        flash(_("The student is admitted."), "success")
        return redirect(url_for("MovementView.student", student_id=student.id))

    @expose("/student/<int:student_id>")
    @has_access
    def student(self, student_id):
        scope = _school_scope()
        student = scoped_get_or_404(Student, student_id, scope)
        return self._render_student(scope, student, errors=[], form=None)

    @expose("/student/<int:student_id>/admit", methods=["POST"])
    @has_access
    def admit(self, student_id):
        return self._move(student_id, movement.admit, AdmissionRequest, "admit")

    @expose("/student/<int:student_id>/transfer", methods=["POST"])
    @has_access
    def transfer(self, student_id):
        return self._move(student_id, movement.transfer, TransferRequest, "transfer")

    @expose("/student/<int:student_id>/depart", methods=["POST"])
    @has_access
    def depart(self, student_id):
        return self._move(student_id, movement.depart, DepartureRequest, "depart")

    def _move(self, student_id, action, request_class, form_name):
        scope = _school_scope()
        student = scoped_get_or_404(Student, student_id, scope)
        form = request_class.from_form(request.form)
        try:
            action(scope, student, form)
        except MovementError as error:
            db.session.rollback()
            self._log_rejected(scope, form_name, error)
            student = scoped_get_or_404(Student, student_id, scope)
            return self._render_student(scope, student, error.messages, (form_name, form)), 400
        flash(_("The movement is recorded."), "success")
        return redirect(url_for("MovementView.student", student_id=student_id))

    @expose("/enrollment/<int:enrollment_id>")
    @has_access
    def enrollment(self, enrollment_id):
        scope = _school_scope()
        stay = scoped_get_or_404(Enrollment, enrollment_id, scope)
        return self.render_template(
            "movement_enrollment.html",
            stay=stay,
            order_text=_order_text,
            start_kinds=START_KINDS,
            end_kinds=END_KINDS,
        )

    # --- lists -------------------------------------------------------------------

    @expose("/class-list")
    @has_access
    def class_list(self):
        scope = _school_scope()
        day_text = request.args.get("date", "").strip()
        day = parse_user_date(day_text) if day_text else local_today()
        errors = []
        if day is None:
            # No list is shown for another day than the one asked for.
            errors.append(
                _(
                    "«%(value)s» is not a date. Enter the date as dd.mm.yyyy, "
                    "for example 01.09.2026.",
                    value=day_text,
                )
            )
        school_class = None
        if request.args.get("class"):
            school_class = scoped_get_or_404(SchoolClass, request.args["class"], scope)
        stays = movement.class_list(scope, school_class, day) if school_class and day else []
        return self.render_template(
            "movement_class_list.html",
            classes=movement.school_classes(scope),
            school_class=school_class,
            day=day,
            day_text=format_date(day) if day else day_text,
            errors=errors,
            stays=stays,
            order_text=_order_text,
        )

    @expose("/book")
    @has_access
    def book(self):
        scope = _school_scope()
        return self.render_template(
            "movement_book.html", entries=movement.alphabetical_book(scope), order_text=_order_text
        )

    @expose("/book.xlsx")
    @has_access
    def book_xlsx(self):
        scope = _school_scope()
        title = _("Alphabetical book")
        frame = _book_frame(movement.alphabetical_book(scope))
        content = frame_to_xlsx(
            [(title, frame, _date_formats(frame))], title, _("All students ever admitted")
        )
        return xlsx_response(content, title, current_school_label())

    @expose("/report")
    @has_access
    def report(self):
        _scope, report = self._report()
        return self.render_template(
            "movement_report.html",
            report=report,
            args={
                "date_from": format_date(report.date_from),
                "date_to": format_date(report.date_to),
            },
            order_text=_order_text,
        )

    @expose("/report.xlsx")
    @has_access
    def report_xlsx(self):
        _scope, report = self._report()
        title = _("Student movement")
        period = _(
            "From %(start)s to %(end)s",
            start=format_date(report.date_from),
            end=format_date(report.date_to),
        )
        arrivals = _arrivals_frame(report.arrivals)
        departures = _departures_frame(report.departures)
        frames = [
            (_("Arrived"), arrivals, _date_formats(arrivals)),
            (_("Departed"), departures, _date_formats(departures)),
        ]
        file_name = _(
            "Student movement %(start)s-%(end)s",
            start=format_date(report.date_from),
            end=format_date(report.date_to),
        )
        content = frame_to_xlsx(frames, title, period)
        return xlsx_response(content, file_name, current_school_label())

    def _report(self):
        scope = _school_scope()
        default = _default_period(scope, dt.date.today())
        date_from, date_to, errors = movement.read_period(
            request.args.get("date_from", "").strip(),
            request.args.get("date_to", "").strip(),
            default,
        )
        for message in errors:
            flash(message, "danger")
        return scope, movement.movement_report(scope, date_from, date_to)

    # --- rendering ---------------------------------------------------------------

    def _may_write(self) -> bool:
        return self.appbuilder.sm.has_access("can_write", PERMISSION)

    def _render_index(self, scope, new, admission, errors):
        query = request.args.get("q", "").strip()
        page = request.args.get("page", "1")
        page = int(page) if page.isdigit() and int(page) > 0 else 1
        page_size = movement.STUDENTS_PAGE_SIZE
        students, total = movement.search_students(scope, query, page, page_size)
        return self.render_template(
            "movement_index.html",
            errors=errors,
            new=new,
            admission=admission,
            query=query,
            students=students,
            total=total,
            page=page,
            pages=max(1, -(-total // page_size)),
            first_shown=(page - 1) * page_size + 1,
            classes=movement.school_classes(scope, open_years_only=True),
            may_write=self._may_write(),
        )

    def _render_student(self, scope, student, errors, form):
        stays = movement.student_stays(student)
        current = next((stay for stay in stays if stay.end_date is None), None)
        return self.render_template(
            "movement_student.html",
            student=student,
            stays=stays,
            current=current,
            classes=movement.school_classes(scope, open_years_only=True),
            errors=errors,
            form_name=form[0] if form else None,
            form=form[1] if form else None,
            may_write=self._may_write(),
            order_text=_order_text,
            start_kinds=START_KINDS,
            end_kinds=END_KINDS,
        )

    @staticmethod
    def _log_rejected(scope, movement_name, error):
        log.info(
            "Movement (%s) rejected in school %s for user %s: %s",
            movement_name,
            scope.school_id,
            scope.user_id,
            error,
        )


# --- XLSX frames ----------------------------------------------------------------------------


#: Columns of the frames that hold dates.
_DATE_COLUMNS = (
    _l("Date of arrival"),
    _l("Date of departure"),
    _l("Date of the order"),
    _l("Date of birth"),
    _l("Date of admission"),
)


def _date_formats(frame: pd.DataFrame) -> dict[str, str]:
    dates = set(_columns(_DATE_COLUMNS))
    return {column: DATE for column in frame.columns if column in dates}


def _arrivals_frame(stays) -> pd.DataFrame:
    rows = [
        {
            _("Date of arrival"): stay.start_date,
            _("Student"): stay.student.full_name,
            _("Class"): stay.school_class.name,
            _("Arrived from"): stay.arrived_from or _("first enrolment"),
            _("Order number"): stay.start_order_number or "",
            _("Date of the order"): stay.start_order_date,
        }
        for stay in stays
    ]
    return pd.DataFrame(rows, columns=_columns(_ARRIVAL_COLUMNS))


def _departures_frame(stays) -> pd.DataFrame:
    rows = [
        {
            _("Date of departure"): stay.end_date,
            _("Student"): stay.student.full_name,
            _("Class"): stay.school_class.name,
            _("Departed to"): stay.departed_to or "",
            _("Reason"): stay.departure_reason or "",
            _("Order number"): stay.end_order_number or "",
            _("Date of the order"): stay.end_order_date,
        }
        for stay in stays
    ]
    return pd.DataFrame(rows, columns=_columns(_DEPARTURE_COLUMNS))


def _book_frame(entries) -> pd.DataFrame:
    rows = []
    for entry in entries:
        admission, departure = entry.admission, entry.departure
        rows.append(
            {
                _("Student"): entry.student.full_name,
                _("Personal file"): entry.student.personal_file_number or "",
                _("Date of birth"): entry.student.birth_date,
                _("Date of admission"): admission.start_date,
                _("Class at admission"): admission.school_class.name,
                _("Admission order"): _order_text(
                    admission.start_order_number, admission.start_order_date
                ),
                _("Arrived from"): _arrived_from(admission),
                _("Date of departure"): departure.end_date if departure else None,
                _("Departure order"): _order_text(
                    departure.end_order_number, departure.end_order_date
                )
                if departure
                else "",
                _("Departed to"): (departure.departed_to or "") if departure else "",
                _("Current class"): entry.current_class.name if entry.current_class else "",
            }
        )
    return pd.DataFrame(rows, columns=_columns(_BOOK_COLUMNS))


def _arrived_from(stay: Enrollment) -> str:
    if stay.is_backfilled:
        return _("recorded before movements were kept")
    if stay.is_first_enrolment:
        return _("first enrolment")
    return stay.arrived_from or ""


_ARRIVAL_COLUMNS = (
    _l("Date of arrival"),
    _l("Student"),
    _l("Class"),
    _l("Arrived from"),
    _l("Order number"),
    _l("Date of the order"),
)
_DEPARTURE_COLUMNS = (
    _l("Date of departure"),
    _l("Student"),
    _l("Class"),
    _l("Departed to"),
    _l("Reason"),
    _l("Order number"),
    _l("Date of the order"),
)
_BOOK_COLUMNS = (
    _l("Student"),
    _l("Personal file"),
    _l("Date of birth"),
    _l("Date of admission"),
    _l("Class at admission"),
    _l("Admission order"),
    _l("Arrived from"),
    _l("Date of departure"),
    _l("Departure order"),
    _l("Departed to"),
    _l("Current class"),
)


def _columns(labels) -> list[str]:
    return [str(label) for label in labels]


def register(appbuilder) -> None:
    category = "People"
    # Menu names differ from the permission name: FAB drops menu_access from a view menu
    # that is also a permission name.
    for name in (
        "Student movement",
        "Class list at a date",
        "Alphabetical book",
        "Movement report",
    ):
        school_only_menu(name)
    appbuilder.add_view(
        MovementView,
        "Student movement",
        label=_l("Student movement"),
        category=category,
        category_label=_l("People"),
    )
    appbuilder.add_link(
        "Class list at a date",
        href="MovementView.class_list",
        label=_l("Class list at a date"),
        category=category,
        baseview=MovementView,
    )
    appbuilder.add_link(
        "Alphabetical book",
        href="MovementView.book",
        label=_l("Alphabetical book"),
        category=category,
        baseview=MovementView,
    )
    appbuilder.add_link(
        "Movement report",
        href="MovementView.report",
        label=_l("Movement report"),
        category=category,
        baseview=MovementView,
    )
