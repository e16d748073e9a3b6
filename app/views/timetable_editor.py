"""The weekly template editor: a grid per class, the whole school, and JSON changes."""

import datetime as dt
import logging

from flask import abort, g, jsonify, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app.errors import OutOfScope
from app.models import SchoolClass, TimetableEntry, db
from app.models.timetable import WEEK_PARITIES
from app.security.scope import current_scope, scoped_get_or_404
from app.services import timetable_conflicts as conflicts
from app.services import timetable_editor as editor
from app.services import timetable_grid as grids
from app.services import timetable_health as health

log = logging.getLogger(__name__)


class TimetableEditorView(BaseView):
    """Pages of the template editor; changes return JSON and are checked for conflicts."""

    route_base = "/timetable-editor"
    default_view = "school"
    class_permission_name = "TimetableEditor"
    method_permission_name = {
        "school": "read",
        "class_editor": "read",
        "place": "write",
        "move": "write",
        "remove": "write",
        "school_health": "read",
        "class_health": "read",
    }

    def _may_edit(self) -> bool:
        return self.appbuilder.sm.has_access("can_write", self.class_permission_name)

    @expose("/")
    @has_access
    def school(self):
        scope = current_scope()
        if scope is None or scope.level != "school":
            return self.render_template(
                "timetable_editor_school.html", overview=None, outside_school=True
            )
        year = grids.current_year(scope, dt.date.today())
        if year is None:
            return self.render_template("timetable_editor_school.html", overview=None)
        overview = editor.school_overview(year.school_id, year.id)
        found = conflicts.check_template(year.school_id, year.id)
        warnings = health.check_school(year.school_id, year.id)
        return self.render_template(
            "timetable_editor_school.html",
            overview=overview,
            conflicts=found,
            warnings=warnings,
            year=year,
            weekday_label=grids.weekday_label,
        )

    @expose("/class/<int:class_id>")
    @has_access
    def class_editor(self, class_id):
        school_class = scoped_get_or_404(SchoolClass, class_id)
        grid = editor.class_editor_grid(school_class)
        return self.render_template(
            "timetable_editor_class.html",
            grid=grid,
            warnings=health.check_class(school_class),
            editable=self._may_edit(),
            weekday_label=grids.weekday_label,
            parities=list(WEEK_PARITIES.items()),
        )

    @expose("/class/<int:class_id>/place", methods=["POST"])
    @has_access
    def place(self, class_id):
        school_class = scoped_get_or_404(SchoolClass, class_id)
        data = _json_body()
        return _change(
            lambda: editor.place_entry(school_class, g.user.id, data, _override(data)),
            f"placing a line in class {class_id}",
        )

    @expose("/entry/<int:entry_id>/move", methods=["POST"])
    @has_access
    def move(self, entry_id):
        entry = scoped_get_or_404(TimetableEntry, entry_id)
        data = _json_body()
        return _change(
            lambda: editor.move_entry(entry, g.user.id, data, _override(data)),
            f"moving template line {entry_id}",
        )

    @expose("/entry/<int:entry_id>/remove", methods=["POST"])
    @has_access
    def remove(self, entry_id):
        entry = scoped_get_or_404(TimetableEntry, entry_id)
        result = editor.remove_entry(entry, g.user.id)
        db.session.commit()
        return jsonify(saved=True, conflicts=[], warnings=_warning_payload(result.warnings))

    @expose("/health")
    @has_access
    def school_health(self):
        scope = current_scope()
        if scope is None or scope.level != "school":
            return self.render_template("timetable_health.html", warnings=None, outside_school=True)
        year = grids.current_year(scope, dt.date.today())
        if year is None:
            return self.render_template("timetable_health.html", warnings=None)
        return self.render_template(
            "timetable_health.html",
            warnings=health.check_school(year.school_id, year.id),
            school_class=None,
            year=year,
        )

    @expose("/class/<int:class_id>/health")
    @has_access
    def class_health(self, class_id):
        school_class = scoped_get_or_404(SchoolClass, class_id)
        return self.render_template(
            "timetable_health.html",
            warnings=health.check_class(school_class),
            school_class=school_class,
            year=school_class.year,
        )


def _json_body() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _warning_payload(warnings) -> list[dict]:
    return [{"rule": w.rule, "class": w.class_name, "message": w.message} for w in warnings]


def _override(data: dict) -> bool:
    return data.get("override") is True


def _change(run, action: str):
    """Run one change and return JSON: 200 saved, 409 not saved for conflicts, 400 invalid input.

    Health warnings come in both the 200 and the 409 response and never change the status.
    """
    try:
        result = run()
    except OutOfScope as error:
        db.session.rollback()
        log.info(
            "User %s: %s named a %s outside its school or class",
            g.user.id,
            action,
            error.model_name,
        )
        abort(404)
    except editor.EditorInputError as error:
        db.session.rollback()
        log.info("User %s: %s rejected, invalid input", g.user.id, action)
        return jsonify(saved=False, message=" ".join(str(m) for m in error.messages)), 400
    payload = {
        "saved": result.saved,
        "entry_id": result.entry_id,
        "conflicts": [
            {"kind": c.kind, "entries": list(c.entry_ids), "message": c.message}
            for c in result.conflicts
        ],
        "warnings": _warning_payload(result.warnings),
    }
    if not result.saved:
        db.session.rollback()
        log.info("User %s: %s not saved, %d conflicts", g.user.id, action, len(result.conflicts))
        return jsonify(payload), 409
    db.session.commit()
    return jsonify(payload)


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(TimetableEditorView)
