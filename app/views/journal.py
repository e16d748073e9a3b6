"""The teacher's class journal: the course list, the course grid and the lesson form."""

import datetime as dt

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.security.scope import current_scope
from app.services.journal import (
    JournalInputError,
    LessonForm,
    NewAssignment,
    course_grid,
    course_terms,
    default_term,
    format_weight,
    get_course_or_404,
    get_lesson_or_404,
    journal_access,
    lesson_attendance,
    lesson_attendance_codes,
    lesson_form_from_lesson,
    mark_title,
    may_write_course,
    may_write_lesson,
    save_lesson,
    school_assignment_types,
    visible_courses,
)

PERMISSION = "Journal"


class JournalView(BaseView):
    """Courses a session may open, their students × lessons grid, and one lesson's form."""

    route_base = "/journal"
    default_view = "courses"
    class_permission_name = PERMISSION
    method_permission_name = {
        "courses": "read",
        "course": "read",
        "lesson": "read",
        "lesson_save": "write",
    }

    def _access(self):
        may_write = self.appbuilder.sm.has_access("can_write", PERMISSION)
        return journal_access(current_scope(), may_write)

    @expose("/")
    @has_access
    def courses(self):
        access = self._access()
        return self.render_template(
            "journal_courses.html", groups=visible_courses(access), access=access
        )

    @expose("/course/<int:course_id>")
    @has_access
    def course(self, course_id):
        access = self._access()
        course = get_course_or_404(access, course_id)
        terms = course_terms(course)
        term = default_term(terms, dt.date.today())
        requested = request.args.get("term")
        if requested:
            term = next((t for t in terms if str(t.id) == requested), None)
            if term is None:
                abort(404)
        grid = course_grid(course, term, terms)
        return self.render_template(
            "journal_course.html",
            grid=grid,
            may_write=may_write_course(access, course),
            access=access,
            mark_title=mark_title,
            format_weight=format_weight,
        )

    @expose("/lesson/<int:lesson_id>", methods=["GET"])
    @has_access
    def lesson(self, lesson_id):
        access = self._access()
        lesson = get_lesson_or_404(access, lesson_id)
        students = lesson.course.students()
        form = lesson_form_from_lesson(lesson, students)
        return self._render_lesson(access, lesson, students, form, errors=[])

    @expose("/lesson/<int:lesson_id>", methods=["POST"])
    @has_access
    def lesson_save(self, lesson_id):
        access = self._access()
        lesson = get_lesson_or_404(access, lesson_id)
        if not may_write_lesson(access, lesson):
            abort(403)
        students = lesson.course.students()
        form = _lesson_form_from_request(lesson, students)
        try:
            changed = save_lesson(lesson, form, g.user.id)
        except JournalInputError as error:
            return self._render_lesson(access, lesson, students, form, error.messages), 400
        flash(_("The lesson is saved: %(count)s changes.", count=changed), "success")
        return redirect(url_for("JournalView.lesson", lesson_id=lesson.id))

    def _render_lesson(self, access, lesson, students, form, errors):
        return self.render_template(
            "journal_lesson.html",
            lesson=lesson,
            course=lesson.course,
            students=students,
            form=form,
            errors=errors,
            may_write=may_write_lesson(access, lesson),
            assignment_types=school_assignment_types(lesson.school_id),
            attendance_codes=lesson_attendance_codes(lesson.school_id),
            stored_attendance=lesson_attendance(lesson),
            format_weight=format_weight,
        )


def _lesson_form_from_request(lesson, students) -> LessonForm:
    """Read the lesson form's fields for this lesson's assignments and students only."""
    data = request.form
    form = LessonForm(
        topic=data.get("topic", ""),
        new_assignment=NewAssignment(
            type_id=data.get("new_type", ""),
            weight=data.get("new_weight", ""),
            text=data.get("new_text", ""),
            due_date=data.get("new_due", ""),
        ),
    )
    for assignment in lesson.assignments:
        for student in students:
            key = (assignment.id, student.id)
            form.marks[key] = data.get(f"mark-{assignment.id}-{student.id}", "")
            form.comments[key] = data.get(f"comment-{assignment.id}-{student.id}", "")
    for student in students:
        form.attendance[student.id] = data.get(f"attendance-{student.id}", "")
    return form


def register(appbuilder) -> None:
    appbuilder.add_view(
        JournalView,
        "Class journal",
        label=_l("Class journal"),
        category="Journal and diary",
        category_label=_l("Journal"),
    )
