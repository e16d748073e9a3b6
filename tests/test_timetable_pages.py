"""Timetable pages: grids of a class, a teacher and a room, their scoping, and generation."""

import datetime as dt

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select

from app.models import Employee, Lesson, SchoolClass, Term, db
from tests.factories import WEEK_START, build_school_under


def _ids(world, key="A"):
    return world[key].ids


def test_class_grid_shows_template_entry(world, login):
    client = login(world["A"].users["principal"])
    response = client.get(f"/timetable/class/{_ids(world)['SchoolClass']}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Математика" in page
    assert "A-101" in page
    assert "Сотрудник t." in page
    assert "09:25" in page


def test_teacher_grid_shows_template_entry(app, world, login):
    teacher_id = _teacher_employee_id(app, world, "A")
    client = login(world["A"].users["principal"])
    response = client.get(f"/timetable/teacher/{teacher_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Математика" in page
    assert "5А" in page
    assert "A-101" in page


def test_room_grid_shows_template_entry(world, login):
    client = login(world["A"].users["teacher"])
    response = client.get(f"/timetable/room/{_ids(world)['Room']}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Математика" in page
    assert "5А" in page


def test_grid_has_five_days_without_saturday(world, login):
    client = login(world["A"].users["principal"])
    page = client.get(f"/timetable/class/{_ids(world)['SchoolClass']}").get_data(as_text=True)
    assert page.count("<th>Понедельник") + page.count("<th>Monday") == 1
    assert "Суббота" not in page
    assert "Saturday" not in page


def test_week_grid_shows_dated_lesson(world, login):
    client = login(world["A"].users["principal"])
    url = f"/timetable/class/{_ids(world)['SchoolClass']}?week={WEEK_START + dt.timedelta(days=2)}"
    response = client.get(url)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "05.10" in page
    assert "Математика" in page


def test_week_grid_invalid_week_is_reported(world, login):
    client = login(world["A"].users["principal"])
    response = client.get(f"/timetable/class/{_ids(world)['SchoolClass']}?week=05.10.2026")
    assert response.status_code == 200
    assert "05.10.2026" in response.get_data(as_text=True)


def test_other_school_ids_answer_404(app, world, login):
    client = login(world["A"].users["principal"])
    assert client.get(f"/timetable/class/{_ids(world, 'B')['SchoolClass']}").status_code == 404
    assert client.get(f"/timetable/room/{_ids(world, 'B')['Room']}").status_code == 404
    teacher_b = _teacher_employee_id(app, world, "B")
    assert client.get(f"/timetable/teacher/{teacher_b}").status_code == 404
    assert client.get("/timetable/class/999999").status_code == 404


def test_chooser_lists_own_school_only(world, login):
    client = login(world["A"].users["principal"])
    page = client.get("/timetable/").get_data(as_text=True)
    assert f"/timetable/class/{_ids(world)['SchoolClass']}" in page
    assert f"/timetable/room/{_ids(world)['Room']}" in page
    assert f"/timetable/class/{_ids(world, 'B')['SchoolClass']}" not in page
    assert "B-101" not in page


def test_student_index_opens_own_class(world, login):
    client = login(world["A"].users["student"])
    response = client.get("/timetable/")
    assert response.status_code == 302
    assert response.location.endswith(f"/timetable/class/{_ids(world)['SchoolClass']}")
    assert client.get(response.location).status_code == 200


def test_student_cannot_open_other_grids(app, world, login):
    with app.app_context():
        first_grade = db.session.scalars(
            select(SchoolClass.id).where(
                SchoolClass.school_id == world["A"].school_id, SchoolClass.grade == 1
            )
        ).one()
    teacher_id = _teacher_employee_id(app, world, "A")
    client = login(world["A"].users["student"])
    assert client.get(f"/timetable/class/{first_grade}").status_code == 404
    assert client.get(f"/timetable/room/{_ids(world)['Room']}").status_code == 404
    assert client.get(f"/timetable/teacher/{teacher_id}").status_code == 404


def test_parent_index_opens_child_class(world, login):
    client = login(world["A"].users["parent"])
    response = client.get("/timetable/")
    # Both children of the test parent are in 5А, so there is nothing to choose.
    assert response.status_code == 302
    assert response.location.endswith(f"/timetable/class/{_ids(world)['SchoolClass']}")
    assert client.get(response.location).status_code == 200


def test_student_cannot_generate(world, login):
    client = login(world["A"].users["student"])
    term_id = _ids(world)["Term"]
    assert client.post("/timetable/generate", data={"term_id": term_id}).status_code == 403


def test_teacher_cannot_generate(world, login):
    client = login(world["A"].users["teacher"])
    term_id = _ids(world)["Term"]
    assert client.post("/timetable/generate", data={"term_id": term_id}).status_code == 403


def test_principal_cannot_generate_other_school_term(world, login):
    client = login(world["A"].users["principal"])
    term_b = _ids(world, "B")["Term"]
    assert client.post("/timetable/generate", data={"term_id": term_b}).status_code == 404


def test_principal_generates_term_lessons(app, world, login):
    with app.app_context():
        school = build_school_under("TT", world.authority_ids["first"])
        first_quarter, second_quarter = db.session.scalars(
            select(Term.id)
            .where(Term.school_id == school.school_id, Term.kind == "quarter")
            .order_by(Term.number)
            .limit(2)
        ).all()
    client = login(school.users["principal"])

    response = client.post("/timetable/generate", data={"term_id": first_quarter})
    assert response.status_code == 302
    # Mondays of 1 Sep – 24 Oct 2026 are seven; the one of 5 Oct already has its lesson.
    assert _lesson_count(app, school.school_id) == 1 + 6
    page = client.get(response.location).get_data(as_text=True)
    assert "6" in page

    client.post("/timetable/generate", data={"term_id": first_quarter})
    assert _lesson_count(app, school.school_id) == 7

    # 3 Nov – 28 Dec 2026: eight Mondays, 9 Nov to 28 Dec.
    client.post("/timetable/generate", data={"term_id": second_quarter})
    assert _lesson_count(app, school.school_id) == 7 + 8


def _lesson_count(app, school_id):
    with app.app_context():
        return db.session.scalar(select(func.count(Lesson.id)).where(Lesson.school_id == school_id))


def _teacher_employee_id(app, world, key):
    statement = (
        select(Employee.id)
        .join(User, User.id == Employee.user_id)
        .where(User.username == world[key].users["teacher"])
    )
    with app.app_context():
        return db.session.scalar(statement)


def test_parent_chooses_among_children(app, world, login):
    from app.models import Guardian, Student

    with app.app_context():
        school = build_school_under("TP", world.authority_ids["first"])
        first_grade = db.session.scalars(
            select(SchoolClass.id).where(
                SchoolClass.school_id == school.school_id, SchoolClass.grade == 1
            )
        ).one()
        parent_user_id = db.session.scalar(
            select(User.id).where(User.username == school.users["parent"])
        )
        younger = Student(
            school_id=school.school_id,
            class_id=first_grade,
            last_name="Младший",
            first_name="Иван",
            sex="m",
        )
        barred_child = db.session.get(Student, school.ids["OtherStudent"])
        db.session.add(younger)
        db.session.flush()
        db.session.add_all(
            [
                Guardian(
                    school_id=school.school_id,
                    student_id=younger.id,
                    user_id=parent_user_id,
                    last_name="Ученикова",
                    first_name="Ольга",
                ),
                Guardian(
                    school_id=school.school_id,
                    student_id=barred_child.id,
                    user_id=parent_user_id,
                    last_name="Ученикова",
                    first_name="Ольга",
                    is_barred=True,
                ),
            ]
        )
        db.session.commit()

    client = login(school.users["parent"])
    response = client.get("/timetable/")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"/timetable/class/{school.ids['SchoolClass']}" in page
    assert f"/timetable/class/{first_grade}" in page
    assert "Младший" in page
    assert "Другой" not in page
    assert client.get(f"/timetable/class/{first_grade}").status_code == 200
