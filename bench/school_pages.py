"""Time one school's pages in a large database and again with the other schools removed.

A page that serves one school must cost the same whatever the size of the rest of the
database. This script builds the demo with N schools (default 10) into a fresh SQLite file,
signs in as the first school's teacher, parent and principal and times their pages; then it
deletes every other school's rows, so the same school, people and pages remain, and times
them again. It prints the median of each page in both states and the ratio (large / small).

Run from the project folder: .venv/bin/python -m bench.school_pages [--schools 10] [--repeat 20]
"""

import argparse
import csv
import statistics
import tempfile
import time
from pathlib import Path

PAGES = {
    "teacher": ["/journal/", "/journal/course/{course_id}", "/timetable/"],
    "parent": ["/diary/"],
    "principal": ["/students/list/", "/api/v1/student/?q=(page_size:100)", "/courses/list/"],
}


def _build(folder: Path, schools: int):
    """Build the demo into a fresh SQLite file and return the app and its logins."""
    from app import create_app
    from app.commands import prepare_database
    from app.demo.builder import build_demo

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "AUTH_RATE_LIMITED": False,
            "DEMO_LOGINS_FILE": str(folder / "logins.csv"),
        }
    )
    with app.app_context():
        prepare_database()
        result = build_demo(schools=schools, seed=7)
    with open(result.logins_file, encoding="utf-8") as logins_file:
        rows = list(csv.DictReader(logins_file))
    first_school = next(row["school"] for row in rows if row["role"] == "principal")
    logins = {}
    for row in rows:
        if row["school"] == first_school and row["role"] not in logins:
            logins[row["role"]] = (row["login"], row["password"])
    return app, logins, result.school_ids[0]


def _remove_other_schools(app, keep_school_id: int) -> None:
    """Delete every row of the schools other than ``keep_school_id``, then re-analyse."""
    from sqlalchemy import text

    from app.models import db

    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            if "school_id" in table.c:
                db.session.execute(table.delete().where(table.c.school_id != keep_school_id))
        db.session.execute(text("DELETE FROM school WHERE id != :id"), {"id": keep_school_id})
        db.session.commit()
        db.session.execute(text("VACUUM"))
        db.session.execute(text("ANALYZE"))


def _first_course_id(app, client) -> int:
    import re

    page = client.get("/journal/").get_data(as_text=True)
    return int(re.search(r"/journal/course/(\d+)", page).group(1))


def _time_pages(app, logins, repeat: int) -> dict[str, float]:
    timings = {}
    for role, paths in PAGES.items():
        client = app.test_client()
        username, password = logins[role]
        client.post("/login/", data={"username": username, "password": password})
        values = {}
        if role == "teacher":
            values["course_id"] = _first_course_id(app, client)
        for template in paths:
            path = template.format(**values)
            assert client.get(path).status_code == 200, path
            samples = []
            for _attempt in range(repeat):
                started = time.perf_counter()
                client.get(path)
                samples.append(time.perf_counter() - started)
            timings[f"{role} {template}"] = statistics.median(samples) * 1000
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=10, help="schools in the large database")
    parser.add_argument("--repeat", type=int, default=20, help="requests per page and state")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        app, logins, school_id = _build(Path(folder), args.schools)
        print(f"demo of {args.schools} schools built in {time.perf_counter() - started:.1f} s")
        large = _time_pages(app, logins, args.repeat)
        _remove_other_schools(app, school_id)
        small = _time_pages(app, logins, args.repeat)

    header = f"{args.schools} schools, ms"
    print(f"\n{'page':50} {header:>16} {'1 school, ms':>13} {'ratio':>6}")
    for page, alone in small.items():
        print(f"{page:50} {large[page]:16.1f} {alone:13.1f} {large[page] / alone:6.2f}")


if __name__ == "__main__":
    main()
