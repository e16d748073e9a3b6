"""A secretary imports students through the browser: upload, preview, confirm."""

import csv
import io

import pytest
from sqlalchemy import select

from app.models import Student, db
from tests.browser import sign_in
from tests.factories import TEST_PASSWORD, build_extra_school

pytestmark = pytest.mark.browser

KEY = "XPB"
HEADER = ["Фамилия", "Имя", "Дата рождения", "Пол", "Класс", "Родитель 1: кем приходится"]
HEADER += ["Родитель 1: фамилия", "Родитель 1: имя", "Родитель 1: телефон"]


@pytest.fixture(scope="module")
def school(app):
    with app.app_context():
        return build_extra_school(KEY)


def _csv(tmp_path, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(HEADER)
    writer.writerows(rows)
    path = tmp_path / "ученики.csv"
    path.write_bytes(buffer.getvalue().encode("cp1251"))
    return path


def test_secretary_imports_students_in_browser(app, page, live_server, school, tmp_path):
    rows = [
        ["Браузерова", "Ирина", "03.04.2014", "ж", "5А", "мать", "Браузерова", "Нина", "+7 999 1"],
        ["Браузеров", "Олег", "05.06.2015", "м", "5А", "отец", "Браузеров", "Иван", ""],
    ]
    sign_in(page, live_server, f"secretary_{KEY}", TEST_PASSWORD)
    page.goto(f"{live_server}/import/students/")
    page.set_input_files("input[name=file]", str(_csv(tmp_path, rows)))
    page.click("[data-testid=import-upload] button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(tmp_path / "invalid.png"), full_page=True)

    assert page.locator("tr[data-status=invalid]").count() == 1
    assert page.locator("[data-testid=import-confirm]").count() == 0
    assert "Строка 2, столбец «Родитель 1: телефон», значение «+7 999 1»" in page.content()

    rows[0][8] = "+7 999 123-45-67"
    page.set_input_files("input[name=file]", str(_csv(tmp_path, rows)))
    page.click("[data-testid=import-upload] button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(tmp_path / "preview.png"), full_page=True)
    assert page.locator("tr[data-status=new]").count() == 2
    page.click("[data-testid=import-confirm] button[type=submit]")
    page.wait_for_load_state("networkidle")

    assert "/students/list/" in page.url
    assert "Импорт выполнен: добавлено 2, изменено 0." in page.content()
    with app.app_context():
        names = db.session.scalars(
            select(Student.first_name).where(Student.last_name.like("Браузеров%"))
        ).all()
        assert sorted(names) == ["Ирина", "Олег"]
