"""Marks from another school's extract: entry, access, and their place in the term average.

The factory's first student has one journal mark in mathematics: 5 of weight 2 on
05.10.2026, in quarter 1 (01.09–24.10.2026). The sibling's factory mark from an extract
falls in the autumn holidays, outside every term.
"""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.models import Course, JournalAudit, School, Student, Term, TransferredMark, db
from app.services.diary_results import diary_results
from app.services.final_marks import course_regulation, suggest_term_marks
from app.services.journal import student_term_average_text
from tests.factories import WEEK_START, add_teacher, build_extra_school
from tests.test_certificates import texts_by_test_id

_numbers = itertools.count(1)

#: Quarter 1 is 01.09–24.10.2026; quarter 2 is 03.11–28.12.2026.
FIRST_QUARTER_MARKS = [("3", "1", "2026-09-10"), ("4", "0,5", "15.09.2026")]
SECOND_QUARTER_MARK = ("2", "1", "2026-11-10")

#: (5 × 2 + 3 × 1 + 4 × 0.5) / (2 + 1 + 0.5) = 15 / 3.5
FIRST_QUARTER_AVERAGE = Decimal(15) / Decimal("3.5")


@pytest.fixture()
def school(app):
    with app.app_context():
        built = build_extra_school(f"cert-tm-{next(_numbers)}")
        built.ids["FirstQuarter"] = db.session.scalar(
            select(Term.id).where(
                Term.school_id == built.school_id, Term.kind == "quarter", Term.number == 1
            )
        )
        built.ids["SecondQuarter"] = db.session.scalar(
            select(Term.id).where(
                Term.school_id == built.school_id, Term.kind == "quarter", Term.number == 2
            )
        )
    return built


def _add(client, school, value, weight, day, source="МБОУ СОШ № 7", student_key="Student"):
    return client.post(
        f"/transferred-marks/student/{school.ids[student_key]}",
        data={
            "course_id": school.ids["Course"],
            "date": day,
            "value": value,
            "weight": weight,
            "source_school": source,
        },
    )


def _add_all(login, school):
    secretary = login(school.users["secretary"])
    for value, weight, day in [*FIRST_QUARTER_MARKS, SECOND_QUARTER_MARK]:
        response = _add(secretary, school, value, weight, day)
        assert response.status_code == 302, response.get_data(as_text=True)
    return secretary


def _mark_count(app, school) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(TransferredMark.id)).where(
                TransferredMark.school_id == school.school_id,
                TransferredMark.student_id == school.ids["Student"],
            )
        )


def _grid_row(client, school, term_key) -> dict[str, str]:
    page = client.get(
        f"/journal/course/{school.ids['Course']}?term={school.ids[term_key]}"
    ).get_data(as_text=True)
    start = page.index(f'data-student="{school.ids["Student"]}"')
    row = page[start : page.index("</tr>", start)]
    return texts_by_test_id("<tr " + row + "</tr>")


def test_grid_average_counts_transferred_marks(app, school, login):
    _add_all(login, school)
    teacher = login(school.users["teacher"])
    row = _grid_row(teacher, school, "FirstQuarter")
    assert row["average"] == "4,29"
    assert row["transferred"].split() == ["3", "4"]


def test_grid_average_of_next_term(app, school, login):
    _add_all(login, school)
    row = _grid_row(login(school.users["teacher"]), school, "SecondQuarter")
    # Only the extract's 2 falls in quarter 2.
    assert row["average"] == "2,00"


def test_plain_mean_when_weighting_is_off(app, school, login):
    _add_all(login, school)
    with app.app_context():
        db.session.get(School, school.school_id).weighting_enabled = False
        db.session.commit()
    row = _grid_row(login(school.users["teacher"]), school, "FirstQuarter")
    # (5 + 3 + 4) / 3
    assert row["average"] == "4,00"


def test_cell_average_counts_transferred_marks(app, school, login):
    _add_all(login, school)
    with app.test_request_context():
        course = db.session.get(Course, school.ids["Course"])
        term = db.session.get(Term, school.ids["FirstQuarter"])
        assert student_term_average_text(course, term, school.ids["Student"]) == "4,29"


def test_diary_average_counts_transferred_marks(app, school, login):
    _add_all(login, school)
    with app.app_context():
        student = db.session.get(Student, school.ids["Student"])
        results = diary_results(student, WEEK_START, dt.date(2026, 10, 20))
        maths = next(line for line in results.subjects if line.subject == "Математика")
        assert maths.average == FIRST_QUARTER_AVERAGE


def test_term_suggestion_counts_transferred_marks(app, school, login):
    _add_all(login, school)
    with app.test_request_context():
        course = db.session.get(Course, school.ids["Course"])
        term = db.session.get(Term, school.ids["FirstQuarter"])
        suggestions = suggest_term_marks(
            course, term, course_regulation(course), dt.date(2026, 10, 24)
        )
        assert suggestions[school.ids["Student"]].average == FIRST_QUARTER_AVERAGE


def test_holiday_mark_counts_in_no_term(app, school, login):
    row_page = login(school.users["teacher"]).get(
        f"/journal/course/{school.ids['Course']}?term={school.ids['FirstQuarter']}"
    )
    page = row_page.get_data(as_text=True)
    start = page.index(f'data-student="{school.ids["SiblingStudent"]}"')
    row = texts_by_test_id("<tr " + page[start : page.index("</tr>", start)] + "</tr>")
    assert row["average"] == "—"


def test_entry_writes_audit_row(app, school, login):
    _add(login(school.users["secretary"]), school, "3", "1", "2026-09-10")
    with app.app_context():
        audit = db.session.scalars(
            select(JournalAudit).where(
                JournalAudit.school_id == school.school_id,
                JournalAudit.entity == "transferred_mark",
            )
        ).one()
        assert audit.action == "create"
        assert audit.new_value == "3"
        assert audit.student_id == school.ids["Student"]


@pytest.mark.parametrize(
    ("value", "weight", "day", "source", "quoted"),
    [
        ("7", "1", "2026-09-10", "СОШ № 7", "«7»"),
        ("4", "abc", "2026-09-10", "СОШ № 7", "«abc»"),
        ("4", "1", "15.06.2027", "СОШ № 7", "15.06.2027"),
        ("4", "1", "31.02.2026", "СОШ № 7", "«31.02.2026»"),
        ("4", "1", "2026-09-10", "", "Не указана школа"),
    ],
)
def test_invalid_values_are_named(app, school, login, value, weight, day, source, quoted):
    response = _add(login(school.users["secretary"]), school, value, weight, day, source)
    assert response.status_code == 400
    assert quoted in response.get_data(as_text=True)
    assert _mark_count(app, school) == 0


def test_class_teacher_enters_marks(app, school, login):
    response = _add(login(school.users["teacher"]), school, "5", "1", "2026-09-10")
    assert response.status_code == 302
    assert _mark_count(app, school) == 1


def test_other_teacher_gets_404(app, school, login):
    with app.app_context():
        add_teacher(school, f"cert-tm-teacher-{school.school_id}")
        db.session.commit()
    client = login(f"cert-tm-teacher-{school.school_id}")
    assert client.get(f"/transferred-marks/student/{school.ids['Student']}").status_code == 404
    assert _add(client, school, "5", "1", "2026-09-10").status_code == 404
    assert _mark_count(app, school) == 0


def test_parent_gets_403(app, school, login):
    parent = login(school.users["parent"])
    assert parent.get(f"/transferred-marks/student/{school.ids['Student']}").status_code == 403


def test_other_school_ids_are_not_found(app, school, world, login):
    secretary = login(school.users["secretary"])
    other_student = world["B"].ids["Student"]
    assert secretary.get(f"/transferred-marks/student/{other_student}").status_code == 404
    other_mark = world["B"].ids["TransferredMark"]
    assert secretary.post(f"/transferred-marks/{other_mark}/delete").status_code == 404
    with app.app_context():
        assert db.session.get(TransferredMark, other_mark) is not None


def test_course_of_other_class_is_refused(app, school, world, login):
    secretary = login(school.users["secretary"])
    response = secretary.post(
        f"/transferred-marks/student/{school.ids['Student']}",
        data={
            "course_id": world["B"].ids["Course"],
            "date": "2026-09-10",
            "value": "4",
            "weight": "1",
            "source_school": "СОШ № 7",
        },
    )
    assert response.status_code == 400
    assert _mark_count(app, school) == 0


def test_delete_removes_mark_from_average(app, school, login):
    secretary = _add_all(login, school)
    with app.app_context():
        mark_ids = db.session.scalars(
            select(TransferredMark.id).where(
                TransferredMark.school_id == school.school_id,
                TransferredMark.student_id == school.ids["Student"],
            )
        ).all()
    for mark_id in mark_ids:
        assert secretary.post(f"/transferred-marks/{mark_id}/delete").status_code == 302
    row = _grid_row(login(school.users["teacher"]), school, "FirstQuarter")
    assert row["average"] == "5,00"
    assert "transferred" not in row


def test_index_lists_class_teacher_students(app, school, login):
    page = login(school.users["teacher"]).get("/transferred-marks/").get_data(as_text=True)
    assert f"/transferred-marks/student/{school.ids['Student']}" in page
    assert f"/transferred-marks/student/{school.ids['OtherStudent']}" in page


def test_index_empty_for_other_teacher(app, school, login):
    with app.app_context():
        add_teacher(school, f"cert-tm-index-{school.school_id}")
        db.session.commit()
    page = login(f"cert-tm-index-{school.school_id}").get("/transferred-marks/")
    assert page.status_code == 200
    assert 'data-testid="no-students"' in page.get_data(as_text=True)


def _close_first_quarter(app, school) -> None:
    with app.app_context():
        db.session.get(Term, school.ids["FirstQuarter"]).is_closed = True
        db.session.commit()


def test_closed_term_rejects_new_mark(app, school, login):
    _close_first_quarter(app, school)
    response = _add(login(school.users["secretary"]), school, "4", "1", "2026-09-10")
    assert response.status_code == 400
    assert "1 четверть" in response.get_data(as_text=True)
    assert _mark_count(app, school) == 0
    # Quarter 2 is still open.
    response = _add(login(school.users["secretary"]), school, "4", "1", "2026-11-10")
    assert response.status_code == 302


def test_closed_term_keeps_its_marks(app, school, login):
    secretary = _add_all(login, school)
    _close_first_quarter(app, school)
    with app.app_context():
        first_quarter_mark = db.session.scalar(
            select(TransferredMark.id).where(
                TransferredMark.school_id == school.school_id,
                TransferredMark.date == dt.date(2026, 9, 10),
            )
        )
    response = secretary.post(f"/transferred-marks/{first_quarter_mark}/delete")
    assert response.status_code == 302
    assert _mark_count(app, school) == 3
