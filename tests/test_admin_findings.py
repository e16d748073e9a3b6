"""Findings of a newcomer's walk-through: log wording, time zone, lists, names of files."""

import datetime as dt
import io
import re
from urllib.parse import unquote

import openpyxl
import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.models import PersonalDataAudit, SchoolClass, Student, db
from app.reports.xlsx import export_file_name
from app.services import accounts
from app.services.people_import import rows as import_rows
from app.services.people_import.values import BadValue
from tests.factories import build_extra_school


@pytest.fixture(scope="module")
def school(app, world):
    with app.app_context():
        # An authority of its own: the shared authority's reports must not see this school.
        return build_extra_school("adm_find")


def _page(response) -> str:
    return response.get_data(as_text=True)


# --- Personal-data log ------------------------------------------------------------------


@pytest.fixture(scope="module")
def logged_change(app, school):
    """A student moved to grade 1 and renamed, written at 10:00 UTC on 1 December 2026."""
    with app.app_context():
        student = db.session.get(Student, school.ids["OtherStudent"])
        first_grade = db.session.scalar(
            select(SchoolClass).where(
                SchoolClass.school_id == school.school_id, SchoolClass.name == "1А"
            )
        )
        student.class_id = first_grade.id
        student.birth_date = dt.date(2015, 3, 7)
        db.session.commit()
        row = db.session.scalars(
            select(PersonalDataAudit)
            .where(PersonalDataAudit.school_id == school.school_id)
            .order_by(PersonalDataAudit.id.desc())
        ).first()
        row.changed_at = dt.datetime(2026, 12, 1, 10, 0)
        db.session.commit()
        return row.id


def test_log_shows_names_labels_and_local_time(school, logged_change, login):
    client = login(school.users["school_admin"])
    page = _page(client.get(f"/personal-data-log/?student={school.ids['OtherStudent']}"))
    # Moscow is UTC+3 all year.
    assert "01.12.2026 13:00:00" in page
    assert "Класс: 5А → 1А" in page
    assert "Дата рождения: — → 07.03.2015" in page
    assert "Изменение" in page
    assert "2015-03-07" not in page
    assert "class_id" not in page


def test_log_export_sheet_and_file_name(school, logged_change, login):
    client = login(school.users["school_admin"])
    response = client.get(f"/personal-data-log/export.xlsx?student={school.ids['OtherStudent']}")
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = workbook.active
    assert sheet.title == "Журнал изменений ПДн"
    assert "Другой Пётр" in sheet["A2"].value
    assert "student=" not in sheet["A2"].value
    values = [cell for row in sheet.iter_rows(min_row=4, values_only=True) for cell in row]
    assert "01.12.2026 13:00:00" in values
    name = unquote(response.headers["Content-Disposition"].split("filename*=UTF-8''")[1])
    assert re.fullmatch(r"журнал-ПДн-Школа_adm_find-\d{4}-\d{2}-\d{2}\.xlsx", name), name


# --- Time zone --------------------------------------------------------------------------


def test_times_shown_in_configured_zone(app):
    with app.app_context():
        assert accounts.local_time_label(dt.datetime(2026, 12, 1, 21, 30)) == "02.12.2026 00:30"
        app.config["TIMEZONE"] = "Asia/Yekaterinburg"
        try:
            assert accounts.local_time_label(dt.datetime(2026, 12, 1, 21, 30)) == (
                "02.12.2026 02:30"
            )
        finally:
            app.config["TIMEZONE"] = "Europe/Moscow"


# --- Movement ---------------------------------------------------------------------------


def test_class_list_names_invalid_date(school, login):
    client = login(school.users["secretary"])
    response = client.get(f"/movement/class-list?class={school.ids['SchoolClass']}&date=31.02.2026")
    page = _page(response)
    assert "«31.02.2026» — не дата. Введите дату в виде дд.мм.гггг" in page
    assert 'data-testid="class-list"' not in page
    assert 'value="31.02.2026"' in page


def test_movement_list_is_paged_with_note(app, school, login, monkeypatch):
    from app.services import movement

    monkeypatch.setattr(movement, "STUDENTS_PAGE_SIZE", 2)
    client = login(school.users["secretary"])
    first = _page(client.get("/movement/"))
    assert "Учащиеся 1–2 из 3" in first
    assert 'data-testid="students-next"' in first
    second = _page(client.get("/movement/?page=2"))
    assert "Учащиеся 3–3 из 3" in second
    assert second.count("/movement/student/") == 1


# --- Import -----------------------------------------------------------------------------


def test_unknown_class_lists_classes_in_school_order(app):
    names = ["10А", "1Б", "2А", "11А", "1А"]
    classes = {
        name: SchoolClass(grade=int(name[:-1]), letter=name[-1], name=name) for name in names
    }
    context = import_rows.RowContext(
        kind="students", today=dt.date(2026, 9, 1), classes=classes, year_name="2026/2027"
    )
    with app.test_request_context(), pytest.raises(BadValue) as error:
        import_rows._class_id(context, "12Я")
    assert "1А, 1Б, 2А, 10А, 11А" in str(error.value)


# --- Buttons and menus ------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, url",
    [
        ("school_admin", "/personal-data-log/"),
        ("secretary", "/movement/class-list"),
        ("principal", "/journal-fill/"),
        ("hr", "/staff-records/"),
    ],
)
def test_filter_buttons_say_show(school, login, role, url):
    page = _page(login(school.users[role]).get(url))
    assert ">Показать</button>" in page
    assert ">Просмотр</button>" not in page


def test_forced_password_change_hides_menu(app, school, login):
    username = school.users["principal"]
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
        accounts.require_password_change(user_id)
        db.session.commit()
    try:
        client = login(username)
        page = _page(client.get("/account/password/"))
        assert re.search(r'data-testid="navbar-menu">\s*</ul>', page)
        assert 'data-testid="invite-code-link"' not in page
        assert "/logout" in page
    finally:
        with app.app_context():
            db.session.execute(accounts._update(user_id).values(must_change_password=False))
            db.session.commit()
    page = _page(login(username).get("/"))
    assert 'data-testid="invite-code-link"' in page


# --- Download names ---------------------------------------------------------------------


def test_export_file_name_scheme():
    day = dt.date(2026, 12, 5)
    assert export_file_name("Сводная ведомость", "5А", day=day) == (
        "Сводная_ведомость-5А-2026-12-05.xlsx"
    )
    assert export_file_name("Итоги школ 2026/2027", "", day=day) == (
        "Итоги_школ_2026-2027-2026-12-05.xlsx"
    )
    assert export_file_name("Список «учащихся»: 5А", "Школа № 7", day=day) == (
        "Список_учащихся_5А-Школа_7-2026-12-05.xlsx"
    )


def test_list_export_named_after_school(school, login):
    response = login(school.users["secretary"]).get("/students/export.xlsx")
    name = unquote(response.headers["Content-Disposition"].split("filename*=UTF-8''")[1])
    assert " " not in name
    assert "-Школа_adm_find-" in name
    assert name.endswith(".xlsx")
