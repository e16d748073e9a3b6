"""Saving one cell of the course grid: the lesson form's rules through a JSON endpoint."""

import datetime as dt
import html
import re
from decimal import Decimal

from sqlalchemy import select

from app.models import Assignment, Course, JournalAudit, Lesson, Mark, School, Term, db
from tests.factories import add_course_with_lesson, add_teacher, build_extra_school


def new_school(app, key):
    with app.app_context():
        return build_extra_school(key)


def lesson_parts(app, school):
    """(lesson id, [test id, homework id], course id, first quarter id) of the school's lesson."""
    with app.app_context():
        lesson = db.session.get(Lesson, school.ids["Lesson"])
        term_id = db.session.scalar(
            select(Term.id).where(
                Term.school_id == school.school_id, Term.number == 1, Term.kind == "quarter"
            )
        )
        return lesson.id, [a.id for a in lesson.assignments][:2], lesson.course_id, term_id


def save(client, lesson_id, **body):
    return client.post(f"/journal/lesson/{lesson_id}/cell", json=body)


def stored_mark(app, assignment_id, student_id):
    """(display, comment) of a stored mark, or None."""
    with app.app_context():
        mark = db.session.scalar(
            select(Mark).where(Mark.assignment_id == assignment_id, Mark.student_id == student_id)
        )
        return None if mark is None else (mark.display(), mark.comment)


def audit_rows(app, school) -> list[tuple]:
    with app.app_context():
        rows = db.session.scalars(
            select(JournalAudit)
            .where(JournalAudit.school_id == school.school_id, JournalAudit.entity == "mark")
            .order_by(JournalAudit.id)
        )
        return [
            (r.action, r.old_value, r.new_value, r.is_correction, r.user_id, r.assignment_id)
            for r in rows
        ]


def user_id(app, username):
    with app.app_context():
        return app.appbuilder.sm.find_user(username=username).id


def grid_average(client, course_id, term_id, student_id) -> str:
    page = client.get(f"/journal/course/{course_id}?term={term_id}")
    row = page.text.split(f'data-student="{student_id}"')[1].split("</tr>")[0]
    return re.search(r'data-testid="average"><strong>([^<]*)<', row).group(1)


def set_first_quarter_closed(app, school):
    with app.app_context():
        term = db.session.scalar(
            select(Term).where(
                Term.school_id == school.school_id, Term.number == 1, Term.kind == "quarter"
            )
        )
        term.is_closed = True
        db.session.commit()
        return term.name


# --- Saving ---------------------------------------------------------------------------


def test_teacher_saves_changes_and_clears_cell(app, world, login):
    school = new_school(app, "JC1")
    lesson_id, (test_id, _homework), course_id, term_id = lesson_parts(app, school)
    sibling = school.ids["SiblingStudent"]
    teacher = login(school.users["teacher"])
    teacher_id = user_id(app, school.users["teacher"])
    cell = dict(student=sibling, assignment=test_id, term=term_id)

    saved = save(teacher, lesson_id, value=" 4 ", seen="", **cell)
    assert saved.status_code == 200
    assert saved.json["value"] == "4"
    assert saved.json["display"] == "4"
    assert saved.json["kind"] == "number"
    assert saved.json["changed"] is True
    assert saved.json["correction"] is False
    # The answer's average is the one the grid shows in the row.
    assert saved.json["average"] == grid_average(teacher, course_id, term_id, sibling)
    assert stored_mark(app, test_id, sibling) == ("4", None)

    changed = save(teacher, lesson_id, value="3", seen="4", **cell)
    assert changed.status_code == 200
    assert changed.json["average"] == grid_average(teacher, course_id, term_id, sibling)
    assert changed.json["average"] != saved.json["average"]
    assert stored_mark(app, test_id, sibling) == ("3", None)

    # The same value again changes nothing and writes no audit row.
    again = save(teacher, lesson_id, value="3", seen="3", **cell)
    assert (again.status_code, again.json["changed"]) == (200, False)

    cleared = save(teacher, lesson_id, value="", seen="3", **cell)
    assert cleared.status_code == 200
    assert (cleared.json["value"], cleared.json["display"], cleared.json["kind"]) == ("", "", None)
    assert cleared.json["average"] == grid_average(teacher, course_id, term_id, sibling)
    assert stored_mark(app, test_id, sibling) is None

    assert audit_rows(app, school) == [
        ("create", None, "4", False, teacher_id, test_id),
        ("change", "4", "3", False, teacher_id, test_id),
        ("delete", "3", None, False, teacher_id, test_id),
    ]


def test_change_keeps_comment_and_duty_mark_reads_back(app, world, login):
    school = new_school(app, "JC2")
    lesson_id, (test_id, _homework), _course, term_id = lesson_parts(app, school)
    student = school.ids["Student"]
    with app.app_context():
        mark = db.session.scalar(
            select(Mark).where(Mark.assignment_id == test_id, Mark.student_id == student)
        )
        mark.comment = "ошибка в задаче 2"
        db.session.commit()
    teacher = login(school.users["teacher"])

    # Without an assignment the cell addresses the lesson's first one, as the grid does.
    response = save(teacher, lesson_id, student=student, value="4", seen="5", term=term_id)
    assert response.status_code == 200
    assert stored_mark(app, test_id, student) == ("4", "ошибка в задаче 2")

    duty = save(teacher, lesson_id, student=student, value="точка", seen="4", term=term_id)
    assert (duty.json["value"], duty.json["display"], duty.json["kind"]) == (".", "•", "duty")
    # A duty mark does not count, so nothing is left to average.
    assert duty.json["average"] == "—"


def test_invalid_value_refused_with_lesson_form_message(app, world, login):
    school = new_school(app, "JC3")
    lesson_id, (test_id, _homework), _course, term_id = lesson_parts(app, school)
    student = school.ids["Student"]
    teacher = login(school.users["teacher"])

    response = save(
        teacher, lesson_id, student=student, assignment=test_id, value="7", seen="5", term=term_id
    )
    assert response.status_code == 400
    message = response.json["message"]
    assert '"7"' in message or "«7»" in message
    # The lesson form gives the very same message for the same cell.
    form = teacher.post(f"/journal/lesson/{lesson_id}", data={f"mark-{test_id}-{student}": "7"})
    assert form.status_code == 400
    assert message in html.unescape(form.text)
    assert stored_mark(app, test_id, student) == ("5", None)
    assert audit_rows(app, school) == []


def test_lesson_without_assignment_and_incomplete_request(app, world, login):
    school = new_school(app, "JC4")
    with app.app_context():
        course = db.session.get(Course, school.ids["Course"])
        teachers = list(course.teachers)
        _course, bare = add_course_with_lesson(school, "Черчение", teachers=teachers)
        db.session.commit()
        bare_id = bare.id
    lesson_id, (test_id, _homework), _course, _term = lesson_parts(app, school)
    student = school.ids["Student"]
    teacher = login(school.users["teacher"])

    response = save(teacher, bare_id, student=student, value="4", seen="")
    assert response.status_code == 400
    assert response.json["message"]
    missing_value = save(teacher, lesson_id, student=student, assignment=test_id)
    assert missing_value.status_code == 400
    assert teacher.post(f"/journal/lesson/{lesson_id}/cell", data="x").status_code == 404
    assert stored_mark(app, test_id, student) == ("5", None)


# --- Locks --------------------------------------------------------------------------


def test_closed_term_refused_principal_corrects(app, world, login):
    school = new_school(app, "JC5")
    lesson_id, (test_id, _homework), _course, term_id = lesson_parts(app, school)
    student = school.ids["Student"]
    term_name = set_first_quarter_closed(app, school)
    cell = dict(student=student, assignment=test_id, term=term_id)

    refused = save(login(school.users["teacher"]), lesson_id, value="2", seen="5", **cell)
    assert refused.status_code == 403
    assert term_name in refused.json["message"]
    assert stored_mark(app, test_id, student) == ("5", None)
    assert audit_rows(app, school) == []

    principal = login(school.users["principal"])
    corrected = save(principal, lesson_id, value="4", seen="5", **cell)
    assert corrected.status_code == 200
    assert corrected.json["correction"] is True
    assert stored_mark(app, test_id, student) == ("4", None)
    assert audit_rows(app, school) == [
        ("change", "5", "4", True, user_id(app, school.users["principal"]), test_id)
    ]


def test_mark_lock_days(app, world, login):
    school = new_school(app, "JC6")
    with app.app_context():
        db.session.get(School, school.school_id).mark_lock_days = 3
        course = db.session.get(Course, school.ids["Course"])
        _course, old = add_course_with_lesson(
            school,
            "Астрономия",
            teachers=course.teachers,
            day=dt.date.today() - dt.timedelta(days=10),
        )
        type_id = db.session.get(Assignment, school.ids["Assignment"]).type_id
        assignment = Assignment(
            school_id=school.school_id, lesson_id=old.id, type_id=type_id, weight=Decimal("1")
        )
        db.session.add(assignment)
        db.session.commit()
        old_id, assignment_id = old.id, assignment.id
    student = school.ids["Student"]
    cell = dict(student=student, assignment=assignment_id, value="4", seen="")

    refused = save(login(school.users["teacher"]), old_id, **cell)
    assert refused.status_code == 403
    assert "3" in refused.json["message"]
    assert stored_mark(app, assignment_id, student) is None

    corrected = save(login(school.users["principal"]), old_id, **cell)
    assert corrected.status_code == 200
    assert [row[3] for row in audit_rows(app, school)] == [True]


# --- Concurrent edits ---------------------------------------------------------------


def test_concurrent_edit_answers_409_with_current_value(app, world, login):
    school = new_school(app, "JC7")
    lesson_id, (test_id, _homework), course_id, term_id = lesson_parts(app, school)
    student = school.ids["Student"]
    with app.app_context():
        colleague = add_teacher(school, "teacher_JC7_second")
        course = db.session.get(Course, course_id)
        course.teachers.append(colleague)
        db.session.commit()
        first_user = app.appbuilder.sm.find_user(username=school.users["teacher"])
        first_name = f"{first_user.first_name} {first_user.last_name}"
    first = login(school.users["teacher"])
    second = login("teacher_JC7_second")
    cell = dict(student=student, assignment=test_id, term=term_id)

    assert save(first, lesson_id, value="4", seen="5", **cell).status_code == 200
    # The second teacher's grid still shows «5».
    conflict = save(second, lesson_id, value="3", seen="5", **cell)
    assert conflict.status_code == 409
    assert (conflict.json["value"], conflict.json["display"]) == ("4", "4")
    assert conflict.json["changed_by"] == first_name
    assert first_name in conflict.json["message"]
    assert "«4»" in conflict.json["message"]
    assert conflict.json["average"] == grid_average(second, course_id, term_id, student)
    assert stored_mark(app, test_id, student) == ("4", None)

    # With the current value seen, the save goes through.
    assert save(second, lesson_id, value="3", seen="4", **cell).status_code == 200
    assert stored_mark(app, test_id, student) == ("3", None)
    assert [row[0:3] for row in audit_rows(app, school)] == [
        ("change", "5", "4"),
        ("change", "4", "3"),
    ]


# --- Who may save which cell ---------------------------------------------------------


def test_ids_of_other_school_or_lesson_are_not_found(app, world, login):
    school = new_school(app, "JC8")
    lesson_id, (test_id, _homework), _course, term_id = lesson_parts(app, school)
    student = school.ids["Student"]
    other = world["B"]
    with app.app_context():
        course = db.session.get(Course, school.ids["Course"])
        teachers = list(course.teachers)
        _course, second = add_course_with_lesson(school, "Черчение", teachers=teachers)
        db.session.commit()
        second_id = second.id
    teacher = login(school.users["teacher"])
    cell = dict(student=student, assignment=test_id, value="2", seen="5", term=term_id)

    other_lesson = dict(cell, student=other.ids["Student"], assignment=other.ids["Assignment"])
    assert save(teacher, other.ids["Lesson"], **other_lesson).status_code == 404
    assert save(teacher, lesson_id, **dict(cell, student=other.ids["Student"])).status_code == 404
    assert save(teacher, lesson_id, **dict(cell, student="x")).status_code == 404
    wrong_assignment = dict(cell, assignment=other.ids["Assignment"])
    assert save(teacher, lesson_id, **wrong_assignment).status_code == 404
    assert save(teacher, lesson_id, **dict(cell, term=other.ids["Term"])).status_code == 404
    # An assignment of another lesson of the same school is not this cell's either.
    assert save(teacher, second_id, **cell).status_code == 404
    assert stored_mark(app, test_id, student) == ("5", None)
    with app.app_context():
        assert (
            db.session.scalar(
                select(Mark.value).where(
                    Mark.assignment_id == other.ids["Assignment"],
                    Mark.student_id == other.ids["Student"],
                )
            )
            == 5
        )


def test_teacher_of_another_course_gets_404(app, world, login):
    school = new_school(app, "JC9")
    with app.app_context():
        colleague = add_teacher(school, "colleague_JC9")
        _course, lesson = add_course_with_lesson(school, "Физика", teachers=[colleague])
        type_id = db.session.get(Assignment, school.ids["Assignment"]).type_id
        assignment = Assignment(
            school_id=school.school_id, lesson_id=lesson.id, type_id=type_id, weight=Decimal("1")
        )
        db.session.add(assignment)
        db.session.commit()
        lesson_id, assignment_id = lesson.id, assignment.id
    cell = dict(student=school.ids["Student"], assignment=assignment_id, value="4", seen="")

    assert save(login(school.users["teacher"]), lesson_id, **cell).status_code == 404
    assert save(login("colleague_JC9"), lesson_id, **cell).status_code == 200
    for role in ("student", "parent", "secretary"):
        assert save(login(school.users[role]), lesson_id, **cell).status_code in (302, 403)


def test_csrf_token_accepted_from_header(app, world, login):
    """The grid sends the page's token in X-CSRFToken; without it the save is refused."""
    school = new_school(app, "JC10")
    lesson_id, (test_id, _homework), course_id, term_id = lesson_parts(app, school)
    student = school.ids["Student"]
    teacher = login(school.users["teacher"])
    page = teacher.get(f"/journal/course/{course_id}?term={term_id}")
    token = re.search(r'data-csrf="([^"]+)"', page.text).group(1)
    cell = dict(student=student, assignment=test_id, value="4", seen="5", term=term_id)

    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert save(teacher, lesson_id, **cell).status_code == 400
        assert stored_mark(app, test_id, student) == ("5", None)
        response = teacher.post(
            f"/journal/lesson/{lesson_id}/cell", json=cell, headers={"X-CSRFToken": token}
        )
        assert response.status_code == 200
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert stored_mark(app, test_id, student) == ("4", None)


# --- The grid page ------------------------------------------------------------------


def test_grid_cells_editable_for_writers_only(app, world, login):
    school = new_school(app, "JC11")
    lesson_id, (test_id, _homework), course_id, term_id = lesson_parts(app, school)
    url = f"/journal/course/{course_id}?term={term_id}"

    page = login(school.users["teacher"]).get(url)
    assert "journal_grid.js" in page.text
    cell = page.text.split(f'data-student="{school.ids["Student"]}"')[1].split("</td>", 2)[1]
    assert f'data-assignment="{test_id}"' in cell
    assert 'data-seen="5"' in cell
    assert f'data-url="/journal/lesson/{lesson_id}/cell"' in page.text

    with app.app_context():
        course = db.session.get(Course, course_id)
        course.teachers = []
        colleague = add_teacher(school, "colleague_JC11")
        db.session.get(Lesson, lesson_id).substitute_id = colleague.id
        db.session.commit()
    substitute = login("colleague_JC11").get(url)
    assert substitute.status_code == 200
    assert "journal_grid.js" not in substitute.text
    assert "data-assignment=" not in substitute.text
