"""The diary: a read-only week of one student for the student, parents and staff."""

import datetime as dt

from flask import abort, flash, request
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.security.scope import current_scope
from app.services.announcements import diary_announcements
from app.services.dates import parse_user_date
from app.services.diary import (
    diary_student_or_404,
    diary_week,
    monday_of,
    own_students,
    sees_whole_school,
    student_course_rows,
    visible_classes,
    visible_students_of_class,
)
from app.services.diary_overdue import overdue_assignments
from app.services.diary_results import diary_results

PERMISSION = "Diary"


class DiaryView(BaseView):
    """One student's week; a parent switches between children, staff choose a student."""

    route_base = "/diary"
    default_view = "index"
    class_permission_name = PERMISSION
    method_permission_name = {"index": "read"}

    @expose("/")
    @has_access
    def index(self):
        scope = current_scope()
        week_start = _requested_week()
        own = own_students(scope)
        chooses_any = sees_whole_school(scope) or scope.has_role("teacher")

        student_id = request.args.get("student")
        # A parent's own child needs no second check: own_students applied the same rule.
        chosen_own = next((child for child in own if str(child.id) == student_id), None)
        if chosen_own is not None:
            student = chosen_own
        elif student_id:
            student = diary_student_or_404(scope, student_id)
        elif own:
            student = own[0]
        elif chooses_any:
            return self._render_chooser(scope)
        elif scope.has_role("student", "parent"):
            return self.render_template("diary.html", week=None, chooser=False, own=[])
        else:
            abort(404)

        today = dt.date.today()
        courses = student_course_rows(student)
        return self.render_template(
            "diary.html",
            week=diary_week(student, week_start, courses),
            overdue=overdue_assignments(student, today, courses),
            results=diary_results(student, week_start, today, courses),
            today=today,
            student=student,
            own=own,
            chooses_any=chooses_any,
            chooser=False,
            announcement_rows=self._announcement_rows(scope, student, own),
        )

    def _announcement_rows(self, scope, student, own):
        """Return the announcements addressed to a student or parent reading their own
        diary, or None for staff and for sessions that may not read announcements."""
        if student.id not in {child.id for child in own}:
            return None
        if not self.appbuilder.sm.has_access("can_read", "Announcements"):
            return None
        return diary_announcements(scope, student, dt.date.today())

    def _render_chooser(self, scope):
        classes = visible_classes(scope)
        chosen = None
        students = []
        class_id = request.args.get("class")
        if class_id:
            chosen = next((c for c in classes if str(c.id) == class_id), None)
            if chosen is None:
                abort(404)
            students = visible_students_of_class(scope, chosen.id)
        return self.render_template(
            "diary.html",
            week=None,
            chooser=True,
            classes=classes,
            chosen_class=chosen,
            students=students,
            own=[],
        )


def _requested_week() -> dt.date:
    """Return the Monday of the week the request names, or of this week."""
    today = dt.date.today()
    text = request.args.get("week", "").strip()
    if not text:
        return monday_of(today)
    day = parse_user_date(text)
    if day is not None:
        return monday_of(day)
    flash(
        _(
            'Date "%(value)s" is invalid: give any day of the week as DD.MM.YYYY or '
            "YYYY-MM-DD. This week is shown instead.",
            value=text,
        ),
        "warning",
    )
    return monday_of(today)


def register(appbuilder) -> None:
    # The menu item's name differs from the permission name "Diary": FAB's permission
    # update deletes menu_access from a view menu that is also a view's permission name.
    appbuilder.add_view(
        DiaryView,
        "Student diary",
        label=_l("Diary"),
        category="Journal and diary",
        category_label=_l("Journal"),
    )
