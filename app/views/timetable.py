"""Timetable pages: grids of classes, students, teachers and rooms, and lesson generation."""

import datetime as dt

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from app.errors import DomainError
from app.models import Employee, Room, SchoolClass, Student, Term, db
from app.reports.timetable_export import grid_filters, grid_frame
from app.reports.xlsx import frame_to_xlsx, xlsx_response
from app.security.scope import current_scope, scoped_get_or_404
from app.services import timetable_grid as grids
from app.services.dates import parse_user_date
from app.services.timetable_regeneration import kept_lessons_message, regenerate_term_lessons


class TimetableView(BaseView):
    """The chooser, the three kinds of weekly grid and the generation of dated lessons."""

    route_base = "/timetable"
    default_view = "index"
    class_permission_name = "Timetable"
    method_permission_name = {
        "index": "read",
        "class_grid": "read",
        "teacher_grid": "read",
        "room_grid": "read",
        "student_grid": "read",
        "generate": "write",
    }

    @expose("/")
    @has_access
    def index(self):
        scope = current_scope()
        if grids.is_family_only(scope):
            children = grids.family_classes(scope)
            class_ids = {child.class_id for child in children}
            if len(class_ids) == 1:
                return redirect(url_for(".class_grid", class_id=children[0].class_id))
            return self.render_template("timetable_children.html", children=children)

        today = dt.date.today()
        choices = grids.chooser_choices(scope, today)
        can_generate = self.appbuilder.sm.has_access("can_write", self.class_permission_name)
        can_open_editor = self.appbuilder.sm.has_access("can_read", "TimetableEditor")
        return self.render_template(
            "timetable_index.html",
            choices=choices,
            can_generate=can_generate,
            can_open_editor=can_open_editor,
        )

    @expose("/class/<int:class_id>")
    @has_access
    def class_grid(self, class_id):
        scope = current_scope()
        school_class = scoped_get_or_404(SchoolClass, class_id)
        allowed = grids.visible_class_ids(scope)
        if allowed is not None and school_class.id not in allowed:
            abort(404)
        students = grids.class_students(scope, school_class)
        return self._render_grid(scope, grids.class_subject(school_class), students=students)

    @expose("/teacher/<int:employee_id>")
    @has_access
    def teacher_grid(self, employee_id):
        scope = current_scope()
        if grids.is_family_only(scope):
            abort(404)
        employee = scoped_get_or_404(Employee, employee_id)
        year = grids.current_year(scope, dt.date.today())
        return self._render_grid(scope, grids.teacher_subject(employee, year))

    @expose("/room/<int:room_id>")
    @has_access
    def room_grid(self, room_id):
        scope = current_scope()
        if grids.is_family_only(scope):
            abort(404)
        room = scoped_get_or_404(Room, room_id)
        year = grids.current_year(scope, dt.date.today())
        return self._render_grid(scope, grids.room_subject(room, year))

    @expose("/student/<int:student_id>")
    @has_access
    def student_grid(self, student_id):
        scope = current_scope()
        student = scoped_get_or_404(Student, student_id, scope)
        if grids.is_family_only(scope):
            own = {child.student_id for child in grids.family_classes(scope)}
            if student.id not in own:
                abort(404)
        if student.school_class is None:
            abort(404)
        return self._render_grid(scope, grids.student_subject(student))

    @expose("/generate", methods=["POST"])
    @has_access
    def generate(self):
        scope = current_scope()
        term = scoped_get_or_404(Term, request.form.get("term_id"))
        try:
            if request.form.get("regenerate") == "1":
                result = regenerate_term_lessons(scope, term, dt.date.today())
                created = result.created
            else:
                result = None
                created = grids.generate_term_lessons(scope, term)
        except DomainError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return redirect(url_for(".index"))
        flash(
            ngettext(
                "%(num)d lesson was created for %(term)s.",
                "%(num)d lessons were created for %(term)s.",
                created,
                term=term.name,
            ),
            "success",
        )
        if result is not None:
            self._flash_regeneration(result)
        return redirect(url_for(".index"))

    def _flash_regeneration(self, result):
        if result.removed:
            flash(
                ngettext(
                    "%(num)d future lesson no longer in the template was removed.",
                    "%(num)d future lessons no longer in the template were removed.",
                    result.removed,
                ),
                "info",
            )
        if result.kept:
            flash(kept_lessons_message(result.kept), "warning")

    def _render_grid(self, scope, subject, students=()):
        week = self._date_argument("week")
        day = self._date_argument("day")
        today = dt.date.today()
        if day is not None:
            grid = grids.day_grid(scope, subject, day)
            monday = grids.week_monday(day)
        elif week is None:
            grid = grids.template_grid(scope, subject, today)
            monday = grids.week_monday(today)
        else:
            grid = grids.week_grid(scope, subject, week)
            monday = grids.week_monday(week)

        if request.args.get("format") == "xlsx":
            content = frame_to_xlsx(
                [grid_frame(grid, subject.kind)], grid.title, grid_filters(week, day)
            )
            return xlsx_response(content, grid.title)
        template = (
            "timetable_print.html" if request.args.get("print") == "1" else "timetable_grid.html"
        )
        children = grids.family_classes(scope) if grids.is_family_only(scope) else []
        return self.render_template(
            template,
            grid=grid,
            subject=subject,
            week=week,
            day=day,
            monday=monday,
            previous_week=monday - dt.timedelta(days=7),
            next_week=monday + dt.timedelta(days=7),
            previous_day=(day - dt.timedelta(days=1)) if day else None,
            next_day=(day + dt.timedelta(days=1)) if day else None,
            today=today,
            children=children,
            weekday_label=grids.weekday_label,
            date_errors=g.get("timetable_date_errors", []),
            students=students,
        )

    def _date_argument(self, name):
        """Read ``?week=`` or ``?day=`` as DD.MM.YYYY or YYYY-MM-DD, or note bad input.

        The message is shown above the grid, which then ignores the argument.
        """
        value = (request.args.get(name) or "").strip()
        if not value:
            return None
        day = parse_user_date(value)
        if day is None:
            g.timetable_date_errors = [
                *g.get("timetable_date_errors", []),
                _(
                    "The date «%(value)s» is invalid: write it as DD.MM.YYYY or YYYY-MM-DD, "
                    "for example 05.10.2026.",
                    value=value,
                ),
            ]
        return day


def register(appbuilder) -> None:
    appbuilder.add_view(
        TimetableView,
        "Timetables",
        label=_l("Timetable"),
        icon="fa-calendar",
    )
