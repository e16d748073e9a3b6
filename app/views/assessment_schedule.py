"""The schedule of assessment procedures (график оценочных процедур) and its XLSX export."""

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from flask import abort, flash, request
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.models import SchoolClass
from app.reports.xlsx import DATE, INTEGER, current_school_label, frame_to_xlsx, xlsx_response
from app.security.manager import school_only_menu
from app.security.scope import Scope, current_scope
from app.services import assessment_procedures
from app.services.assessment_procedures import ScheduleRow
from app.services.dates import format_date, parse_user_date

PERMISSION = "AssessmentSchedule"


@dataclass
class ScheduleRequest:
    """The class and period of a request, checked against the session's rights."""

    scope: Scope
    date_from: dt.date
    date_to: dt.date
    classes: list[SchoolClass]
    #: None means every class of the school for staff, and no class for a family login.
    school_class: SchoolClass | None
    whole_school: bool

    def rows(self) -> list[ScheduleRow]:
        if self.school_class is None and not self.whole_school:
            return []
        class_id = self.school_class.id if self.school_class is not None else None
        return assessment_procedures.procedure_schedule(
            self.scope.school_id, self.date_from, self.date_to, class_id
        )

    def period_text(self) -> str:
        return _(
            "from %(start)s to %(end)s",
            start=format_date(self.date_from),
            end=format_date(self.date_to),
        )


class AssessmentScheduleView(BaseView):
    """Assessment procedures of a class, or of every class for staff, by date."""

    route_base = "/assessment-schedule"
    default_view = "index"
    class_permission_name = PERMISSION
    method_permission_name = {"index": "read", "export": "read"}

    @expose("/")
    @has_access
    def index(self):
        chosen = _schedule_request()
        return self.render_template(
            "assessment_schedule.html",
            chosen=chosen,
            rows=chosen.rows(),
            date_from=chosen.date_from.isoformat(),
            date_to=chosen.date_to.isoformat(),
        )

    @expose("/export.xlsx")
    @has_access
    def export(self):
        chosen = _schedule_request()
        if chosen.school_class is None and not chosen.whole_school:
            abort(404)
        rows = chosen.rows()
        if chosen.school_class is not None:
            target = chosen.school_class.name
            frames = [(target, *_schedule_frame(rows))]
        else:
            target = _("all classes")
            frames = _frames_per_class(chosen.classes, rows)
        title = _("Assessment schedule: %(target)s", target=target)
        filters = _("Period: %(period)s.", period=chosen.period_text())
        file_name = _(
            "Assessment schedule %(target)s %(start)s-%(end)s",
            target=target,
            start=format_date(chosen.date_from),
            end=format_date(chosen.date_to),
        )
        content = frame_to_xlsx(frames, title, filters)
        return xlsx_response(content, file_name, current_school_label())


def _schedule_request() -> ScheduleRequest:
    """Read the class and period of the request.

    Aborts with 404 outside a school and for a class the session may not read.
    """
    scope = current_scope()
    if scope is None or scope.level != "school":
        # The schedule belongs to one school, so there is nothing to show elsewhere.
        abort(404)
    date_from, date_to = _requested_period(scope)
    classes = assessment_procedures.schedule_classes(scope, date_from, date_to)

    whole_school = assessment_procedures.reads_whole_school(scope)
    class_id = request.args.get("class", "").strip()
    if class_id:
        school_class = assessment_procedures.schedule_class_or_404(scope, class_id)
    elif whole_school or not classes:
        # Staff start with the whole school. A student or parent without a linked
        # student gets an empty page.
        school_class = None
    else:
        school_class = classes[0]
    return ScheduleRequest(scope, date_from, date_to, classes, school_class, whole_school)


def _requested_period(scope: Scope) -> tuple[dt.date, dt.date]:
    """Read the period from ``from`` and ``to``; a missing date comes from the current year."""
    default_from, default_to = assessment_procedures.default_period(scope, dt.date.today())
    date_from = _requested_date("from", default_from)
    date_to = _requested_date("to", default_to)
    if date_from > date_to:
        flash(
            _(
                "The period start %(start)s is after its end %(end)s: choose a start on or "
                "before the end. The current school year is shown instead.",
                start=format_date(date_from),
                end=format_date(date_to),
            ),
            "warning",
        )
        return default_from, default_to
    return date_from, date_to


def _requested_date(name: str, default: dt.date) -> dt.date:
    text = request.args.get(name, "").strip()
    if not text:
        return default
    day = parse_user_date(text)
    if day is None:
        flash(
            _(
                'Date "%(value)s" is invalid: enter a date as DD.MM.YYYY or YYYY-MM-DD. '
                "%(default)s is used instead.",
                value=text,
                default=format_date(default),
            ),
            "warning",
        )
        return default
    return day


def _schedule_frame(rows: list[ScheduleRow]) -> tuple[pd.DataFrame, dict[str, str]]:
    date, number = _("Date"), _("Lesson number")
    subject, kind, text = _("Subject"), _("Assignment type"), _("Text")
    records = [
        {
            date: row.date,
            number: row.lesson_number,
            subject: row.subject,
            kind: row.assignment_type,
            text: row.text,
        }
        for row in rows
    ]
    columns = [date, number, subject, kind, text]
    return pd.DataFrame(records, columns=columns), {date: DATE, number: INTEGER}


def _frames_per_class(classes: list[SchoolClass], rows: list[ScheduleRow]) -> list:
    """Build one sheet per class of the selector, so that each class's schedule prints apart."""
    frames = []
    for school_class in classes:
        class_rows = [row for row in rows if row.class_id == school_class.id]
        frames.append((school_class.name, *_schedule_frame(class_rows)))
    return frames


def register(appbuilder) -> None:
    school_only_menu("Assessment procedure schedule")
    # The menu name differs from the permission name (FAB drops menu_access from a view
    # menu that is also a permission name).
    appbuilder.add_view(
        AssessmentScheduleView,
        "Assessment procedure schedule",
        label=_l("Assessment schedule"),
        category="Journal and diary",
        category_label=_l("Journal"),
    )
