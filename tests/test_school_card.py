"""School card (паспорт ОУ): checks of values, who edits and reads it, the authority's export."""

import datetime as dt
import io
import itertools

import pytest
from openpyxl import load_workbook

from app.models import Employee, School, db
from app.services import school_card
from tests.factories import build_extra_school, build_school_under

SCHOOL_KEYS = itertools.count(1)

VALID_CARD = {
    "full_name": "Муниципальное бюджетное общеобразовательное учреждение «Школа № 7»",
    "name": "Школа № 7",
    "legal_form": "муниципальное бюджетное общеобразовательное учреждение",
    "founder": "Администрация городского округа",
    "inn": "7707083893",
    "kpp": "773601001",
    "ogrn": "1027700132195",
    "okpo": "00032537",
    "licence_number": "Л035-01298-77/00180341",
    "licence_date": "15.03.2016",
    "accreditation_number": "А007-01298-77/01043125",
    "accreditation_date": "2016-04-01",
    "accreditation_valid_until": "01.04.2028",
    "address": "г. Москва, ул. Школьная, д. 7",
    "actual_address": "г. Москва, ул. Школьная, д. 7, стр. 2",
    "phone": "+7 495 123-45-67",
    "email": "school7@example.ru",
    "website": "https://school7.example.ru",
    "principal_name": "Петрова Анна Ивановна",
    "deputies": "Сидоров И. И. — учебная работа\nКозлова М. П. — воспитательная работа",
    "building_count": "2",
    "design_capacity": "1100",
    "has_gym": "yes",
    "has_library": "no",
    "canteen_seats": "240",
    "computer_class_count": "3",
    "internet_speed_mbps": "100",
}


@pytest.fixture()
def school(app):
    """A school of its own, because the tests change its card."""
    with app.app_context():
        return build_extra_school(f"card-{next(SCHOOL_KEYS)}")


def _school(app, school_id) -> School:
    with app.app_context():
        school = db.session.get(School, school_id)
        db.session.expunge(school)
        return school


# --- Checks of single values ---------------------------------------------------------


@pytest.mark.parametrize("value", ["7707083893", "7736050003"])
def test_inn_valid(app, value):
    with app.test_request_context():
        assert school_card.inn_problem(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7707083894", "контрольн"),
        ("770708389", "10 цифр"),
        ("770708389312", "10 цифр"),
        ("77О7083893", "10 цифр"),
    ],
)
def test_inn_invalid(app, value, expected):
    with app.test_request_context(headers={"Accept-Language": "ru"}):
        problem = school_card.inn_problem(value)
    assert problem is not None
    assert value in problem
    assert expected in problem


def test_ogrn_checksum(app):
    with app.test_request_context():
        assert school_card.ogrn_problem("1027700132195") is None
        assert school_card.ogrn_problem("1027700132196") is not None
        assert school_card.ogrn_problem("102770013219") is not None


@pytest.mark.parametrize(("value", "valid"), [("773601001", True), ("7736AB001", True)])
def test_kpp_form(app, value, valid):
    with app.test_request_context():
        assert (school_card.kpp_problem(value) is None) is valid


@pytest.mark.parametrize("value", ["77360100", "7736010011", "77360ab01", "7736-0100"])
def test_kpp_invalid(app, value):
    with app.test_request_context():
        assert school_card.kpp_problem(value) is not None


# --- The school administrator edits --------------------------------------------------------


def test_admin_saves_card(app, school, login):
    client = login(school.users["school_admin"])

    response = client.post("/school-card/edit", data=VALID_CARD)

    assert response.status_code == 302
    saved = _school(app, school.school_id)
    assert saved.inn == "7707083893"
    assert saved.kpp == "773601001"
    assert saved.accreditation_date == dt.date(2016, 4, 1)
    assert saved.accreditation_valid_until == dt.date(2028, 4, 1)
    assert saved.design_capacity == 1100
    assert saved.has_gym is True
    assert saved.has_library is False
    page = client.get("/school-card/").get_data(as_text=True)
    assert "00032537" in page
    assert "01.04.2028" in page


def test_invalid_card_names_each_value(app, school, login):
    client = login(school.users["school_admin"])
    data = {
        **VALID_CARD,
        "inn": "1234567890",
        "kpp": "12345",
        "ogrn": "1027700132196",
        "email": "school7.example.ru",
        "licence_date": "31.02.2016",
        "canteen_seats": "-5",
        "accreditation_valid_until": "01.01.2015",
    }

    response = client.post("/school-card/edit", data=data)

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "ИНН «1234567890»" in page
    assert "КПП «12345»" in page
    assert "ОГРН «1027700132196»" in page
    assert "«school7.example.ru»" in page
    assert "«31.02.2016» — не дата" in page
    assert "«-5»" in page
    assert "01.01.2015" in page
    assert _school(app, school.school_id).inn is None


def test_future_licence_date_is_rejected(app, school, login):
    client = login(school.users["school_admin"])
    future = (dt.date.today() + dt.timedelta(days=30)).strftime("%d.%m.%Y")

    response = client.post("/school-card/edit", data={**VALID_CARD, "licence_date": future})

    assert response.status_code == 400
    assert "в будущем" in response.get_data(as_text=True)


def test_short_name_is_required(app, school, login):
    client = login(school.users["school_admin"])

    response = client.post("/school-card/edit", data={**VALID_CARD, "name": ""})

    assert response.status_code == 400
    assert _school(app, school.school_id).name == f"Школа № {school.key}"


def test_principal_name_from_staff(app, school, login):
    with app.app_context():
        principal = db.session.query(Employee).filter_by(
            school_id=school.school_id, first_name="principal"
        )
        employee_id = principal.one().id
    client = login(school.users["school_admin"])

    response = client.post(
        "/school-card/edit", data={**VALID_CARD, "principal_employee_id": employee_id}
    )

    assert response.status_code == 302
    assert _school(app, school.school_id).principal_name == "Сотрудник principal"


def test_principal_from_other_school_not_found(app, school, world, login):
    client = login(school.users["school_admin"])

    response = client.post(
        "/school-card/edit",
        data={**VALID_CARD, "principal_employee_id": world["B"].ids["Employee"]},
    )

    assert response.status_code == 404
    assert _school(app, school.school_id).inn is None


# --- Who reads and who changes ------------------------------------------------------------


def test_principal_reads_but_cannot_edit(app, school, login):
    client = login(school.users["principal"])

    assert client.get("/school-card/").status_code == 200
    assert client.get("/school-card/edit").status_code == 403
    assert client.post("/school-card/edit", data=VALID_CARD).status_code == 403
    assert _school(app, school.school_id).inn is None


@pytest.mark.parametrize(
    "role",
    ["teacher", "secretary", "hr", "medical", "psychologist", "technical_staff", "student"],
)
def test_other_school_roles_get_no_card(app, world, login, role):
    client = login(world["A"].users[role])

    assert client.get("/school-card/").status_code == 403
    assert client.post("/school-card/edit", data=VALID_CARD).status_code == 403


# --- The authority ------------------------------------------------------------------------


@pytest.fixture()
def authority_school(app, world):
    """A school of the first authority with a filled card."""
    with app.app_context():
        built = build_school_under(f"card-auth-{next(SCHOOL_KEYS)}", world.authority_ids["first"])
        school = db.session.get(School, built.school_id)
        school.inn = "7736050003"
        school.design_capacity = 825
        school.accreditation_valid_until = dt.date(2030, 6, 30)
        school.has_gym = True
        db.session.commit()
    return built


def test_authority_reads_own_school_card(app, world, authority_school, login):
    client = login(world.users["authority"])

    response = client.get(f"/school-cards/show/{authority_school.school_id}")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "7736050003" in page
    assert "30.06.2030" in page
    assert "Проектная мощность" in page


def test_authority_gets_404_for_other_authority(app, world, login):
    client = login(world.users["authority"])

    response = client.get(f"/school-cards/show/{world['C'].school_id}")

    assert response.status_code == 404


def test_authority_cannot_edit_school_card(app, world, login):
    client = login(world.users["authority"])

    assert client.get("/school-card/").status_code == 403
    assert client.post("/school-card/edit", data=VALID_CARD).status_code == 403


def test_authority_export_lists_own_schools(app, world, authority_school, login):
    client = login(world.users["authority"])

    response = client.get("/authority/school-cards/export.xlsx")

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    header = [cell.value for cell in sheet[3]]
    rows = {
        row[1]: dict(zip(header, row, strict=True))
        for row in sheet.iter_rows(min_row=4, values_only=True)
    }
    assert "ИНН" in header
    assert "Школа № A" in rows
    assert "Школа № B" in rows
    assert "Школа № C" not in rows
    exported = rows[f"Школа № {authority_school.key}"]
    assert exported["ИНН"] == "7736050003"
    assert exported["Проектная мощность, учащихся"] == 825
    assert exported["Аккредитация действует до"].date() == dt.date(2030, 6, 30)
    assert exported["Спортивный зал"] == "Да"


def test_school_roles_cannot_export_cards(app, world, login):
    client = login(world["A"].users["school_admin"])

    assert client.get("/authority/school-cards/export.xlsx").status_code == 403
