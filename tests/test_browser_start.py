"""Every user type signs in through a real browser and reaches its start page."""

import pytest

from app.security.roles import ROLES
from tests.browser import sign_in
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.browser


def _login_of(world, code):
    if code in ("authority", "server_admin"):
        return world.users[code]
    return world["A"].users[code]


@pytest.mark.parametrize("code", list(ROLES))
def test_role_reaches_start_page(page, live_server, world, code):
    sign_in(page, live_server, _login_of(world, code), TEST_PASSWORD)

    assert "/login" not in page.url, f"{code} stayed on the login page"
    assert page.locator("h2").first.inner_text() == "Стартовая страница"
    assert page.locator("[data-testid=start-link]").count() >= 1, code
