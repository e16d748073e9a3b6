"""The thematic plan of a course (КТП) and the «выполнение программы» report."""

import datetime as dt

import pandas as pd
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from app.models import PlanItem, db
from app.reports.xlsx import INTEGER, PERCENT_1, current_school_label, frame_to_xlsx, xlsx_response
from app.security.manager import school_only_menu
from app.security.scope import current_scope, scoped_get_or_404
from app.services import programme, thematic_plan
from app.services.journal import get_course_or_404, journal_access, may_write_course
from app.services.thematic_plan import PlanError, PlanItemForm

JOURNAL_PERMISSION = "Journal"
REPORT_PERMISSION = "ProgrammeReport"

#: The query parameters the report page and its download keep between them.
FILTER_ARGS = ("date_from", "date_to", "class", "subject", "teacher")


class ThematicPlanView(BaseView):
    """A course's plan: teachers of the course and the principal edit, other readers read."""

    route_base = "/journal/plan"
    default_view = "template_xlsx"
    class_permission_name = JOURNAL_PERMISSION
    method_permission_name = {
        "plan": "read",
        "plan_xlsx": "read",
        "template_xlsx": "read",
        "item_add": "write",
        "item_save": "write",
        "item_delete": "write",
        "item_move": "write",
        "plan_import": "write",
        "prefill": "write",
    }

    def _access(self):
        may_write = self.appbuilder.sm.has_access("can_write", JOURNAL_PERMISSION)
        return journal_access(current_scope(), may_write)

    def _writable_course(self, course_id):
        """Load a course the session may change the plan of; 404 or 403 otherwise."""
        access = self._access()
        course = get_course_or_404(access, course_id)
        if not may_write_course(access, course):
            abort(403)
        return course

    def _writable_item(self, plan_item_id):
        access = self._access()
        item = scoped_get_or_404(PlanItem, plan_item_id, access.scope)
        course = get_course_or_404(access, item.course_id)
        if not may_write_course(access, course):
            abort(403)
        return item

    @expose("/<int:course_id>")
    @has_access
    def plan(self, course_id):
        access = self._access()
        course = get_course_or_404(access, course_id)
        return self._render(course, may_write_course(access, course))

    def _render(self, course, may_write, errors=(), new_form=None, edited=None, status=200):
        items = thematic_plan.course_plan(course)
        page = self.render_template(
            "thematic_plan.html",
            course=course,
            items=items,
            total_hours=thematic_plan.format_hours(thematic_plan.total_hours(items)),
            without_topic=thematic_plan.lessons_without_topic(course),
            may_write=may_write,
            errors=errors,
            new_form=new_form or PlanItemForm(),
            edited=edited or {},
            format_hours=thematic_plan.format_hours,
        )
        return page, status

    @expose("/<int:course_id>/items", methods=["POST"])
    @has_access
    def item_add(self, course_id):
        course = self._writable_course(course_id)
        form = _item_form()
        try:
            thematic_plan.add_item(course, form, g.user.id)
        except PlanError as error:
            db.session.rollback()
            return self._render(course, True, error.messages, new_form=form, status=400)
        flash(_("The topic is added to the plan."), "success")
        return redirect(url_for("ThematicPlanView.plan", course_id=course.id))

    @expose("/item/<int:plan_item_id>", methods=["POST"])
    @has_access
    def item_save(self, plan_item_id):
        item = self._writable_item(plan_item_id)
        form = _item_form()
        try:
            thematic_plan.update_item(item, form, g.user.id)
        except PlanError as error:
            db.session.rollback()
            course = item.course
            return self._render(course, True, error.messages, edited={item.id: form}, status=400)
        flash(_("Topic %(position)s is saved.", position=item.position), "success")
        return redirect(url_for("ThematicPlanView.plan", course_id=item.course_id))

    @expose("/item/<int:plan_item_id>/delete", methods=["POST"])
    @has_access
    def item_delete(self, plan_item_id):
        item = self._writable_item(plan_item_id)
        course_id = item.course_id
        thematic_plan.delete_item(item, g.user.id)
        flash(_("The topic is deleted from the plan."), "success")
        return redirect(url_for("ThematicPlanView.plan", course_id=course_id))

    @expose("/item/<int:plan_item_id>/move", methods=["POST"])
    @has_access
    def item_move(self, plan_item_id):
        item = self._writable_item(plan_item_id)
        direction = request.form.get("direction")
        if direction not in ("up", "down"):
            abort(400)
        target = item.position - 1 if direction == "up" else item.position + 1
        thematic_plan.move_item(item, target, g.user.id)
        return redirect(url_for("ThematicPlanView.plan", course_id=item.course_id))

    @expose("/<int:course_id>/import", methods=["POST"])
    @has_access
    def plan_import(self, course_id):
        course = self._writable_course(course_id)
        upload = request.files.get("file")
        mode = request.form.get("mode", "")
        try:
            if upload is None:
                raise PlanError([_("Choose an XLSX file with the plan.")])
            result = thematic_plan.import_plan(
                course, upload.stream, upload.filename, mode, g.user.id
            )
        except PlanError as error:
            db.session.rollback()
            messages = [_("The plan was not imported; fix the file and upload it again.")]
            return self._render(course, True, messages + list(error.messages), status=400)
        flash(
            ngettext(
                "The plan is imported: %(num)d topic.",
                "The plan is imported: %(num)d topics.",
                result.added,
            ),
            "success",
        )
        return redirect(url_for("ThematicPlanView.plan", course_id=course.id))

    @expose("/<int:course_id>/prefill", methods=["POST"])
    @has_access
    def prefill(self, course_id):
        course = self._writable_course(course_id)
        overwrite = request.form.get("overwrite") == "1"
        count = thematic_plan.prefill_topics(course, overwrite, g.user.id)
        flash(
            ngettext(
                "%(num)d lesson got its topic from the plan.",
                "%(num)d lessons got their topics from the plan.",
                count,
            ),
            "success",
        )
        return redirect(url_for("ThematicPlanView.plan", course_id=course.id))

    @expose("/<int:course_id>/plan.xlsx")
    @has_access
    def plan_xlsx(self, course_id):
        course = get_course_or_404(self._access(), course_id)
        content = thematic_plan.plan_xlsx(course, thematic_plan.course_plan(course))
        return xlsx_response(content, _("Thematic plan"), str(course))

    @expose("/template.xlsx")
    @has_access
    def template_xlsx(self):
        return xlsx_response(thematic_plan.template_xlsx(), _("Thematic plan template"))


def _item_form() -> PlanItemForm:
    data = request.form
    return PlanItemForm(
        topic=data.get("topic", ""),
        hours=data.get("hours", ""),
        planned_date=data.get("planned_date", ""),
        section=data.get("section", ""),
        position=data.get("position", ""),
    )


class ProgrammeReportView(BaseView):
    """Planned against given hours: every course for the principal, own ones for a teacher."""

    route_base = "/journal/programme"
    default_view = "report"
    class_permission_name = REPORT_PERMISSION
    method_permission_name = {"report": "read", "report_xlsx": "read"}

    @expose("/")
    @has_access
    def report(self):
        access, today, filters = _report_request()
        for message in filters.errors:
            flash(message, "danger")
        args = {key: request.args[key] for key in FILTER_ARGS if request.args.get(key)}
        return self.render_template(
            "programme.html",
            rows=programme.programme_rows(access, filters, today),
            filters=filters,
            period_end=filters.period_end(today),
            args=args,
            format_hours=thematic_plan.format_hours,
            **programme.school_choices(access.scope),
        )

    @expose("/report.xlsx")
    @has_access
    def report_xlsx(self):
        access, today, filters = _report_request()
        rows = programme.programme_rows(access, filters, today)
        title = _("Programme completion")
        frame, formats = _report_frame(rows)
        content = frame_to_xlsx(
            [(title, frame, formats)], title, programme.describe_filters(filters, today)
        )
        file_name = _(
            "Programme completion %(start)s-%(end)s",
            start=filters.date_from.strftime("%d.%m.%Y"),
            end=filters.period_end(today).strftime("%d.%m.%Y"),
        )
        return xlsx_response(content, file_name, current_school_label())


def _report_request():
    """Read the session's journal rights, today and the filters; outside a school, 404."""
    scope = current_scope()
    if scope is None or scope.level != "school":
        # The report covers one school's courses.
        abort(404)
    today = dt.date.today()
    access = journal_access(scope, may_write=False)
    return access, today, programme.parse_filters(scope, request.args, today)


def _report_frame(rows) -> tuple[pd.DataFrame, dict[str, str]]:
    planned, given, lag = _("Planned, h"), _("Given, h"), _("Lag, h")
    share, year_total = _("Completed"), _("Year plan, h")
    columns = [_("Class"), _("Subject"), _("Teachers"), planned, given, lag, share, year_total]
    columns.append(_("Plan source"))
    data = [
        [
            row.school_class,
            row.subject,
            row.teachers,
            float(row.planned),
            row.given,
            float(row.lag),
            row.share,
            float(row.year_total),
            _("thematic plan") if row.has_plan else _("no plan: hours a week × weeks"),
        ]
        for row in rows
    ]
    formats = {
        planned: "0.0",
        given: INTEGER,
        lag: "0.0",
        share: PERCENT_1,
        year_total: "0.0",
    }
    return pd.DataFrame(data, columns=columns), formats


def register(appbuilder) -> None:
    school_only_menu("Programme completion")
    appbuilder.add_view_no_menu(ThematicPlanView)
    appbuilder.add_view(
        ProgrammeReportView,
        "Programme completion",
        label=_l("Programme completion"),
        category="Journal and diary",
        category_label=_l("Journal"),
    )
