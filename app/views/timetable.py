"""Timetable pages: weekly grids of classes, teachers and rooms, and lesson generation."""

import datetime as dt

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from app.errors import DomainError
from app.models import Employee, Room, SchoolClass, Term, db
from app.security.scope import current_scope, scoped_get_or_404
from app.services import timetable_grid as grids


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
        return self.render_template(
            "timetable_index.html", choices=choices, can_generate=can_generate
        )

    @expose("/class/<int:class_id>")
    @has_access
    def class_grid(self, class_id):
        scope = current_scope()
        school_class = scoped_get_or_404(SchoolClass, class_id)
        allowed = grids.visible_class_ids(scope)
        if allowed is not None and school_class.id not in allowed:
            abort(404)
        return self._render_grid(scope, grids.class_subject(school_class))

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

    @expose("/generate", methods=["POST"])
    @has_access
    def generate(self):
        scope = current_scope()
        term = scoped_get_or_404(Term, request.form.get("term_id"))
        try:
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
        return redirect(url_for(".index"))

    def _render_grid(self, scope, subject):
        week_value = request.args.get("week")
        week = None
        try:
            week = grids.parse_week(week_value)
        except ValueError:
            flash(
                _(
                    "The week %(value)s is not a valid date. Give a day of the week as "
                    "YYYY-MM-DD, for example 2026-10-05.",
                    value=week_value,
                ),
                "danger",
            )
        today = dt.date.today()
        if week is None:
            grid = grids.template_grid(scope, subject, today)
            monday = grids.week_monday(today)
        else:
            grid = grids.week_grid(scope, subject, week)
            monday = grids.week_monday(week)
        return self.render_template(
            "timetable_grid.html",
            grid=grid,
            subject=subject,
            week=week,
            monday=monday,
            previous_week=monday - dt.timedelta(days=7),
            next_week=monday + dt.timedelta(days=7),
            weekday_label=grids.weekday_label,
        )


def register(appbuilder) -> None:
    appbuilder.add_view(
        TimetableView,
        "Timetables",
        label=_l("Timetable"),
        icon="fa-calendar",
    )
