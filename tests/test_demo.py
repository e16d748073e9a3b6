"""The small demo, built into fresh databases for a December day and a July day."""

import csv
import datetime as dt
import os
from collections import Counter

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from werkzeug.security import check_password_hash

from app.models import (
    AbsenceNote,
    AcademicYear,
    Announcement,
    Assignment,
    AssignmentType,
    AttendanceCode,
    Course,
    Employee,
    Enrollment,
    FinalMark,
    Guardian,
    Holiday,
    Lesson,
    Mark,
    Membership,
    MessageRecipient,
    SchoolClass,
    Student,
    Subject,
    Term,
    Vacation,
    db,
)
from app.models.base import SchoolOwned
from app.security.roles import ROLES

DECEMBER = dt.date(2026, 12, 4)
JULY = dt.date(2026, 7, 15)
SEED = 20261204


def _fresh_database_url(tmp_path, name: str) -> tuple[str, str | None]:
    """A new SQLite file, or a new database beside TEST_DATABASE_URL's on PostgreSQL."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_path / name}.db", None
    url = make_url(base)
    database = f"{url.database}_{name}"
    _drop_and_create(url, database, create=True)
    return url.set(database=database).render_as_string(hide_password=False), database


def _drop_and_create(url, database: str, create: bool) -> None:
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        if create:
            connection.execute(text(f'CREATE DATABASE "{database}"'))
    engine.dispose()


def _build(tmp_path_factory, today: dt.date, name: str):
    from app import create_app
    from app.commands import prepare_database
    from app.demo.builder import build_demo

    tmp_path = tmp_path_factory.mktemp(name)
    url, pg_database = _fresh_database_url(tmp_path, name)
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
        result = build_demo(schools=2, size="small", today=today, seed=SEED)
    return application, result, pg_database


def _built(tmp_path_factory, today: dt.date, name: str):
    application, result, pg_database = _build(tmp_path_factory, today, name)
    yield application, result
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    if pg_database:
        _drop_and_create(make_url(os.environ["TEST_DATABASE_URL"]), pg_database, create=False)


@pytest.fixture(scope="module")
def december_build(tmp_path_factory):
    yield from _built(tmp_path_factory, DECEMBER, "demo_december")


@pytest.fixture(scope="module")
def july_build(tmp_path_factory):
    yield from _built(tmp_path_factory, JULY, "demo_july")


@pytest.fixture()
def december(december_build):
    """The December demo, with its application context pushed for the test."""
    application, result = december_build
    with application.app_context():
        yield result
        db.session.rollback()


@pytest.fixture()
def july(july_build):
    application, result = july_build
    with application.app_context():
        yield result
        db.session.rollback()


def _csv_rows(result) -> list[dict]:
    with open(result.logins_file, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _user(username: str):
    from flask import current_app

    user_model = current_app.appbuilder.sm.user_model
    return db.session.scalar(select(user_model).where(user_model.username == username))


# --- logins --------------------------------------------------------------------


def test_logins_file_has_every_role(december):
    rows = _csv_rows(december)
    assert rows, "the logins file is empty"
    assert list(rows[0]) == ["role", "school", "login", "password"]
    roles = Counter(row["role"] for row in rows)
    for code in ROLES:
        assert roles[code] >= 1, code
    assert len(december.logins) == len(rows)


def test_logins_file_passwords_verify(december):
    for row in _csv_rows(december):
        user = _user(row["login"])
        assert user is not None, row["login"]
        assert check_password_hash(user.password, row["password"]), row["login"]


def test_unlisted_accounts_reject_listed_password(december):
    rows = _csv_rows(december)
    listed = {row["login"] for row in rows}
    students = db.session.scalars(select(Student).order_by(Student.id).limit(10)).all()
    user = next(s.user for s in students if s.user.username not in listed)
    for row in rows[:3]:
        assert not check_password_hash(user.password, row["password"]), row["login"]


def test_logins_file_names_organisations(december):
    from app.models import EducationAuthority, School

    school_names = set(db.session.scalars(select(School.name)))
    authority_names = set(db.session.scalars(select(EducationAuthority.name)))
    for row in _csv_rows(december):
        if row["role"] == "server_admin":
            assert row["school"] == ""
        elif row["role"] == "authority":
            assert row["school"] in authority_names
        else:
            assert row["school"] in school_names, row


def test_authority_login_has_authority_membership(december):
    row = next(r for r in _csv_rows(december) if r["role"] == "authority")
    user = _user(row["login"])
    memberships = db.session.scalars(select(Membership).where(Membership.user_id == user.id)).all()
    assert len(memberships) == 1
    assert memberships[0].authority_id is not None
    assert memberships[0].school_id is None
    assert [role.name for role in memberships[0].roles] == [ROLES["authority"].name]


def test_server_admin_holds_fab_role(december):
    row = next(r for r in _csv_rows(december) if r["role"] == "server_admin")
    user = _user(row["login"])
    assert [role.name for role in user.roles] == ["Администратор сервера"]
    assert (
        db.session.scalar(select(func.count(Membership.id)).where(Membership.user_id == user.id))
        == 0
    )


def test_school_logins_hold_their_role(december):
    for row in _csv_rows(december):
        if row["role"] in ("authority", "server_admin"):
            continue
        user = _user(row["login"])
        membership = db.session.scalar(
            select(Membership)
            .join(Membership.school)
            .where(Membership.user_id == user.id, Membership.school.has(name=row["school"]))
        )
        assert membership is not None, row
        assert ROLES[row["role"]].name in [role.name for role in membership.roles], row


def test_usernames_and_emails_are_placeholders(december):
    from flask import current_app

    user_model = current_app.appbuilder.sm.user_model
    users = db.session.execute(select(user_model.username, user_model.email)).all()
    assert len(users) > 50
    for username, email in users:
        assert username.isascii(), username
        assert username.islower(), username
        assert username[-1].isdigit(), username
        assert email == f"{username}@demo.invalid"


# --- tenancy -------------------------------------------------------------------


def test_school_owned_rows_have_school_id(december):
    models = [m.class_ for m in db.Model.registry.mappers if issubclass(m.class_, SchoolOwned)]
    assert Mark in models
    for model in models:
        missing = db.session.scalar(
            select(func.count()).select_from(model).where(model.school_id.is_(None))
        )
        assert missing == 0, model.__name__


def test_child_rows_share_school_of_parent(december):
    checks = [
        select(func.count(Lesson.id))
        .join(Course, Course.id == Lesson.course_id)
        .where(Lesson.school_id != Course.school_id),
        select(func.count(Mark.id))
        .join(Assignment, Assignment.id == Mark.assignment_id)
        .where(Mark.school_id != Assignment.school_id),
        select(func.count(Mark.id))
        .join(Student, Student.id == Mark.student_id)
        .where(Mark.school_id != Student.school_id),
        select(func.count(Guardian.id))
        .join(Student, Student.id == Guardian.student_id)
        .where(Guardian.school_id != Student.school_id),
    ]
    for query in checks:
        assert db.session.scalar(query) == 0, str(query)


# --- student movement ------------------------------------------------------------


def test_active_students_have_one_open_stay_in_their_class(december):
    stays = db.session.execute(
        select(Student.id, Student.class_id, Enrollment.class_id)
        .join(Enrollment, Enrollment.student_id == Student.id)
        .where(Student.is_active.is_(True), Enrollment.end_date.is_(None))
    ).all()
    active = db.session.scalar(select(func.count(Student.id)).where(Student.is_active.is_(True)))
    assert len(stays) == active
    assert len({student_id for student_id, _, _ in stays}) == active
    assert all(current == enrolled for _, current, enrolled in stays)


def test_first_graders_admitted_by_order(december):
    rows = db.session.execute(
        select(SchoolClass.grade, Enrollment.start_order_number, Enrollment.is_first_enrolment)
        .join(SchoolClass, SchoolClass.id == Enrollment.class_id)
        .where(Enrollment.is_backfilled.is_(False))
    ).all()
    assert rows
    assert {grade for grade, _, _ in rows} == {1}
    assert all(number and first for _, number, first in rows)


# --- curriculum, timetable and calendar ------------------------------------------


def test_grade_one_courses_have_no_marks(december):
    courses = db.session.scalars(
        select(Course)
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .where(SchoolClass.grade == 1)
    ).all()
    assert courses
    assert all(not course.gives_marks for course in courses)
    marks = db.session.scalar(
        select(func.count(Mark.id))
        .join(Assignment, Assignment.id == Mark.assignment_id)
        .join(Lesson, Lesson.id == Assignment.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .where(SchoolClass.grade == 1)
    )
    assert marks == 0


def test_conversations_on_monday_first_lesson(december):
    courses = db.session.scalars(
        select(Course).join(Subject).where(Subject.name == "Разговоры о важном")
    ).all()
    classes = db.session.scalar(select(func.count(SchoolClass.id)))
    assert len(courses) == classes
    assert all(
        course.kind == "extracurricular" and course.assessment == "none" for course in courses
    )
    lessons = db.session.execute(
        select(Lesson.date, Lesson.lesson_number).where(
            Lesson.course_id.in_([c.id for c in courses])
        )
    ).all()
    assert lessons
    for day, number in lessons:
        assert day.isoweekday() == 1, day
        assert number == 1, day


def test_no_lesson_on_holiday_or_school_vacation(december):
    for holiday in db.session.scalars(select(Holiday).where(Holiday.is_working_day.is_(False))):
        count = db.session.scalar(
            select(func.count(Lesson.id)).where(
                Lesson.school_id == holiday.school_id, Lesson.date == holiday.date
            )
        )
        assert count == 0, holiday.date
    for vacation in db.session.scalars(select(Vacation)):
        query = (
            select(func.count(Lesson.id))
            .join(Course, Course.id == Lesson.course_id)
            .where(
                Lesson.school_id == vacation.school_id,
                Lesson.date >= vacation.start_date,
                Lesson.date <= vacation.end_date,
            )
        )
        if vacation.classes:
            query = query.where(Course.class_id.in_([c.id for c in vacation.classes]))
        assert db.session.scalar(query) == 0, vacation.name


def test_no_lesson_on_weekend(december):
    days = db.session.scalars(select(Lesson.date).distinct()).all()
    assert days
    assert all(day.isoweekday() <= 5 for day in days)


def test_lessons_have_bell_times(december):
    missing = db.session.scalar(select(func.count(Lesson.id)).where(Lesson.starts_at.is_(None)))
    assert missing == 0


def test_year_contains_build_day(december):
    years = db.session.scalars(select(AcademicYear)).all()
    assert {year.name for year in years} == {"2026/2027"}
    assert all(year.contains(DECEMBER) for year in years)


def test_july_builds_year_just_ended(july):
    years = db.session.scalars(select(AcademicYear)).all()
    assert {year.name for year in years} == {"2025/2026"}
    autumn = db.session.scalars(select(Vacation).where(Vacation.name == "Осенние каникулы")).first()
    assert (autumn.start_date, autumn.end_date) == (dt.date(2025, 10, 25), dt.date(2025, 11, 2))


def test_terms_quarters_and_half_years(december):
    terms = db.session.scalars(
        select(Term).where(Term.school_id == select(func.min(Term.school_id)).scalar_subquery())
    ).all()
    assert sorted((t.kind, t.grade_from, t.grade_to) for t in terms) == sorted(
        [("quarter", 1, 9)] * 4 + [("half_year", 10, 11)] * 2
    )


# --- journal -------------------------------------------------------------------


def test_homework_due_at_next_lesson(december):
    homework = db.session.execute(
        select(Assignment.due_date, Lesson.course_id, Lesson.date)
        .join(Lesson, Lesson.id == Assignment.lesson_id)
        .join(AssignmentType, AssignmentType.id == Assignment.type_id)
        .where(AssignmentType.name == "Домашнее задание")
        .limit(200)
    ).all()
    assert homework
    for due_date, course_id, given in homework:
        next_date = db.session.scalar(
            select(func.min(Lesson.date)).where(Lesson.course_id == course_id, Lesson.date > given)
        )
        same_day_later = db.session.scalar(
            select(func.count(Lesson.id)).where(Lesson.course_id == course_id, Lesson.date == given)
        )
        assert due_date == next_date or (same_day_later > 1 and due_date == given), (
            course_id,
            given,
        )


def test_assignment_types_keep_sgo_ids(december):
    types = {t.name: t for t in db.session.scalars(select(AssignmentType))}
    assert types["Домашнее задание"].is_homework
    assert types["Домашнее задание"].sgo_id == 3
    assert types["Контрольная работа"].is_assessment_procedure
    assert types["Контрольная работа"].default_weight > types["Ответ на уроке"].default_weight


def test_vpr_marks_in_grade_five(december):
    rows = db.session.execute(
        select(SchoolClass.grade, Subject.name, func.count(Mark.id))
        .join(Assignment, Assignment.id == Mark.assignment_id)
        .join(AssignmentType, AssignmentType.id == Assignment.type_id)
        .join(Lesson, Lesson.id == Assignment.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .join(Subject, Subject.id == Course.subject_id)
        .where(AssignmentType.name == "ВПР")
        .group_by(SchoolClass.grade, Subject.name)
    ).all()
    # The small demo has grades 1, 2, 5, 9, 10 and 11, so grade 5 is its one ВПР grade.
    grades = {grade for grade, _subject, _count in rows}
    assert grades == {5}
    assert {subject for _grade, subject, _count in rows} == {"Русский язык", "Математика"}
    assert all(count > 0 for _grade, _subject, count in rows)


def test_vpr_written_after_first_term(december):
    first_quarter_end = db.session.scalar(
        select(func.min(Term.end_date)).where(Term.kind == "quarter")
    )
    dates = db.session.scalars(
        select(Lesson.date)
        .join(Assignment, Assignment.lesson_id == Lesson.id)
        .join(AssignmentType, AssignmentType.id == Assignment.type_id)
        .where(AssignmentType.name == "ВПР")
    ).all()
    assert dates
    assert min(dates) > first_quarter_end


def test_staff_have_personnel_records(december):
    from app.models import StaffEducation, StaffPosition, StaffRecord, TrainingCourse

    employees = db.session.scalar(select(func.count(Employee.id)))
    assert db.session.scalar(select(func.count(StaffRecord.id))) == employees
    assert db.session.scalar(select(func.count(StaffPosition.id))) == employees
    assert db.session.scalar(select(func.count(StaffEducation.id))) == employees
    assert db.session.scalar(select(func.count(TrainingCourse.id))) > 0
    categories = set(db.session.scalars(select(StaffRecord.category)))
    assert {"first", "highest"} <= categories


def test_attendance_codes(december):
    codes = {c.code: c for c in db.session.scalars(select(AttendanceCode))}
    assert codes["Н"].kind == "absent"
    assert codes["ОП"].kind == "late"
    assert {codes[c].kind for c in ("Б", "УП", "НП")} == {"reason"}
    assert any(c.counts_as_present for c in codes.values())


def test_mark_distribution_is_realistic(december):
    counts = dict(
        db.session.execute(
            select(Mark.value, func.count(Mark.id))
            .where(Mark.kind == "number")
            .group_by(Mark.value)
        ).all()
    )
    assert counts.get(4, 0) + counts.get(5, 0) > 2 * counts.get(3, 0)
    assert counts.get(3, 0) > counts.get(2, 0)
    assert counts.get(2, 0) < 0.12 * sum(counts.values())


def test_most_absences_have_reason(december):
    from app.models import Attendance

    total = db.session.scalar(select(func.count(Attendance.id)))
    with_reason = db.session.scalar(
        select(func.count(Attendance.id)).where(Attendance.reason_id.is_not(None))
    )
    assert total > 0
    assert with_reason > total / 2


def test_term_marks_for_finished_term_only(december):
    first = db.session.scalars(select(Term).where(Term.kind == "quarter", Term.number == 1)).first()
    second = db.session.scalars(
        select(Term).where(Term.kind == "quarter", Term.number == 2)
    ).first()
    assert first.end_date < DECEMBER <= second.end_date
    assert (
        db.session.scalar(select(func.count(FinalMark.id)).where(FinalMark.term_id == first.id)) > 0
    )
    running = db.session.scalars(select(Term.id).where(Term.end_date >= DECEMBER)).all()
    assert (
        db.session.scalar(select(func.count(FinalMark.id)).where(FinalMark.term_id.in_(running)))
        == 0
    )
    values = set(db.session.scalars(select(FinalMark.value)))
    assert values <= {"2", "3", "4", "5"}


def test_july_has_term_marks_for_every_term(july):
    for term in db.session.scalars(select(Term)):
        count = db.session.scalar(
            select(func.count(FinalMark.id)).where(FinalMark.term_id == term.id)
        )
        assert count > 0, term.name


# --- people across schools -----------------------------------------------------


def test_teacher_works_in_two_schools(december):
    users = (
        db.session.execute(
            select(Employee.user_id)
            .group_by(Employee.user_id)
            .having(func.count(func.distinct(Employee.school_id)) == 2)
        )
        .scalars()
        .all()
    )
    assert len(users) == 1
    memberships = db.session.scalars(select(Membership).where(Membership.user_id == users[0])).all()
    assert len({m.school_id for m in memberships}) == 2
    for membership in memberships:
        assert ROLES["teacher"].name in [role.name for role in membership.roles]
    teacher_rows = [
        r
        for r in _csv_rows(december)
        if r["role"] == "teacher" and _user(r["login"]).id == users[0]
    ]
    assert len(teacher_rows) == 2


def test_parent_with_children_in_two_schools(december):
    users = (
        db.session.execute(
            select(Guardian.user_id)
            .group_by(Guardian.user_id)
            .having(func.count(func.distinct(Guardian.school_id)) == 2)
        )
        .scalars()
        .all()
    )
    assert users
    memberships = db.session.scalars(select(Membership).where(Membership.user_id == users[0])).all()
    assert len({m.school_id for m in memberships}) == 2
    for membership in memberships:
        assert ROLES["parent"].name in [role.name for role in membership.roles]


def test_parent_with_two_children_in_one_school(december):
    row = next(r for r in _csv_rows(december) if r["role"] == "parent")
    user = _user(row["login"])
    children = db.session.scalars(
        select(Guardian.student_id).where(Guardian.user_id == user.id)
    ).all()
    assert len(set(children)) == 2
    schools = db.session.scalars(select(Student.school_id).where(Student.id.in_(children))).all()
    assert len(set(schools)) == 1


def test_listed_teacher_is_class_teacher_of_several_courses(december):
    row = next(r for r in _csv_rows(december) if r["role"] == "teacher")
    user = _user(row["login"])
    employee = db.session.scalars(select(Employee).where(Employee.user_id == user.id)).first()
    assert (
        db.session.scalar(
            select(func.count(SchoolClass.id)).where(SchoolClass.class_teacher_id == employee.id)
        )
        == 1
    )
    courses = db.session.scalars(
        select(Course).where(Course.teachers.any(Employee.id == employee.id))
    ).all()
    assert len(courses) >= 2


def test_women_have_feminine_surnames(december):
    for last_name in db.session.scalars(select(Student.last_name).where(Student.sex == "f")):
        assert not last_name.endswith(("ов", "ев", "ин", "ский")), last_name


# --- generators without a database ---------------------------------------------


def test_feminine_surnames():
    from app.demo.names import feminine_surname

    cases = {
        "Иванов": "Иванова",
        "Соловьёв": "Соловьёва",
        "Ильин": "Ильина",
        "Полянский": "Полянская",
        "Толстой": "Толстая",
        "Шевченко": "Шевченко",
        "Черных": "Черных",
    }
    for male, female in cases.items():
        assert feminine_surname(male) == female, male


def test_usernames_are_transliterated_and_unique():
    from app.demo.names import PersonName, UsernameRegistry

    registry = UsernameRegistry(taken={"zhukovaiui1"})
    name = PersonName("Жукова", "Юлия", "Игоревна", "f")
    assert registry.make(name) == "zhukovaiui2"
    assert registry.make(PersonName("Щукин", "Ёж", "", "m")) == "shchukine1"


def test_names_repeat_with_same_seed():
    import random

    from app.demo.names import NameGenerator

    first = NameGenerator(random.Random(7))
    second = NameGenerator(random.Random(7))
    assert [first.adult("f") for _ in range(20)] == [second.adult("f") for _ in range(20)]


def test_calendar_moves_vacations_keeping_weekdays():
    from app.demo.calendar import build_calendar

    pattern = build_calendar(JULY)
    calendar = build_calendar(DECEMBER)
    assert pattern.start == dt.date(2025, 9, 1)
    assert calendar.start == dt.date(2026, 9, 1)
    for old, new in zip(pattern.vacations, calendar.vacations, strict=True):
        assert new.start.isoweekday() == old.start.isoweekday(), new.name
        assert new.end.isoweekday() == old.end.isoweekday(), new.name
        assert abs((new.start - old.start).days - 365) <= 3, new.name
    assert all(calendar.start <= day <= calendar.end for day, _ in calendar.holidays)
    assert calendar.end.month == 5


def test_listed_parent_has_thread_and_note(december):
    row = next(r for r in _csv_rows(december) if r["role"] == "parent")
    parent = _user(row["login"])
    incoming = db.session.scalars(
        select(MessageRecipient).where(MessageRecipient.user_id == parent.id)
    ).all()
    assert len(incoming) >= 1
    reply = incoming[0].message
    assert reply.thread_id is not None
    assert reply.sent_at is not None
    notes = db.session.scalars(select(AbsenceNote).where(AbsenceNote.author_id == parent.id)).all()
    assert [note.status for note in notes] == ["pending"]
    assert notes[0].date_from > DECEMBER


def test_announcements_cover_build_day(december):
    announcements = db.session.scalars(select(Announcement)).all()
    audiences = {a.audience for a in announcements}
    assert audiences >= {"school", "roles", "classes"}
    assert all(a.display_from <= DECEMBER <= a.display_to for a in announcements)


def test_demo_template_has_no_conflicts(december):
    from app.services.timetable_conflicts import check_template

    for school_id in december.school_ids:
        year_ids = db.session.scalars(
            select(AcademicYear.id).where(AcademicYear.school_id == school_id)
        ).all()
        for year_id in year_ids:
            conflicts = check_template(school_id, year_id)
            assert [c.message for c in conflicts] == []
