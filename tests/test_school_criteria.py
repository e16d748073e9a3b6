"""The second tenancy layer: ORM queries of a school session see only that school."""

import threading
import time

from sqlalchemy import delete, func, select
from sqlalchemy.orm import aliased, joinedload

from app.models import Assignment, Lesson, Mark, Student, db
from app.security.criteria import built_once, set_request_school


def test_unfiltered_query_sees_only_request_school(app, world):
    school_a = world["A"].school_id
    with app.test_request_context():
        set_request_school(school_a)
        schools = set(db.session.scalars(select(Student.school_id)))
        set_request_school(None)
        db.session.rollback()
    assert schools == {school_a}


def test_relationship_load_is_filtered_too(app, world):
    school_a, school_b = world["A"].school_id, world["B"].school_id
    lesson_a = world["A"].ids["Lesson"]
    with app.app_context():
        # A row of school B hung under school A's lesson: only a bug could make one, and
        # the layer must still keep it out of school A's pages.
        stray = Assignment(
            school_id=school_b,
            lesson_id=lesson_a,
            type_id=world["B"].ids["AssignmentType"],
            weight=1,
            text="stray",
        )
        db.session.add(stray)
        db.session.commit()
        stray_id = stray.id

    try:
        with app.test_request_context():
            set_request_school(school_a)
            lesson = db.session.get(Lesson, lesson_a)
            texts = {assignment.text for assignment in lesson.assignments}
            set_request_school(None)
            db.session.rollback()
    finally:
        with app.app_context():
            db.session.execute(delete(Assignment).where(Assignment.id == stray_id))
            db.session.commit()

    assert "stray" not in texts
    assert texts


def test_joins_aliases_and_legacy_queries_are_filtered(app, world):
    """The school reaches the criterion as a parameter on every kind of ORM statement."""
    school_a = world["A"].school_id
    with app.test_request_context():
        set_request_school(school_a)
        marked = aliased(Student)
        joined = set(
            db.session.scalars(select(marked.school_id).join(Mark, Mark.student_id == marked.id))
        )
        eager = {
            assignment.school_id
            for lesson in db.session.scalars(
                select(Lesson).options(joinedload(Lesson.assignments))
            ).unique()
            for assignment in lesson.assignments
        }
        legacy = db.session.query(Student).filter(Student.school_id != school_a).count()
        counted = db.session.scalar(select(func.count(Student.id)))
        set_request_school(None)
        every_school = db.session.scalar(select(func.count(Student.id)))
        db.session.rollback()
    assert joined == {school_a}
    assert eager == {school_a}
    assert legacy == 0
    assert 0 < counted < every_school


def test_without_school_every_school_is_visible(app, world):
    with app.test_request_context():
        set_request_school(None)
        schools = set(db.session.scalars(select(Student.school_id)))
    assert {world["A"].school_id, world["B"].school_id} <= schools


def test_built_once_builds_in_one_thread():
    """Threads that call at the same time all get one statement, built once."""
    calls = []

    @built_once
    def statement():
        calls.append(threading.get_ident())
        # Long enough for every thread to arrive while the first one builds.
        time.sleep(0.05)
        return object()

    start = threading.Barrier(8)
    results = []

    def ask():
        start.wait()
        results.append(statement())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(calls) == 1
    assert len(results) == 8
    assert all(result is results[0] for result in results)
