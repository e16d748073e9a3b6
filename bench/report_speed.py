"""Time the authority summary and the school reports of one class on PostgreSQL.

Three budgets of the reports, each printed as the median ratio of alternating runs:

1. The authority summary of a quarter as XLSX (``/authority/summary.xlsx``), through
   Flask's test client in process, against one plain aggregate scan of that quarter's
   marks sent on a bare DB-API connection: the count and average of the marks of the
   lessons within each school's quarter dates, grouped by school (:data:`QUARTER_SCAN`).
   The download and the scan take turns. Budget: the download takes at most the scan's time.
2. The peak memory (resident set) of this process after the reports ran, read with
   ``resource.getrusage``. Budget: under 500 MB.
3. The school reports of one class as XLSX (class results, summary sheet, attendance,
   dynamics, a student's progress) on the city database against the same reports on a
   database holding that school only (``--single-url``, made by
   ``bench/single_school_db.sh``). The two databases take turns. Budget: each report
   takes at most 1.2 times its single-school time.

The school is the one of the single-school database, the class its class with the most
active students, the student the first of that class by name. The bench sets a new random
password on the authority's login (city database) and on a principal of the school (both
databases); it writes nothing else. Run it on copies of the data, never on a production
database.

Run from the project folder (a few minutes with the defaults):

    .venv/bin/python -m bench.report_speed \\
        --database-url postgresql+psycopg://postgres@127.0.0.1/school_city_fullyear \\
        --single-url postgresql+psycopg://postgres@127.0.0.1/rbench_single
"""

import argparse
import os
import resource
import secrets
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SUMMARY_BUDGET = 1.0
MEMORY_BUDGET_MB = 500
SCHOOL_BUDGET = 1.2

#: The plain aggregate scan of budget 1: every mark of the lessons within the school's
#: quarter (by the quarter's dates, whatever the grade's own terms), for the authority's
#: schools. Numeric marks are averaged; pass, fail and duty marks are counted only. The
#: joins go by id alone: repeating the school's id in them makes PostgreSQL expect a few
#: rows and pick nested loops, a slower scan and so an easier budget.
QUARTER_SCAN = """
SELECT lesson.school_id, count(*) AS marks, avg(mark.value) AS average
FROM mark
JOIN assignment ON assignment.id = mark.assignment_id
JOIN lesson ON lesson.id = assignment.lesson_id
JOIN term ON term.school_id = lesson.school_id
    AND lesson.date BETWEEN term.start_date AND term.end_date
JOIN academic_year ON academic_year.id = term.year_id
JOIN school ON school.id = lesson.school_id
WHERE school.authority_id = %(authority_id)s
    AND academic_year.name = %(year_name)s
    AND term.kind = 'quarter' AND term.number = %(term_number)s
GROUP BY lesson.school_id
"""


@dataclass
class Target:
    """The authority, quarter, school, class and logins the bench measures."""

    authority_id: int
    authority_login: str
    year_name: str
    term_number: int
    school_id: int
    principal_login: str
    class_id: int
    class_name: str
    class_students: int
    term_id: int
    term_start: str
    term_end: str
    student_id: int
    password: str


def _make_app(database_url: str):
    from app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            # The test client signs in without a form token.
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "AUTH_RATE_LIMITED": False,
        }
    )


def _single_school(app) -> int:
    """Return the id of the only school of the single-school database."""
    from sqlalchemy import func, select

    from app.models import School, db

    with app.app_context():
        count, school_id = db.session.execute(select(func.count(), func.min(School.id))).one()
        db.session.remove()
    if count != 1:
        raise SystemExit(
            f"--single-url must contain exactly one school, it contains {count}: "
            "build it with bench/single_school_db.sh"
        )
    return school_id


def _principal(school_id: int):
    """Find a principal's login of this school only (no choice of organisation at sign-in)."""
    from flask_appbuilder.security.sqla.models import Role, User
    from sqlalchemy import func, select

    from app.models import Membership, db
    from app.models.org import membership_role

    only_here = (
        select(Membership.user_id)
        .group_by(Membership.user_id)
        .having(func.count() == 1, func.min(Membership.school_id) == school_id)
    )
    user = db.session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .join(membership_role, membership_role.c.membership_id == Membership.id)
        .join(Role, Role.id == membership_role.c.role_id)
        .where(
            Membership.school_id == school_id,
            Membership.is_active.is_(True),
            Role.name == "Директор / завуч",
            User.active.is_(True),
            User.id.in_(only_here),
        )
        .order_by(User.id)
    ).first()
    if user is None:
        raise SystemExit(f"school {school_id} has no principal with a login of this school only")
    return user


def _authority_login():
    """Find the login of an authority's specialist and the authority."""
    from flask_appbuilder.security.sqla.models import User
    from sqlalchemy import select

    from app.models import Membership, db

    row = db.session.execute(
        select(User, Membership.authority_id)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.authority_id.is_not(None), Membership.is_active.is_(True))
        .order_by(User.id)
    ).first()
    if row is None:
        raise SystemExit("no login of an education authority")
    return row


def _largest_class(school_id: int):
    from sqlalchemy import func, select

    from app.models import SchoolClass, Student, db

    class_id = db.session.scalar(
        select(Student.class_id)
        .where(Student.school_id == school_id, Student.is_active.is_(True))
        .group_by(Student.class_id)
        .order_by(func.count().desc(), Student.class_id)
        .limit(1)
    )
    return db.session.get(SchoolClass, class_id)


def _class_term(school_class, year_name: str, number: int):
    """Return the class's term that contains the end of the school's quarter ``number``."""
    from sqlalchemy import select

    from app.models import AcademicYear, Term, db
    from app.reports.school import class_terms

    quarter = db.session.scalar(
        select(Term)
        .join(AcademicYear, AcademicYear.id == Term.year_id)
        .where(
            Term.school_id == school_class.school_id,
            AcademicYear.name == year_name,
            Term.kind == "quarter",
            Term.number == number,
        )
        .order_by(Term.end_date.desc())
    )
    if quarter is None:
        raise SystemExit(f"school {school_class.school_id} has no quarter {number} in {year_name}")
    for term in class_terms(school_class):
        if term.start_date <= quarter.end_date <= term.end_date:
            return term
    raise SystemExit(f"class {school_class.id} has no term at {quarter.end_date}")


def choose_target(city, single, term_number: int, year_name: str | None) -> Target:
    """Pick what the bench measures and give the logins a known password in both databases."""
    from app.models import Student, db
    from app.reports.authority import year_names
    from app.reports.school import class_students

    school_id = _single_school(single)
    password = secrets.token_urlsafe(12)
    with city.app_context():
        authority_user, authority_id = _authority_login()
        year_name = year_name or year_names(authority_id)[0]
        principal = _principal(school_id)
        principal_id = principal.id
        school_class = _largest_class(school_id)
        term = _class_term(school_class, year_name, term_number)
        students = class_students(school_class)
        target = Target(
            authority_id=authority_id,
            authority_login=authority_user.username,
            year_name=year_name,
            term_number=term_number,
            school_id=school_id,
            principal_login=principal.username,
            class_id=school_class.id,
            class_name=school_class.name,
            class_students=len(students),
            term_id=term.id,
            term_start=term.start_date.isoformat(),
            term_end=term.end_date.isoformat(),
            student_id=students[0].id,
            password=password,
        )
        # FAB's own password reset hashes as the sign-in form checks, and commits.
        city.appbuilder.sm.reset_password(authority_user.id, password)
        city.appbuilder.sm.reset_password(principal.id, password)
        db.session.remove()
    with single.app_context():
        same = _principal(school_id)
        if same.id != principal_id or db.session.get(Student, target.student_id) is None:
            raise SystemExit("the single-school database is not a copy of the city database")
        single.appbuilder.sm.reset_password(same.id, password)
        db.session.remove()
    return target


def _signed_in(app, login: str, password: str):
    client = app.test_client()
    response = client.post("/login/", data={"username": login, "password": password})
    assert response.status_code == 302, f"the sign-in of {login} failed"
    return client


def _timed_get(client, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    seconds = time.perf_counter() - started
    assert response.status_code == 200, f"{path}: {response.status_code}"
    return seconds


# --- 1. The authority summary against one scan of the quarter's marks ----------------------


def _scan_once(connection, parameters: dict) -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(QUARTER_SCAN, parameters)
        cursor.fetchall()
    connection.rollback()
    return time.perf_counter() - started


def bench_summary(app, target: Target, repeat: int) -> dict:
    from app.models import db

    client = _signed_in(app, target.authority_login, target.password)
    path = (
        f"/authority/summary.xlsx?authority={target.authority_id}"
        f"&year={target.year_name}&term={target.term_number}"
    )
    parameters = {
        "authority_id": target.authority_id,
        "year_name": target.year_name,
        "term_number": target.term_number,
    }
    with app.app_context():
        connection = db.engine.raw_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute(QUARTER_SCAN, parameters)
            scanned = cursor.fetchall()
        connection.rollback()
        download, scan = [], []
        # One warm-up each, then the download and the scan take turns.
        for attempt in range(repeat + 1):
            seconds = _timed_get(client, path)
            scan_seconds = _scan_once(connection, parameters)
            if attempt:
                download.append(seconds)
                scan.append(scan_seconds)
    finally:
        connection.close()
    ratios = [d / s for d, s in zip(download, scan, strict=True)]
    return {
        "path": path,
        "schools": len(scanned),
        "marks": sum(row[1] for row in scanned),
        "download": statistics.median(download),
        "scan": statistics.median(scan),
        "ratio": statistics.median(ratios),
    }


# --- 3. School reports of one class: city against one school -------------------------------


def school_report_paths(target: Target) -> dict[str, str]:
    base = "/reports/school"
    return {
        "class results": f"{base}/class-results.xlsx?class={target.class_id}&term={target.term_id}",
        "summary sheet": f"{base}/summary-sheet.xlsx?class={target.class_id}",
        "attendance": (
            f"{base}/attendance.xlsx?class={target.class_id}"
            f"&date_from={target.term_start}&date_to={target.term_end}"
        ),
        "dynamics": f"{base}/dynamics.xlsx?class={target.class_id}",
        "student progress": (
            f"{base}/progress.xlsx?student={target.student_id}&term={target.term_id}"
        ),
    }


def bench_school_reports(city, single, target: Target, repeat: int) -> dict:
    clients = {
        "city": _signed_in(city, target.principal_login, target.password),
        "single": _signed_in(single, target.principal_login, target.password),
    }
    results = {}
    for name, path in school_report_paths(target).items():
        samples = {"city": [], "single": []}
        # One warm-up each, then the two databases take turns, starting with either.
        for attempt in range(repeat + 1):
            order = ("city", "single") if attempt % 2 else ("single", "city")
            for database in order:
                seconds = _timed_get(clients[database], path)
                if attempt:
                    samples[database].append(seconds)
        ratios = [c / s for c, s in zip(samples["city"], samples["single"], strict=True)]
        results[name] = {
            "path": path,
            "city": statistics.median(samples["city"]),
            "single": statistics.median(samples["single"]),
            "ratio": statistics.median(ratios),
        }
    return results


# --- Printing ----------------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def _machine(app) -> str:
    from sqlalchemy import text

    from app.models import db

    with app.app_context():
        server = db.session.scalar(text("SHOW server_version"))
        db.session.remove()
    memory = Path("/proc/meminfo").read_text().split()[1]
    return (
        f"{os.cpu_count()} CPUs, {int(memory) / 2**20:.0f} GiB, Python "
        f"{sys.version.split()[0]}, PostgreSQL {server}; load average {_load()}"
    )


def _print_target(target: Target) -> None:
    print(
        f"authority {target.authority_id} (login {target.authority_login}), "
        f"{target.year_name}, quarter {target.term_number}"
    )
    print(
        f"school {target.school_id}, class {target.class_name} (id {target.class_id}, "
        f"{target.class_students} students), term id {target.term_id} "
        f"{target.term_start}..{target.term_end}, student id {target.student_id}, "
        f"principal login {target.principal_login}"
    )


def _print_summary(result: dict) -> None:
    print(f"\n1. {result['path']}")
    print(f"   quarter scan: {result['schools']} schools, {result['marks']:,} marks")
    print(
        f"   XLSX {result['download'] * 1000:.0f} ms, scan {result['scan'] * 1000:.0f} ms "
        f"(medians); median ratio {result['ratio']:.2f}"
    )


def _print_school_reports(results: dict) -> None:
    print("\n3. school reports of one class, city / single school (medians, ms)")
    for name, result in results.items():
        print(
            f"   {name:18} {result['city'] * 1000:8.1f} {result['single'] * 1000:8.1f}"
            f"   ratio {result['ratio']:.2f}"
        )


def _print_budgets(results: dict) -> bool:
    print("\nSummary")
    rows = []
    if "summary" in results:
        ratio = results["summary"]["ratio"]
        rows.append(("summary XLSX / quarter scan", ratio, f"<= {SUMMARY_BUDGET:g}"))
    rows.append(("peak RSS, MB", results["rss"], f"< {MEMORY_BUDGET_MB}"))
    for name, result in results.get("school", {}).items():
        rows.append((f"{name}: city / single", result["ratio"], f"<= {SCHOOL_BUDGET:g}"))
    passed_all = True
    for label, value, budget in rows:
        limit = float(budget.split()[-1])
        passed = value < limit if budget.startswith("<") and "=" not in budget else value <= limit
        passed_all = passed_all and passed
        print(f"   {label:36} {value:8.2f}  budget {budget:7} {'pass' if passed else 'FAIL'}")
    return passed_all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="PostgreSQL database with the city demo (default: $DATABASE_URL)",
    )
    parser.add_argument(
        "--single-url", required=True, help="PostgreSQL copy of one school of that database"
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each side")
    parser.add_argument("--term", type=int, default=3, help="quarter number of the reports")
    parser.add_argument("--year", help="school year name (default: the newest)")
    parser.add_argument("--summary", action="store_true", help="run budget 1 only (and 2)")
    parser.add_argument("--school", action="store_true", help="run budget 3 only (and 2)")
    args = parser.parse_args()
    for url in (args.database_url, args.single_url):
        if not url or not url.startswith("postgresql"):
            parser.error("--database-url and --single-url must name PostgreSQL databases")
    if args.repeat < 5:
        parser.error("--repeat must be at least 5")
    if not (args.summary or args.school):
        args.summary = args.school = True

    started = time.perf_counter()
    city = _make_app(args.database_url)
    single = _make_app(args.single_url)
    print(_machine(city))
    target = choose_target(city, single, args.term, args.year)
    _print_target(target)

    results = {}
    if args.summary:
        results["summary"] = bench_summary(city, target, args.repeat)
        _print_summary(results["summary"])
        print(f"   peak RSS after the summary: {_peak_rss_mb():.0f} MB")
    if args.school:
        results["school"] = bench_school_reports(city, single, target, args.repeat)
        _print_school_reports(results["school"])
    results["rss"] = _peak_rss_mb()
    print(f"\n2. peak RSS of the process: {results['rss']:.0f} MB")

    passed = _print_budgets(results)
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s; load average at the end {_load()}")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
