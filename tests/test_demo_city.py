"""The city-scale demo path, built small: three schools of one four-student class per grade.

The full city (100 schools, about 18 million marks a year) is far too large for the suite, so
this builds the same code path with ``class_size`` and one closed past year.
"""

import csv
import datetime as dt
import os

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from app.models import (
    AcademicYear,
    Assignment,
    Attendance,
    AttendanceCode,
    Course,
    EducationAuthority,
    Enrollment,
    FinalMark,
    Lesson,
    Mark,
    School,
    SchoolClass,
    Student,
    Term,
    db,
)
from tests.test_demo import _drop_and_create, _fresh_database_url

DECEMBER = dt.date(2026, 12, 4)
SEED = 20261205
SCHOOLS = 3


@pytest.fixture(scope="module")
def city_build(tmp_path_factory):
    from app import create_app
    from app.commands import prepare_database
    from app.demo.builder import build_demo

    tmp_path = tmp_path_factory.mktemp("demo_city")
    url, pg_database = _fresh_database_url(tmp_path, "demo_city")
    application = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "DEMO_LOGINS_FILE": str(tmp_path / "demo-logins.csv"),
        }
    )
    with application.app_context():
        prepare_database()
        result = build_demo(
            schools=SCHOOLS, scale="city", years=1, today=DECEMBER, seed=SEED, class_size=(4, 4)
        )
    yield application, result
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    if pg_database:
        _drop_and_create(make_url(os.environ["TEST_DATABASE_URL"]), pg_database, create=False)


@pytest.fixture()
def city(city_build):
    application, result = city_build
    with application.app_context():
        yield result
        db.session.rollback()


def _school_ids() -> list[int]:
    return list(db.session.scalars(select(School.id).order_by(School.id)))


def _count(statement) -> int:
    return db.session.scalar(statement)


# --- structure -----------------------------------------------------------------


def test_city_schools_belong_to_one_authority(city):
    assert _count(select(func.count(School.id))) == SCHOOLS
    assert _count(select(func.count(EducationAuthority.id))) == 1
    assert _count(select(func.count(func.distinct(School.authority_id)))) == 1
    authority = db.session.scalars(select(EducationAuthority)).one()
    assert authority.name == "Юго-Западное окружное управление образования"


def test_city_authority_has_enough_distinct_schools():
    from app.demo.builder import AUTHORITIES
    from app.demo.city import CITY_SCHOOLS
    from app.demo.reference import moscow_schools

    name, _short_name = AUTHORITIES["city"]
    numbers = {record.number for record in moscow_schools() if record.authority == name}
    assert len(numbers) >= CITY_SCHOOLS


def test_city_school_names_unique(city):
    names = list(db.session.scalars(select(School.name)))
    assert len(set(names)) == len(names)


def test_city_class_size_override(city):
    for school_id in _school_ids():
        classes = _count(
            select(func.count(SchoolClass.id))
            .join(AcademicYear, AcademicYear.id == SchoolClass.year_id)
            .where(SchoolClass.school_id == school_id, AcademicYear.is_closed.is_(False))
        )
        assert classes == 11, school_id
    active = db.session.execute(
        select(Student.class_id, func.count(Student.id))
        .where(Student.is_active.is_(True))
        .group_by(Student.class_id)
    ).all()
    # One class of each school also has the sibling of the listed student, and the first
    # schools share a family, so a class has four to six students.
    assert all(4 <= count <= 6 for _class_id, count in active), active


def test_city_past_year_closed_with_closed_terms(city):
    for school_id in _school_ids():
        years = db.session.scalars(
            select(AcademicYear)
            .where(AcademicYear.school_id == school_id)
            .order_by(AcademicYear.start_date)
        ).all()
        assert [year.name for year in years] == ["2025/2026", "2026/2027"]
        assert [year.is_closed for year in years] == [True, False]
        past_terms = db.session.scalars(select(Term).where(Term.year_id == years[0].id)).all()
        assert past_terms
        assert all(term.is_closed for term in past_terms)


def test_city_past_year_has_term_and_year_marks(city):
    past_year = select(AcademicYear.id).where(AcademicYear.is_closed.is_(True))
    for term in db.session.scalars(select(Term).where(Term.year_id.in_(past_year))):
        count = _count(select(func.count(FinalMark.id)).where(FinalMark.term_id == term.id))
        assert count > 0, (term.school_id, term.name)
    year_marks = _count(
        select(func.count(FinalMark.id))
        .join(Course, Course.id == FinalMark.course_id)
        .where(FinalMark.kind == "year", Course.year_id.in_(past_year))
    )
    assert year_marks > 0
    current_year_marks = _count(
        select(func.count(FinalMark.id))
        .join(Course, Course.id == FinalMark.course_id)
        .where(FinalMark.kind == "year", Course.year_id.not_in(past_year))
    )
    assert current_year_marks == 0


def test_city_past_year_keeps_leavers(city):
    leavers = _count(select(func.count(Student.id)).where(Student.is_active.is_(False)))
    # The grade 11 of the past year finished school: one class of four in each school.
    assert leavers == SCHOOLS * 4
    assert (
        _count(
            select(func.count(Student.id)).where(
                Student.is_active.is_(False), Student.user_id.is_not(None)
            )
        )
        == 0
    )


def test_city_students_enrolled_in_their_class(city):
    enrolled = select(func.count(Enrollment.id)).join(
        Student,
        (Student.id == Enrollment.student_id) & (Student.class_id == Enrollment.class_id),
    )
    active = _count(select(func.count(Student.id)).where(Student.is_active.is_(True)))
    assert _count(select(func.count(Enrollment.id))) == active
    assert _count(enrolled.where(Enrollment.end_date.is_(None))) == active


def test_city_half_year_school(city):
    first, second, third = _school_ids()
    for school_id, half_years in ((first, False), (second, True), (third, False)):
        terms = db.session.execute(
            select(Term.kind, Term.grade_from, Term.grade_to)
            .join(AcademicYear, AcademicYear.id == Term.year_id)
            .where(Term.school_id == school_id, AcademicYear.is_closed.is_(False))
        ).all()
        if half_years:
            expected = [("quarter", 1, 9)] * 4 + [("half_year", 10, 11)] * 2
        else:
            expected = [("quarter", 1, 11)] * 4
        assert sorted(terms) == sorted(expected), school_id


def test_city_six_day_school_has_saturday_lessons(city):
    first, _second, third = _school_ids()
    assert db.session.get(School, third).six_day_week is True
    saturdays = [
        day
        for day in db.session.scalars(
            select(Lesson.date).where(Lesson.school_id == third).distinct()
        )
        if day.isoweekday() == 6
    ]
    assert len(saturdays) > 20
    first_days = db.session.scalars(select(Lesson.date).where(Lesson.school_id == first).distinct())
    assert all(day.isoweekday() <= 5 for day in first_days)


# --- journal -------------------------------------------------------------------


def test_city_mark_distribution(city):
    counts = dict(
        db.session.execute(
            select(Mark.value, func.count(Mark.id))
            .where(Mark.kind == "number")
            .group_by(Mark.value)
        ).all()
    )
    total = sum(counts.values())
    assert total > 10_000
    shares = {value: counts.get(value, 0) / total for value in (2, 3, 4, 5)}
    assert abs(shares[5] - 0.30) < 0.05, shares
    assert abs(shares[4] - 0.40) < 0.05, shares
    assert abs(shares[3] - 0.25) < 0.05, shares
    assert abs(shares[2] - 0.05) < 0.03, shares


def test_city_marks_per_student_in_past_year(city):
    past_year = select(AcademicYear.id).where(AcademicYear.is_closed.is_(True))
    per_student = db.session.execute(
        select(SchoolClass.grade, func.count(Mark.id) / func.count(func.distinct(Mark.student_id)))
        .join(Assignment, Assignment.id == Mark.assignment_id)
        .join(Lesson, Lesson.id == Assignment.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .where(Course.year_id.in_(past_year))
        .group_by(SchoolClass.grade)
    ).all()
    by_grade = dict(per_student)
    assert 1 not in by_grade
    # Four-student classes get more marks each than the city's classes of 22–29, which
    # average about 300 a year: a lesson marks at least one student for class work.
    for grade in range(5, 12):
        assert 250 <= by_grade[grade] <= 550, by_grade


def test_city_absences_about_five_percent(city):
    absent_code = select(AttendanceCode.id).where(AttendanceCode.code == "Н")
    absences = _count(select(func.count(Attendance.id)).where(Attendance.code_id.in_(absent_code)))
    student_lessons = _count(
        select(func.count())
        .select_from(Lesson)
        .join(Course, Course.id == Lesson.course_id)
        .join(AcademicYear, AcademicYear.id == Course.year_id)
        .join(Student, Student.class_id == Course.class_id)
        .where(Lesson.date <= DECEMBER, AcademicYear.is_closed.is_(False))
    )
    current_absences = _count(
        select(func.count(Attendance.id))
        .join(Lesson, Lesson.id == Attendance.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .join(AcademicYear, AcademicYear.id == Course.year_id)
        .where(Attendance.code_id.in_(absent_code), AcademicYear.is_closed.is_(False))
    )
    assert absences > current_absences > 0
    assert 0.02 < current_absences / student_lessons < 0.09
    with_reason = _count(
        select(func.count(Attendance.id)).where(
            Attendance.code_id.in_(absent_code), Attendance.reason_id.is_not(None)
        )
    )
    assert with_reason > absences * 0.8


def test_city_lessons_have_topics_up_to_build_day(city):
    missing = _count(
        select(func.count(Lesson.id)).where(Lesson.date <= DECEMBER, Lesson.topic.is_(None))
    )
    assert missing == 0
    later = _count(
        select(func.count(Lesson.id)).where(Lesson.date > DECEMBER, Lesson.topic.is_not(None))
    )
    assert later == 0


def test_city_rows_refer_to_existing_rows(city):
    checks = [
        select(func.count(Mark.id)).where(
            ~select(Assignment.id).where(Assignment.id == Mark.assignment_id).exists()
        ),
        select(func.count(Mark.id)).where(
            ~select(Student.id).where(Student.id == Mark.student_id).exists()
        ),
        select(func.count(Assignment.id)).where(
            ~select(Lesson.id).where(Lesson.id == Assignment.lesson_id).exists()
        ),
        select(func.count(Attendance.id)).where(
            ~select(Lesson.id).where(Lesson.id == Attendance.lesson_id).exists()
        ),
        select(func.count(Mark.id))
        .join(Assignment, Assignment.id == Mark.assignment_id)
        .where(Mark.school_id != Assignment.school_id),
        select(func.count(Lesson.id))
        .join(Course, Course.id == Lesson.course_id)
        .where(Lesson.school_id != Course.school_id),
    ]
    for query in checks:
        assert _count(query) == 0, str(query)


def test_city_new_rows_get_fresh_ids(city):
    """The ids the build gave by hand leave the database's id sequences usable."""
    lesson = db.session.scalars(select(Lesson).order_by(Lesson.id.desc())).first()
    assignment_type_id = db.session.scalar(
        select(Assignment.type_id).where(Assignment.school_id == lesson.school_id).limit(1)
    )
    new_lesson = Lesson(
        school_id=lesson.school_id,
        course_id=lesson.course_id,
        date=lesson.date,
        lesson_number=9,
    )
    db.session.add(new_lesson)
    db.session.flush()
    assignment = Assignment(
        school_id=lesson.school_id, lesson_id=new_lesson.id, type_id=assignment_type_id
    )
    db.session.add(assignment)
    db.session.flush()
    assert new_lesson.id > lesson.id
    assert assignment.id > 0


def test_city_logins_list_first_two_schools_only(city):
    with open(city.logins_file, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    schools = {row["school"] for row in rows if row["role"] not in ("authority", "server_admin")}
    names = list(db.session.scalars(select(School.name).order_by(School.id)))
    assert schools == set(names[:2])


def test_build_demo_rejects_unknown_scale():
    from app.demo.builder import build_demo

    with pytest.raises(ValueError, match="Unknown demo scale 'region'"):
        build_demo(scale="region")
    with pytest.raises(ValueError, match="cannot be negative, got -1"):
        build_demo(years=-1)
