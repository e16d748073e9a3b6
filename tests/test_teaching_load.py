"""Teaching load: courses against the curriculum, teachers' hours, the page and its export.

The school of these tests, with hours a week:

- plan of grade 5: Математика 5, Русский язык 5, Английский язык 3, Музыка 1, Технология 2;
  a row of 5А itself gives Технология 1, and wins over the grade's row;
- courses of 5А: Математика 5 (the factory's), Русский язык 4, Английский язык in two
  groups of 3 and 2 hours, Технология 2, Информатика 1, and Музыка only as an
  extra-curricular course, which the plan comparison leaves out.

So English group 2 has 2 hours instead of 3, and Информатика is not in the plan. Музыка
has no lesson course. Русский язык has 4 hours instead of 5, and Технология 2 hours instead
of the class's 1. Mathematics and English group 1 match.
"""

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.models import (
    AcademicYear,
    Course,
    CurriculumHours,
    Employee,
    SchoolClass,
    StudyGroup,
    Subject,
    db,
)
from app.security.scope import Scope
from app.services.teaching_load import difference_text, teaching_load
from tests.factories import build_extra_school


@pytest.fixture(scope="module")
def school(app):
    with app.app_context():
        world = build_extra_school("loadL")
        sid = world.school_id
        fifth = db.session.get(SchoolClass, world.ids["SchoolClass"])
        year_id = fifth.year_id
        maths = db.session.get(Course, world.ids["Course"])
        factory_teacher = maths.teachers[0]
        ivanova = Employee(school_id=sid, last_name="Иванова", first_name="Ирина")
        smirnova = Employee(school_id=sid, last_name="Смирнова", first_name="Анна")
        subjects = {
            name: Subject(school_id=sid, name=name)
            for name in ("Русский язык", "Английский язык", "Музыка", "Технология", "Информатика")
        }
        db.session.add_all([ivanova, smirnova, *subjects.values()])
        db.session.flush()
        first_group = db.session.get(StudyGroup, world.ids["StudyGroup"])
        second_group = StudyGroup(
            school_id=sid, year_id=year_id, name="5А англ. 2", class_id=fifth.id
        )
        db.session.add(second_group)
        db.session.flush()

        def plan(subject, hours, class_id=None):
            db.session.add(
                CurriculumHours(
                    school_id=sid,
                    year_id=year_id,
                    subject_id=subjects[subject].id,
                    grade=5,
                    class_id=class_id,
                    hours_per_week=Decimal(hours),
                )
            )

        def course(subject, hours, teacher, group=None, kind="lesson"):
            db.session.add(
                Course(
                    school_id=sid,
                    year_id=year_id,
                    subject_id=subjects[subject].id,
                    class_id=fifth.id,
                    group_id=group.id if group else None,
                    hours_per_week=Decimal(hours),
                    teachers=[teacher],
                    kind=kind,
                )
            )

        plan("Русский язык", "5")
        plan("Английский язык", "3")
        plan("Музыка", "1")
        plan("Технология", "2")
        plan("Технология", "1", class_id=fifth.id)
        course("Русский язык", "4", ivanova)
        course("Английский язык", "3", smirnova, first_group)
        course("Английский язык", "2", smirnova, second_group)
        course("Технология", "2", factory_teacher)
        course("Информатика", "1", factory_teacher)
        course("Музыка", "1", ivanova, kind="extracurricular")
        db.session.commit()
        world.ids["ivanova"] = ivanova.id
        world.ids["smirnova"] = smirnova.id
        world.ids["factory_teacher"] = factory_teacher.id
        world.ids["year"] = year_id
        return world


def _scope(world, role: str, user_id: int | None = None) -> Scope:
    return Scope(
        user_id=user_id,
        membership_id=None,
        level="school",
        school_id=world.school_id,
        role_codes=frozenset({role}),
    )


def _load(world, role="principal", user_id=None):
    year = db.session.get(AcademicYear, world.ids["year"])
    return teaching_load(_scope(world, role, user_id), year)


def test_differences_per_class_and_subject(app, school):
    with app.app_context():
        load = _load(school)
        found = [
            (d.class_name, d.subject, d.group, d.kind, d.planned, d.taught)
            for d in load.differences
        ]
    assert found == [
        ("5А", "Английский язык", "5А англ. 2", "too_few", Decimal(3), Decimal(2)),
        ("5А", "Информатика", None, "not_in_plan", None, Decimal(1)),
        ("5А", "Музыка", None, "no_course", Decimal(1), None),
        ("5А", "Русский язык", None, "too_few", Decimal(5), Decimal(4)),
        ("5А", "Технология", None, "too_many", Decimal(1), Decimal(2)),
    ]


def test_difference_messages_are_russian(app, school):
    with app.app_context():
        load = _load(school)
        messages = {d.subject: difference_text(d) for d in load.differences}
    assert messages["Русский язык"] == "Мало часов: 4 ч в неделю вместо 5."
    assert messages["Технология"] == "Много часов: 2 ч в неделю вместо 1."
    assert messages["Музыка"] == "Нет курса: по плану 1 ч в неделю."
    assert messages["Информатика"] == (
        "Нет в учебном плане параллели или класса: по курсам 1 ч в неделю."
    )


def test_teacher_totals_by_class(app, school):
    with app.app_context():
        load = _load(school)
        totals = {t.employee_id: (t.by_class, t.total) for t in load.teachers}
    ids = school.ids
    # Mathematics 5, technology 2 and informatics 1.
    assert totals[ids["factory_teacher"]] == ({"5А": Decimal(8)}, Decimal(8))
    # Russian 4 and the extra-curricular music 1: every kind counts in a teacher's hours.
    assert totals[ids["ivanova"]] == ({"5А": Decimal(5)}, Decimal(5))
    # Both English groups: 3 and 2.
    assert totals[ids["smirnova"]] == ({"5А": Decimal(5)}, Decimal(5))


def test_teacher_sees_only_own_courses(app, school):
    with app.app_context():
        user_id = db.session.scalar(
            select(Employee.user_id).where(Employee.id == school.ids["factory_teacher"])
        )
        load = _load(school, role="teacher", user_id=user_id)
        subjects = sorted(course.subject for course in load.courses)
        teacher_ids = [t.employee_id for t in load.teachers]
    assert subjects == ["Информатика", "Математика", "Технология"]
    assert teacher_ids == [school.ids["factory_teacher"]]
    assert load.differences == []
    assert load.school_wide is False


def test_page_lists_differences_for_principal(login, school):
    client = login(school.users["principal"])

    response = client.get("/teaching-load/")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.count('data-testid="load-difference"') == 5
    assert "Мало часов: 2 ч в неделю вместо 3." in page
    assert "Иванова И." in page


def test_page_of_teacher_hides_others(login, school):
    client = login(school.users["teacher"])

    page = client.get("/teaching-load/").get_data(as_text=True)

    assert 'data-testid="load-differences"' not in page
    assert "Иванова" not in page
    assert "Информатика" in page


@pytest.mark.parametrize("role", ["secretary", "medical", "student", "parent"])
def test_page_forbidden_to_other_roles(login, school, role):
    client = login(school.users[role])

    response = client.get("/teaching-load/")

    assert response.status_code == 403


def test_export_has_differences_and_totals(login, school):
    client = login(school.users["school_admin"])

    response = client.get("/teaching-load/export.xlsx")

    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == [
        "Курсы",
        "Отличия от учебного плана",
        "Учителя по классам",
        "Итого по учителям",
    ]
    differences = [row for row in workbook["Отличия от учебного плана"].iter_rows(values_only=True)]
    # Title, filters and header rows come first.
    assert differences[3] == (
        "5А",
        "Английский язык",
        "5А англ. 2",
        "Мало часов: 2 ч в неделю вместо 3.",
    )
    assert len(differences) == 3 + 5
    totals = {
        row[0]: row[1]
        for row in workbook["Итого по учителям"].iter_rows(min_row=4, values_only=True)
    }
    assert totals["Иванова И."] == 5
