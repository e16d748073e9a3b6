"""Time the template conflict check and term lesson generation on a PostgreSQL database.

The script builds, once, a school of 40 classes (grades 1 to 11, 25 students each) with a
weekly template of about 1,400 lines, or reuses it when the database already has it. The
template is placed greedily so that it has no conflicts, as a finished timetable has none.
Each class keeps its own room, and no teacher is placed twice in one slot. English, and
from grade 5 technology and informatics, run in two halves in group rooms. Afterwards the
script runs ANALYZE, as autovacuum would, so that the plans are those of a settled database.

Two parts, each the median of ``--repeat`` runs taken in turns with its baseline:

1. The conflict check of the whole template against one plain read of the template rows
   (the line columns of every line of the year, fetched with SQLAlchemy Core). The check
   is timed twice: its Python part alone, on the rows already read, and in full, with its
   own statement reading the lines, courses, teachers, rooms, class sizes and group lists.
   Budget: the Python part takes at most one read (ratio ≤ 1).
2. ``generate_lessons`` for the first quarter against a bulk insert of the same rows with
   ``INSERT ... VALUES`` in batches of the same size. Each run starts from no lessons in
   the quarter and is committed. Budget: generation takes at most twice the insert.

It writes only the bench school (its own authority) and the lessons of its quarter, which
it deletes after each run. Run it on a database kept for benchmarks:

    .venv/bin/python -m bench.timetable_speed --database-url postgresql+psycopg://...
"""

import argparse
import datetime as dt
import gc
import random
import statistics
import sys
import time
from decimal import Decimal

SCHOOL_NAME = "Школа для замера расписания"
CHECK_BUDGET = 1.0
GENERATION_BUDGET = 2.0

YEAR_START = dt.date(2026, 9, 1)
QUARTER = (dt.date(2026, 9, 1), dt.date(2026, 10, 24))

#: Subjects and weekly hours of a class, by grade band; 35 hours fill a 5 × 7 week.
PLAN = {
    "primary": [
        ("Русский язык", 5),
        ("Литературное чтение", 4),
        ("Математика", 4),
        ("Окружающий мир", 2),
        ("Английский язык", 2),
        ("Музыка", 1),
        ("Изобразительное искусство", 1),
        ("Технология", 1),
        ("Физическая культура", 3),
        ("Родной язык", 1),
        ("Литературное чтение на родном языке", 1),
    ],
    "middle": [
        ("Русский язык", 5),
        ("Литература", 3),
        ("Математика", 5),
        ("История", 2),
        ("Обществознание", 1),
        ("География", 2),
        ("Биология", 2),
        ("Физика", 2),
        ("Английский язык", 3),
        ("Информатика", 1),
        ("Технология", 2),
        ("Физическая культура", 3),
        ("Музыка", 1),
        ("Химия", 2),
        ("Основы безопасности и защиты Родины", 1),
    ],
}
#: Subjects taught in two halves of a class, each half a group course of its own.
SPLIT = {
    "primary": {"Английский язык"},
    "middle": {"Английский язык", "Технология", "Информатика"},
}
GRADES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
#: Classes per grade, 40 in all.
LETTERS = {grade: "АБВГ" if grade <= 7 else "АБВ" for grade in GRADES}
DAYS = [1, 2, 3, 4, 5]
NUMBERS = [1, 2, 3, 4, 5, 6, 7]
#: Lessons a week one teacher takes at most when the template is built.
TEACHER_LOAD = 24


def _make_app(database_url: str):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": False})


# --- Building the school -----------------------------------------------------------------


def _find_school():
    from sqlalchemy import select

    from app.models import School, db

    return db.session.scalar(select(School).where(School.name == SCHOOL_NAME))


def _build_school(seed: int):
    """Write the bench school and its template; returns the school."""
    from app.models import (
        AcademicYear,
        EducationAuthority,
        Room,
        School,
        SchoolClass,
        Student,
        StudyGroup,
        Subject,
        db,
    )

    rng = random.Random(seed)
    authority = EducationAuthority(name="УО для замера расписания", short_name="УО-замер")
    db.session.add(authority)
    db.session.flush()
    school = School(authority_id=authority.id, name=SCHOOL_NAME, number="замер")
    db.session.add(school)
    db.session.flush()
    sid = school.id
    year = AcademicYear(
        school_id=sid, name="2026/2027", start_date=YEAR_START, end_date=dt.date(2027, 5, 31)
    )
    db.session.add(year)
    db.session.flush()

    subjects = {}
    for name in sorted({name for plan in PLAN.values() for name, _hours in plan}):
        subjects[name] = Subject(school_id=sid, name=name)
    group_rooms = [Room(school_id=sid, name=f"Г-{n}", capacity=15) for n in range(1, 17)]
    gyms = [Room(school_id=sid, name=f"Спортзал {n}", capacity=60) for n in (1, 2, 3)]
    db.session.add_all([*subjects.values(), *group_rooms, *gyms])
    db.session.flush()

    classes = []
    for grade in GRADES:
        for letter in LETTERS[grade]:
            room = Room(school_id=sid, name=f"{grade}{letter}-каб", capacity=30)
            db.session.add(room)
            db.session.flush()
            school_class = SchoolClass(
                school_id=sid,
                year_id=year.id,
                grade=grade,
                letter=letter,
                name=f"{grade}{letter}",
                room_id=room.id,
            )
            db.session.add(school_class)
            db.session.flush()
            students = [
                Student(
                    school_id=sid,
                    class_id=school_class.id,
                    last_name=f"Ученик{n}",
                    first_name="Тест",
                    sex="m" if n % 2 else "f",
                    personal_file_number=f"{grade}{letter}-{n}",
                )
                for n in range(1, 26)
            ]
            db.session.add_all(students)
            db.session.flush()
            halves = [
                StudyGroup(
                    school_id=sid,
                    year_id=year.id,
                    name=f"{grade}{letter} гр. {half + 1}",
                    class_id=school_class.id,
                    students=students[half::2],
                )
                for half in (0, 1)
            ]
            db.session.add_all(halves)
            db.session.flush()
            classes.append((school_class, room, halves))

    _place_template(sid, year.id, classes, subjects, group_rooms, gyms, rng)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return school


def _place_template(sid, year_id, classes, subjects, group_rooms, gyms, rng):
    """Add courses and a conflict-free template: greedy, class by class."""
    from app.models import Course, Employee, TimetableEntry, db

    teachers: dict[str, list] = {}
    busy: set[tuple] = set()
    load: dict[int, int] = {}
    slots = [(day, number) for day in DAYS for number in NUMBERS]

    def free_teacher(subject_name, slot):
        pool = teachers.setdefault(subject_name, [])
        for teacher in pool:
            if load[teacher.id] < TEACHER_LOAD and ("t", teacher.id, slot) not in busy:
                return teacher
        teacher = Employee(
            school_id=sid, last_name=f"Учитель{len(load) + 1}", first_name=subject_name[:10]
        )
        db.session.add(teacher)
        db.session.flush()
        pool.append(teacher)
        load[teacher.id] = 0
        return teacher

    def place(course, slot, room, teacher, group_key):
        busy.update({("t", teacher.id, slot), ("r", room.id, slot), (group_key, slot)})
        load[teacher.id] += 1
        entries.append(
            TimetableEntry(
                school_id=sid,
                course_id=course.id,
                weekday=slot[0],
                lesson_number=slot[1],
                room_id=room.id,
            )
        )

    entries = []
    for school_class, home_room, halves in classes:
        band = "primary" if school_class.grade <= 4 else "middle"
        plan = PLAN[band]
        free = list(slots)
        rng.shuffle(free)
        for subject_name, hours in plan:
            subject = subjects[subject_name]
            targets = halves if subject_name in SPLIT[band] else [None]
            for group in targets:
                course = Course(
                    school_id=sid,
                    year_id=year_id,
                    subject_id=subject.id,
                    class_id=school_class.id,
                    group_id=group.id if group else None,
                    hours_per_week=Decimal(hours),
                )
                db.session.add(course)
                db.session.flush()
                placed_teacher = None
                for _hour in range(hours):
                    slot, room, teacher = _choose_slot(
                        free,
                        busy,
                        subject_name,
                        group,
                        home_room,
                        group_rooms,
                        gyms,
                        placed_teacher,
                        free_teacher,
                        school_class.id,
                    )
                    if slot is None:
                        continue
                    placed_teacher = teacher
                    place(course, slot, room, teacher, ("g", group.id) if group else "class")
                    if group is None or group is halves[-1]:
                        free.remove(slot)
                if placed_teacher is not None:
                    course.teachers = [placed_teacher]
    db.session.add_all(entries)
    db.session.flush()


def _choose_slot(
    free,
    busy,
    subject_name,
    group,
    home_room,
    group_rooms,
    gyms,
    teacher,
    free_teacher,
    class_id,
):
    """Find the first free slot of the class with a free teacher and room, else three Nones."""
    for slot in free:
        if group is not None and group.name.endswith("2"):
            # The second half runs beside the first, in the same slot, so it needs the
            # slot the first half took: that slot was left in ``free`` for it.
            if ("half1", class_id, slot) not in busy:
                continue
        if group is not None and group.name.endswith("1") and ("half1", class_id, slot) in busy:
            continue
        # A course keeps the teacher of its first hour for the others.
        if teacher is not None and ("t", teacher.id, slot) in busy:
            continue
        chosen = teacher or free_teacher(subject_name, slot)
        if group is not None:
            room = next((r for r in group_rooms if ("r", r.id, slot) not in busy), None)
        elif subject_name == "Физическая культура":
            room = next((r for r in gyms if ("r", r.id, slot) not in busy), None)
        else:
            room = home_room
        if room is None or ("r", room.id, slot) in busy:
            continue
        if group is not None and group.name.endswith("1"):
            busy.add(("half1", class_id, slot))
        return slot, room, chosen
    return None, None, None


# --- Timing ---------------------------------------------------------------------------------


def _plain_read(school_id: int, year_id: int):
    """Read the line columns of the template once, as the baseline of the check."""
    from sqlalchemy import select

    from app.models import Course, TimetableEntry, db

    return db.session.execute(
        select(
            TimetableEntry.id,
            TimetableEntry.course_id,
            TimetableEntry.weekday,
            TimetableEntry.lesson_number,
            TimetableEntry.room_id,
            TimetableEntry.week_parity,
            TimetableEntry.valid_from,
            TimetableEntry.valid_to,
        )
        .join(Course, Course.id == TimetableEntry.course_id)
        .where(TimetableEntry.school_id == school_id, Course.year_id == year_id)
    ).all()


def _timed(function):
    # A collection of the previous run's garbage must not land inside the next timing.
    gc.collect()
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def _bench_check(school_id: int, year_id: int, repeat: int) -> dict:
    from app.models import db
    from app.services import timetable_conflicts as conflicts

    template = conflicts.load_template(school_id, year_id)
    reads, pythons, fulls = [], [], []
    found = None
    for _run in range(repeat):
        db.session.commit()
        seconds, rows = _timed(lambda: _plain_read(school_id, year_id))
        reads.append(seconds)
        seconds, clashes = _timed(lambda: conflicts.find_clashes(template))
        pythons.append(seconds)
        db.session.commit()
        seconds, found = _timed(lambda: conflicts.check_template(school_id, year_id))
        fulls.append(seconds)
    return {
        "lines": len(rows),
        "conflicts": len(found),
        "clashes": len(clashes),
        "read": statistics.median(reads),
        "python": statistics.median(pythons),
        "full": statistics.median(fulls),
    }


def _delete_quarter_lessons(school_id: int) -> None:
    from sqlalchemy import delete

    from app.models import Lesson, db

    db.session.execute(
        delete(Lesson).where(
            Lesson.school_id == school_id, Lesson.date >= QUARTER[0], Lesson.date <= QUARTER[1]
        )
    )
    db.session.commit()


def _quarter_rows(school_id: int) -> list[dict]:
    from sqlalchemy import select

    from app.models import Lesson, db

    columns = [
        Lesson.school_id,
        Lesson.course_id,
        Lesson.date,
        Lesson.lesson_number,
        Lesson.starts_at,
        Lesson.ends_at,
        Lesson.room_id,
        Lesson.entry_id,
        Lesson.is_cancelled,
    ]
    rows = db.session.execute(
        select(*columns).where(
            Lesson.school_id == school_id, Lesson.date >= QUARTER[0], Lesson.date <= QUARTER[1]
        )
    ).mappings()
    return [dict(row) for row in rows]


def _bench_generation(school_id: int, repeat: int) -> dict:
    from sqlalchemy import insert

    from app.models import Lesson, db
    from app.services.timetable import INSERT_BATCH, generate_lessons

    _delete_quarter_lessons(school_id)
    generate_lessons(school_id, *QUARTER, today=QUARTER[0])
    db.session.commit()
    rows = _quarter_rows(school_id)
    _delete_quarter_lessons(school_id)

    def generate():
        created = generate_lessons(school_id, *QUARTER, today=QUARTER[0])
        db.session.commit()
        return created

    def bulk_insert():
        for offset in range(0, len(rows), INSERT_BATCH):
            db.session.execute(insert(Lesson), rows[offset : offset + INSERT_BATCH])
        db.session.commit()

    generations, inserts = [], []
    for _run in range(repeat):
        seconds, created = _timed(generate)
        generations.append(seconds)
        _delete_quarter_lessons(school_id)
        seconds, _none = _timed(bulk_insert)
        inserts.append(seconds)
        _delete_quarter_lessons(school_id)
    return {
        "lessons": created,
        "generate": statistics.median(generations),
        "insert": statistics.median(inserts),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="a PostgreSQL SQLAlchemy URL")
    parser.add_argument("--repeat", type=int, default=9, help="runs of each part (at least 5)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the template's placing")
    args = parser.parse_args(argv)
    if args.repeat < 5:
        parser.error("--repeat must be at least 5 so that the medians mean something")

    app = _make_app(args.database_url)
    with app.app_context():
        from sqlalchemy import select

        from app.commands import prepare_database
        from app.models import AcademicYear, db

        prepare_database()
        school = _find_school()
        if school is None:
            print("Building the school of 40 classes…", flush=True)
            school = _build_school(args.seed)
        school_id = school.id
        year_id = db.session.scalar(
            select(AcademicYear.id).where(AcademicYear.school_id == school_id)
        )

        check = _bench_check(school_id, year_id, args.repeat)
        print(
            f"Template: {check['lines']} lines, {check['conflicts']} conflicts found "
            f"(median of {args.repeat} runs each)"
        )
        ratio = check["python"] / check["read"]
        print(f"  plain read of the template rows  {check['read'] * 1000:8.2f} ms")
        print(
            f"  conflict check, Python part      {check['python'] * 1000:8.2f} ms"
            f"   ratio {ratio:.2f} (budget ≤ {CHECK_BUDGET:.0f}) "
            f"{'OK' if ratio <= CHECK_BUDGET else 'OVER'}"
        )
        full_ratio = check["full"] / check["read"]
        print(
            f"  conflict check with its reads    {check['full'] * 1000:8.2f} ms"
            f"   ratio {full_ratio:.2f}"
        )

        generation = _bench_generation(school_id, args.repeat)
        ratio_generation = generation["generate"] / generation["insert"]
        print(f"First quarter: {generation['lessons']} lessons")
        print(f"  bulk insert of the same rows     {generation['insert'] * 1000:8.1f} ms")
        print(
            f"  generate_lessons                 {generation['generate'] * 1000:8.1f} ms"
            f"   ratio {ratio_generation:.2f} (budget ≤ {GENERATION_BUDGET:.0f}) "
            f"{'OK' if ratio_generation <= GENERATION_BUDGET else 'OVER'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
