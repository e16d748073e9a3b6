"""The teacher's class journal: the course list, the course grid and the lesson form."""

import datetime as dt
import logging

import pandas as pd
from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.models import Course, SchoolClass, Subject, Term, db
from app.reports.xlsx import current_school_label, frame_to_xlsx, xlsx_response
from app.security.scope import apply_scope, current_scope, scoped_get_or_404
from app.services import journal_audit
from app.services.dates import local_time
from app.services.journal import (
    JournalConflictError,
    JournalInputError,
    JournalLockedError,
    LessonForm,
    NewAssignment,
    course_grid,
    default_term,
    format_weight,
    get_lesson_or_404,
    grid_locks,
    journal_access,
    lesson_attendance,
    lesson_attendance_codes,
    lesson_form_from_lesson,
    lesson_lock,
    lesson_term,
    may_close_periods,
    may_correct_locked,
    may_write_course,
    may_write_lesson,
    open_cell,
    save_cell,
    save_lesson,
    school_assignment_types,
    school_terms,
    set_term_closed,
    student_term_average_text,
    visible_courses,
)
from app.services.journal_course import journal_course_or_404, journal_terms
from app.services.regulation import grade2_marks_notice
from app.views.journal_grid import grid_body, grid_header, grid_lines

PERMISSION = "Journal"

log = logging.getLogger(__name__)


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
        "cell_save": "write",
    }

    def _access(self):
        may_write = self.appbuilder.sm.has_access("can_write", PERMISSION)
        return journal_access(current_scope(), may_write)

    @expose("/")
    @has_access
    def courses(self):
        access = self._access()
        return self.render_template(
            "journal_courses.html",
            groups=visible_courses(access),
            access=access,
            may_close_periods=may_close_periods(access.scope),
            may_read_audit=self.appbuilder.sm.has_access("can_read", "SchoolReports"),
        )

    @expose("/course/<int:course_id>")
    @has_access
    def course(self, course_id):
        access = self._access()
        course = journal_course_or_404(access, course_id)
        terms = journal_terms(course)
        term = default_term(terms, dt.date.today())
        requested = request.args.get("term")
        if requested:
            term = next((t for t in terms if str(t.id) == requested), None)
            if term is None:
                abort(404)
        grid = course_grid(course, term, terms)
        may_write = may_write_course(access, course)
        # Locked lessons are read-only in the grid, except for those who correct them.
        may_correct = may_correct_locked(access)
        locks = grid_locks(course, grid.lessons, terms) if may_write else {}
        grade2_notice = grade2_marks_notice(course, term)
        editable = may_write and grid.gives_marks and grade2_notice is None
        return self.render_template(
            "journal_course.html",
            grid=grid,
            header=grid_header(grid, editable, locks, may_correct),
            body=grid_body(grid, grid_lines(grid, editable, locks, may_correct)),
            may_write=may_write,
            editable=editable,
            locks=locks,
            may_correct=may_correct,
            access=access,
            grade2_notice=grade2_notice,
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
            result = save_lesson(lesson, form, g.user.id, may_correct_locked(access))
        except JournalLockedError as error:
            db.session.rollback()
            return self._render_lesson(access, lesson, students, form, error.messages), 403
        except JournalInputError as error:
            db.session.rollback()
            return self._render_lesson(access, lesson, students, form, error.messages), 400
        flash(_("The lesson is saved: %(count)s changes.", count=result.changed), "success")
        for warning in result.warnings:
            flash(warning, "warning")
        if result.conflicts:
            # The other cells are saved; the page shows the current values of the cells
            # another user changed, so the user can check them and save again.
            fresh = lesson_form_from_lesson(lesson, students)
            page = self._render_lesson(
                access, lesson, students, fresh, errors=[], conflicts=result.conflicts
            )
            return page, 409
        return redirect(url_for("JournalView.lesson", lesson_id=lesson.id))

    @expose("/lesson/<int:lesson_id>/cell", methods=["POST"])
    @has_access
    def cell_save(self, lesson_id):
        """Save one mark cell of the course grid and respond with JSON.

        The body is a JSON object: ``student``, ``assignment`` (the lesson's first one when
        left out), ``value`` as typed, ``seen`` (the value the grid showed; left out, the
        concurrent-edit check is skipped, as on the lesson form) and ``term`` (whose average
        the response gives; every lesson of the course when left out).
        """
        access = self._access()
        data = request.get_json(silent=True)
        data = data if isinstance(data, dict) else {}
        cell = open_cell(
            access, lesson_id, data.get("student"), data.get("assignment"), data.get("term")
        )
        lesson, student, assignment = cell.lesson, cell.student, cell.assignment
        if not may_write_lesson(access, lesson):
            return jsonify(message=_("You may read this lesson but not change it.")), 403
        if assignment is None:
            message = _("The lesson has no assignment to mark: add one on the lesson page.")
            return jsonify(message=message), 400

        value, seen = data.get("value"), data.get("seen")
        if not isinstance(value, str) or not isinstance(seen, str | None):
            return jsonify(message=_("The cell was not saved: the request is incomplete.")), 400
        # Ids for the log lines, read before a rollback expires the rows.
        lesson_id, student_id, assignment_id = lesson.id, student.id, assignment.id
        try:
            result = save_cell(cell, value, seen, g.user.id, may_correct_locked(access))
        except JournalLockedError as error:
            db.session.rollback()
            log.info(
                "User %s: lesson %s is locked, cell of student %s not saved",
                g.user.id,
                lesson_id,
                student_id,
            )
            return jsonify(message=" ".join(error.messages)), 403
        except JournalInputError as error:
            db.session.rollback()
            return jsonify(message=" ".join(error.messages)), 400
        except JournalConflictError as error:
            # Nothing was written: the average is read before the rollback expires the
            # lesson, its course and the term.
            average = student_term_average_text(lesson.course, cell.term, student_id)
            db.session.rollback()
            log.info(
                "User %s: mark of student %s for assignment %s was changed by another user",
                g.user.id,
                student_id,
                assignment_id,
            )
            answer = jsonify(
                message=error.message,
                value=error.value,
                display=error.display,
                kind=error.kind,
                changed_by=error.changed_by,
                average=average,
            )
            return answer, 409
        return jsonify(
            value=result.value,
            display=result.display,
            kind=result.kind,
            average=result.average_text,
            changed=result.changed,
            correction=result.correction,
        )

    def _render_lesson(self, access, lesson, students, form, errors, conflicts=()):
        lock = lesson_lock(lesson)
        may_correct = may_correct_locked(access)
        may_write = may_write_lesson(access, lesson)
        return self.render_template(
            "journal_lesson.html",
            lesson=lesson,
            course=lesson.course,
            students=students,
            form=form,
            errors=errors,
            conflicts=conflicts,
            lock=lock,
            correcting=lock is not None and may_write and may_correct,
            may_write=may_write and (lock is None or not lock.closes_lesson or may_correct),
            marks_open=may_write and (lock is None or may_correct),
            grade2_notice=grade2_marks_notice(lesson.course, lesson_term(lesson)),
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
    _read_seen_values(form, lesson, students)
    return form


def _read_seen_values(form: LessonForm, lesson, students) -> None:
    """Read the hidden fields with the values the page showed; absent ones are not checked."""
    data = request.form
    for assignment in lesson.assignments:
        for student in students:
            suffix = f"{assignment.id}-{student.id}"
            seen = data.get(f"seen-mark-{suffix}")
            if seen is not None:
                form.seen_marks[(assignment.id, student.id)] = (
                    seen,
                    data.get(f"seen-comment-{suffix}", ""),
                )
    for student in students:
        seen = data.get(f"seen-attendance-{student.id}")
        if seen is not None:
            form.seen_attendance[student.id] = seen


class JournalPeriodsView(BaseView):
    """The principal closes and reopens terms; a closed term's lessons are read-only."""

    route_base = "/journal/periods"
    default_view = "periods"
    class_permission_name = PERMISSION
    method_permission_name = {"periods": "read", "period_toggle": "write"}

    @expose("/")
    @has_access
    def periods(self):
        scope = current_scope()
        if not may_close_periods(scope):
            abort(403)
        return self.render_template("journal_periods.html", terms=school_terms(scope))

    @expose("/term/<int:term_id>", methods=["POST"])
    @has_access
    def period_toggle(self, term_id):
        scope = current_scope()
        # The id is looked up first: another school's term is "not found" for every role
        # holding the journal permission, as a missing one is.
        term = scoped_get_or_404(Term, term_id, scope)
        if not may_close_periods(scope):
            abort(403)
        closed = request.form.get("action") == "close"
        if set_term_closed(term, closed, g.user.id):
            message = _("The term «%(term)s» is closed.", term=term.name)
            if not closed:
                message = _("The term «%(term)s» is reopened.", term=term.name)
            flash(message, "success")
        return redirect(url_for("JournalPeriodsView.periods"))


class JournalAuditView(BaseView):
    """«Отчёт о доступе к журналу»: every change in the journal, with filters and XLSX."""

    route_base = "/journal/audit"
    default_view = "report"
    class_permission_name = "SchoolReports"
    method_permission_name = {"report": "read", "report_xlsx": "read"}

    @expose("/")
    @has_access
    def report(self):
        scope = current_scope()
        filters, errors = journal_audit.parse_filters(scope, request.args)
        for message in errors:
            flash(message, "danger")
        page_number = request.args.get("page", "1")
        page_number = int(page_number) if page_number.isdigit() else 1
        page = journal_audit.audit_page(scope, filters, page_number)
        args = {key: value for key, value in request.args.items() if key != "page"}
        return self.render_template(
            "journal_audit.html",
            page=page,
            filters=filters,
            args=args,
            **_filter_choices(scope),
        )

    @expose("/report.xlsx")
    @has_access
    def report_xlsx(self):
        scope = current_scope()
        filters, _errors = journal_audit.parse_filters(scope, request.args)
        rows = journal_audit.audit_export_rows(scope, filters)
        columns = _audit_columns()
        frame = pd.DataFrame(
            [[getattr(row, name) for name in columns] for row in rows],
            columns=list(columns.values()),
        )
        frame[columns["is_correction"]] = frame[columns["is_correction"]].map(
            lambda flag: _("yes") if flag else ""
        )
        # Stored times are naive UTC; the file shows them in the schools' time zone, as the page.
        frame[columns["changed_at"]] = frame[columns["changed_at"]].map(local_time)
        title = _("Journal access report")
        content = frame_to_xlsx(
            [(title, frame, {columns["changed_at"]: "dd.mm.yyyy hh:mm"})],
            title,
            _describe_filters(scope, filters),
        )
        return xlsx_response(content, title, current_school_label())


def _audit_columns() -> dict[str, str]:
    """Report line attributes and their column headers, in order."""
    return {
        "changed_at": _("When"),
        "user": _("Who"),
        "address": _("Address"),
        "school_class": _("Class"),
        "subject": _("Subject"),
        "lesson": _("Lesson"),
        "student": _("Student"),
        "entity": _("Record"),
        "action": _("Change"),
        "old_value": _("Old value"),
        "new_value": _("New value"),
        "comment": _("Comment"),
        "is_correction": _("Correction of a locked entry"),
    }


def _filter_choices(scope) -> dict:
    """Classes, courses and users the report may be filtered by, scoped to the school."""
    classes = db.session.scalars(
        apply_scope(select(SchoolClass), SchoolClass, scope).order_by(
            SchoolClass.grade, SchoolClass.name
        )
    )
    courses = db.session.scalars(
        apply_scope(select(Course), Course, scope)
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .join(Subject, Subject.id == Course.subject_id)
        .order_by(SchoolClass.grade, SchoolClass.name, Subject.name)
    )
    return {
        "classes": list(classes),
        "courses": list(courses),
        "users": journal_audit.audit_users(scope),
    }


def _describe_filters(scope, filters) -> str:
    """The filters of an export in words, for the line above the header."""
    parts = []
    if filters.class_id is not None:
        parts.append(_("class %(name)s", name=db.session.get(SchoolClass, filters.class_id).name))
    if filters.course_id is not None:
        parts.append(_("course %(name)s", name=str(db.session.get(Course, filters.course_id))))
    if filters.date_from is not None:
        parts.append(_("from %(date)s", date=filters.date_from.strftime("%d.%m.%Y")))
    if filters.date_to is not None:
        parts.append(_("to %(date)s", date=filters.date_to.strftime("%d.%m.%Y")))
    if filters.user_id is not None:
        user = next(u for u in journal_audit.audit_users(scope) if u.id == filters.user_id)
        parts.append(_("user %(name)s", name=f"{user.last_name} {user.first_name}"))
    return _("Filters: %(filters)s.", filters=", ".join(parts) if parts else _("none"))


def register(appbuilder) -> None:
    appbuilder.add_view(
        JournalView,
        "Class journal",
        label=_l("Class journal"),
        category="Journal and diary",
        category_label=_l("Journal"),
    )
    appbuilder.add_view(
        JournalAuditView,
        "Journal access report",
        label=_l("Journal access report"),
        category="Journal and diary",
        category_label=_l("Journal"),
    )
    # Teachers hold the journal permission too, so the page is linked from the course
    # list for the principal only, not from the menu.
    appbuilder.add_view_no_menu(JournalPeriodsView)
