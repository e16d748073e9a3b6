"""Messages: who may write to whom, folders, threads, drafts, deletion, attachments, notices.

Requests run outside any app context: inside one, Flask reuses its ``g``, where the session's
scope is cached. Database checks open an app context of their own.
"""

import io
import itertools
import re

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select

from app.models import (
    Attachment,
    Employee,
    Guardian,
    Message,
    MessageRecipient,
    Notification,
    NotificationSetting,
    OutgoingMail,
    School,
    SchoolClass,
    Student,
    db,
)
from app.services import messages as service
from app.services.attachments import stored_path
from tests.factories import (
    add_course_with_lesson,
    add_membership,
    add_teacher,
    build_extra_school,
    make_user,
)

PDF_BYTES = b"%PDF-1.4 test file of a message\n"


# --- Fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def attachments_dir(app, tmp_path_factory):
    """Keep the files these tests upload in a temporary folder."""
    before = app.config["ATTACHMENTS_DIR"]
    app.config["ATTACHMENTS_DIR"] = str(tmp_path_factory.mktemp("attachments"))
    yield app.config["ATTACHMENTS_DIR"]
    app.config["ATTACHMENTS_DIR"] = before


@pytest.fixture()
def small_attachment_limit(app):
    """Lower the attachment size limit to 100 bytes for one test."""
    before = app.config["ATTACHMENT_MAX_BYTES"]
    app.config["ATTACHMENT_MAX_BYTES"] = 100
    yield 100
    app.config["ATTACHMENT_MAX_BYTES"] = before


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def add_class_with_family(world, key: str, class_name: str, teacher: Employee):
    """Add a class led by ``teacher`` with one student and one parent, both with logins."""
    sid = world.school_id
    school = db.session.get(School, sid)
    five_a = db.session.scalars(
        select(SchoolClass).where(SchoolClass.school_id == sid, SchoolClass.name == "5А")
    ).one()
    school_class = SchoolClass(
        school_id=sid,
        year_id=five_a.year_id,
        grade=int(class_name[:-1]),
        letter=class_name[-1],
        name=class_name,
        class_teacher_id=teacher.id,
    )
    db.session.add(school_class)
    db.session.flush()
    student_user = make_user(f"{key}_student", first_name="Иван", last_name="Шестов")
    add_membership(student_user, "student", school=school)
    student = Student(
        school_id=sid,
        user_id=student_user.id,
        class_id=school_class.id,
        last_name="Шестов",
        first_name="Иван",
        sex="m",
    )
    db.session.add(student)
    db.session.flush()
    parent_user = make_user(f"{key}_parent", first_name="Ирина", last_name="Шестова")
    add_membership(parent_user, "parent", school=school)
    db.session.add(
        Guardian(
            school_id=sid,
            student_id=student.id,
            user_id=parent_user.id,
            last_name="Шестова",
            first_name="Ирина",
            kind="mother",
        )
    )
    return student_user, parent_user


def add_parent_of(world, username: str, student_id: int, *, barred=False, active=True):
    school = db.session.get(School, world.school_id)
    user = make_user(username, first_name="Павел", last_name="Другой")
    membership = add_membership(user, "parent", school=school)
    membership.is_active = active
    db.session.add(
        Guardian(
            school_id=world.school_id,
            student_id=student_id,
            user_id=user.id,
            last_name="Другой",
            first_name="Павел",
            kind="father",
            is_barred=barred,
        )
    )
    return user


@pytest.fixture(scope="module")
def school(app, world):
    """A school with the people the address-book rules need.

    5А (class teacher ``teacher_M1``, who also teaches maths there) has a music teacher and
    an English teacher of a group that holds only the student Анна; 6Б has another class
    teacher, a student and a parent; Пётр of 5А has a barred parent and a parent whose
    membership is blocked.
    """
    with app.app_context():
        built = build_extra_school("M1")
        music = add_teacher(built, "m1_music")
        add_course_with_lesson(built, "Музыка", teachers=[music])
        english = add_teacher(built, "m1_english")
        course, _lesson = add_course_with_lesson(built, "Английский язык", teachers=[english])
        course.group_id = built.ids["StudyGroup"]
        other_teacher = add_teacher(built, "m1_other_teacher")
        add_class_with_family(built, "m1_6b", "6Б", other_teacher)
        add_parent_of(built, "m1_barred", built.ids["OtherStudent"], barred=True)
        add_parent_of(built, "m1_blocked", built.ids["OtherStudent"], active=False)
        db.session.commit()
        return built


def compose_options(client) -> set[int]:
    """Return the user ids the compose form offers as recipients."""
    response = client.get("/messages/compose")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    select_html = page[page.index('name="recipients"') : page.index("</select>")]
    return {int(value) for value in re.findall(r'<option value="(\d+)"', select_html)}


def send(client, recipient_ids, subject="Вопрос", body="Здравствуйте!", **extra):
    data = {
        "recipients": [str(i) for i in recipient_ids],
        "subject": subject,
        "body": body,
        "action": extra.pop("action", "send"),
        **extra,
    }
    return client.post("/messages/compose", data=data, content_type="multipart/form-data")


def count_messages(app, school_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(Message.id)).where(Message.school_id == school_id)
        )


def last_message(app, school_id: int, sender_id: int) -> dict:
    """Return the newest message of a sender as plain values, with its recipients."""
    with app.app_context():
        message = db.session.scalars(
            select(Message)
            .where(Message.school_id == school_id, Message.sender_id == sender_id)
            .order_by(Message.id.desc())
        ).first()
        return {
            "id": message.id,
            "subject": message.subject,
            "body": message.body,
            "sent": message.sent_at is not None,
            "thread_id": message.thread_id,
            "reply_to_id": message.reply_to_id,
            "recipients": sorted(r.user_id for r in message.recipients),
            "attachments": [(a.id, a.filename, a.size) for a in message.attachments],
        }


def message_ids_listed(client, url: str) -> list[int]:
    response = client.get(url)
    assert response.status_code == 200
    return [int(i) for i in re.findall(r'data-message-id="(\d+)"', response.get_data(as_text=True))]


def navbar_unread(client) -> int:
    page = client.get("/messages/").get_data(as_text=True)
    found = re.search(r'data-testid="navbar-unread">(\d+)<', page)
    return int(found.group(1)) if found else 0


# --- Who may write to whom --------------------------------------------------------------------


def test_parent_book_has_child_teachers_and_administration(app, school, login):
    offered = compose_options(login(school.users["parent"]))
    users = school.users
    for username in (users["teacher"], "m1_music", "m1_english", users["principal"]):
        assert user_id(app, username) in offered, username
    assert user_id(app, users["school_admin"]) in offered


def test_parent_book_excludes_other_staff_and_parents(app, school, login):
    offered = compose_options(login(school.users["parent"]))
    users = school.users
    for username in (
        "m1_other_teacher",
        "m1_6b_parent",
        "m1_6b_student",
        "m1_barred",
        users["secretary"],
        users["hr"],
        users["student"],
    ):
        assert user_id(app, username) not in offered, username


def test_parent_book_lists_each_teacher_once(app, school, login):
    """The class teacher teaches both children; one entry notes both."""
    page = login(school.users["parent"]).get("/messages/compose").get_data(as_text=True)
    teacher_id = user_id(app, school.users["teacher"])
    assert page.count(f'<option value="{teacher_id}"') == 1
    entry = re.search(rf'<option value="{teacher_id}"[^>]*>([^<]*)<', page).group(1)
    assert "(Анна)" in entry
    assert "(Мария)" in entry


def test_student_book_has_own_teachers_only(app, school, login):
    offered = compose_options(login(school.users["student"]))
    for username in (school.users["teacher"], "m1_music", "m1_english"):
        assert user_id(app, username) in offered, username
    for username in (school.users["principal"], school.users["parent"], "m1_other_teacher"):
        assert user_id(app, username) not in offered, username


def test_teacher_book_has_taught_families_and_staff(app, school, login):
    offered = compose_options(login(school.users["teacher"]))
    users = school.users
    for username in (users["student"], users["parent"], users["principal"], users["secretary"]):
        assert user_id(app, username) in offered, username
    assert user_id(app, "m1_other_teacher") in offered
    for username in ("m1_6b_parent", "m1_6b_student", "m1_barred", "m1_blocked"):
        assert user_id(app, username) not in offered, username


def test_group_teacher_reaches_group_student(app, school, login):
    offered = compose_options(login("m1_english"))
    assert user_id(app, school.users["student"]) in offered
    assert user_id(app, school.users["parent"]) in offered
    assert user_id(app, "m1_6b_parent") not in offered


def test_principal_book_has_every_active_member(app, school, login):
    offered = compose_options(login(school.users["principal"]))
    for username in ("m1_6b_parent", "m1_6b_student", "m1_barred", school.users["hr"]):
        assert user_id(app, username) in offered, username
    assert user_id(app, "m1_blocked") not in offered
    assert user_id(app, school.users["principal"]) not in offered


def test_secretary_book_has_staff_only(app, school, login):
    offered = compose_options(login(school.users["secretary"]))
    assert user_id(app, school.users["principal"]) in offered
    assert user_id(app, "m1_music") in offered
    assert user_id(app, school.users["parent"]) not in offered
    assert user_id(app, school.users["student"]) not in offered


def test_book_names_guardian_with_children(app, school):
    with app.test_request_context():
        parent_id = db.session.scalar(
            select(User.id).where(User.username == school.users["parent"])
        )
        names = service.PeopleNames(school.school_id, [parent_id])
        name = names.name(parent_id)
    assert name.startswith("Ученикова О. (")
    assert "Ученикова Анна, 5А" in name
    assert "Ученикова Мария, 5А" in name


def test_parent_sends_to_child_teachers(app, school, login):
    client = login(school.users["parent"])
    parent_id = user_id(app, school.users["parent"])
    recipients = [
        user_id(app, school.users["teacher"]),
        user_id(app, "m1_music"),
        user_id(app, school.users["principal"]),
    ]
    response = send(client, recipients, subject="Об оценке")
    assert response.status_code == 302
    sent = last_message(app, school.school_id, parent_id)
    assert sent["subject"] == "Об оценке"
    assert sent["sent"] is True
    assert sent["recipients"] == sorted(recipients)


@pytest.mark.parametrize(
    ("sender", "recipient"),
    [
        ("parent", "m1_other_teacher"),
        ("parent", "m1_6b_parent"),
        ("parent", "secretary"),
        ("student", "principal"),
        ("teacher", "m1_6b_parent"),
        ("teacher", "m1_barred"),
    ],
)
def test_recipient_outside_book_rejected(app, school, login, sender, recipient):
    client = login(school.users[sender])
    target = user_id(app, school.users.get(recipient, recipient))
    before = count_messages(app, school.school_id)
    response = send(client, [target])
    assert response.status_code == 400
    assert 'data-testid="message-errors"' in response.get_data(as_text=True)
    assert count_messages(app, school.school_id) == before


def test_student_sends_to_own_teacher(app, school, login):
    client = login(school.users["student"])
    response = send(client, [user_id(app, "m1_english")])
    assert response.status_code == 302


def test_teacher_sends_to_parent_of_own_class(app, school, login):
    client = login(school.users["teacher"])
    teacher_id = user_id(app, school.users["teacher"])
    parent_id = user_id(app, school.users["parent"])
    response = send(client, [parent_id], subject="Собрание")
    assert response.status_code == 302
    assert last_message(app, school.school_id, teacher_id)["recipients"] == [parent_id]


def test_recipient_not_a_number_rejected(app, school, login):
    client = login(school.users["parent"])
    before = count_messages(app, school.school_id)
    response = client.post(
        "/messages/compose",
        data={"recipients": ["abc"], "subject": "Тема", "body": "Текст", "action": "send"},
    )
    assert response.status_code == 400
    assert count_messages(app, school.school_id) == before


def test_reply_to_sender_outside_book(app, world, login):
    with app.app_context():
        built = build_extra_school("M2")
    principal_id = user_id(app, built.users["principal"])
    student_id = user_id(app, built.users["student"])
    student = login(built.users["student"])
    assert principal_id not in compose_options(student)
    assert send(student, [principal_id]).status_code == 400

    principal = login(built.users["principal"])
    assert send(principal, [student_id], subject="Олимпиада").status_code == 302
    original = last_message(app, built.school_id, principal_id)

    assert principal_id in compose_options(student)
    reply_page = student.get(f"/messages/{original['id']}/reply")
    assert reply_page.status_code == 200
    assert 'value="Re: Олимпиада"' in reply_page.get_data(as_text=True)
    response = send(
        student,
        [principal_id],
        subject="Re: Олимпиада",
        body="Спасибо, приду.",
        reply_to=str(original["id"]),
    )
    assert response.status_code == 302
    reply = last_message(app, built.school_id, student_id)
    assert reply["recipients"] == [principal_id]
    assert reply["thread_id"] == original["id"]
    assert reply["reply_to_id"] == original["id"]

    # A reply to the reply stays in the thread of the first message.
    answer_page = principal.get(f"/messages/{reply['id']}/reply")
    assert 'value="Re: Олимпиада"' in answer_page.get_data(as_text=True)
    response = send(principal, [student_id], subject="Re: Олимпиада", reply_to=str(reply["id"]))
    assert response.status_code == 302
    answer = last_message(app, built.school_id, principal_id)
    assert answer["thread_id"] == original["id"]
    assert answer["reply_to_id"] == reply["id"]


def test_reply_subject_is_not_stacked():
    assert service.reply_subject("Олимпиада") == "Re: Олимпиада"
    assert service.reply_subject("Re: Олимпиада") == "Re: Олимпиада"
    assert len(service.reply_subject("x" * 255)) == 255


# --- Other schools ---------------------------------------------------------------------------


def test_other_school_ids_are_404(app, world, login):
    client = login(world["A"].users["teacher"])
    other_message = world["B"].ids["Message"]
    other_attachment = world["B"].ids["Attachment"]
    own_message = world["A"].ids["Message"]
    with app.app_context():
        before = db.session.get(Message, other_message).sender_deleted_at
    gets = [
        f"/messages/{other_message}",
        f"/messages/{other_message}/reply",
        f"/messages/{other_message}/edit",
        f"/messages/{other_message}/attachments/{other_attachment}",
        f"/messages/{own_message}/attachments/{other_attachment}",
    ]
    for url in gets:
        assert client.get(url).status_code == 404, url
    posts = ["delete", "restore", "purge", "edit"]
    for action in posts:
        url = f"/messages/{other_message}/{action}"
        assert client.post(url, data={"action": "save"}).status_code == 404, url
    response = send(client, [], reply_to=str(other_message))
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Message, other_message).sender_deleted_at == before


def test_other_school_user_rejected_as_recipient(app, world, login):
    client = login(world["A"].users["principal"])
    other_teacher = user_id(app, world["B"].users["teacher"])
    before = count_messages(app, world["A"].school_id)
    assert send(client, [other_teacher]).status_code == 400
    assert count_messages(app, world["A"].school_id) == before


def test_school_session_required(app, world, login):
    client = login(world.users["server_admin"])
    response = client.get("/messages/")
    assert response.status_code == 200
    assert 'data-testid="messages-no-school"' in response.get_data(as_text=True)
    assert 'data-testid="navbar-messages"' not in response.get_data(as_text=True)
    assert client.get(f"/messages/{world['A'].ids['Message']}").status_code == 404


# --- Folders, threads, drafts and the deleted folder ----------------------------------------


_school_numbers = itertools.count(1)


@pytest.fixture()
def family(app, world):
    """A fresh school per test, with the user id of each of its logins by role."""
    with app.app_context():
        built = build_extra_school(f"MF{next(_school_numbers)}")
        # The factory adds a sample message, notice and e-mail to every school: start from none.
        # SQLite enforces no foreign keys here, so the child rows are deleted explicitly.
        for model in (Attachment, MessageRecipient, Message, Notification, OutgoingMail):
            db.session.execute(model.__table__.delete().where(model.school_id == built.school_id))
        db.session.commit()
    ids = {code: user_id(app, built.users[code]) for code in built.users}
    return built, ids


def test_incoming_lists_most_recent_first(app, family, login):
    built, ids = family
    teacher = login(built.users["teacher"])
    for subject in ("Первое", "Второе"):
        assert send(teacher, [ids["parent"]], subject=subject).status_code == 302
    parent = login(built.users["parent"])
    listed = message_ids_listed(parent, "/messages/")
    with app.app_context():
        subjects = [db.session.get(Message, i).subject for i in listed]
    assert subjects == ["Второе", "Первое"]
    assert message_ids_listed(teacher, "/messages/sent") == listed
    assert message_ids_listed(teacher, "/messages/") == []


def test_thread_marks_read_and_unread_count(app, family, login):
    built, ids = family
    teacher = login(built.users["teacher"])
    send(teacher, [ids["parent"]], subject="Первое")
    send(teacher, [ids["parent"]], subject="Второе")
    parent = login(built.users["parent"])
    assert navbar_unread(parent) == 2
    page = parent.get("/messages/").get_data(as_text=True)
    assert re.search(r'data-testid="unread-incoming"[^>]*>2<', page)

    first = message_ids_listed(parent, "/messages/")[-1]
    response = parent.get(f"/messages/{first}")
    assert response.status_code == 200
    assert "Здравствуйте!" in response.get_data(as_text=True)
    assert navbar_unread(parent) == 1
    with app.app_context():
        row = db.session.scalars(
            select(MessageRecipient).where(MessageRecipient.message_id == first)
        ).one()
        assert row.read_at is not None


def test_thread_shows_only_own_part(app, family, login):
    built, ids = family
    teacher = login(built.users["teacher"])
    assert send(teacher, [ids["parent"], ids["student"]], subject="Экскурсия").status_code == 302
    root = last_message(app, built.school_id, ids["teacher"])["id"]
    parent = login(built.users["parent"])
    response = send(
        parent, [ids["teacher"]], subject="Re: Экскурсия", body="Мы согласны.", reply_to=str(root)
    )
    assert response.status_code == 302
    reply = last_message(app, built.school_id, ids["parent"])["id"]

    teacher_thread = teacher.get(f"/messages/{reply}").get_data(as_text=True)
    assert re.findall(r'data-testid="thread-message" data-message-id="(\d+)"', teacher_thread) == [
        str(root),
        str(reply),
    ]
    student = login(built.users["student"])
    student_thread = student.get(f"/messages/{root}").get_data(as_text=True)
    shown = re.findall(r'data-testid="thread-message" data-message-id="(\d+)"', student_thread)
    assert shown == [str(root)]
    assert "Мы согласны." not in student_thread
    # The student sees that there is another recipient, but not who it is.
    assert "Ученикова О." not in student_thread
    assert student.get(f"/messages/{reply}").status_code == 404


def test_draft_save_edit_send(app, family, login):
    built, ids = family
    parent = login(built.users["parent"])
    response = send(parent, [ids["teacher"]], subject="Черновик", body="Текст", action="save")
    assert response.status_code == 302
    draft = last_message(app, built.school_id, ids["parent"])
    assert draft["sent"] is False
    assert response.location.endswith(f"/messages/{draft['id']}/edit")
    assert message_ids_listed(parent, "/messages/drafts") == [draft["id"]]
    teacher = login(built.users["teacher"])
    assert message_ids_listed(teacher, "/messages/") == []
    assert teacher.get(f"/messages/{draft['id']}").status_code == 404

    edit_page = parent.get(f"/messages/{draft['id']}/edit").get_data(as_text=True)
    assert 'value="Черновик"' in edit_page
    response = parent.post(
        f"/messages/{draft['id']}/edit",
        data={
            "recipients": [str(ids["teacher"])],
            "subject": "Черновик 2",
            "body": "Новый текст",
            "action": "save",
        },
    )
    assert response.status_code == 302
    assert last_message(app, built.school_id, ids["parent"])["subject"] == "Черновик 2"
    with app.app_context():
        notices = db.session.scalar(
            select(func.count(Notification.id)).where(Notification.user_id == ids["teacher"])
        )
    assert notices == 0

    response = parent.post(
        f"/messages/{draft['id']}/edit",
        data={
            "recipients": [str(ids["teacher"])],
            "subject": "Черновик 2",
            "body": "Готово",
            "action": "send",
        },
    )
    assert response.status_code == 302
    sent = last_message(app, built.school_id, ids["parent"])
    assert sent["id"] == draft["id"]
    assert sent["sent"] is True
    assert message_ids_listed(parent, "/messages/drafts") == []
    assert message_ids_listed(parent, "/messages/sent") == [draft["id"]]
    assert message_ids_listed(teacher, "/messages/") == [draft["id"]]
    # A sent message is no longer a draft to edit.
    assert parent.get(f"/messages/{draft['id']}/edit").status_code == 404


def test_draft_opens_after_original_purged(app, family, login):
    built, ids = family
    teacher = login(built.users["teacher"])
    send(teacher, [ids["parent"]], subject="Вопрос")
    original = last_message(app, built.school_id, ids["teacher"])["id"]
    parent = login(built.users["parent"])
    response = send(
        parent, [ids["teacher"]], subject="Re: Вопрос", action="save", reply_to=str(original)
    )
    assert response.status_code == 302
    draft = last_message(app, built.school_id, ids["parent"])
    assert draft["thread_id"] == original

    parent.post(f"/messages/{original}/delete")
    parent.post(f"/messages/{original}/purge")
    assert parent.get(f"/messages/{draft['id']}/edit").status_code == 200
    response = parent.post(
        f"/messages/{draft['id']}/edit",
        data={"recipients": [str(ids["teacher"])], "subject": "Re: Вопрос", "action": "send"},
    )
    assert response.status_code == 302
    assert last_message(app, built.school_id, ids["parent"])["sent"] is True


def test_empty_draft_rejected(app, family, login):
    built, _ids = family
    parent = login(built.users["parent"])
    response = send(parent, [], subject="", body="", action="save")
    assert response.status_code == 400
    assert count_messages(app, built.school_id) == 0


def test_delete_restore_purge(app, family, login):
    built, ids = family
    teacher = login(built.users["teacher"])
    send(teacher, [ids["parent"]], subject="Удаление")
    message_id = last_message(app, built.school_id, ids["teacher"])["id"]
    parent = login(built.users["parent"])

    # Purging a message that is not in the deleted folder changes nothing.
    assert parent.post(f"/messages/{message_id}/purge").status_code == 302
    assert message_ids_listed(parent, "/messages/") == [message_id]

    assert parent.post(f"/messages/{message_id}/delete").status_code == 302
    assert message_ids_listed(parent, "/messages/") == []
    assert message_ids_listed(parent, "/messages/deleted") == [message_id]
    assert message_ids_listed(teacher, "/messages/sent") == [message_id]
    assert parent.get(f"/messages/{message_id}").status_code == 200

    assert parent.post(f"/messages/{message_id}/restore").status_code == 302
    assert message_ids_listed(parent, "/messages/") == [message_id]
    assert message_ids_listed(parent, "/messages/deleted") == []

    parent.post(f"/messages/{message_id}/delete")
    assert parent.post(f"/messages/{message_id}/purge").status_code == 302
    assert message_ids_listed(parent, "/messages/deleted") == []
    assert parent.get(f"/messages/{message_id}").status_code == 404
    # The teacher still sees it, so the row stays.
    assert message_ids_listed(teacher, "/messages/sent") == [message_id]
    assert teacher.get(f"/messages/{message_id}").status_code == 200

    teacher.post(f"/messages/{message_id}/delete")
    teacher.post(f"/messages/{message_id}/purge")
    with app.app_context():
        assert db.session.get(Message, message_id) is None
        rows = db.session.scalar(
            select(func.count(MessageRecipient.id)).where(MessageRecipient.message_id == message_id)
        )
        assert rows == 0


def test_purge_keeps_message_a_reply_points_at(app, family, login):
    built, ids = family
    teacher = login(built.users["teacher"])
    send(teacher, [ids["parent"]], subject="Вопрос")
    root = last_message(app, built.school_id, ids["teacher"])["id"]
    parent = login(built.users["parent"])
    send(parent, [ids["teacher"]], subject="Re: Вопрос", reply_to=str(root))
    reply = last_message(app, built.school_id, ids["parent"])["id"]

    for client in (teacher, parent):
        client.post(f"/messages/{root}/delete")
        client.post(f"/messages/{root}/purge")
    with app.app_context():
        assert db.session.get(Message, root) is not None
        assert db.session.get(Message, reply).thread_id == root

    # Once the reply is purged by both, nothing refers to the root any more.
    for client in (teacher, parent):
        client.post(f"/messages/{reply}/delete")
        client.post(f"/messages/{reply}/purge")
    with app.app_context():
        assert db.session.get(Message, reply) is None
        assert db.session.get(Message, root) is None


def test_deleted_draft_purged_at_once(app, family, login):
    built, ids = family
    parent = login(built.users["parent"])
    send(parent, [ids["teacher"]], subject="Лишнее", action="save")
    draft = last_message(app, built.school_id, ids["parent"])["id"]
    parent.post(f"/messages/{draft}/delete")
    assert message_ids_listed(parent, "/messages/drafts") == []
    assert message_ids_listed(parent, "/messages/deleted") == [draft]
    assert parent.get(f"/messages/{draft}/edit").status_code == 404
    parent.post(f"/messages/{draft}/purge")
    with app.app_context():
        assert db.session.get(Message, draft) is None


def test_folder_pages(app, family, login):
    built, ids = family
    with app.app_context():
        for number in range(service.PAGE_SIZE + 5):
            message = Message(
                school_id=built.school_id,
                sender_id=ids["teacher"],
                subject=f"Сообщение {number}",
                body="",
                sent_at=func.now(),
            )
            message.recipients.append(
                MessageRecipient(school_id=built.school_id, user_id=ids["parent"])
            )
            db.session.add(message)
        db.session.commit()
    parent = login(built.users["parent"])
    first = message_ids_listed(parent, "/messages/")
    second = message_ids_listed(parent, "/messages/?page=2")
    assert len(first) == service.PAGE_SIZE
    assert len(second) == 5
    assert first == sorted(first, reverse=True)
    assert max(second) < min(first)
    assert navbar_unread(parent) == service.PAGE_SIZE + 5


# --- Validation and CSRF -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recipients", "subject", "body"),
    [
        (False, "Тема", "Текст"),
        (True, "", "   "),
        (True, "Т" * 256, "Текст"),
        (True, "Тема", "ы" * (service.BODY_MAX_LENGTH + 1)),
    ],
    ids=["no recipient", "empty", "long subject", "long body"],
)
def test_invalid_message_rejected_keeps_text(app, family, login, recipients, subject, body):
    built, ids = family
    parent = login(built.users["parent"])
    response = send(parent, [ids["teacher"]] if recipients else [], subject=subject, body=body)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'data-testid="message-errors"' in page
    if body.strip():
        assert body in page
    assert count_messages(app, built.school_id) == 0


def test_forms_carry_csrf_token(app, school, login):
    page = login(school.users["parent"]).get("/messages/compose").get_data(as_text=True)
    assert 'name="csrf_token"' in page


def test_post_without_csrf_token_rejected(app, school, login):
    client = login(school.users["parent"])
    before = count_messages(app, school.school_id)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = send(client, [user_id(app, school.users["teacher"])])
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert count_messages(app, school.school_id) == before


# --- Attachments ---------------------------------------------------------------------------------


def upload(name: str, content: bytes):
    return (io.BytesIO(content), name)


def test_attachment_downloads_for_participants_only(app, family, login):
    built, ids = family
    parent = login(built.users["parent"])
    response = send(
        parent,
        [ids["teacher"]],
        subject="Справка",
        attachments=[upload("справка.pdf", PDF_BYTES), upload("фото.png", b"\x89PNG....")],
    )
    assert response.status_code == 302
    message = last_message(app, built.school_id, ids["parent"])
    assert [name for _id, name, _size in message["attachments"]] == ["справка.pdf", "фото.png"]
    attachment_id = message["attachments"][0][0]
    url = f"/messages/{message['id']}/attachments/{attachment_id}"

    for username in (built.users["teacher"], built.users["parent"]):
        response = login(username).get(url)
        assert response.status_code == 200, username
        assert response.data == PDF_BYTES
        disposition = response.headers["Content-Disposition"]
        assert "attachment" in disposition
        assert "%D1%81%D0%BF%D1%80%D0%B0%D0%B2%D0%BA%D0%B0.pdf" in disposition
    for username in (built.users["principal"], built.users["student"]):
        assert login(username).get(url).status_code == 404, username

    other_attachment = message["attachments"][1][0]
    teacher = login(built.users["teacher"])
    send(teacher, [ids["parent"]], subject="Ответ")
    answer = last_message(app, built.school_id, ids["teacher"])["id"]
    assert teacher.get(f"/messages/{answer}/attachments/{other_attachment}").status_code == 404


def test_oversized_attachment_rejected(app, family, login, small_attachment_limit):
    built, ids = family
    parent = login(built.users["parent"])
    response = send(
        parent,
        [ids["teacher"]],
        subject="Большой файл",
        body="Текст остаётся",
        attachments=[upload("скан.pdf", b"x" * (small_attachment_limit + 1))],
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "скан.pdf" in page
    assert 'value="Большой файл"' in page
    assert "Текст остаётся" in page
    assert f'<option value="{ids["teacher"]}" selected' in page
    assert count_messages(app, built.school_id) == 0


def test_executable_attachment_rejected(app, family, login):
    built, ids = family
    parent = login(built.users["parent"])
    response = send(parent, [ids["teacher"]], attachments=[upload("program.exe", b"MZ....")])
    assert response.status_code == 400
    assert "program.exe" in response.get_data(as_text=True)
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count(Attachment.id)).where(Attachment.school_id == built.school_id)
            )
            == 0
        )


def test_draft_attachment_removed(app, family, login):
    built, ids = family
    parent = login(built.users["parent"])
    send(
        parent,
        [ids["teacher"]],
        subject="С файлом",
        action="save",
        attachments=[upload("план.pdf", PDF_BYTES)],
    )
    draft = last_message(app, built.school_id, ids["parent"])
    attachment_id = draft["attachments"][0][0]
    with app.app_context():
        path = stored_path(db.session.get(Attachment, attachment_id))
    assert path.is_file()
    assert str(built.school_id) == path.parent.name

    response = parent.post(
        f"/messages/{draft['id']}/edit",
        data={
            "recipients": [str(ids["teacher"])],
            "subject": "С файлом",
            "body": "",
            "remove_attachment": [str(attachment_id)],
            "action": "save",
        },
    )
    assert response.status_code == 302
    assert last_message(app, built.school_id, ids["parent"])["attachments"] == []
    assert not path.exists()


# --- Notifications -------------------------------------------------------------------------------


def test_send_notifies_and_mails_opted_in(app, family, login, caplog):
    built, ids = family
    with app.app_context():
        teacher = db.session.get(User, ids["teacher"])
        teacher.email = "teacher-mf@school.example"
        db.session.add(
            NotificationSetting(
                school_id=built.school_id, user_id=ids["teacher"], message_email=True
            )
        )
        db.session.commit()
    parent = login(built.users["parent"])
    secret_text = "Ребёнок болеет ангиной"
    caplog.set_level("DEBUG")
    response = send(parent, [ids["teacher"], ids["principal"]], subject="Пропуск", body=secret_text)
    assert response.status_code == 302
    message_id = last_message(app, built.school_id, ids["parent"])["id"]
    assert secret_text not in caplog.text

    with app.app_context():
        notices = db.session.scalars(
            select(Notification).where(
                Notification.school_id == built.school_id, Notification.kind == "message"
            )
        ).all()
        assert sorted(n.user_id for n in notices) == sorted([ids["teacher"], ids["principal"]])
        assert all(n.link == f"/messages/{message_id}" for n in notices)
        mails = db.session.scalars(
            select(OutgoingMail).where(OutgoingMail.school_id == built.school_id)
        ).all()
    assert [mail.recipient for mail in mails] == ["teacher-mf@school.example"]
    mail = mails[0]
    assert "Пропуск" in mail.subject
    assert f"{app.config['PUBLIC_URL'].rstrip('/')}/messages/{message_id}" in mail.body
    assert "Ученикова О." in mail.body
    assert secret_text not in mail.body
    assert mail.kind == "message"


def test_opening_thread_reads_its_notice(app, family, login):
    built, ids = family
    parent = login(built.users["parent"])
    response = send(parent, [ids["teacher"]], subject="Справка", body="Справку принесём завтра.")
    assert response.status_code == 302
    message_id = last_message(app, built.school_id, ids["parent"])["id"]

    def unread_notice_links():
        with app.app_context():
            return db.session.scalars(
                select(Notification.link).where(
                    Notification.school_id == built.school_id,
                    Notification.user_id == ids["teacher"],
                    Notification.read_at.is_(None),
                )
            ).all()

    assert f"/messages/{message_id}" in unread_notice_links()
    teacher = login(built.users["teacher"])
    assert teacher.get(f"/messages/{message_id}").status_code == 200
    assert f"/messages/{message_id}" not in unread_notice_links()


def test_draft_sends_no_notice(app, family, login):
    built, ids = family
    with app.app_context():
        db.session.add(
            NotificationSetting(
                school_id=built.school_id, user_id=ids["teacher"], message_email=True
            )
        )
        db.session.commit()
    parent = login(built.users["parent"])
    send(parent, [ids["teacher"]], action="save")
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count(Notification.id)).where(Notification.school_id == built.school_id)
            )
            == 0
        )


# --- Navbar ---------------------------------------------------------------------------------------


def test_navbar_badge_counts_unread(app, family, login):
    built, ids = family
    teacher = login(built.users["teacher"])
    page = teacher.get("/messages/").get_data(as_text=True)
    assert 'data-testid="navbar-messages"' in page
    assert navbar_unread(teacher) == 0
    parent = login(built.users["parent"])
    send(parent, [ids["teacher"]])
    assert navbar_unread(teacher) == 1
    # Other pages of the school session show it too.
    assert 'data-testid="navbar-unread">1<' in teacher.get("/diary/").get_data(as_text=True)


def test_menu_lists_messages(app):
    with app.app_context():
        menu_names = [
            child.name
            for category in app.appbuilder.menu.get_list()
            for child in (category.childs or [])
            if category.name == "Communication"
        ]
    assert "Messages inbox" in menu_names
