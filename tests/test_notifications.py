"""The notices page, reading notices, the navbar badge and the e-mail settings page."""

import datetime as dt
import re

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.models import Guardian, Membership, Notification, NotificationSetting, School, db
from app.services.notifications import NOTICES_PAGE_SIZE
from tests.factories import add_membership, build_extra_school

NOTICE_ROW = re.compile(r'data-testid="notice" data-id="(\d+)" class="([^"]*)"')


def _user_id(username: str) -> int:
    return db.session.scalar(select(User.id).where(User.username == username))


def _notice(school_id, user_id, text, minutes_ago, *, link=None, read=False) -> Notification:
    created = dt.datetime(2026, 10, 5, 12, 0) - dt.timedelta(minutes=minutes_ago)
    notice = Notification(
        school_id=school_id,
        user_id=user_id,
        kind="message",
        text=text,
        link=link,
        created_at=created,
        read_at=created if read else None,
    )
    db.session.add(notice)
    db.session.flush()
    return notice


@pytest.fixture(scope="module")
def notices(app, world):
    """A parent with notices in two schools, and a teacher's notice next to them."""
    with app.app_context():
        school = build_extra_school("NT1")
        other = build_extra_school("NT2")
        sid = school.school_id
        parent_id = _user_id("parent_NT1")
        teacher_id = _user_id("teacher_NT1")
        ids = {
            "old_read": _notice(sid, parent_id, "Прочитанное уведомление", 30, read=True).id,
            "middle": _notice(sid, parent_id, "Сообщение от учителя", 20, link="/diary/").id,
            "newest": _notice(sid, parent_id, "Свежее уведомление", 10).id,
            "unsafe": _notice(sid, parent_id, "Внешняя ссылка", 40, link="//evil.example/").id,
            "teacher": _notice(sid, teacher_id, "Уведомление учителя", 5).id,
        }
        # The same parent is a member of the second school too, with a notice there.
        add_membership(
            db.session.get(User, parent_id),
            "parent",
            school=db.session.get(School, other.school_id),
        )
        ids["other_school"] = _notice(other.school_id, parent_id, "Во второй школе", 1).id
        db.session.commit()
        school.ids.update({f"notice_{key}": value for key, value in ids.items()})
        return school


def _membership_id(username: str, school_id: int) -> int:
    return db.session.scalar(
        select(Membership.id).where(
            Membership.user_id == _user_id(username), Membership.school_id == school_id
        )
    )


@pytest.fixture()
def parent(app, notices, login):
    with app.app_context():
        membership_id = _membership_id("parent_NT1", notices.school_id)
    return login("parent_NT1", membership_id=membership_id)


def _read_at(app, notice_id):
    with app.app_context():
        return db.session.get(Notification, notice_id).read_at


def test_notices_listed_newest_first_unread_highlighted(app, notices, parent):
    response = parent.get("/notifications/")
    page = response.get_data(as_text=True)
    rows = NOTICE_ROW.findall(page)
    ids = notices.ids

    assert response.status_code == 200
    # The factory's notice was created at build time, after the fixed times above.
    assert [int(notice_id) for notice_id, _ in rows] == [
        ids["Notification"],
        ids["notice_newest"],
        ids["notice_middle"],
        ids["notice_old_read"],
        ids["notice_unsafe"],
    ]
    classes = {int(notice_id): css for notice_id, css in rows}
    assert "notice-unread" in classes[ids["notice_newest"]]
    assert "notice-read" in classes[ids["notice_old_read"]]
    assert "Уведомление учителя" not in page
    assert "Во второй школе" not in page


def test_navbar_badge_counts_unread(app, world, login):
    with app.app_context():
        school = build_extra_school("NT3")
        student_id = _user_id("student_NT3")
        for minutes in (1, 2, 3):
            _notice(school.school_id, student_id, "Новое", minutes)
        _notice(school.school_id, student_id, "Старое", 4, read=True)
        db.session.commit()
    client = login("student_NT3")

    page = client.get("/diary/").get_data(as_text=True)
    badge = re.search(r'data-testid="navbar-unread-notices">(\d+)<', page)

    assert badge is not None
    assert badge.group(1) == "3"
    client.post("/notifications/read-all")
    page = client.get("/diary/").get_data(as_text=True)
    assert 'data-testid="navbar-notices"' in page
    assert 'data-testid="navbar-unread-notices"' not in page


def test_mark_one_read(app, notices, parent):
    notice_id = notices.ids["notice_newest"]

    response = parent.post(f"/notifications/{notice_id}/read")

    assert response.status_code == 302
    assert _read_at(app, notice_id) is not None
    assert _read_at(app, notices.ids["notice_middle"]) is None


def test_open_marks_read_and_follows_link(app, notices, parent):
    notice_id = notices.ids["notice_middle"]

    response = parent.get(f"/notifications/{notice_id}/open")

    assert response.status_code == 302
    assert response.location.endswith("/diary/")
    assert _read_at(app, notice_id) is not None


def test_open_never_leaves_the_site(app, notices, parent):
    response = parent.get(f"/notifications/{notices.ids['notice_unsafe']}/open")

    assert response.status_code == 302
    assert "evil.example" not in response.location
    assert response.location.endswith("/notifications/")


def test_other_users_and_schools_notices_are_404(app, notices, parent):
    for key in ("notice_teacher", "notice_other_school"):
        notice_id = notices.ids[key]
        assert parent.get(f"/notifications/{notice_id}/open").status_code == 404
        assert parent.post(f"/notifications/{notice_id}/read").status_code == 404
        assert _read_at(app, notice_id) is None
    assert parent.post("/notifications/999999/read").status_code == 404


def test_mark_all_read_stays_in_user_and_school(app, world, login):
    with app.app_context():
        school = build_extra_school("NT4")
        other = build_extra_school("NT5")
        parent_id = _user_id("parent_NT4")
        teacher_id = _user_id("teacher_NT4")
        own = [_notice(school.school_id, parent_id, f"Своё {n}", n).id for n in range(3)]
        teacher_notice = _notice(school.school_id, teacher_id, "Учителю", 1).id
        add_membership(
            db.session.get(User, parent_id),
            "parent",
            school=db.session.get(School, other.school_id),
        )
        elsewhere = _notice(other.school_id, parent_id, "В другой школе", 1).id
        db.session.commit()
        membership_id = _membership_id("parent_NT4", school.school_id)
    client = login("parent_NT4", membership_id=membership_id)

    response = client.post("/notifications/read-all")

    assert response.status_code == 302
    assert all(_read_at(app, notice_id) is not None for notice_id in own)
    assert _read_at(app, teacher_notice) is None
    assert _read_at(app, elsewhere) is None


def test_notices_paged(app, world, login):
    with app.app_context():
        school = build_extra_school("NT6")
        teacher_id = _user_id("teacher_NT6")
        for minutes in range(NOTICES_PAGE_SIZE + 5):
            _notice(school.school_id, teacher_id, f"Уведомление {minutes}", minutes)
        db.session.commit()
    client = login("teacher_NT6")

    first = NOTICE_ROW.findall(client.get("/notifications/").get_data(as_text=True))
    second = NOTICE_ROW.findall(client.get("/notifications/?page=2").get_data(as_text=True))
    beyond = client.get("/notifications/?page=99")

    assert len(first) == NOTICES_PAGE_SIZE
    assert len(second) == 5
    assert not {row[0] for row in first} & {row[0] for row in second}
    assert beyond.status_code == 200
    assert NOTICE_ROW.findall(beyond.get_data(as_text=True)) == []


def test_anonymous_sent_to_login(app):
    response = app.test_client().get("/notifications/")
    assert response.status_code == 302
    assert "/login" in response.location


# --- Settings --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def family(app, world):
    """A parent of two children with a real address, one more child of whom is barred."""
    with app.app_context():
        school = build_extra_school("NS1")
        parent = db.session.get(User, _user_id("parent_NS1"))
        parent.email = "mother.ns1@example.org"
        db.session.add(
            Guardian(
                school_id=school.school_id,
                student_id=school.ids["OtherStudent"],
                user_id=parent.id,
                last_name="Ученикова",
                first_name="Ольга",
                kind="mother",
                is_barred=True,
            )
        )
        db.session.commit()
        return school


def _child_rows(page: str) -> set[int]:
    return {int(value) for value in re.findall(r'data-testid="child" data-student="(\d+)"', page)}


def test_settings_offer_own_children_only(app, family, login):
    page = login("parent_NS1").get("/notifications/settings").get_data(as_text=True)

    assert _child_rows(page) == {family.ids["Student"], family.ids["SiblingStudent"]}
    assert "mother.ns1@example.org" in page
    assert 'data-testid="no-address"' not in page


def test_settings_save_own_children_only(app, family, login, world):
    client = login("parent_NS1")
    anna, maria = family.ids["Student"], family.ids["SiblingStudent"]
    barred = family.ids["OtherStudent"]
    foreign = world["A"].ids["Student"]

    response = client.post(
        "/notifications/settings",
        data={
            "message_email": "1",
            f"daily_digest_{anna}": "1",
            f"absence_email_{maria}": "1",
            f"daily_digest_{barred}": "1",
            f"daily_digest_{foreign}": "1",
        },
    )

    assert response.status_code == 302
    with app.app_context():
        parent_id = _user_id("parent_NS1")
        rows = db.session.scalars(
            select(NotificationSetting).where(NotificationSetting.user_id == parent_id)
        ).all()
        stored = {
            (row.school_id, row.student_id): (
                row.daily_digest,
                row.absence_email,
                row.message_email,
            )
            for row in rows
        }
    sid = family.school_id
    assert stored[(sid, None)][2] is True
    assert stored[(sid, anna)][:2] == (True, False)
    assert stored[(sid, maria)][:2] == (False, True)
    assert (sid, barred) not in stored
    assert all(school_id == sid for school_id, _ in stored)

    page = client.get("/notifications/settings").get_data(as_text=True)
    assert re.search(rf'name="daily_digest_{anna}" value="1" checked', page)
    assert not re.search(rf'name="daily_digest_{maria}" value="1" checked', page)
    assert re.search(r'name="message_email" value="1" checked', page)


def test_turning_digest_on_restarts_its_period(app, family, login):
    anna = family.ids["Student"]
    with app.app_context():
        parent_id = _user_id("parent_NS1")
        setting = db.session.scalar(
            select(NotificationSetting).where(
                NotificationSetting.user_id == parent_id, NotificationSetting.student_id == anna
            )
        )
        if setting is None:
            setting = NotificationSetting(
                school_id=family.school_id, user_id=parent_id, student_id=anna
            )
            db.session.add(setting)
        setting.daily_digest = False
        setting.digest_sent_until = dt.datetime(2026, 9, 1)
        db.session.commit()
        setting_id = setting.id

    login("parent_NS1").post("/notifications/settings", data={f"daily_digest_{anna}": "1"})

    with app.app_context():
        setting = db.session.get(NotificationSetting, setting_id)
        assert setting.daily_digest is True
        assert setting.digest_sent_until is None


def test_settings_explain_missing_address(app, world, login):
    with app.app_context():
        build_extra_school("NS2")
    # The factory's logins carry placeholder addresses in the .invalid domain.
    page = login("parent_NS2").get("/notifications/settings").get_data(as_text=True)

    assert 'data-testid="no-address"' in page
    assert "@test.invalid" not in page
    assert "/users/userinfo/" in page


def test_staff_settings_have_no_children(app, world, login):
    page = login("teacher_A").get("/notifications/settings").get_data(as_text=True)

    assert 'name="message_email"' in page
    assert _child_rows(page) == set()
