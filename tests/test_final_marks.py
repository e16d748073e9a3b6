"""Final marks: suggestions by the regulation, certificate marks, saving, locks and access."""

import datetime as dt
from decimal import Decimal
from itertools import count

import pytest
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy import select

from app.models import (
    AcademicYear,
    Assignment,
    Attendance,
    AttendanceCode,
    CertificateMark,
    Course,
    Employee,
    FinalMark,
    JournalAudit,
    Lesson,
    Mark,
    SchoolClass,
    Student,
    Subject,
    Term,
    db,
)
from app.services.final_marks import (
    allowed_final_marks_message,
    certificate_page,
    final_marks_page,
    suggest_term_marks,
    suggest_year_mark,
)
from app.services.regulation import default_regulation, parse_thresholds, round_average
from tests.factories import build_extra_school

#: After the school year: every lesson of the test year has been held.
AFTER_YEAR = dt.date(2027, 6, 30)
FIRST_QUARTER_DAY = dt.date(2026, 9, 7)

_names = count(1)


@pytest.fixture(scope="module")
def school(app, world):
    """A school of its own, so that saved final marks do not leak into the shared world."""
    with app.app_context():
        built = build_extra_school("F1")
        principal = db.session.scalar(
            select(Employee).where(
                Employee.school_id == built.school_id, Employee.position == "principal"
            )
        )
        principal.user.first_name = "Ирина"
        principal.user.last_name = "Директорова"
        db.session.commit()
        return built


# --- Builders ---------------------------------------------------------------------------


def year_id(school, name="2026/2027"):
    return db.session.scalar(
        select(AcademicYear.id).where(
            AcademicYear.school_id == school.school_id, AcademicYear.name == name
        )
    )


def past_year(school, name: str, start_year: int) -> AcademicYear:
    """A previous school year, with two half-years for grades 10–11."""
    year = db.session.scalar(
        select(AcademicYear).where(
            AcademicYear.school_id == school.school_id, AcademicYear.name == name
        )
    )
    if year is not None:
        return year
    year = AcademicYear(
        school_id=school.school_id,
        name=name,
        start_date=dt.date(start_year, 9, 1),
        end_date=dt.date(start_year + 1, 5, 31),
    )
    db.session.add(year)
    db.session.flush()
    for number, start, end in [
        (1, dt.date(start_year, 9, 1), dt.date(start_year, 12, 28)),
        (2, dt.date(start_year + 1, 1, 12), dt.date(start_year + 1, 5, 26)),
    ]:
        db.session.add(
            Term(
                school_id=school.school_id,
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
    db.session.flush()
    return year


def new_class(school, grade: int, year=None) -> SchoolClass:
    year_key = year.id if year is not None else year_id(school)
    school_class = SchoolClass(
        school_id=school.school_id,
        year_id=year_key,
        grade=grade,
        letter="Ф",
        name=f"{grade}Ф{next(_names)}",
    )
    db.session.add(school_class)
    db.session.flush()
    return school_class


def new_student(school, school_class, last_name="Иванов") -> Student:
    student = Student(
        school_id=school.school_id,
        class_id=school_class.id,
        last_name=last_name,
        first_name="Иван",
        sex="m",
    )
    db.session.add(student)
    db.session.flush()
    return student


def subject_named(school, name: str, parent: str | None = None) -> Subject:
    subject = db.session.scalar(
        select(Subject).where(Subject.school_id == school.school_id, Subject.name == name)
    )
    if subject is None:
        parent_id = subject_named(school, parent).id if parent else None
        subject = Subject(school_id=school.school_id, name=name, parent_id=parent_id)
        db.session.add(subject)
        db.session.flush()
    return subject


def new_course(school, school_class, subject_name, hours=1, assessment="marks", teachers=()):
    course = Course(
        school_id=school.school_id,
        year_id=school_class.year_id,
        subject_id=subject_named(school, subject_name).id,
        class_id=school_class.id,
        kind="lesson",
        assessment=assessment,
        hours_per_week=Decimal(hours),
        teachers=list(teachers),
    )
    db.session.add(course)
    db.session.flush()
    return course


def new_lesson(course, day: dt.date, cancelled=False) -> Lesson:
    lesson = Lesson(
        school_id=course.school_id,
        course_id=course.id,
        date=day,
        lesson_number=1,
        is_cancelled=cancelled,
    )
    db.session.add(lesson)
    db.session.flush()
    return lesson


def give_marks(school, course, student, values, weights=None, start=FIRST_QUARTER_DAY):
    """One lesson per mark, from ``start`` on; a value is a number, «зач» or «незач»."""
    for index, value in enumerate(values):
        lesson = new_lesson(course, start + dt.timedelta(days=index))
        assignment = Assignment(
            school_id=school.school_id,
            lesson_id=lesson.id,
            type_id=school.ids["AssignmentType"],
            weight=Decimal(str(weights[index])) if weights else Decimal(1),
        )
        db.session.add(assignment)
        db.session.flush()
        kind = {"зач": "pass", "незач": "fail"}.get(value, "number")
        db.session.add(
            Mark(
                school_id=school.school_id,
                assignment_id=assignment.id,
                student_id=student.id,
                kind=kind,
                value=value if kind == "number" else None,
            )
        )
    db.session.flush()


def code(school, text, kind="absent", counts_as_present=False) -> AttendanceCode:
    found = db.session.scalar(
        select(AttendanceCode).where(
            AttendanceCode.school_id == school.school_id, AttendanceCode.code == text
        )
    )
    if found is None:
        found = AttendanceCode(
            school_id=school.school_id,
            code=text,
            name=text,
            kind=kind,
            counts_as_present=counts_as_present,
        )
        db.session.add(found)
        db.session.flush()
    return found


def absent(school, lesson, student, reason=None):
    db.session.add(
        Attendance(
            school_id=school.school_id,
            lesson_id=lesson.id,
            student_id=student.id,
            code_id=code(school, "Н").id,
            reason_id=reason.id if reason else None,
        )
    )
    db.session.flush()


def first_quarter(school, course) -> Term:
    return db.session.scalar(
        select(Term)
        .where(
            Term.school_id == school.school_id,
            Term.year_id == course.year_id,
            Term.grade_from <= course.school_class.grade,
            Term.grade_to >= course.school_class.grade,
        )
        .order_by(Term.start_date)
        .limit(1)
    )


def store(school, student, course, kind, value, term=None) -> FinalMark:
    mark = FinalMark(
        school_id=school.school_id,
        student_id=student.id,
        course_id=course.id,
        kind=kind,
        term_id=term.id if term is not None else None,
        value=value,
    )
    db.session.add(mark)
    db.session.flush()
    return mark


def regulation(school, **settings):
    rule = default_regulation(school.school_id, year_id(school))
    for name, value in settings.items():
        setattr(rule, name, value)
    return rule


def term_suggestion(school, values, weights=None, hours=1, **settings):
    """The first-quarter suggestion of one student with the given marks."""
    school_class = new_class(school, 5)
    student = new_student(school, school_class)
    course = new_course(school, school_class, "Литература", hours=hours)
    give_marks(school, course, student, values, weights)
    term = first_quarter(school, course)
    rule = regulation(school, **settings)
    return suggest_term_marks(course, term, rule, AFTER_YEAR)[student.id]


# --- Rounding and term suggestions ------------------------------------------------------


def test_default_thresholds_round_at_half(app):
    thresholds = parse_thresholds("", 5)
    assert round_average(Decimal("3.5"), thresholds) == 4
    assert round_average(Decimal("3.49"), thresholds) == 3


def test_school_thresholds_round_at_six_tenths(app):
    thresholds = parse_thresholds("3:2.6,4:3.6,5:4.6", 5)
    assert round_average(Decimal("2.6"), thresholds) == 3
    assert round_average(Decimal("2.59"), thresholds) == 2
    assert round_average(Decimal("3.6"), thresholds) == 4
    assert round_average(Decimal("3.5"), thresholds) == 3
    assert round_average(Decimal("4.6"), thresholds) == 5
    assert round_average(Decimal("4.59"), thresholds) == 4


def test_term_suggestion_rounds_raw_average(app, school):
    with app.app_context():
        half = term_suggestion(school, [4, 3, 4, 3])
        assert half.value == "4"
        assert half.average == Decimal("3.5")
        # (3 × 51 + 4 × 49) / 100 = 3.49, not rounded to 3.5 first.
        below = term_suggestion(school, [3, 4, 3], weights=[25.5, 49, 25.5])
        assert below.average == Decimal("3.49")
        assert below.value == "3"
        six_tenths = term_suggestion(school, [4, 3, 4, 3], thresholds="4:3.6")
        assert six_tenths.value == "3"
        db.session.rollback()


def test_term_suggestion_too_few_marks_is_not_attested(app, school):
    with app.app_context():
        # Two weekly hours need 3 + 1 marks.
        suggestion = term_suggestion(school, [5, 5, 5], hours=2)
        assert suggestion.value == "н/а"
        assert suggestion.average == Decimal(5)
        assert suggestion.reason == _(
            "not attested: %(count)s marks, %(required)s required", count=3, required=4
        )
        enough = term_suggestion(school, [5, 5, 5, 5], hours=2)
        assert enough.value == "5"
        db.session.rollback()


def test_term_suggestion_many_absences_is_not_attested(app, school):
    with app.app_context():
        school_class = new_class(school, 5)
        student = new_student(school, school_class)
        course = new_course(school, school_class, "География")
        give_marks(school, course, student, [5, 5, 5])
        extra = [new_lesson(course, dt.date(2026, 10, day)) for day in (1, 2, 3)]
        # A cancelled lesson is not held, so it counts neither way.
        cancelled = new_lesson(course, dt.date(2026, 10, 6), cancelled=True)
        for lesson in [*extra, cancelled]:
            absent(school, lesson, student)
        term = first_quarter(school, course)
        rule = regulation(school)

        suggestion = suggest_term_marks(course, term, rule, AFTER_YEAR)[student.id]
        # Missed 3 of 6 held lessons: exactly half is not more than half.
        assert suggestion.value == "5"

        absent(school, new_lesson(course, dt.date(2026, 10, 7)), student)
        suggestion = suggest_term_marks(course, term, rule, AFTER_YEAR)[student.id]
        # 4 of 7 lessons missed.
        assert suggestion.value == "н/а"
        assert suggestion.reason == _(
            "not attested: missed %(missed)s of %(held)s lessons held", missed=4, held=7
        )
        db.session.rollback()


def test_school_business_absence_counts_as_present(app, school):
    with app.app_context():
        school_class = new_class(school, 5)
        student = new_student(school, school_class)
        course = new_course(school, school_class, "Биология")
        give_marks(school, course, student, [4, 4, 4])
        olympiad = code(school, "ОЛ", kind="reason", counts_as_present=True)
        for day in (1, 2, 5, 6):
            absent(school, new_lesson(course, dt.date(2026, 10, day)), student, olympiad)
        term = first_quarter(school, course)
        suggestion = suggest_term_marks(course, term, regulation(school), AFTER_YEAR)
        assert suggestion[student.id].value == "4"
        db.session.rollback()


def test_no_top_mark_with_a_two(app, school):
    with app.app_context():
        values = [5, 5, 5, 5, 5, 5, 5, 5, 2]
        with_rule = term_suggestion(school, values, no_top_mark_with_fail=True)
        assert with_rule.value == "4"
        assert with_rule.reason == _(
            "lowered from %(top)s: the term has a mark of %(low)s", top=5, low=2
        )
        without_rule = term_suggestion(school, values)
        assert without_rule.value == "5"
        db.session.rollback()


def test_pass_fail_course_suggests_pass_on_tie(app, school):
    with app.app_context():
        school_class = new_class(school, 5)
        student = new_student(school, school_class)
        course = new_course(school, school_class, "Физкультура", assessment="pass_fail")
        give_marks(school, course, student, ["зач", "незач", "зач", "незач"])
        term = first_quarter(school, course)
        suggestion = suggest_term_marks(course, term, regulation(school), AFTER_YEAR)
        assert suggestion[student.id].value == "зач"
        give_marks(
            school, course, student, ["незач"], start=FIRST_QUARTER_DAY + dt.timedelta(days=20)
        )
        suggestion = suggest_term_marks(course, term, regulation(school), AFTER_YEAR)
        assert suggestion[student.id].value == "незач"
        db.session.rollback()


def test_course_without_marks_suggests_nothing(app, school):
    with app.app_context():
        school_class = new_class(school, 5)
        student = new_student(school, school_class)
        course = new_course(school, school_class, "ОРКСЭ", assessment="none")
        term = first_quarter(school, course)
        suggestion = suggest_term_marks(course, term, regulation(school), AFTER_YEAR)
        assert suggestion[student.id].value is None
        db.session.rollback()


# --- Year marks -------------------------------------------------------------------------


def test_year_mark_rounds_mean(app, school):
    with app.app_context():
        rule = regulation(school)
        assert suggest_year_mark(["4", "4", "4", "5"], rule).value == "4"
        assert suggest_year_mark(["4", "5", "5", "5"], rule).value == "5"
        assert suggest_year_mark(["4", "н/а", "5", "5"], rule).value == "н/а"
        assert suggest_year_mark(["4", None, "5", "5"], rule).value is None
        assert suggest_year_mark(["осв", "4", "5", "4"], rule).value == "4"
        assert suggest_year_mark(["зач", "зач"], rule).value == "зач"
        assert suggest_year_mark(["зач", "незач"], rule).value == "незач"


def test_year_tie_in_students_favour(app, school):
    with app.app_context():
        rule = regulation(school, year_tie_rule="student")
        assert suggest_year_mark(["5", "4", "5", "4"], rule).value == "5"


def test_year_tie_by_last_term(app, school):
    with app.app_context():
        rule = regulation(school, year_tie_rule="last_term")
        assert suggest_year_mark(["5", "4", "5", "4"], rule).value == "4"
        assert suggest_year_mark(["4", "5", "4", "5"], rule).value == "5"


def test_year_tie_by_annual_test(app, school):
    with app.app_context():
        rule = regulation(school, year_tie_rule="annual_test")
        assert suggest_year_mark(["5", "4", "5", "4"], rule, exam_value="4").value == "4"
        assert suggest_year_mark(["5", "4", "5", "4"], rule, exam_value="5").value == "5"
        assert suggest_year_mark(["5", "4", "5", "4"], rule, exam_value=None).value == "5"
        # Not a tie: the test mark does not move a mean of 4.25.
        assert suggest_year_mark(["4", "4", "4", "5"], rule, exam_value="5").value == "4"


def test_half_years_and_quarters_in_one_school(app, school):
    with app.app_context():
        tenth = new_class(school, 10)
        fifth = new_class(school, 5)
        senior = new_student(school, tenth)
        junior = new_student(school, fifth)
        senior_course = new_course(school, tenth, "Физика")
        junior_course = new_course(school, fifth, "Природоведение")
        senior_page = final_marks_page(senior_course, AFTER_YEAR)
        junior_page = final_marks_page(junior_course, AFTER_YEAR)
        assert [t.name for t in senior_page.terms] == ["1 полугодие", "2 полугодие"]
        assert [t.name for t in junior_page.terms] == [
            "1 четверть",
            "2 четверть",
            "3 четверть",
            "4 четверть",
        ]

        halves = senior_page.terms
        store(school, senior, senior_course, "term", "4", halves[0])
        store(school, senior, senior_course, "term", "5", halves[1])
        for number, value in enumerate(["3", "4", "4", "4"]):
            store(school, junior, junior_course, "term", value, junior_page.terms[number])
        senior_row = final_marks_page(senior_course, AFTER_YEAR).rows[0]
        junior_row = final_marks_page(junior_course, AFTER_YEAR).rows[0]
        assert senior_row.year.suggestion.value == "5"
        assert junior_row.year.suggestion.value == "4"
        assert junior_row.year.suggestion.average == Decimal("3.75")
        db.session.rollback()


# --- Certificate marks ------------------------------------------------------------------


def _cells(page, student):
    cells = next(cells for row_student, cells in page.rows if row_student.id == student.id)
    return {subject_id: cell for subject_id, cell in cells.items()}


def test_grade9_certificate_with_and_without_exam(app, school):
    with app.app_context():
        ninth = new_class(school, 9)
        student = new_student(school, ninth)
        russian = new_course(school, ninth, "Русский язык")
        history = new_course(school, ninth, "История")
        store(school, student, russian, "year", "4")
        store(school, student, russian, "exam", "5")
        store(school, student, history, "year", "4")
        # Fine art ended in grade 7, two years ago.
        old_year = past_year(school, "2024/2025", 2024)
        seventh = new_class(school, 7, year=old_year)
        art = new_course(school, seventh, "ИЗО")
        store(school, student, art, "year", "5")

        # Physics is taught this year, so last year's mark is not the last one.
        physics = new_course(school, ninth, "Физика")
        eighth = new_class(school, 8, year=past_year(school, "2025/2026", 2025))
        store(school, student, new_course(school, eighth, "Физика"), "year", "3")
        # Primary school subjects are not in the certificate of basic education.
        fourth = new_class(school, 4, year=old_year)
        store(school, student, new_course(school, fourth, "Окружающий мир"), "year", "5")

        cells = _cells(certificate_page(ninth), student)
        by_name = {db.session.get(Subject, sid).name: cell for sid, cell in cells.items()}
        assert sorted(by_name) == ["ИЗО", "История", "Русский язык", "Физика"]
        # (4 + 5) / 2 = 4.5 rounds up.
        assert by_name["Русский язык"].suggestion.value == "5"
        assert by_name["История"].suggestion.value == "4"
        assert by_name["ИЗО"].suggestion.value == "5"
        assert by_name["Физика"].suggestion.value is None
        store(school, student, physics, "year", "4")
        cells = _cells(certificate_page(ninth), student)
        assert cells[physics.subject_id].suggestion.value == "4"
        db.session.rollback()


def test_grade9_parts_give_one_mathematics_mark(app, school):
    with app.app_context():
        subject_named(school, "Геометрия", parent="Математика")
        ninth = new_class(school, 9)
        student = new_student(school, ninth)
        algebra = new_course(school, ninth, "Алгебра")
        geometry = new_course(school, ninth, "Геометрия")
        store(school, student, algebra, "year", "4")
        store(school, student, geometry, "year", "3")
        store(school, student, algebra, "exam", "4")

        page = certificate_page(ninth)
        names = [subject.name for subject in page.subjects]
        assert names == ["Математика"]
        cell = _cells(page, student)[page.subjects[0].id]
        # (4 + 3 + 4) / 3 = 3.67.
        assert cell.suggestion.value == "4"
        db.session.rollback()


def test_grade11_certificate_from_grades_10_and_11(app, school):
    with app.app_context():
        last_year = past_year(school, "2025/2026", 2025)
        tenth = new_class(school, 10, year=last_year)
        eleventh = new_class(school, 11)
        student = new_student(school, eleventh)
        chemistry_10 = new_course(school, tenth, "Химия")
        chemistry_11 = new_course(school, eleventh, "Химия")
        halves_10 = sorted(
            (t for t in last_year.terms if t.grade_from == 10), key=lambda t: t.number
        )
        halves_11 = final_marks_page(chemistry_11, AFTER_YEAR).terms
        for course, halves, values in (
            (chemistry_10, halves_10, ["3", "4", "3"]),
            (chemistry_11, halves_11, ["4", "4", "3"]),
        ):
            store(school, student, course, "term", values[0], halves[0])
            store(school, student, course, "term", values[1], halves[1])
            store(school, student, course, "year", values[2])

        page = certificate_page(eleventh)
        cell = _cells(page, student)[chemistry_11.subject_id]
        # (3 + 4 + 3 + 4 + 4 + 3) / 6 = 3.5 rounds up.
        assert cell.suggestion.average == Decimal("3.5")
        assert cell.suggestion.value == "4"
        db.session.rollback()


# --- The page: saving, audit, locks, conflicts and access -------------------------------


@pytest.fixture()
def course_setup(app, school):
    """A grade 6 course of the school's teacher with one student marked 5, 4, 4 in quarter 1."""
    with app.app_context():
        teacher = db.session.get(Employee, _employee_id(school, "teacher"))
        sixth = new_class(school, 6)
        student = new_student(school, sixth, last_name="Петров")
        course = new_course(school, sixth, f"Музыка {next(_names)}", teachers=[teacher])
        give_marks(school, course, student, [5, 4, 4])
        term = first_quarter(school, course)
        db.session.commit()
        return {"course": course.id, "student": student.id, "term": term.id}


def _employee_id(school, position):
    return db.session.scalar(
        select(Employee.id).where(
            Employee.school_id == school.school_id, Employee.position == position
        )
    )


def _final(app, setup, kind="term"):
    with app.app_context():
        statement = select(FinalMark).where(
            FinalMark.course_id == setup["course"],
            FinalMark.student_id == setup["student"],
            FinalMark.kind == kind,
        )
        return db.session.scalar(statement)


def _field(setup, kind="term"):
    suffix = f"term-{setup['term']}" if kind == "term" else kind
    return f"mark-{setup['student']}-{suffix}"


def test_page_shows_suggestion_and_saves_override(app, school, login, course_setup):
    client = login(school.users["teacher"])
    page = client.get(f"/journal/final/{course_setup['course']}")
    assert page.status_code == 200
    cell = page.text.split(f'data-cell="{_field(course_setup)}"')[1].split("</td>")[0]
    # (5 + 4 + 4) / 3 = 4.33 → 4.
    assert "4,33 → 4" in cell
    assert 'data-suggested="4"' in cell
    assert 'data-testid="accept-suggested"' in page.text

    response = client.post(
        f"/journal/final/{course_setup['course']}",
        data={_field(course_setup): "5", f"seen-{_field(course_setup)}": ""},
    )
    assert response.status_code == 302
    stored = _final(app, course_setup)
    assert stored.value == "5"
    assert stored.suggested == "4"

    page = client.get(f"/journal/final/{course_setup['course']}")
    cell = page.text.split(f'data-cell="{_field(course_setup)}"')[1].split("</td>")[0]
    assert 'data-testid="override"' in cell


def test_save_writes_audit_rows(app, school, login, course_setup):
    client = login(school.users["teacher"])
    url = f"/journal/final/{course_setup['course']}"
    field = _field(course_setup)
    assert client.post(url, data={field: "4"}).status_code == 302
    assert client.post(url, data={field: "н/а"}).status_code == 302
    assert client.post(url, data={field: ""}).status_code == 302
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(JournalAudit)
                .where(
                    JournalAudit.entity == "final_mark",
                    JournalAudit.course_id == course_setup["course"],
                )
                .order_by(JournalAudit.id)
            )
        )
        assert [(r.action, r.old_value, r.new_value) for r in rows] == [
            ("create", None, "4"),
            ("change", "4", "н/а"),
            ("delete", "н/а", None),
        ]
        assert {r.student_id for r in rows} == {course_setup["student"]}
        assert {r.term_id for r in rows} == {course_setup["term"]}
        assert rows[0].record_id is not None
    assert _final(app, course_setup) is None


def test_year_mark_keeps_suggestion_from_saved_terms(app, school, login, course_setup):
    client = login(school.users["principal"])
    with app.app_context():
        course = db.session.get(Course, course_setup["course"])
        terms = final_marks_page(course).terms
    data = {f"mark-{course_setup['student']}-term-{term.id}": "5" for term in terms}
    data[_field(course_setup, "year")] = "4"
    assert client.post(f"/journal/final/{course_setup['course']}", data=data).status_code == 302
    year = _final(app, course_setup, "year")
    assert year.value == "4"
    assert year.suggested == "5"


def test_invalid_value_is_rejected_with_message(app, school, login, course_setup):
    client = login(school.users["teacher"])
    response = client.post(
        f"/journal/final/{course_setup['course']}",
        data={_field(course_setup): "6", _field(course_setup, "year"): "4"},
    )
    assert response.status_code == 400
    with app.test_request_context():
        expected = allowed_final_marks_message("6", 5)
    assert str(escape(expected)) in response.text
    # All or nothing: the valid year mark was not saved either.
    assert _final(app, course_setup, "year") is None
    assert _final(app, course_setup) is None


def test_closed_term_refuses_changes(app, school, login, course_setup):
    with app.app_context():
        term = db.session.get(Term, course_setup["term"])
        term.is_closed = True
        db.session.commit()
    try:
        client = login(school.users["principal"])
        page = client.get(f"/journal/final/{course_setup['course']}")
        assert f'name="{_field(course_setup)}"' not in page.text
        response = client.post(
            f"/journal/final/{course_setup['course']}", data={_field(course_setup): "4"}
        )
        assert response.status_code == 400
        assert 'data-testid="final-errors"' in response.text
        assert _final(app, course_setup) is None
    finally:
        with app.app_context():
            db.session.get(Term, course_setup["term"]).is_closed = False
            db.session.commit()


def test_conflicting_change_is_refused(app, school, login, course_setup):
    principal = login(school.users["principal"])
    teacher = login(school.users["teacher"])
    url = f"/journal/final/{course_setup['course']}"
    field = _field(course_setup)
    assert principal.post(url, data={field: "3", f"seen-{field}": ""}).status_code == 302

    # The teacher's page was loaded before: it showed an empty cell.
    response = teacher.post(url, data={field: "5", f"seen-{field}": ""})
    assert response.status_code == 409
    assert "Ирина Директорова" in response.text
    assert "«3»" in response.text
    assert _final(app, course_setup).value == "3"


def test_other_school_course_is_not_found(app, school, world, login):
    client = login(school.users["teacher"])
    assert client.get(f"/journal/final/{world['B'].ids['Course']}").status_code == 404
    response = client.post(f"/journal/final/{world['B'].ids['Course']}", data={})
    assert response.status_code == 404


def test_parent_and_colleague_cannot_open(app, school, login, course_setup):
    parent = login(school.users["parent"])
    assert parent.get(f"/journal/final/{course_setup['course']}").status_code in (403, 404)
    with app.app_context():
        course = db.session.get(Course, course_setup["course"])
        course.teachers = []
        db.session.commit()
    teacher = login(school.users["teacher"])
    assert teacher.get(f"/journal/final/{course_setup['course']}").status_code == 404


def test_course_journal_links_final_marks(app, school, login, course_setup):
    client = login(school.users["teacher"])
    page = client.get(f"/journal/course/{course_setup['course']}")
    assert f'href="/journal/final/{course_setup["course"]}"' in page.text


# --- The certificate page ----------------------------------------------------------------


@pytest.fixture()
def ninth_setup(app, school):
    """A grade 9 class whose class teacher is the school's teacher, one student, one mark."""
    with app.app_context():
        ninth = new_class(school, 9)
        ninth.class_teacher_id = _employee_id(school, "teacher")
        student = new_student(school, ninth, last_name="Сидоров")
        course = new_course(school, ninth, "Обществознание")
        store(school, student, course, "year", "4")
        db.session.commit()
        return {"class": ninth.id, "student": student.id, "subject": course.subject_id}


def test_class_teacher_saves_certificate_mark(app, school, login, ninth_setup):
    client = login(school.users["teacher"])
    url = f"/journal/certificate/{ninth_setup['class']}"
    page = client.get(url)
    assert page.status_code == 200
    field = f"cert-{ninth_setup['student']}-{ninth_setup['subject']}"
    assert f'name="{field}"' in page.text

    assert client.post(url, data={field: "5", f"seen-{field}": ""}).status_code == 302
    with app.app_context():
        stored = db.session.scalar(
            select(CertificateMark).where(CertificateMark.student_id == ninth_setup["student"])
        )
        assert (stored.value, stored.suggested) == ("5", "4")
        audit = db.session.scalar(
            select(JournalAudit).where(
                JournalAudit.entity == "final_mark",
                JournalAudit.class_id == ninth_setup["class"],
                JournalAudit.student_id == ninth_setup["student"],
            )
        )
        assert (audit.action, audit.new_value) == ("create", "5")
        assert (audit.course_id, audit.subject_id) == (None, ninth_setup["subject"])

    # The principal's access report names the subject of the certificate mark.
    principal = login(school.users["principal"])
    report = principal.get(f"/journal/audit/?class_id={ninth_setup['class']}")
    assert report.status_code == 200
    assert "<td>Обществознание</td>" in report.text

    response = client.post(url, data={field: "хорошо"})
    assert response.status_code == 400
    with app.test_request_context():
        expected = allowed_final_marks_message("хорошо", 5)
    assert str(escape(expected)) in response.text


def test_certificate_page_access(app, school, world, login, ninth_setup):
    other_teacher = login(school.users["teacher"])
    with app.app_context():
        db.session.get(SchoolClass, ninth_setup["class"]).class_teacher_id = None
        db.session.commit()
    assert other_teacher.get(f"/journal/certificate/{ninth_setup['class']}").status_code == 404
    principal = login(school.users["principal"])
    assert principal.get(f"/journal/certificate/{ninth_setup['class']}").status_code == 200
    assert principal.get(f"/journal/certificate/{world['B'].ids['SchoolClass']}").status_code == 404
    # Certificate marks are for grades 9 and 11 only.
    assert principal.get(f"/journal/certificate/{school.ids['SchoolClass']}").status_code == 404
    parent = login(school.users["parent"])
    assert parent.get(f"/journal/certificate/{ninth_setup['class']}").status_code in (403, 404)


def test_certificate_conflict_is_refused(app, school, login, ninth_setup):
    principal = login(school.users["principal"])
    teacher = login(school.users["teacher"])
    url = f"/journal/certificate/{ninth_setup['class']}"
    field = f"cert-{ninth_setup['student']}-{ninth_setup['subject']}"
    assert principal.post(url, data={field: "3", f"seen-{field}": ""}).status_code == 302

    response = teacher.post(url, data={field: "5", f"seen-{field}": ""})
    assert response.status_code == 409
    assert "Ирина Директорова" in response.text
    assert "«3»" in response.text
    with app.app_context():
        stored = db.session.scalar(
            select(CertificateMark.value).where(
                CertificateMark.student_id == ninth_setup["student"]
            )
        )
    assert stored == "3"


def test_closed_year_refuses_year_marks(app, school, login, course_setup):
    with app.app_context():
        course = db.session.get(Course, course_setup["course"])
        db.session.get(AcademicYear, course.year_id).is_closed = True
        db.session.commit()
    try:
        client = login(school.users["principal"])
        page = client.get(f"/journal/final/{course_setup['course']}")
        assert f'name="{_field(course_setup, "year")}"' not in page.text
        response = client.post(
            f"/journal/final/{course_setup['course']}", data={_field(course_setup, "year"): "4"}
        )
        assert response.status_code == 400
        assert _final(app, course_setup, "year") is None
    finally:
        with app.app_context():
            course = db.session.get(Course, course_setup["course"])
            db.session.get(AcademicYear, course.year_id).is_closed = False
            db.session.commit()


def test_course_without_marks_refuses_values(app, school, login):
    with app.app_context():
        teacher = db.session.get(Employee, _employee_id(school, "teacher"))
        fifth = new_class(school, 5)
        student = new_student(school, fifth)
        course = new_course(school, fifth, "Кружок", assessment="none", teachers=[teacher])
        db.session.commit()
        course_id, student_id = course.id, student.id
    client = login(school.users["teacher"])
    page = client.get(f"/journal/final/{course_id}")
    assert 'data-testid="no-marks"' in page.text
    response = client.post(f"/journal/final/{course_id}", data={f"mark-{student_id}-year": "5"})
    assert response.status_code == 400
    with app.app_context():
        stored = db.session.scalar(select(FinalMark).where(FinalMark.course_id == course_id))
    assert stored is None
