"""Timetable import from FET (real files of Debian's fet-data), aSc XML and the XLSX grid.

The real FET files carry real teachers' names. They stay in the throwaway test database:
the tests compare counts only and print no names.
"""

import datetime as dt
import io
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask_babel import force_locale
from openpyxl import Workbook
from sqlalchemy import func, select

from app.models import (
    AcademicYear,
    Course,
    Employee,
    Room,
    SchoolClass,
    StudyGroup,
    Subject,
    TimetableEntry,
    db,
)
from app.services import timetable_import
from app.services.timetable_import import ImportFileError
from tests.factories import build_extra_school

KEY = "fetimp"
OTHER_KEY = "fetimp2"
ASC_FILE = Path(__file__).parent / "data" / "asc_small.xml"

#: Real FET files: schools whose classes are named by grade, with and without subgroups
#: and locked times, and a timetable FET saved with its data. Found by name, since the
#: folders differ between fet-data versions.
FET_FILES = (
    "Orar_5_3.fet",
    "highschool-Ancona.fet",
    "Van_RhynFinal.fet",
    "secondary_school.fet",
    "EDT_new_Virt_R_95-percent_21_22_data_and_timetable.fet",
)


def _fet_data_files() -> list[str]:
    if shutil.which("dpkg") is None:
        return []
    listing = subprocess.run(["dpkg", "-L", "fet-data"], capture_output=True, text=True)
    if listing.returncode != 0:
        return []
    return [line for line in listing.stdout.splitlines() if line.endswith(".fet")]


def fet_file(name: str) -> Path:
    """The first file of that name in the installed fet-data, or skip with the reason."""
    files = _fet_data_files()
    if not files:
        pytest.skip("Debian's fet-data package is not installed (apt-get install fet-data)")
    for path in sorted(files, key=lambda p: ("FET-5-official" not in p, p)):
        if Path(path).name == name and Path(path).is_file():
            return Path(path)
    pytest.skip(f"fet-data has no file named {name} in this version")


# --- Counts the test takes from the FET XML itself --------------------------------------------

_GRADE = re.compile(r"^\s*(\d{1,2})")


def _name(element) -> str:
    child = element.find("Name")
    return " ".join((child.text if child is not None else element.text or "").split())


def _norm(text: str) -> str:
    return " ".join(text.casefold().replace("ё", "е").split())


def _class_name(group: str, year: str) -> str:
    match = _GRADE.match(group)
    if match:
        return _norm(match.group(1) + re.sub(r"[\s\-_.]+", "", group[match.end() :]))
    return _norm(_GRADE.match(year).group(1) + re.sub(r"[\s\-_.]+", "", group))


def _is_class(name: str) -> bool:
    match = _GRADE.match(name)
    letter = re.sub(r"[\s\-_.]+", "", name[match.end() :]) if match else ""
    return bool(match) and 1 <= int(match.group(1)) <= 11 and 0 < len(letter) <= 5


def expected_counts(path: Path) -> dict[str, int]:
    """Teachers, subjects, rooms, classes, groups, courses and template lines of a file."""
    root = ET.parse(path).getroot()
    names = {}
    for kind, tag in (("teacher", "Teachers_List/Teacher"), ("subject", "Subjects_List/Subject")):
        names[kind] = {_norm(_name(e)) for e in root.findall(tag)}
    names["room"] = {_norm(_name(e)) for e in root.findall("Rooms_List/Room")}

    # Student sets → (class, group) pairs. A year named like a class, or without groups, is
    # a class whose groups and subgroups are its parts; another year's groups are classes.
    sets, group_class = {}, {}
    for year in root.findall("Students_List/Year"):
        year_name, groups = _name(year), year.findall("Group")
        if not groups or _is_class(year_name):
            sets[year_name] = [(_class_name(year_name, year_name), None)]
            parts = [_name(g) for g in groups]
            parts += [_name(s) for g in groups for s in g.findall("Subgroup")]
            for part in parts:
                first = group_class.setdefault(part, _class_name(year_name, year_name))
                sets.setdefault(part, [(first, part)])
            continue
        sets.setdefault(year_name, [(_class_name(_name(g), year_name), None) for g in groups])
        for group in groups:
            class_name = _class_name(_name(group), year_name)
            sets.setdefault(_name(group), [(class_name, None)])
            for subgroup in group.findall("Subgroup"):
                first = group_class.setdefault(_name(subgroup), class_name)
                sets.setdefault(_name(subgroup), [(first, _name(subgroup))])
    classes = {pair[0] for pairs in sets.values() for pair in pairs}

    courses, activity_courses, durations = set(), {}, {}
    for activity in root.findall("Activities_List/Activity"):
        if (activity.findtext("Active") or "true").strip() == "false":
            continue
        subject = " ".join((activity.findtext("Subject") or "").split())
        pairs = {
            p for s in activity.findall("Students") for p in sets.get(" ".join(s.text.split()), [])
        }
        if not subject or not pairs:
            continue
        keys = {(_norm(subject), c, g) for c, g in pairs}
        courses |= keys
        activity_id = activity.findtext("Id").strip()
        activity_courses[activity_id] = keys
        durations[activity_id] = int(activity.findtext("Duration").strip())

    days = {_name(d): i for i, d in enumerate(root.findall("Days_List/Day"))}
    hours = {_name(h): i for i, h in enumerate(root.findall("Hours_List/Hour"))}
    # In the mornings and afternoons mode, FET days 0 and 1 are Monday's two halves.
    halves = (root.findtext("Mode") or "").strip() == "Mornings_Afternoons"
    lines = set()
    for constraint in root.iter("ConstraintActivityPreferredStartingTime"):
        activity_id = (constraint.findtext("Activity_Id") or "").strip()
        weight = float(constraint.findtext("Weight_Percentage") or 0)
        active = (constraint.findtext("Active") or "true").strip() != "false"
        day = days.get(" ".join((constraint.findtext("Preferred_Day") or "").split()))
        hour = hours.get(" ".join((constraint.findtext("Preferred_Hour") or "").split()))
        if weight < 100 or not active or activity_id not in activity_courses:
            continue
        if day is None or hour is None:
            continue
        weekday = day // 2 + 1 if halves else day + 1
        first = (day % 2) * len(hours) + hour + 1 if halves else hour + 1
        for lesson in range(first, first + durations[activity_id]):
            if weekday <= 7 and lesson <= 12:
                lines |= {(key, weekday, lesson) for key in activity_courses[activity_id]}
    return {
        "teacher": len(names["teacher"] - {""}),
        "subject": len(names["subject"] - {""}),
        "room": len(names["room"] - {""}),
        "class": len(classes),
        "group": len(group_class),
        "course": len(courses),
        "entry": len(lines),
    }


# --- Fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def school(app):
    """A school of its own with an empty extra year, and a second school."""
    with app.app_context():
        world = build_extra_school(KEY)
        other = build_extra_school(OTHER_KEY)
        other_year = db.session.scalar(
            select(AcademicYear.id).where(AcademicYear.school_id == other.school_id)
        )
        year = db.session.scalar(
            select(AcademicYear.id).where(AcademicYear.school_id == world.school_id)
        )
        return SimpleNamespace(
            sid=world.school_id, year_id=year, other_sid=other.school_id, other_year_id=other_year
        )


@pytest.fixture()
def ctx(app):
    with app.test_request_context(), force_locale("ru"):
        yield db.session
        db.session.rollback()


def new_year(school_id: int, start_year: int) -> int:
    """An empty school year, so that classes and courses of the file match nothing."""
    year = AcademicYear(
        school_id=school_id,
        name=f"{start_year}/{start_year + 1}",
        start_date=dt.date(start_year, 9, 1),
        end_date=dt.date(start_year + 1, 5, 31),
    )
    db.session.add(year)
    db.session.commit()
    return year.id


def count(model, school_id: int, year_id: int | None = None) -> int:
    statement = select(func.count()).select_from(model).where(model.school_id == school_id)
    if year_id is not None and hasattr(model, "year_id"):
        statement = statement.where(model.year_id == year_id)
    return db.session.scalar(statement)


def entry_count(school_id: int, year_id: int) -> int:
    statement = (
        select(func.count())
        .select_from(TimetableEntry)
        .join(Course, Course.id == TimetableEntry.course_id)
        .where(TimetableEntry.school_id == school_id, Course.year_id == year_id)
    )
    return db.session.scalar(statement)


def seen(preview, kind: str) -> int:
    return preview.count(kind, "matched") + preview.count(kind, "new")


# --- Real FET files ----------------------------------------------------------------------------


@pytest.mark.parametrize("file_name", FET_FILES)
def test_real_fet_file_imports_the_counts_of_its_xml(ctx, school, file_name):
    path = fet_file(file_name)
    expected = expected_counts(path)
    year_id = new_year(school.sid, 2030 + FET_FILES.index(file_name))
    before = {model: count(model, school.sid) for model in (Employee, Subject, Room)}

    preview = timetable_import.preview_file("fet", school.sid, year_id, path.read_bytes(), "x.fet")
    result = timetable_import.apply_preview(preview, school.sid, None)

    # Only counts reach the assertions, so a failure prints no name from the file.
    imported = {
        "teacher": seen(preview, "teacher"),
        "subject": seen(preview, "subject"),
        "room": seen(preview, "room"),
        "class": count(SchoolClass, school.sid, year_id),
        "group": count(StudyGroup, school.sid, year_id),
        "course": count(Course, school.sid, year_id),
        "entry": entry_count(school.sid, year_id),
    }
    created = {
        "teacher": count(Employee, school.sid) - before[Employee],
        "subject": count(Subject, school.sid) - before[Subject],
        "room": count(Room, school.sid) - before[Room],
    }
    valid = preview.is_valid
    assert valid
    assert imported == expected
    assert created == {kind: result.created[kind] for kind in created}


def test_real_fet_files_have_placed_lessons(ctx):
    # secondary_school.fet fixes a single activity; the others fix dozens or all of them.
    placed = [
        expected_counts(fet_file(name))["entry"] for name in FET_FILES if "secondary" not in name
    ]
    assert all(lines > 0 for lines in placed)


def test_second_fet_import_creates_nothing(ctx, school):
    path = fet_file(FET_FILES[0])
    year_id = new_year(school.sid, 2040)
    data = path.read_bytes()
    timetable_import.apply_preview(
        timetable_import.preview_file("fet", school.sid, year_id, data, "x.fet"), school.sid, None
    )

    again = timetable_import.preview_file("fet", school.sid, year_id, data, "x.fet")

    assert not again.to_write
    assert again.count("course", "matched") == expected_counts(path)["course"]


def test_fet_year_without_grade_is_reported_not_imported(ctx, school):
    data = (
        "<fet version='6.0.0'><Subjects_List><Subject><Name>Физика</Name></Subject>"
        "</Subjects_List><Students_List><Year><Name>Первокурсники</Name></Year>"
        "<Year><Name>7</Name><Group><Name>7 Ж</Name></Group></Year></Students_List>"
        "<Activities_List><Activity><Subject>Физика</Subject><Students>Первокурсники</Students>"
        "<Duration>1</Duration><Id>1</Id><Active>true</Active></Activity></Activities_List></fet>"
    ).encode()
    year_id = new_year(school.sid, 2041)

    preview = timetable_import.preview_file("fet", school.sid, year_id, data, "x.fet")

    assert [p.kind for p in preview.problems] == ["class", "activity"]
    assert "параллели от 1 до 11" in preview.problems[0].reason
    assert preview.count("class", "new") == 1


# --- Safe XML ---------------------------------------------------------------------------------


def test_xml_with_entities_is_refused(ctx, school):
    bomb = b'<?xml version="1.0"?><!DOCTYPE fet [<!ENTITY a "aaaa">]><fet>&a;</fet>'
    with pytest.raises(ImportFileError) as error:
        timetable_import.preview_file("fet", school.sid, school.year_id, bomb, "x.fet")
    assert "DTD" in error.value.messages[0]


def test_broken_xml_names_the_line(ctx, school):
    with pytest.raises(ImportFileError) as error:
        timetable_import.preview_file("asc", school.sid, school.year_id, b"<timetable>\n<a>", "x")
    assert "XML" in error.value.messages[0]


def test_wrong_root_is_refused(ctx, school):
    with pytest.raises(ImportFileError) as error:
        timetable_import.preview_file("fet", school.sid, school.year_id, b"<timetable/>", "x")
    assert "FET" in error.value.messages[0]


# --- aSc ----------------------------------------------------------------------------------------


def test_asc_export_imports_lessons_and_cards(ctx, school):
    year_id = new_year(school.sid, 2042)

    preview = timetable_import.preview_file(
        "asc", school.sid, year_id, ASC_FILE.read_bytes(), "asc_small.xml"
    )
    timetable_import.apply_preview(preview, school.sid, None)

    assert [p.kind for p in preview.problems] == ["class", "activity"]
    assert count(SchoolClass, school.sid, year_id) == 2
    assert count(StudyGroup, school.sid, year_id) == 2
    assert count(Course, school.sid, year_id) == 4
    assert entry_count(school.sid, year_id) == 5
    group = db.session.scalar(select(StudyGroup).where(StudyGroup.year_id == year_id).limit(1))
    assert group.name.startswith("5Ф ")
    parities = db.session.scalars(
        select(TimetableEntry.week_parity)
        .join(Course, Course.id == TimetableEntry.course_id)
        .where(Course.year_id == year_id)
    ).all()
    assert sorted(parities) == ["even", "every", "every", "every", "odd"]


def test_asc_course_gets_hours_and_teacher(ctx, school):
    year_id = new_year(school.sid, 2043)
    preview = timetable_import.preview_file(
        "asc", school.sid, year_id, ASC_FILE.read_bytes(), "asc_small.xml"
    )
    timetable_import.apply_preview(preview, school.sid, None)

    course = db.session.scalar(
        select(Course)
        .join(SchoolClass, SchoolClass.id == Course.class_id)
        .where(Course.year_id == year_id, SchoolClass.name == "6Ф")
    )

    assert course.hours_per_week == 4
    assert [t.last_name for t in course.teachers] == ["Вымышленная"]


def test_names_match_ignoring_case_and_yo(ctx, school):
    # The second school: no import has created the file's teachers there.
    db.session.add(Employee(school_id=school.other_sid, last_name="ПРИДУМАНОВ", first_name="петр"))
    db.session.commit()
    year_id = new_year(school.other_sid, 2044)

    preview = timetable_import.preview_file(
        "asc", school.other_sid, year_id, ASC_FILE.read_bytes(), "asc_small.xml"
    )

    statuses = {line.name: line.status for line in preview.lines if line.kind == "teacher"}
    assert statuses == {"Придуманов Пётр": "matched", "Вымышленная Зоя": "new"}


def test_same_name_twice_in_school_is_reported(ctx, school):
    for first_name in ("Ия", "ия"):
        db.session.add(
            Employee(school_id=school.other_sid, last_name="Двойная", first_name=first_name)
        )
    db.session.commit()
    data = grid([["7Ю", "пн", 1, "Алгебра", "Двойная Ия", "", "", ""]])

    preview = timetable_import.preview_file(
        "xlsx", school.other_sid, school.other_year_id, data, "g.xlsx"
    )

    assert [p.kind for p in preview.problems] == ["teacher"]
    assert preview.count("teacher", "new") == 0


# --- XLSX grid ----------------------------------------------------------------------------------

GRID_HEADER = ["Класс", "День недели", "Номер урока", "Предмет", "Учитель", "Кабинет", "Группа"]
GRID_HEADER += ["Неделя"]


def grid(rows, header=GRID_HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Расписание"])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_grid_rows_become_courses_and_lines(ctx, school):
    year_id = new_year(school.sid, 2045)
    data = grid(
        [
            ["7Ю", "понедельник", 1, "Алгебра", "Сочинённая Ия", "301", "", ""],
            ["7Ю", "Вт", 2, "Алгебра", "Сочинённая Ия", "301", "", ""],
            ["7Ю", 3, "3", "Информатика", "Сочинённая Ия", "302", "7Ю инф 1", "нечётная"],
        ]
    )

    preview = timetable_import.preview_file("xlsx", school.sid, year_id, data, "grid.xlsx")
    timetable_import.apply_preview(preview, school.sid, None)

    assert count(Course, school.sid, year_id) == 2
    assert entry_count(school.sid, year_id) == 3
    hours = db.session.scalars(
        select(Course.hours_per_week).where(Course.year_id == year_id).order_by(Course.id)
    ).all()
    assert [float(h) for h in hours] == [2.0, 0.5]


def test_grid_with_bad_rows_names_each_and_imports_nothing(ctx, school):
    year_id = new_year(school.sid, 2046)
    data = grid(
        [
            ["7Ю", "пнд", 1, "Алгебра", "", "", "", ""],
            ["7Ю", "пятница", 14, "Алгебра", "", "", "", ""],
            ["Кружок", "пятница", 2, "Алгебра", "", "", "", "иногда"],
            ["7Ю", "пятница", 3, "Алгебра", "", "", "", ""],
        ]
    )

    preview = timetable_import.preview_file("xlsx", school.sid, year_id, data, "grid.xlsx")

    assert not preview.is_valid
    assert [message.split(":")[0] for message in preview.errors] == [
        "Строка 3",
        "Строка 4",
        "Строка 5",
        "Строка 5",
    ]
    assert "«пнд»" in preview.errors[0]
    with pytest.raises(ImportFileError):
        timetable_import.apply_preview(preview, school.sid, None)
    assert count(Course, school.sid, year_id) == 0


def test_grid_without_a_required_column_is_refused(ctx, school):
    data = grid([["7Ю", "пятница", 1]], header=["Класс", "День недели", "Номер урока"])
    with pytest.raises(ImportFileError) as error:
        timetable_import.preview_file("xlsx", school.sid, school.year_id, data, "grid.xlsx")
    assert "«Предмет»" in error.value.messages[0]


def test_broken_workbook_is_refused(ctx, school):
    with pytest.raises(ImportFileError) as error:
        timetable_import.preview_file("xlsx", school.sid, school.year_id, b"PK\x03\x04xx", "a.xlsx")
    assert "a.xlsx" in error.value.messages[0]


# --- Pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("school_admin", 200),
        ("principal", 200),
        ("teacher", 403),
        ("secretary", 403),
        ("hr", 403),
        ("parent", 403),
    ],
)
def test_import_page_follows_roles(school, login, role, expected):
    assert login(f"{role}_{KEY}").get("/timetable/import/").status_code == expected


def test_template_has_the_grid_header(school, login):
    response = login(f"principal_{KEY}").get("/timetable/import/template.xlsx")
    assert response.status_code == 200
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
    values = {cell.value for row in sheet.iter_rows() for cell in row}
    assert {"Класс", "День недели", "Номер урока", "Предмет"} <= values


def test_other_school_year_answers_404(school, login):
    client = login(f"school_admin_{KEY}")
    response = client.post(
        "/timetable/import/preview",
        data={
            "year_id": school.other_year_id,
            "file_format": "asc",
            "file": (io.BytesIO(ASC_FILE.read_bytes()), "asc_small.xml"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 404


def test_principal_previews_and_confirms(app, school, login):
    with app.app_context():
        year_id = new_year(school.sid, 2047)
    client = login(f"principal_{KEY}")
    response = client.post(
        "/timetable/import/preview",
        data={
            "year_id": year_id,
            "file_format": "asc",
            "file": (io.BytesIO(ASC_FILE.read_bytes()), "asc_small.xml"),
        },
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Кружок" in page
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)

    confirmed = client.post("/timetable/import/confirm", data={"token": token})

    assert confirmed.status_code == 302
    with app.app_context():
        assert entry_count(school.sid, year_id) == 5


def test_token_of_another_user_is_refused(app, school, login):
    with app.app_context():
        year_id = new_year(school.sid, 2048)
    principal = login(f"principal_{KEY}")
    page = principal.post(
        "/timetable/import/preview",
        data={
            "year_id": year_id,
            "file_format": "asc",
            "file": (io.BytesIO(ASC_FILE.read_bytes()), "asc_small.xml"),
        },
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)

    response = login(f"school_admin_{KEY}").post("/timetable/import/confirm", data={"token": token})

    assert response.status_code == 400
    with app.app_context():
        assert count(Course, school.sid, year_id) == 0


def test_bad_grid_page_shows_row_messages(school, login):
    client = login(f"school_admin_{KEY}")
    response = client.post(
        "/timetable/import/preview",
        data={
            "year_id": school.year_id,
            "file_format": "xlsx",
            "file": (io.BytesIO(grid([["7Ю", "пнд", 1, "Алгебра"]])), "g.xlsx"),
        },
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert "Строка 3" in page
    assert 'name="token"' not in page


def test_grid_class_that_cannot_be_created_imports_nothing(ctx, school):
    year_id = new_year(school.sid, 2049)
    data = grid(
        [
            ["7Ю", "пн", 1, "Алгебра", "", "", "", ""],
            ["7абвгдеж", "пн", 2, "Алгебра", "", "", "", ""],
        ]
    )

    preview = timetable_import.preview_file("xlsx", school.sid, year_id, data, "grid.xlsx")

    assert not preview.is_valid
    assert preview.errors[0].startswith("«7абвгдеж» не импортируется")


def test_grid_grade_twelve_is_a_row_error(ctx, school):
    data = grid([["12А", "пн", 1, "Алгебра", "", "", "", ""]])

    preview = timetable_import.preview_file("xlsx", school.sid, school.year_id, data, "g.xlsx")

    assert preview.errors[0].startswith("Строка 3: класс «12А»")


def test_closed_year_is_refused(ctx, school):
    year_id = new_year(school.sid, 2050)
    db.session.get(AcademicYear, year_id).is_closed = True
    db.session.commit()

    with pytest.raises(ImportFileError) as error:
        timetable_import.preview_file("asc", school.sid, year_id, ASC_FILE.read_bytes(), "a.xml")

    assert "2050/2051" in error.value.messages[0]
