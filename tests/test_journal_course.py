"""The journal page's course and terms, read as plain rows, against the ORM's."""

import pytest
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from app.models import AcademicYear, Course, School, StudyGroup, db
from app.security.criteria import set_request_school
from app.security.scope import Scope
from app.services.journal import JournalAccess, course_terms
from app.services.journal_course import journal_course_or_404, journal_terms
from tests.factories import add_course_with_lesson, add_teacher, build_extra_school


@pytest.fixture(scope="module")
def school(app, world):
    """A school with a group course of two teachers, a closed year and its own settings."""
    with app.app_context():
        built = build_extra_school("JC")
        first = add_teacher(built, "first_JC")
        second = add_teacher(built, "second_JC")
        group_course, _ = add_course_with_lesson(built, "Английский язык", teachers=[second, first])
        group = db.session.scalar(select(StudyGroup).where(StudyGroup.school_id == built.school_id))
        group_course.group_id = group.id
        bare_course, _ = add_course_with_lesson(built, "Музыка", kind="extracurricular")

        settings = db.session.get(School, built.school_id)
        settings.weighting_enabled = False
        settings.max_mark = 10
        settings.mark_lock_days = 7
        db.session.get(AcademicYear, group_course.year_id).is_closed = True
        built.ids["GroupCourse"] = group_course.id
        built.ids["BareCourse"] = bare_course.id
        db.session.commit()
        return built


def _access(school_id: int | None, level: str = "school") -> JournalAccess:
    scope = Scope(user_id=None, membership_id=None, level=level, school_id=school_id)
    return JournalAccess(scope, frozenset(), whole_school=True, may_write=False)


@pytest.mark.parametrize("key", ["Course", "GroupCourse", "BareCourse"])
def test_plain_course_matches_orm(app, school, key):
    with app.test_request_context():
        set_request_school(school.school_id)
        orm = db.session.get(Course, school.ids[key])
        plain = journal_course_or_404(_access(school.school_id), orm.id)

        assert str(plain) == str(orm)
        by_name = sorted(orm.teachers, key=lambda t: (t.last_name, t.first_name, t.id))
        assert [(t.id, t.short_name) for t in plain.teachers] == [
            (t.id, t.short_name) for t in by_name
        ]
        assert plain.gives_marks == orm.gives_marks
        assert (plain.id, plain.school_id, plain.year_id, plain.class_id, plain.group_id) == (
            orm.id,
            orm.school_id,
            orm.year_id,
            orm.class_id,
            orm.group_id,
        )
        assert plain.school_class.grade == orm.school_class.grade
        assert tuple(plain.school) == (
            orm.school.weighting_enabled,
            orm.school.max_mark,
            orm.school.mark_lock_days,
        )
        assert tuple(plain.year) == (orm.year.name, orm.year.is_closed)
        assert [tuple(t) for t in journal_terms(plain)] == [
            (t.id, t.kind, t.number, t.name, t.start_date, t.end_date, t.is_closed)
            for t in course_terms(orm)
        ]


def test_group_course_and_settings_as_stored(app, school):
    with app.test_request_context():
        set_request_school(school.school_id)
        plain = journal_course_or_404(_access(school.school_id), school.ids["GroupCourse"])

        assert str(plain) == "Английский язык, 5А англ. 1"
        assert len(plain.teachers) == 2
        assert tuple(plain.school) == (False, 10, 7)
        assert plain.year.is_closed is True


def test_bare_course_without_teachers_or_marks(app, school):
    with app.test_request_context():
        set_request_school(school.school_id)
        plain = journal_course_or_404(_access(school.school_id), school.ids["BareCourse"])

        assert plain.teachers == ()
        assert plain.gives_marks is False


@pytest.mark.parametrize(
    ("level", "scope_school"),
    [("school", "other"), ("authority", None), ("none", None)],
)
def test_course_outside_the_scope_is_404(app, world, school, level, scope_school):
    scope_school_id = world["A"].school_id if scope_school == "other" else None
    with app.test_request_context():
        set_request_school(None)
        with pytest.raises(NotFound):
            journal_course_or_404(_access(scope_school_id, level), school.ids["Course"])


def test_missing_course_is_404(app, school):
    with app.test_request_context():
        with pytest.raises(NotFound):
            journal_course_or_404(_access(school.school_id), 0)


def test_server_level_reads_any_school(app, school):
    with app.test_request_context():
        plain = journal_course_or_404(_access(None, "server"), school.ids["GroupCourse"])

        assert plain.school_id == school.school_id


def test_teacher_of_another_course_gets_404(app, school):
    scope = Scope(user_id=None, membership_id=None, level="school", school_id=school.school_id)
    access = JournalAccess(scope, frozenset({-1}), whole_school=False, may_write=True)
    with app.test_request_context():
        with pytest.raises(NotFound):
            journal_course_or_404(access, school.ids["GroupCourse"])


def test_page_shows_course_and_settings(school, login):
    page = login(school.users["principal"]).get(f"/journal/course/{school.ids['GroupCourse']}")

    assert page.status_code == 200
    assert "Английский язык, 5А англ. 1" in page.text
    # The school's setting of no weights, read with the course.
    assert "Средний балл — простое среднее числовых отметок." in page.text
