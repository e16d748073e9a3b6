"""Build the demo municipality: an authority, its schools, their people, timetable and journal.

Everything is made from the real reference data in ``app/demo/data`` and fictional names.
Logins and passwords of one account per role are written to the demo-logins CSV file.
"""

import contextlib
import csv
import datetime as dt
import logging
import os
import random
import secrets
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import click
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import insert, select
from werkzeug.security import generate_password_hash

from app.demo import reference
from app.demo.bulk import (
    copy_rows,
    insert_rows,
    insert_rows_returning_ids,
    skip_foreign_key_checks,
)
from app.demo.bulk_journal import YearJournal, fill_year_journal
from app.demo.calendar import DemoCalendar, build_calendar
from app.demo.city import CITY_SCHOOLS, SchoolProfile, city_profiles, format_duration
from app.demo.communication import fill_communication
from app.demo.journal import VPR_TYPE, fill_journal
from app.demo.names import NameGenerator, PersonName, UsernameRegistry
from app.demo.past_years import build_past_year
from app.demo.staff_records import add_staff_records
from app.demo.staffing import (
    CONVERSATIONS,
    PlannedCourse,
    PlannedTeacher,
    plan_teachers,
    plan_timetable,
    weekly_hours,
)
from app.models import (
    AcademicYear,
    AssignmentType,
    AttendanceCode,
    BellPeriod,
    BellSchedule,
    Course,
    CurriculumHours,
    EducationAuthority,
    Employee,
    Enrollment,
    Guardian,
    Holiday,
    Membership,
    Room,
    School,
    SchoolClass,
    Student,
    Subject,
    Term,
    TimetableEntry,
    Vacation,
    course_teacher,
    db,
    membership_role,
)
from app.models.base import person_full_name
from app.security.roles import ROLES
from app.services.timetable import generate_lessons

#: Steps of one school on the progress bar: people and timetable, lessons, journal.
STEPS_PER_SCHOOL = 3

#: Scales of the demo: a few schools in detail, or a city of 100 schools at full journal rates.
SCALES = ("school", "city")

#: The demo authority of each scale and its short name. The city takes the authority with
#: the most schools in the open data, 101 after duplicate rows are removed.
AUTHORITIES = {
    "school": ("Западное окружное управление образования", "ЗОУО"),
    "city": ("Юго-Западное окружное управление образования", "ЮЗОУО"),
}

#: City-scale schools after which the logins file lists no more school accounts; the first
#: two hold the teacher and the parent of two schools.
CITY_LISTED_SCHOOLS = 2

#: The order that admits the demo's first-graders, and how many days before the year it is
#: dated.
DEMO_ADMISSION_ORDER = "1-у"
DEMO_ORDER_DAYS_BEFORE = 7

#: Columns of the enrollment rows the build writes, in the order ``_write_enrollments`` gives.
ENROLLMENT_COLUMNS = (
    "school_id",
    "student_id",
    "class_id",
    "start_date",
    "start_kind",
    "start_order_number",
    "start_order_date",
    "is_first_enrolment",
    "is_backfilled",
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SizeSpec:
    grades: tuple[int, ...]
    letters: str
    students_per_class: tuple[int, int]


SIZES = {
    "normal": SizeSpec(tuple(range(1, 12)), "АБ", (20, 27)),
    "small": SizeSpec((1, 2, 5, 9, 10, 11), "А", (8, 8)),
}

#: Non-teaching staff of every school: position and role code.
SCHOOL_STAFF = [
    ("Директор", "principal"),
    ("Заместитель директора по учебно-воспитательной работе", "principal"),
    ("Заместитель директора по информатизации", "school_admin"),
    ("Секретарь учебной части", "secretary"),
    ("Специалист по кадрам", "hr"),
    ("Медицинская сестра", "medical"),
    ("Педагог-психолог", "psychologist"),
    ("Лаборант", "technical_staff"),
]

#: Assignment types: weight, homework flag, assessment-procedure flag. Tests and exams weigh
#: more than oral answers; types not listed weigh 1.
ASSIGNMENT_TYPE_RULES = {
    "Домашнее задание": (Decimal("1"), True, False),
    "Ответ на уроке": (Decimal("1"), False, False),
    "Устный развернутый ответ": (Decimal("1"), False, False),
    "Работа на уроке": (Decimal("1"), False, False),
    "Самостоятельная работа": (Decimal("1.5"), False, False),
    "Практическая работа": (Decimal("1.5"), False, False),
    "Лабораторная работа": (Decimal("1.5"), False, False),
    "Тестирование": (Decimal("1.5"), False, False),
    "Диктант": (Decimal("1.5"), False, False),
    "Сочинение": (Decimal("2"), False, False),
    "Изложение": (Decimal("2"), False, False),
    "Зачёт": (Decimal("2"), False, False),
    "Дифференцированный зачет": (Decimal("2"), False, False),
    "Тематическая работа": (Decimal("2"), False, True),
    "Проверочная работа": (Decimal("2"), False, True),
    "Контрольное списывание": (Decimal("2"), False, True),
    "Контрольная работа": (Decimal("2"), False, True),
    "Диагностическая работа": (Decimal("2"), False, True),
    "Диагностическая контрольная работа": (Decimal("2"), False, True),
    "Экзамен": (Decimal("3"), False, True),
}

#: Attendance codes: code, name, kind, counts as present, excused.
ATTENDANCE_CODES = [
    ("Н", "Отсутствовал", "absent", False, False),
    ("ОП", "Опоздал", "late", False, False),
    ("Б", "Болезнь", "reason", False, True),
    ("УП", "Уважительная причина", "reason", False, True),
    ("НП", "Неуважительная причина", "reason", False, False),
    ("ОЛ", "Олимпиада, соревнования", "reason", True, True),
]

SUBJECT_SHORT_NAMES = {
    "Русский язык": "Рус. яз.",
    "Литературное чтение": "Лит. чт.",
    "Литература": "Лит-ра",
    "Иностранный язык": "Ин. яз.",
    "Математика": "Матем.",
    "Алгебра": "Алгебра",
    "Геометрия": "Геом.",
    "Вероятность и статистика": "Вер. и стат.",
    "Алгебра и начала математического анализа": "Алгебра",
    "Окружающий мир": "Окр. мир",
    "Основы религиозных культур и светской этики": "ОРКСЭ",
    "Основы духовно-нравственной культуры народов России": "ОДНКНР",
    "Изобразительное искусство": "ИЗО",
    "Труд (технология)": "Труд",
    "Физическая культура": "Физ-ра",
    "Основы безопасности и защиты Родины": "ОБЗР",
    "Индивидуальный проект": "Инд. проект",
    CONVERSATIONS: "РоВ",
}

#: Parts of a subject taught as separate courses, and the subject they are part of.
SUBJECT_PARENTS = {
    "Алгебра": "Математика",
    "Геометрия": "Математика",
    "Вероятность и статистика": "Математика",
    "Алгебра и начала математического анализа": "Математика",
}

#: Courses that get no marks besides every course of grade 1.
NO_MARK_SUBJECTS = {"Основы религиозных культур и светской этики"}


class DemoExistsError(click.ClickException):
    """The database already contains the demo; ``flask demo`` prints it without a traceback."""


@dataclass(frozen=True)
class DemoLogin:
    """One row of the demo-logins file."""

    role: str
    school: str
    login: str
    password: str


@dataclass
class DemoResult:
    logins_file: Path
    logins: list[DemoLogin]
    authority_id: int | None = None
    school_ids: list[int] = field(default_factory=list)


@dataclass
class _Person:
    """A login to be created: the name, the FAB user id once inserted."""

    name: PersonName
    birth_date: dt.date | None = None
    user_id: int | None = None
    username: str | None = None
    student_id: int | None = None


@dataclass
class _Family:
    surname: str
    father_first_name: str
    guardians: list[tuple[_Person, str]]


class _CrossSchool:
    """People who belong to two schools: set while building the first, used in the second."""

    def __init__(self):
        self.teacher: _Person | None = None
        self.family: _Family | None = None


def build_demo(
    schools: int | None = None,
    size: str = "normal",
    today: dt.date | None = None,
    seed: int | None = None,
    progress: bool = False,
    scale: str = "school",
    years: int = 0,
    class_size: tuple[int, int] | None = None,
) -> DemoResult:
    """Build the demo municipality into the current database and write its logins file.

    ``today`` is the day the journal is filled up to (default: the real today); ``seed``
    makes the build repeatable, except for the passwords, which are always random. The
    ``school`` scale builds 3 schools by default; the ``city`` scale builds 100 schools of
    mixed sizes with the journal written in bulk (``size`` does not apply to it, and
    ``class_size``, for tests, gives each city school one small class per grade). ``years``
    adds that many closed years before the current one. Raises ValueError on a bad argument
    and DemoExistsError when the demo authority already exists.
    """
    if size not in SIZES:
        raise ValueError(f"Unknown demo size {size!r}: use one of {', '.join(SIZES)}.")
    if scale not in SCALES:
        raise ValueError(f"Unknown demo scale {scale!r}: use one of {', '.join(SCALES)}.")
    if schools is None:
        schools = CITY_SCHOOLS if scale == "city" else 3
    if schools < 1:
        raise ValueError(f"The demo needs at least one school, got {schools}.")
    if years < 0:
        raise ValueError(f"The number of past years cannot be negative, got {years}.")
    builder = _DemoBuilder(
        size=SIZES[size],
        today=today or dt.date.today(),
        rng=random.Random(seed if seed is not None else secrets.randbits(64)),
        progress=progress,
        scale=scale,
        years=years,
        class_size=class_size,
    )
    return builder.build(schools)


class _DemoBuilder:
    def __init__(
        self,
        size: SizeSpec,
        today: dt.date,
        rng: random.Random,
        progress: bool,
        scale: str = "school",
        years: int = 0,
        class_size: tuple[int, int] | None = None,
    ):
        self.size = size
        self.scale = scale
        self.years = years
        self.class_size = class_size
        self.today = today
        self.rng = rng
        self.progress = progress
        self.names = NameGenerator(rng)
        self.calendar: DemoCalendar = build_calendar(today)
        sm = current_app.appbuilder.sm
        self.user_model = sm.user_model
        self.roles = {}
        for code, spec in ROLES.items():
            self.roles[code] = sm.find_role(spec.name) or sm.add_role(spec.name)
        taken = set(db.session.scalars(select(self.user_model.username)))
        self.usernames = UsernameRegistry(taken)
        # Accounts not listed in the logins file share one hash of a random password that is
        # never stored.
        self.shared_hash = self._hash(secrets.token_urlsafe(32))
        self.logins: list[DemoLogin] = []
        self.cross = _CrossSchool()
        self.school_names: list[str] = []
        self.bar = None

    # --- helpers -----------------------------------------------------------------

    def _say(self, message: str) -> None:
        if self.progress:
            click.echo(message)

    def _advance(self, label: str) -> None:
        """Move the progress bar one step on, naming the step that starts."""
        if self.bar is not None:
            self.bar.label = label
            self.bar.update(1)

    def _progress_bar(self, steps: int):
        if not self.progress:
            return contextlib.nullcontext()
        return click.progressbar(length=steps, label=str(_("Building the demo")), show_pos=True)

    @staticmethod
    def _hash(password: str) -> str:
        """Hash as FAB's add_user does, with the same settings."""
        return generate_password_hash(
            password,
            method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"),
            salt_length=current_app.config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16),
        )

    def _create_users(self, people: list[_Person]) -> None:
        """Insert an ab_user row for each person not yet having one."""
        pending = [p for p in people if p.user_id is None]
        rows = []
        for person in pending:
            person.username = self.usernames.make(person.name)
            rows.append(
                {
                    "username": person.username,
                    "first_name": person.name.first_name[:64],
                    "last_name": person.name.last_name[:64],
                    "email": f"{person.username}@demo.invalid",
                    "password": self.shared_hash,
                    "active": True,
                }
            )
        for person, user_id in zip(
            pending, insert_rows_returning_ids(self.user_model, rows, ("username",)), strict=True
        ):
            person.user_id = user_id

    def _add_memberships(
        self, entries: list[tuple[int, int | None, int | None, list[str]]]
    ) -> None:
        """Insert memberships (user, school, authority, role codes) and their roles."""
        rows = [
            {
                "user_id": user_id,
                "school_id": school_id,
                "authority_id": authority_id,
                "is_active": True,
            }
            for user_id, school_id, authority_id, _codes in entries
        ]
        ids = insert_rows_returning_ids(Membership, rows, ("user_id", "school_id", "authority_id"))
        role_rows = [
            {"membership_id": membership_id, "role_id": self.roles[code].id}
            for membership_id, (_u, _s, _a, codes) in zip(ids, entries, strict=True)
            for code in dict.fromkeys(codes)
        ]
        insert_rows(membership_role, role_rows)

    def _list_login(self, role: str, organisation: str, person: _Person) -> None:
        """Give the person a password of their own and list it in the logins file."""
        if any(
            login.login == person.username and login.role == role and login.school == organisation
            for login in self.logins
        ):
            return
        existing = next((login for login in self.logins if login.login == person.username), None)
        if existing is not None:
            password = existing.password
        else:
            password = secrets.token_urlsafe(9)
            db.session.execute(
                self.user_model.__table__.update()
                .where(self.user_model.id == person.user_id)
                .values(password=self._hash(password))
            )
        self.logins.append(DemoLogin(role, organisation, person.username, password))

    def _adult(self, sex: str | None = None, age: tuple[int, int] = (25, 62)) -> _Person:
        sex = sex or self.rng.choice("mf")
        years = self.rng.randint(*age)
        birth = self.calendar.start - dt.timedelta(days=365 * years + self.rng.randint(0, 364))
        return _Person(self.names.adult(sex), birth)

    # --- the whole build ---------------------------------------------------------

    def build(self, school_count: int) -> DemoResult:
        records = reference.moscow_schools()
        authority_name, short_name = AUTHORITIES[self.scale]
        if db.session.scalar(
            select(EducationAuthority.id).where(EducationAuthority.name == authority_name)
        ):
            raise DemoExistsError(
                _(
                    "The database already contains the demo authority «%(name)s». "
                    "Build the demo into an empty database.",
                    name=authority_name,
                )
            )
        candidates = [r for r in records if r.authority == authority_name]
        if self.scale == "city":
            # The open data lists some schools once per building: keep one row per school.
            candidates = list({record.number: record for record in candidates}.values())
        chosen = self.rng.sample(candidates, min(school_count, len(candidates)))
        profiles = self._profiles(len(chosen))
        if school_count == 1:
            self._say(_("One school only: the teacher and the parent of two schools are left out."))

        authority = EducationAuthority(
            name=authority_name, short_name=short_name, region="Москва", city="Москва"
        )
        db.session.add(authority)
        db.session.flush()
        self._build_server_people(authority)

        result = DemoResult(
            logins_file=Path(current_app.config["DEMO_LOGINS_FILE"]),
            logins=self.logins,
            authority_id=authority.id,
        )
        if self.scale == "city":
            self._build_city(authority, chosen, profiles, result)
        else:
            with self._progress_bar(len(chosen) * STEPS_PER_SCHOOL) as bar:
                self.bar = bar
                for index, record in enumerate(chosen):
                    self.school_names.append(f"Школа № {record.number}")
                    school = _SchoolBuilder(
                        self, authority, record, index, school_count, profiles[index]
                    ).build()
                    result.school_ids.append(school.id)
                    db.session.commit()
                self.bar = None
        self._write_logins(result.logins_file)
        return result

    def _profiles(self, count: int) -> list[SchoolProfile]:
        if self.scale == "city":
            return city_profiles(count, random.Random(self.rng.random()), self.class_size)
        profile = SchoolProfile(
            grades=self.size.grades,
            letters=self.size.letters,
            students_per_class=self.size.students_per_class,
        )
        return [profile] * count

    def _build_city(self, authority, chosen, profiles, result: DemoResult) -> None:
        """Build the schools one by one, each in its own transaction, reporting progress."""
        started = time.monotonic()
        for index, record in enumerate(chosen):
            self.school_names.append(f"Школа № {record.number}")
            skip_foreign_key_checks()
            school = _SchoolBuilder(
                self, authority, record, index, len(chosen), profiles[index]
            ).build()
            result.school_ids.append(school.id)
            db.session.commit()
            self._report_city_progress(index + 1, len(chosen), school.name, started)

    def _report_city_progress(self, done: int, total: int, name: str, started: float) -> None:
        """Print one line per school: schools done, time spent and an estimate of the time left.

        The estimate assumes the remaining schools take as long as the built ones on average.
        """
        if not self.progress:
            return
        elapsed = time.monotonic() - started
        left = elapsed / done * (total - done)
        click.echo(
            _(
                "%(done)d of %(total)d schools built (%(school)s): %(elapsed)s spent, "
                "about %(left)s left",
                done=done,
                total=total,
                school=name,
                elapsed=format_duration(elapsed),
                left=format_duration(left),
            ),
            err=True,
        )
        sys.stderr.flush()

    def _build_server_people(self, authority: EducationAuthority) -> None:
        officer = self._adult()
        admin = self._adult()
        self._create_users([officer, admin])
        self._add_memberships([(officer.user_id, None, authority.id, ["authority"])])
        db.session.execute(
            insert(self.user_model.roles.property.secondary),
            [{"user_id": admin.user_id, "role_id": self.roles["server_admin"].id}],
        )
        self._list_login("authority", authority.name, officer)
        self._list_login("server_admin", "", admin)

    def _write_logins(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["role", "school", "login", "password"])
            for login in self.logins:
                writer.writerow([login.role, login.school, login.login, login.password])
        os.chmod(path, 0o600)


class _SchoolBuilder:
    """Builds one school; ``index`` 0 is the first school, 1 the second."""

    def __init__(
        self,
        demo: _DemoBuilder,
        authority: EducationAuthority,
        record,
        index: int,
        school_count: int,
        profile: SchoolProfile,
    ):
        self.demo = demo
        self.rng = demo.rng
        self.profile = profile
        self.calendar = (
            demo.calendar if profile.half_years else build_calendar(demo.today, half_years=False)
        )
        self.authority = authority
        self.record = record
        self.index = index
        self.cross_school = school_count >= 2

    def build(self) -> School:
        demo = self.demo
        record = self.record
        school = School(
            authority_id=self.authority.id,
            name=f"Школа № {record.number}",
            full_name=record.full_name,
            number=record.number,
            okrug=record.okrug,
            district=record.district,
            address=record.address,
            shifts=1,
            six_day_week=self.profile.six_day_week,
            max_mark=5,
            weighting_enabled=True,
        )
        db.session.add(school)
        db.session.flush()
        self.school = school
        self.school_id = school.id

        demo._advance(_("%(school)s: people and timetable", school=school.name))
        self._build_calendar()
        self._build_reference_lists()
        self._build_classes()
        self._build_staff()
        self._build_courses_and_timetable()
        self._build_students()

        demo._advance(_("%(school)s: lessons", school=school.name))
        calendar = self.calendar
        if demo.scale != "city":
            # The city scale plans its lessons with the journal, in one bulk write.
            generate_lessons(self.school_id, calendar.start, calendar.end, today=demo.today)
        demo._advance(_("%(school)s: marks and attendance", school=school.name))
        if demo.scale == "city":
            fill_year_journal(self.year_journal(), random.Random(self.rng.random()))
        else:
            fill_journal(self)
        fill_communication(self)
        if demo.scale != "city" or self.index < CITY_LISTED_SCHOOLS:
            self._list_school_logins()
        for years_back in range(1, demo.years + 1):
            build_past_year(self, years_back)
        return school

    def year_journal(self) -> YearJournal:
        """Describe the current year for the bulk journal filler."""
        return YearJournal(
            school_id=self.school_id,
            year=self.year,
            terms=self.terms,
            students_by_class=self.students_by_class,
            course_teacher_user=self.course_teacher_user,
            assignment_types=self.assignment_types,
            attendance_codes=self.attendance_codes,
            today=self.demo.today,
            closed=False,
        )

    # --- calendar and lists ------------------------------------------------------

    def _build_calendar(self) -> None:
        calendar = self.calendar
        sid = self.school_id
        year = AcademicYear(
            school_id=sid, name=calendar.name, start_date=calendar.start, end_date=calendar.end
        )
        db.session.add(year)
        db.session.flush()
        self.year = year
        self.terms = []
        for spec in calendar.terms:
            term = Term(
                school_id=sid,
                year_id=year.id,
                kind=spec.kind,
                number=spec.number,
                name=spec.name,
                start_date=spec.start,
                end_date=spec.end,
                grade_from=spec.grade_from,
                grade_to=spec.grade_to,
                is_closed=spec.end < self.demo.today,
            )
            self.terms.append(term)
        db.session.add_all(self.terms)
        self.vacations = []
        for spec in calendar.vacations:
            vacation = Vacation(
                school_id=sid,
                year_id=year.id,
                name=spec.name,
                start_date=spec.start,
                end_date=spec.end,
            )
            self.vacations.append((vacation, spec.grades))
            db.session.add(vacation)
        for date, name in calendar.holidays:
            db.session.add(Holiday(school_id=sid, date=date, name=name, is_working_day=False))
        self._build_bell_schedules()
        db.session.flush()

    def _build_bell_schedules(self, calendar: DemoCalendar | None = None) -> None:
        """Add the bell schedules; a past year's ``calendar`` adds its dated first-grade ones."""
        schedules = reference.bell_schedules()
        past_year = calendar is not None
        calendar = calendar or self.calendar
        winter_end = dt.date(calendar.start.year, 12, 31)
        variants = [
            (
                "1 классы, сентябрь–декабрь, 35 минут",
                "1 классы, ноябрь-декабрь (5 уроков по 35 мин)",
                1,
                1,
                None,
                calendar.start,
                winter_end,
            ),
            (
                "1 классы, январь–май, 40 минут",
                "1 классы, январь-май (5 уроков по 40 мин)",
                1,
                1,
                None,
                winter_end + dt.timedelta(days=1),
                calendar.end,
            ),
            (
                "2–4 классы",
                "1-11 классы, 40-мин уроки (школа-интернат, 2023/24)",
                2,
                4,
                None,
                None,
                None,
            ),
            (
                "5–11 классы, понедельник",
                "5-11 классы, понедельник (1-й урок 30 мин)",
                5,
                11,
                1,
                None,
                None,
            ),
            ("5–11 классы", "5-11 классы, вторник-пятница", 5, 11, None, None, None),
        ]
        # NOTE: the step mode of first grades in September and October (three 35-minute
        # lessons) is not modelled: their timetable keeps its November length all autumn.
        for name, source, grade_from, grade_to, weekday, valid_from, valid_to in variants:
            if past_year and valid_from is None:
                continue
            if past_year:
                name = f"{name}, {calendar.name}"
            schedule = BellSchedule(
                school_id=self.school_id,
                name=name,
                shift=1,
                grade_from=grade_from,
                grade_to=grade_to,
                weekday=weekday,
                valid_from=valid_from,
                valid_to=valid_to,
            )
            schedule.periods = [
                BellPeriod(
                    school_id=self.school_id,
                    lesson_number=p.lesson_number,
                    starts_at=p.starts_at,
                    ends_at=p.ends_at,
                )
                for p in schedules[source]
            ]
            db.session.add(schedule)

    def _build_reference_lists(self) -> None:
        sid = self.school_id
        self.assignment_types = {}
        for spec in reference.assignment_types():
            weight, is_homework, is_procedure = ASSIGNMENT_TYPE_RULES.get(
                spec.name, (Decimal("1"), False, False)
            )
            item = AssignmentType(
                school_id=sid,
                name=spec.name,
                default_weight=weight,
                is_homework=is_homework,
                is_assessment_procedure=is_procedure,
                sgo_id=spec.sgo_id,
            )
            self.assignment_types[spec.name] = item
            db.session.add(item)
        # «Сетевой Город» has no ВПР type of its own; schools add one, and the authority's
        # ВПР report finds the works by this name.
        vpr = AssignmentType(
            school_id=sid,
            name=VPR_TYPE,
            short_name=VPR_TYPE,
            default_weight=Decimal("2"),
            is_assessment_procedure=True,
        )
        self.assignment_types[VPR_TYPE] = vpr
        db.session.add(vpr)
        self.attendance_codes = {}
        for code, name, kind, present, excused in ATTENDANCE_CODES:
            item = AttendanceCode(
                school_id=sid,
                code=code,
                name=name,
                kind=kind,
                counts_as_present=present,
                is_excused=excused,
            )
            self.attendance_codes[code] = item
            db.session.add(item)

        plan = reference.curriculum()
        names = list(
            dict.fromkeys(subject for grade in self.profile.grades for subject, _ in plan[grade])
        )
        names.append(CONVERSATIONS)
        self.subjects = {
            name: Subject(school_id=sid, name=name, short_name=SUBJECT_SHORT_NAMES.get(name))
            for name in names
        }
        for parent in set(SUBJECT_PARENTS.values()):
            if parent not in self.subjects:
                self.subjects[parent] = Subject(
                    school_id=sid, name=parent, short_name=SUBJECT_SHORT_NAMES.get(parent)
                )
        db.session.add_all(self.subjects.values())
        db.session.flush()
        for name, parent in SUBJECT_PARENTS.items():
            if name in self.subjects:
                self.subjects[name].parent_id = self.subjects[parent].id
        for grade in self.profile.grades:
            for subject, hours in plan[grade]:
                db.session.add(
                    CurriculumHours(
                        school_id=sid,
                        year_id=self.year.id,
                        subject_id=self.subjects[subject].id,
                        grade=grade,
                        hours_per_week=hours,
                    )
                )
        db.session.flush()

    def _build_classes(self) -> None:
        self.classes: dict[str, SchoolClass] = {}
        for grade in self.profile.grades:
            for letter in self.profile.letters:
                name = f"{grade}{letter}"
                self.classes[name] = SchoolClass(
                    school_id=self.school_id,
                    year_id=self.year.id,
                    grade=grade,
                    letter=letter,
                    name=name,
                    shift=1,
                    six_day_week=self.profile.six_day_week,
                )
        db.session.add_all(self.classes.values())
        db.session.flush()
        for vacation, grades in self.vacations:
            if grades:
                vacation.classes = [c for c in self.classes.values() if c.grade in grades]
        db.session.flush()

    # --- staff -------------------------------------------------------------------

    def _build_staff(self) -> None:
        """Plan the teaching load, then create the teachers and the other staff."""
        plan = reference.curriculum()
        self.planned_courses: list[PlannedCourse] = []
        for name, school_class in self.classes.items():
            grade = school_class.grade
            for subject, hours in plan[grade]:
                assessment = "none" if grade == 1 or subject in NO_MARK_SUBJECTS else "marks"
                self.planned_courses.append(
                    PlannedCourse(name, grade, subject, weekly_hours(hours), "lesson", assessment)
                )
            self.planned_courses.append(
                PlannedCourse(name, grade, CONVERSATIONS, 1, "extracurricular", "none")
            )
        class_list = [(name, c.grade) for name, c in self.classes.items()]
        shared = self.cross_school and self.index == 1
        self.teachers: list[PlannedTeacher] = plan_teachers(
            self.planned_courses, class_list, self.rng, shared_informatics=shared
        )

        self.teacher_people: dict[int, _Person] = {}
        for teacher in self.teachers:
            if teacher.shared and self.demo.cross.teacher is not None:
                self.teacher_people[teacher.key] = self.demo.cross.teacher
            else:
                sex = "f" if self.rng.random() < 0.8 else "m"
                self.teacher_people[teacher.key] = self.demo._adult(sex)
        self.staff_people = [
            (position, code, self.demo._adult("f" if self.rng.random() < 0.7 else "m", (30, 62)))
            for position, code in SCHOOL_STAFF
        ]
        people = list(self.teacher_people.values()) + [p for _, _, p in self.staff_people]
        self.demo._create_users(people)
        director = self.staff_people[0][2].name
        self.school.principal_name = person_full_name(
            director.last_name, director.first_name, director.middle_name
        )

        rows = []
        for teacher in self.teachers:
            person = self.teacher_people[teacher.key]
            rows.append(self._employee_row(person, teacher.position))
        for position, _code, person in self.staff_people:
            rows.append(self._employee_row(person, position))
        ids = insert_rows_returning_ids(Employee, rows, ("school_id", "user_id"))
        self.employee_ids = {teacher.key: ids[i] for i, teacher in enumerate(self.teachers)}
        employees = [(ids[i], row["position"], row["birth_date"]) for i, row in enumerate(rows)]
        # A generator of its own, seeded from the build's, so that the number of draws for
        # the records does not shift the rest of the build.
        add_staff_records(
            self.school_id, employees, self.demo.today, random.Random(self.rng.random())
        )
        memberships = [
            (self.teacher_people[t.key].user_id, self.school_id, None, ["teacher"])
            for t in self.teachers
        ]
        memberships += [
            (person.user_id, self.school_id, None, [code]) for _, code, person in self.staff_people
        ]
        self.demo._add_memberships(memberships)

        # Rooms: one per primary class, one per subject teacher, a gym per PE teacher.
        self.rooms: dict[int, Room] = {}
        counters = {1: 100, 2: 200, 3: 300}
        gyms = 0
        for teacher in self.teachers:
            if teacher.position == "Учитель физической культуры":
                gyms += 1
                room = Room(
                    school_id=self.school_id, name=f"Спортивный зал {gyms}", capacity=60, floor=1
                )
            else:
                floor = (
                    1 if teacher.position == "Учитель начальных классов" else 2 + teacher.key % 2
                )
                counters[floor] += 1
                room = Room(
                    school_id=self.school_id, name=str(counters[floor]), capacity=30, floor=floor
                )
            self.rooms[teacher.key] = room
        db.session.add_all(self.rooms.values())
        db.session.flush()
        for teacher in self.teachers:
            if teacher.class_key:
                school_class = self.classes[teacher.class_key]
                school_class.class_teacher_id = self.employee_ids[teacher.key]
                school_class.room_id = self.rooms[teacher.key].id
        if self.cross_school and self.index == 0:
            self._choose_shared_teacher()
        db.session.flush()

    def _employee_row(self, person: _Person, position: str) -> dict:
        return {
            "school_id": self.school_id,
            "user_id": person.user_id,
            "last_name": person.name.last_name,
            "first_name": person.name.first_name,
            "middle_name": person.name.middle_name,
            "position": position,
            "birth_date": person.birth_date,
            "sex": person.name.sex,
            "is_active": True,
        }

    def _choose_shared_teacher(self) -> None:
        """The mathematics and informatics teacher who will also teach informatics next door."""
        for teacher in self.teachers:
            if teacher.position == "Учитель математики и информатики" and teacher.class_key is None:
                self.demo.cross.teacher = self.teacher_people[teacher.key]
                return
        math_teachers = [
            t for t in self.teachers if t.position == "Учитель математики и информатики"
        ]
        self.demo.cross.teacher = self.teacher_people[(math_teachers or self.teachers)[-1].key]

    # --- courses and timetable ---------------------------------------------------

    def _build_courses_and_timetable(self) -> None:
        courses = []
        for planned in self.planned_courses:
            course = Course(
                school_id=self.school_id,
                year_id=self.year.id,
                subject_id=self.subjects[planned.subject].id,
                class_id=self.classes[planned.class_key].id,
                kind=planned.kind,
                assessment=planned.assessment,
                hours_per_week=Decimal(planned.hours),
            )
            courses.append(course)
        db.session.add_all(courses)
        db.session.flush()
        self.course_ids = {
            id(planned): course.id
            for planned, course in zip(self.planned_courses, courses, strict=True)
        }
        self.course_teacher_user = {}
        teacher_rows = []
        for planned in self.planned_courses:
            course_id = self.course_ids[id(planned)]
            teacher_rows.append(
                {"course_id": course_id, "employee_id": self.employee_ids[planned.teacher.key]}
            )
            self.course_teacher_user[course_id] = self.teacher_people[planned.teacher.key].user_id
        insert_rows(course_teacher, teacher_rows)

        class_list = [(name, c.grade) for name, c in self.classes.items()]
        days = 6 if self.profile.six_day_week else 5
        slots, clashes = plan_timetable(self.planned_courses, class_list, self.rng, days=days)
        self.slots = slots
        if clashes:
            log.info("Demo timetable of school %d has %d teacher clashes", self.school_id, clashes)
        rows = [
            {
                "school_id": self.school_id,
                "course_id": self.course_ids[id(slot.course)],
                "weekday": slot.weekday,
                "lesson_number": slot.lesson_number,
                "room_id": self.rooms[slot.course.teacher.key].id,
                "week_parity": "every",
            }
            for slot in slots
        ]
        insert_rows(TimetableEntry, rows)

    # --- students and parents ----------------------------------------------------

    def _new_family(self) -> _Family:
        names = self.demo.names
        surname = names.surname()
        father_first = names.father_first_name()
        guardians = []
        if self.rng.random() < 0.95:
            mother = self.demo._adult("f", (26, 50))
            mother.name = names.adult("f", surname)
            guardians.append((mother, "mother"))
        if not guardians or self.rng.random() < 0.45:
            father = self.demo._adult("m", (28, 55))
            father.name = PersonName(surname, father_first, father.name.middle_name, "m")
            guardians.append((father, "father"))
        return _Family(surname, father_first, guardians)

    def _student_birth(self, grade: int) -> dt.date:
        first = dt.date(self.demo.calendar.start.year - grade - 6, 9, 1)
        return first + dt.timedelta(days=self.rng.randint(0, 364))

    def _build_students(self) -> None:
        """Create classes full of students, each with one or two parents of their own family."""
        demo = self.demo
        low, high = self.profile.students_per_class
        self.members: list[tuple[_Person, str, _Family]] = []  # (student, class name, family)
        families: list[_Family] = []
        for class_name in self.classes:
            for _student in range(self.rng.randint(low, high)):
                family = None
                if families and self.rng.random() < 0.05:
                    family = self.rng.choice(families)
                    if any(
                        member_class == class_name
                        for _, member_class, f in self.members
                        if f is family
                    ):
                        family = None
                if family is None:
                    family = self._new_family()
                    families.append(family)
                self._add_child(family, class_name)

        # The class teacher listed in the logins file has a student whose parent has a second
        # child in another class of this school, so the parent's diary switches between them.
        self.login_teacher = self._choose_login_teacher()
        login_class = self.login_teacher.class_key
        other_class = (
            next(name for name, c in self.classes.items() if name != login_class and c.grade != 1)
            if len(self.classes) > 1
            else login_class
        )
        sibling_family = self._new_family()
        families.append(sibling_family)
        self.login_student = self._add_child(sibling_family, login_class)
        self._add_child(sibling_family, other_class)
        self.login_family = sibling_family

        if self.cross_school:
            if self.index == 0:
                demo.cross.family = self._new_family()
                self._add_child(demo.cross.family, other_class)
            elif self.index == 1 and demo.cross.family is not None:
                self._add_child(demo.cross.family, login_class)

        people = [student for student, _, _ in self.members]
        guardian_people = list(
            {id(p): p for _, _, f in self.members for p, _ in f.guardians}.values()
        )
        demo._create_users(people + guardian_people)

        student_rows = []
        for number, (student, class_name, _family) in enumerate(self.members, start=1):
            student_rows.append(
                {
                    "school_id": self.school_id,
                    "user_id": student.user_id,
                    "class_id": self.classes[class_name].id,
                    "last_name": student.name.last_name,
                    "first_name": student.name.first_name,
                    "middle_name": student.name.middle_name,
                    "birth_date": student.birth_date,
                    "sex": student.name.sex,
                    "personal_file_number": f"{number:04d}",
                    "is_active": True,
                }
            )
        student_ids = insert_rows_returning_ids(Student, student_rows, ("school_id", "user_id"))
        self.students_by_class: dict[int, list[int]] = {}
        guardian_rows = []
        for student_id, (student, class_name, family) in zip(
            student_ids, self.members, strict=True
        ):
            student.student_id = student_id
            self.students_by_class.setdefault(self.classes[class_name].id, []).append(student_id)
            for parent, kind in family.guardians:
                guardian_rows.append(
                    {
                        "school_id": self.school_id,
                        "student_id": student_id,
                        "user_id": parent.user_id,
                        "last_name": parent.name.last_name,
                        "first_name": parent.name.first_name,
                        "middle_name": parent.name.middle_name,
                        "kind": kind,
                        "is_barred": False,
                    }
                )
        insert_rows(Guardian, guardian_rows)
        self._write_enrollments()
        memberships = [(s.user_id, self.school_id, None, ["student"]) for s, _, _ in self.members]
        parent_users = list(dict.fromkeys(p.user_id for p in guardian_people))
        memberships += [(user_id, self.school_id, None, ["parent"]) for user_id in parent_users]
        demo._add_memberships(memberships)

    def _write_enrollments(self) -> None:
        """Open each student's stay in the current class on the first day of the year.

        First-graders enter school for the first time, admitted by one order a week before
        the year starts. The other students came in years the demo does not build, so their
        stays carry no order and are marked backfilled, as the migration marks old data.
        """
        start = self.calendar.start
        order_date = start - dt.timedelta(days=DEMO_ORDER_DAYS_BEFORE)

        def rows():
            for student, class_name, _family in self.members:
                first_grade = self.classes[class_name].grade == 1
                yield (
                    self.school_id,
                    student.student_id,
                    self.classes[class_name].id,
                    start,
                    "admission",
                    DEMO_ADMISSION_ORDER if first_grade else None,
                    order_date if first_grade else None,
                    first_grade,
                    not first_grade,
                )

        copy_rows(Enrollment.__table__, ENROLLMENT_COLUMNS, rows())

    def _add_child(self, family: _Family, class_name: str) -> _Person:
        grade = self.classes[class_name].grade
        child = _Person(
            self.demo.names.child(self.rng.choice("mf"), family.surname, family.father_first_name),
            self._student_birth(grade),
        )
        self.members.append((child, class_name, family))
        return child

    def _choose_login_teacher(self) -> PlannedTeacher:
        """Pick the class teacher of grade 5 or above who teaches the most courses."""
        candidates = [
            t
            for t in self.teachers
            if t.class_key and self.classes[t.class_key].grade >= 5 and not t.shared
        ]
        if not candidates:
            candidates = [t for t in self.teachers if t.class_key]
        return max(candidates, key=lambda t: (len(t.courses), -t.key))

    # --- logins ------------------------------------------------------------------

    def _list_school_logins(self) -> None:
        demo = self.demo
        name = self.school.name
        listed_codes = set()
        for _position, code, person in self.staff_people:
            if code in listed_codes:
                continue
            listed_codes.add(code)
            demo._list_login(code, name, person)
        demo._list_login("teacher", name, self.teacher_people[self.login_teacher.key])
        demo._list_login("student", name, self.login_student)
        demo._list_login("parent", name, self.login_family.guardians[0][0])
        if self.cross_school and self.index == 1:
            first_school = demo.school_names[0]
            if demo.cross.teacher is not None:
                demo._list_login("teacher", first_school, demo.cross.teacher)
                demo._list_login("teacher", name, demo.cross.teacher)
            if demo.cross.family is not None:
                parent = demo.cross.family.guardians[0][0]
                demo._list_login("parent", first_school, parent)
                demo._list_login("parent", name, parent)
