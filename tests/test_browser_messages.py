"""Messages in a real browser: a parent writes to the child's teacher, who reads it."""

import pytest

from app.models import Attachment, Message, MessageRecipient, Notification, OutgoingMail, db
from tests.browser import sign_in
from tests.factories import TEST_PASSWORD, build_extra_school

pytestmark = pytest.mark.browser

SUBJECT = "Домашнее задание по математике"
BODY = "Здравствуйте! Анна болела в понедельник. Подскажите, какие номера решать?"


@pytest.fixture(scope="module")
def message_school(app, world):
    """A school of its own without the factory's sample message, so the counts start at 0."""
    with app.app_context():
        built = build_extra_school("BM")
        for model in (Attachment, MessageRecipient, Message, Notification, OutgoingMail):
            db.session.execute(model.__table__.delete().where(model.school_id == built.school_id))
        db.session.commit()
        return built


def follow(page, locator) -> None:
    """Click a link or a submit button and wait until the page it leads to has loaded."""
    with page.expect_navigation():
        locator.click()


def choose_recipient(page, search: str) -> None:
    """Pick a recipient in the searchable list, typing part of the name as a person does."""
    page.locator(".select2-selection").click()
    page.keyboard.type(search)
    page.locator(".select2-results__option--highlighted", has_text=search).wait_for()
    page.keyboard.press("Enter")


def test_parent_writes_teacher_reads(page, live_server, message_school):
    sign_in(page, live_server, message_school.users["parent"], TEST_PASSWORD)
    assert page.get_by_test_id("navbar-unread").count() == 0

    follow(page, page.get_by_test_id("navbar-messages"))
    follow(page, page.get_by_test_id("compose"))
    # The teacher leads the child's class and teaches it maths, and the entry shows both.
    choose_recipient(page, "Математика")
    assert page.locator("#recipients option:checked").count() == 1
    page.get_by_test_id("subject").fill(SUBJECT)
    page.get_by_test_id("body").fill(BODY)
    follow(page, page.get_by_test_id("send"))

    assert page.get_by_test_id("thread-subject").inner_text() == SUBJECT
    assert page.get_by_test_id("message-body").inner_text() == BODY

    page.goto(f"{live_server}/logout/")
    sign_in(page, live_server, message_school.users["teacher"], TEST_PASSWORD)
    assert page.get_by_test_id("navbar-unread").inner_text() == "1"

    follow(page, page.get_by_test_id("navbar-messages"))
    row = page.get_by_test_id("message-row").filter(has_text=SUBJECT)
    assert row.get_by_test_id("unread-mark").count() == 1
    assert "Ученикова О." in row.inner_text()
    follow(page, row.get_by_test_id("message-link"))

    assert page.get_by_test_id("thread-subject").inner_text() == SUBJECT
    message = page.get_by_test_id("thread-message")
    assert message.get_by_test_id("message-body").inner_text() == BODY
    assert "Ученикова О." in message.get_by_test_id("message-sender").inner_text()
    assert page.get_by_test_id("navbar-unread").count() == 0
