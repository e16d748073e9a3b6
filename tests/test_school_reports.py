"""School reports: formulas on a hand-built class, attendance by lessons and days, XLSX
read back, and who may open which class or student.

Every expected number is worked out by hand in the comment beside it.
"""

import datetime as dt
import io
import json
from decimal import Decimal

import openpyxl
import pandas as pd
import pytest
from flask_babel import gettext
from sqlalchemy import select

from app.models import (
    Assignment,
    AssignmentType,
    Attendance,
    AttendanceCode,
    Course,
    FinalMark,
    Lesson,
    Mark,
    SchoolClass,
    Student,
    StudyGroup,
    Subject,
    Term,
    db,
)
from app.reports import school as reports
from app.reports import school_attendance, school_student
from app.services.regulation import default_regulation
from tests.factories import add_teacher, build_extra_school
from tests.report_charts import CHART_DATA, chart_values, page_chart, sheet_chart_refs, sheet_ref

# Tuesday and Wednesday of the first quarter, and a day after the range.
DAY_1 = dt.date(2026, 10, 6)
DAY_2 = dt.date(2026, 10, 7)
DAY_LATER = dt.date(2026, 10, 20)
# A day of the third quarter, for current marks.
Q3_DAY = dt.date(2027, 1, 13)

S1, S2, S3, S4, S5 = "Первая", "Вторая", "Третья", "Четвёртая", "Пятая"


class Data:
    """Ids of the hand-built rows, filled by the module fixture."""

    school = None
    ids: dict = {}


def _term(school_id, kind, number):
    return db.session.scalars(
        select(Term).where(Term.school_id == school_id, Term.kind == kind, Term.number == number)
    ).one()


def _add(obj):
    db.session.add(obj)
    db.session.flush()
    return obj


def _course(school, school_class, name, assessment="marks", kind="lesson", group=None):
    subject = _add(Subject(school_id=school.school_id, name=name))
    return _add(
        Course(
            school_id=school.school_id,
            year_id=school_class.year_id,
            subject_id=subject.id,
            class_id=school_class.id,
            group_id=group.id if group else None,
            kind=kind,
            assessment=assessment,
            hours_per_week=Decimal("2"),
        )
    )


def _final(school, student, course, term, value):
    _add(
        FinalMark(
            school_id=school.school_id,
            student_id=student.id,
            course_id=course.id,
            kind="term" if term is not None else "year",
            term_id=term.id if term is not None else None,
            value=value,
        )
    )


def _lesson(school, course, day, number, cancelled=False):
    return _add(
        Lesson(
            school_id=school.school_id,
            course_id=course.id,
            date=day,
            lesson_number=number,
            is_cancelled=cancelled,
        )
    )


def _absence(school, lesson, student, code, reason=None):
    _add(
        Attendance(
            school_id=school.school_id,
            lesson_id=lesson.id,
            student_id=student.id,
            code_id=code.id,
            reason_id=reason.id if reason else None,
        )
    )


def _marks(school, course, student, day, pairs, type_id):
    lesson = _lesson(school, course, day, 5)
    for value, weight in pairs:
        assignment = _add(
            Assignment(
                school_id=school.school_id,
                lesson_id=lesson.id,
                type_id=type_id,
                weight=Decimal(weight),
            )
        )
        _add(
            Mark(
                school_id=school.school_id,
                assignment_id=assignment.id,
                student_id=student.id,
                kind="number",
                value=value,
            )
        )


def _build(app):
    school = build_extra_school("SR")
    sid = school.school_id
    year_id = school.ids["AcademicYear"]
    q1, q2, q3 = (_term(sid, "quarter", n) for n in (1, 2, 3))
    h1 = _term(sid, "half_year", 1)

    class_teacher = add_teacher(school, "ct7_SR")
    seventh = _add(
        SchoolClass(
            school_id=sid,
            year_id=year_id,
            grade=7,
            letter="Б",
            name="7Б",
            class_teacher_id=class_teacher.id,
        )
    )
    students = {}
    for name in (S1, S2, S3, S4, S5):
        students[name] = _add(
            Student(
                school_id=sid, class_id=seventh.id, last_name="Седьмая", first_name=name, sex="f"
            )
        )
    english_group = _add(
        StudyGroup(
            school_id=sid,
            year_id=year_id,
            name="7Б англ.",
            class_id=seventh.id,
            students=[students[S1], students[S2]],
        )
    )
    algebra = _course(school, seventh, "Алгебра-7")
    physics = _course(school, seventh, "Физика-7")
    sport = _course(school, seventh, "Физкультура-7", assessment="pass_fail")
    english = _course(school, seventh, "Английский-7", group=english_group)
    club = _course(school, seventh, "Кружок-7", kind="extracurricular")

    # First quarter period marks.
    for name, value in zip((S1, S2, S3, S4, S5), ("5", "4", "3", "н/а", "осв"), strict=True):
        _final(school, students[name], algebra, q1, value)
    for name, value in zip((S1, S2, S3, S4), ("5", "4", "4", "2"), strict=True):
        _final(school, students[name], physics, q1, value)
    for name in (S1, S2, S3, S4, S5):
        _final(school, students[name], sport, q1, "зач")
    _final(school, students[S1], english, q1, "4")
    _final(school, students[S2], english, q1, "5")
    # An extra-curricular course is left out even with a mark.
    _final(school, students[S1], club, q1, "2")

    # Second quarter: algebra only.
    for name, value in zip((S1, S2, S3, S4, S5), ("5", "5", "4", "3", "осв"), strict=True):
        _final(school, students[name], algebra, q2, value)
    _final(school, students[S1], algebra, None, "5")

    # Third quarter: no period marks but S3's; current marks give the rest.
    _final(school, students[S3], algebra, q3, "5")
    test_type = db.session.scalar(
        select(AssignmentType.id).where(AssignmentType.school_id == sid).limit(1)
    )
    _marks(school, algebra, students[S1], Q3_DAY, [(5, "1"), (3, "0.5"), (4, "1.5")], test_type)
    _marks(school, algebra, students[S2], Q3_DAY, [(4, "1"), (3, "1")], test_type)
    _marks(school, algebra, students[S3], Q3_DAY, [(2, "1")], test_type)
    regulation = default_regulation(sid, year_id)
    regulation.thresholds = "4:3.6"
    db.session.add(regulation)

    # Attendance.
    absent = db.session.scalars(
        select(AttendanceCode).where(AttendanceCode.school_id == sid, AttendanceCode.code == "Н")
    ).one()
    late = db.session.scalars(
        select(AttendanceCode).where(AttendanceCode.school_id == sid, AttendanceCode.code == "ОП")
    ).one()
    ill = db.session.scalars(
        select(AttendanceCode).where(AttendanceCode.school_id == sid, AttendanceCode.code == "Б")
    ).one()
    excused = _add(
        AttendanceCode(
            school_id=sid, code="УП", name="Уважительная", kind="reason", is_excused=True
        )
    )
    olympiad = _add(
        AttendanceCode(
            school_id=sid, code="ОЛ", name="Олимпиада", kind="reason", counts_as_present=True
        )
    )
    l1 = _lesson(school, algebra, DAY_1, 1)
    l2 = _lesson(school, physics, DAY_1, 2)
    l3 = _lesson(school, english, DAY_1, 3)
    l4 = _lesson(school, sport, DAY_1, 4, cancelled=True)
    l_club = _lesson(school, club, DAY_1, 6)
    l5 = _lesson(school, algebra, DAY_2, 1)
    l_later = _lesson(school, algebra, DAY_LATER, 1)
    s = students
    for lesson in (l1, l2, l3):
        _absence(school, lesson, s[S1], absent, ill)
    _absence(school, l1, s[S2], absent, ill)
    _absence(school, l2, s[S2], absent, ill)
    _absence(school, l1, s[S3], absent, excused)
    _absence(school, l2, s[S3], absent)
    _absence(school, l1, s[S4], absent, olympiad)
    _absence(school, l2, s[S4], absent, ill)
    _absence(school, l1, s[S5], late)
    _absence(school, l4, s[S5], absent)
    _absence(school, l_club, s[S5], absent)
    _absence(school, l5, s[S1], absent)
    _absence(school, l_later, s[S2], absent)

    # Grade 10 on half-years in the same school.
    tenth = _add(SchoolClass(school_id=sid, year_id=year_id, grade=10, letter="А", name="10А"))
    senior = _add(
        Student(school_id=sid, class_id=tenth.id, last_name="Старшая", first_name="Ира", sex="f")
    )
    history = _course(school, tenth, "История-10")
    _final(school, senior, history, h1, "4")

    db.session.commit()
    Data.school = school
    Data.ids = {
        "seventh": seventh.id,
        "tenth": tenth.id,
        "fifth": school.ids["SchoolClass"],
        "students": {name: student.id for name, student in students.items()},
        "q1": q1.id,
        "q2": q2.id,
        "q3": q3.id,
        "h1": h1.id,
        "own_child": school.ids["Student"],
        "sibling": school.ids["SiblingStudent"],
    }


@pytest.fixture(scope="module")
def data(app):
    with app.app_context():
        if Data.school is None:
            _build(app)
    return Data


def _class(key):
    return db.session.get(SchoolClass, Data.ids[key])


def _term_row(key):
    return db.session.get(Term, Data.ids[key])


def tr(msgid, **params):
    """The text as the app shows it in its locale, whether or not the catalog is compiled."""
    return gettext(msgid, **params)


def _row(frame, column, label):
    rows = frame[frame[column] == label]
    assert len(rows) == 1, f"no single row {label!r} in {column!r}"
    return rows.iloc[0]


# --- Formulas ----------------------------------------------------------------------------


def test_subject_indicators_exact(app, data):
    with app.app_context():
        results = reports.class_results(_class("seventh"), _term_row("q1"))
        _title, subjects, _formats = reports.class_results_frames(results)[1]
        columns = reports.ResultColumns.translated()

        algebra = _row(subjects, columns.subject, "Алгебра-7")
        # 5, 4, 3, н/а counted; «осв» left out: 4 students.
        assert algebra[columns.students] == 4
        assert algebra[reports.count_column("н/а")] == 1
        assert algebra[columns.exempt] == 1
        # Passing: 5, 4, 3 → 3 / 4.
        assert algebra[columns.pass_rate] == 0.75
        # Quality: 5, 4 → 2 / 4.
        assert algebra[columns.quality_rate] == 0.5
        # Mean of numeric marks: (5 + 4 + 3) / 3 = 4.
        assert algebra[columns.average] == 4.0
        # СОУ: (1.00 + 0.64 + 0.36 + 0.08 for «н/а») / 4 = 2.08 / 4 = 0.52.
        assert algebra[columns.sou] == pytest.approx(0.52, abs=1e-12)


def test_blank_mark_is_not_counted(app, data):
    with app.app_context():
        results = reports.class_results(_class("seventh"), _term_row("q1"))
        _title, subjects, _formats = reports.class_results_frames(results)[1]
        columns = reports.ResultColumns.translated()
        physics = _row(subjects, columns.subject, "Физика-7")
        # S5 has no physics mark: 5, 4, 4, 2 → 4 students.
        assert physics[columns.students] == 4
        assert physics[columns.pass_rate] == 0.75
        # Quality: 5, 4, 4 → 3 / 4.
        assert physics[columns.quality_rate] == 0.75
        # (5 + 4 + 4 + 2) / 4 = 3.75.
        assert physics[columns.average] == 3.75
        # (1.00 + 0.64 + 0.64 + 0.16) / 4 = 2.44 / 4 = 0.61.
        assert physics[columns.sou] == pytest.approx(0.61, abs=1e-12)


def test_pass_fail_subject_has_no_quality(app, data):
    with app.app_context():
        results = reports.class_results(_class("seventh"), _term_row("q1"))
        _title, subjects, _formats = reports.class_results_frames(results)[1]
        columns = reports.ResultColumns.translated()
        sport = _row(subjects, columns.subject, "Физкультура-7")
        assert sport[columns.students] == 5
        assert sport[columns.pass_rate] == 1.0
        # «зач» and «незач» give no quality rate.
        assert pd.isna(sport[columns.quality_rate])
        assert "Кружок-7" not in set(subjects[columns.subject])


def test_whole_class_indicators(app, data):
    with app.app_context():
        results = reports.class_results(_class("seventh"), _term_row("q1"))
        whole = results.whole_class
        # Students with a counted mark: all 5 (S5 has «зач» only, «осв» is left out).
        assert whole.students == 5
        # S4 fails («н/а», «2»); S1, S2, S3, S5 pass: 4 / 5.
        assert float(whole.pass_rate) == 0.8
        # Only 4, 5 and «зач»: S1, S2, S5 → 3 / 5.
        assert float(whole.quality_rate) == 0.6
        # Numeric marks: 5 4 3 | 5 4 4 2 | 4 5 → 36 / 9 = 4.
        assert float(whole.average) == 4.0
        # n5 = 3, n4 = 4, n3 = 1, n2 = 1, «н/а» = 1, n = 10:
        # (3 · 100 + 4 · 64 + 36 + 16 + 8) / 1000 = 616 / 1000.
        assert float(whole.sou) == pytest.approx(0.616, abs=1e-12)
        assert not results.uses_suggestions


def test_student_lists(app, data):
    with app.app_context():
        results = reports.class_results(_class("seventh"), _term_row("q1"))
        lists = reports.student_lists(results)
        assert [(s.first_name, subjects) for s, subjects in lists.one_three] == [
            (S3, ["Алгебра-7"])
        ]
        assert [(s.first_name, subjects) for s, subjects in lists.one_four] == [
            (S1, ["Английский-7"])
        ]
        assert [(s.first_name, subjects) for s, subjects in lists.failing] == [
            (S4, ["Алгебра-7", "Физика-7"])
        ]


def test_student_mark_counts(app, data):
    with app.app_context():
        results = reports.class_results(_class("seventh"), _term_row("q1"))
        _title, marks, _formats = reports.class_results_frames(results)[0]
        columns = reports.ResultColumns.translated()
        first = _row(marks, columns.student, f"Седьмая {S1}")
        # S1: algebra 5, physics 5, English 4, sport «зач».
        assert first[reports.count_column("5")] == 2
        assert first[reports.count_column("4")] == 1
        fourth = _row(marks, columns.student, f"Седьмая {S4}")
        assert fourth[reports.count_column("2")] == 1
        assert fourth[reports.count_column("н/а")] == 1
        total = _row(marks, columns.student, tr("Total"))
        # «5»: S1 ×2, S2 ×1 (English) = 3.
        assert total[reports.count_column("5")] == 3


def test_suggested_marks_from_averages(app, data):
    with app.app_context():
        results = reports.class_results(_class("seventh"), _term_row("q3"))
        algebra = next(s.id for s in results.subjects if s.name == "Алгебра-7")
        ids = Data.ids["students"]
        # S1: (5 · 1 + 3 · 0.5 + 4 · 1.5) / 3 = 12.5 / 3 = 4.17 → 4.
        assert results.marks[(ids[S1], algebra)] == "4"
        # S2: (4 + 3) / 2 = 3.5, below the regulation's 3.6 for a «4» → 3.
        assert results.marks[(ids[S2], algebra)] == "3"
        # S3 has a period mark «5», which wins over the average of 2.
        assert results.marks[(ids[S3], algebra)] == "5"
        assert results.suggested == {(ids[S1], algebra), (ids[S2], algebra)}
        # Counts include the suggestions: 4, 3, 5 → average 12 / 3 = 4.
        assert float(results.by_subject[algebra].average) == 4.0
        assert results.by_subject[algebra].students == 3


def test_half_years_and_quarters_in_one_school(app, data):
    with app.app_context():
        assert [t.name for t in reports.class_terms(_class("tenth"))] == [
            "1 полугодие",
            "2 полугодие",
        ]
        assert [t.name for t in reports.class_terms(_class("seventh"))] == [
            "1 четверть",
            "2 четверть",
            "3 четверть",
            "4 четверть",
        ]
        results = reports.class_results(_class("tenth"), _term_row("h1"))
        assert [s.name for s in results.subjects] == ["История-10"]
        assert float(results.whole_class.average) == 4.0


def test_dynamics_change(app, data):
    with app.app_context():
        dynamics = reports.class_dynamics(_class("seventh"))
        frames = {title: frame for title, frame, _f in reports.dynamics_frames(dynamics)}
        quality = frames[tr("Quality rate")]
        algebra = _row(quality, tr("Subject"), "Алгебра-7")
        # Quarter 1: 2 / 4 = 0.5; quarter 2: 5, 5, 4 of 5, 5, 4, 3 → 3 / 4 = 0.75.
        assert algebra["1 четверть"] == 0.5
        assert algebra["2 четверть"] == 0.75
        change = tr("Change %(term)s vs %(previous)s", term="2 четверть", previous="1 четверть")
        assert algebra[change] == 0.25
        average = _row(frames[tr("Average mark")], tr("Subject"), "Алгебра-7")
        # (5 + 5 + 4 + 3) / 4 = 4.25, up 0.25 from 4.
        assert average["2 четверть"] == 4.25
        assert average[change] == 0.25
        whole = _row(frames[tr("Pass rate")], tr("Subject"), tr("Whole class"))
        # Quarter 2 has algebra only, all four counted students pass.
        assert whole["2 четверть"] == 1.0
        # 1.0 − 0.8 = 0.2.
        assert whole[change] == pytest.approx(0.2, abs=1e-12)


def test_summary_sheet_periods(app, data):
    with app.app_context():
        _title, frame, _formats = reports.summary_sheet_frame(_class("seventh"))
        first = _row(frame, tr("Student"), f"Седьмая {S1}")
        assert first["Алгебра-7: 1 четверть"] == 5
        assert first["Алгебра-7: 2 четверть"] == 5
        assert first[f"Алгебра-7: {tr('Year')}"] == 5
        assert first["Физкультура-7: 1 четверть"] == "зач"
        fifth = _row(frame, tr("Student"), f"Седьмая {S5}")
        assert fifth["Алгебра-7: 1 четверть"] == "осв"


# --- Attendance ------------------------------------------------------------------------------


def _attendance(app):
    with app.app_context():
        seventh = _class("seventh")
        students = reports.class_students(seventh)
        rows = school_attendance.attendance_by_student(seventh.school_id, students, DAY_1, DAY_2)
        by_name = {s.first_name: rows[s.id] for s in students}
        codes = {
            c.code: c.id
            for c in school_attendance.reason_codes(seventh.school_id, by_name.values())
        }
        return by_name, codes


def test_attendance_missed_day_needs_every_lesson(app, data):
    rows, codes = _attendance(app)
    # S1: day 1 all three scheduled lessons (the cancelled one is not scheduled), day 2 one.
    assert rows[S1].lessons == 4
    assert rows[S1].days == 2
    assert rows[S1].days_by_reason == {codes["Б"]: 1, None: 1}
    # S2 attended English on day 1: two lessons missed, no whole day; day 20.10 is outside.
    assert rows[S2].lessons == 2
    assert rows[S2].days == 0


def test_attendance_reasons_add_up(app, data):
    rows, codes = _attendance(app)
    # S3 is not in the English group: two scheduled lessons, both missed for
    # different reasons → one day with different reasons.
    assert rows[S3].lessons_by_reason == {codes["УП"]: 1, None: 1}
    assert rows[S3].days_by_reason == {school_attendance.MIXED_REASONS: 1}
    # S4's olympiad counts as present: one lesson missed, no whole day.
    assert rows[S4].lessons == 1
    assert rows[S4].days == 0
    # S5 was late once; the cancelled lesson and the club are not counted.
    assert rows[S5].lessons == 0
    assert rows[S5].late == 1


def test_attendance_frame_totals(app, data):
    with app.app_context():
        seventh = _class("seventh")
        students = reports.class_students(seventh)
        per_student = school_attendance.attendance_by_student(
            seventh.school_id, students, DAY_1, DAY_2
        )
        rows = [per_student[s.id] for s in students]
        _title, frame, _formats = school_attendance.attendance_frame(
            "label", rows, school_attendance.reason_codes(seventh.school_id, rows)
        )
        total = _row(frame, "label", tr("Total"))
        # Lessons: 4 + 2 + 2 + 1 + 0 = 9 = Б 6 (3 + 2 + 1) + УП 1 + no reason 2.
        assert total[tr("Missed lessons, total")] == 9
        assert total[tr("Lessons: %(code)s", code="Б")] == 6
        assert total[tr("Lessons: %(code)s", code="УП")] == 1
        assert total[tr("Lessons: %(code)s", code="ОЛ")] == 0
        assert total[tr("Lessons: no reason")] == 2
        # Days: S1 two, S3 one = 3 = Б 1 + no reason 1 + different reasons 1.
        assert total[tr("Missed whole days, total")] == 3
        assert total[tr("Days: %(code)s", code="Б")] == 1
        assert total[tr("Days: no reason")] == 1
        assert total[tr("Days: different reasons")] == 1


# --- Progress and report card ------------------------------------------------------------------


def test_progress_with_class_average(app, data):
    with app.app_context():
        student = db.session.get(Student, Data.ids["students"][S1])
        rows = school_student.student_progress(student, _class("seventh"), _term_row("q3"))
        algebra = next(r for r in rows if r.subject == "Алгебра-7")
        assert algebra.marks == [5, 3, 4]
        # 12.5 / 3.
        assert float(algebra.average) == pytest.approx(4.1666666667, abs=1e-9)
        # Mean of S1 25/6, S2 7/2 = 21/6, S3 2 = 12/6: (58/6) / 3 = 3.2222…
        assert float(algebra.class_average) == pytest.approx(3.2222222222, abs=1e-9)
        assert algebra.period_mark is None


def test_report_card_terms_and_year(app, data):
    with app.app_context():
        student = db.session.get(Student, Data.ids["students"][S1])
        _title, frame, _formats = school_student.report_card_frame(student, _class("seventh"))
        algebra = _row(frame, tr("Subject"), "Алгебра-7")
        assert algebra["1 четверть"] == 5
        assert algebra["2 четверть"] == 5
        assert algebra[tr("Year")] == 5
        assert set(frame[tr("Subject")]) == {
            "Алгебра-7",
            "Физика-7",
            "Физкультура-7",
            "Английский-7",
        }


# --- Pages, XLSX and access --------------------------------------------------------------------


def _workbook(response):
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    return openpyxl.load_workbook(io.BytesIO(response.data))


def test_class_results_xlsx(app, data, login):
    client = login("principal_SR")
    response = client.get(
        f"/reports/school/class-results.xlsx?class={Data.ids['seventh']}&term={Data.ids['q1']}"
    )
    book = _workbook(response)
    with app.test_request_context():
        title = tr("Class results of %(class_name)s: %(term)s", class_name="7Б", term="1 четверть")
        sheet = book[tr("Subjects")]
        marks = book[tr("Marks")]
        subject, student, pass_rate = tr("Subject"), tr("Student"), tr("Pass rate")
    assert sheet["A1"].value == title
    assert "7Б" in sheet["A2"].value
    header = [cell.value for cell in sheet[3]]
    assert header[0] == subject
    rows = {sheet.cell(row=r, column=1).value: r for r in range(4, sheet.max_row + 1)}
    cell = sheet.cell(row=rows["Алгебра-7"], column=header.index(pass_rate) + 1)
    assert cell.value == 0.75
    assert cell.number_format == "0.0%"
    assert sheet.freeze_panes == "A4"
    assert sheet.auto_filter.ref == f"A3:{sheet.cell(3, len(header)).column_letter}{sheet.max_row}"
    assert [c.value for c in marks[3]][:2] == [student, "Алгебра-7"]
    first = next(r for r in range(4, marks.max_row + 1) if marks.cell(r, 1).value.endswith(S1))
    assert marks.cell(first, 2).value == 5


def test_class_results_title_says_current_averages(app, data, login):
    client = login("principal_SR")
    response = client.get(
        f"/reports/school/class-results.xlsx?class={Data.ids['seventh']}&term={Data.ids['q3']}"
    )
    book = _workbook(response)
    with app.test_request_context():
        title = tr(
            "Class results of %(class_name)s: %(term)s (by current averages)",
            class_name="7Б",
            term="3 четверть",
        )
        sheet = book[tr("Marks")]
    assert sheet["A1"].value == title


def test_class_results_page(data, login):
    client = login("principal_SR")
    response = client.get(
        f"/reports/school/class-results?class={Data.ids['seventh']}&term={Data.ids['q1']}"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    # Algebra: pass rate 75,0 %, СОУ 52,0 %; the class СОУ 61,6 %.
    assert "75,0 %" in page
    assert "52,0 %" in page
    assert "61,6 %" in page


@pytest.mark.parametrize(
    ("path", "sheet_title", "first_header", "row_label", "column", "value", "number_format"),
    [
        # S1's algebra mark of quarter 1, a plain number.
        (
            "summary-sheet.xlsx",
            "Summary sheet",
            "Student",
            f"Седьмая {S1}",
            "Алгебра-7: 1 четверть",
            5,
            "General",
        ),
        # Algebra quality in quarter 2: 3 / 4.
        ("dynamics.xlsx", "Quality rate", "Subject", "Алгебра-7", "2 четверть", 0.75, "0.0%"),
        # S1 missed 4 lessons on 6 and 7 October.
        (
            "attendance.xlsx",
            "Attendance",
            "Student",
            f"Седьмая {S1}",
            "Missed lessons, total",
            4,
            "0",
        ),
    ],
)
def test_class_reports_xlsx(
    app, data, login, path, sheet_title, first_header, row_label, column, value, number_format
):
    client = login("principal_SR")
    query = f"class={Data.ids['seventh']}&date_from=2026-10-06&date_to=2026-10-07"
    book = _workbook(client.get(f"/reports/school/{path}?{query}"))
    with app.test_request_context():
        sheet = book[tr(sheet_title)]
        header_text = tr(first_header)
        column_text = tr(column)
    assert "7Б" in sheet["A1"].value or "7Б" in sheet["A2"].value
    assert sheet["A3"].value == header_text
    assert sheet.freeze_panes == "A4"
    header = [cell.value for cell in sheet[3]]
    rows = {sheet.cell(r, 1).value: r for r in range(4, sheet.max_row + 1)}
    cell = sheet.cell(rows[row_label], header.index(column_text) + 1)
    assert cell.value == value
    assert cell.number_format == number_format


def _attendance_sheet(app, client, query):
    book = _workbook(client.get(f"/reports/school/attendance.xlsx?{query}"))
    with app.test_request_context():
        names = {
            "sheet": tr("Attendance"),
            "total": tr("Total"),
            "lessons": tr("Missed lessons, total"),
            "days": tr("Missed whole days, total"),
        }
    sheet = book[names["sheet"]]
    header = [cell.value for cell in sheet[3]]
    rows = {sheet.cell(r, 1).value: r for r in range(4, sheet.max_row + 1)}
    return sheet, header, rows, names


def test_attendance_xlsx_totals(app, data, login):
    client = login("principal_SR")
    query = f"class={Data.ids['seventh']}&date_from=06.10.2026&date_to=07.10.2026"
    sheet, header, rows, names = _attendance_sheet(app, client, query)
    total = rows[names["total"]]
    assert sheet.cell(total, header.index(names["lessons"]) + 1).value == 9
    assert sheet.cell(total, header.index(names["days"]) + 1).value == 3
    assert sheet.cell(total, header.index(names["days"]) + 1).number_format == "0"


def test_attendance_for_all_classes(app, data, login):
    client = login("principal_SR")
    sheet, header, rows, names = _attendance_sheet(
        app, client, "date_from=2026-10-06&date_to=2026-10-07"
    )
    assert sheet.cell(rows["7Б"], header.index(names["lessons"]) + 1).value == 9
    assert sheet.cell(rows["7Б"], header.index(names["days"]) + 1).value == 3


def test_progress_and_report_card_xlsx(app, data, login):
    client = login("principal_SR")
    student = Data.ids["students"][S1]
    book = _workbook(
        client.get(f"/reports/school/progress.xlsx?student={student}&term={Data.ids['q3']}")
    )
    card = _workbook(client.get(f"/reports/school/report-card.xlsx?student={student}"))
    with app.test_request_context():
        sheet = book[tr("Progress")]
        subject, average_name = tr("Subject"), tr("Average mark")
        card_sheet = card[tr("Report card")]
        card_title = tr("Report card of %(student)s", student=f"Седьмая {S1}")
    assert sheet["A3"].value == subject
    header = [cell.value for cell in sheet[3]]
    rows = {sheet.cell(r, 1).value: r for r in range(4, sheet.max_row + 1)}
    average = sheet.cell(rows["Алгебра-7"], header.index(average_name) + 1)
    # 12.5 / 3.
    assert average.value == pytest.approx(4.1666666667, abs=1e-9)
    assert average.number_format == "0.00"
    assert card_sheet["A1"].value == card_title


def test_class_teacher_sees_own_class_only(data, login):
    client = login("ct7_SR")
    own = client.get(f"/reports/school/class-results?class={Data.ids['seventh']}")
    assert own.status_code == 200
    other = client.get(f"/reports/school/class-results?class={Data.ids['fifth']}")
    assert other.status_code == 404
    other_xlsx = client.get(f"/reports/school/summary-sheet.xlsx?class={Data.ids['fifth']}")
    assert other_xlsx.status_code == 404


def test_other_teacher_gets_404(data, login):
    client = login("teacher_SR")
    response = client.get(f"/reports/school/dynamics?class={Data.ids['seventh']}")
    assert response.status_code == 404


def test_parent_sees_own_child_progress_only(data, login):
    client = login("parent_SR")
    own = client.get(f"/reports/school/progress?student={Data.ids['own_child']}")
    assert own.status_code == 200
    card = client.get(f"/reports/school/report-card?student={Data.ids['sibling']}")
    assert card.status_code == 200
    other = client.get(f"/reports/school/progress?student={Data.ids['students'][S1]}")
    assert other.status_code == 404


def test_parent_cannot_open_class_reports(data, login):
    client = login("parent_SR")
    response = client.get(f"/reports/school/class-results?class={Data.ids['fifth']}")
    assert response.status_code == 403


def test_student_sees_self_only(data, login):
    client = login("student_SR")
    assert client.get("/reports/school/progress").status_code == 200
    response = client.get(f"/reports/school/progress?student={Data.ids['sibling']}")
    assert response.status_code == 404


def test_other_school_class_is_404(data, world, login):
    client = login("principal_SR")
    other_class = world["A"].ids["SchoolClass"]
    assert client.get(f"/reports/school/class-results?class={other_class}").status_code == 404
    other_term = world["A"].ids["Term"]
    response = client.get(
        f"/reports/school/class-results?class={Data.ids['seventh']}&term={other_term}"
    )
    assert response.status_code == 404
    other_student = world["A"].ids["Student"]
    assert client.get(f"/reports/school/progress?student={other_student}").status_code == 404


def test_term_of_other_grades_is_refused(app, data, login):
    client = login("principal_SR")
    response = client.get(
        f"/reports/school/class-results?class={Data.ids['tenth']}&term={Data.ids['q1']}"
    )
    page = response.get_data(as_text=True)
    with app.test_request_context():
        message = tr(
            "The term «%(term)s» does not apply to class %(class_name)s: "
            "choose one of the class's terms.",
            term="1 четверть",
            class_name="10А",
        )
    assert response.status_code == 200
    assert message in page.replace("&#39;", "'").replace("&#34;", '"')


@pytest.mark.parametrize(
    "path",
    [
        "class-results",
        "summary-sheet",
        "attendance",
        "dynamics",
        "progress",
        "report-card",
    ],
)
@pytest.mark.parametrize("username", ["principal_SR", "ct7_SR"])
def test_pages_open_without_filters(data, login, path, username):
    response = login(username).get(f"/reports/school/{path}")
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["summary-sheet", "attendance", "dynamics"])
def test_class_pages_show_tables(data, login, path):
    client = login("ct7_SR")
    response = client.get(f"/reports/school/{path}?class={Data.ids['seventh']}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-testid="report-table-1"' in page
    assert 'data-testid="report-xlsx"' in page


def test_report_card_page_for_parent(data, login):
    client = login("parent_SR")
    response = client.get(f"/reports/school/report-card?student={Data.ids['own_child']}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    # The fixture school's first quarter mark of the own child in Математика is «5».
    assert "Математика" in page
    assert 'data-testid="report-table-1"' in page


def test_change_heading_needs_no_declension(app):
    """Term names stay in the nominative, so the heading must not govern a case."""
    from flask_babel import force_locale

    from app.models import Term
    from app.reports.school import change_column

    with app.test_request_context("/"), force_locale("ru"):
        heading = change_column(Term(name="2 четверть"), Term(name="1 четверть"))

    assert heading == "Изменение (2 четверть − 1 четверть)"


# --- Charts -------------------------------------------------------------------------------


def _column_letter(header, name) -> str:
    return openpyxl.utils.get_column_letter(header.index(name) + 1)


def test_class_results_chart_counts_marks(app, data, login):
    client = login("principal_SR")
    query = f"class={Data.ids['seventh']}&term={Data.ids['q1']}"
    page = client.get(f"/reports/school/class-results?{query}").get_data(as_text=True)
    book = _workbook(client.get(f"/reports/school/class-results.xlsx?{query}"))
    with app.test_request_context():
        sheet_name, whole_class = tr("Subjects"), tr("Whole class")
        count_names = [reports.count_column(value) for value in reports.COUNTED_VALUES]

    chart = page_chart(page)
    assert whole_class not in chart["labels"]
    algebra = chart["labels"].index("Алгебра-7")
    # Algebra in quarter 1: one each of «5», «4», «3» and «н/а».
    values = chart_values(chart)
    assert [values[name][algebra] for name in count_names] == [1.0, 1.0, 1.0, 0.0, 0.0, 1.0]

    sheet = book[sheet_name]
    header = [cell.value for cell in sheet[3]]
    assert sheet.cell(sheet.max_row, 1).value == whole_class
    last = sheet.max_row - 1
    ref = sheet_ref(sheet_name)
    expected = []
    for name in count_names:
        column = _column_letter(header, name)
        expected.append(
            (f"{ref}${column}$3", f"{ref}$A$4:$A${last}", f"{ref}${column}$4:${column}${last}")
        )
    assert sheet_chart_refs(sheet) == expected


def test_attendance_chart_by_reason(app, data, login):
    client = login("principal_SR")
    query = f"class={Data.ids['seventh']}&date_from=2026-10-06&date_to=2026-10-07"
    page = client.get(f"/reports/school/attendance?{query}").get_data(as_text=True)
    sheet, header, rows, names = _attendance_sheet(app, client, query)
    with app.test_request_context():
        illness = tr("Lessons: %(code)s", code="Б")
        truancy = tr("Lessons: %(code)s", code="УП")
        no_reason = tr("Lessons: no reason")

    chart = page_chart(page)
    values = chart_values(chart)
    # The students' missed lessons add up to the totals row: Б 6, УП 1, no reason 2.
    assert sum(values[illness]) == 6
    assert sum(values[truancy]) == 1
    assert sum(values[no_reason]) == 2
    assert names["total"] not in chart["labels"]

    first = header.index(names["lessons"]) + 1
    last_column = header.index(names["days"])
    last = rows[names["total"]] - 1
    ref = sheet_ref(names["sheet"])
    expected = []
    for name in header[first:last_column]:
        column = _column_letter(header, name)
        expected.append(
            (f"{ref}${column}$3", f"{ref}$A$4:$A${last}", f"{ref}${column}$4:${column}${last}")
        )
    assert sheet_chart_refs(sheet) == expected
    assert illness in header[first:last_column]


def test_dynamics_chart_per_period(app, data, login):
    client = login("principal_SR")
    query = f"class={Data.ids['seventh']}"
    page = client.get(f"/reports/school/dynamics?{query}").get_data(as_text=True)
    book = _workbook(client.get(f"/reports/school/dynamics.xlsx?{query}"))
    with app.test_request_context():
        quality = tr("Quality rate")

    charts = [json.loads(found) for found in CHART_DATA.findall(page)]
    assert len(charts) == 4
    quality_chart = next(chart for chart in charts if chart["title"] == quality)
    algebra = quality_chart["labels"].index("Алгебра-7")
    values = chart_values(quality_chart)
    # Quality of algebra: 2 / 4 in quarter 1, 3 / 4 in quarter 2, shown as percent.
    assert values["1 четверть"][algebra] == 50.0
    assert values["2 четверть"][algebra] == 75.0

    sheet = book[quality]
    header = [cell.value for cell in sheet[3]]
    last = sheet.max_row
    ref = sheet_ref(quality)
    refs = sheet_chart_refs(sheet)
    assert [name for name, _categories, _values in refs] == [
        f"{ref}${_column_letter(header, term)}$3" for term in values
    ]
    assert all(categories == f"{ref}$A$4:$A${last}" for _name, categories, _values in refs)
