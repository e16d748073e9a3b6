"""«Контроль заполнения журнала»: counts, filters, lesson lists, XLSX, scope and access."""

import datetime as dt
import io
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.models import (
    Assignment,
    AssignmentType,
    Attendance,
    AttendanceCode,
    Employee,
    Lesson,
    Mark,
    SchoolClass,
    Student,
    Term,
    db,
)
from app.security.scope import Scope
from app.services import journal_fill
from app.services.journal_fill import Filters
from tests.factories import add_course_with_lesson, add_teacher, build_extra_school

KEY = "XJF1"
FIRST_QUARTER = (dt.date(2026, 9, 1), dt.date(2026, 10, 24))


# --- The school the tests read --------------------------------------------------------


def _lesson(school, course, day, number, topic=None, **extra) -> Lesson:
    lesson = Lesson(
        school_id=school.school_id,
        course_id=course.id,
        date=day,
        lesson_number=number,
        topic=topic,
        **extra,
    )
    db.session.add(lesson)
    db.session.flush()
    return lesson


def _absence(school, lesson) -> None:
    sid = school.school_id
    student = db.session.scalars(select(Student).where(Student.school_id == sid)).first()
    code = db.session.scalars(
        select(AttendanceCode).where(AttendanceCode.school_id == sid, AttendanceCode.code == "Н")
    ).one()
    db.session.add(
        Attendance(school_id=sid, lesson_id=lesson.id, student_id=student.id, code_id=code.id)
    )


def _assignment(school, lesson, marked: bool) -> None:
    sid = school.school_id
    kind = db.session.scalars(select(AssignmentType).where(AssignmentType.school_id == sid)).first()
    assignment = Assignment(
        school_id=sid, lesson_id=lesson.id, type_id=kind.id, weight=Decimal("1"), text="Работа"
    )
    db.session.add(assignment)
    db.session.flush()
    if marked:
        student = db.session.scalars(select(Student).where(Student.school_id == sid)).first()
        db.session.add(
            Mark(school_id=sid, assignment_id=assignment.id, student_id=student.id, value=4)
        )


@pytest.fixture(scope="module")
def fill(app):
    """Build a school with lessons of known gaps, as the table below lists.

    The school's own maths lesson of 05.10.2026 (teacher_XJF1) has a topic, an absence and
    a mark. The added lessons are in 5А unless the table names another class:

    | lesson | date  | course, teacher       | topic | attendance | marks            |
    | l1     | 06.10 | Russian, t1           | —     | —          | — (markable)     |
    | l2     | 07.10 | Russian, t1           | yes   | yes        | assignment, none |
    | l3     | 08.10 | Russian, cancelled    | —     | —          | —                |
    | l4     | 09.10 | Russian, substitute t2| —     | —          | —                |
    | l5     | 06.10 | club (no marks), t1+t2| yes   | —          | not expected     |
    | l6     | 05.10 | 1А reading, t2        | yes   | —          | not expected (1st grade) |
    | l7     | 10.11 | Russian, t1 (2nd term)| —     | —          | —                |
    | l9     | 12.10 | Russian, t1           | yes   | yes        | yes              |
    """
    with app.app_context():
        school = build_extra_school(KEY)
        t1 = add_teacher(school, f"jf_t1_{KEY}")
        t2 = add_teacher(school, f"jf_t2_{KEY}")
        russian, l1 = add_course_with_lesson(
            school, "Русский язык", teachers=[t1], day=dt.date(2026, 10, 6), lesson_number=1
        )
        l2 = _lesson(school, russian, dt.date(2026, 10, 7), 2, "Имя существительное")
        _absence(school, l2)
        _assignment(school, l2, marked=False)
        _lesson(school, russian, dt.date(2026, 10, 8), 3, is_cancelled=True)
        l4 = _lesson(school, russian, dt.date(2026, 10, 9), 4, substitute_id=t2.id)
        club, l5 = add_course_with_lesson(
            school,
            "Шахматы",
            teachers=[t1, t2],
            day=dt.date(2026, 10, 6),
            lesson_number=7,
            assessment="none",
            kind="extracurricular",
        )
        l5.topic = "Дебют"
        reading, l6 = add_course_with_lesson(
            school, "Чтение", class_name="1А", teachers=[t2], day=dt.date(2026, 10, 5)
        )
        l6.topic = "Буквы"
        l7 = _lesson(school, russian, dt.date(2026, 11, 10), 1)
        l9 = _lesson(school, russian, dt.date(2026, 10, 12), 1, "Глагол")
        _absence(school, l9)
        _assignment(school, l9, marked=True)
        db.session.commit()

        sid = school.school_id
        terms = {
            (term.kind, term.number): term.id
            for term in db.session.scalars(select(Term).where(Term.school_id == sid))
        }
        classes = {
            c.name: c.id
            for c in db.session.scalars(select(SchoolClass).where(SchoolClass.school_id == sid))
        }
        main_teacher = db.session.scalars(
            select(Employee)
            .where(Employee.school_id == sid, Employee.id.not_in([t1.id, t2.id]))
            .join(SchoolClass, SchoolClass.class_teacher_id == Employee.id)
        ).first()
        return SimpleNamespace(
            school=school,
            sid=sid,
            t1=t1.id,
            t2=t2.id,
            main=main_teacher.id,
            terms=terms,
            classes=classes,
            lessons={
                "l1": l1.id,
                "l2": l2.id,
                "l4": l4.id,
                "l5": l5.id,
                "l6": l6.id,
                "l7": l7.id,
                "l9": l9.id,
            },
        )


def _client(login, role="principal"):
    return login(f"{role}_{KEY}")


def _data_rows(html: str, kind: str) -> dict[int, dict[str, int]]:
    """Counts of the summary rows of one table, read from their data attributes."""
    rows = {}
    pattern = (
        rf'data-{kind}="(\d+)" data-held="(\d+)" data-no-topic="(\d+)"\s+'
        r'data-no-attendance="(\d+)" data-markable="(\d+)" data-no-marks="(\d+)"'
    )
    for match in re.finditer(pattern, html):
        key, *values = (int(v) for v in match.groups())
        rows[key] = dict(
            zip(("held", "no_topic", "no_attendance", "markable", "no_marks"), values, strict=True)
        )
    return rows


def _total(html: str) -> dict[str, int]:
    match = re.search(
        r'data-testid="fill-total" data-held="(\d+)" data-no-topic="(\d+)"\s+'
        r'data-no-attendance="(\d+)" data-markable="(\d+)" data-no-marks="(\d+)"',
        html,
    )
    assert match, "the total line is missing"
    names = ("held", "no_topic", "no_attendance", "markable", "no_marks")
    return dict(zip(names, (int(v) for v in match.groups()), strict=True))


def _counts(held, no_topic, no_attendance, markable, no_marks):
    return {
        "held": held,
        "no_topic": no_topic,
        "no_attendance": no_attendance,
        "markable": markable,
        "no_marks": no_marks,
    }


# --- Counts ---------------------------------------------------------------------------


def test_first_quarter_counts_per_class_teacher_and_total(fill, login):
    client = _client(login)
    response = client.get(f"/journal-fill/?term={fill.terms[('quarter', 1)]}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)

    # Held: the maths lesson, l1, l2, l4, l5, l6, l9; l3 is cancelled, l7 is in term 2.
    assert _total(html) == _counts(7, 2, 4, 5, 3)
    assert _data_rows(html, "class") == {
        fill.classes["5А"]: _counts(6, 2, 3, 5, 3),
        fill.classes["1А"]: _counts(1, 0, 1, 0, 0),
    }
    # l4 counts for its substitute t2, not for t1; the club counts for both teachers.
    assert _data_rows(html, "teacher") == {
        fill.main: _counts(1, 0, 0, 1, 0),
        fill.t1: _counts(4, 1, 2, 3, 2),
        fill.t2: _counts(3, 1, 3, 1, 1),
    }
    # Each row with gaps links to its lessons; the maths teacher's row has none.
    assert f"teacher={fill.t1}#lessons" in html
    assert f"teacher={fill.main}#lessons" not in html
    # Without a class or teacher chosen, no lesson list is shown.
    assert 'data-testid="fill-lessons"' not in html


def test_date_range_takes_lessons_of_both_terms(fill, login):
    client = _client(login)
    response = client.get("/journal-fill/?date_from=2026-09-01&date_to=2026-12-31")
    html = response.get_data(as_text=True)
    assert _total(html) == _counts(8, 3, 5, 6, 4)
    assert _data_rows(html, "class")[fill.classes["5А"]] == _counts(7, 3, 4, 6, 4)


def test_half_year_term_skips_other_grades(fill, login):
    client = _client(login)
    html = client.get(f"/journal-fill/?term={fill.terms[('half_year', 1)]}").get_data(True)
    assert _total(html) == _counts(0, 0, 0, 0, 0)
    assert _data_rows(html, "class") == {}


def test_lessons_not_held_yet_are_left_out(fill, app):
    scope = Scope(user_id=None, membership_id=None, level="school", school_id=fill.sid)
    with app.test_request_context():
        term = db.session.get(Term, fill.terms[("quarter", 1)])
        filters = Filters(term.start_date, term.end_date, term)
        # On 07.10 the maths lesson, l1, l2, l5 and l6 are held; l4 and l9 are to come.
        total = journal_fill.totals(journal_fill.by_class(scope, filters, dt.date(2026, 10, 7)))
        assert (total.held, total.no_topic, total.no_attendance, total.no_marks) == (5, 1, 3, 2)
        assert total.no_marks_share == pytest.approx(2 / 3)


def test_default_term_is_the_one_containing_today(fill, app):
    scope = Scope(user_id=None, membership_id=None, level="school", school_id=fill.sid)
    with app.test_request_context():
        filters = journal_fill.parse_filters(scope, {}, dt.date(2026, 10, 7))
        assert filters.term.id == fill.terms[("quarter", 1)]
        # In the autumn vacation the term just ended is the default.
        filters = journal_fill.parse_filters(scope, {}, dt.date(2026, 10, 28))
        assert filters.term.id == fill.terms[("quarter", 1)]
        assert (filters.date_from, filters.date_to) == FIRST_QUARTER


# --- Filters and lesson lists -------------------------------------------------------


def test_teacher_filter_lists_linked_lessons(fill, login):
    client = _client(login)
    term = fill.terms[("quarter", 1)]
    html = client.get(f"/journal-fill/?term={term}&teacher={fill.t1}").get_data(True)

    assert _total(html) == _counts(4, 1, 2, 3, 2)
    assert list(_data_rows(html, "teacher")) == [fill.t1]
    listed = [int(v) for v in re.findall(r'<tr data-lesson="(\d+)"', html)]
    assert listed == [fill.lessons["l1"], fill.lessons["l5"], fill.lessons["l2"]]
    assert f'href="/journal/lesson/{fill.lessons["l1"]}"' in html
    row = html.split(f'data-lesson="{fill.lessons["l2"]}"')[1].split("</tr>")[0]
    assert 'data-gap="marks"' in row
    assert 'data-gap="topic"' not in row


def test_class_filter_keeps_one_class(fill, login):
    client = _client(login)
    term = fill.terms[("quarter", 1)]
    html = client.get(f"/journal-fill/?term={term}&class={fill.classes['1А']}").get_data(True)
    assert _data_rows(html, "class") == {fill.classes["1А"]: _counts(1, 0, 1, 0, 0)}
    assert _data_rows(html, "teacher") == {fill.t2: _counts(1, 0, 1, 0, 0)}
    listed = [int(v) for v in re.findall(r'<tr data-lesson="(\d+)"', html)]
    assert listed == [fill.lessons["l6"]]


def test_invalid_dates_fall_back_to_term(fill, login):
    client = _client(login)
    response = client.get("/journal-fill/?date_from=2026-13-01&date_to=2026-10-10")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "alert-danger" in html
    assert "2026-13-01" in html
    _total(html)

    response = client.get("/journal-fill/?date_from=2026-10-10&date_to=2026-10-01")
    assert response.status_code == 200
    assert "alert-danger" in response.get_data(as_text=True)


# --- XLSX -----------------------------------------------------------------------------


def test_xlsx_holds_the_counts_and_every_lesson(fill, login):
    client = _client(login)
    response = client.get(f"/journal-fill/report.xlsx?term={fill.terms[('quarter', 1)]}")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    teachers, classes, lessons = book.worksheets

    # Row 3 contains the headers, so data starts in row 4.
    class_rows = {row[0]: row[1:] for row in classes.iter_rows(min_row=4, values_only=True)}
    assert class_rows["5А"][:2] == (6, 5)
    assert class_rows["5А"][2] == 2
    assert class_rows["5А"][3] == pytest.approx(2 / 6)
    assert class_rows["1А"][:2] == (1, 0)
    assert teachers.max_row == 3 + 3

    dates = [row[0].date() for row in lessons.iter_rows(min_row=4, values_only=True)]
    assert dates == [
        dt.date(2026, 10, 5),
        dt.date(2026, 10, 6),
        dt.date(2026, 10, 6),
        dt.date(2026, 10, 7),
        dt.date(2026, 10, 9),
    ]


# --- Scope and access -----------------------------------------------------------------


@pytest.mark.parametrize("parameter", ["term", "class", "teacher"])
@pytest.mark.parametrize("path", ["/journal-fill/", "/journal-fill/report.xlsx"])
def test_ids_of_another_school_answer_404(fill, world, login, app, parameter, path):
    model = {"term": Term, "class": SchoolClass, "teacher": Employee}[parameter]
    with app.app_context():
        other_id = db.session.scalar(
            select(model.id).where(model.school_id == world["A"].school_id)
        )
    client = _client(login)
    assert client.get(f"{path}?{parameter}={other_id}").status_code == 404
    assert client.get(f"{path}?{parameter}=999999999").status_code == 404
    assert client.get(f"{path}?{parameter}=abc").status_code == 404


def test_other_school_principal_sees_nothing(fill, login):
    html = login("principal_A").get("/journal-fill/?date_from=2026-09-01&date_to=2026-12-31")
    page = html.get_data(as_text=True)
    assert html.status_code == 200
    assert fill.classes["5А"] not in _data_rows(page, "class")
    assert fill.t1 not in _data_rows(page, "teacher")


def test_teacher_gets_403(fill, login):
    client = _client(login, "teacher")
    assert client.get("/journal-fill/").status_code == 403
    assert client.get("/journal-fill/report.xlsx").status_code == 403


def test_menu_entry_shown_to_principal_only(fill, login):
    principal_page = _client(login).get("/journal/").get_data(as_text=True)
    assert 'href="/journal-fill/"' in principal_page

    teacher_page = _client(login, "teacher").get("/journal/").get_data(as_text=True)
    assert 'href="/journal-fill/"' not in teacher_page
