"""Changes of single lessons for a day, and the substitution report."""

import datetime as dt
import logging

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.models import Lesson, db
from app.reports import substitutions
from app.reports.xlsx import frame_to_xlsx, xlsx_response
from app.security.scope import current_scope, scoped_get_or_404
from app.services import lesson_changes as changes
from app.services.dates import format_date, parse_user_date
from app.services.lesson_changes import ChangeRequest, LessonChangeConflict, LessonChangeError

log = logging.getLogger(__name__)

#: Days the substitution report covers when no dates are given: the last four weeks.
DEFAULT_REPORT_DAYS = 28


def _school_scope():
    scope = current_scope()
    if scope is None or scope.level != "school":
        abort(404)
    return scope


def _day_argument(name: str, default: dt.date) -> tuple[dt.date, str | None]:
    """Read a date query argument; on bad input return the default and a message."""
    text = request.args.get(name, "").strip()
    if not text:
        return default, None
    day = parse_user_date(text)
    if day is None:
        return default, _(
            "«%(value)s» is not a date: write it as 05.02.2027. %(date)s is shown instead.",
            value=text,
            date=format_date(default),
        )
    return day, None


class LessonChangesView(BaseView):
    """The day's lessons and changes, the change form of one lesson, the substitution report."""

    route_base = "/timetable-changes"
    default_view = "day"
    class_permission_name = "TimetableChanges"
    method_permission_name = {
        "day": "read",
        "lesson": "write",
        "substitutions": "read",
        "substitutions_xlsx": "read",
    }

    @expose("/")
    @has_access
    def day(self):
        scope = _school_scope()
        # The timetable pages name the same argument «day», so both are read.
        name = "date" if request.args.get("date", "").strip() else "day"
        day, error = _day_argument(name, dt.date.today())
        if error:
            flash(error, "danger")
        lessons = changes.day_lessons(scope, day)
        return self.render_template(
            "lesson_changes_day.html",
            day=day,
            previous_day=day - dt.timedelta(days=1),
            next_day=day + dt.timedelta(days=1),
            changes=changes.day_changes(scope, day),
            lessons=lessons,
            lessons_generated=bool(lessons) or changes.term_lessons_generated(scope, day),
            format_date=format_date,
        )

    @expose("/lesson/<int:lesson_id>", methods=["GET", "POST"])
    @has_access
    def lesson(self, lesson_id):
        scope = _school_scope()
        lesson = scoped_get_or_404(Lesson, lesson_id, scope)
        if request.method == "GET":
            return self._render_lesson(scope, lesson, ChangeRequest(), [], [])

        form = ChangeRequest.from_form(request.form)
        day = lesson.date
        try:
            message = changes.change_lesson(scope, lesson, form)
        except LessonChangeConflict as conflict:
            db.session.rollback()
            log.info(
                "Change %s of lesson %d by user %s awaits confirmation: %s",
                form.action,
                lesson_id,
                scope.user_id,
                conflict,
            )
            return self._render_lesson(scope, lesson, form, [], conflict.messages), 409
        except LessonChangeError as error:
            db.session.rollback()
            log.info(
                "Change %s of lesson %d by user %s rejected: %s",
                form.action,
                lesson_id,
                scope.user_id,
                error,
            )
            return self._render_lesson(scope, lesson, form, error.messages, []), 400
        flash(message, "success")
        return redirect(url_for(".day", date=day.isoformat()))

    def _render_lesson(self, scope, lesson, form, errors, warnings):
        return self.render_template(
            "lesson_changes_lesson.html",
            lesson=lesson,
            item=changes._day_lesson(lesson),
            form=form,
            errors=errors,
            warnings=warnings,
            employees=changes.substitute_choices(scope),
            rooms=changes.room_choices(scope),
            format_date=format_date,
        )

    @expose("/substitutions")
    @has_access
    def substitutions(self):
        scope = _school_scope()
        report = self._report(scope)
        return self.render_template(
            "lesson_changes_substitutions.html", report=report, format_date=format_date
        )

    @expose("/substitutions.xlsx")
    @has_access
    def substitutions_xlsx(self):
        scope = _school_scope()
        report = self._report(scope)
        title = _("Substitutions")
        content = frame_to_xlsx(
            substitutions.report_frames(report), title, substitutions.report_filters(report)
        )
        return xlsx_response(
            content, f"{title} {report.start.isoformat()}–{report.end.isoformat()}"
        )

    def _report(self, scope):
        today = dt.date.today()
        end, end_error = _day_argument("end", today)
        start, start_error = _day_argument("start", end - dt.timedelta(days=DEFAULT_REPORT_DAYS))
        for error in (start_error, end_error):
            if error:
                flash(error, "danger")
        if start > end:
            flash(
                _(
                    "The start %(start)s is after the end %(end)s, so they were swapped.",
                    start=format_date(start),
                    end=format_date(end),
                ),
                "warning",
            )
            start, end = end, start
        return substitutions.substitution_report(scope, start, end)


def register(appbuilder) -> None:
    # The substitution report is linked from the changes page.
    appbuilder.add_view(
        LessonChangesView,
        "Lesson changes",
        label=_l("Lesson changes"),
        icon="fa-exchange",
        category="Journal and diary",
        category_label=_l("Journal"),
    )
