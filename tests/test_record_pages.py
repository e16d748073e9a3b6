"""Record pages of the generated screens show the form's fields, in the user's words."""

import pytest

#: (route, world id key) of record pages whose models have child rows or a login.
PAGES = [
    ("/classes/show/{}", "SchoolClass"),
    ("/years/show/{}", "AcademicYear"),
    ("/students/show/{}", "Student"),
    ("/subjects/show/{}", "Subject"),
]


@pytest.mark.parametrize("route, key", PAGES)
def test_record_page_hides_raw_values(world, login, route, key):
    school = world["A"]
    client = login(school.users["principal"])

    response = client.get(route.format(school.ids[key]))

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "object at 0x" not in page
    assert ">None<" not in page
    assert "Sgo Id" not in page


def test_student_page_shows_sex_label(world, login):
    school = world["A"]
    client = login(school.users["principal"])

    page = client.get(f"/students/show/{school.ids['Student']}").get_data(as_text=True)

    assert "Пол" in page
    assert "женский" in page.lower()


def test_confirm_dialog_is_russian(world, login):
    client = login(world["A"].users["principal"])

    page = client.get("/classes/list/").get_data(as_text=True)

    assert "Подтвердите действие" in page
    assert ">Отмена</button>" in page
    assert ">Cancel<" not in page


def test_empty_choice_shows_a_dash(world, login):
    client = login(world["A"].users["principal"])

    page = client.get("/classes/add").get_data(as_text=True)

    assert '<option selected value="__None">—</option>' in page
    assert ">__None<" not in page
