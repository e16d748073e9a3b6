"""Import of students with parents and of staff from XLSX and CSV files written here."""

import csv
import datetime as dt
import io
import re
from types import SimpleNamespace

import pytest
from flask_babel import force_locale
from openpyxl import Workbook
from sqlalchemy import func, select

from app.models import (
    AcademicYear,
    Employee,
    Enrollment,
    Guardian,
    PersonalDataAudit,
    SchoolClass,
    Student,
    db,
)
from app.services import people_import
from app.services.people_import import (
    CHANGED,
    DUPLICATE,
    INVALID,
    NEW,
    STAFF,
    STUDENTS,
    ImportFileError,
)
from app.services.people_import.values import BadValue, parse_snils
from tests.factories import build_extra_school

KEY = "XPI"
OTHER_KEY = "XPI2"
TODAY = dt.date(2026, 12, 5)

STUDENT_HEADER = [
    "Фамилия",
    "Имя",
    "Отчество",
    "Дата рождения",
    "Пол",
    "Класс",
    "СНИЛС",
    "№ личного дела",
    "Родитель 1: кем приходится",
    "Родитель 1: фамилия",
    "Родитель 1: имя",
    "Родитель 1: отчество",
    "Родитель 1: телефон",
    "Родитель 1: e-mail",
    "Родитель 2: кем приходится",
    "Родитель 2: фамилия",
    "Родитель 2: имя",
    "Родитель 2: телефон",
]
STAFF_HEADER = ["Фамилия", "Имя", "Отчество", "Дата рождения", "Пол", "СНИЛС", "Должность"]
STAFF_HEADER += ["Телефон", "E-mail"]

#: Valid СНИЛС numbers: the control number is Σ digit × weight (9…1) modulo 101.
SNILS_1 = "112-233-445 95"
SNILS_2 = "123-456-789 64"
SNILS_3 = "987-654-321 83"
SNILS_4 = "001-002-003 18"


def student_row(
    last_name,
    first_name="Иван",
    *,
    birth="01.09.2015",
    sex="м",
    school_class="5А",
    snils="",
    file_number="",
    parent1=(),
    parent2=(),
):
    parent1 = list(parent1) + [""] * (6 - len(parent1))
    parent2 = list(parent2) + [""] * (4 - len(parent2))
    return [
        last_name,
        first_name,
        "Петрович",
        birth,
        sex,
        school_class,
        snils,
        file_number,
        *parent1,
        *parent2,
    ]


def staff_row(
    last_name,
    first_name="Елена",
    *,
    birth="15.03.1985",
    snils="",
    position="Учитель",
    phone="+7 999 123-45-67",
    email="",
):
    return [last_name, first_name, "Викторовна", birth, "ж", snils, position, phone, email]


def xlsx_bytes(header, rows, title_rows=()) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in title_rows:
        sheet.append(row)
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(header, rows, encoding="utf-8", delimiter=";") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


@pytest.fixture(scope="module")
def school(app):
    """A school of its own with the classes 5А and 1А, and a second school with 7В."""
    with app.app_context():
        world = build_extra_school(KEY)
        other = build_extra_school(OTHER_KEY)
        other_year = db.session.scalar(
            select(AcademicYear).where(AcademicYear.school_id == other.school_id)
        )
        db.session.add(
            SchoolClass(
                school_id=other.school_id, year_id=other_year.id, grade=7, letter="В", name="7В"
            )
        )
        db.session.commit()
        return SimpleNamespace(world=world, sid=world.school_id, other=other)


@pytest.fixture()
def ctx(app):
    with app.test_request_context(), force_locale("ru"):
        yield db.session
        db.session.rollback()


def preview(school, kind, data, name):
    return people_import.preview_file(kind, school.sid, data, name, TODAY)


def run_import(school, kind, data, name):
    result = preview(school, kind, data, name)
    assert result.is_valid, result.errors
    return people_import.apply_preview(result, school.sid, None)


def student(school, last_name) -> Student:
    db.session.expire_all()
    return db.session.scalars(
        select(Student).where(Student.school_id == school.sid, Student.last_name == last_name)
    ).one()


def count(model, school) -> int:
    return db.session.scalar(
        select(func.count()).select_from(model).where(model.school_id == school.sid)
    )


# --- Values -----------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["11223344595", "112-233-445 95", "112 233 445 95"])
def test_snils_is_normalised(typed):
    assert parse_snils(typed) == SNILS_1


def test_snils_number_cell_gets_leading_zeros(app):
    with app.test_request_context():
        assert parse_snils(100200318) == "001-002-003 18"


@pytest.mark.parametrize("typed", ["112-233-445 96", "1122334459", "abc"])
def test_snils_with_bad_digits_is_rejected(app, typed):
    with app.test_request_context(), pytest.raises(BadValue):
        parse_snils(typed)


# --- Good files -------------------------------------------------------------------------


def test_xlsx_imports_students_with_parents(school, ctx):
    rows = [
        student_row(
            "Алексеева",
            "Мария",
            sex="ж",
            snils=SNILS_1,
            file_number="XPI-100",
            parent1=("мать", "Алексеева", "Ольга", "Ивановна", "+7 999 111-22-33", "o@example.ru"),
            parent2=("отец", "Алексеев", "Пётр", "8 (999) 222-33-44"),
        ),
        student_row("Борисов", school_class="1 а"),
    ]
    data = xlsx_bytes(STUDENT_HEADER, rows, title_rows=[["Список учащихся"]])

    result = preview(school, STUDENTS, data, "ученики.xlsx")

    assert [row.status for row in result.rows] == [NEW, NEW]
    assert [row.number for row in result.rows] == [3, 4]
    written = people_import.apply_preview(result, school.sid, None)
    assert (written.added, written.changed) == (2, 0)
    maria = student(school, "Алексеева")
    assert maria.birth_date == dt.date(2015, 9, 1)
    assert maria.sex == "f"
    assert maria.snils == SNILS_1
    assert maria.personal_file_number == "XPI-100"
    assert maria.school_class.name == "5А"
    parents = sorted((g.kind, g.first_name, g.phone, g.email) for g in maria.guardians)
    assert parents == [
        ("father", "Пётр", "8 (999) 222-33-44", None),
        ("mother", "Ольга", "+7 999 111-22-33", "o@example.ru"),
    ]
    assert student(school, "Борисов").school_class.name == "1А"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251"])
@pytest.mark.parametrize("delimiter", [";", ","])
def test_csv_in_each_encoding_and_delimiter(school, ctx, encoding, delimiter):
    surname = f"Ёлкина-{encoding}-{'т' if delimiter == ';' else 'з'}".replace("-", "")
    surname = re.sub(r"[^А-Яа-яЁё]", "", surname) + ("а" if delimiter == ";" else "о")
    suffix = {"utf-8": "у", "utf-8-sig": "б", "cp1251": "в"}[encoding]
    surname = surname + suffix
    data = csv_bytes(STUDENT_HEADER, [student_row(surname, "Алёна", sex="ж")], encoding, delimiter)

    result = preview(school, STUDENTS, data, "list.csv")

    assert result.errors == []
    assert result.rows[0].status == NEW
    assert result.rows[0].values["last_name"] == surname
    assert result.rows[0].values["first_name"] == "Алёна"


def test_staff_csv_imports_employees(school, ctx):
    data = csv_bytes(
        STAFF_HEADER,
        [staff_row("Кадрова", snils=SNILS_2, email="k@example.ru"), staff_row("Штатова")],
        delimiter=",",
    )

    written = run_import(school, STAFF, data, "staff.csv")

    assert (written.added, written.changed) == (2, 0)
    employee = db.session.scalars(
        select(Employee).where(Employee.school_id == school.sid, Employee.last_name == "Кадрова")
    ).one()
    assert employee.position == "Учитель"
    assert employee.snils == SNILS_2
    assert employee.email == "k@example.ru"
    assert employee.birth_date == dt.date(1985, 3, 15)


def test_template_header_imports(school, ctx):
    content = people_import.template_xlsx(STAFF, "Шаблон", "пометка")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(content)).active
    header = [cell.value for cell in sheet[3]]
    assert header[:2] == ["Фамилия*", "Имя*"]
    assert "Отчество" in header
    assert sheet["A2"].value == "пометка"
    sheet.append(staff_row("Шаблонова"))
    buffer = io.BytesIO()
    sheet.parent.save(buffer)

    result = preview(school, STAFF, buffer.getvalue(), "template.xlsx")

    assert [row.status for row in result.rows] == [NEW]


# --- Broken files -----------------------------------------------------------------------


def _file_error(school, kind, data, name) -> str:
    with pytest.raises(ImportFileError) as error:
        preview(school, kind, data, name)
    return " ".join(error.value.messages)


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("empty.csv", b"", "пуст"),
        ("empty.xlsx", b"", "пуст"),
        ("broken.xlsx", b"PK\x03\x04 not really a zip", "не удалось прочитать"),
        ("text.xlsx", "Фамилия;Имя".encode(), "не удалось прочитать"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
        ("old.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
        ("list.txt", "Фамилия;Имя".encode(), ".xlsx, ни .csv"),
        ("utf16.csv", "Фамилия;Имя\n".encode("utf-16"), "кодировке"),
        ("blank.csv", b";;\n;;\n", "нет строк"),
    ],
)
def test_broken_files_are_rejected(school, ctx, name, data, expected):
    before = count(Student, school)

    message = _file_error(school, STUDENTS, data, name)

    assert expected in message
    assert name in message
    assert count(Student, school) == before


def test_missing_required_column_is_named(school, ctx):
    header = [h for h in STUDENT_HEADER if h != "Пол"]
    rows = [[cell for i, cell in enumerate(student_row("Беспола")) if i != 4]]

    message = _file_error(school, STUDENTS, csv_bytes(header, rows), "no-sex.csv")

    assert "«Пол»" in message
    assert "шаблон" in message


def test_header_without_rows_is_rejected(school, ctx):
    message = _file_error(school, STUDENTS, csv_bytes(STUDENT_HEADER, []), "header.csv")

    assert "нет строк" in message


def test_wrong_encoding_shows_garbled_header_hint(school, ctx):
    # KOI8-R has no «№», so the header leaves the file number out.
    header = STUDENT_HEADER[:7]
    data = csv_bytes(header, [student_row("Кодова")[:7]], encoding="koi8_r")

    message = _file_error(school, STUDENTS, data, "koi8.csv")

    assert "кодировке" in message


def test_too_large_file_is_rejected(app, school, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 100)
    data = csv_bytes(STUDENT_HEADER, [student_row(f"Большов{i}") for i in range(5)])

    message = _file_error(school, STUDENTS, data, "big.csv")

    assert "больше" in message


def test_repeated_column_is_rejected(school, ctx):
    header = STUDENT_HEADER + ["ФАМИЛИЯ"]
    message = _file_error(school, STUDENTS, csv_bytes(header, []), "twice.csv")

    assert "ФАМИЛИЯ" in message


# --- Rows ----------------------------------------------------------------------------------


def test_one_bad_row_among_many_blocks_the_import(school, ctx):
    rows = [student_row(f"Многов{chr(ord('а') + i)}") for i in range(20)]
    rows[11][3] = "31.02.2015"
    data = csv_bytes(STUDENT_HEADER, rows)
    before = count(Student, school)

    result = preview(school, STUDENTS, data, "many.csv")

    assert [row.number for row in result.rows if row.status == INVALID] == [13]
    assert result.count(NEW) == 19
    assert result.errors == [
        "Строка 13, столбец «Дата рождения», значение «31.02.2015»: это не дата — "
        "запишите её как ДД.ММ.ГГГГ, например 01.09.2015."
    ]
    with pytest.raises(ImportFileError):
        people_import.apply_preview(result, school.sid, None)
    assert count(Student, school) == before


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        (0, "", "Строка 2, столбец «Фамилия»: ячейка пуста"),
        (4, "x", "Строка 2, столбец «Пол», значение «x»"),
        (6, "112-233-445 96", "Строка 2, столбец «СНИЛС», значение «112-233-445 96»"),
        (5, "9Щ", "Строка 2, столбец «Класс», значение «9Щ»"),
        (3, "2015-09-01", "Строка 2, столбец «Дата рождения», значение «2015-09-01»"),
        (3, "01.09.1915", "возраст"),
        (8, "бабушка", "Строка 2, столбец «Родитель 1: кем приходится», значение «бабушка»"),
    ],
)
def test_invalid_cell_is_reported(school, ctx, column, value, expected):
    row = student_row("Ошибкин", parent1=("мать", "Ошибкина", "Анна"))
    row[column] = value

    result = preview(school, STUDENTS, csv_bytes(STUDENT_HEADER, [row]), "bad.csv")

    assert result.rows[0].status == INVALID
    assert any(expected in message for message in result.errors), result.errors


def test_parent_without_name_is_reported(school, ctx):
    row = student_row("Сиротин", parent1=("мать", "", "", "", "+7 999 000-00-00"))

    result = preview(school, STUDENTS, csv_bytes(STUDENT_HEADER, [row]), "parent.csv")

    assert "Строка 2, столбец «Родитель 1: фамилия»: ячейка пуста — заполните её." in result.errors


def test_other_school_class_is_unknown(school, ctx):
    result = preview(
        school,
        STUDENTS,
        csv_bytes(STUDENT_HEADER, [student_row("Чужой", school_class="7В")]),
        "c.csv",
    )

    assert result.rows[0].status == INVALID
    message = result.errors[0]
    assert "«7В»" in message
    assert "1А, 5А" in message


def test_imported_student_gets_a_stay(school, ctx):
    run_import(school, STUDENTS, csv_bytes(STUDENT_HEADER, [student_row("Остаёмов")]), "e.csv")

    stays = db.session.scalars(
        select(Enrollment).where(Enrollment.student_id == student(school, "Остаёмов").id)
    ).all()
    assert len(stays) == 1
    assert stays[0].school_class.name == "5А"
    assert stays[0].start_date == stays[0].school_class.year.start_date
    assert stays[0].is_backfilled


def test_class_change_needs_a_transfer(school, ctx):
    run_import(school, STUDENTS, csv_bytes(STUDENT_HEADER, [student_row("Переводов")]), "t.csv")
    data = csv_bytes(STUDENT_HEADER, [student_row("Переводов", school_class="1А")])

    result = preview(school, STUDENTS, data, "t.csv")

    assert result.rows[0].status == INVALID
    message = result.errors[0]
    assert "«5А»" in message
    assert "«1А»" in message
    assert "Движение учащихся" in message
    assert student(school, "Переводов").school_class.name == "5А"


def test_reimport_gives_duplicates(school, ctx):
    data = xlsx_bytes(
        STUDENT_HEADER, [student_row("Повторов", parent1=("отец", "Повторов", "Илья"))]
    )
    run_import(school, STUDENTS, data, "again.xlsx")
    before = count(Guardian, school)

    result = preview(school, STUDENTS, data, "again.xlsx")

    assert [row.status for row in result.rows] == [DUPLICATE]
    assert result.rows[0].repeats is None
    assert result.to_write == 0
    written = people_import.apply_preview(result, school.sid, None)
    assert (written.added, written.changed) == (0, 0)
    assert count(Guardian, school) == before


def test_same_person_twice_in_file(school, ctx):
    row = student_row("Двойнов")
    changed = student_row("Двойнов", file_number="XPI-77")

    same = preview(school, STUDENTS, csv_bytes(STUDENT_HEADER, [row, row]), "twice.csv")
    other = preview(school, STUDENTS, csv_bytes(STUDENT_HEADER, [row, changed]), "twice.csv")

    assert [r.status for r in same.rows] == [NEW, DUPLICATE]
    assert same.rows[1].repeats == 2
    assert [r.status for r in other.rows] == [NEW, INVALID]
    assert other.errors[0].startswith("Строка 3 — тот же человек, что и в строке 2")


def test_changed_phone_is_listed(school, ctx):
    run_import(school, STAFF, csv_bytes(STAFF_HEADER, [staff_row("Звонкова")]), "s.csv")
    data = csv_bytes(STAFF_HEADER, [staff_row("Звонкова", phone="+7 999 000-00-01")])

    result = preview(school, STAFF, data, "s.csv")

    assert result.rows[0].status == CHANGED
    assert result.rows[0].changes == ["Телефон: «+7 999 123-45-67» → «+7 999 000-00-01»"]
    run_import(school, STAFF, data, "s.csv")
    employee = db.session.scalars(
        select(Employee).where(Employee.school_id == school.sid, Employee.last_name == "Звонкова")
    ).one()
    assert employee.phone == "+7 999 000-00-01"


def test_changed_parent_phone_is_listed(school, ctx):
    parent = ("мать", "Мамина", "Вера", "", "+7 999 000-00-02")
    run_import(
        school, STUDENTS, csv_bytes(STUDENT_HEADER, [student_row("Мамин", parent1=parent)]), "p.csv"
    )
    parent = ("мать", "Мамина", "Вера", "", "+7 999 000-00-03")
    result = preview(
        school, STUDENTS, csv_bytes(STUDENT_HEADER, [student_row("Мамин", parent1=parent)]), "p.csv"
    )

    assert result.rows[0].status == CHANGED
    assert result.rows[0].changes == [
        "Родитель 1: телефон: «+7 999 000-00-02» → «+7 999 000-00-03»"
    ]


def test_snils_matches_a_renamed_person(school, ctx):
    run_import(
        school, STAFF, csv_bytes(STAFF_HEADER, [staff_row("Девичья", snils=SNILS_3)]), "a.csv"
    )

    result = preview(
        school, STAFF, csv_bytes(STAFF_HEADER, [staff_row("Замужняя", snils=SNILS_3)]), "a.csv"
    )

    assert result.rows[0].status == CHANGED
    assert result.rows[0].changes == ["Фамилия: «Девичья» → «Замужняя»"]


def test_other_snils_for_same_name_is_invalid(school, ctx):
    run_import(
        school, STAFF, csv_bytes(STAFF_HEADER, [staff_row("Снилсова", snils=SNILS_1)]), "b.csv"
    )

    result = preview(
        school, STAFF, csv_bytes(STAFF_HEADER, [staff_row("Снилсова", snils=SNILS_4)]), "b.csv"
    )

    assert result.rows[0].status == INVALID
    assert "другим СНИЛС" in result.errors[0]


def test_taken_personal_file_number_is_invalid(school, ctx):
    # The factory's student «Ученикова Анна» has the file number «XPI-1».
    row = student_row("Номеров", file_number=f"{KEY}-1")

    result = preview(school, STUDENTS, csv_bytes(STUDENT_HEADER, [row]), "n.csv")

    assert result.rows[0].status == INVALID
    assert f"«{KEY}-1»" in result.errors[0]


def test_unknown_columns_are_listed(school, ctx):
    header = STAFF_HEADER + ["Любимый цвет"]
    rows = [staff_row("Цветова") + ["синий"]]

    result = preview(school, STAFF, csv_bytes(header, rows), "c.csv")

    assert result.unknown_headers == ["Любимый цвет"]
    assert result.rows[0].status == NEW


# --- Pages ----------------------------------------------------------------------------------


def _upload(client, url, data, name):
    return client.post(
        url, data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )


def _token(page: str) -> str:
    match = re.search(r'name="token" value="([^"]+)"', page)
    assert match, "the preview offers no confirmation"
    return match.group(1)


def test_secretary_previews_and_confirms(app, school, login):
    client = login(f"secretary_{KEY}")
    data = csv_bytes(
        STUDENT_HEADER, [student_row("Страничкин", parent1=("отец", "Страничкин", "Лев"))]
    )

    page = _upload(client, "/import/students/preview", data, "page.csv")

    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'data-status="new"' in text
    assert "Добавляется родитель 1: Страничкин Лев" in text
    response = client.post("/import/students/confirm", data={"token": _token(text)})
    assert response.status_code == 302
    assert response.location.endswith("/students/list/")
    with app.app_context():
        assert student(school, "Страничкин").guardians[0].first_name == "Лев"
    again = client.post("/import/students/confirm", data={"token": _token(text)})
    assert again.status_code == 400
    assert "загрузите файл снова" in again.get_data(as_text=True)


def test_confirmed_import_is_in_personal_data_log(app, school, login):
    client = login(f"secretary_{KEY}")
    data = csv_bytes(STUDENT_HEADER, [student_row("Журналов", parent1=("мать", "Журналова", "Ия"))])
    page = _upload(client, "/import/students/preview", data, "log.csv").get_data(as_text=True)

    client.post("/import/students/confirm", data={"token": _token(page)})

    with app.app_context():
        created = student(school, "Журналов")
        statement = select(PersonalDataAudit.person_kind, PersonalDataAudit.action).where(
            PersonalDataAudit.school_id == created.school_id,
            PersonalDataAudit.person_kind.in_(("student", "guardian")),
            PersonalDataAudit.person_id.in_(
                [created.id, *(guardian.id for guardian in created.guardians)]
            ),
        )
        logged = set(db.session.execute(statement).all())
    assert ("student", "create") in logged
    assert ("guardian", "create") in logged


def test_confirm_checks_the_file_again(app, school, login):
    client = login(f"secretary_{KEY}")
    data = csv_bytes(STUDENT_HEADER, [student_row("Опоздалов", file_number="XPI-900")])
    token = _token(
        _upload(client, "/import/students/preview", data, "late.csv").get_data(as_text=True)
    )
    with app.app_context():
        db.session.add(
            Student(
                school_id=school.sid,
                last_name="Первый",
                first_name="Успел",
                sex="m",
                personal_file_number="XPI-900",
            )
        )
        db.session.commit()

    response = client.post("/import/students/confirm", data={"token": token})

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Ничего не импортировано" in page
    assert "«XPI-900»" in page
    with app.app_context():
        found = db.session.scalar(select(func.count()).where(Student.last_name == "Опоздалов"))
        assert found == 0


def test_other_session_token_is_rejected(app, school, login):
    data = csv_bytes(STUDENT_HEADER, [student_row("Чужетокенов")])
    secretary = login(f"secretary_{KEY}")
    token = _token(
        _upload(secretary, "/import/students/preview", data, "t.csv").get_data(as_text=True)
    )

    response = login(f"school_admin_{KEY}").post("/import/students/confirm", data={"token": token})

    assert response.status_code == 400
    with app.app_context():
        found = db.session.scalar(select(func.count()).where(Student.last_name == "Чужетокенов"))
        assert found == 0


def test_invalid_file_page_names_the_problem(school, login):
    client = login(f"school_admin_{KEY}")

    response = _upload(client, "/import/staff/preview", b"", "empty.csv")

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Ничего не импортировано" in page
    assert "Файл «empty.csv» пуст" in page or "«empty.csv»" in page


def test_invalid_row_page_offers_no_confirmation(school, login):
    client = login(f"hr_{KEY}")
    data = csv_bytes(STAFF_HEADER, [staff_row("Кривова", phone="12")])

    page = _upload(client, "/import/staff/preview", data, "bad.csv").get_data(as_text=True)

    assert 'data-status="invalid"' in page
    assert 'name="token"' not in page
    assert "Строка 2, столбец «Телефон», значение «12»" in page


@pytest.mark.parametrize(
    ("role", "url", "expected"),
    [
        ("hr", "/import/students/", 403),
        ("secretary", "/import/staff/", 403),
        ("teacher", "/import/students/", 403),
        ("principal", "/import/staff/", 403),
        ("secretary", "/import/students/", 200),
        ("hr", "/import/staff/", 200),
        ("school_admin", "/import/students/", 200),
        ("school_admin", "/import/staff/", 200),
    ],
)
def test_import_pages_follow_roles(school, login, role, url, expected):
    assert login(f"{role}_{KEY}").get(url).status_code == expected


def test_template_download_has_the_header(school, login):
    from openpyxl import load_workbook

    response = login(f"secretary_{KEY}").get("/import/students/template.xlsx")

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    required = {"Фамилия", "Имя", "Пол", "Дата рождения"}
    expected = [f"{name}*" if name in required else name for name in STUDENT_HEADER[:8]]
    assert [cell.value for cell in sheet[3]][:8] == expected
    assert "* — обязательный столбец" in sheet["A2"].value


def _student_form(last_name, snils=""):
    return {
        "last_name": last_name,
        "first_name": "Формин",
        "middle_name": "",
        "sex": "m",
        "birth_date": "",
        "personal_file_number": "",
        "snils": snils,
        "is_active": "y",
    }


def test_student_form_stores_empty_snils_as_none(app, school, login):
    client = login(f"secretary_{KEY}")

    for name in ("Формов", "Формова"):
        response = client.post("/students/add", data=_student_form(name))
        assert response.status_code == 302, response.get_data(as_text=True)[:500]

    with app.app_context():
        stored = db.session.scalars(
            select(Student.snils).where(Student.last_name.in_(["Формов", "Формова"]))
        ).all()
        assert stored == [None, None]


def test_student_form_checks_snils(app, school, login):
    client = login(f"secretary_{KEY}")

    bad = client.post("/students/add", data=_student_form("Формцев", "112-233-445 96"))
    good = client.post("/students/add", data=_student_form("Формина", "00100200419"))

    assert bad.status_code == 200
    assert "не сходится контрольное число" in bad.get_data(as_text=True)
    assert good.status_code == 302
    with app.app_context():
        assert student(school, "Формина").snils == "001-002-004 19"


def test_too_many_rows_are_rejected(school, ctx, monkeypatch):
    from app.services.people_import import files

    monkeypatch.setattr(files, "MAX_ROWS", 3)
    data = csv_bytes(STUDENT_HEADER, [student_row(f"Строков{chr(ord('а') + i)}") for i in range(4)])

    message = _file_error(school, STUDENTS, data, "rows.csv")

    assert "больше 3 строк" in message


def test_blank_rows_keep_row_numbers(school, ctx):
    rows = [student_row("Пробелов"), [""] * len(STUDENT_HEADER), student_row("Пропусков")]
    rows[2][3] = "99.99.2015"

    result = preview(school, STUDENTS, csv_bytes(STUDENT_HEADER, rows), "blank.csv")

    assert [row.number for row in result.rows] == [2, 4]
    assert result.errors[0].startswith("Строка 4, столбец «Дата рождения»")
