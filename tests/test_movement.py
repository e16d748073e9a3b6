"""Student movement: admission, transfer and departure with their orders, class lists at a
date, the alphabetical book, the movement report and its XLSX, and the authority's counts.

The test school's year runs from 01.09.2026 to 31.05.2027. Its three students of 5А were
admitted on 01.09.2026.
"""

import datetime as dt
import io
import itertools
import os

import openpyxl
import pytest
from alembic.script import ScriptDirectory
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import MetaData, Table, select
from sqlalchemy.engine import make_url

from app.models import AcademicYear, Enrollment, SchoolClass, Student, db
from app.services import movement
from app.services.movement import MovementCount
from tests.factories import build_extra_school
from tests.test_demo import _drop_and_create, _fresh_database_url

#: Each test gets a school of its own, because the tests move students.
SCHOOL_KEYS = itertools.count(1)

ORDER = {"order_number": "17-у", "order_date": "09.11.2026"}


@pytest.fixture()
def school(app):
    """A school of its own with classes 5А, 5Б and 1А and three students in 5А."""
    with app.app_context():
        world = build_extra_school(f"movement-{next(SCHOOL_KEYS)}")
        sid = world.school_id
        fifth = db.session.get(SchoolClass, world.ids["SchoolClass"])
        parallel = SchoolClass(school_id=sid, year_id=fifth.year_id, grade=5, letter="Б", name="5Б")
        db.session.add(parallel)
        db.session.commit()
        world.ids["ParallelClass"] = parallel.id
        world.ids["FirstGradeClass"] = db.session.scalar(
            select(SchoolClass.id).where(SchoolClass.school_id == sid, SchoolClass.name == "1А")
        )
    return world


def _class_names(app, school, class_key, day):
    with app.app_context():
        school_class = db.session.get(SchoolClass, school.ids[class_key])
        scope = None  # Trusted code outside a request: the class itself names the school.
        return [stay.student.first_name for stay in movement.class_list(scope, school_class, day)]


def _student(app, student_id):
    with app.app_context():
        student = db.session.get(Student, student_id)
        db.session.expunge(student)
        return student


def _stays(app, student_id):
    with app.app_context():
        rows = db.session.execute(
            select(
                Enrollment.class_id,
                Enrollment.start_date,
                Enrollment.end_date,
                Enrollment.start_kind,
                Enrollment.end_kind,
            )
            .where(Enrollment.student_id == student_id)
            .order_by(Enrollment.start_date)
        )
        return [tuple(row) for row in rows]


def _transfer(client, school, student_key="OtherStudent", **changes):
    data = {"class_id": school.ids["ParallelClass"], "date": "10.11.2026", **ORDER, **changes}
    return client.post(f"/movement/student/{school.ids[student_key]}/transfer", data=data)


def _depart(client, school, student_key="OtherStudent", **changes):
    data = {
        "date": "20.11.2026",
        "departed_to": "Школа № 12, г. Тверь",
        "reason": "смена места жительства",
        **ORDER,
        **changes,
    }
    return client.post(f"/movement/student/{school.ids[student_key]}/depart", data=data)


def _admit_new(client, school, **changes):
    data = {
        "last_name": "Новикова",
        "first_name": "Вера",
        "middle_name": "Игоревна",
        "sex": "f",
        "birth_date": "14.03.2015",
        "personal_file_number": "Н-1",
        "class_id": school.ids["ParallelClass"],
        "date": "16.11.2026",
        "arrived_from": "Школа № 3, г. Клин",
        **ORDER,
        **changes,
    }
    return client.post("/movement/admit", data=data)


# --- Movements -------------------------------------------------------------------------------


def test_admit_new_student(app, school, login):
    client = login(school.users["secretary"])

    response = _admit_new(client, school)

    assert response.status_code == 302
    with app.app_context():
        student = db.session.scalar(
            select(Student).where(
                Student.school_id == school.school_id, Student.personal_file_number == "Н-1"
            )
        )
        assert student.class_id == school.ids["ParallelClass"]
        assert student.is_active
        stay = db.session.scalar(select(Enrollment).where(Enrollment.student_id == student.id))
        assert stay.start_date == dt.date(2026, 11, 16)
        assert stay.start_order_number == "17-у"
        assert stay.start_order_date == dt.date(2026, 11, 9)
        assert stay.arrived_from == "Школа № 3, г. Клин"
        assert stay.end_date is None


def test_admit_first_enrolment(app, school, login):
    client = login(school.users["secretary"])

    response = _admit_new(
        client,
        school,
        class_id=school.ids["FirstGradeClass"],
        arrived_from="",
        first_enrolment="1",
    )

    assert response.status_code == 302
    with app.app_context():
        stay = db.session.scalar(
            select(Enrollment).where(Enrollment.class_id == school.ids["FirstGradeClass"])
        )
        assert stay.is_first_enrolment
        assert stay.arrived_from is None


def test_transfer_moves_student(app, school, login):
    client = login(school.users["secretary"])

    response = _transfer(client, school)

    assert response.status_code == 302
    assert _stays(app, school.ids["OtherStudent"]) == [
        (
            school.ids["SchoolClass"],
            dt.date(2026, 9, 1),
            dt.date(2026, 11, 10),
            "admission",
            "transfer",
        ),
        (school.ids["ParallelClass"], dt.date(2026, 11, 10), None, "transfer", None),
    ]
    assert _student(app, school.ids["OtherStudent"]).class_id == school.ids["ParallelClass"]


def test_depart_closes_stay(app, school, login):
    client = login(school.users["secretary"])

    response = _depart(client, school)

    assert response.status_code == 302
    student = _student(app, school.ids["OtherStudent"])
    assert student.class_id is None
    assert not student.is_active
    with app.app_context():
        stay = db.session.scalar(
            select(Enrollment).where(Enrollment.student_id == school.ids["OtherStudent"])
        )
        assert stay.end_date == dt.date(2026, 11, 20)
        assert stay.end_kind == "departure"
        assert stay.departed_to == "Школа № 12, г. Тверь"
        assert stay.departure_reason == "смена места жительства"
        assert stay.end_order_number == "17-у"


def test_readmission_after_departure(app, school, login):
    client = login(school.users["secretary"])
    _depart(client, school)

    response = client.post(
        f"/movement/student/{school.ids['OtherStudent']}/admit",
        data={
            "class_id": school.ids["SchoolClass"],
            "date": "20.01.2027",
            "arrived_from": "Школа № 12, г. Тверь",
            **ORDER,
        },
    )

    assert response.status_code == 302
    assert [row[1:] for row in _stays(app, school.ids["OtherStudent"])] == [
        (dt.date(2026, 9, 1), dt.date(2026, 11, 20), "admission", "departure"),
        (dt.date(2027, 1, 20), None, "admission", None),
    ]
    student = _student(app, school.ids["OtherStudent"])
    assert student.is_active
    assert student.class_id == school.ids["SchoolClass"]


# --- Validation ------------------------------------------------------------------------------


def _assert_rejected(response, *fragments):
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    for fragment in fragments:
        assert fragment in page


def test_transfer_requires_order_number(app, school, login):
    client = login(school.users["secretary"])

    response = _transfer(client, school, order_number="")

    _assert_rejected(response, "Укажите номер приказа")
    assert len(_stays(app, school.ids["OtherStudent"])) == 1


def test_transfer_date_inside_school_year(app, school, login):
    client = login(school.users["secretary"])

    response = _transfer(client, school, date="15.06.2027")

    _assert_rejected(response, "15.06.2027", "01.09.2026–31.05.2027")
    assert len(_stays(app, school.ids["OtherStudent"])) == 1


def test_transfer_invalid_dates_are_named(app, school, login):
    client = login(school.users["secretary"])

    response = _transfer(client, school, date="32.10.2026", order_date="вчера")

    _assert_rejected(response, "«32.10.2026» — не дата", "«вчера»")


def test_transfer_into_same_class_is_rejected(app, school, login):
    client = login(school.users["secretary"])

    response = _transfer(client, school, class_id=school.ids["SchoolClass"])

    _assert_rejected(response, "уже в классе 5А")
    assert len(_stays(app, school.ids["OtherStudent"])) == 1


def test_transfer_not_after_admission_is_rejected(app, school, login):
    client = login(school.users["secretary"])

    response = _transfer(client, school, date="01.09.2026")

    _assert_rejected(response, "01.09.2026", "более позднюю дату")
    assert len(_stays(app, school.ids["OtherStudent"])) == 1


def test_transfer_to_class_of_another_year(app, school, login):
    with app.app_context():
        year = AcademicYear(
            school_id=school.school_id,
            name="2027/2028",
            start_date=dt.date(2027, 9, 1),
            end_date=dt.date(2028, 5, 31),
        )
        db.session.add(year)
        db.session.flush()
        next_class = SchoolClass(
            school_id=school.school_id, year_id=year.id, grade=6, letter="А", name="6А"
        )
        db.session.add(next_class)
        db.session.commit()
        next_class_id = next_class.id
    client = login(school.users["secretary"])

    response = _transfer(client, school, class_id=next_class_id)

    _assert_rejected(response, "6А", "другому учебному году")
    assert len(_stays(app, school.ids["OtherStudent"])) == 1


def test_closed_year_is_not_changed(app, school, login):
    with app.app_context():
        year = db.session.get(AcademicYear, school.ids["AcademicYear"])
        year.is_closed = True
        db.session.commit()
    client = login(school.users["secretary"])

    response = _depart(client, school)

    _assert_rejected(response, "2026/2027", "закрыт")
    assert _student(app, school.ids["OtherStudent"]).is_active


def test_departure_before_admission_is_rejected(app, school, login):
    client = login(school.users["secretary"])

    response = _depart(client, school, date="01.09.2026")

    _assert_rejected(response, "01.09.2026", "более позднюю дату")
    assert _student(app, school.ids["OtherStudent"]).is_active


def test_departure_needs_place_and_reason(app, school, login):
    client = login(school.users["secretary"])

    response = _depart(client, school, departed_to="", reason="")

    _assert_rejected(response, "куда выбывает", "причину выбытия")
    assert _student(app, school.ids["OtherStudent"]).is_active


def test_departed_student_cannot_depart_again(app, school, login):
    client = login(school.users["secretary"])
    _depart(client, school)

    response = _depart(client, school, date="25.11.2026")

    _assert_rejected(response, "не обучается")
    transfer = _transfer(client, school, date="25.11.2026")
    _assert_rejected(transfer, "не обучается")


def test_admission_of_present_student_is_rejected(app, school, login):
    client = login(school.users["secretary"])

    response = client.post(
        f"/movement/student/{school.ids['OtherStudent']}/admit",
        data={
            "class_id": school.ids["ParallelClass"],
            "date": "16.11.2026",
            "arrived_from": "Школа № 3",
            **ORDER,
        },
    )

    _assert_rejected(response, "уже в классе 5А", "01.09.2026")
    assert len(_stays(app, school.ids["OtherStudent"])) == 1


def test_readmission_overlapping_is_rejected(app, school, login):
    client = login(school.users["secretary"])
    _depart(client, school)

    response = client.post(
        f"/movement/student/{school.ids['OtherStudent']}/admit",
        data={
            "class_id": school.ids["SchoolClass"],
            "date": "19.11.2026",
            "arrived_from": "Школа № 12",
            **ORDER,
        },
    )

    _assert_rejected(response, "19.11.2026", "20.11.2026")
    assert len(_stays(app, school.ids["OtherStudent"])) == 1


def test_new_student_form_lists_every_error(app, school, login):
    client = login(school.users["secretary"])

    response = _admit_new(
        client,
        school,
        last_name="",
        sex="",
        birth_date="14/03/2015",
        personal_file_number=f"{school.key}-1",
        arrived_from="",
        order_number="",
    )

    _assert_rejected(
        response,
        "Укажите фамилию",
        "Выберите пол",
        "«14/03/2015»",
        f"«{school.key}-1» уже",
        "«впервые»",
        "Укажите номер приказа",
    )
    with app.app_context():
        count = db.session.scalar(
            select(db.func.count(Student.id)).where(Student.school_id == school.school_id)
        )
    assert count == 3


def test_first_enrolment_and_previous_school_conflict(app, school, login):
    client = login(school.users["secretary"])

    response = _admit_new(client, school, first_enrolment="1")

    _assert_rejected(response, "«Школа № 3, г. Клин»")


# --- Class lists and the book ----------------------------------------------------------------


def test_class_list_before_and_after_transfer(app, school, login):
    client = login(school.users["secretary"])
    _transfer(client, school)

    assert _class_names(app, school, "SchoolClass", dt.date(2026, 11, 9)) == [
        "Пётр",
        "Анна",
        "Мария",
    ]
    assert _class_names(app, school, "SchoolClass", dt.date(2026, 11, 10)) == ["Анна", "Мария"]
    assert _class_names(app, school, "ParallelClass", dt.date(2026, 11, 9)) == []
    assert _class_names(app, school, "ParallelClass", dt.date(2026, 11, 10)) == ["Пётр"]
    assert _class_names(app, school, "SchoolClass", dt.date(2026, 8, 31)) == []


def test_class_list_page_at_date(app, school, login):
    client = login(school.users["secretary"])
    _transfer(client, school)
    url = f"/movement/class-list?class={school.ids['SchoolClass']}"

    before = client.get(f"{url}&date=09.11.2026").get_data(as_text=True)
    after = client.get(f"{url}&date=2026-11-10").get_data(as_text=True)

    assert "Другой Пётр" in before
    assert "Другой Пётр" not in after
    assert "Ученикова Анна" in after


def test_alphabetical_book(app, school, login):
    client = login(school.users["secretary"])
    _depart(client, school)
    _admit_new(client, school)

    with app.app_context():
        entries = movement.alphabetical_book(_scope_of(school))
        lines = [
            (
                entry.student.last_name,
                entry.student.personal_file_number,
                entry.admission.start_date,
                entry.departure.end_date if entry.departure else None,
            )
            for entry in entries
        ]
    assert lines == [
        ("Другой", f"{school.key}-3", dt.date(2026, 9, 1), dt.date(2026, 11, 20)),
        ("Новикова", "Н-1", dt.date(2026, 11, 16), None),
        ("Ученикова", f"{school.key}-1", dt.date(2026, 9, 1), None),
        ("Ученикова", f"{school.key}-2", dt.date(2026, 9, 1), None),
    ]
    page = client.get("/movement/book").get_data(as_text=True)
    assert "№ 17-у от 09.11.2026" in page
    assert "14.03.2015" in page


def _scope_of(school):
    from app.security.scope import Scope

    return Scope(user_id=None, membership_id=None, level="school", school_id=school.school_id)


# --- The movement report ---------------------------------------------------------------------


def _hand_built_movements(client, school):
    """Two arrivals and one departure inside November 2026, one of each outside it."""
    _admit_new(client, school)  # 16.11.2026, 5Б
    _admit_new(
        client,
        school,
        last_name="Орлов",
        sex="m",
        personal_file_number="Н-2",
        class_id=school.ids["FirstGradeClass"],
        date="02.11.2026",
        arrived_from="",
        first_enrolment="1",
    )
    _admit_new(client, school, last_name="Позднев", personal_file_number="Н-3", date="01.12.2026")
    _depart(client, school)  # 20.11.2026 from 5А
    _depart(client, school, student_key="SiblingStudent", date="10.12.2026")
    _transfer(client, school, student_key="Student")  # a transfer is neither


def test_report_counts_hand_built_movements(app, school, login):
    client = login(school.users["secretary"])
    _hand_built_movements(client, school)

    with app.app_context():
        report = movement.movement_report(
            _scope_of(school), dt.date(2026, 11, 1), dt.date(2026, 11, 30)
        )
        arrivals = [(s.student.last_name, s.start_date) for s in report.arrivals]
        departures = [(s.student.last_name, s.end_date) for s in report.departures]
    assert arrivals == [("Орлов", dt.date(2026, 11, 2)), ("Новикова", dt.date(2026, 11, 16))]
    assert departures == [("Другой", dt.date(2026, 11, 20))]

    page = client.get("/movement/report?date_from=01.11.2026&date_to=30.11.2026")
    text = page.get_data(as_text=True)
    assert "Прибыли: 2" in text
    assert "Выбыли: 1" in text
    assert "Школа № 12, г. Тверь" in text
    # The date range reads «С … по …», not the message words «От кого … кому».
    assert '<label for="date_from">С</label>' in text
    assert "От кого" not in text


def test_report_leaves_out_backfilled_stays(app, school):
    with app.app_context():
        stay = db.session.scalar(
            select(Enrollment).where(Enrollment.student_id == school.ids["OtherStudent"])
        )
        stay.is_backfilled = True
        db.session.commit()
        report = movement.movement_report(
            _scope_of(school), dt.date(2026, 9, 1), dt.date(2026, 9, 30)
        )
        names = [s.student.first_name for s in report.arrivals]
    assert names == ["Анна", "Мария"]


def test_report_xlsx_reads_back(app, school, login):
    client = login(school.users["secretary"])
    _hand_built_movements(client, school)

    response = client.get("/movement/report.xlsx?date_from=01.11.2026&date_to=30.11.2026")

    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["Прибыли", "Выбыли"]
    arrived = [row for row in workbook["Прибыли"].iter_rows(min_row=3, values_only=True)]
    assert arrived[0] == (
        "Дата прибытия",
        "Учащийся",
        "Класс",
        "Откуда прибыл",
        "Номер приказа",
        "Дата приказа",
    )
    assert arrived[1][:4] == (dt.datetime(2026, 11, 2), "Орлов Вера Игоревна", "1А", "впервые")
    assert arrived[2][1:5] == ("Новикова Вера Игоревна", "5Б", "Школа № 3, г. Клин", "17-у")
    assert len(arrived) == 3
    departed = [row for row in workbook["Выбыли"].iter_rows(min_row=4, values_only=True)]
    assert departed == [
        (
            dt.datetime(2026, 11, 20),
            "Другой Пётр",
            "5А",
            "Школа № 12, г. Тверь",
            "смена места жительства",
            "17-у",
            dt.datetime(2026, 11, 9),
        )
    ]


def test_book_xlsx_reads_back(app, school, login):
    client = login(school.users["secretary"])
    _depart(client, school)

    response = client.get("/movement/book.xlsx")

    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    assert [row[0] for row in rows] == ["Другой Пётр", "Ученикова Анна", "Ученикова Мария"]
    assert rows[0][7] == dt.datetime(2026, 11, 20)
    assert rows[0][8] == "№ 17-у от 09.11.2026"
    assert rows[1][10] == "5А"


def test_movement_counts_per_school_and_grade(app, school, world, login):
    client = login(school.users["secretary"])
    _hand_built_movements(client, school)
    other = world["B"]

    with app.app_context():
        counts = movement.movement_counts(
            [school.school_id, other.school_id], dt.date(2026, 9, 1), dt.date(2026, 11, 30)
        )
        only_other = movement.movement_counts(
            [other.school_id], dt.date(2026, 11, 1), dt.date(2026, 11, 30)
        )
    # School B's three students of 5А were admitted on 01.09.2026; its id is the smaller.
    assert counts == [
        MovementCount(school_id=other.school_id, grade=5, arrived=3, departed=0),
        MovementCount(school_id=school.school_id, grade=1, arrived=1, departed=0),
        MovementCount(school_id=school.school_id, grade=5, arrived=4, departed=1),
    ]
    assert only_other == []
    assert movement.movement_counts([], dt.date(2026, 9, 1), dt.date(2026, 11, 30)) == []


# --- Access --------------------------------------------------------------------------------


def test_other_school_ids_are_not_found(app, school, world, login):
    client = login(school.users["secretary"])
    other = world["B"]
    with app.app_context():
        other_stay = db.session.scalar(
            select(Enrollment.id).where(Enrollment.school_id == other.school_id)
        )

    assert client.get(f"/movement/student/{other.ids['Student']}").status_code == 404
    assert client.get(f"/movement/enrollment/{other_stay}").status_code == 404
    assert client.get(f"/movement/class-list?class={other.ids['SchoolClass']}").status_code == 404
    response = _transfer(client, school, class_id=other.ids["SchoolClass"])
    assert response.status_code == 404
    response = client.post(
        f"/movement/student/{other.ids['OtherStudent']}/depart", data={"date": "20.11.2026"}
    )
    assert response.status_code == 404
    assert _admit_new(client, school, class_id=other.ids["SchoolClass"]).status_code == 404
    assert len(_stays(app, school.ids["OtherStudent"])) == 1
    assert _student(app, other.ids["OtherStudent"]).is_active


def test_principal_reads_but_does_not_move(app, school, login):
    client = login(school.users["principal"])

    page = client.get(f"/movement/student/{school.ids['OtherStudent']}")
    response = _transfer(client, school)

    assert page.status_code == 200
    assert 'data-testid="transfer"' not in page.get_data(as_text=True)
    assert response.status_code == 403
    assert client.get("/movement/report").status_code == 200
    assert len(_stays(app, school.ids["OtherStudent"])) == 1


def test_school_admin_may_move(app, school, login):
    client = login(school.users["school_admin"])

    assert _transfer(client, school).status_code == 302


@pytest.mark.parametrize("role", ["teacher", "medical", "parent"])
def test_other_roles_get_403(app, school, login, role):
    client = login(school.users[role])

    assert client.get("/movement/").status_code == 403
    assert _transfer(client, school).status_code == 403
    assert len(_stays(app, school.ids["OtherStudent"])) == 1


def test_secretary_pages_render_in_russian(app, school, login):
    client = login(school.users["secretary"])

    index = client.get("/movement/").get_data(as_text=True)
    student = client.get(f"/movement/student/{school.ids['OtherStudent']}").get_data(as_text=True)

    assert "Движение учащихся" in index
    assert "Зачислить нового учащегося" in index
    assert "Перевод в другой класс" in student
    assert "Выбытие из школы" in student


# --- The migration's backfill ----------------------------------------------------------------


#: The migration that adds enrollments; the backfill test starts just before it.
MOVEMENT_REVISION = "b41c7e2d9a10"


def _revision_before(revision: str) -> str:
    """Return the revision a migration follows, so the test keeps up with new ones."""
    config = current_app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_revision(revision).down_revision


@pytest.fixture()
def database_before_movement(tmp_path):
    """A new database at the revision before enrollments, with an application over it."""
    from app import create_app

    url, pg_database = _fresh_database_url(tmp_path, "movement_backfill")
    application = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with application.app_context():
        upgrade(revision=_revision_before(MOVEMENT_REVISION))
        yield application
        db.session.remove()
        db.engine.dispose()
    if pg_database:
        _drop_and_create(make_url(os.environ["TEST_DATABASE_URL"]), pg_database, create=False)


def _insert(table_name: str, **values) -> int:
    # The table as the old revision made it: the models' later columns do not exist yet.
    table = Table(table_name, MetaData(), autoload_with=db.session.connection())
    return db.session.execute(table.insert().values(**values)).inserted_primary_key[0]


def test_migration_backfills_current_classes(database_before_movement):
    authority = _insert("education_authority", name="УО")
    school_id = _insert(
        "school",
        authority_id=authority,
        name="Школа",
        shifts=1,
        six_day_week=False,
        max_mark=5,
        weighting_enabled=True,
    )
    year = _insert(
        "academic_year",
        school_id=school_id,
        name="2026/2027",
        start_date=dt.date(2026, 9, 1),
        end_date=dt.date(2027, 5, 31),
        is_closed=False,
    )
    class_id = _insert(
        "school_class",
        school_id=school_id,
        year_id=year,
        grade=5,
        letter="А",
        name="5А",
        shift=1,
        six_day_week=False,
    )
    students = {}
    for name, in_class, active in (
        ("Анна", True, True),
        ("Борис", True, False),
        ("Вера", False, True),
    ):
        students[name] = _insert(
            "student",
            school_id=school_id,
            class_id=class_id if in_class else None,
            last_name="Ученик",
            first_name=name,
            sex="f",
            is_active=active,
        )
    db.session.commit()

    upgrade()

    rows = db.session.execute(
        select(
            Enrollment.student_id,
            Enrollment.class_id,
            Enrollment.start_date,
            Enrollment.end_date,
            Enrollment.end_kind,
            Enrollment.start_order_number,
            Enrollment.is_backfilled,
        ).order_by(Enrollment.student_id)
    ).all()
    assert [tuple(row) for row in rows] == [
        (students["Анна"], class_id, dt.date(2026, 9, 1), None, None, None, True),
        (
            students["Борис"],
            class_id,
            dt.date(2026, 9, 1),
            dt.date(2027, 5, 31),
            "departure",
            None,
            True,
        ),
    ]


def test_student_record_links_movement(app, school, login):
    url = f"/students/show/{school.ids['OtherStudent']}"

    secretary_page = login(school.users["secretary"]).get(url).get_data(as_text=True)
    teacher_page = login(school.users["teacher"]).get(url).get_data(as_text=True)

    assert f"/movement/student/{school.ids['OtherStudent']}" in secretary_page
    assert "Зачисление, перевод и выбытие" in secretary_page
    assert 'data-testid="movement-link"' not in teacher_page


def test_student_screen_does_not_change_class(app, school, login):
    client = login(school.users["secretary"])

    client.post(
        f"/students/edit/{school.ids['OtherStudent']}",
        data={
            "last_name": "Другой",
            "first_name": "Пётр",
            "sex": "m",
            "school_class": school.ids["ParallelClass"],
            "is_active": "",
        },
    )

    student = _student(app, school.ids["OtherStudent"])
    assert student.class_id == school.ids["SchoolClass"]
    assert student.is_active


def test_student_search_ignores_case(app, school, login):
    client = login(school.users["secretary"])

    for typed in ("друг", "Друг", "ДРУГ"):
        page = client.get(f"/movement/?q={typed}").get_data(as_text=True)
        assert "Другой Пётр" in page, typed
        assert "Ученикова Анна" not in page, typed
