"""Announcements: audiences, display periods, read marks, files and the authority's copies."""

import datetime as dt
import io
import re
from dataclasses import dataclass, field

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select

from app.models import (
    AcademicYear,
    Announcement,
    AnnouncementClass,
    AnnouncementRead,
    Attachment,
    AuthorityAnnouncement,
    Guardian,
    School,
    SchoolClass,
    Student,
    db,
)
from app.services import announcements as service
from app.services.attachments import stored_path
from tests.factories import (
    add_course_with_lesson,
    add_membership,
    add_teacher,
    build_extra_school,
    build_school_under,
    make_user,
)

TODAY = dt.date.today()
ROW_ID = re.compile(r'data-testid="announcement-row" data-id="(\d+)"')
ITEM_ID = re.compile(r'data-testid="announcement-item" data-id="(\d+)"')
AUTHORITY_ROW_ID = re.compile(r'data-testid="authority-announcement-row" data-id="(\d+)"')


@pytest.fixture(scope="module", autouse=True)
def attachments_dir(app, tmp_path_factory):
    """Keep the files these tests store in a folder of their own."""
    before = app.config["ATTACHMENTS_DIR"]
    app.config["ATTACHMENTS_DIR"] = str(tmp_path_factory.mktemp("attachments"))
    yield app.config["ATTACHMENTS_DIR"]
    app.config["ATTACHMENTS_DIR"] = before


@dataclass
class Community:
    """A test school with two classes and the people around them, by login name."""

    school_id: int
    class_5a: int
    class_6b: int
    logins: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)


def _user_id(username: str) -> int:
    return db.session.scalar(select(User.id).where(User.username == username))


def _add_student_with_parent(school_id, class_id, key, *, barred_parent=False):
    school = db.session.get(School, school_id)
    student_user = make_user(f"student_{key}")
    add_membership(student_user, "student", school=school)
    student = Student(
        school_id=school_id,
        user_id=student_user.id,
        class_id=class_id,
        last_name="Ученик",
        first_name=key,
        sex="m",
    )
    db.session.add(student)
    db.session.flush()
    parent_user = make_user(f"parent_{key}")
    add_membership(parent_user, "parent", school=school)
    db.session.add(
        Guardian(
            school_id=school_id,
            student_id=student.id,
            user_id=parent_user.id,
            last_name="Родитель",
            first_name=key,
            is_barred=barred_parent,
        )
    )
    db.session.flush()
    return student_user, parent_user


@pytest.fixture(scope="module")
def community(app, world):
    """School AN1: class 5А of the factory and class 6Б with its own teacher and families.

    - ``teacher``: class teacher of 5А and its maths teacher (from the factory);
    - ``subject_teacher``: teaches one course in 5А, leads no class;
    - ``teacher_6b``: class teacher of 6Б only;
    - ``student``/``parent``: a 5А student and their parent; ``parent_6b``/``student_6b``
      the same for 6Б; ``barred_parent``: a barred parent of a 5А student.
    """
    with app.app_context():
        built = build_extra_school("AN1")
        sid = built.school_id
        class_5a = db.session.scalar(
            select(SchoolClass.id).where(SchoolClass.school_id == sid, SchoolClass.name == "5А")
        )
        year_id = db.session.scalar(select(AcademicYear.id).where(AcademicYear.school_id == sid))

        teacher_6b = add_teacher(built, "teacher6b_AN1")
        class_6b = SchoolClass(
            school_id=sid,
            year_id=year_id,
            grade=6,
            letter="Б",
            name="6Б",
            class_teacher_id=teacher_6b.id,
        )
        db.session.add(class_6b)
        db.session.flush()

        subject_teacher = add_teacher(built, "subject_AN1")
        add_course_with_lesson(built, "Музыка", teachers=[subject_teacher])
        _add_student_with_parent(sid, class_6b.id, "6b_AN1")
        _add_student_with_parent(sid, class_5a, "barred_AN1", barred_parent=True)
        db.session.commit()

        logins = {
            **built.users,
            "teacher_6b": "teacher6b_AN1",
            "subject_teacher": "subject_AN1",
            "student_6b": "student_6b_AN1",
            "parent_6b": "parent_6b_AN1",
            "barred_parent": "parent_barred_AN1",
            "student_barred": "student_barred_AN1",
        }
        found = Community(school_id=sid, class_5a=class_5a, class_6b=class_6b.id, logins=logins)
        found.user_ids = {role: _user_id(username) for role, username in logins.items()}
        return found


def _announcement(
    school_id,
    title,
    author_id,
    *,
    audience="school",
    roles=(),
    class_ids=(),
    start=TODAY - dt.timedelta(days=1),
    end=TODAY + dt.timedelta(days=5),
    created_at=None,
) -> int:
    announcement = Announcement(
        school_id=school_id,
        title=title,
        body="Текст объявления",
        audience=audience,
        audience_roles=",".join(roles),
        display_from=start,
        display_to=end,
        author_id=author_id,
    )
    if created_at is not None:
        announcement.created_at = created_at
    db.session.add(announcement)
    db.session.flush()
    for class_id in class_ids:
        db.session.add(
            AnnouncementClass(
                school_id=school_id, announcement_id=announcement.id, class_id=class_id
            )
        )
    db.session.commit()
    return announcement.id


def _visible_ids(school_id, user_id, on_date=TODAY, created_since=None) -> set[int]:
    return {
        a.id for a in service.announcements_visible_to(school_id, user_id, on_date, created_since)
    }


@pytest.fixture(scope="module")
def audiences(app, community):
    """One current announcement per audience kind, written by the principal."""
    with app.app_context():
        sid = community.school_id
        principal = community.user_ids["principal"]
        return {
            "school": _announcement(sid, "Для всей школы", principal),
            "roles": _announcement(
                sid,
                "Для учителей и родителей",
                principal,
                audience="roles",
                roles=("teacher", "parent"),
            ),
            "class_5a": _announcement(
                sid, "Для 5А", principal, audience="classes", class_ids=(community.class_5a,)
            ),
            "class_6b": _announcement(
                sid, "Для 6Б", principal, audience="classes", class_ids=(community.class_6b,)
            ),
        }


# --- Audience rules ---------------------------------------------------------------------


def test_whole_school_reaches_every_member(app, community, audiences, world):
    with app.app_context():
        for role, user_id in community.user_ids.items():
            visible = _visible_ids(community.school_id, user_id)
            assert audiences["school"] in visible, role
        outsider = _user_id(world["A"].users["parent"])
        assert _visible_ids(community.school_id, outsider) == set()


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("teacher", True),
        ("subject_teacher", True),
        ("parent", True),
        ("parent_6b", True),
        ("student", False),
        ("secretary", False),
        ("medical", False),
        # Managers see every announcement of their school.
        ("principal", True),
        ("school_admin", True),
    ],
)
def test_roles_audience(app, community, audiences, role, expected):
    with app.app_context():
        visible = _visible_ids(community.school_id, community.user_ids[role])
        assert (audiences["roles"] in visible) is expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("student", True),
        ("parent", True),
        ("teacher", True),
        ("subject_teacher", True),
        ("student_6b", False),
        ("parent_6b", False),
        ("teacher_6b", False),
        ("barred_parent", False),
        ("secretary", False),
        ("psychologist", False),
        ("principal", True),
        ("school_admin", True),
    ],
)
def test_class_audience_of_5a(app, community, audiences, role, expected):
    with app.app_context():
        visible = _visible_ids(community.school_id, community.user_ids[role])
        assert (audiences["class_5a"] in visible) is expected


def test_class_audience_of_6b(app, community, audiences):
    with app.app_context():
        sid = community.school_id
        assert audiences["class_6b"] in _visible_ids(sid, community.user_ids["parent_6b"])
        assert audiences["class_6b"] in _visible_ids(sid, community.user_ids["teacher_6b"])
        assert audiences["class_6b"] not in _visible_ids(sid, community.user_ids["parent"])
        assert audiences["class_6b"] not in _visible_ids(sid, community.user_ids["teacher"])


def test_addressed_readers_match_reading_rule(app, community, audiences):
    """The list of addressed readers is the reading rule turned around."""
    managers = {community.user_ids["principal"], community.user_ids["school_admin"]}
    with app.app_context():
        for key, announcement_id in audiences.items():
            announcement = db.session.get(Announcement, announcement_id)
            addressed = set(db.session.scalars(service.addressed_reader_ids(announcement)))
            for role, user_id in community.user_ids.items():
                visible = announcement_id in _visible_ids(community.school_id, user_id)
                if user_id in managers or user_id == announcement.author_id:
                    assert visible, (key, role)
                    continue
                assert visible is (user_id in addressed), (key, role)


def test_inactive_membership_sees_nothing(app, community, audiences):
    with app.app_context():
        school = db.session.get(School, community.school_id)
        user = make_user("left_AN1")
        membership = add_membership(user, "teacher", school=school)
        membership.is_active = False
        db.session.commit()
        assert _visible_ids(community.school_id, user.id) == set()


# --- Display period -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def periods(app, community):
    """A future and a past announcement to the whole school, by the class teacher."""
    with app.app_context():
        sid = community.school_id
        teacher = community.user_ids["teacher"]
        return {
            "future": _announcement(
                sid,
                "Будущее",
                teacher,
                audience="classes",
                class_ids=(community.class_5a,),
                start=TODAY + dt.timedelta(days=3),
                end=TODAY + dt.timedelta(days=9),
            ),
            "past": _announcement(
                sid,
                "Прошедшее",
                teacher,
                audience="classes",
                class_ids=(community.class_5a,),
                start=TODAY - dt.timedelta(days=9),
                end=TODAY - dt.timedelta(days=2),
            ),
        }


def test_display_period_limits_readers(app, community, periods):
    with app.app_context():
        sid = community.school_id
        parent = community.user_ids["parent"]
        assert periods["future"] not in _visible_ids(sid, parent)
        assert periods["past"] not in _visible_ids(sid, parent)
        assert periods["future"] in _visible_ids(sid, parent, TODAY + dt.timedelta(days=3))
        assert periods["future"] in _visible_ids(sid, parent, TODAY + dt.timedelta(days=9))
        assert periods["future"] not in _visible_ids(sid, parent, TODAY + dt.timedelta(days=10))
        assert periods["past"] in _visible_ids(sid, parent, TODAY - dt.timedelta(days=9))


def test_reader_cannot_open_out_of_period(community, periods, login):
    client = login(community.logins["parent"])
    assert client.get(f"/announcements/{periods['future']}").status_code == 404
    assert client.get(f"/announcements/{periods['past']}").status_code == 404


def _listed(client, url) -> set[int]:
    response = client.get(url)
    assert response.status_code == 200
    return {int(value) for value in ROW_ID.findall(response.get_data(as_text=True))}


def test_writers_list_future_and_past(community, periods, login):
    author = login(community.logins["teacher"])
    assert periods["future"] in _listed(author, "/announcements/?period=future")
    assert periods["past"] in _listed(author, "/announcements/?period=past")
    assert author.get(f"/announcements/{periods['future']}").status_code == 200

    principal = login(community.logins["principal"])
    assert periods["future"] in _listed(principal, "/announcements/?period=future")

    # Another teacher lists only their own announcements outside their dates.
    other = login(community.logins["subject_teacher"])
    assert periods["future"] not in _listed(other, "/announcements/?period=future")

    # A reader's period filter falls back to the current announcements.
    reader = login(community.logins["parent"])
    assert periods["future"] not in _listed(reader, "/announcements/?period=future")


def test_created_since_filters(app, community):
    with app.app_context():
        sid = community.school_id
        principal = community.user_ids["principal"]
        old = _announcement(sid, "Старое", principal, created_at=dt.datetime(2020, 1, 1, 12, 0))
        new = _announcement(sid, "Новое", principal, created_at=dt.datetime(2030, 1, 1, 12, 0))
        visible = _visible_ids(
            sid, community.user_ids["student"], created_since=dt.datetime(2025, 1, 1)
        )
        assert new in visible
        assert old not in visible


# --- The pages agree with announcements_visible_to ------------------------------------------


def test_list_page_agrees_with_visible_to(app, community, audiences, periods, login):
    for role, username in community.logins.items():
        client = login(username)
        listed = _listed(client, "/announcements/")
        with app.app_context():
            expected = _visible_ids(community.school_id, community.user_ids[role])
        assert listed == expected, role


def test_show_page_agrees_with_visible_to(app, community, audiences, login):
    for role in ("parent", "parent_6b", "teacher_6b", "secretary", "student"):
        client = login(community.logins[role])
        with app.app_context():
            visible = _visible_ids(community.school_id, community.user_ids[role])
        for key, announcement_id in audiences.items():
            status = client.get(f"/announcements/{announcement_id}").status_code
            assert status == (200 if announcement_id in visible else 404), (role, key)


def test_start_page_lists_unread_first(app, login):
    with app.app_context():
        built = build_extra_school("AN5")
        sid = built.school_id
        principal = _user_id(built.users["principal"])
        parent = _user_id(built.users["parent"])
        older_unread = _announcement(sid, "Старое непрочитанное", principal)
        newer_read = _announcement(sid, "Новое прочитанное", principal, start=TODAY)
        db.session.add(AnnouncementRead(school_id=sid, announcement_id=newer_read, user_id=parent))
        db.session.commit()

    page = login(built.users["parent"]).get("/").get_data(as_text=True)
    assert 'data-testid="announcement-block"' in page
    assert [int(value) for value in ITEM_ID.findall(page)] == [older_unread, newer_read]
    items = page.split('data-testid="announcement-item"')[1:]
    assert 'data-testid="unread"' in items[0]
    assert 'data-testid="unread"' not in items[1]
    assert "Сотрудник" in items[0]


def test_start_page_links(community, login):
    page = login(community.logins["parent"]).get("/").get_data(as_text=True)
    assert 'href="/announcements/"' in page


def test_diary_shows_announcements_to_parent(community, audiences, login):
    page = login(community.logins["parent"]).get("/diary/").get_data(as_text=True)
    items = {int(value) for value in ITEM_ID.findall(page)}
    assert audiences["class_5a"] in items
    assert audiences["class_6b"] not in items


def test_diary_keeps_announcements_of_viewed_child(app, login):
    with app.app_context():
        built = build_extra_school("AN9")
        sid = built.school_id
        year_id = db.session.scalar(select(AcademicYear.id).where(AcademicYear.school_id == sid))
        class_5a = db.session.scalar(
            select(SchoolClass.id).where(SchoolClass.school_id == sid, SchoolClass.name == "5А")
        )
        class_6b = SchoolClass(school_id=sid, year_id=year_id, grade=6, letter="Б", name="6Б")
        db.session.add(class_6b)
        db.session.flush()
        parent_id = _user_id(built.users["parent"])
        older = Student(
            school_id=sid, class_id=class_6b.id, last_name="Ученикова", first_name="Ольга", sex="f"
        )
        db.session.add(older)
        db.session.flush()
        db.session.add(
            Guardian(
                school_id=sid,
                student_id=older.id,
                user_id=parent_id,
                last_name="Ученикова",
                first_name="Анна",
            )
        )
        principal = _user_id(built.users["principal"])
        for_5a = _announcement(sid, "Для 5А", principal, audience="classes", class_ids=(class_5a,))
        for_6b = _announcement(
            sid, "Для 6Б", principal, audience="classes", class_ids=(class_6b.id,)
        )
        for_school = _announcement(sid, "Для всей школы", principal)
        younger_id, older_id = built.ids["Student"], older.id
        db.session.commit()

    client = login(built.users["parent"])
    younger_page = client.get(f"/diary/?student={younger_id}").get_data(as_text=True)
    older_page = client.get(f"/diary/?student={older_id}").get_data(as_text=True)
    start_page = client.get("/").get_data(as_text=True)

    younger_items = {int(value) for value in ITEM_ID.findall(younger_page)}
    older_items = {int(value) for value in ITEM_ID.findall(older_page)}
    assert younger_items == {for_5a, for_school}
    assert older_items == {for_6b, for_school}
    assert {for_5a, for_6b, for_school} <= {int(v) for v in ITEM_ID.findall(start_page)}


def test_diary_of_staff_has_no_block(app, community, login):
    with app.app_context():
        student_id = db.session.scalar(
            select(Student.id).where(Student.user_id == community.user_ids["student"])
        )
    page = login(community.logins["teacher"]).get(f"/diary/?student={student_id}")
    assert page.status_code == 200
    assert 'data-testid="announcement-block"' not in page.get_data(as_text=True)


# --- Read marks -----------------------------------------------------------------------------


def _reads(app, announcement_id) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AnnouncementRead.user_id).where(
                    AnnouncementRead.announcement_id == announcement_id
                )
            )
        )


def test_read_mark_is_recorded_once(app, community, login):
    with app.app_context():
        announcement_id = _announcement(
            community.school_id, "Отметка о прочтении", community.user_ids["principal"]
        )
    parent = login(community.logins["parent"])
    page = parent.get("/announcements/").get_data(as_text=True)
    assert re.search(rf'data-id="{announcement_id}" class="info"', page)

    assert parent.get(f"/announcements/{announcement_id}").status_code == 200
    assert parent.get(f"/announcements/{announcement_id}").status_code == 200
    assert _reads(app, announcement_id) == [community.user_ids["parent"]]

    page = parent.get("/announcements/").get_data(as_text=True)
    assert re.search(rf'data-id="{announcement_id}" class=""', page)


def test_second_read_insert_is_ignored(app, community):
    """Two requests may both pass the check; the unique constraint keeps one mark."""
    with app.app_context():
        announcement_id = _announcement(
            community.school_id, "Двойной щелчок", community.user_ids["principal"]
        )
        announcement = db.session.get(Announcement, announcement_id)
        student = community.user_ids["student"]
        assert service.record_read(announcement, student) is True
        announcement = db.session.get(Announcement, announcement_id)
        assert service.record_read(announcement, student) is False
    assert _reads(app, announcement_id) == [community.user_ids["student"]]


def test_author_read_is_not_recorded(app, community, login):
    with app.app_context():
        announcement_id = _announcement(
            community.school_id,
            "Своё",
            community.user_ids["teacher"],
            audience="classes",
            class_ids=(community.class_5a,),
        )
    login(community.logins["teacher"]).get(f"/announcements/{announcement_id}")
    assert _reads(app, announcement_id) == []


def test_read_statistics_for_author_and_managers(app, community, login):
    with app.app_context():
        announcement_id = _announcement(
            community.school_id,
            "Статистика",
            community.user_ids["teacher"],
            audience="classes",
            class_ids=(community.class_5a,),
        )
        announcement = db.session.get(Announcement, announcement_id)
        addressed = set(db.session.scalars(service.addressed_reader_ids(announcement)))
    # 5А is read by both students with logins, the parent who is not barred and the
    # subject teacher. The barred parent and the author (the class teacher) are left out.
    expected = {
        community.user_ids[role]
        for role in ("student", "student_barred", "parent", "subject_teacher")
    }
    assert addressed == expected

    login(community.logins["parent"]).get(f"/announcements/{announcement_id}")
    for role in ("teacher", "principal", "school_admin"):
        page = login(community.logins[role]).get(f"/announcements/{announcement_id}")
        text = page.get_data(as_text=True)
        assert f'data-read="1" data-addressed="{len(addressed)}"' in text, role
        assert text.count('data-testid="reader"') == 1
    reader = login(community.logins["parent"]).get(f"/announcements/{announcement_id}")
    assert 'data-testid="read-statistics"' not in reader.get_data(as_text=True)


# --- Writing --------------------------------------------------------------------------------


def _form(**values) -> dict:
    form = {
        "title": "Экскурсия",
        "body": "Сбор в 9:00 у школы.",
        "audience": "classes",
        "display_from": TODAY.strftime("%d.%m.%Y"),
        "display_to": (TODAY + dt.timedelta(days=3)).isoformat(),
    }
    form.update(values)
    return form


def _count(app, **filters) -> int:
    with app.app_context():
        statement = select(func.count()).select_from(Announcement).filter_by(**filters)
        return db.session.scalar(statement)


def test_teacher_writes_to_own_class(app, community, login):
    client = login(community.logins["teacher"])
    response = client.post(
        "/announcements/new", data=_form(title="В свой класс", class_id=str(community.class_5a))
    )
    assert response.status_code == 302
    with app.app_context():
        announcement = db.session.scalar(
            select(Announcement).where(Announcement.title == "В свой класс")
        )
        assert announcement.school_id == community.school_id
        assert announcement.author_id == community.user_ids["teacher"]
        assert [link.class_id for link in announcement.classes] == [community.class_5a]
        assert announcement.display_from == TODAY
        assert announcement.display_to == TODAY + dt.timedelta(days=3)


def test_teacher_cannot_address_other_class(app, community, login):
    client = login(community.logins["teacher"])
    response = client.post(
        "/announcements/new", data=_form(title="В чужой класс", class_id=str(community.class_6b))
    )
    assert response.status_code == 400
    assert "6Б" in response.get_data(as_text=True)
    assert _count(app, title="В чужой класс") == 0


def test_teacher_cannot_address_whole_school(app, community, login):
    client = login(community.logins["teacher"])
    for audience, extra in (("school", {}), ("roles", {"role": "parent"})):
        response = client.post(
            "/announcements/new", data=_form(title=f"Всем: {audience}", audience=audience, **extra)
        )
        assert response.status_code == 400, audience
        assert _count(app, title=f"Всем: {audience}") == 0


def test_teacher_class_form_offers_own_classes(community, login):
    page = login(community.logins["teacher_6b"]).get("/announcements/new").get_data(as_text=True)
    offered = set(re.findall(r'name="class_id" value="(\d+)"', page))
    assert offered == {str(community.class_6b)}
    assert 'name="audience" value="classes"' in page
    assert 'type="radio"' not in page


def test_principal_writes_to_roles(app, community, login):
    client = login(community.logins["principal"])
    response = client.post(
        "/announcements/new",
        data={**_form(title="Педсовет", audience="roles"), "role": ["teacher", "principal"]},
    )
    assert response.status_code == 302
    with app.app_context():
        announcement = db.session.scalar(
            select(Announcement).where(Announcement.title == "Педсовет")
        )
        assert announcement.role_codes == ["teacher", "principal"]
        visible = _visible_ids(community.school_id, community.user_ids["teacher_6b"])
        assert announcement.id in visible
        assert announcement.id not in _visible_ids(
            community.school_id, community.user_ids["parent"]
        )


@pytest.mark.parametrize(
    ("values", "typed"),
    [
        ({"title": ""}, "Сбор в 9:00 у школы."),
        ({"title": "x" * 256}, "x" * 256),
        ({"display_from": "31.02.2026"}, "31.02.2026"),
        ({"display_to": "завтра"}, "завтра"),
        (
            {
                "display_from": (TODAY + dt.timedelta(days=5)).strftime("%d.%m.%Y"),
                "display_to": TODAY.strftime("%d.%m.%Y"),
            },
            (TODAY + dt.timedelta(days=5)).strftime("%d.%m.%Y"),
        ),
        ({"audience": "roles"}, "Сбор в 9:00 у школы."),
        ({"audience": "classes"}, "Сбор в 9:00 у школы."),
        ({"audience": "everyone"}, "everyone"),
        ({"audience": "classes", "class_id": "999999"}, "999999"),
    ],
)
def test_invalid_form_is_rejected_and_kept(app, community, login, values, typed):
    client = login(community.logins["principal"])
    form = _form(title="Неверная форма", audience="school")
    form.update(values)
    response = client.post("/announcements/new", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'data-testid="announcement-errors"' in page
    assert typed in page
    assert "Сбор в 9:00 у школы." in page
    assert _count(app, school_id=community.school_id, title=form["title"] or "") == 0


def test_error_message_names_the_value(app, community):
    with app.test_request_context():
        access = service.AnnouncementAccess(
            service.reader_scope(community.school_id, community.user_ids["principal"]), True
        )
        form = service.AnnouncementForm(
            title="Проверка", audience="school", display_from="31.02.2026", display_to="x"
        )
        with pytest.raises(service.AnnouncementInputError) as error:
            service.parse_form(access, form)
    messages = error.value.messages
    assert len(messages) == 2
    assert "31.02.2026" in messages[0]
    assert "x" in messages[1]


def test_teacher_edits_only_own(app, community, audiences, login):
    with app.app_context():
        own = _announcement(
            community.school_id,
            "Моё объявление",
            community.user_ids["teacher"],
            audience="classes",
            class_ids=(community.class_5a,),
        )
    teacher = login(community.logins["teacher"])
    # The principal's announcement to 5А is readable, but not the teacher's to change.
    assert teacher.get(f"/announcements/{audiences['class_5a']}/edit").status_code == 403
    assert teacher.post(f"/announcements/{audiences['class_5a']}/delete").status_code == 403
    assert teacher.get(f"/announcements/{own}/edit").status_code == 200

    response = teacher.post(
        f"/announcements/{own}/edit",
        data=_form(title="Моё объявление, исправлено", class_id=str(community.class_5a)),
    )
    assert response.status_code == 302
    assert _count(app, id=own, title="Моё объявление, исправлено") == 1

    # A teacher of another class cannot even read it.
    other = login(community.logins["teacher_6b"])
    assert other.get(f"/announcements/{own}/edit").status_code == 404
    assert other.post(f"/announcements/{own}/delete").status_code == 404

    # The principal changes and deletes any announcement of the school.
    principal = login(community.logins["principal"])
    assert principal.post(f"/announcements/{own}/delete").status_code == 302
    assert _count(app, id=own) == 0


def test_reader_cannot_write(community, audiences, login):
    parent = login(community.logins["parent"])
    assert parent.get("/announcements/new").status_code == 403
    assert parent.post("/announcements/new", data=_form()).status_code == 403
    assert parent.post(f"/announcements/{audiences['class_5a']}/delete").status_code == 403


def test_other_school_ids_answer_404(app, community, audiences, world, login):
    principal_a = login(world["A"].users["principal"])
    target = audiences["school"]
    assert principal_a.get(f"/announcements/{target}").status_code == 404
    assert principal_a.get(f"/announcements/{target}/edit").status_code == 404
    assert principal_a.post(f"/announcements/{target}/edit", data=_form()).status_code == 404
    assert principal_a.post(f"/announcements/{target}/delete").status_code == 404
    assert _count(app, id=target) == 1


# --- Files ----------------------------------------------------------------------------------


def _file(name: str, content: bytes):
    return (io.BytesIO(content), name)


def _attachments(app, announcement_id) -> list[Attachment]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(Attachment)
                .where(Attachment.announcement_id == announcement_id)
                .order_by(Attachment.id)
            )
        )
        for row in rows:
            db.session.expunge(row)
        return rows


def _path(app, attachment):
    with app.app_context():
        return stored_path(attachment)


def test_attachments_are_served_to_readers_only(app, community, world, login):
    teacher = login(community.logins["teacher"])
    data = _form(title="С файлами", class_id=str(community.class_5a))
    data["files"] = [_file("план.pdf", b"%PDF-1.4 plan"), _file("список.txt", b"list")]
    response = teacher.post("/announcements/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    announcement_id = int(response.location.rstrip("/").rsplit("/", 1)[1])
    files = _attachments(app, announcement_id)
    assert [f.filename for f in files] == ["план.pdf", "список.txt"]
    assert all(f.school_id == community.school_id for f in files)

    url = f"/announcements/{announcement_id}/attachments/{files[0].id}"
    download = login(community.logins["parent"]).get(url)
    assert download.status_code == 200
    assert download.data == b"%PDF-1.4 plan"
    assert "attachment" in download.headers["Content-Disposition"]

    assert login(community.logins["parent_6b"]).get(url).status_code == 404
    assert login(world["A"].users["principal"]).get(url).status_code == 404
    # A message's attachment is not served through an announcement.
    message_attachment = world["A"].ids["Attachment"]
    assert (
        login(community.logins["parent"])
        .get(f"/announcements/{announcement_id}/attachments/{message_attachment}")
        .status_code
        == 404
    )


def test_attachment_of_another_announcement_is_404(app, community, audiences, login):
    teacher = login(community.logins["teacher"])
    data = _form(title="Один файл", class_id=str(community.class_5a))
    data["files"] = [_file("памятка.pdf", b"%PDF memo")]
    response = teacher.post("/announcements/new", data=data, content_type="multipart/form-data")
    announcement_id = int(response.location.rsplit("/", 1)[1])
    attachment_id = _attachments(app, announcement_id)[0].id
    parent = login(community.logins["parent"])
    url = f"/announcements/{audiences['school']}/attachments/{attachment_id}"
    assert parent.get(url).status_code == 404


def test_rejected_file_keeps_the_form(app, community, login):
    teacher = login(community.logins["teacher"])
    data = _form(title="Плохой файл", class_id=str(community.class_5a))
    data["files"] = [_file("virus.exe", b"MZ")]
    response = teacher.post("/announcements/new", data=data, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "virus.exe" in page
    assert 'value="Плохой файл"' in page
    assert _count(app, title="Плохой файл") == 0


def test_edit_removes_and_adds_files_and_delete_removes_all(app, community, login):
    teacher = login(community.logins["teacher"])
    data = _form(title="Файлы меняются", class_id=str(community.class_5a))
    data["files"] = [_file("a.txt", b"aaa"), _file("b.txt", b"bbb")]
    response = teacher.post("/announcements/new", data=data, content_type="multipart/form-data")
    announcement_id = int(response.location.rsplit("/", 1)[1])
    first, second = _attachments(app, announcement_id)
    first_path = _path(app, first)
    assert first_path.is_file()

    data = _form(title="Файлы меняются", class_id=str(community.class_5a))
    data["remove_attachment"] = str(first.id)
    data["files"] = [_file("c.txt", b"ccc")]
    response = teacher.post(
        f"/announcements/{announcement_id}/edit", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 302
    remaining = _attachments(app, announcement_id)
    assert [f.filename for f in remaining] == ["b.txt", "c.txt"]
    assert not first_path.exists()

    login(community.logins["parent"]).get(f"/announcements/{announcement_id}")
    paths = [_path(app, f) for f in remaining]
    assert teacher.post(f"/announcements/{announcement_id}/delete").status_code == 302
    assert _count(app, id=announcement_id) == 0
    assert _attachments(app, announcement_id) == []
    assert _reads(app, announcement_id) == []
    assert not any(path.exists() for path in paths)


# --- Authority announcements ------------------------------------------------------------------


@dataclass
class District:
    authority_id: int
    school_ids: list[int]
    login: str
    parent_logins: list[str]
    principal_logins: list[str]


@pytest.fixture(scope="module")
def district(app, world):
    """An authority with two schools and its own login."""
    with app.app_context():
        first = build_extra_school("AN2")
        school = db.session.get(School, first.school_id)
        second = build_school_under("AN3", school.authority_id)
        user = make_user("authority_AN2")
        add_membership(user, "authority", authority=school.authority)
        db.session.commit()
        return District(
            authority_id=school.authority_id,
            school_ids=[first.school_id, second.school_id],
            login=user.username,
            parent_logins=[first.users["parent"], second.users["parent"]],
            principal_logins=[first.users["principal"], second.users["principal"]],
        )


def _authority_form(**values) -> dict:
    form = {
        "title": "Проверка пожарной безопасности",
        "body": "Во всех школах района.",
        "display_from": TODAY.isoformat(),
        "display_to": (TODAY + dt.timedelta(days=10)).isoformat(),
    }
    form.update(values)
    return form


def _copies(app, original_id) -> list[Announcement]:
    with app.app_context():
        copies = list(
            db.session.scalars(
                select(Announcement)
                .where(Announcement.authority_announcement_id == original_id)
                .order_by(Announcement.school_id)
            )
        )
        for copy in copies:
            db.session.expunge(copy)
        return copies


def _publish(client, **values) -> int:
    data = _authority_form(**values)
    response = client.post(
        "/authority-announcements/new", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return int(response.location.rsplit("/", 1)[1])


def test_authority_publishes_to_its_schools(app, district, world, login):
    client = login(district.login)
    original_id = _publish(client, title="Всем школам", files=[_file("приказ.pdf", b"%PDF order")])
    copies = _copies(app, original_id)
    assert sorted(c.school_id for c in copies) == sorted(district.school_ids)
    assert all(c.audience == "school" and c.title == "Всем школам" for c in copies)

    files = {c.school_id: _attachments(app, c.id) for c in copies}
    assert all(len(rows) == 1 for rows in files.values())
    paths = [_path(app, rows[0]) for rows in files.values()]
    assert paths[0] != paths[1]
    assert all(path.read_bytes() == b"%PDF order" for path in paths)

    for school_id, parent_login in zip(district.school_ids, district.parent_logins, strict=True):
        copy = next(c for c in copies if c.school_id == school_id)
        parent = login(parent_login)
        assert copy.id in _listed(parent, "/announcements/")
        attachment = files[school_id][0]
        download = parent.get(f"/announcements/{copy.id}/attachments/{attachment.id}")
        assert download.status_code == 200
        assert download.data == b"%PDF order"

    # Schools of other authorities get no copy.
    with app.app_context():
        others = db.session.scalar(
            select(func.count())
            .select_from(Announcement)
            .where(
                Announcement.authority_announcement_id == original_id,
                Announcement.school_id.not_in(district.school_ids),
            )
        )
    assert others == 0
    assert world["A"].school_id not in {c.school_id for c in copies}


def test_authority_edit_and_delete_reach_every_copy(app, district, login):
    client = login(district.login)
    original_id = _publish(
        client,
        title="Исходный заголовок",
        files=[_file("один.txt", b"one"), _file("два.txt", b"two")],
    )
    copies = _copies(app, original_id)
    reference = _attachments(app, copies[0].id)
    removed_paths = [
        _path(app, row)
        for copy in copies
        for row in _attachments(app, copy.id)
        if row.filename == "один.txt"
    ]
    assert len(removed_paths) == 2

    data = _authority_form(
        title="Новый заголовок",
        display_to=(TODAY + dt.timedelta(days=20)).isoformat(),
        remove_attachment=str(reference[0].id),
        files=[_file("три.txt", b"three")],
    )
    response = client.post(
        f"/authority-announcements/{original_id}/edit",
        data=data,
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    for copy in _copies(app, original_id):
        assert copy.title == "Новый заголовок"
        assert copy.display_to == TODAY + dt.timedelta(days=20)
        names = [row.filename for row in _attachments(app, copy.id)]
        assert names == ["два.txt", "три.txt"]
    assert not any(path.exists() for path in removed_paths)

    kept_paths = [
        _path(app, row) for copy in _copies(app, original_id) for row in _attachments(app, copy.id)
    ]
    login(district.parent_logins[0]).get(f"/announcements/{copies[0].id}")
    assert client.post(f"/authority-announcements/{original_id}/delete").status_code == 302
    assert _copies(app, original_id) == []
    assert _count(app, authority_announcement_id=original_id) == 0
    with app.app_context():
        assert db.session.get(AuthorityAnnouncement, original_id) is None
    assert _reads(app, copies[0].id) == []
    assert not any(path.exists() for path in kept_paths)


def test_new_school_gets_copy_on_edit(app, login):
    with app.app_context():
        first = build_extra_school("AN6")
        authority = db.session.get(School, first.school_id).authority
        user = make_user("authority_AN6")
        add_membership(user, "authority", authority=authority)
        db.session.commit()
        authority_id = authority.id
    client = login("authority_AN6")
    original_id = _publish(client, title="До новой школы", files=[_file("f.txt", b"file")])
    assert [c.school_id for c in _copies(app, original_id)] == [first.school_id]

    with app.app_context():
        added = build_school_under("AN7", authority_id)
    response = client.post(
        f"/authority-announcements/{original_id}/edit",
        data=_authority_form(title="После новой школы"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    copies = _copies(app, original_id)
    assert [c.school_id for c in copies] == [first.school_id, added.school_id]
    assert all(c.title == "После новой школы" for c in copies)
    new_copy = copies[1]
    files = _attachments(app, new_copy.id)
    assert [f.filename for f in files] == ["f.txt"]
    assert _path(app, files[0]).read_bytes() == b"file"


def test_school_cannot_change_authority_copy(app, district, login):
    original_id = _publish(login(district.login), title="Только для чтения")
    copy = next(c for c in _copies(app, original_id) if c.school_id == district.school_ids[0])
    principal = login(district.principal_logins[0])
    assert principal.get(f"/announcements/{copy.id}").status_code == 200
    assert principal.get(f"/announcements/{copy.id}/edit").status_code == 403
    assert principal.post(f"/announcements/{copy.id}/edit", data=_form()).status_code == 403
    assert principal.post(f"/announcements/{copy.id}/delete").status_code == 403
    assert _count(app, id=copy.id, title="Только для чтения") == 1


def test_other_authority_gets_404(app, district, world, login):
    original_id = _publish(
        login(district.login), title="Чужое управление", files=[_file("f.txt", b"file")]
    )
    attachment_id = _attachments(app, _copies(app, original_id)[0].id)[0].id
    other = login(world.users["authority"])
    base = f"/authority-announcements/{original_id}"
    assert other.get(base).status_code == 404
    assert other.get(f"{base}/edit").status_code == 404
    assert other.post(f"{base}/edit", data=_authority_form(title="Взлом")).status_code == 404
    assert other.post(f"{base}/delete").status_code == 404
    assert other.get(f"{base}/attachments/{attachment_id}").status_code == 404
    page = other.get("/authority-announcements/").get_data(as_text=True)
    listed = {int(value) for value in AUTHORITY_ROW_ID.findall(page)}
    assert original_id not in listed
    with app.app_context():
        assert db.session.get(AuthorityAnnouncement, original_id).title == "Чужое управление"
    assert len(_copies(app, original_id)) == len(district.school_ids)


def test_authority_attachment_route_is_scoped(app, district, world, login):
    client = login(district.login)
    original_id = _publish(client, title="С приложением", files=[_file("p.pdf", b"%PDF p")])
    attachment = _attachments(app, _copies(app, original_id)[0].id)[0]
    url = f"/authority-announcements/{original_id}/attachments/{attachment.id}"
    assert client.get(url).status_code == 200
    # A file of another announcement (a message attachment of school A) is not served.
    message_attachment = world["A"].ids["Attachment"]
    assert (
        client.get(
            f"/authority-announcements/{original_id}/attachments/{message_attachment}"
        ).status_code
        == 404
    )


def test_server_admin_reads_but_does_not_write(app, district, world, login):
    original_id = _publish(login(district.login), title="Для администратора сервера")
    admin = login(world.users["server_admin"])
    page = admin.get("/authority-announcements/").get_data(as_text=True)
    listed = {int(value) for value in AUTHORITY_ROW_ID.findall(page)}
    assert original_id in listed
    assert admin.get(f"/authority-announcements/{original_id}").status_code == 200
    assert admin.get("/authority-announcements/new").status_code == 403
    assert admin.post(f"/authority-announcements/{original_id}/delete").status_code == 403
    assert len(_copies(app, original_id)) == len(district.school_ids)


def test_school_roles_cannot_open_authority_pages(district, login):
    principal = login(district.principal_logins[0])
    assert principal.get("/authority-announcements/").status_code == 403


def test_authority_form_is_validated(app, district, login):
    client = login(district.login)
    response = client.post(
        "/authority-announcements/new",
        data=_authority_form(title="Неверные даты", display_from="2026-13-01"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "2026-13-01" in response.get_data(as_text=True)
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuthorityAnnouncement)
                .where(AuthorityAnnouncement.title == "Неверные даты")
            )
            == 0
        )
