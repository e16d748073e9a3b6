"""Files of assignments: the teacher attaches them, students and parents download them."""

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from app.models import Attachment, db
from app.services.assignment_files import MAX_FILES
from tests.factories import build_extra_school


@pytest.fixture(scope="module")
def school(app):
    with app.app_context():
        return build_extra_school("assignment-files")


def _upload(client, assignment_id, *files):
    data = {"files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(
        f"/journal/assignment/{assignment_id}/files",
        data=data,
        content_type="multipart/form-data",
    )


def _files(app, assignment_id):
    with app.app_context():
        return db.session.scalars(
            select(Attachment).where(Attachment.assignment_id == assignment_id)
        ).all()


def _clear(app, assignment_id):
    with app.app_context():
        for attachment in db.session.scalars(
            select(Attachment).where(Attachment.assignment_id == assignment_id)
        ):
            db.session.delete(attachment)
        db.session.commit()


@pytest.fixture()
def assignment_id(app, school):
    assignment_id = school.ids["Assignment"]
    _clear(app, assignment_id)
    yield assignment_id
    _clear(app, assignment_id)


def test_teacher_attaches_and_family_downloads(app, school, assignment_id, login):
    teacher = login(school.users["teacher"])

    response = _upload(
        teacher, assignment_id, ("задание.pdf", b"%PDF task"), ("схема.png", b"png bytes")
    )

    assert response.status_code == 302
    files = sorted(_files(app, assignment_id), key=lambda f: f.filename)
    assert [f.filename for f in files] == ["задание.pdf", "схема.png"]
    for username in (school.users["student"], school.users["parent"], school.users["teacher"]):
        download = login(username).get(f"/assignment-files/{files[0].id}")
        assert download.status_code == 200, username
        assert download.data == b"%PDF task"
    page = teacher.get(f"/journal/assignment/{assignment_id}/files").get_data(as_text=True)
    assert "задание.pdf" in page


def test_wrong_extension_stores_nothing(app, school, assignment_id, login):
    teacher = login(school.users["teacher"])

    response = _upload(teacher, assignment_id, ("ok.pdf", b"pdf"), ("run.exe", b"MZ"))

    assert response.status_code == 400
    assert "run.exe" in response.get_data(as_text=True)
    assert _files(app, assignment_id) == []


def test_too_many_files_rejected(app, school, assignment_id, login):
    teacher = login(school.users["teacher"])
    files = [(f"лист {n}.pdf", b"pdf") for n in range(MAX_FILES + 1)]

    response = _upload(teacher, assignment_id, *files)

    assert response.status_code == 400
    assert "Файлов у задания стало бы 11" in response.get_data(as_text=True)
    assert _files(app, assignment_id) == []


def test_remove_deletes_row_and_file(app, school, assignment_id, login):
    teacher = login(school.users["teacher"])
    _upload(teacher, assignment_id, ("задание.pdf", b"pdf"))
    (stored,) = _files(app, assignment_id)
    path = Path(app.config["ATTACHMENTS_DIR"]) / str(school.school_id) / stored.stored_name
    assert path.exists()

    response = teacher.post(f"/journal/assignment/{assignment_id}/files/{stored.id}/delete")

    assert response.status_code == 302
    assert _files(app, assignment_id) == []
    assert not path.exists()


def test_parent_may_not_attach(app, school, assignment_id, login):
    parent = login(school.users["parent"])

    response = _upload(parent, assignment_id, ("x.pdf", b"pdf"))

    assert response.status_code in (302, 403)
    assert _files(app, assignment_id) == []


def test_other_school_answers_404(app, school, world, assignment_id, login):
    _upload(login(school.users["teacher"]), assignment_id, ("задание.pdf", b"pdf"))
    (stored,) = _files(app, assignment_id)
    other_parent = login(world["B"].users["parent"])
    other_teacher = login(world["B"].users["teacher"])

    assert other_parent.get(f"/assignment-files/{stored.id}").status_code == 404
    assert other_teacher.get(f"/assignment-files/{stored.id}").status_code == 404
    assert other_teacher.get(f"/journal/assignment/{assignment_id}/files").status_code == 404


def test_diary_links_homework_files(app, school, login):
    with app.app_context():
        from app.models import Assignment

        homework_id = db.session.scalar(
            select(Assignment.id).where(
                Assignment.school_id == school.school_id, Assignment.text == "№ 15, 16"
            )
        )
    _clear(app, homework_id)
    _upload(login(school.users["teacher"]), homework_id, ("карточка.pdf", b"card"))
    (stored,) = _files(app, homework_id)
    parent = login(school.users["parent"])

    page = parent.get(f"/diary/?student={school.ids['Student']}&week=2026-10-05").get_data(
        as_text=True
    )

    link = f'href="/assignment-files/{stored.id}"'
    assert page.count(link) == 2  # given on Monday, due on Wednesday
    assert "карточка.pdf" in page
    _clear(app, homework_id)
