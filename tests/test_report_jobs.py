"""Background report jobs: queue, claim, run, requeue, pages and the worker command."""

import datetime as dt
import io
import logging
import threading

import openpyxl
import pytest
from sqlalchemy import delete, select, text, update
from werkzeug.exceptions import NotFound

from app.models import ReportJob, SchoolClass, db
from app.security.scope import Scope
from app.services import report_jobs
from app.services.mail import Worker
from app.services.notifications import database_now
from app.services.report_kinds import REPORT_KINDS, ReportKind
from tests.factories import add_membership, make_user

YEAR = "2026/2027"

#: The Russian catalog's texts the user reads on failure.
TERM_INVALID_RU = "Период 9 недопустим: выберите номер периода от 1 до 4."
INTERNAL_ERROR_RU = "Отчёт не удалось сформировать из-за внутренней ошибки."
CLASS_MISSING_RU = "Класс, для которого заказан отчёт, больше не существует."
WORKER_LOST_RU = "Формирование отчёта прерывалось слишком часто (попыток: 3)"


@pytest.fixture(autouse=True)
def no_jobs(app):
    """Start and end every test with an empty job table, so rounds run only its own jobs."""
    with app.app_context():
        db.session.execute(delete(ReportJob))
        db.session.commit()
    yield
    with app.app_context():
        db.session.execute(delete(ReportJob))
        db.session.commit()


def _authority_user_id(world) -> int:
    from flask_appbuilder.security.sqla.models import User

    return db.session.scalar(select(User.id).where(User.username == world.users["authority"]))


def _queue(app, world, **parameters) -> int:
    """Queue a summary job of the world's first authority directly through the service."""
    with app.app_context():
        job = report_jobs.enqueue(
            _authority_user_id(world),
            "authority_summary",
            {"year": YEAR, "term": 1, **parameters},
            locale="ru",
            authority_id=world.authority_ids["first"],
        )
        db.session.commit()
        return job.id


def _job(app, job_id) -> dict:
    """The job's row as stored, read fresh."""
    with app.app_context():
        table = ReportJob.__table__
        row = db.session.execute(select(table).where(table.c.id == job_id)).mappings().one()
        return dict(row)


def _run_round(app) -> report_jobs.JobRound:
    with app.app_context():
        return report_jobs.run_due_jobs()


def _sheet_values(content: bytes) -> list[tuple]:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return [tuple(cell.value for cell in row) for row in sheet.iter_rows()]


# --- Queue, run, download -------------------------------------------------------------


def test_button_queues_job_and_worker_builds_same_file(world, login, app):
    client = login(world.users["authority"])

    response = client.post("/authority/summary/job", data={"year": YEAR, "term": "1"})

    assert response.status_code == 302
    assert "/report-jobs/" in response.location
    with app.app_context():
        job = db.session.scalars(select(ReportJob)).one()
        job_id = job.id
        assert job.status == "queued"
        assert job.authority_id == world.authority_ids["first"]
        assert job.school_id is None
        assert job.parameters == {"year": YEAR, "term": 1}

    round_result = _run_round(app)

    assert round_result.done == 1
    stored = _job(app, job_id)
    assert stored["status"] == "done"
    assert stored["steps_done"] == stored["steps_total"] == 2
    assert stored["finished_at"] is not None

    downloaded = client.get(f"/report-jobs/{job_id}/download")
    assert downloaded.status_code == 200
    assert downloaded.mimetype.endswith("spreadsheetml.sheet")
    assert "2026-2027" in downloaded.headers["Content-Disposition"]
    direct = client.get(f"/authority/summary.xlsx?year={YEAR}&term=1")
    background_rows = _sheet_values(downloaded.data)
    assert background_rows == _sheet_values(direct.data)

    schools = {row[0] for row in background_rows[3:]}
    assert schools == {"Школа № A", "Школа № B", "Все школы"}
    header = background_rows[2]
    assert header[2] == "Учащихся с отметками за период"


def test_job_file_has_school_totals_chart(world, app):
    job_id = _queue(app, world)
    _run_round(app)

    workbook = openpyxl.load_workbook(io.BytesIO(_job(app, job_id)["result"]))

    sheet = workbook["По школам"]
    (chart,) = sheet._charts
    schools = [row[0] for row in sheet.iter_rows(min_row=4, values_only=True)]
    assert schools == ["Школа № A", "Школа № B"]
    assert [series.val.numRef.f for series in chart.series] == [
        "'По школам'!$F$4:$F$5",
        "'По школам'!$G$4:$G$5",
    ]


def test_job_numbers_are_numbers(world, app):
    job_id = _queue(app, world)
    _run_round(app)

    rows = _sheet_values(_job(app, job_id)["result"])

    school_a = next(row for row in rows[3:] if row[0] == "Школа № A")
    assert isinstance(school_a[1], int)
    assert isinstance(school_a[2], int)
    assert school_a[2] > 0
    assert 0 <= school_a[7] <= 1


def test_list_page_shows_progress_then_download(world, login, app):
    job_id = _queue(app, world)
    client = login(world.users["authority"])

    waiting = client.get("/report-jobs/").get_data(as_text=True)
    assert f'data-id="{job_id}" data-status="queued"' in waiting
    assert 'http-equiv="refresh"' in waiting
    assert "Ожидает фонового обработчика" in waiting

    _run_round(app)
    finished = client.get("/report-jobs/").get_data(as_text=True)
    assert f'data-id="{job_id}" data-status="done"' in finished
    assert f"/report-jobs/{job_id}/download" in finished
    assert 'http-equiv="refresh"' not in finished
    assert "Сводка по школам" in finished


def test_invalid_term_is_rejected_before_queueing(world, login, app):
    client = login(world.users["authority"])

    response = client.post("/authority/summary/job", data={"year": YEAR, "term": "9"})

    assert response.status_code == 302
    assert "/authority/summary" in response.location
    with app.app_context():
        assert db.session.scalars(select(ReportJob)).all() == []
    page = client.get(response.location).get_data(as_text=True)
    assert "Период 9 недопустим" in page


def test_posted_foreign_authority_is_ignored(world, login, app):
    client = login(world.users["authority"])
    second = world.authority_ids["second"]

    client.post("/authority/summary/job", data={"authority": second, "year": YEAR, "term": "1"})

    with app.app_context():
        job = db.session.scalars(select(ReportJob)).one()
        assert job.authority_id == world.authority_ids["first"]


def test_server_admin_queues_chosen_authority(world, login, app):
    client = login(world.users["server_admin"])
    second = world.authority_ids["second"]

    client.post("/authority/summary/job", data={"authority": second, "year": YEAR, "term": "1"})
    _run_round(app)

    with app.app_context():
        job = db.session.scalars(select(ReportJob)).one()
        assert job.authority_id == second
        job_id = job.id
    rows = _sheet_values(client.get(f"/report-jobs/{job_id}/download").data)
    assert {row[0] for row in rows[3:]} == {"Школа № C", "Все школы"}


def test_summary_page_offers_background_button(world, login):
    client = login(world.users["authority"])
    page = client.get(f"/authority/summary?year={YEAR}&term=1").get_data(as_text=True)
    assert 'data-testid="summary-job"' in page
    assert "Сформировать в фоне" in page


# --- Failures ---------------------------------------------------------------------------


def test_invalid_parameters_fail_with_russian_message(world, app):
    job_id = _queue(app, world, term=9)

    round_result = _run_round(app)

    assert round_result.failed == 1
    stored = _job(app, job_id)
    assert stored["status"] == "failed"
    assert stored["error"] == TERM_INVALID_RU
    assert stored["result"] is None


@pytest.fixture()
def broken_kind(monkeypatch):
    def build(parameters, progress):
        progress(0, 3, "Шаг")
        raise RuntimeError("secret internal detail")

    kind = ReportKind(label="broken", build=build, describe=lambda parameters: "")
    monkeypatch.setitem(REPORT_KINDS, "broken_test_kind", kind)
    return "broken_test_kind"


def test_internal_error_shows_no_trace_and_logs_it(world, app, broken_kind, caplog):
    with app.app_context():
        job = report_jobs.enqueue(
            _authority_user_id(world),
            broken_kind,
            {},
            locale="ru",
            authority_id=world.authority_ids["first"],
        )
        db.session.commit()
        job_id = job.id

    with caplog.at_level(logging.ERROR, logger="app.services.report_jobs"):
        _run_round(app)

    stored = _job(app, job_id)
    assert stored["status"] == "failed"
    assert stored["error"].startswith(INTERNAL_ERROR_RU)
    assert "secret internal detail" not in stored["error"]
    assert "Traceback" not in stored["error"]
    logged = [record for record in caplog.records if record.exc_info]
    assert len(logged) == 1
    assert f"Report job {job_id}" in logged[0].getMessage()


def test_failed_job_shows_error_on_page(world, login, app):
    job_id = _queue(app, world, term=9)
    _run_round(app)
    client = login(world.users["authority"])

    page = client.get("/report-jobs/").get_data(as_text=True)

    assert f'data-id="{job_id}" data-status="failed"' in page
    assert TERM_INVALID_RU in page
    assert client.get(f"/report-jobs/{job_id}/download").status_code == 404


# --- Claims -----------------------------------------------------------------------------


def test_claim_takes_oldest_job_once(world, app):
    first = _queue(app, world)
    second = _queue(app, world)
    with app.app_context():
        claimed = report_jobs.claim_next()
        assert claimed.id == first
        assert claimed.status == "running"
        assert claimed.attempts == 1
        assert report_jobs.claim_next().id == second
        assert report_jobs.claim_next() is None


def test_conditional_claim_has_one_winner(world, app):
    job_id = _queue(app, world)
    with app.app_context():
        now = database_now()
        assert report_jobs.claim(job_id, now) is True
        assert report_jobs.claim(job_id, now) is False


def test_two_workers_claim_one_job(world, app):
    job_id = _queue(app, world)
    barrier = threading.Barrier(2)
    claimed = []
    errors = []

    def worker():
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                job = report_jobs.claim_next()
                claimed.append(job.id if job else None)
                db.session.remove()
        except Exception as error:  # noqa: BLE001 - reported by the assert below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(claimed, key=str) == sorted([job_id, None], key=str)
    assert _job(app, job_id)["attempts"] == 1


def test_claim_skips_row_locked_by_other_worker(world, app):
    job_id = _queue(app, world)
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks with SKIP LOCKED exist on PostgreSQL only")
        with db.engine.connect() as other_worker:
            other_worker.execute(
                text("SELECT id FROM report_job WHERE id = :id FOR UPDATE"), {"id": job_id}
            )
            assert report_jobs.claim_next() is None
            other_worker.rollback()
        assert report_jobs.claim_next().id == job_id


# --- Dead workers -----------------------------------------------------------------------


def _make_stale(app, job_id, attempts=None):
    with app.app_context():
        values = {"heartbeat_at": database_now() - dt.timedelta(hours=2)}
        if attempts is not None:
            values["attempts"] = attempts
        db.session.execute(update(ReportJob).where(ReportJob.id == job_id).values(**values))
        db.session.commit()


def test_stale_running_job_is_requeued_and_finished(world, app):
    job_id = _queue(app, world)
    with app.app_context():
        report_jobs.claim_next()
    _make_stale(app, job_id)

    round_result = _run_round(app)

    assert round_result.requeued == 1
    assert round_result.done == 1
    stored = _job(app, job_id)
    assert stored["status"] == "done"
    assert stored["attempts"] == 2


def test_recent_running_job_is_left_alone(world, app):
    job_id = _queue(app, world)
    with app.app_context():
        report_jobs.claim_next()
        requeued, abandoned = report_jobs.requeue_stale(database_now(), 900, 3)

    assert (requeued, abandoned) == (0, 0)
    assert _job(app, job_id)["status"] == "running"


def test_job_failed_after_max_attempts(world, app):
    job_id = _queue(app, world)
    with app.app_context():
        report_jobs.claim_next()
    _make_stale(app, job_id, attempts=3)

    round_result = _run_round(app)

    assert round_result.abandoned == 1
    stored = _job(app, job_id)
    assert stored["status"] == "failed"
    assert stored["error"].startswith(WORKER_LOST_RU)


def test_presumed_dead_worker_cannot_overwrite_new_claim(world, app):
    job_id = _queue(app, world)
    with app.app_context():
        old_claim = report_jobs._Claim(report_jobs.claim_next())
    _make_stale(app, job_id)
    with app.app_context():
        report_jobs.requeue_stale(database_now(), 900, 3)
        report_jobs.claim_next()

        with pytest.raises(report_jobs.JobLost):
            old_claim.progress(1, 2, "Шаг")

    assert _job(app, job_id)["attempts"] == 2


def test_finished_jobs_expire(world, app):
    job_id = _queue(app, world)
    _run_round(app)
    with app.app_context():
        later = database_now() + dt.timedelta(days=8)
        assert report_jobs.delete_expired(later, 7) == 1
        assert db.session.get(ReportJob, job_id) is None


# --- Which jobs a user may open --------------------------------------------------------


@pytest.fixture(scope="module")
def colleague(app, world):
    """A second user of the same authority."""
    with app.app_context():
        from app.models import EducationAuthority

        user = make_user("authority_jobs_colleague")
        add_membership(
            user,
            "authority",
            authority=db.session.get(EducationAuthority, world.authority_ids["first"]),
        )
        db.session.commit()
        return user.username


def test_other_users_job_is_404(world, login, app, colleague):
    job_id = _queue(app, world)
    _run_round(app)
    client = login(colleague)

    page = client.get("/report-jobs/")

    assert page.status_code == 200
    assert f'data-id="{job_id}"' not in page.get_data(as_text=True)
    assert client.get(f"/report-jobs/{job_id}/download").status_code == 404
    owner = login(world.users["authority"])
    assert owner.get(f"/report-jobs/{job_id}/download").status_code == 200


def test_owner_deletes_job(world, login, app):
    job_id = _queue(app, world)
    client = login(world.users["authority"])

    response = client.post(f"/report-jobs/{job_id}/delete")

    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(ReportJob, job_id) is None


def test_other_user_cannot_delete_job(world, login, app, colleague):
    job_id = _queue(app, world)
    client = login(colleague)

    assert client.post(f"/report-jobs/{job_id}/delete").status_code == 404
    assert _job(app, job_id)["status"] == "queued"


def test_deleted_running_job_stops_its_worker(world, app):
    job_id = _queue(app, world)
    with app.app_context():
        own_claim = report_jobs._Claim(report_jobs.claim_next())
        db.session.execute(delete(ReportJob).where(ReportJob.id == job_id))
        db.session.commit()

        with pytest.raises(report_jobs.JobLost):
            own_claim.progress(1, 2, "Шаг")


def test_missing_job_is_404(world, login):
    client = login(world.users["authority"])
    assert client.get("/report-jobs/999999/download").status_code == 404


def test_unfinished_job_has_no_download(world, login, app):
    job_id = _queue(app, world)
    client = login(world.users["authority"])
    assert client.get(f"/report-jobs/{job_id}/download").status_code == 404


def test_parents_and_students_have_no_report_jobs(world, login):
    for code in ("parent", "student", "secretary"):
        client = login(world["A"].users[code])
        assert client.get("/report-jobs/").status_code == 403, code


def test_school_roles_cannot_queue_authority_summary(world, login):
    for code in ("principal", "teacher"):
        client = login(world["A"].users[code])
        assert client.get("/report-jobs/").status_code == 200, code
        assert client.post("/authority/summary/job", data={"term": "1"}).status_code == 403, code


AUTHORITY_JOB_URLS = [
    f"/authority/{report}/job"
    for report in ("results", "subjects", "ranking", "activity", "vpr", "contingent")
]


@pytest.mark.parametrize("url", AUTHORITY_JOB_URLS)
def test_school_roles_cannot_queue_authority_reports(world, login, app, url):
    client = login(world["A"].users["principal"])

    assert client.post(url, data={"year": YEAR, "term": "1"}).status_code == 403
    with app.app_context():
        assert db.session.scalars(select(ReportJob)).all() == []


@pytest.mark.parametrize("url", AUTHORITY_JOB_URLS)
def test_authority_report_job_keeps_own_authority(world, login, app, url):
    client = login(world.users["authority"])
    second = world.authority_ids["second"]

    response = client.post(url, data={"authority": second, "year": YEAR, "term": "1"})

    assert response.status_code == 302
    with app.app_context():
        job = db.session.scalars(select(ReportJob)).one()
        assert job.authority_id == world.authority_ids["first"]
        assert job.kind == "authority_" + url.split("/")[2]


def test_invalid_contingent_date_is_not_queued(world, login, app):
    client = login(world.users["authority"])

    response = client.post("/authority/contingent/job", data={"year": YEAR, "on": "31.02.2027"})

    assert response.status_code == 302
    assert "/authority/contingent" in response.location
    with app.app_context():
        assert db.session.scalars(select(ReportJob)).all() == []
    page = client.get(response.location).get_data(as_text=True)
    assert "Дата 31.02.2027 недопустима" in page


def test_invalid_job_date_fails_with_russian_message(world, app):
    with app.app_context():
        job = report_jobs.enqueue(
            _authority_user_id(world),
            "authority_contingent",
            {"year": YEAR, "on": "2027-02-31"},
            locale="ru",
            authority_id=world.authority_ids["first"],
        )
        db.session.commit()
        job_id = job.id

    _run_round(app)

    stored = _job(app, job_id)
    assert stored["status"] == "failed"
    assert "Дата 2027-02-31 недопустима" in stored["error"]


def test_job_of_other_school_scope_is_404(world, app):
    job_id = _queue_summary_sheet(app, world, "principal")
    with app.app_context():
        principal_id = _user_id(world["A"].users["principal"])
        in_school_b = Scope(
            user_id=principal_id, membership_id=None, level="school", school_id=world["B"].school_id
        )
        in_school_a = Scope(
            user_id=principal_id, membership_id=None, level="school", school_id=world["A"].school_id
        )
        assert report_jobs.job_or_404(in_school_a, job_id).id == job_id
        with pytest.raises(NotFound):
            report_jobs.job_or_404(in_school_b, job_id)


# --- A school report: the summary sheet of a class --------------------------------------


def _user_id(username: str) -> int:
    from flask_appbuilder.security.sqla.models import User

    return db.session.scalar(select(User.id).where(User.username == username))


def _first_grade_id(world, key: str) -> int:
    return db.session.scalar(
        select(SchoolClass.id).where(
            SchoolClass.school_id == world[key].school_id, SchoolClass.name == "1А"
        )
    )


def _queue_summary_sheet(app, world, role: str, class_id: int | None = None) -> int:
    with app.app_context():
        job = report_jobs.enqueue(
            _user_id(world["A"].users[role]),
            "summary_sheet",
            {"class_id": class_id or world["A"].ids["SchoolClass"]},
            locale="ru",
            school_id=world["A"].school_id,
        )
        db.session.commit()
        return job.id


def test_summary_sheet_job_matches_direct_download(world, login, app):
    class_id = world["A"].ids["SchoolClass"]
    client = login(world["A"].users["principal"])

    response = client.post("/reports/school/summary-sheet/job", data={"class": class_id})

    assert response.status_code == 302
    with app.app_context():
        job = db.session.scalars(select(ReportJob)).one()
        job_id = job.id
        assert job.school_id == world["A"].school_id
        assert job.authority_id is None
    assert _run_round(app).done == 1

    downloaded = client.get(f"/report-jobs/{job_id}/download")
    direct = client.get(f"/reports/school/summary-sheet.xlsx?class={class_id}")
    assert downloaded.status_code == 200
    rows = _sheet_values(downloaded.data)
    assert rows == _sheet_values(direct.data)
    assert rows[0][0] == "Сводная ведомость класса 5А"
    marks = {row[0]: row[1] for row in rows[3:]}
    assert marks["Ученикова Анна"] == 5


def test_summary_sheet_page_offers_background_button(world, login):
    client = login(world["A"].users["principal"])
    page = client.get(f"/reports/school/summary-sheet?class={world['A'].ids['SchoolClass']}")
    assert 'data-testid="summary-sheet-job"' in page.get_data(as_text=True)


def test_summary_sheet_foreign_class_is_404(world, login, app):
    client = login(world["A"].users["principal"])

    response = client.post(
        "/reports/school/summary-sheet/job", data={"class": world["B"].ids["SchoolClass"]}
    )

    assert response.status_code == 404
    with app.app_context():
        assert db.session.scalars(select(ReportJob)).all() == []


def test_class_teacher_queues_only_own_class(world, login, app):
    client = login(world["A"].users["teacher"])
    with app.app_context():
        first_grade = _first_grade_id(world, "A")

    other = client.post("/reports/school/summary-sheet/job", data={"class": first_grade})
    own = client.post(
        "/reports/school/summary-sheet/job", data={"class": world["A"].ids["SchoolClass"]}
    )

    assert other.status_code == 404
    assert own.status_code == 302


def test_teacher_cannot_download_principals_job(world, login, app):
    job_id = _queue_summary_sheet(app, world, "principal")
    _run_round(app)
    client = login(world["A"].users["teacher"])

    assert client.get(f"/report-jobs/{job_id}/download").status_code == 404
    assert f'data-id="{job_id}"' not in client.get("/report-jobs/").get_data(as_text=True)


def test_tampered_class_of_other_school_fails(world, app):
    job_id = _queue_summary_sheet(app, world, "principal", class_id=world["B"].ids["SchoolClass"])

    _run_round(app)

    stored = _job(app, job_id)
    assert stored["status"] == "failed"
    assert stored["error"] == CLASS_MISSING_RU
    assert stored["result"] is None


# --- The worker command -----------------------------------------------------------------


def test_worker_once_builds_queued_job(world, app):
    job_id = _queue(app, world)

    result = app.test_cli_runner().invoke(args=["worker", "--once"])

    assert result.exit_code == 0, result.output
    stored = _job(app, job_id)
    assert stored["status"] == "done"
    assert _sheet_values(stored["result"])[0][0] == "Сводка по школам"


def test_worker_round_runs_jobs_beside_mail(world, app):
    job_id = _queue(app, world)
    with app.app_context():
        Worker(interval=1).run_round()
    assert _job(app, job_id)["status"] == "done"
