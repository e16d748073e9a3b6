"""Generated CRUD screens and REST APIs over the core school records.

Each feature has one permission name shared by its screen and its API (see
``app.security.roles``); the classes below only say which columns show and how.
"""

from flask import flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.models.sqla.filters import FilterEqualFunction
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from wtforms.validators import ValidationError

from app.errors import DomainError
from app.models import (
    AcademicYear,
    Assignment,
    AssignmentType,
    Attendance,
    AttendanceCode,
    BellSchedule,
    Course,
    CurriculumHours,
    Employee,
    FinalMark,
    Guardian,
    Holiday,
    Lesson,
    Mark,
    Room,
    SchoolClass,
    Student,
    StudentDocument,
    StudyGroup,
    Subject,
    SubjectDifficulty,
    Term,
    TimetableEntry,
    Vacation,
    course_teacher,
)
from app.models.base import db
from app.security.roles import ALL_STUDENTS_ROLES, METHOD_PERMISSIONS
from app.security.scope import current_scope
from app.services.contacts import check_email, normalise_russian_phone
from app.services.people_import.values import BadValue, parse_snils
from app.services.personal_file import check_document
from app.services.record_audit import audit_record_write
from app.services.timetable_conflicts import reject_conflicting_entry
from app.services.timetable_health import fill_default_difficulty
from app.views.base import SafeSQLAInterface, SchoolModelApi, SchoolModelView
from app.views.labels import LABELS


def _interface(model):
    return SafeSQLAInterface(model, db.session)


class _Labelled:
    label_columns = LABELS


# --- Teacher's row rule for students -------------------------------------------


def _taught_student_ids() -> list[int] | None:
    """Ids of students a teacher-only session may list; None when the role sees all."""
    scope = current_scope()
    if scope is None or scope.has_role(*ALL_STUDENTS_ROLES) or scope.level != "school":
        return None
    employee_ids = select(Employee.id).where(
        Employee.school_id == scope.school_id, Employee.user_id == scope.user_id
    )
    taught_classes = (
        select(Course.class_id)
        .join(course_teacher, course_teacher.c.course_id == Course.id)
        .where(course_teacher.c.employee_id.in_(employee_ids))
    )
    led_classes = select(SchoolClass.id).where(SchoolClass.class_teacher_id.in_(employee_ids))
    statement = select(Student.id).where(
        Student.school_id == scope.school_id,
        or_(Student.class_id.in_(taught_classes), Student.class_id.in_(led_classes)),
    )
    return list(db.session.scalars(statement))


class _TaughtStudentsFilter(FilterEqualFunction):
    """Keeps a teacher's student list to the classes the teacher teaches or leads."""

    def apply(self, query, func):
        ids = func()
        if ids is None:
            return query
        return query.filter(self.model.id.in_(ids or [-1]))


# --- School settings -------------------------------------------------------------


class AcademicYearView(_Labelled, SchoolModelView):
    datamodel = _interface(AcademicYear)
    class_permission_name = "AcademicYears"
    route_base = "/years"
    list_columns = ["name", "start_date", "end_date", "is_closed"]
    add_columns = edit_columns = ["name", "start_date", "end_date", "is_closed"]
    order_columns = ["name", "start_date"]
    base_order = ("start_date", "desc")


class TermView(_Labelled, SchoolModelView):
    datamodel = _interface(Term)
    class_permission_name = "Terms"
    route_base = "/terms"
    list_columns = [
        "year",
        "name",
        "kind",
        "grade_from",
        "grade_to",
        "start_date",
        "end_date",
        "is_closed",
    ]
    add_columns = edit_columns = [
        "year",
        "kind",
        "number",
        "name",
        "grade_from",
        "grade_to",
        "start_date",
        "end_date",
        "is_closed",
    ]
    search_columns = ["name", "kind", "start_date"]
    base_order = ("start_date", "asc")


class VacationView(_Labelled, SchoolModelView):
    datamodel = _interface(Vacation)
    class_permission_name = "Vacations"
    route_base = "/vacations"
    list_columns = ["year", "name", "start_date", "end_date", "classes"]
    add_columns = edit_columns = ["year", "name", "start_date", "end_date", "classes"]
    search_columns = ["name", "start_date"]
    base_order = ("start_date", "asc")


class HolidayView(_Labelled, SchoolModelView):
    datamodel = _interface(Holiday)
    class_permission_name = "Holidays"
    route_base = "/holidays"
    list_columns = ["date", "name", "is_working_day"]
    add_columns = edit_columns = ["date", "name", "is_working_day"]
    search_columns = ["name", "date"]
    base_order = ("date", "asc")


class BellScheduleView(_Labelled, SchoolModelView):
    datamodel = _interface(BellSchedule)
    class_permission_name = "BellSchedules"
    route_base = "/bell-schedules"
    list_columns = ["name", "shift", "grade_from", "grade_to", "weekday", "periods"]
    add_columns = edit_columns = [
        "name",
        "shift",
        "grade_from",
        "grade_to",
        "weekday",
        "valid_from",
        "valid_to",
    ]
    show_columns = add_columns + ["periods"]
    search_columns = ["name", "shift"]


class AssignmentTypeView(_Labelled, SchoolModelView):
    datamodel = _interface(AssignmentType)
    class_permission_name = "AssignmentTypes"
    route_base = "/assignment-types"
    list_columns = [
        "name",
        "short_name",
        "default_weight",
        "is_homework",
        "is_assessment_procedure",
    ]
    add_columns = edit_columns = list_columns
    search_columns = ["name"]
    base_order = ("name", "asc")


class AttendanceCodeView(_Labelled, SchoolModelView):
    datamodel = _interface(AttendanceCode)
    class_permission_name = "AttendanceCodes"
    route_base = "/attendance-codes"
    list_columns = ["code", "name", "kind", "is_excused", "counts_as_present"]
    add_columns = edit_columns = list_columns
    search_columns = ["code", "name"]


class RoomView(_Labelled, SchoolModelView):
    datamodel = _interface(Room)
    class_permission_name = "Rooms"
    route_base = "/rooms"
    list_columns = ["name", "capacity", "floor", "equipment"]
    add_columns = edit_columns = list_columns
    search_columns = ["name"]
    base_order = ("name", "asc")


# --- Educational process -----------------------------------------------------------


class SubjectView(_Labelled, SchoolModelView):
    datamodel = _interface(Subject)
    class_permission_name = "Subjects"
    route_base = "/subjects"
    list_columns = ["name", "short_name", "parent"]
    add_columns = edit_columns = ["name", "short_name", "parent"]
    search_columns = ["name"]
    base_order = ("name", "asc")


def _check_grade(_form, field) -> None:
    if field.data is not None and not 1 <= field.data <= 11:
        raise ValidationError(
            _("Grade %(value)s is invalid: enter a grade from 1 to 11.", value=field.data)
        )


def _check_grade_order(form, field) -> None:
    first = form.grade_from.data
    if first is not None and field.data is not None and first > field.data:
        raise ValidationError(
            _(
                "The last grade %(last)s is below the first grade %(first)s: enter a last "
                "grade from %(first)s to 11.",
                last=field.data,
                first=first,
            )
        )


def _check_points(_form, field) -> None:
    if field.data is not None and not 0 <= field.data <= 20:
        raise ValidationError(
            _("Points %(value)s are invalid: enter a number from 0 to 20.", value=field.data)
        )


class SubjectDifficultyView(_Labelled, SchoolModelView):
    """The school's subject difficulty scale, read by the health check of the template."""

    datamodel = _interface(SubjectDifficulty)
    class_permission_name = "SubjectDifficulty"
    route_base = "/subject-difficulty"
    method_permission_name = {**METHOD_PERMISSIONS, "fill_defaults": "write"}
    list_template = "subject_difficulty_list.html"
    list_columns = ["subject_name", "grade_from", "grade_to", "points"]
    add_columns = edit_columns = list_columns
    validators_columns = {
        "grade_from": [_check_grade],
        "grade_to": [_check_grade, _check_grade_order],
        "points": [_check_points],
    }
    search_columns = ["subject_name", "grade_from"]
    base_order = ("grade_from", "asc")

    @expose("/fill-defaults", methods=["POST"])
    @has_access
    def fill_defaults(self):
        scope = current_scope()
        if scope is None or scope.level != "school":
            flash(_("Open a school first: choose it in the organisation menu."), "warning")
            return redirect(url_for(".list"))
        added = fill_default_difficulty(scope.school_id, g.user.id)
        db.session.commit()
        flash(_("Default points added: %(count)s.", count=added), "success")
        return redirect(url_for(".list"))


class SchoolClassView(_Labelled, SchoolModelView):
    datamodel = _interface(SchoolClass)
    class_permission_name = "SchoolClasses"
    route_base = "/classes"
    list_columns = ["name", "year", "class_teacher", "shift", "six_day_week", "room"]
    add_columns = edit_columns = [
        "year",
        "grade",
        "letter",
        "name",
        "class_teacher",
        "shift",
        "six_day_week",
        "is_special_needs",
        "room",
    ]
    search_columns = ["name", "grade"]
    base_order = ("grade", "asc")


class StudyGroupView(_Labelled, SchoolModelView):
    datamodel = _interface(StudyGroup)
    class_permission_name = "StudyGroups"
    # FAB's own user-group screen already owns /groups.
    route_base = "/study-groups"
    list_columns = ["name", "school_class", "year"]
    add_columns = edit_columns = ["year", "name", "school_class", "students"]
    search_columns = ["name"]


class CurriculumHoursView(_Labelled, SchoolModelView):
    datamodel = _interface(CurriculumHours)
    class_permission_name = "CurriculumHours"
    route_base = "/curriculum"
    list_columns = ["subject", "grade", "school_class", "hours_per_week", "year"]
    add_columns = edit_columns = ["year", "subject", "grade", "school_class", "hours_per_week"]
    search_columns = ["grade"]
    base_order = ("grade", "asc")


class CourseView(_Labelled, SchoolModelView):
    datamodel = _interface(Course)
    class_permission_name = "Courses"
    route_base = "/courses"
    list_columns = [
        "subject",
        "school_class",
        "group",
        "teachers",
        "kind",
        "assessment",
        "hours_per_week",
    ]
    add_columns = edit_columns = [
        "year",
        "subject",
        "school_class",
        "group",
        "teachers",
        "kind",
        "assessment",
        "hours_per_week",
    ]
    search_columns = ["kind", "assessment"]


class _ConflictChecked:
    """Hooks that reject a template line with conflicts, which only the editor may save.

    FAB redirects after any error raised in ``pre_add`` or ``pre_update``, so the typed
    values would be lost. Here the form is shown again with the message instead.
    """

    def pre_add(self, item):
        super().pre_add(item)
        self._reject_keeping_form(item)

    def pre_update(self, item):
        super().pre_update(item)
        self._reject_keeping_form(item)

    @staticmethod
    def _reject_keeping_form(item):
        try:
            reject_conflicting_entry(item)
        except DomainError:
            g.keep_form = True
            raise

    def _add(self):
        widget = super()._add()
        if widget is None and g.pop("keep_form", False):
            db.session.rollback()
            form = self.add_form.refresh()
            form.validate()
            return self._get_add_widget(form=form, exclude_cols=self._filters.get_relation_cols())
        return widget

    def _edit(self, pk):
        widgets = super()._edit(pk)
        if widgets is None and g.pop("keep_form", False):
            db.session.rollback()
            form = self.edit_form.refresh(request.form)
            form._id = pk
            form.validate()
            return self._get_edit_widget(form=form, exclude_cols=self._filters.get_relation_cols())
        return widgets


def _check_weekday(form, field) -> None:
    """Reject a day outside the class's week: Monday to Friday, or to Saturday."""
    if field.data is None:
        return
    course = form.course.data if hasattr(form, "course") else None
    school_class = course.school_class if course is not None else None
    last = 6 if school_class is None or school_class.six_day_week else 5
    if not 1 <= field.data <= last:
        raise ValidationError(
            _(
                "The day %(value)s is not a day of the class's week: choose a day from "
                "1 (Monday) to %(last)s.",
                value=field.data,
                last=last,
            )
        )


def _check_lesson_number(_form, field) -> None:
    if field.data is not None and not 0 <= field.data <= 12:
        raise ValidationError(
            _(
                "Lesson number %(value)s is out of range: enter a number from 0 to 12.",
                value=field.data,
            )
        )


class TimetableEntryView(_ConflictChecked, _Labelled, SchoolModelView):
    datamodel = _interface(TimetableEntry)
    class_permission_name = "TimetableEntries"
    route_base = "/timetable-entries"
    list_columns = ["course", "weekday", "lesson_number", "room", "week_parity"]
    add_columns = edit_columns = [
        "course",
        "weekday",
        "lesson_number",
        "room",
        "week_parity",
        "valid_from",
        "valid_to",
    ]
    validators_columns = {"weekday": [_check_weekday], "lesson_number": [_check_lesson_number]}
    search_columns = ["weekday", "lesson_number"]


class LessonView(_Labelled, SchoolModelView):
    datamodel = _interface(Lesson)
    class_permission_name = "Lessons"
    route_base = "/lessons"
    list_columns = [
        "date",
        "lesson_number",
        "course",
        "room",
        "topic",
        "substitute",
        "is_cancelled",
    ]
    add_columns = edit_columns = [
        "course",
        "date",
        "lesson_number",
        "room",
        "topic",
        "substitute",
        "is_cancelled",
        "cancel_reason",
    ]
    search_columns = ["date", "topic"]
    base_order = ("date", "desc")


# --- People -----------------------------------------------------------------------------

_PERSON = ["last_name", "first_name", "middle_name"]


def _check_snils(_form, field) -> None:
    """Check a typed СНИЛС and store it as the import does: «123-456-789 01»."""
    if not (field.data or "").strip():
        field.data = None
        return
    try:
        field.data = parse_snils(field.data)
    except BadValue as error:
        raise ValidationError(str(error)) from None


_SNILS_VALIDATORS = {"snils": [_check_snils]}


def _check_phone(_form, field) -> None:
    """Check a typed Russian phone number and store it as +7XXXXXXXXXX."""
    try:
        field.data = normalise_russian_phone(field.data)
    except DomainError as error:
        raise ValidationError(str(error)) from None


def _check_email(_form, field) -> None:
    try:
        field.data = check_email(field.data)
    except DomainError as error:
        raise ValidationError(str(error)) from None


class EmployeeView(_Labelled, SchoolModelView):
    datamodel = _interface(Employee)
    class_permission_name = "Employees"
    route_base = "/employees"
    list_columns = _PERSON + ["position", "phone", "is_active"]
    add_columns = edit_columns = _PERSON + [
        "position",
        "birth_date",
        "sex",
        "snils",
        "email",
        "phone",
        "is_active",
    ]
    validators_columns = _SNILS_VALIDATORS
    search_columns = ["last_name", "first_name", "position"]
    base_order = ("last_name", "asc")


class StudentView(_Labelled, SchoolModelView):
    datamodel = _interface(Student)
    class_permission_name = "Students"
    route_base = "/students"
    base_filters = [["id", _TaughtStudentsFilter, _taught_student_ids]]
    list_columns = _PERSON + ["school_class", "birth_date", "is_active"]
    # The class and whether the student is at school change only through admission,
    # transfer and departure (the «Движение учащихся» pages), which record their orders.
    add_columns = edit_columns = _PERSON + [
        "sex",
        "birth_date",
        "personal_file_number",
        "snils",
        "phone",
        "email",
    ]
    show_template = "movement_student_show.html"
    show_columns = _PERSON + [
        "sex",
        "birth_date",
        "school_class",
        "personal_file_number",
        "snils",
        "phone",
        "email",
        "is_active",
    ]
    validators_columns = {
        **_SNILS_VALIDATORS,
        "phone": [_check_phone],
        "email": [_check_email],
    }
    search_columns = ["last_name", "first_name", "personal_file_number"]
    base_order = ("last_name", "asc")


class GuardianView(_Labelled, SchoolModelView):
    datamodel = _interface(Guardian)
    class_permission_name = "Guardians"
    route_base = "/guardians"
    list_columns = _PERSON + ["kind", "student", "phone", "is_barred"]
    add_columns = edit_columns = _PERSON + [
        "kind",
        "student",
        "snils",
        "phone",
        "email",
        "is_barred",
    ]
    validators_columns = _SNILS_VALIDATORS
    search_columns = ["last_name", "first_name"]
    base_order = ("last_name", "asc")


class StudentDocumentView(_Labelled, SchoolModelView):
    """Documents of a student's personal file, opened from the student's card."""

    datamodel = _interface(StudentDocument)
    class_permission_name = "StudentDocuments"
    route_base = "/student-documents"
    label_columns = {**LABELS, "kind": _l("Document"), "note": _l("Remark")}
    list_columns = ["student", "kind", "series", "number", "issue_date"]
    add_columns = edit_columns = [
        "student",
        "kind",
        "series",
        "number",
        "issued_by",
        "issue_date",
        "note",
    ]
    search_columns = ["student", "kind", "number"]
    base_order = ("issue_date", "desc")

    def pre_add(self, item):
        super().pre_add(item)
        check_document(item)

    def pre_update(self, item):
        super().pre_update(item)
        check_document(item)


# --- REST APIs --------------------------------------------------------------------------


def _acting_user_id() -> int | None:
    scope = current_scope()
    return scope.user_id if scope is not None else None


class AuditedRecordApi(SchoolModelApi):
    """A REST API over marks, attendance or final marks: each write leaves an audit row."""

    def pre_add(self, item):
        super().pre_add(item)
        audit_record_write(item, "create", _acting_user_id())

    def pre_update(self, item):
        super().pre_update(item)
        audit_record_write(item, "change", _acting_user_id())

    def pre_delete(self, item):
        super().pre_delete(item)
        audit_record_write(item, "delete", _acting_user_id())


def _api(model, permission, resource, columns, base=SchoolModelApi):
    """Build a scoped REST API class for one model under one permission name."""
    attrs = {
        "datamodel": _interface(model),
        "class_permission_name": permission,
        "resource_name": resource,
        "list_columns": ["id"] + columns,
        "show_columns": ["id"] + columns,
        "add_columns": columns,
        "edit_columns": columns,
        "label_columns": LABELS,
    }
    return type(f"{model.__name__}Api", (base,), attrs)


REST_APIS = [
    _api(
        AcademicYear,
        "AcademicYears",
        "academic_year",
        ["name", "start_date", "end_date", "is_closed"],
    ),
    _api(
        Term,
        "Terms",
        "term",
        ["year_id", "kind", "number", "name", "start_date", "end_date", "grade_from", "grade_to"],
    ),
    _api(Subject, "Subjects", "subject", ["name", "short_name", "parent_id"]),
    _api(Room, "Rooms", "room", ["name", "capacity", "floor", "equipment"]),
    _api(
        SchoolClass,
        "SchoolClasses",
        "school_class",
        ["year_id", "grade", "letter", "name", "class_teacher_id", "shift"],
    ),
    _api(StudyGroup, "StudyGroups", "study_group", ["year_id", "name", "class_id"]),
    _api(
        Course,
        "Courses",
        "course",
        [
            "year_id",
            "subject_id",
            "class_id",
            "group_id",
            "kind",
            "assessment",
            "hours_per_week",
            "teachers",
        ],
    ),
    _api(Employee, "Employees", "employee", _PERSON + ["position", "email", "phone", "is_active"]),
    _api(Student, "Students", "student", _PERSON + ["sex", "birth_date", "class_id", "is_active"]),
    _api(
        Guardian,
        "Guardians",
        "guardian",
        _PERSON + ["kind", "student_id", "phone", "email", "is_barred"],
    ),
    _api(
        TimetableEntry,
        "TimetableEntries",
        "timetable_entry",
        ["course_id", "weekday", "lesson_number", "room_id", "week_parity"],
        base=type("TimetableEntryApiBase", (_ConflictChecked, SchoolModelApi), {}),
    ),
    _api(
        Lesson,
        "Lessons",
        "lesson",
        ["course_id", "date", "lesson_number", "room_id", "topic", "is_cancelled"],
    ),
    _api(
        AssignmentType,
        "AssignmentTypes",
        "assignment_type",
        ["name", "short_name", "default_weight", "is_homework"],
    ),
    _api(
        AttendanceCode,
        "AttendanceCodes",
        "attendance_code",
        ["code", "name", "kind", "is_excused", "counts_as_present"],
    ),
    _api(
        Assignment,
        "Assignments",
        "assignment",
        ["lesson_id", "type_id", "weight", "text", "due_date"],
    ),
    _api(
        Mark,
        "Marks",
        "mark",
        ["assignment_id", "student_id", "kind", "value", "comment"],
        base=AuditedRecordApi,
    ),
    _api(
        Attendance,
        "Attendances",
        "attendance",
        ["lesson_id", "student_id", "code_id", "reason_id"],
        base=AuditedRecordApi,
    ),
    _api(
        FinalMark,
        "FinalMarks",
        "final_mark",
        ["student_id", "course_id", "kind", "term_id", "value"],
        base=AuditedRecordApi,
    ),
]

# The class and whether the student is at school are read-only here, as on the screen: only
# the movement pages change them.
_student_api = next(api for api in REST_APIS if api.class_permission_name == "Students")
_student_api.add_columns = _student_api.edit_columns = _PERSON + ["sex", "birth_date"]

# The teacher's rule on students holds for the API too.
next(
    api for api in REST_APIS if api.class_permission_name == "Students"
).base_filters = StudentView.base_filters

#: (view class, menu name, label, category, category label) in menu order.
MENU = [
    (StudentView, "Students list", _l("Students"), "People", _l("People")),
    (GuardianView, "Parents and guardians", _l("Parents and guardians"), "People", _l("People")),
    (
        StudentDocumentView,
        "Personal file documents",
        _l("Personal file documents"),
        "People",
        _l("People"),
    ),
    (EmployeeView, "Staff", _l("Staff"), "People", _l("People")),
    (SchoolClassView, "Classes", _l("Classes"), "Education", _l("Education")),
    (StudyGroupView, "Study groups", _l("Study groups"), "Education", _l("Education")),
    (SubjectView, "Subjects list", _l("Subjects"), "Education", _l("Education")),
    (CurriculumHoursView, "Curriculum", _l("Curriculum"), "Education", _l("Education")),
    (CourseView, "Teaching load", _l("Teaching load"), "Education", _l("Education")),
    (
        SubjectDifficultyView,
        "Subject difficulty",
        _l("Subject difficulty scale"),
        "Education",
        _l("Education"),
    ),
    (
        TimetableEntryView,
        "Timetable template",
        _l("Timetable template"),
        "Education",
        _l("Education"),
    ),
    (LessonView, "Lessons list", _l("Lessons"), "Education", _l("Education")),
    (AcademicYearView, "School years", _l("School years"), "Settings", _l("School settings")),
    (TermView, "Terms list", _l("Terms"), "Settings", _l("School settings")),
    (VacationView, "Vacations list", _l("Vacations"), "Settings", _l("School settings")),
    (HolidayView, "Holidays list", _l("Holidays"), "Settings", _l("School settings")),
    (BellScheduleView, "Bell schedules", _l("Bell schedules"), "Settings", _l("School settings")),
    (
        AssignmentTypeView,
        "Assignment types",
        _l("Assignment types"),
        "Settings",
        _l("School settings"),
    ),
    (
        AttendanceCodeView,
        "Attendance codes",
        _l("Attendance codes"),
        "Settings",
        _l("School settings"),
    ),
    (RoomView, "Rooms list", _l("Rooms"), "Settings", _l("School settings")),
]


def register_record_views(appbuilder) -> None:
    for view, name, label, category, category_label in MENU:
        # FAB's own titles are English ("List Student"); these follow the menu label.
        view.list_title = label
        view.show_title = _l("%(name)s: record", name=label)
        view.add_title = _l("%(name)s: new record", name=label)
        view.edit_title = _l("%(name)s: editing", name=label)
        appbuilder.add_view(
            view, name, label=label, category=category, category_label=category_label
        )
    for api in REST_APIS:
        appbuilder.add_api(api)
