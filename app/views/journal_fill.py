"""«Контроль заполнения журнала»: the principal's page of lessons with gaps, and its XLSX."""

import datetime as dt

import pandas as pd
from flask import abort, flash, request
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.reports.xlsx import (
    DATE,
    INTEGER,
    PERCENT_1,
    current_school_label,
    frame_to_xlsx,
    xlsx_response,
)
from app.security.manager import school_only_menu
from app.security.scope import current_scope
from app.services import journal_fill
from app.services.journal_fill import Filters

PERMISSION = "SchoolReports"

#: The query parameters the page and its download keep between them.
FILTER_ARGS = ("term", "date_from", "date_to", "class", "teacher")


class JournalFillView(BaseView):
    """Counts of held lessons without a topic, attendance or marks, per teacher and class."""

    route_base = "/journal-fill"
    default_view = "report"
    class_permission_name = PERMISSION
    method_permission_name = {"report": "read", "report_xlsx": "read"}

    @expose("/")
    @has_access
    def report(self):
        scope, today, filters = _request_filters()
        for message in filters.errors:
            flash(message, "danger")
        shows_lessons = filters.school_class is not None or filters.teacher is not None
        lessons = journal_fill.gap_lessons(scope, filters, today) if shows_lessons else []
        class_rows = journal_fill.by_class(scope, filters, today)
        args = {key: request.args[key] for key in FILTER_ARGS if request.args.get(key)}
        return self.render_template(
            "journal_fill.html",
            filters=filters,
            period_end=min(filters.date_to, today),
            args=args,
            terms=journal_fill.year_terms(scope, journal_fill.current_year(scope, today)),
            total=journal_fill.totals(class_rows),
            teacher_rows=journal_fill.by_teacher(scope, filters, today),
            class_rows=class_rows,
            lessons=lessons,
            shows_lessons=shows_lessons,
            lesson_limit=journal_fill.LESSON_LIST_LIMIT,
            **journal_fill.school_choices(scope),
        )

    @expose("/report.xlsx")
    @has_access
    def report_xlsx(self):
        scope, today, filters = _request_filters()
        title = _("Journal fill control")
        description = _describe(filters, today)
        frames = [
            (
                _("By teacher"),
                *_counts_frame(journal_fill.by_teacher(scope, filters, today), _("Teacher")),
            ),
            (
                _("By class"),
                *_counts_frame(journal_fill.by_class(scope, filters, today), _("Class")),
            ),
            (_("Lessons"), *_lessons_frame(journal_fill.gap_lessons(scope, filters, today, None))),
        ]
        content = frame_to_xlsx(frames, title, description)
        file_name = _(
            "Journal fill %(start)s-%(end)s",
            start=filters.date_from.strftime("%d.%m.%Y"),
            end=min(filters.date_to, today).strftime("%d.%m.%Y"),
        )
        return xlsx_response(content, file_name, current_school_label())


def _request_filters() -> tuple:
    """Read the session's school scope, today and the filters. Outside a school, abort with 404."""
    scope = current_scope()
    if scope is None or scope.level != "school":
        # The report covers one school. The authority has its own summaries.
        abort(404)
    today = dt.date.today()
    return scope, today, journal_fill.parse_filters(scope, request.args, today)


def _describe(filters: Filters, today: dt.date) -> str:
    """Describe the period and filters of an export, for the line above the header."""
    parts = [
        _(
            "Lessons held from %(start)s to %(end)s",
            start=filters.date_from.strftime("%d.%m.%Y"),
            end=min(filters.date_to, today).strftime("%d.%m.%Y"),
        )
    ]
    if filters.term is not None:
        parts.append(_("term %(term)s", term=str(filters.term)))
    if filters.school_class is not None:
        parts.append(_("class %(name)s", name=filters.school_class.name))
    if filters.teacher is not None:
        parts.append(_("teacher %(name)s", name=filters.teacher.short_name))
    return ", ".join(parts) + "."


def _counts_frame(rows, name: str) -> tuple[pd.DataFrame, dict[str, str]]:
    held, markable = _("Lessons held"), _("Lessons of courses with marks")
    no_topic, no_attendance, no_marks = (
        _("Without a topic"),
        _("Without attendance entries"),
        _("Without marks"),
    )
    shares = {
        no_topic: _("Without a topic, %"),
        no_attendance: _("Without attendance entries, %"),
        no_marks: _("Without marks, %"),
    }
    records = [
        {
            name: row.name,
            held: row.held,
            markable: row.markable,
            no_topic: row.no_topic,
            shares[no_topic]: row.no_topic_share,
            no_attendance: row.no_attendance,
            shares[no_attendance]: row.no_attendance_share,
            no_marks: row.no_marks,
            shares[no_marks]: row.no_marks_share,
        }
        for row in rows
    ]
    columns = [name, held, markable, no_topic, shares[no_topic], no_attendance]
    columns += [shares[no_attendance], no_marks, shares[no_marks]]
    formats = {column: INTEGER for column in (held, markable, no_topic, no_attendance, no_marks)}
    formats.update({column: PERCENT_1 for column in shares.values()})
    return pd.DataFrame(records, columns=columns), formats


def _lessons_frame(lessons) -> tuple[pd.DataFrame, dict[str, str]]:
    date, number = _("Date"), _("Lesson number")
    mark = _("yes")
    records = [
        {
            date: lesson.date,
            number: lesson.lesson_number,
            _("Class"): lesson.school_class,
            _("Subject"): lesson.subject,
            _("Teacher"): lesson.teachers,
            _("Without a topic"): mark if lesson.no_topic else "",
            _("Without attendance entries"): mark if lesson.no_attendance else "",
            _("Without marks"): mark if lesson.no_marks else "",
        }
        for lesson in lessons
    ]
    columns = [date, number, _("Class"), _("Subject"), _("Teacher")]
    columns += [_("Without a topic"), _("Without attendance entries"), _("Without marks")]
    return pd.DataFrame(records, columns=columns), {date: DATE, number: INTEGER}


def register(appbuilder) -> None:
    school_only_menu("Journal fill control")
    # The menu name differs from the permission name "SchoolReports" (FAB drops
    # menu_access from a view menu that is also a permission name).
    appbuilder.add_view(
        JournalFillView,
        "Journal fill control",
        label=_l("Journal fill control"),
        category="Journal and diary",
        category_label=_l("Journal"),
    )
