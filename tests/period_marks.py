"""Hand-made period marks for the authority report tests: classes, students, courses and
term or year marks of one test school, in the factory's school year or in a closed past one."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import delete, select, update

from app.models import (
    AcademicYear,
    Course,
    EducationAuthority,
    FinalMark,
    SchoolClass,
    Student,
    Subject,
    Term,
    db,
)
from tests.factories import SchoolWorld, add_membership, build_school_under, make_user

#: The school year the factories build, and the closed year before it.
YEAR = "2026/2027"
PAST_YEAR = "2025/2026"

#: Terms of the past year: (kind, number, start, end). Quarters serve grades 1–9 and
#: half-years grades 10–11, as in the factory's year.
PAST_TERMS = [
    ("quarter", 1, dt.date(2025, 9, 1), dt.date(2025, 10, 24)),
    ("quarter", 2, dt.date(2025, 11, 3), dt.date(2025, 12, 28)),
    ("quarter", 3, dt.date(2026, 1, 12), dt.date(2026, 3, 21)),
    ("quarter", 4, dt.date(2026, 3, 30), dt.date(2026, 5, 26)),
    ("half_year", 1, dt.date(2025, 9, 1), dt.date(2025, 12, 28)),
    ("half_year", 2, dt.date(2026, 1, 12), dt.date(2026, 5, 26)),
]

#: Which stored periods a report's term N reads: quarter N, and in half-year grades the
#: half-year containing the end of quarter N (1–2 → first, 3–4 → second).
READS = {
    1: {"q1", "h1"},
    2: {"q2", "h1"},
    3: {"q3", "h2"},
    4: {"q4", "h2"},
    "year": {"year"},
}


def school_name(key: str) -> str:
    """Return the name the factories give the school of ``key``."""
    return f"Школа № {key}"


@dataclass
class MarkedAuthorities:
    """A fresh authority with its test schools, another with one school, and a login each."""

    authority_id: int
    other_authority_id: int
    schools: dict[str, SchoolWorld]
    reader: str
    outsider: str

    def __getitem__(self, name: str):
        return getattr(self, name)


def build_marked_authorities(label: str, own_keys, other_key: str) -> MarkedAuthorities:
    """Build two authorities with their schools, without the factory's final marks.

    ``label`` makes the authorities' names and the logins unique: the readers are
    ``authority_<label>`` (own authority) and ``authority_<label>_other``.
    """
    own = EducationAuthority(name=f"Управление образования {label}", short_name=f"УО-{label}")
    other = EducationAuthority(name=f"Чужое управление {label}", short_name=f"УО-Ч-{label}")
    db.session.add_all([own, other])
    db.session.commit()
    schools = {key: build_school_under(key, own.id) for key in own_keys}
    schools[other_key] = build_school_under(other_key, other.id)
    # The factory's own term mark would be a row outside the tests' hand-made marks.
    school_ids = [school.school_id for school in schools.values()]
    db.session.execute(delete(FinalMark).where(FinalMark.school_id.in_(school_ids)))

    reader = make_user(f"authority_{label}")
    add_membership(reader, "authority", authority=own)
    outsider = make_user(f"authority_{label}_other")
    add_membership(outsider, "authority", authority=other)
    db.session.commit()
    return MarkedAuthorities(own.id, other.id, schools, reader.username, outsider.username)


class PeriodMarkBuilder:
    """Create what period marks need in one test school, each row once.

    ``assessments`` maps a subject's name to its courses' assessment ("pass_fail",
    "none"); other subjects are taught with marks. A student is keyed by name alone, so
    one name in two years is one student who moved up a grade. Periods are "q1"–"q4"
    for quarters, "h1"–"h2" for half-years and "year" for the year mark.
    """

    def __init__(self, school, assessments: dict[str, str] | None = None):
        self.school = school
        self.assessments = assessments or {}
        self.years = {YEAR: school.ids["AcademicYear"]}
        self.classes: dict[tuple[str, int], int] = {}
        self.students: dict[str, int] = {}
        self.subjects: dict[str, int] = {}
        self.courses: dict[tuple[str, int, str], int] = {}

    @property
    def school_id(self) -> int:
        return self.school.school_id

    def add_past_year(self) -> None:
        """Add the closed :data:`PAST_YEAR` with its closed quarters and half-years."""
        year = AcademicYear(
            school_id=self.school_id,
            name=PAST_YEAR,
            start_date=dt.date(2025, 9, 1),
            end_date=dt.date(2026, 5, 31),
            is_closed=True,
        )
        db.session.add(year)
        db.session.flush()
        self.years[PAST_YEAR] = year.id
        for kind, number, start, end in PAST_TERMS:
            quarter = kind == "quarter"
            db.session.add(
                Term(
                    school_id=self.school_id,
                    year_id=year.id,
                    kind=kind,
                    number=number,
                    name=f"{number} {'четверть' if quarter else 'полугодие'}",
                    start_date=start,
                    end_date=end,
                    grade_from=1 if quarter else 10,
                    grade_to=9 if quarter else 11,
                    is_closed=True,
                )
            )
        db.session.flush()

    def class_id(self, year: str, grade: int) -> int:
        if (year, grade) not in self.classes:
            school_class = SchoolClass(
                school_id=self.school_id,
                year_id=self.years[year],
                grade=grade,
                letter="Т",
                name=f"{grade}Т",
            )
            db.session.add(school_class)
            db.session.flush()
            self.classes[(year, grade)] = school_class.id
        return self.classes[(year, grade)]

    def student_id(self, year: str, grade: int, name: str) -> int:
        if name not in self.students:
            student = Student(
                school_id=self.school_id,
                class_id=self.class_id(year, grade),
                last_name="Итогова",
                first_name=name,
                sex="f",
            )
            db.session.add(student)
            db.session.flush()
            self.students[name] = student.id
        return self.students[name]

    def subject_id(self, name: str) -> int:
        """Return the school's subject of that name, made if the factory has not made it."""
        if name not in self.subjects:
            subject = db.session.scalars(
                select(Subject).where(Subject.school_id == self.school_id, Subject.name == name)
            ).one_or_none()
            if subject is None:
                subject = Subject(school_id=self.school_id, name=name)
                db.session.add(subject)
                db.session.flush()
            self.subjects[name] = subject.id
        return self.subjects[name]

    def course_id(self, year: str, grade: int, subject_name: str) -> int:
        key = (year, grade, subject_name)
        if key not in self.courses:
            course = Course(
                school_id=self.school_id,
                year_id=self.years[year],
                subject_id=self.subject_id(subject_name),
                class_id=self.class_id(year, grade),
                assessment=self.assessments.get(subject_name, "marks"),
                hours_per_week=Decimal("1"),
            )
            db.session.add(course)
            db.session.flush()
            self.courses[key] = course.id
        return self.courses[key]

    def term_id(self, year: str, period: str) -> int | None:
        if period == "year":
            return None
        kind = {"q": "quarter", "h": "half_year"}[period[0]]
        return db.session.scalars(
            select(Term.id).where(
                Term.school_id == self.school_id,
                Term.year_id == self.years[year],
                Term.kind == kind,
                Term.number == int(period[1:]),
            )
        ).one()

    def add_mark(self, year, grade, student, subject, period, value) -> None:
        term_id = self.term_id(year, period)
        db.session.add(
            FinalMark(
                school_id=self.school_id,
                student_id=self.student_id(year, grade, student),
                course_id=self.course_id(year, grade, subject),
                kind="year" if term_id is None else "term",
                term_id=term_id,
                value=value,
            )
        )


def teach_half_years_from_grade_five(school_id: int) -> None:
    """Move a school's grades 5–11 onto half-years in every year, leaving quarters to 1–4."""
    db.session.execute(
        update(Term).where(Term.school_id == school_id, Term.kind == "quarter").values(grade_to=4)
    )
    db.session.execute(
        update(Term)
        .where(Term.school_id == school_id, Term.kind == "half_year")
        .values(grade_from=5)
    )
