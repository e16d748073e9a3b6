"""Factories that build small, complete schools for tests, with a login per role."""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from flask import current_app
from werkzeug.security import generate_password_hash

from app.models import (
    AbsenceDocument,
    AbsenceNote,
    AcademicYear,
    Announcement,
    AnnouncementClass,
    AnnouncementRead,
    Assignment,
    AssignmentType,
    Attachment,
    Attendance,
    AttendanceCode,
    BellPeriod,
    BellSchedule,
    CalendarFeed,
    CertificateRequest,
    Course,
    CurriculumHours,
    EducationAuthority,
    Employee,
    Enrollment,
    FinalMark,
    Guardian,
    HealthExemption,
    HealthRecord,
    Holiday,
    IssuedCertificate,
    Lesson,
    Mark,
    Membership,
    Message,
    MessageRecipient,
    Notification,
    NotificationSetting,
    OutgoingMail,
    PersonalDataConsent,
    PlanItem,
    PsychologistNote,
    PsychologyConsent,
    Room,
    School,
    SchoolClass,
    SocialStatus,
    StaffEducation,
    StaffPosition,
    StaffRecord,
    Student,
    StudentDocument,
    StudyGroup,
    Subject,
    SubjectDifficulty,
    Term,
    TimetableEntry,
    TrainingCourse,
    TransferredMark,
    Vacation,
    db,
)
from app.security.roles import ROLES

TEST_PASSWORD = "Test-pass-1"

#: Monday of a school week inside the first quarter of the test year.
WEEK_START = dt.date(2026, 10, 5)

_password_hash = None


def password_hash() -> str:
    """Hash the shared test password once: scrypt is deliberately slow."""
    global _password_hash
    if _password_hash is None:
        _password_hash = generate_password_hash(TEST_PASSWORD)
    return _password_hash


@dataclass
class SchoolWorld:
    """One test school: its id, one row id per model, and a username per role code."""

    key: str
    school_id: int
    ids: dict[str, int] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    schools: dict[str, SchoolWorld]
    authority_ids: dict[str, int]
    users: dict[str, str]

    def __getitem__(self, key: str) -> SchoolWorld:
        return self.schools[key]


def make_user(username: str, first_name: str = "Тест", last_name: str = "Тестов"):
    """Create a FAB login with the shared test password and no roles of its own."""
    sm = current_app.appbuilder.sm
    user = sm.user_model(
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=f"{username}@test.invalid",
        active=True,
        password=password_hash(),
    )
    db.session.add(user)
    db.session.flush()
    return user


def fab_role(code: str):
    sm = current_app.appbuilder.sm
    return sm.find_role(ROLES[code].name)


def add_membership(user, *codes: str, school=None, authority=None) -> Membership:
    membership = Membership(
        user_id=user.id,
        school_id=school.id if school else None,
        authority_id=authority.id if authority else None,
        roles=[fab_role(code) for code in codes],
    )
    db.session.add(membership)
    db.session.flush()
    return membership


def build_school(key: str, authority: EducationAuthority) -> SchoolWorld:
    """Build a school with one row of every school-owned model and a login per role."""
    school = School(authority=authority, name=f"Школа № {key}", number=key, address="Москва")
    db.session.add(school)
    db.session.flush()
    sid = school.id
    world = SchoolWorld(key=key, school_id=sid)

    def add(obj):
        db.session.add(obj)
        db.session.flush()
        world.ids.setdefault(type(obj).__name__, obj.id)
        return obj

    year = add(
        AcademicYear(
            school_id=sid,
            name="2026/2027",
            start_date=dt.date(2026, 9, 1),
            end_date=dt.date(2027, 5, 31),
        )
    )
    quarters = [
        (1, dt.date(2026, 9, 1), dt.date(2026, 10, 24)),
        (2, dt.date(2026, 11, 3), dt.date(2026, 12, 28)),
        (3, dt.date(2027, 1, 12), dt.date(2027, 3, 21)),
        (4, dt.date(2027, 3, 30), dt.date(2027, 5, 26)),
    ]
    for number, start, end in quarters:
        add(
            Term(
                school_id=sid,
                year_id=year.id,
                kind="quarter",
                number=number,
                name=f"{number} четверть",
                start_date=start,
                end_date=end,
                grade_from=1,
                grade_to=9,
            )
        )
    for number, start, end in [
        (1, dt.date(2026, 9, 1), dt.date(2026, 12, 28)),
        (2, dt.date(2027, 1, 12), dt.date(2027, 5, 26)),
    ]:
        add(
            Term(
                school_id=sid,
                year_id=year.id,
                kind="half_year",
                number=number,
                name=f"{number} полугодие",
                start_date=start,
                end_date=end,
                grade_from=10,
                grade_to=11,
            )
        )
    add(
        Vacation(
            school_id=sid,
            year_id=year.id,
            name="Осенние каникулы",
            start_date=dt.date(2026, 10, 25),
            end_date=dt.date(2026, 11, 2),
        )
    )
    add(Holiday(school_id=sid, date=dt.date(2026, 11, 4), name="День народного единства"))
    bells = add(BellSchedule(school_id=sid, name="Основное", shift=1, grade_from=1, grade_to=11))
    for number, (start, end) in enumerate(
        [("08:30", "09:15"), ("09:25", "10:10"), ("10:30", "11:15")], start=1
    ):
        add(
            BellPeriod(
                school_id=sid,
                schedule_id=bells.id,
                lesson_number=number,
                starts_at=dt.time.fromisoformat(start),
                ends_at=dt.time.fromisoformat(end),
            )
        )
    room = add(Room(school_id=sid, name=f"{key}-101", capacity=30))
    maths = add(Subject(school_id=sid, name="Математика"))
    add(Subject(school_id=sid, name="Алгебра", parent_id=maths.id))
    add(
        SubjectDifficulty(
            school_id=sid, subject_name="Математика", grade_from=1, grade_to=4, points=8
        )
    )

    users = {}
    employees = {}
    for code in ROLES:
        if code in ("authority", "server_admin", "student", "parent"):
            continue
        user = make_user(f"{code}_{key}")
        add_membership(user, code, school=school)
        users[code] = user.username
        employees[code] = add(
            Employee(
                school_id=sid,
                user_id=user.id,
                last_name="Сотрудник",
                first_name=code,
                position=code,
            )
        )

    teacher = employees["teacher"]
    _add_staff_records(add, sid, teacher)
    school_class = add(
        SchoolClass(
            school_id=sid,
            year_id=year.id,
            grade=5,
            letter="А",
            name="5А",
            class_teacher_id=teacher.id,
            room_id=room.id,
        )
    )
    first_grade = SchoolClass(school_id=sid, year_id=year.id, grade=1, letter="А", name="1А")
    db.session.add(first_grade)

    student_user = make_user(f"student_{key}")
    student = add(
        Student(
            school_id=sid,
            user_id=student_user.id,
            class_id=school_class.id,
            last_name="Ученикова",
            first_name="Анна",
            sex="f",
            personal_file_number=f"{key}-1",
        )
    )
    add_membership(student_user, "student", school=school)
    users["student"] = student_user.username
    sibling = Student(
        school_id=sid,
        class_id=school_class.id,
        last_name="Ученикова",
        first_name="Мария",
        sex="f",
        personal_file_number=f"{key}-2",
    )
    other = Student(
        school_id=sid,
        class_id=school_class.id,
        last_name="Другой",
        first_name="Пётр",
        sex="m",
        personal_file_number=f"{key}-3",
    )
    db.session.add_all([sibling, other])
    db.session.flush()
    world.ids["SiblingStudent"] = sibling.id
    world.ids["OtherStudent"] = other.id
    for enrolled in (student, sibling, other):
        add(
            Enrollment(
                school_id=sid,
                student_id=enrolled.id,
                class_id=school_class.id,
                start_date=year.start_date,
                start_kind="admission",
                start_order_number=f"{key}-1-у",
                start_order_date=dt.date(2026, 8, 28),
                arrived_from="Школа № 7",
            )
        )

    parent_user = make_user(f"parent_{key}")
    add_membership(parent_user, "parent", school=school)
    users["parent"] = parent_user.username
    mother = add(
        Guardian(
            school_id=sid,
            student_id=student.id,
            user_id=parent_user.id,
            last_name="Ученикова",
            first_name="Ольга",
            kind="mother",
        )
    )
    add(
        StudentDocument(
            school_id=sid,
            student_id=student.id,
            kind="birth_certificate",
            series="IV-МЮ",
            number="123456",
            issued_by="Отдел ЗАГС",
            issue_date=dt.date(2015, 3, 1),
        )
    )
    db.session.add(
        Guardian(
            school_id=sid,
            student_id=sibling.id,
            user_id=parent_user.id,
            last_name="Ученикова",
            first_name="Ольга",
            kind="mother",
        )
    )

    add(
        StudyGroup(
            school_id=sid,
            year_id=year.id,
            name="5А англ. 1",
            class_id=school_class.id,
            students=[student],
        )
    )
    add(
        CurriculumHours(
            school_id=sid,
            year_id=year.id,
            subject_id=maths.id,
            grade=5,
            hours_per_week=Decimal("5"),
        )
    )
    course = add(
        Course(
            school_id=sid,
            year_id=year.id,
            subject_id=maths.id,
            class_id=school_class.id,
            kind="lesson",
            assessment="marks",
            hours_per_week=Decimal("5"),
            teachers=[teacher],
        )
    )

    entry = add(
        TimetableEntry(
            school_id=sid, course_id=course.id, weekday=1, lesson_number=2, room_id=room.id
        )
    )
    lesson = add(
        Lesson(
            school_id=sid,
            course_id=course.id,
            date=WEEK_START,
            lesson_number=2,
            room_id=room.id,
            topic="Натуральные числа",
            entry_id=entry.id,
            starts_at=dt.time(9, 25),
            ends_at=dt.time(10, 10),
        )
    )

    test_type = add(
        AssignmentType(
            school_id=sid,
            name="Контрольная работа",
            default_weight=Decimal("2"),
            is_assessment_procedure=True,
        )
    )
    homework_type = AssignmentType(
        school_id=sid, name="Домашнее задание", default_weight=Decimal("1"), is_homework=True
    )
    db.session.add(homework_type)
    assignment = add(
        Assignment(
            school_id=sid,
            lesson_id=lesson.id,
            type_id=test_type.id,
            weight=Decimal("2"),
            text="Контрольная работа № 1",
        )
    )
    db.session.add(
        Assignment(
            school_id=sid,
            lesson_id=lesson.id,
            type=homework_type,
            weight=Decimal("1"),
            text="№ 15, 16",
            due_date=WEEK_START + dt.timedelta(days=2),
            created_at=dt.datetime.combine(WEEK_START, dt.time(12, 0)),
        )
    )
    add(
        Mark(
            school_id=sid,
            assignment_id=assignment.id,
            student_id=student.id,
            kind="number",
            value=5,
        )
    )
    absent = add(AttendanceCode(school_id=sid, code="Н", name="Отсутствовал", kind="absent"))
    db.session.add(AttendanceCode(school_id=sid, code="ОП", name="Опоздал", kind="late"))
    ill = AttendanceCode(school_id=sid, code="Б", name="Болезнь", kind="reason", is_excused=True)
    db.session.add(ill)
    db.session.flush()
    add(
        Attendance(
            school_id=sid,
            lesson_id=lesson.id,
            student_id=other.id,
            code_id=absent.id,
            reason_id=ill.id,
        )
    )
    first_term = db.session.query(Term).filter_by(school_id=sid, number=1, kind="quarter").one()
    add(
        FinalMark(
            school_id=sid,
            student_id=student.id,
            course_id=course.id,
            kind="term",
            term_id=first_term.id,
            value="5",
        )
    )
    add(PlanItem(school_id=sid, course_id=course.id, position=1, topic="Натуральные числа"))
    certificate = add(
        IssuedCertificate(
            school_id=sid,
            student_id=student.id,
            year_id=year.id,
            register_number=1,
            issued_on=WEEK_START,
            copies=1,
            class_name=school_class.name,
        )
    )
    add(
        CertificateRequest(
            school_id=sid,
            student_id=student.id,
            author_id=parent_user.id,
            copies=1,
            status="ready",
            certificate_id=certificate.id,
        )
    )
    # The sibling's mark falls in the autumn holidays, outside every term, so that no
    # average that other tests expect changes.
    add(
        TransferredMark(
            school_id=sid,
            student_id=sibling.id,
            course_id=course.id,
            date=dt.date(2026, 10, 28),
            value=4,
            weight=Decimal("1"),
            source_school="Школа № 7",
        )
    )

    _add_communication(add, sid, school_class, student, parent_user, users)
    _add_care_records(add, sid, student, mother)

    world.users = users
    db.session.flush()
    return world


def _add_staff_records(add, sid, teacher) -> None:
    """A personnel record of the teacher with one row of each staff record model."""
    add(
        StaffRecord(
            school_id=sid,
            employee_id=teacher.id,
            category="first",
            category_assigned_on=dt.date(2022, 12, 20),
            category_valid_until=dt.date(2027, 12, 20),
            total_experience_years=10,
            total_experience_months=3,
            teaching_experience_years=8,
            teaching_experience_months=0,
            experience_as_of=dt.date(2026, 9, 1),
        )
    )
    add(
        StaffPosition(
            school_id=sid,
            employee_id=teacher.id,
            title="Учитель математики",
            rate=Decimal("1.0"),
            date_from=dt.date(2018, 9, 1),
        )
    )
    add(
        StaffEducation(
            school_id=sid,
            employee_id=teacher.id,
            level="higher_specialist",
            institution="МПГУ",
            graduation_year=2016,
            speciality="Математика",
        )
    )
    add(
        TrainingCourse(
            school_id=sid,
            employee_id=teacher.id,
            name="Обновлённые ФГОС ООО",
            hours=36,
            date_from=dt.date(2025, 3, 10),
            date_to=dt.date(2025, 3, 21),
            document="Удостоверение № 1",
        )
    )


def _add_communication(add, sid, school_class, student, parent_user, users) -> None:
    """One row of each communication model, so that the tenancy sweep has ids to probe."""
    teacher_id = _user_id_of(users["teacher"])
    announcement = add(
        Announcement(
            school_id=sid,
            title="Родительское собрание",
            body="В четверг в 18:00.",
            audience="classes",
            display_from=WEEK_START,
            display_to=WEEK_START + dt.timedelta(days=30),
            author_id=teacher_id,
        )
    )
    add(AnnouncementClass(school_id=sid, announcement_id=announcement.id, class_id=school_class.id))
    add(AnnouncementRead(school_id=sid, announcement_id=announcement.id, user_id=parent_user.id))
    message = add(
        Message(
            school_id=sid,
            sender_id=parent_user.id,
            subject="Вопрос о домашнем задании",
            body="Здравствуйте! Уточните, пожалуйста, задание.",
            sent_at=dt.datetime(2026, 10, 5, 15, 0),
        )
    )
    add(MessageRecipient(school_id=sid, message_id=message.id, user_id=teacher_id))
    add(
        Attachment(
            school_id=sid,
            message_id=message.id,
            filename="задание.pdf",
            stored_name=f"probe{sid:08d}",
            content_type="application/pdf",
            size=4,
            uploaded_by_id=parent_user.id,
        )
    )
    add(
        AbsenceNote(
            school_id=sid,
            student_id=student.id,
            author_id=parent_user.id,
            date_from=WEEK_START,
            date_to=WEEK_START + dt.timedelta(days=1),
            reason_text="Семейные обстоятельства",
        )
    )
    add(
        AbsenceDocument(
            school_id=sid,
            student_id=student.id,
            kind="certificate",
            number="17",
            issued_on=WEEK_START + dt.timedelta(days=2),
            date_from=WEEK_START,
            date_to=WEEK_START + dt.timedelta(days=1),
            scan_filename="справка.pdf",
            scan_stored_name=f"docprobe{sid:08d}",
            scan_content_type="application/pdf",
            scan_size=4,
        )
    )
    add(
        Notification(
            school_id=sid,
            user_id=parent_user.id,
            kind="message",
            text="Новое сообщение",
        )
    )
    add(NotificationSetting(school_id=sid, user_id=parent_user.id, student_id=student.id))
    add(
        OutgoingMail(
            school_id=sid,
            recipient="parent@example.invalid",
            subject="Пропуск урока",
            body="Пропуск урока",
            kind="absence",
            status="sent",
        )
    )
    add(
        CalendarFeed(
            school_id=sid,
            user_id=parent_user.id,
            student_id=student.id,
            token_hash=f"{sid:064d}",
        )
    )


def _add_care_records(add, sid, student, mother) -> None:
    """One row of each confidential record of the student, so that the sweep has ids."""
    record = add(
        HealthRecord(
            school_id=sid,
            student_id=student.id,
            health_group="2",
            pe_group="preparatory",
            meal_allergies="Лактоза",
            has_special_needs=True,
        )
    )
    add(
        HealthExemption(
            school_id=sid,
            record_id=record.id,
            student_id=student.id,
            date_from=WEEK_START,
            date_to=WEEK_START + dt.timedelta(days=13),
            reason="Справка поликлиники № 7",
        )
    )
    add(SocialStatus(school_id=sid, student_id=student.id, code="large_family"))
    add(
        SocialStatus(
            school_id=sid, student_id=student.id, code="vshu", date_from=dt.date(2026, 9, 15)
        )
    )
    add(
        PsychologyConsent(
            school_id=sid,
            student_id=student.id,
            guardian_id=mother.id,
            given_on=dt.date(2026, 9, 1),
        )
    )
    add(
        PsychologistNote(school_id=sid, student_id=student.id, text="Беседа о адаптации в 5 классе")
    )
    add(
        PersonalDataConsent(
            school_id=sid,
            student_id=student.id,
            given_by_guardian_id=mother.id,
            given_on=dt.date(2026, 9, 1),
        )
    )


def _user_id_of(username: str) -> int:
    from flask_appbuilder.security.sqla.models import User

    return db.session.query(User.id).filter_by(username=username).scalar()


def build_world() -> World:
    """Schools A and B under one authority, school C under another, and cross-school logins."""
    first = EducationAuthority(name="Управление образования Первого района", short_name="УО-1")
    second = EducationAuthority(name="Управление образования Второго района", short_name="УО-2")
    db.session.add_all([first, second])
    db.session.flush()

    schools = {
        "A": build_school("A", first),
        "B": build_school("B", first),
        "C": build_school("C", second),
    }

    users = {}
    authority_user = make_user("authority_1")
    add_membership(authority_user, "authority", authority=first)
    users["authority"] = authority_user.username

    admin = make_user("server_admin")
    admin.roles = [fab_role("server_admin")]
    users["server_admin"] = admin.username

    db.session.commit()
    return World(
        schools=schools, authority_ids={"first": first.id, "second": second.id}, users=users
    )


def build_school_under(key: str, authority_id: int) -> SchoolWorld:
    """Build and commit one more school under an existing authority, for tests that change data."""
    authority = db.session.get(EducationAuthority, authority_id)
    school = build_school(key, authority)
    db.session.commit()
    return school


def build_extra_school(key: str) -> SchoolWorld:
    """Build one more school under an authority of its own, for tests that change data.

    Tests that save marks or move lessons use such a school so that the shared world
    stays as the other tests expect it.
    """
    authority = EducationAuthority(name=f"Управление образования {key}", short_name=f"УО-{key}")
    db.session.add(authority)
    db.session.flush()
    world = build_school(key, authority)
    db.session.commit()
    return world


def add_teacher(world: SchoolWorld, username: str) -> Employee:
    """Add a teacher login and staff row to a test school."""
    school = db.session.get(School, world.school_id)
    user = make_user(username)
    add_membership(user, "teacher", school=school)
    employee = Employee(
        school_id=school.id, user_id=user.id, last_name="Учителев", first_name=username
    )
    db.session.add(employee)
    db.session.flush()
    return employee


def add_course_with_lesson(
    world: SchoolWorld,
    subject_name: str,
    *,
    class_name: str = "5А",
    teachers: list | None = None,
    day: dt.date = WEEK_START,
    lesson_number: int = 3,
    assessment: str = "marks",
    kind: str = "lesson",
) -> tuple[Course, Lesson]:
    """Add a course of a new subject to a class of a test school, with one lesson."""
    sid = world.school_id
    school_class = db.session.query(SchoolClass).filter_by(school_id=sid, name=class_name).one()
    subject = Subject(school_id=sid, name=subject_name)
    db.session.add(subject)
    db.session.flush()
    course = Course(
        school_id=sid,
        year_id=school_class.year_id,
        subject_id=subject.id,
        class_id=school_class.id,
        kind=kind,
        assessment=assessment,
        hours_per_week=Decimal("1"),
        teachers=list(teachers or []),
    )
    db.session.add(course)
    db.session.flush()
    lesson = Lesson(school_id=sid, course_id=course.id, date=day, lesson_number=lesson_number)
    db.session.add(lesson)
    db.session.flush()
    return course, lesson
