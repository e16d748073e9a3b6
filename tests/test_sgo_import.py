"""Import of a real «Сетевой Город» diary week, and the diary that shows it.

The week (tests/data/sgo, see NOTICE.md there) is one student's diary of class 10Б. It has
three days of a six-day week, Saturday lessons, a second-shift lesson and lessons without
assignments. Marks sit inside assignments, every weight is 0, two lessons share one slot,
and the assignment type id 68 is missing from the hard-coded type list. Every expected
value below is counted from the file itself.
"""

import copy
import datetime as dt
import json
import re
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from app.errors import DomainError
from app.models import (
    AcademicYear,
    Assignment,
    AssignmentType,
    BellPeriod,
    BellSchedule,
    Course,
    EducationAuthority,
    JournalAudit,
    Lesson,
    Mark,
    School,
    SchoolClass,
    Student,
    Subject,
    Term,
    db,
)
from app.services.diary import diary_week
from app.services.sgo_import import (
    UNKNOWN_TYPE_NAME,
    assignment_types_from_json,
    import_diary_week,
)
from tests.factories import add_membership, make_user

DATA_DIR = Path(__file__).parent / "data" / "sgo"
DIARY_FILE = DATA_DIR / "diary_week_2022-01-10_10B.json"
TYPES_FILE = DATA_DIR / "assignment_types_hardcoded_2020.json"

#: Trimester dates for 2021/2022, chosen so that the file's week lies in the second, which
#: the file names «2 триместр». The real school's dates are not in the file.
TRIMESTERS = [
    (1, dt.date(2021, 9, 1), dt.date(2021, 11, 30)),
    (2, dt.date(2021, 12, 1), dt.date(2022, 2, 28)),
    (3, dt.date(2022, 3, 1), dt.date(2022, 5, 31)),
]


# -- the file, read the way the test counts it ---------------------------------------------


def load_diary() -> dict:
    return json.loads(DIARY_FILE.read_text(encoding="utf-8"))


def load_type_names() -> dict[int, str]:
    return assignment_types_from_json(json.loads(TYPES_FILE.read_text(encoding="utf-8")))


def parse_day(value: str) -> dt.date:
    return dt.datetime.fromisoformat(value).date()


def file_lessons(payload: dict) -> list[dict]:
    return [lesson for day in payload["weekDays"] for lesson in day["lessons"]]


def file_assignments(payload: dict) -> list[tuple[dict, dict]]:
    """Every (lesson, assignment) pair of the file."""
    return [
        (lesson, assignment)
        for lesson in file_lessons(payload)
        for assignment in lesson.get("assignments") or []
    ]


def file_marks(payload: dict) -> list[tuple[dict, dict, dict]]:
    return [
        (lesson, assignment, assignment["mark"])
        for lesson, assignment in file_assignments(payload)
        if assignment.get("mark")
    ]


def file_homework(payload: dict) -> list[str]:
    """Texts of the file's homework: assignments of type 3, «Домашнее задание»."""
    return [a["assignmentName"] for _, a in file_assignments(payload) if a["typeId"] == 3]


def lesson_key(lesson: dict) -> tuple[dt.date, int, str]:
    return parse_day(lesson["day"]), lesson["number"], lesson["subjectName"]


# -- a school set up like the file's ------------------------------------------------------


def build_school_like_file(key: str, payload: dict) -> SimpleNamespace:
    """Create and commit a school like the file's: trimesters, six days, two shifts, 10Б.

    The bell schedule of each shift takes the times the file gives its lessons.
    """
    authority = EducationAuthority(name=f"Управление образования (импорт СГО {key})")
    db.session.add(authority)
    db.session.flush()
    school = School(
        authority_id=authority.id,
        name=f"Школа СГО {key}",
        number=f"sgo-{key}",
        shifts=2,
        six_day_week=True,
    )
    db.session.add(school)
    db.session.flush()
    sid = school.id

    year = AcademicYear(
        school_id=sid,
        name="2021/2022",
        start_date=dt.date(2021, 9, 1),
        end_date=dt.date(2022, 5, 31),
    )
    db.session.add(year)
    db.session.flush()
    for number, start, end in TRIMESTERS:
        db.session.add(
            Term(
                school_id=sid,
                year_id=year.id,
                kind="trimester",
                number=number,
                name=f"{number} триместр",
                start_date=start,
                end_date=end,
                grade_from=1,
                grade_to=11,
            )
        )

    bell_times: dict[int, dict[int, tuple[str, str]]] = defaultdict(dict)
    for lesson in file_lessons(payload):
        bell_times[lesson["relay"]][lesson["number"]] = (lesson["startTime"], lesson["endTime"])
    for shift in (1, 2):
        schedule = BellSchedule(school_id=sid, name=f"{shift} смена", shift=shift)
        db.session.add(schedule)
        db.session.flush()
        for number, (start, end) in sorted(bell_times[shift].items()):
            db.session.add(
                BellPeriod(
                    school_id=sid,
                    schedule_id=schedule.id,
                    lesson_number=number,
                    starts_at=dt.time.fromisoformat(start),
                    ends_at=dt.time.fromisoformat(end),
                )
            )

    school_class = SchoolClass(
        school_id=sid,
        year_id=year.id,
        grade=10,
        letter="Б",
        name=payload["className"],
        shift=1,
        six_day_week=True,
    )
    db.session.add(school_class)
    db.session.flush()

    user = make_user(f"sgo_student_{key}")
    student = Student(
        school_id=sid,
        user_id=user.id,
        class_id=school_class.id,
        last_name="Импортова",
        first_name="Алиса",
        sex="f",
        personal_file_number=f"sgo-{key}-1",
    )
    db.session.add(student)
    add_membership(user, "student", school=school)

    # The school's own homework type, without an id from «Сетевой Город»: the import must
    # find it by the name the type list gives id 3.
    homework = AssignmentType(
        school_id=sid, name="Домашнее задание", default_weight=Decimal("1"), is_homework=True
    )
    db.session.add(homework)
    db.session.commit()
    return SimpleNamespace(
        school_id=sid,
        student_id=student.id,
        class_id=school_class.id,
        username=user.username,
        homework_type_id=homework.id,
    )


@pytest.fixture(scope="module")
def imported(app):
    """The file imported once into its own school, with the school's ids and the report."""
    payload = load_diary()
    with app.app_context():
        school = build_school_like_file("main", payload)
        report = import_diary_week(
            school.school_id,
            school.student_id,
            payload,
            assignment_types=load_type_names(),
        )
    return SimpleNamespace(payload=payload, report=report, **vars(school))


def db_lessons(school_id: int) -> list[Lesson]:
    return list(db.session.scalars(select(Lesson).where(Lesson.school_id == school_id)))


def db_lesson_index(school_id: int) -> dict[tuple[dt.date, int, str], list[Lesson]]:
    index = defaultdict(list)
    for lesson in db_lessons(school_id):
        index[(lesson.date, lesson.lesson_number, lesson.course.subject.name)].append(lesson)
    return index


def count_rows(model, school_id: int) -> int:
    statement = select(func.count()).select_from(model).where(model.school_id == school_id)
    return db.session.scalar(statement)


# -- the test school itself -----------------------------------------------------------------


def test_school_setup_matches_file(imported, db_session):
    school = db_session.get(School, imported.school_id)
    school_class = db_session.get(SchoolClass, imported.class_id)
    terms = db_session.scalars(select(Term).where(Term.school_id == imported.school_id)).all()
    week_dates = {parse_day(day["date"]) for day in imported.payload["weekDays"]}
    term_of_week = [t for t in terms if all(t.start_date <= d <= t.end_date for d in week_dates)]

    assert school.shifts == 2
    assert school.six_day_week is True
    assert school_class.six_day_week is True
    assert sorted(t.kind for t in terms) == ["trimester"] * 3
    assert [t.name for t in term_of_week] == [imported.payload["termName"]]


# -- what the import stored --------------------------------------------------------------


def test_import_report_counts_file(imported):
    payload = imported.payload

    assert imported.report.lessons == len(file_lessons(payload))
    assert imported.report.assignments == len(file_assignments(payload))
    assert imported.report.marks == len(file_marks(payload))
    assert imported.report.skipped == []


def test_import_stores_every_lesson(imported, db_session):
    index = db_lesson_index(imported.school_id)

    assert count_rows(Lesson, imported.school_id) == len(file_lessons(imported.payload))
    for lesson in file_lessons(imported.payload):
        found = index.get(lesson_key(lesson))
        assert found, f"lesson missing: {lesson_key(lesson)}"
        assert found[0].starts_at == dt.time.fromisoformat(lesson["startTime"])
        assert found[0].ends_at == dt.time.fromisoformat(lesson["endTime"])
        assert found[0].course.class_id == imported.class_id


def test_import_keeps_lessons_without_assignments(imported, db_session):
    index = db_lesson_index(imported.school_id)
    bare = [lesson for lesson in file_lessons(imported.payload) if not lesson.get("assignments")]

    assert bare, "the file should have lessons without assignments"
    for lesson in bare:
        found = index.get(lesson_key(lesson))
        assert found, f"lesson without assignments missing: {lesson_key(lesson)}"
        assert found[0].assignments == []


def test_import_stores_every_assignment(imported, db_session):
    index = db_lesson_index(imported.school_id)

    assert count_rows(Assignment, imported.school_id) == len(file_assignments(imported.payload))
    for lesson, assignment in file_assignments(imported.payload):
        stored = [
            a
            for found in index[lesson_key(lesson)]
            for a in found.assignments
            if a.text == assignment["assignmentName"] and a.type.sgo_id == assignment["typeId"]
        ]
        assert stored, f"assignment {assignment['id']} missing"
        assert stored[0].due_date == parse_day(assignment["dueDate"])


def test_import_keeps_zero_weights(imported, db_session):
    weights = db_session.scalars(
        select(Assignment.weight).where(Assignment.school_id == imported.school_id)
    ).all()

    assert {a["weight"] for _, a in file_assignments(imported.payload)} == {0}
    assert weights
    assert set(weights) == {Decimal("0")}


def test_import_stores_marks_with_values(imported, db_session):
    index = db_lesson_index(imported.school_id)
    marks = file_marks(imported.payload)

    assert marks, "the file should have marks"
    assert count_rows(Mark, imported.school_id) == len(marks)
    for lesson, assignment, mark in marks:
        stored = [
            m
            for found in index[lesson_key(lesson)]
            for a in found.assignments
            if a.text == assignment["assignmentName"]
            for m in a.marks
        ]
        assert len(stored) == 1, f"mark of assignment {assignment['id']}"
        assert stored[0].student_id == imported.student_id
        assert stored[0].kind == "number"
        assert stored[0].value == mark["mark"]


def test_unknown_type_id_becomes_new_type(imported, db_session):
    known = load_type_names()
    unknown_ids = {a["typeId"] for _, a in file_assignments(imported.payload)} - set(known)

    assert unknown_ids == {68}
    for sgo_id in unknown_ids:
        name = UNKNOWN_TYPE_NAME.format(sgo_id=sgo_id)
        new_type = db_session.scalars(
            select(AssignmentType).where(
                AssignmentType.school_id == imported.school_id, AssignmentType.sgo_id == sgo_id
            )
        ).one()
        stored = db_session.scalar(
            select(func.count()).select_from(Assignment).where(Assignment.type_id == new_type.id)
        )
        in_file = sum(1 for _, a in file_assignments(imported.payload) if a["typeId"] == sgo_id)

        assert new_type.name == name
        assert name in imported.report.new_types
        assert stored == in_file


def test_known_type_ids_take_list_names(imported, db_session):
    known = load_type_names()
    file_ids = {a["typeId"] for _, a in file_assignments(imported.payload)} & set(known)
    types = db_session.scalars(
        select(AssignmentType).where(AssignmentType.school_id == imported.school_id)
    ).all()
    by_sgo_id = {t.sgo_id: t for t in types if t.sgo_id is not None}

    for sgo_id in file_ids:
        assert by_sgo_id[sgo_id].name == known[sgo_id]


def test_homework_matches_school_type(imported, db_session):
    homework = db_session.get(AssignmentType, imported.homework_type_id)
    texts = db_session.scalars(
        select(Assignment.text).where(
            Assignment.school_id == imported.school_id,
            Assignment.type_id == imported.homework_type_id,
        )
    ).all()

    assert homework.sgo_id == 3
    assert homework.is_homework is True
    assert sorted(texts) == sorted(file_homework(imported.payload))
    assert homework.name not in imported.report.new_types


def test_import_stores_saturday_lessons(imported, db_session):
    saturday_in_file = [
        lesson
        for lesson in file_lessons(imported.payload)
        if parse_day(lesson["day"]).isoweekday() == 6
    ]
    saturday_in_db = [
        lesson for lesson in db_lessons(imported.school_id) if lesson.date.isoweekday() == 6
    ]

    assert saturday_in_file, "the file should have Saturday lessons"
    assert len(saturday_in_db) == len(saturday_in_file)


def test_two_lessons_in_one_slot_survive(imported, db_session):
    slots_in_file = Counter(
        (parse_day(lesson["day"]), lesson["number"]) for lesson in file_lessons(imported.payload)
    )
    shared = [slot for slot, count in slots_in_file.items() if count > 1]
    slots_in_db = Counter(
        (lesson.date, lesson.lesson_number) for lesson in db_lessons(imported.school_id)
    )

    assert shared, "the file should have two lessons in one slot"
    for slot in shared:
        assert slots_in_db[slot] == slots_in_file[slot], slot


def test_import_rows_carry_school_id(imported, db_session):
    courses = db_session.scalars(select(Course).where(Course.class_id == imported.class_id)).all()
    subjects = {course.subject for course in courses}

    assert {course.school_id for course in courses} == {imported.school_id}
    assert {subject.school_id for subject in subjects} == {imported.school_id}
    assert {lesson["subjectName"] for lesson in file_lessons(imported.payload)} == {
        subject.name for subject in subjects
    }


# -- import behaviour on other inputs -----------------------------------------------------


def test_imported_marks_are_audited(imported, db_session):
    rows = db_session.scalars(
        select(JournalAudit).where(JournalAudit.school_id == imported.school_id)
    ).all()
    expected = sorted(str(mark["mark"]) for _, _, mark in file_marks(imported.payload))

    assert sorted(row.new_value for row in rows) == expected
    assert {(row.entity, row.action, row.old_value) for row in rows} == {("mark", "create", None)}
    assert all(row.assignment_id and row.lesson_id for row in rows)
    assert {row.student_id for row in rows} == {imported.student_id}


def test_reimport_changes_nothing(app):
    payload = load_diary()
    with app.app_context():
        school = build_school_like_file("again", payload)
        type_names = load_type_names()
        import_diary_week(school.school_id, school.student_id, payload, assignment_types=type_names)
        report = import_diary_week(
            school.school_id, school.student_id, payload, assignment_types=type_names
        )

        assert report.new_types == []
        assert report.new_courses == 0
        assert count_rows(Lesson, school.school_id) == len(file_lessons(payload))
        assert count_rows(Assignment, school.school_id) == len(file_assignments(payload))
        assert count_rows(Mark, school.school_id) == len(file_marks(payload))
        assert count_rows(JournalAudit, school.school_id) == len(file_marks(payload))


def test_failed_lesson_rolls_back_week(app):
    payload = load_diary()
    broken = copy.deepcopy(payload)
    saturday = broken["weekDays"][-1]
    literature = next(
        lesson for lesson in saturday["lessons"] if lesson["subjectName"] == "Литература"
    )
    literature["assignments"][0]["mark"] = {"mark": 9, "dutyMark": False, "resultScore": None}

    with app.app_context():
        school = build_school_like_file("broken", payload)
        with pytest.raises(DomainError) as raised:
            import_diary_week(
                school.school_id, school.student_id, broken, assignment_types=load_type_names()
            )

        message = str(raised.value)
        assert "15.01.2022" in message
        assert f"урок {literature['number']}" in message
        assert "Литература" in message
        assert "9" in message
        assert count_rows(Lesson, school.school_id) == 0
        assert count_rows(Assignment, school.school_id) == 0
        assert count_rows(Subject, school.school_id) == 0
        assert count_rows(AssignmentType, school.school_id) == 1


def test_duty_mark_and_score_are_kept(app):
    payload = load_diary()
    _, answered, mark = file_marks(payload)[0]
    mark.update({"mark": None, "dutyMark": True})
    _, essay, scored = file_marks(payload)[1]
    scored["resultScore"] = 17

    with app.app_context():
        school = build_school_like_file("duty", payload)
        report = import_diary_week(
            school.school_id, school.student_id, payload, assignment_types=load_type_names()
        )
        marks = {
            m.assignment.text: m
            for m in db.session.scalars(select(Mark).where(Mark.school_id == school.school_id))
        }

        assert marks[answered["assignmentName"]].kind == "duty"
        assert marks[answered["assignmentName"]].value is None
        assert marks[essay["assignmentName"]].value == scored["mark"]
        assert len(report.skipped) == 1
        assert "17" in report.skipped[0].reason


def test_student_of_other_school_not_found(app, imported):
    payload = load_diary()
    with app.app_context():
        other = build_school_like_file("other", payload)
        with pytest.raises(DomainError):
            import_diary_week(imported.school_id, other.student_id, payload)

        assert count_rows(Lesson, other.school_id) == 0


def test_diary_of_other_class_rejected(app):
    payload = load_diary()
    payload["className"] = "9А"
    with app.app_context():
        school = build_school_like_file("class", load_diary())
        with pytest.raises(DomainError) as raised:
            import_diary_week(school.school_id, school.student_id, payload)

        assert "9А" in str(raised.value)
        assert count_rows(Lesson, school.school_id) == 0


# -- the diary shows the imported week ----------------------------------------------------


def file_week_start(payload: dict) -> dt.date:
    return parse_day(payload["weekStart"])


def test_diary_week_shows_every_lesson(imported, db_session):
    student = db_session.get(Student, imported.student_id)
    week = diary_week(student, file_week_start(imported.payload))
    shown = Counter(
        (day.date, lesson.number, lesson.subject) for day in week.days for lesson in day.lessons
    )
    expected = Counter(lesson_key(lesson) for lesson in file_lessons(imported.payload))

    assert shown == expected
    assert any(day.date.isoweekday() == 6 and day.lessons for day in week.days)


def test_diary_week_shows_every_mark(imported, db_session):
    student = db_session.get(Student, imported.student_id)
    week = diary_week(student, file_week_start(imported.payload))
    shown = Counter(
        (day.date, lesson.number, lesson.subject, mark.value, mark.assignment_text)
        for day in week.days
        for lesson in day.lessons
        for mark in lesson.marks
    )
    expected = Counter(
        (*lesson_key(lesson), mark["mark"], assignment["assignmentName"])
        for lesson, assignment, mark in file_marks(imported.payload)
    )

    assert shown == expected


def test_diary_week_shows_every_homework(imported, db_session):
    student = db_session.get(Student, imported.student_id)
    week = diary_week(student, file_week_start(imported.payload))
    given = Counter(
        homework.text
        for day in week.days
        for lesson in day.lessons
        for homework in lesson.homework_given
    )

    assert given == Counter(file_homework(imported.payload))


def test_diary_page_shows_imported_week(imported, login):
    payload = imported.payload
    client = login(imported.username)
    response = client.get(
        f"/diary/?student={imported.student_id}&week={file_week_start(payload).isoformat()}"
    )
    html = response.get_data(as_text=True)
    mark_texts = re.findall(r'data-testid="diary-mark"[^>]*>\s*([^<]*?)\s*</span>', html)

    assert response.status_code == 200
    assert html.count('data-testid="diary-lesson"') == len(file_lessons(payload))
    for lesson in file_lessons(payload):
        assert str(escape(lesson["subjectName"])) in html, lesson["subjectName"]
    assert Counter(mark_texts) == Counter(str(mark["mark"]) for _, _, mark in file_marks(payload))
    for text in file_homework(payload):
        assert str(escape(text)) in html, text
