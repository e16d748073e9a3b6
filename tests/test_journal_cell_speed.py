"""Saving one grid cell in few statements, with the same rows and responses as before."""

from contextlib import contextmanager
from decimal import Decimal

from sqlalchemy import event, select

from app.models import Assignment, Course, JournalAudit, Mark, StudyGroup, db
from tests.factories import add_course_with_lesson
from tests.test_journal_cell import lesson_parts, new_school, save

#: Statements one teacher's save sends, on SQLite and PostgreSQL. Sign-in and permissions
#: take 5. The save takes 7: the journal rights, the locked lesson with its teachers, the
#: cell, the terms, the mark, its audit row and the average.
SAVE_STATEMENTS = 12


@contextmanager
def counted_statements(app):
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def cell_audit(app, school, student_id):
    with app.app_context():
        return [
            (row.action, row.record_id, row.old_value, row.new_value)
            for row in db.session.scalars(
                select(JournalAudit)
                .where(
                    JournalAudit.school_id == school.school_id,
                    JournalAudit.entity == "mark",
                    JournalAudit.student_id == student_id,
                )
                .order_by(JournalAudit.id)
            )
        ]


def mark_id(app, assignment_id, student_id):
    with app.app_context():
        return db.session.scalar(
            select(Mark.id).where(
                Mark.assignment_id == assignment_id, Mark.student_id == student_id
            )
        )


def test_save_sends_few_statements(app, world, login):
    school = new_school(app, "JS1")
    lesson_id, (test_id, _homework), _course, term_id = lesson_parts(app, school)
    teacher = login(school.users["teacher"])
    cell = dict(student=school.ids["SiblingStudent"], assignment=test_id, term=term_id)
    assert save(teacher, lesson_id, value="4", seen="", **cell).status_code == 200

    with counted_statements(app) as statements:
        response = save(teacher, lesson_id, value="3", seen="4", **cell)
    assert response.status_code == 200
    writes = [s for s in statements if not s.lstrip().upper().startswith("SELECT")]
    assert len(statements) <= SAVE_STATEMENTS, "\n".join(statements)
    # One change of the mark and one audit row, and no reload of what was written.
    assert len([s for s in writes if s.lstrip().upper().startswith(("UPDATE", "INSERT"))]) == 2


def test_audit_rows_name_mark_id(app, world, login):
    school = new_school(app, "JS2")
    lesson_id, (test_id, _homework), _course, term_id = lesson_parts(app, school)
    sibling = school.ids["SiblingStudent"]
    teacher = login(school.users["teacher"])
    cell = dict(student=sibling, assignment=test_id, term=term_id)

    created = save(teacher, lesson_id, value="незач", seen="", **cell)
    assert created.status_code == 400
    created = save(teacher, lesson_id, value="5", seen="", **cell)
    assert created.status_code == 200
    new_id = mark_id(app, test_id, sibling)
    assert new_id is not None
    assert save(teacher, lesson_id, value="", seen="5", **cell).status_code == 200
    assert mark_id(app, test_id, sibling) is None
    assert cell_audit(app, school, sibling) == [
        ("create", new_id, None, "5"),
        ("delete", new_id, "5", None),
    ]


def test_conflict_returns_term_average(app, world, login):
    school = new_school(app, "JS3")
    lesson_id, (test_id, _homework), _course, term_id = lesson_parts(app, school)
    teacher = login(school.users["teacher"])
    cell = dict(student=school.ids["Student"], assignment=test_id, term=term_id)

    saved = save(teacher, lesson_id, value="4", seen="5", **cell)
    assert saved.status_code == 200
    conflict = save(teacher, lesson_id, value="3", seen="5", **cell)
    assert conflict.status_code == 409
    assert conflict.json["average"] == saved.json["average"]


def test_group_course_rejects_other_students(app, world, login):
    school = new_school(app, "JS4")
    with app.app_context():
        base = db.session.get(Course, school.ids["Course"])
        group = db.session.scalar(
            select(StudyGroup).where(StudyGroup.school_id == school.school_id)
        )
        course, lesson = add_course_with_lesson(school, "Английский язык", teachers=base.teachers)
        course.group_id = group.id
        type_id = db.session.get(Assignment, school.ids["Assignment"]).type_id
        assignment = Assignment(
            school_id=school.school_id, lesson_id=lesson.id, type_id=type_id, weight=Decimal("2")
        )
        db.session.add(assignment)
        db.session.commit()
        lesson_id, assignment_id = lesson.id, assignment.id
    teacher = login(school.users["teacher"])
    cell = dict(assignment=assignment_id, value="4", seen="")

    in_group = save(teacher, lesson_id, student=school.ids["Student"], **cell)
    assert in_group.status_code == 200
    assert in_group.json["average"] == "4,00"
    outside = save(teacher, lesson_id, student=school.ids["SiblingStudent"], **cell)
    assert outside.status_code == 404
    # An id too large for the database is not found either.
    assert save(teacher, lesson_id, student=10**12, **cell).status_code == 404
