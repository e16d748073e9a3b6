"""Time the course journal, concurrent mark saving and the diary on a PostgreSQL database.

Three parts, each printing ratios measured in the same run (all three by default):

1. ``--page``: the course journal page of one course and term, rendered through Flask's
   test client (in process, no network), against the SQL statements the same render sends
   to the database, captured once and replayed on a bare DB-API connection with every row
   fetched. Renders and replays take turns; medians of ``--repeat`` each. Budget: the page
   takes at most 3 times its queries. The statements of ``course_grid`` alone are timed
   too, and statements sent more than twice in one render are listed.
2. ``--save``: marks saved through the grid's cell API (``POST /journal/lesson/<id>/cell``
   with the CSRF header and the shown value) by 50 signed-in clients, each saving once a
   second, against one client at the same rate (half of its run before the 50, half
   after), on gunicorn (``-k gthread -w 4 --threads 4`` by default). A few cells are
   shared by all clients, and five times two clients save one cell at the same moment
   from the same shown value: one must be saved, the other refused with 409. Budget: the
   95th percentile under 50 clients under 5 times the single client's median. Then the
   audit log is checked: one audit row per successful change, and the rows of each cell
   form one chain, each starting from the value the previous one stored and the last one
   ending at the stored mark, so no save overwrote another one unseen.
3. ``--diary``: requests per second of a parent's diary week against a light page of the
   same app (``--light-page``, the notice settings by default), 8 clients sending requests
   back to back, on the same gunicorn server; the two pages take turns in four rounds.
   Budget: the diary serves at least half as many requests per second.

The script picks the school with the most students, its course with the most lessons (a
teacher with a login of that school only teaching it), the course's term with the most
marks, the open lessons of that teacher for saving, and a parent of that school. It sets
a new random password on that teacher and that parent; besides that it writes only the
marks it saves, their audit rows and the two logins' sign-in counters. Run it on a copy
of the data, never on a production database. ``--analyze`` runs ANALYZE first when large
tables have no planner statistics (a server with autovacuum off).

Run from the project folder (about 5 minutes with the defaults):

    .venv/bin/python -m bench.journal_speed --database-url postgresql+psycopg://...
"""

import argparse
import datetime as dt
import http.client
import json
import os
import random
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

PROJECT = Path(__file__).resolve().parent.parent

#: Mark values the save part enters. Each save enters a value other than the one shown.
MARK_VALUES = ("2", "3", "4", "5")

PAGE_BUDGET = 3.0
SAVE_BUDGET = 5.0
DIARY_BUDGET = 0.5
#: Seconds after a save run's end when clients still behind their pace stop sending.
LATE_CUTOFF = 20


# --- Choosing the school, course, term and people -----------------------------------


@dataclass
class Cell:
    """One mark cell the save part writes: a lesson's first assignment for one student."""

    lesson_id: int
    student_id: int
    assignment_id: int
    term_id: int | None
    initial: str  # the input value shown at the start ("" for no mark)


@dataclass
class Target:
    """The school, course, term, logins and mark cells the bench measures."""

    school_id: int
    school_name: str
    students: int
    course_id: int
    course_name: str
    term_id: int
    term_name: str
    term_lessons: int
    term_marks: int
    course_students: int
    teacher_login: str
    teacher_user_id: int
    parent_login: str
    child_id: int
    diary_week: dt.date
    password: str
    cells: list[Cell] = field(default_factory=list)


def _make_app(database_url: str):
    from app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            # The in-process part signs in through the test client without a form token.
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )


def _single_school_user(user_id: int | None, school_id: int) -> bool:
    """Tell whether the login works in this school only, so no organisation is chosen."""
    from sqlalchemy import func, select

    from app.models import Membership, db

    if user_id is None:
        return False
    memberships = db.session.execute(
        select(func.count(), func.min(Membership.school_id)).where(
            Membership.user_id == user_id, Membership.is_active.is_(True)
        )
    ).one()
    return memberships[0] == 1 and memberships[1] == school_id


def _largest_school():
    from sqlalchemy import func, select

    from app.models import School, Student, db

    school_id, students = db.session.execute(
        select(Student.school_id, func.count())
        .where(Student.is_active.is_(True))
        .group_by(Student.school_id)
        .order_by(func.count().desc(), Student.school_id)
        .limit(1)
    ).one()
    return db.session.get(School, school_id), students


def _course_and_teacher(school_id: int):
    """Find the school's course with the most lessons that gives marks and has a teacher.

    The teacher must have a login of this school only, so the sign-in needs no choice of
    organisation.
    """
    from sqlalchemy import func, select

    from app.models import Course, Lesson, db

    lesson_counts = db.session.execute(
        select(Lesson.course_id, func.count())
        .where(Lesson.school_id == school_id)
        .group_by(Lesson.course_id)
        .order_by(func.count().desc(), Lesson.course_id)
        .limit(200)
    ).all()
    for course_id, _count in lesson_counts:
        course = db.session.get(Course, course_id)
        if not course.gives_marks or course.assessment != "marks" or not course.students():
            continue
        for teacher in course.teachers:
            if teacher.is_active and _single_school_user(teacher.user_id, school_id):
                return course, teacher
    raise SystemExit("no course of the school gives marks and has a teacher with a login")


def _term_with_most_marks(course):
    from sqlalchemy import func, select

    from app.models import Assignment, Lesson, Mark, db
    from app.services.journal import course_terms

    best = None
    for term in course_terms(course):
        lessons, marks = db.session.execute(
            select(func.count(func.distinct(Lesson.id)), func.count(Mark.id))
            .select_from(Lesson)
            .outerjoin(Assignment, Assignment.lesson_id == Lesson.id)
            .outerjoin(Mark, Mark.assignment_id == Assignment.id)
            .where(
                Lesson.school_id == course.school_id,
                Lesson.course_id == course.id,
                Lesson.date >= term.start_date,
                Lesson.date <= term.end_date,
            )
        ).one()
        if best is None or marks > best[2]:
            best = (term, lessons, marks)
    if best is None:
        raise SystemExit(f"course {course.id} has no term")
    return best


def _parent_and_week(school_id: int):
    """Find a parent with a login of this school only, their child and its latest week."""
    from sqlalchemy import func, select

    from app.models import Course, Guardian, Lesson, Student, db
    from app.services.diary import monday_of

    guardians = db.session.scalars(
        select(Guardian)
        .join(Student, Student.id == Guardian.student_id)
        .where(
            Guardian.school_id == school_id,
            Guardian.user_id.is_not(None),
            Guardian.is_barred.is_(False),
            Student.is_active.is_(True),
        )
        .order_by(Guardian.id)
        .limit(200)
    )
    for guardian in guardians:
        if not _single_school_user(guardian.user_id, school_id):
            continue
        child = guardian.student
        last_lesson = db.session.scalar(
            select(func.max(Lesson.date))
            .join(Course, Course.id == Lesson.course_id)
            .where(
                Lesson.school_id == school_id,
                Course.class_id == child.class_id,
                Lesson.date <= dt.date.today(),
            )
        )
        return guardian, child, monday_of(last_lesson or dt.date.today())
    raise SystemExit("no parent of the school has a login of this school only")


def _open_cells(teacher, school_id: int, wanted: int) -> list[Cell]:
    """Mark cells of the teacher's open lessons, newest lessons first, then coming ones."""
    from sqlalchemy import select

    from app.models import Course, Lesson, Mark, course_teacher, db
    from app.services.journal import course_terms, lesson_lock, mark_input_value

    courses = list(
        db.session.scalars(
            select(Course)
            .join(course_teacher, course_teacher.c.course_id == Course.id)
            .where(Course.school_id == school_id, course_teacher.c.employee_id == teacher.id)
        )
    )
    courses = [c for c in courses if c.gives_marks and c.assessment == "marks"]
    today = dt.date.today()
    lessons = []
    for course in courses:
        terms = course_terms(course)
        for lesson in db.session.scalars(
            select(Lesson).where(
                Lesson.school_id == school_id,
                Lesson.course_id == course.id,
                Lesson.is_cancelled.is_(False),
                Lesson.substitute_id.is_(None),
            )
        ):
            if lesson.assignments and lesson_lock(lesson, terms=terms) is None:
                term = next((t for t in terms if t.start_date <= lesson.date <= t.end_date), None)
                lessons.append((lesson, course, term))
    # Past lessons nearest to today first, then the coming ones.
    lessons.sort(key=lambda item: (item[0].date > today, abs((item[0].date - today).days)))
    cells = []
    for lesson, course, term in lessons:
        assignment_id = min(a.id for a in lesson.assignments)
        stored = {
            mark.student_id: mark
            for mark in db.session.scalars(
                select(Mark).where(Mark.school_id == school_id, Mark.assignment_id == assignment_id)
            )
        }
        for student in course.students():
            cells.append(
                Cell(
                    lesson.id,
                    student.id,
                    assignment_id,
                    term.id if term is not None else None,
                    mark_input_value(stored.get(student.id)),
                )
            )
        if len(cells) >= wanted:
            break
    return cells


def choose_target(app, wanted_cells: int) -> Target:
    """Pick what the bench measures and give the two logins a known password."""
    from flask_appbuilder.security.sqla.models import User

    from app.models import db
    from app.services.journal import course_terms

    with app.app_context():
        school, students = _largest_school()
        course, teacher = _course_and_teacher(school.id)
        term, term_lessons, term_marks = _term_with_most_marks(course)
        guardian, child, week = _parent_and_week(school.id)
        cells = _open_cells(teacher, school.id, wanted_cells)
        course_terms(course)  # the grid's query, warmed before any timing
        password = secrets.token_urlsafe(12)
        teacher_user = db.session.get(User, teacher.user_id)
        parent_user = db.session.get(User, guardian.user_id)
        target = Target(
            school_id=school.id,
            school_name=school.name,
            students=students,
            course_id=course.id,
            course_name=str(course),
            term_id=term.id,
            term_name=term.name,
            term_lessons=term_lessons,
            term_marks=term_marks,
            course_students=len(course.students()),
            teacher_login=teacher_user.username,
            teacher_user_id=teacher_user.id,
            parent_login=parent_user.username,
            child_id=child.id,
            diary_week=week,
            password=password,
            cells=cells,
        )
        # FAB's own password reset hashes as the login form checks, and commits.
        app.appbuilder.sm.reset_password(teacher_user.id, password)
        app.appbuilder.sm.reset_password(parent_user.id, password)
        db.session.remove()
    return target


# --- 1. The journal page against its queries -----------------------------------------


def _capture_statements(app, client, path):
    """Render the page once and return every SQL statement it sent, with its parameters.

    Each statement is flagged when ``course_grid`` sent it.
    """
    from sqlalchemy import event

    import app.views.journal as journal_views
    from app.models import db

    statements = []
    inside_grid = threading.local()

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters, executemany, getattr(inside_grid, "on", False)))

    original = journal_views.course_grid

    def traced_grid(*args, **kwargs):
        inside_grid.on = True
        try:
            return original(*args, **kwargs)
        finally:
            inside_grid.on = False

    with app.app_context():
        engine = db.engine
    journal_views.course_grid = traced_grid
    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        assert client.get(path).status_code == 200, path
    finally:
        event.remove(engine, "before_cursor_execute", before_cursor_execute)
        journal_views.course_grid = original
    return engine, statements


def _replay_once(connection, statements) -> float:
    """Run the statements on a bare DB-API connection, fetching every row; return seconds."""
    started = time.perf_counter()
    cursor = connection.cursor()
    for statement, parameters, executemany, _grid in statements:
        if executemany:
            cursor.executemany(statement, parameters)
        else:
            cursor.execute(statement, parameters)
        if cursor.description is not None:
            cursor.fetchall()
    cursor.close()
    connection.rollback()
    return time.perf_counter() - started


def _repeated_statements(statements) -> list[tuple[int, str]]:
    """List the statements sent more than twice in one render: a query per row of data."""
    counts = Counter(" ".join(statement.split())[:90] for statement, *_rest in statements)
    return [(count, text) for text, count in counts.most_common() if count > 2]


def bench_page(app, target: Target, repeat: int) -> dict:
    client = app.test_client()
    response = client.post(
        "/login/", data={"username": target.teacher_login, "password": target.password}
    )
    assert response.status_code == 302, "the teacher's sign-in failed"
    path = f"/journal/course/{target.course_id}?term={target.term_id}"
    for _attempt in range(3):
        assert client.get(path).status_code == 200, path
    engine, statements = _capture_statements(app, client, path)
    grid_statements = [s for s in statements if s[3]]

    connection = engine.raw_connection()
    samples = defaultdict(list)
    try:
        # Renders and replays take turns, so a change in the machine's load hits both.
        for attempt in range(repeat + 2):
            started = time.perf_counter()
            response = client.get(path)
            page = time.perf_counter() - started
            every_query = _replay_once(connection, statements)
            grid_queries = _replay_once(connection, grid_statements)
            if attempt >= 2:
                samples["page"].append(page)
                samples["queries"].append(every_query)
                samples["grid_queries"].append(grid_queries)
    finally:
        connection.close()

    result = {key: statistics.median(values) for key, values in samples.items()}
    return {
        "path": path,
        "bytes": len(response.data),
        "statements": len(statements),
        "grid_statements": len(grid_statements),
        "ratio": result["page"] / result["queries"],
        "grid_ratio": result["page"] / result["grid_queries"],
        "repeated": _repeated_statements(statements),
        "statement_texts": statements,
        **result,
    }


# --- An HTTP client with its own session cookie --------------------------------------


class Client:
    """One browser: a kept-alive connection and the session cookie."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection = None

    def request(self, method: str, path: str, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = None
                if attempt:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, data

    def get(self, path: str):
        return self.request("GET", path)

    def post_json(self, path: str, payload: dict, csrf: str):
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-CSRFToken": csrf,
        }
        status, data = self.request("POST", path, body, headers)
        return status, data

    def login(self, username: str, password: str) -> None:
        status, page = self.get("/login/")
        assert status == 200, f"login page: {status}"
        token = _csrf_token(page.decode())
        form = urlencode({"username": username, "password": password, "csrf_token": token})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        status, _page = self.request("POST", "/login/", form.encode(), headers)
        assert status == 302, f"sign-in of {username} answered {status}"


def _csrf_token(page: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    found = found or re.search(r'data-csrf="([^"]+)"', page)
    if found is None:
        raise SystemExit("no CSRF token in the page")
    return found.group(1)


# --- The gunicorn server ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn serving run:app on 127.0.0.1, logging into a temporary folder."""

    def __init__(self, database_url: str, workers: int, threads: int, folder: Path):
        self.port = _free_port()
        self.settings = f"gunicorn -k gthread -w {workers} --threads {threads}"
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url,
            SECRET_KEY=secrets.token_hex(32),
            INSTANCE_PATH=str(folder),
        )
        self.log_path = folder / "gunicorn.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop())
        bind = ["-b", f"127.0.0.1:{self.port}", "--timeout", "120"]
        command = [sys.executable, "-m", *self.settings.split(), *bind, "run:app"]
        self.process = subprocess.Popen(
            command, cwd=PROJECT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        self._wait_ready(workers)

    def _wait_ready(self, workers: int) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn stopped:\n{self.log_path.read_text()[-3000:]}")
            try:
                if Client(self.port).get("/login/")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        else:
            raise SystemExit(
                f"gunicorn did not respond within 120 s:\n{self.log_path.read_text()[-3000:]}"
            )
        # Every worker imports the app on its own; warm them all before timing.
        clients = [Client(self.port) for _worker in range(workers * 4)]
        _run_threads([lambda c=c: c.get("/login/") for c in clients])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def _run_threads(functions) -> list:
    results = [None] * len(functions)
    errors = []

    def run(index, function):
        try:
            results[index] = function()
        except Exception as error:  # noqa: BLE001 (reported after the join)
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def _signed_in_clients(server: Server, login: str, password: str, count: int) -> list[Client]:
    clients = [Client(server.port) for _client in range(count)]
    # A few at a time: each sign-in checks a scrypt hash on the server.
    for start in range(0, count, 8):
        _run_threads([lambda c=c: c.login(login, password) for c in clients[start : start + 8]])
    return clients


# --- 2. Saving marks with many clients --------------------------------------------


@dataclass
class Save:
    client: int
    cell: int
    seen: str
    value: str
    status: int
    answer: dict
    started: float
    seconds: float


class SaveRun:
    """Clients saving cells through the cell API; every response is kept for the checks."""

    def __init__(self, cells: list[Cell], csrf: dict[int, str], read_value):
        self.cells = cells
        self.csrf = csrf
        self.read_value = read_value
        self.saves: list[Save] = []
        self.unsent = 0
        self.lock = threading.Lock()
        #: The value of each cell in the latest response: a page loaded now would show it.
        self.latest = {i: cell.initial for i, cell in enumerate(cells)}

    def save(self, index, client, seen: dict, cell_index: int, value=None, rng=random) -> Save:
        cell = self.cells[cell_index]
        shown = seen[cell_index]
        value = value or rng.choice([v for v in MARK_VALUES if v != shown])
        payload = {
            "student": cell.student_id,
            "assignment": cell.assignment_id,
            "term": cell.term_id,
            "value": value,
            "seen": shown,
        }
        started = time.perf_counter()
        status, data = client.post_json(
            f"/journal/lesson/{cell.lesson_id}/cell", payload, self.csrf[id(client)]
        )
        seconds = time.perf_counter() - started
        try:
            answer = json.loads(data)
        except ValueError:
            answer = {"message": data[:200].decode(errors="replace")}
        record = Save(index, cell_index, shown, value, status, answer, started, seconds)
        with self.lock:
            if status in (200, 409) and isinstance(answer.get("value"), str):
                seen[cell_index] = answer["value"]  # what the grid shows after the response
                self.latest[cell_index] = answer["value"]
            self.saves.append(record)
        return record

    def paced(self, clients: list[Client], seconds: float, shared: list[int], share: float):
        """Let each client save once a second for ``seconds``: its own cells, some shared ones.

        The clients start at random phases of the second. A client whose save takes longer
        than a second sends the next one at once. When the server falls behind, the saves
        still due ``LATE_CUTOFF`` seconds after the run's end are not sent but counted in
        ``self.unsent``, which keeps an overloaded run short.
        """
        shared_set = set(shared)
        own = [i for i in range(len(self.cells)) if i not in shared_set]
        start = time.perf_counter() + 0.5
        first = len(self.saves)
        cutoff = start + seconds + LATE_CUTOFF

        def run(index: int, client: Client):
            rng = random.Random(index)
            mine = own[index :: len(clients)] or own
            seen = dict(self.latest)  # the grid as the client's page shows it
            phase = rng.random()
            step = 0
            while True:
                due = start + phase + step
                if due > start + seconds:
                    break
                if time.perf_counter() > cutoff:
                    with self.lock:
                        self.unsent += int(start + seconds - due) + 1
                    break
                time.sleep(max(0.0, due - time.perf_counter()))
                if shared and rng.random() < share:
                    cell_index = rng.choice(shared)
                else:
                    cell_index = mine[step % len(mine)]
                self.save(index, client, seen, cell_index, rng=rng)
                step += 1

        _run_threads([lambda i=i, c=c: run(i, c) for i, c in enumerate(clients)])
        return self.saves[first:]

    def simultaneous_pairs(self, clients: list[Client], shared: list[int], pairs: int):
        """Two clients save one cell at the same moment, both from the same shown value."""
        outcomes = []
        for pair in range(pairs):
            cell_index = shared[pair % len(shared)]
            current = self.read_value(self.cells[cell_index])
            # Two different values, both unlike the stored one: each save is a change.
            values = [v for v in MARK_VALUES if v != current][:2]
            first, second = clients[2 * pair % len(clients)], clients[(2 * pair + 1) % len(clients)]
            results = self._race(cell_index, current, [(first, values[0]), (second, values[1])])
            outcomes.append(sorted(r.status for r in results))
        return outcomes

    def _race(self, cell_index: int, current: str, attempts) -> list[Save]:
        barrier = threading.Barrier(len(attempts))

        def run(index, client, value):
            barrier.wait()
            return self.save(index, client, {cell_index: current}, cell_index, value)

        return _run_threads(
            [lambda i=i, c=c, v=v: run(-1 - i, c, v) for i, (c, v) in enumerate(attempts)]
        )


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _latency(saves: list[Save]) -> dict:
    seconds = [s.seconds for s in saves]
    span = max(s.started + s.seconds for s in saves) - min(s.started for s in saves)
    return {
        "count": len(saves),
        "rate": len(saves) / span,
        "p50": statistics.median(seconds),
        "p95": _percentile(seconds, 0.95),
        "max": max(seconds),
        "statuses": dict(Counter(s.status for s in saves)),
    }


def _audit_text(value: str | None) -> str | None:
    """Convert an input value to the audit log's text («.» is the duty mark «•»)."""
    if value in (None, ""):
        return None
    return "•" if value == "." else value


def _stored_value(app, target: Target, cell: Cell) -> str:
    from sqlalchemy import select

    from app.models import Mark, db
    from app.services.journal import mark_input_value

    with app.app_context():
        mark = db.session.scalar(
            select(Mark).where(
                Mark.school_id == target.school_id,
                Mark.assignment_id == cell.assignment_id,
                Mark.student_id == cell.student_id,
            )
        )
        value = mark_input_value(mark)
        db.session.remove()
    return value


def verify_saves(app, target: Target, run: SaveRun, audit_start: int) -> dict:
    """Check the audit rows and the stored marks against every response the clients got."""
    from sqlalchemy import select

    from app.models import JournalAudit, Mark, db
    from app.services.journal import mark_input_value

    changed = [s for s in run.saves if s.status == 200 and s.answer.get("changed")]
    unchanged = [s for s in run.saves if s.status == 200 and not s.answer.get("changed")]
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(JournalAudit)
                .where(
                    JournalAudit.school_id == target.school_id,
                    JournalAudit.id > audit_start,
                    JournalAudit.entity == "mark",
                    JournalAudit.user_id == target.teacher_user_id,
                )
                .order_by(JournalAudit.id)
            )
        )
        by_key = {(c.assignment_id, c.student_id): i for i, c in enumerate(run.cells)}
        final = {}
        for cell_index, cell in enumerate(run.cells):
            mark = db.session.scalar(
                select(Mark).where(
                    Mark.school_id == target.school_id,
                    Mark.assignment_id == cell.assignment_id,
                    Mark.student_id == cell.student_id,
                )
            )
            final[cell_index] = mark_input_value(mark)
        db.session.remove()

    problems = []
    chains = defaultdict(list)
    for row in rows:
        cell_index = by_key.get((row.assignment_id, row.student_id))
        if cell_index is None:
            problems.append(f"audit row {row.id} names a cell the bench did not save")
            continue
        chains[cell_index].append(row)
    # Audit ids follow the lesson row lock, so in each cell they are in commit order: each
    # change must start from the value the previous one stored.
    broken = 0
    for cell_index, chain in chains.items():
        value = _audit_text(run.cells[cell_index].initial)
        for row in chain:
            if row.old_value != value:
                broken += 1
            value = row.new_value
        if value != _audit_text(final[cell_index]):
            problems.append(f"cell {cell_index}: the last audit row differs from the stored mark")
    if broken:
        problems.append(f"{broken} audit rows do not start from the previous stored value")
    saved_pairs = Counter(
        (s.cell, _audit_text(s.seen), _audit_text(s.answer.get("value"))) for s in changed
    )
    audit_pairs = Counter(
        (by_key.get((r.assignment_id, r.student_id)), r.old_value, r.new_value) for r in rows
    )
    if saved_pairs != audit_pairs:
        problems.append("the audit rows differ from the successful saves (cell, old, new)")
    for cell_index in range(len(run.cells)):
        if cell_index not in chains and final[cell_index] != run.cells[cell_index].initial:
            problems.append(f"cell {cell_index} changed without an audit row")
    conflicts = [s for s in run.saves if s.status == 409]
    for save in conflicts:
        if save.answer.get("value") == save.seen:
            problems.append("a conflict answered the value the client had seen")
    errors = [s for s in run.saves if s.status not in (200, 409)]
    return {
        "saves": len(run.saves),
        "changed": len(changed),
        "unchanged": len(unchanged),
        "conflicts": len(conflicts),
        "errors": len(errors),
        "error_sample": [(s.status, s.answer) for s in errors[:3]],
        "audit_rows": len(rows),
        "cells_changed": len(chains),
        "problems": problems,
    }


def bench_save(app, server: Server, target: Target, args) -> dict:
    from sqlalchemy import func, select

    from app.models import JournalAudit, db

    if len(target.cells) < args.clients * 2:
        raise SystemExit(f"only {len(target.cells)} open mark cells; the save part needs more")
    with app.app_context():
        audit_start = db.session.scalar(select(func.coalesce(func.max(JournalAudit.id), 0)))
        db.session.remove()
    clients = _signed_in_clients(server, target.teacher_login, target.password, args.clients)
    # Each client opens the course grid once, as a teacher does, for its form token.
    csrf = {}
    page = f"/journal/course/{target.course_id}"
    for start in range(0, len(clients), 8):
        batch = clients[start : start + 8]
        pages = _run_threads([lambda c=c: c.get(page) for c in batch])
        for client, (status, body) in zip(batch, pages, strict=True):
            assert status == 200, f"{page}: {status}"
            csrf[id(client)] = _csrf_token(body.decode())
    run = SaveRun(target.cells, csrf, lambda cell: _stored_value(app, target, cell))
    # A few cells every client may pick: saves there race, and the slower one must be
    # refused with a conflict instead of overwriting.
    shared = list(range(args.shared_cells))
    # The single client runs half before and half after the many, so a change in the
    # machine's load weighs on both.
    single = run.paced(clients[:1], args.save_seconds / 2, [], 0.0)
    many = run.paced(clients, args.save_seconds, shared, args.shared_share)
    single += run.paced(clients[:1], args.save_seconds / 2, [], 0.0)
    pairs = run.simultaneous_pairs(clients, shared, 5)
    checks = verify_saves(app, target, run, audit_start)
    one, fifty = _latency(single), _latency(many)
    return {
        "single": one,
        "many": fifty,
        "ratio": fifty["p95"] / one["p50"],
        "ratio_p95": fifty["p95"] / one["p95"],
        "pairs": pairs,
        "clients": len(clients),
        "unsent": run.unsent,
        "checks": checks,
        "cells": len(target.cells),
        "lessons": len({c.lesson_id for c in target.cells}),
    }


# --- 3. Diary throughput --------------------------------------------------------


def _throughput(clients: list[Client], path: str, seconds: float) -> dict:
    """Count the responses of ``clients`` each sending requests back to back."""
    counts = [0] * len(clients)
    failures = [0] * len(clients)
    stop_at = time.perf_counter() + seconds

    def run(index, client):
        while time.perf_counter() < stop_at:
            status, _body = client.get(path)
            if status == 200:
                counts[index] += 1
            else:
                failures[index] += 1

    started = time.perf_counter()
    _run_threads([lambda i=i, c=c: run(i, c) for i, c in enumerate(clients)])
    return {
        "requests": sum(counts),
        "failures": sum(failures),
        "seconds": time.perf_counter() - started,
    }


def bench_diary(server: Server, target: Target, args) -> dict:
    clients = _signed_in_clients(server, target.parent_login, target.password, args.diary_clients)
    paths = {
        "light": args.light_page,
        "diary": f"/diary/?student={target.child_id}&week={target.diary_week.isoformat()}",
    }
    for path in paths.values():
        for status, _body in _run_threads([lambda c=c, p=path: c.get(p) for c in clients]):
            assert status == 200, f"{path}: {status}"
    totals = {key: Counter() for key in paths}
    # The two pages take turns in rounds, so a change in the machine's load hits both.
    rounds = 4
    for _round in range(rounds):
        for key, path in paths.items():
            totals[key].update(_throughput(clients, path, args.diary_seconds / rounds))
    for total in totals.values():
        total["rps"] = total["requests"] / total["seconds"]
    return {
        "light_path": paths["light"],
        "diary_path": paths["diary"],
        "light": totals["light"],
        "diary": totals["diary"],
        "ratio": totals["diary"]["rps"] / totals["light"]["rps"],
    }


# --- Output ----------------------------------------------------------------------


def _machine(app) -> str:
    """Describe the machine, the versions and the load, printed with the figures."""
    from sqlalchemy import text

    from app.models import db

    with app.app_context():
        server = db.session.scalar(text("SHOW server_version"))
        db.session.remove()
    memory = Path("/proc/meminfo").read_text().split()[1]
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs, {int(memory) / 2**20:.0f} GiB, Python "
        f"{sys.version.split()[0]}, PostgreSQL {server}; load average {load}"
    )


def _unanalysed_tables(app) -> list[str]:
    """List the large tables without planner statistics: their plans would be guesses."""
    from sqlalchemy import text

    from app.models import db

    with app.app_context():
        names = db.session.scalars(
            text(
                "SELECT relname FROM pg_stat_user_tables WHERE n_live_tup > 10000 "
                "AND last_analyze IS NULL AND last_autoanalyze IS NULL ORDER BY relname"
            )
        )
        names = list(names)
        db.session.remove()
    return names


def _analyze(app) -> None:
    """Gather the planner's statistics; only with autovacuum off are they missing."""
    from sqlalchemy import text

    from app.models import db

    with app.app_context():
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))


def _print_target(target: Target) -> None:
    print(f"school: {target.school_name} (id {target.school_id}), {target.students} students")
    print(
        f"course: {target.course_name} (id {target.course_id}), {target.course_students} "
        f"students; term {target.term_name} (id {target.term_id}): {target.term_lessons} "
        f"lessons, {target.term_marks} marks"
    )
    print(f"teacher login: {target.teacher_login}; parent login: {target.parent_login}")
    lessons = len({c.lesson_id for c in target.cells})
    print(f"open mark cells for saving: {len(target.cells)} in {lessons} lessons")


def _print_page(result: dict, show_sql: bool) -> None:
    print(f"\n1. Journal page {result['path']} ({result['bytes']} bytes), Flask test client")
    print(f"   page, median:                        {result['page'] * 1000:8.1f} ms")
    print(
        f"   its {result['statements']} SQL statements, replayed:      "
        f"{result['queries'] * 1000:8.1f} ms   ratio {result['ratio']:.2f}"
    )
    print(
        f"   the {result['grid_statements']} of course_grid only, replayed: "
        f"{result['grid_queries'] * 1000:8.1f} ms   ratio {result['grid_ratio']:.2f}"
    )
    for count, text in result["repeated"]:
        print(f"   sent {count} times in one render: {text}")
    if show_sql:
        for statement, parameters, _many, grid in result["statement_texts"]:
            flag = "grid " if grid else "     "
            print(f"   {flag}{' '.join(statement.split())[:160]}  {str(parameters)[:80]}")


def _print_save(result: dict, settings: str, args) -> None:
    one, many, checks = result["single"], result["many"], result["checks"]
    print(
        f"\n2. Saving marks, {settings}, {args.save_seconds:.0f} s per run, "
        f"{result['cells']} cells in {result['lessons']} lessons, "
        f"{args.shared_cells} cells shared by all clients ({args.shared_share:.0%} of saves)"
    )
    for label, data in ((" 1 client", one), (f"{args.clients} clients", many)):
        print(
            f"   {label}: {data['count']:5} saves, p50 {data['p50'] * 1000:7.1f} ms, "
            f"p95 {data['p95'] * 1000:7.1f} ms, max {data['max'] * 1000:7.1f} ms, "
            f"answers {data['statuses']}"
        )
    print(
        f"   {args.clients} clients send {args.clients} saves/s; completed {many['rate']:.1f}/s; "
        f"not sent, {LATE_CUTOFF} s after the end still due: {result['unsent']}"
    )
    print(
        f"   p95({args.clients}) / p50(1) = {result['ratio']:.2f};"
        f"  p95({args.clients}) / p95(1) = {result['ratio_p95']:.2f}"
    )
    print(f"   simultaneous saves of one cell from the same value, answers: {result['pairs']}")
    print(
        f"   checks: {checks['changed']} changes, {checks['audit_rows']} audit rows, "
        f"{checks['conflicts']} conflicts, {checks['unchanged']} saves without change, "
        f"{checks['errors']} errors, {checks['cells_changed']} cells changed"
    )
    for sample in checks["error_sample"]:
        print(f"   error: {sample}")
    for problem in checks["problems"]:
        print(f"   PROBLEM: {problem}")


def _print_diary(result: dict, settings: str, args) -> None:
    clients, seconds = args.diary_clients, args.diary_seconds
    print(f"\n3. Diary throughput, {settings}, {clients} clients, {seconds:.0f} s per page")
    for label, key in (("trivial page", "light"), ("diary week", "diary")):
        data = result[key]
        path = result[f"{key}_path"]
        print(
            f"   {label:12} {path:45} {data['rps']:7.1f} requests/s "
            f"({data['requests']} answered, {data['failures']} failed)"
        )


def _print_summary(results: dict) -> bool:
    print("\nSummary")
    rows = []
    if "page" in results:
        ratio = results["page"]["ratio"]
        passed = ratio <= PAGE_BUDGET
        rows.append(("journal page / its queries", ratio, f"<= {PAGE_BUDGET:g}", passed))
    if "save" in results:
        save = results["save"]
        ratio = save["ratio"]
        passed = ratio < SAVE_BUDGET and not save["checks"]["problems"]
        passed = passed and all(pair == [200, 409] for pair in save["pairs"])
        passed = passed and save["checks"]["errors"] == 0 and save["unsent"] == 0
        rows.append(
            (
                f"save p95({save['clients']} clients) / p50(1 client)",
                ratio,
                f"< {SAVE_BUDGET:g}",
                passed,
            )
        )
    if "diary" in results:
        ratio = results["diary"]["ratio"]
        passed = ratio >= DIARY_BUDGET
        rows.append(("diary req/s / trivial page req/s", ratio, f">= {DIARY_BUDGET:g}", passed))
    for label, ratio, budget, passed in rows:
        print(f"   {label:40} {ratio:6.2f}  budget {budget:6}  {'pass' if passed else 'FAIL'}")
    if "save" in results:
        checks = results["save"]["checks"]
        audited = "yes" if not checks["problems"] else "NO"
        print(f"   no lost update, every change audited: {audited}")
    return all(row[3] for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="PostgreSQL database with the demo data (default: $DATABASE_URL)",
    )
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="run ANALYZE first when large tables have no statistics (autovacuum off)",
    )
    parser.add_argument("--page", action="store_true", help="run part 1, the journal page")
    parser.add_argument("--save", action="store_true", help="run part 2, concurrent saving")
    parser.add_argument("--diary", action="store_true", help="run part 3, diary throughput")
    parser.add_argument("--repeat", type=int, default=30, help="renders and replays, part 1")
    parser.add_argument("--show-sql", action="store_true", help="list the page's statements")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--clients", type=int, default=50, help="saving clients, part 2")
    parser.add_argument("--save-seconds", type=float, default=30, help="length of each save run")
    parser.add_argument("--shared-cells", type=int, default=4, help="cells all clients save")
    parser.add_argument(
        "--shared-share", type=float, default=0.1, help="share of saves to the shared cells"
    )
    parser.add_argument("--diary-clients", type=int, default=8, help="clients, part 3")
    parser.add_argument("--diary-seconds", type=float, default=20, help="seconds per page")
    parser.add_argument(
        "--light-page",
        default="/notifications/settings",
        help="the trivial authenticated page the diary is compared with",
    )
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("--database-url must name a PostgreSQL database")
    if not (args.page or args.save or args.diary):
        args.page = args.save = args.diary = True

    started = time.perf_counter()
    app = _make_app(args.database_url)
    print(_machine(app))
    unanalysed = _unanalysed_tables(app)
    if unanalysed and args.analyze:
        _analyze(app)
        print(f"ANALYZE run first; no statistics were kept for: {', '.join(unanalysed)}")
    elif unanalysed:
        print(f"WARNING: no statistics, plans are guesses (see --analyze): {', '.join(unanalysed)}")
    target = choose_target(app, wanted_cells=max(400, args.clients * 8))
    _print_target(target)
    results = {}
    if args.page:
        results["page"] = bench_page(app, target, args.repeat)
        _print_page(results["page"], args.show_sql)
    if args.save or args.diary:
        with tempfile.TemporaryDirectory() as folder:
            server = Server(args.database_url, args.workers, args.threads, Path(folder))
            try:
                if args.save:
                    results["save"] = bench_save(app, server, target, args)
                    _print_save(results["save"], server.settings, args)
                if args.diary:
                    results["diary"] = bench_diary(server, target, args)
                    _print_diary(results["diary"], server.settings, args)
            except AssertionError:
                # The server's log names the error behind an unexpected response.
                print(server.log_path.read_text()[-4000:], file=sys.stderr)
                raise
            finally:
                server.stop()
    passed = _print_summary(results)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s; load average at the end {load}")
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
