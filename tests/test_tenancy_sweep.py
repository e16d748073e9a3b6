"""Tenancy sweep: every registered page and REST API, tried by school A against school B.

The views are enumerated from ``app.appbuilder.baseviews`` when the tests run, so feature
pages added later are covered without being named here. Each sweep collects every
violation it meets and fails once with the whole list, so one run shows every hole.

Logins are made once per module and reused: the role × view × endpoint product is large.
"""

import datetime as dt
import decimal
import io
import re
import warnings
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from flask import current_app, url_for
from flask_appbuilder import BaseView, ModelRestApi, ModelView
from flask_appbuilder.api import BaseApi
from flask_appbuilder.security.sqla.models import Role, User
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy import inspect as sa_inspect
from werkzeug.routing import IntegerConverter

from app.models import Membership, School, db, is_school_owned
from app.reports.xlsx import XLSX_MIMETYPE
from app.security.roles import ROLES
from tests.factories import TEST_PASSWORD, WEEK_START, make_user

#: A test-only role of school A that holds read and write on every school feature, so
#: that views and APIs no baseline role writes (journal records) are swept too.
FULL_ACCESS_ROLE = "Test: every school feature"
FULL_ACCESS_USER = "sweep_full_A"
FULL_ACCESS = "full_access"

#: Route parameter names → the model whose id they carry. The custom-view sweep fails on
#: an id-like parameter missing here, so a new page cannot slip past unswept.
ROUTE_PARAMETER_MODELS = {
    "school_id": "School",
    "membership_id": "Membership",
    "user_id": "User",
    "year_id": "AcademicYear",
    "academic_year_id": "AcademicYear",
    "term_id": "Term",
    "class_id": "SchoolClass",
    "school_class_id": "SchoolClass",
    "group_id": "StudyGroup",
    "study_group_id": "StudyGroup",
    "subject_id": "Subject",
    "course_id": "Course",
    "room_id": "Room",
    "entry_id": "TimetableEntry",
    "timetable_entry_id": "TimetableEntry",
    "lesson_id": "Lesson",
    "assignment_id": "Assignment",
    "assignment_type_id": "AssignmentType",
    "type_id": "AssignmentType",
    "mark_id": "Mark",
    "attendance_id": "Attendance",
    "final_mark_id": "FinalMark",
    "code_id": "AttendanceCode",
    "student_id": "Student",
    "guardian_id": "Guardian",
    "employee_id": "Employee",
    "teacher_id": "Employee",
    "bell_schedule_id": "BellSchedule",
    "schedule_id": "BellSchedule",
    "holiday_id": "Holiday",
    "vacation_id": "Vacation",
    "notification_id": "Notification",
    "feed_id": "CalendarFeed",
    "message_id": "Message",
    "attachment_id": "Attachment",
    "announcement_id": "Announcement",
    "authority_announcement_id": "AuthorityAnnouncement",
    "note_id": "AbsenceNote",
    "document_id": "AbsenceDocument",
    "plan_item_id": "PlanItem",
    "job_id": "ReportJob",
    "exemption_id": "HealthExemption",
    "status_id": "SocialStatus",
    "consent_id": "PsychologyConsent",
    "position_id": "StaffPosition",
    "education_id": "StaffEducation",
    "training_id": "TrainingCourse",
    "enrollment_id": "Enrollment",
    "request_id": "CertificateRequest",
    "certificate_id": "IssuedCertificate",
    "transferred_mark_id": "TransferredMark",
}

#: Query parameters that name a row, per URL prefix: ``/diary/?student=<id>``.
QUERY_PARAMETER_MODELS = {
    "/diary/": {"student": "Student"},
    "/attendance-reasons/": {"class": "SchoolClass", "student": "Student"},
    "/journal-fill/": {"term": "Term", "class": "SchoolClass", "teacher": "Employee"},
    "/journal-fill/report.xlsx": {"term": "Term", "class": "SchoolClass", "teacher": "Employee"},
    "/regulation/": {"year": "AcademicYear"},
    "/regulation/view": {"year": "AcademicYear"},
    "/journal/programme/": {"class": "SchoolClass", "subject": "Subject", "teacher": "Employee"},
    "/journal/programme/report.xlsx": {
        "class": "SchoolClass",
        "subject": "Subject",
        "teacher": "Employee",
    },
    "/assessment-schedule/": {"class": "SchoolClass"},
    "/assessment-schedule/export.xlsx": {"class": "SchoolClass"},
    "/reports/school/class-results": {"class": "SchoolClass", "term": "Term"},
    "/reports/school/class-results.xlsx": {"class": "SchoolClass", "term": "Term"},
    "/reports/school/summary-sheet": {"class": "SchoolClass"},
    "/reports/school/summary-sheet.xlsx": {"class": "SchoolClass"},
    "/reports/school/attendance": {"class": "SchoolClass"},
    "/reports/school/attendance.xlsx": {"class": "SchoolClass"},
    "/reports/school/dynamics": {"class": "SchoolClass"},
    "/reports/school/dynamics.xlsx": {"class": "SchoolClass"},
    "/reports/school/progress": {"student": "Student", "term": "Term", "class": "SchoolClass"},
    "/reports/school/progress.xlsx": {
        "student": "Student",
        "term": "Term",
        "class": "SchoolClass",
    },
    "/reports/school/report-card": {"student": "Student", "class": "SchoolClass"},
    "/reports/school/report-card.xlsx": {"student": "Student", "class": "SchoolClass"},
    "/health/": {"class": "SchoolClass"},
    "/physical-education/": {"class": "SchoolClass"},
    "/social-passport/": {"class": "SchoolClass"},
    "/social-passport/class-report": {"class": "SchoolClass"},
    "/social-passport/class-report.xlsx": {"class": "SchoolClass"},
    "/meal-benefits/": {"class": "SchoolClass"},
    "/personal-data-log/": {
        "student": "Student",
        "guardian": "Guardian",
        "employee": "Employee",
        "user": "User",
    },
    "/personal-data-log/export.xlsx": {
        "student": "Student",
        "guardian": "Guardian",
        "employee": "Employee",
        "user": "User",
    },
    "/movement/class-list": {"class": "SchoolClass"},
    "/certificates/extract-for": {"student": "Student"},
}

#: Values for route parameters that are not ids, so a route with both can be called.
SAMPLE_VALUES = {
    "date": WEEK_START.isoformat(),
    "day": WEEK_START.isoformat(),
    "week": WEEK_START.isoformat(),
    "start": WEEK_START.isoformat(),
    "monday": WEEK_START.isoformat(),
}

#: FAB's own generic parameters that name no school data.
FAB_GENERIC_PARAMETERS = {"filename", "locale", "version", "group_by", "name"}

LIST_QUERY = "?q=(page_size:200)"


# --- The logins and rows the sweep works with -----------------------------------------


@dataclass
class Sweep:
    """Logged-in clients, the permissions of their roles, and probe ids per school."""

    app: object
    world: object
    clients: dict
    permissions: dict

    def model(self, name: str):
        if name == "User":
            return User
        return db.Model.registry._class_registry.get(name)

    def probe_id(self, key: str, model) -> int | None:
        """One row id of ``model`` owned by school ``key``, or None when it has none."""
        with self.app.app_context():
            return _probe_id(self.world[key], model)

    def row_ids(self, key: str, model) -> set[int]:
        """Ids of every row of ``model`` that belongs to school ``key``."""
        with self.app.app_context():
            return _row_ids(self.world[key].school_id, model)

    def snapshot(self, model, row_id):
        """The row as stored, read with Core so that no cached object can hide a change."""
        with self.app.app_context():
            table = model.__table__
            row = db.session.execute(select(table).where(table.c.id == row_id)).mappings().first()
            return dict(row) if row is not None else None

    def count(self, model, school_id=None) -> int:
        with self.app.app_context():
            statement = select(func.count()).select_from(model)
            if school_id is not None:
                statement = statement.where(model.school_id == school_id)
            return db.session.scalar(statement)

    def delete_row(self, model, row_id) -> None:
        with self.app.app_context():
            db.session.execute(model.__table__.delete().where(model.__table__.c.id == row_id))
            db.session.commit()

    def holds(self, login: str, permission: str, view_name: str) -> bool:
        return (permission, view_name) in self.permissions.get(login, set())


def _user_id(username: str) -> int:
    return db.session.scalar(select(User.id).where(User.username == username))


def _probe_id(school, model) -> int | None:
    if model is School:
        return school.school_id
    if model is User:
        return _user_id(school.users["teacher"])
    if model is Membership:
        return db.session.scalar(
            select(Membership.id)
            .join(User, User.id == Membership.user_id)
            .where(User.username == school.users["teacher"])
        )
    if model.__name__ in school.ids:
        return school.ids[model.__name__]
    if is_school_owned(model):
        return db.session.scalar(
            select(model.id).where(model.school_id == school.school_id).order_by(model.id)
        )
    return None


def _row_ids(school_id: int, model) -> set[int]:
    if model is School:
        return {school_id}
    if model is Membership:
        statement = select(Membership.id).where(Membership.school_id == school_id)
    elif model is User:
        statement = select(Membership.user_id).where(Membership.school_id == school_id)
    elif is_school_owned(model):
        statement = select(model.id).where(model.school_id == school_id)
    else:
        return set()
    return set(db.session.scalars(statement))


def _login(app, username: str):
    client = app.test_client()
    response = client.post("/login/", data={"username": username, "password": TEST_PASSWORD})
    assert response.status_code == 302, f"login of {username} failed"
    return client


def _role_permissions(role) -> set[tuple[str, str]]:
    return {(pvm.permission.name, pvm.view_menu.name) for pvm in role.permissions}


def _school_permission_names(app) -> set[str]:
    names = set()
    for view in app.appbuilder.baseviews:
        if isinstance(view, (ModelView, ModelRestApi)) and _is_covered(view):
            names.add(view.class_permission_name)
    return names


def _create_full_access_login(app, world) -> None:
    sm = app.appbuilder.sm
    role = sm.add_role(FULL_ACCESS_ROLE)
    for view_name in sorted(_school_permission_names(app)):
        for permission in ("can_read", "can_write"):
            pvm = sm.find_permission_view_menu(permission, view_name)
            if pvm is not None:
                sm.add_permission_role(role, pvm)
    user = make_user(FULL_ACCESS_USER)
    school = db.session.get(School, world["A"].school_id)
    # The principal's role is added so that the code's row rules (a teacher sees only the
    # students taught) do not hide school A's own rows from this login.
    membership = Membership(
        user_id=user.id, school_id=school.id, roles=[role, sm.find_role(ROLES["principal"].name)]
    )
    db.session.add(membership)
    db.session.commit()


def _remove_full_access_login(app) -> None:
    sm = app.appbuilder.sm
    user = db.session.scalar(select(User).where(User.username == FULL_ACCESS_USER))
    if user is not None:
        for membership in db.session.scalars(
            select(Membership).where(Membership.user_id == user.id)
        ):
            db.session.delete(membership)
        db.session.delete(user)
    role = sm.find_role(FULL_ACCESS_ROLE)
    if role is not None:
        role.permissions = []
        db.session.delete(role)
    db.session.commit()


@pytest.fixture(scope="module")
def sweep(app, world):
    # Requests must run outside any app context: inside one, Flask reuses it and its ``g``
    # for every request, so logins and scopes would leak from one request to the next.
    with app.app_context():
        _create_full_access_login(app, world)
        sm = app.appbuilder.sm
        permissions = {code: _role_permissions(sm.find_role(ROLES[code].name)) for code in ROLES}
        permissions[FULL_ACCESS] = (
            _role_permissions(sm.find_role(FULL_ACCESS_ROLE)) | permissions["principal"]
        )
    clients = {code: _login(app, username) for code, username in world["A"].users.items()}
    clients[FULL_ACCESS] = _login(app, FULL_ACCESS_USER)
    clients["authority"] = _login(app, world.users["authority"])
    clients["server_admin"] = _login(app, world.users["server_admin"])
    yield Sweep(app=app, world=world, clients=clients, permissions=permissions)
    with app.app_context():
        _remove_full_access_login(app)


def school_logins(sweep: Sweep) -> list[str]:
    """The school-level logins of school A: one per role code, plus the full-access one."""
    return list(sweep.world["A"].users) + [FULL_ACCESS]


# --- Enumerating the registered views ---------------------------------------------------


def _is_app_view(view) -> bool:
    return type(view).__module__.startswith("app.")


def _is_covered(view) -> bool:
    """Tell whether a model view or API serves organisation data the sweep must check."""
    model = view.datamodel.obj
    if is_school_owned(model) or model in (School, Membership):
        return True
    # A user list of the application itself (school users) is school data too; FAB's own
    # user screens are server-level and checked only for their 403.
    return model is User and _is_app_view(view)


def model_views(app) -> list:
    return [v for v in app.appbuilder.baseviews if isinstance(v, ModelView) and _is_covered(v)]


def rest_apis(app) -> list:
    return [v for v in app.appbuilder.baseviews if isinstance(v, ModelRestApi) and _is_covered(v)]


def custom_views(app) -> list:
    """Views with hand-written routes: every BaseView or BaseApi that is not generated CRUD."""
    views = []
    for view in app.appbuilder.baseviews:
        if isinstance(view, (ModelView, ModelRestApi)):
            continue
        if hasattr(view, "datamodel") and not isinstance(view, (BaseView, BaseApi)):
            continue
        views.append(view)
    return views


def view_rules(app, view) -> list:
    prefix = f"{view.blueprint.name}."
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith(prefix)]


def has_route(app, view, method_name: str) -> bool:
    """Tell whether the view registered a route for a method (some leave routes out)."""
    return f"{view.blueprint.name}.{method_name}" in app.view_functions


def required_permission(view, method_name: str) -> str | None:
    """The FAB permission a view's method checks, or None when it checks none."""
    method = getattr(view, method_name, None)
    if method is None or not hasattr(method, "_permission_name"):
        return None
    return "can_" + view.get_method_permission(method_name)


def _page_text(response) -> str:
    """The text of a response: an HTML page, or the cells of a downloaded XLSX file."""
    if response.mimetype != XLSX_MIMETYPE:
        return response.get_data(as_text=True)
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        parts = [name for name in archive.namelist() if name.startswith("xl/")]
        return "".join(archive.read(name).decode("utf-8") for name in parts)


def _status_text(response) -> str:
    return f"{response.status_code} {response.location or ''}".strip()


def _body_text(response) -> str:
    return f"{response.status_code} {response.get_data(as_text=True)[:200]}"


class SelectOptions(HTMLParser):
    """Collects the option values of every <select> of a page, by field name."""

    def __init__(self):
        super().__init__()
        self.fields: dict[str, list[str]] = {}
        self._current = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "select":
            self._current = attributes.get("name")
            self.fields.setdefault(self._current, [])
        elif tag == "option" and self._current is not None:
            self.fields[self._current].append(attributes.get("value") or "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._current = None


def select_options(page: str) -> dict[str, list[str]]:
    parser = SelectOptions()
    parser.feed(page)
    return parser.fields


def related_model(datamodel, column: str):
    if datamodel.is_relation(column):
        return datamodel.get_related_model(column)
    return None


def allowed_option_ids(sweep: Sweep, model) -> set[int] | None:
    """Ids a dropdown of school A may offer for ``model``; None when any id is fine."""
    if model is Role:
        school_roles = [spec.name for spec in ROLES.values() if spec.level == "school"]
        with sweep.app.app_context():
            return set(db.session.scalars(select(Role.id).where(Role.name.in_(school_roles))))
    if model is User or model is Membership or model is School or is_school_owned(model):
        return sweep.row_ids("A", model)
    return None


# --- Routes ------------------------------------------------------------------------------


def test_routes_reach_their_own_views(app, sweep):
    """Two views on one route_base shadow each other: the later one is then unreachable."""
    adapter = app.url_map.bind("localhost")
    shadowed = []
    for rule in app.url_map.iter_rules():
        if rule.arguments:
            values = {name: 1 for name in rule.arguments}
            if "name" in rule.arguments:
                values["name"] = "probe"
        else:
            values = {}
        path = rule.build(values, append_unknown=False)[1]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            endpoint, _ = adapter.match(path, method=method)
            if endpoint != rule.endpoint:
                shadowed.append(f"{method} {rule.rule}: {rule.endpoint} is shadowed by {endpoint}")
    assert shadowed == []


# --- Generated CRUD screens -----------------------------------------------------------------


def _mvc_requests(view, other_id: int, own_id: int | None):
    """(method name on the view, HTTP method, URL, form) for every by-id endpoint."""
    endpoint = view.endpoint
    candidates = [
        ("show", "GET", None),
        ("edit", "GET", None),
        ("edit", "POST", {"name": "Changed by school A"}),
        ("delete", "POST", {}),
        ("delete", "GET", None),
    ]
    requests = []
    for method_name, http_method, form in candidates:
        if has_route(current_app, view, method_name):
            url = url_for(f"{endpoint}.{method_name}", pk=other_id)
            requests.append((method_name, http_method, url, form))
    # A name no view registers is tried too: the scope check must not depend on the action.
    for name in sorted(set(view.actions) | {"muldelete"}):
        if has_route(current_app, view, "action"):
            url = url_for(f"{endpoint}.action", name=name, pk=other_id)
            requests.append(("action", "GET", url, None))
            requests.append(("action", "POST", url, {}))
        if not has_route(current_app, view, "action_post"):
            continue
        rows = [str(other_id)] if own_id is None else [str(own_id), str(other_id)]
        requests.append(
            (
                "action_post",
                "POST",
                url_for(f"{endpoint}.action_post"),
                {"action": name, "rowid": rows},
            )
        )
    return requests


def _expected_mvc_status(sweep: Sweep, login: str, view, method_name: str, http_method: str) -> int:
    permission = required_permission(view, method_name)
    if permission is not None and not sweep.holds(login, permission, view.class_permission_name):
        return 403
    if method_name == "delete" and http_method == "GET":
        # FAB refuses to delete on GET while CSRF protection is installed: it redirects
        # before looking the row up, so the response is the same for every id.
        return 302
    return 404


def test_model_views_answer_404_for_other_school_ids(app, sweep):
    problems = []
    for view in model_views(app):
        model = view.datamodel.obj
        other_id = sweep.probe_id("B", model)
        own_id = sweep.probe_id("A", model)
        if other_id is None:
            problems.append(f"{view.endpoint}: school B has no {model.__name__} row to probe")
            continue
        before = sweep.snapshot(model, other_id)
        own_before = sweep.snapshot(model, own_id) if own_id is not None else None
        with app.test_request_context():
            requests = _mvc_requests(view, other_id, own_id)
        for login in school_logins(sweep):
            client = sweep.clients[login]
            for method_name, http_method, url, form in requests:
                response = client.open(url, method=http_method, data=form)
                expected = _expected_mvc_status(sweep, login, view, method_name, http_method)
                if response.status_code != expected:
                    problems.append(
                        f"{login} {http_method} {url}: "
                        f"expected {expected}, got {_status_text(response)}"
                    )
        anonymous = app.test_client()
        for _method_name, http_method, url, form in requests:
            response = anonymous.open(url, method=http_method, data=form)
            if response.status_code != 302 or "/login" not in (response.location or ""):
                problems.append(f"anonymous {http_method} {url}: got {_status_text(response)}")
        if sweep.snapshot(model, other_id) != before:
            problems.append(f"{view.endpoint}: school B's row {other_id} changed")
        if own_id is not None and sweep.snapshot(model, own_id) != own_before:
            problems.append(
                f"{view.endpoint}: school A's row {own_id} changed by a rejected request"
            )
    assert problems == [], "\n".join(problems)


def _list_links(page: str, view, row_id: int) -> bool:
    """Tell whether a list page links to a row by id (show, edit or delete)."""
    pattern = rf"{re.escape(view.route_base)}/(show|edit|delete)/{row_id}[\"?&]"
    return re.search(pattern, page) is not None


def test_model_view_lists_show_own_school_only(app, sweep):
    problems = []
    for view in model_views(app):
        model = view.datamodel.obj
        other_ids = sweep.row_ids("B", model)
        own_id = sweep.probe_id("A", model)
        if not has_route(app, view, "list"):
            continue
        with app.test_request_context():
            url = url_for(f"{view.endpoint}.list")
        for login in school_logins(sweep):
            if not sweep.holds(login, "can_read", view.class_permission_name):
                continue
            response = sweep.clients[login].get(url)
            if response.status_code != 200:
                problems.append(f"{login} GET {url}: got {_status_text(response)}")
                continue
            page = response.get_data(as_text=True)
            leaked = sorted(i for i in other_ids if _list_links(page, view, i))
            if leaked:
                problems.append(f"{login} GET {url}: lists school B rows {leaked}")
            if login == FULL_ACCESS and own_id is not None and not _list_links(page, view, own_id):
                problems.append(f"{login} GET {url}: school A's row {own_id} is missing")
    assert problems == [], "\n".join(problems)


def _xlsx_row_count(response) -> int:
    """Count the table rows of an exported list: the rows below the title, filters and header."""
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).active
    return sum(1 for _ in sheet.iter_rows(min_row=4))


def test_model_view_exports_contain_own_rows(app, sweep):
    """The «Экспорт в Excel» file of every list contains exactly school A's rows."""
    problems = []
    checked = 0
    for view in model_views(app):
        if not has_route(app, view, "export_xlsx"):
            continue
        model = view.datamodel.obj
        with app.test_request_context():
            url = url_for(f"{view.endpoint}.export_xlsx")
        for login in school_logins(sweep):
            response = sweep.clients[login].get(url)
            if not sweep.holds(login, "can_read", view.class_permission_name):
                if response.status_code != 403:
                    problems.append(
                        f"{login} GET {url}: expected 403, got {_status_text(response)}"
                    )
                continue
            if response.status_code != 200 or response.mimetype != XLSX_MIMETYPE:
                problems.append(f"{login} GET {url}: got {_status_text(response)}")
                continue
            if login != FULL_ACCESS:
                continue
            checked += 1
            expected = len(sweep.row_ids("A", model))
            exported = _xlsx_row_count(response)
            if exported != expected:
                problems.append(f"GET {url}: {exported} rows exported, school A has {expected}")
    assert problems == [], "\n".join(problems)
    assert checked > 0, "no list export was found"


def test_room_list_shows_no_other_school_room_name(app, sweep):
    response = sweep.clients["school_admin"].get("/rooms/list/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "A-101" in page
    assert "B-101" not in page
    assert "C-101" not in page


def test_model_view_dropdowns_offer_own_school_only(app, sweep):
    problems = []
    checked = 0
    for view in model_views(app):
        own_id = sweep.probe_id("A", view.datamodel.obj)
        urls = []
        with app.test_request_context():
            if has_route(app, view, "add"):
                urls.append(url_for(f"{view.endpoint}.add"))
            if own_id is not None and has_route(app, view, "edit"):
                urls.append(url_for(f"{view.endpoint}.edit", pk=own_id))
        for login in school_logins(sweep):
            if not sweep.holds(login, "can_write", view.class_permission_name):
                continue
            for url in urls:
                response = sweep.clients[login].get(url)
                if response.status_code != 200:
                    problems.append(f"{login} GET {url}: got {_status_text(response)}")
                    continue
                for name, values in select_options(response.get_data(as_text=True)).items():
                    model = related_model(view.datamodel, name) if name else None
                    allowed = allowed_option_ids(sweep, model) if model is not None else None
                    if allowed is None:
                        continue
                    checked += 1
                    offered = {int(v) for v in values if v.isdigit()}
                    if offered - allowed:
                        problems.append(
                            f"{login} GET {url}: field {name} "
                            f"offers foreign ids {sorted(offered - allowed)}"
                        )
    assert problems == [], "\n".join(problems)
    assert checked > 0, "no related dropdown was found: the parser no longer matches the forms"


# --- REST APIs -------------------------------------------------------------------------------


def _expected_api_status(sweep: Sweep, login: str, api, method_name: str, found: int) -> int:
    permission = "can_" + api.method_permission_name.get(method_name, method_name)
    if sweep.holds(login, permission, api.class_permission_name):
        return found
    return 403


def test_rest_apis_answer_404_for_other_school_ids(app, sweep):
    problems = []
    for api in rest_apis(app):
        model = api.datamodel.obj
        other_id = sweep.probe_id("B", model)
        if other_id is None:
            problems.append(f"{api.route_base}: school B has no {model.__name__} row to probe")
            continue
        before = sweep.snapshot(model, other_id)
        url = f"{api.route_base}/{other_id}"
        requests = [
            (method_name, http_method, body)
            for method_name, http_method, body in (
                ("get", "GET", None),
                ("put", "PUT", {}),
                ("delete", "DELETE", None),
            )
            if has_route(app, api, method_name)
        ]
        for login in school_logins(sweep) + [None]:
            client = sweep.clients[login] if login else app.test_client()
            for method_name, http_method, body in requests:
                response = client.open(url, method=http_method, json=body)
                if login is None:
                    expected = 401
                else:
                    expected = _expected_api_status(sweep, login, api, method_name, 404)
                if response.status_code != expected:
                    problems.append(
                        f"{login or 'anonymous'} {http_method} {url}: "
                        f"expected {expected}, got {_status_text(response)}"
                    )
        if sweep.snapshot(model, other_id) != before:
            problems.append(f"{api.route_base}: school B's row {other_id} changed")
    assert problems == [], "\n".join(problems)


def _rest_list_problems(sweep: Sweep, api, login: str) -> list[str]:
    model = api.datamodel.obj
    response = sweep.clients[login].get(f"{api.route_base}/{LIST_QUERY}")
    if response.status_code != 200:
        return [f"{login} GET {api.route_base}/: got {_status_text(response)}"]
    problems = []
    listed = set(response.json["ids"])
    other_ids = sweep.row_ids("B", model)
    if listed & other_ids:
        problems.append(
            f"{login} GET {api.route_base}/: lists school B ids {sorted(listed & other_ids)}"
        )
    own_ids = sweep.row_ids("A", model)
    if login == FULL_ACCESS and not listed >= own_ids:
        problems.append(
            f"{login} GET {api.route_base}/: school A ids {sorted(own_ids - listed)} missing"
        )
    return problems


def _rest_info_problems(sweep: Sweep, api, login: str) -> list[str]:
    response = sweep.clients[login].get(f"{api.route_base}/_info")
    if response.status_code != 200:
        return [f"{login} GET {api.route_base}/_info: got {_status_text(response)}"]
    problems = []
    for section in ("add_columns", "edit_columns"):
        for column in response.json.get(section, []):
            if "values" not in column:
                continue
            target = related_model(api.datamodel, column["name"])
            allowed = allowed_option_ids(sweep, target) if target is not None else None
            if allowed is None:
                continue
            offered = {value["id"] for value in column["values"]}
            if offered - allowed:
                problems.append(
                    f"{login} GET {api.route_base}/_info: {section}.{column['name']} "
                    f"offers foreign ids {sorted(offered - allowed)}"
                )
    return problems


def test_rest_lists_and_info_show_own_school_only(app, sweep):
    problems = []
    for api in rest_apis(app):
        for login in school_logins(sweep):
            if not sweep.holds(login, "can_read", api.class_permission_name):
                continue
            if has_route(app, api, "get_list"):
                problems += _rest_list_problems(sweep, api, login)
            if has_route(app, api, "info"):
                problems += _rest_info_problems(sweep, api, login)
    assert problems == [], "\n".join(problems)


def _json_value(value):
    if isinstance(value, (dt.date, dt.time, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def _foreign_key_targets(model) -> dict[str, type]:
    """Foreign-key column name → the mapped class it points at."""
    mapper = sa_inspect(model)
    targets = {}
    for relation in mapper.relationships:
        if relation.direction.name != "MANYTOONE":
            continue
        for column in relation.local_columns:
            targets.setdefault(column.key, relation.mapper.class_)
    return targets


def _copy_body(app, api, own_id: int) -> dict:
    """A POST body built from school A's row: every add column with its stored value."""
    with app.app_context():
        return _body_of(api, db.session.get(api.datamodel.obj, own_id))


def _body_of(api, item) -> dict:
    body = {}
    for column in api.add_columns:
        if api.datamodel.is_relation(column):
            value = getattr(item, column)
            if api.datamodel.is_relation_many_to_many(
                column
            ) or api.datamodel.is_relation_one_to_many(column):
                body[column] = [related.id for related in value]
            else:
                body[column] = value.id if value is not None else None
        else:
            body[column] = _json_value(getattr(item, column))
    # An absent key leaves the column empty, as null does.
    return {column: value for column, value in body.items() if value is not None}


def _missing_id(app, model) -> int:
    with app.app_context():
        return (db.session.scalar(select(func.max(model.id))) or 0) + 100000


def _reference_variants(sweep: Sweep, api, body: dict):
    """(column, description, value) for every reference in a POST body, pointed elsewhere."""
    model = api.datamodel.obj
    fk_targets = _foreign_key_targets(model)
    for column in api.add_columns:
        if column in fk_targets:
            target = fk_targets[column]
            many = False
        elif api.datamodel.is_relation(column):
            target = api.datamodel.get_related_model(column)
            many = isinstance(body.get(column), list)
        else:
            continue
        if not (is_school_owned(target) or target in (School, Membership)):
            continue
        other_id = sweep.probe_id("B", target)
        for description, value in (
            ("school B's", other_id),
            ("a missing", _missing_id(sweep.app, target)),
        ):
            if value is None:
                continue
            yield column, description, [value] if many else value


def test_rest_writes_reject_other_school_references(app, sweep):
    client = sweep.clients[FULL_ACCESS]
    problems = []
    checked = 0
    for api in rest_apis(app):
        model = api.datamodel.obj
        own_id = sweep.probe_id("A", model)
        if own_id is None or not is_school_owned(model):
            continue
        if not (has_route(app, api, "post") and has_route(app, api, "put")):
            continue
        body = _copy_body(app, api, own_id)
        for column, description, value in _reference_variants(sweep, api, body):
            checked += 1
            count_before = sweep.count(model)
            own_before = sweep.snapshot(model, own_id)

            response = client.post(f"{api.route_base}/", json={**body, column: value})
            if response.status_code != 404:
                problems.append(
                    f"POST {api.route_base}/ with {column}={value} ({description} id): "
                    f"expected 404, got {_body_text(response)}"
                )
            if response.status_code == 201:
                # Keep the shared world clean for the tests that follow.
                sweep.delete_row(model, response.json["id"])
                problems.append(f"{api.route_base}: a row was created with {column}={value}")
            response = client.put(f"{api.route_base}/{own_id}", json={column: value})
            if response.status_code != 404:
                problems.append(
                    f"PUT {api.route_base}/{own_id} with {column}={value} ({description} id): "
                    f"expected 404, got {_body_text(response)}"
                )

            if sweep.count(model) != count_before:
                problems.append(f"{api.route_base}: the row count changed after {column}={value}")
            if sweep.snapshot(model, own_id) != own_before:
                problems.append(f"{api.route_base}/{own_id}: changed by PUT with {column}={value}")
    assert problems == [], "\n".join(problems)
    assert checked > 0


def test_rest_post_ignores_school_id_of_body(app, sweep):
    client = sweep.clients[FULL_ACCESS]
    school_a = sweep.world["A"].school_id
    school_b = sweep.world["B"].school_id
    problems = []
    for api in rest_apis(app):
        model = api.datamodel.obj
        own_id = sweep.probe_id("A", model)
        if own_id is None or not is_school_owned(model) or not has_route(app, api, "post"):
            continue
        b_count = sweep.count(model, school_b)
        body = {**_copy_body(app, api, own_id), "school_id": school_b}
        response = client.post(f"{api.route_base}/", json=body)
        if response.status_code == 201:
            created = sweep.snapshot(model, response.json["id"])
            if created["school_id"] != school_a:
                problems.append(
                    f"POST {api.route_base}/ created a row of school {created['school_id']}"
                )
            sweep.delete_row(model, created["id"])
        elif response.status_code not in (400, 422):
            problems.append(f"POST {api.route_base}/ with school_id: got {response.status_code}")
        if sweep.count(model, school_b) != b_count:
            problems.append(f"POST {api.route_base}/ with school_id added a row to school B")
    assert problems == [], "\n".join(problems)


def test_rest_room_post_keeps_own_school(app, sweep):
    school_a = sweep.world["A"].school_id
    school_b = sweep.world["B"].school_id
    from app.models import Room

    rooms_in_b = sweep.count(Room, school_b)
    response = sweep.clients["school_admin"].post(
        "/api/v1/room/", json={"name": "Sweep room", "capacity": 10, "school_id": school_b}
    )
    assert response.status_code in (201, 400, 422)
    assert sweep.count(Room, school_b) == rooms_in_b
    if response.status_code == 201:
        created = sweep.snapshot(Room, response.json["id"])
        sweep.delete_row(Room, created["id"])
        assert created["school_id"] == school_a


# --- Hand-written pages ---------------------------------------------------------------------


def _id_like(name: str, converter) -> bool:
    return isinstance(converter, IntegerConverter) or name in ("id", "pk") or name.endswith("_id")


def _parameter_model(sweep: Sweep, view, name: str):
    if name in ROUTE_PARAMETER_MODELS:
        return sweep.model(ROUTE_PARAMETER_MODELS[name])
    if name in ("id", "pk") and hasattr(view, "datamodel"):
        return view.datamodel.obj
    return None


def _is_school_data(model) -> bool:
    return model in (School, Membership, User) or is_school_owned(model)


def _custom_probes(app, sweep: Sweep):
    """(view, rule, HTTP method, URL, description) for every id a custom route takes.

    Each id-like parameter gets school B's id while the others keep school A's, so the
    404 can only come from that one parameter. Unmappable parameters are reported.
    """
    unmapped = []
    probes = []
    for view in custom_views(app):
        for rule in view_rules(app, view):
            converters = rule._converters
            id_parameters = [n for n in rule.arguments if _id_like(n, converters.get(n))]
            other = [n for n in rule.arguments if n not in id_parameters]
            unknown_other = [
                n for n in other if n not in SAMPLE_VALUES and n not in FAB_GENERIC_PARAMETERS
            ]
            if unknown_other and id_parameters:
                warnings.warn(
                    f"{rule.rule}: no sample value for {unknown_other}, so it is not swept",
                    stacklevel=2,
                )
                continue
            if not id_parameters:
                continue
            models = {n: _parameter_model(sweep, view, n) for n in id_parameters}
            missing = [n for n, model in models.items() if model is None]
            if missing:
                unmapped.append(f"{rule.endpoint} {rule.rule}: {missing}")
                continue
            # An authority's own rows (its announcements) are not school data, so school B
            # has no probe id for them; their feature tests try another authority's ids.
            if any(not _is_school_data(model) for model in models.values()):
                continue
            own = {n: sweep.probe_id("A", models[n]) for n in id_parameters}
            for name in id_parameters:
                values = {**own, **{n: SAMPLE_VALUES[n] for n in other if n in SAMPLE_VALUES}}
                values[name] = sweep.probe_id("B", models[name])
                path = rule.build(values, append_unknown=False)[1]
                for http_method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    probes.append((view, rule, http_method, path, f"{name}=B"))
    return probes, unmapped


def _query_probes(app, sweep: Sweep):
    probes = []
    for view in custom_views(app):
        for rule in view_rules(app, view):
            parameters = QUERY_PARAMETER_MODELS.get(rule.rule)
            if not parameters or rule.arguments or "GET" not in rule.methods:
                continue
            for name, model_name in parameters.items():
                other_id = sweep.probe_id("B", sweep.model(model_name))
                probes.append((view, rule, "GET", f"{rule.rule}?{name}={other_id}", f"?{name}=B"))
    return probes


def test_custom_route_parameters_are_all_mapped(app, sweep):
    _, unmapped = _custom_probes(app, sweep)
    assert unmapped == [], "add these route parameters to ROUTE_PARAMETER_MODELS"


def test_custom_views_answer_404_for_other_school_ids(app, sweep):
    probes, _ = _custom_probes(app, sweep)
    probes += _query_probes(app, sweep)
    problems = []
    for view, rule, http_method, url, description in probes:
        method_name = rule.endpoint.split(".", 1)[1]
        permission = required_permission(view, method_name)
        logins = [
            code
            for code in sweep.world["A"].users
            if permission is None or sweep.holds(code, permission, view.class_permission_name)
        ]
        for login in logins:
            response = sweep.clients[login].open(url, method=http_method)
            allowed = (404,) if http_method == "GET" else (400, 404, 422)
            if response.status_code not in allowed:
                problems.append(
                    f"{login} {http_method} {url} ({description}): got {_status_text(response)}"
                )
    assert problems == [], "\n".join(problems)


# --- Authority and server levels --------------------------------------------------------------


def _school_card_views(app) -> list:
    return [
        v
        for v in app.appbuilder.baseviews
        if v.class_permission_name == "SchoolCards"
        or (isinstance(v, (ModelView, ModelRestApi)) and v.datamodel.obj is School)
    ]


def test_authority_school_cards_show_own_schools_only(app, sweep):
    views = _school_card_views(app)
    if not views:
        pytest.skip("no school card view is registered yet")
    client = sweep.clients["authority"]
    world = sweep.world
    lists = 0
    problems = []
    for view in views:
        for rule in view_rules(app, view):
            if "GET" not in rule.methods:
                continue
            method_name = rule.endpoint.split(".", 1)[1]
            permission = required_permission(view, method_name)
            held = permission is None or sweep.holds(
                "authority", permission, view.class_permission_name
            )
            if not rule.arguments:
                response = client.get(rule.rule)
                if not held:
                    if response.status_code != 403:
                        problems.append(
                            f"GET {rule.rule}: expected 403, got {_status_text(response)}"
                        )
                    continue
                page = _page_text(response)
                if "Школа № C" in page:
                    problems.append(f"GET {rule.rule}: shows school C")
                if method_name in ("list", "get_list"):
                    lists += 1
                    if "Школа № A" not in page or "Школа № B" not in page:
                        problems.append(f"GET {rule.rule}: schools A and B are not both listed")
            elif set(rule.arguments) <= {"pk", "id", "school_id"}:
                other = rule.build({n: world["C"].school_id for n in rule.arguments})[1]
                own = rule.build({n: world["B"].school_id for n in rule.arguments})[1]
                response = client.get(other)
                if response.status_code != (404 if held else 403):
                    problems.append(
                        f"GET {other}: expected {404 if held else 403}, "
                        f"got {_status_text(response)}"
                    )
                if held and client.get(own).status_code != 200:
                    problems.append(f"GET {own}: school B's card is not shown")
    assert problems == [], "\n".join(problems)
    assert lists > 0, "no school card list was found"


def test_authority_custom_pages_answer_404_for_other_authority(app, sweep):
    client = sweep.clients["authority"]
    problems = []
    for view in custom_views(app):
        for rule in view_rules(app, view):
            if "GET" not in rule.methods or "school_id" not in rule.arguments:
                continue
            permission = required_permission(view, rule.endpoint.split(".", 1)[1])
            if permission and not sweep.holds("authority", permission, view.class_permission_name):
                continue
            values = {n: SAMPLE_VALUES.get(n, 1) for n in rule.arguments}
            values["school_id"] = sweep.world["C"].school_id
            path = rule.build(values, append_unknown=False)[1]
            response = client.get(path)
            if response.status_code != 404:
                problems.append(f"GET {path}: got {_status_text(response)}")
    assert problems == [], "\n".join(problems)


def test_authority_gets_no_school_records(app, sweep):
    client = sweep.clients["authority"]
    problems = []
    for view in model_views(app):
        model = view.datamodel.obj
        if model is School or not has_route(app, view, "list"):
            continue
        with app.test_request_context():
            url = url_for(f"{view.endpoint}.list")
        response = client.get(url)
        if sweep.holds("authority", "can_read", view.class_permission_name):
            page = response.get_data(as_text=True)
            for key in ("A", "B", "C"):
                leaked = [i for i in sweep.row_ids(key, model) if _list_links(page, view, i)]
                if leaked:
                    problems.append(f"GET {url}: lists school {key} rows {leaked}")
        elif response.status_code != 403:
            problems.append(f"GET {url}: expected 403, got {_status_text(response)}")
    for api in rest_apis(app):
        model = api.datamodel.obj
        if model is School or not has_route(app, api, "get_list"):
            continue
        response = client.get(f"{api.route_base}/{LIST_QUERY}")
        if sweep.holds("authority", "can_read", api.class_permission_name):
            if response.status_code == 200 and response.json["ids"]:
                problems.append(f"GET {api.route_base}/: lists ids {response.json['ids']}")
        elif response.status_code != 403:
            problems.append(f"GET {api.route_base}/: expected 403, got {_status_text(response)}")
        other_id = sweep.probe_id("C", model)
        if other_id is not None:
            response = client.get(f"{api.route_base}/{other_id}")
            if response.status_code not in (403, 404):
                problems.append(f"GET {api.route_base}/{other_id}: got {_status_text(response)}")
    assert problems == [], "\n".join(problems)


def test_school_roles_get_403_on_server_screens(app, sweep):
    """FAB's user, role and permission screens belong to the server administrator alone."""
    problems = []
    for view in app.appbuilder.baseviews:
        if not isinstance(view, (ModelView, ModelRestApi)) or _is_covered(view):
            continue
        if not has_route(app, view, "list" if isinstance(view, ModelView) else "get_list"):
            continue
        if isinstance(view, ModelView):
            with app.test_request_context():
                url = url_for(f"{view.endpoint}.list")
        else:
            url = f"{view.route_base}/"
        for login in school_logins(sweep) + ["authority"]:
            if sweep.holds(login, "can_list", view.class_permission_name) or sweep.holds(
                login, "can_get", view.class_permission_name
            ):
                continue
            response = sweep.clients[login].get(url)
            if response.status_code != 403:
                problems.append(f"{login} GET {url}: expected 403, got {_status_text(response)}")
    assert problems == [], "\n".join(problems)


def test_server_admin_lists_every_school(app, sweep):
    client = sweep.clients["server_admin"]
    problems = []
    for api in rest_apis(app):
        model = api.datamodel.obj
        if not has_route(app, api, "get_list"):
            continue
        response = client.get(f"{api.route_base}/{LIST_QUERY}")
        if response.status_code != 200:
            problems.append(f"GET {api.route_base}/: got {_status_text(response)}")
            continue
        # The tests add many schools, so one page of the list need not reach every probe
        # row; each is fetched by id instead.
        for key in ("A", "B", "C"):
            probe = sweep.probe_id(key, model)
            if probe is None or not has_route(app, api, "get"):
                continue
            response = client.get(f"{api.route_base}/{probe}")
            if response.status_code != 200:
                problems.append(f"GET {api.route_base}/{probe} (school {key}): not found")
    assert problems == [], "\n".join(problems)

    # Filtered by name: the tests add many schools, so one page need not show all three.
    for name in ("A-101", "B-101", "C-101"):
        response = client.get(f"/rooms/list/?_flt_0_name={name}")
        assert response.status_code == 200
        assert name in response.get_data(as_text=True)


def test_parent_gets_404_for_student_not_theirs(sweep):
    """Return 404 for students of the parent's own school who are not their children."""
    client = sweep.clients["parent"]
    ids = sweep.world["A"].ids
    assert client.get(f"/timetable/student/{ids['Student']}").status_code == 200
    assert client.get(f"/timetable/student/{ids['OtherStudent']}").status_code == 404
