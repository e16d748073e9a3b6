"""The difficulty scale form checks grades and points and names the wrong value."""

import pytest
from sqlalchemy import func, select

from app.models import SubjectDifficulty, db
from tests.factories import build_extra_school


@pytest.fixture(scope="module")
def school(app):
    with app.app_context():
        return build_extra_school("fndDifficulty")


def _count(app, school_id) -> int:
    with app.app_context():
        statement = select(func.count()).select_from(SubjectDifficulty)
        statement = statement.where(
            SubjectDifficulty.school_id == school_id, SubjectDifficulty.subject_name == "Физика"
        )
        return db.session.scalar(statement)


def _post(client, grade_from, grade_to, points):
    data = {
        "subject_name": "Физика",
        "grade_from": str(grade_from),
        "grade_to": str(grade_to),
        "points": str(points),
    }
    return client.post("/subject-difficulty/add", data=data, follow_redirects=True)


@pytest.mark.parametrize(
    ("grade_from", "grade_to", "points", "message"),
    [
        (0, 9, 5, "Класс 0 указан неверно: введите параллель от 1 до 11."),
        (7, 12, 5, "Класс 12 указан неверно"),
        (9, 7, 5, "Последний класс 7 меньше первого 9"),
        (7, 9, 25, "Баллы 25 указаны неверно: введите число от 0 до 20."),
        (7, 9, -1, "Баллы -1 указаны неверно"),
    ],
)
def test_wrong_value_named(app, login, school, grade_from, grade_to, points, message):
    client = login(school.users["principal"])

    page = _post(client, grade_from, grade_to, points).get_data(as_text=True)

    assert message in page
    assert _count(app, school.school_id) == 0


def test_added_row_message(app, login, school):
    client = login(school.users["principal"])

    page = _post(client, 7, 9, 9).get_data(as_text=True)

    assert "Запись добавлена" in page
    assert "Добавлено строк" not in page
    assert _count(app, school.school_id) == 1


def test_school_admin_reads_scale(login, school):
    client = login(school.users["school_admin"])

    assert client.get("/subject-difficulty/list/").status_code == 200
    assert client.get("/subject-difficulty/add").status_code == 403
