"""A class teacher entering marks in every subject of their class, when the school allows it.

The factory's teacher leads 5А. Each test builds its own school and a course of 5А that a
colleague teaches, so the class teacher reaches it only through the school setting.
"""

import itertools

import pytest
from sqlalchemy import select

from app.models import Assignment, AssignmentType, JournalAudit, Mark, School, db
from tests.factories import add_course_with_lesson, add_teacher, build_extra_school

SETTINGS_URL = "/school-settings/"

_school_numbers = itertools.count(1)


@pytest.fixture()
def school(app, world):
    with app.app_context():
        return build_extra_school(f"CT{next(_school_numbers):02d}")


def add_colleague_course(app, school, class_name: str = "5А") -> dict:
    """A course of the class taught by another teacher, with a lesson and an assignment."""
    with app.app_context():
        colleague = add_teacher(school, f"colleague_{school.key}_{class_name}")
        course, lesson = add_course_with_lesson(
            school, f"История {class_name}", class_name=class_name, teachers=[colleague]
        )
        type_id = db.session.scalar(
            select(AssignmentType.id).where(
                AssignmentType.school_id == school.school_id,
                AssignmentType.name == "Контрольная работа",
            )
        )
        assignment = Assignment(
            school_id=school.school_id, lesson_id=lesson.id, type_id=type_id, weight=1
        )
        db.session.add(assignment)
        db.session.commit()
        return {"course": course.id, "lesson": lesson.id, "assignment": assignment.id}


def allow_class_teachers(client, allowed: bool):
    """Post the school settings form with the factory's values and the setting given."""
    data = {
        "shifts": "1",
        "max_mark": "5",
        "weighting_enabled": "1",
        "absence_note_max_days": "3",
        "mark_lock_days": "",
    }
    if allowed:
        data["class_teacher_enters_all"] = "1"
    response = client.post(SETTINGS_URL, data=data)
    assert response.status_code == 302


def save_cell(client, parts, student_id, value):
    return client.post(
        f"/journal/lesson/{parts['lesson']}/cell",
        json={"student": student_id, "assignment": parts["assignment"], "value": value},
    )


def stored_value(app, parts, student_id):
    with app.app_context():
        return db.session.scalar(
            select(Mark.value).where(
                Mark.assignment_id == parts["assignment"], Mark.student_id == student_id
            )
        )


def user_id(app, username):
    with app.app_context():
        return app.appbuilder.sm.find_user(username=username).id


def test_setting_off_by_default(app, school):
    with app.app_context():
        assert db.session.get(School, school.school_id).class_teacher_enters_all is False


def test_setting_off_class_teacher_cannot_open(app, school, login):
    parts = add_colleague_course(app, school)
    student = school.ids["Student"]
    teacher = login(school.users["teacher"])

    assert teacher.get(f"/journal/course/{parts['course']}").status_code == 404
    assert teacher.get(f"/journal/lesson/{parts['lesson']}").status_code == 404
    assert save_cell(teacher, parts, student, "4").status_code == 404
    response = teacher.post(
        f"/journal/lesson/{parts['lesson']}",
        data={f"mark-{parts['assignment']}-{student}": "4"},
    )
    assert response.status_code == 404
    assert f'href="/journal/course/{parts["course"]}"' not in teacher.get("/journal/").text
    assert stored_value(app, parts, student) is None


def test_setting_on_class_teacher_writes_audited(app, school, login):
    parts = add_colleague_course(app, school)
    student = school.ids["Student"]
    allow_class_teachers(login(school.users["school_admin"]), True)
    teacher = login(school.users["teacher"])

    assert f'href="/journal/course/{parts["course"]}"' in teacher.get("/journal/").text
    assert teacher.get(f"/journal/course/{parts['course']}").status_code == 200
    response = save_cell(teacher, parts, student, "4")
    assert response.status_code == 200
    assert stored_value(app, parts, student) == 4

    # The lesson form writes too.
    sibling = school.ids["SiblingStudent"]
    response = teacher.post(
        f"/journal/lesson/{parts['lesson']}",
        data={
            f"mark-{parts['assignment']}-{student}": "4",
            f"mark-{parts['assignment']}-{sibling}": "3",
        },
    )
    assert response.status_code == 302
    assert stored_value(app, parts, sibling) == 3

    with app.app_context():
        rows = db.session.scalars(
            select(JournalAudit)
            .where(
                JournalAudit.school_id == school.school_id,
                JournalAudit.assignment_id == parts["assignment"],
            )
            .order_by(JournalAudit.id)
        )
        audit = [(r.entity, r.action, r.new_value, r.user_id, r.student_id) for r in rows]
    teacher_id = user_id(app, school.users["teacher"])
    assert audit == [
        ("mark", "create", "4", teacher_id, student),
        ("mark", "create", "3", teacher_id, sibling),
    ]


def test_setting_on_other_class_stays_closed(app, school, login):
    """The class teacher of 5А does not lead 1А, so its courses stay closed."""
    parts = add_colleague_course(app, school, class_name="1А")
    allow_class_teachers(login(school.users["school_admin"]), True)
    teacher = login(school.users["teacher"])

    assert teacher.get(f"/journal/course/{parts['course']}").status_code == 404
    assert teacher.get(f"/journal/lesson/{parts['lesson']}").status_code == 404


def test_setting_on_teacher_without_class_gets_404(app, school, login):
    parts = add_colleague_course(app, school)
    allow_class_teachers(login(school.users["school_admin"]), True)
    with app.app_context():
        add_teacher(school, f"no_class_{school.key}")
        db.session.commit()
    other = login(f"no_class_{school.key}")

    assert other.get(f"/journal/course/{parts['course']}").status_code == 404
    assert save_cell(other, parts, school.ids["Student"], "4").status_code == 404


def test_setting_turned_off_again_closes(app, school, login):
    parts = add_colleague_course(app, school)
    admin = login(school.users["school_admin"])
    allow_class_teachers(admin, True)
    teacher = login(school.users["teacher"])
    assert save_cell(teacher, parts, school.ids["Student"], "5").status_code == 200

    allow_class_teachers(admin, False)

    assert save_cell(teacher, parts, school.ids["Student"], "4").status_code == 404
    assert stored_value(app, parts, school.ids["Student"]) == 5


def test_setting_of_other_school_does_not_apply(app, school, world, login):
    """School A keeps the setting off while this school turns it on."""
    allow_class_teachers(login(school.users["school_admin"]), True)
    with app.app_context():
        assert db.session.get(School, world["A"].school_id).class_teacher_enters_all is False
        assert db.session.get(School, school.school_id).class_teacher_enters_all is True
