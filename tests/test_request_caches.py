"""Permission checks and the menu answered from per-request copies still follow changes."""

import re
from contextlib import contextmanager

from app.security.roles import role_name


def _menu_item_of(app, role, exclude=frozenset()):
    """Find a menu entry the role may open, with its URL, not granted to ``exclude``."""
    granted = {
        pvm.view_menu.name for pvm in role.permissions if pvm.permission.name == "menu_access"
    }
    for top in app.appbuilder.menu.get_list():
        for item in top.childs or []:
            if item.name in granted and item.name not in exclude and item.href:
                with app.test_request_context():
                    return item.name, item.get_url()
    raise AssertionError(f"no menu entry of {role.name}")


@contextmanager
def _without_permission(app, role, permission: str, view: str):
    """Take a permission from the role for the block, and give it back afterwards."""
    sm = app.appbuilder.sm
    pvm = sm.find_permission_view_menu(permission, view)
    sm.del_permission_role(role, pvm)
    try:
        yield
    finally:
        sm.add_permission_role(role, pvm)


def _nav(page: str) -> str:
    """Cut the navbar's menu list (the left one) out of a page."""
    menu = page.split('<ul class="nav navbar-nav"', 1)[1].split(">", 1)[1]
    return menu.split('<ul class="nav navbar-nav', 1)[0]


def test_menu_follows_permission_change(app, world, login):
    client = login(world.schools["A"].users["teacher"])
    with app.app_context():
        role = app.appbuilder.sm.find_role(role_name("teacher"))
        view, url = _menu_item_of(app, role)

    assert f'href="{url}"' in _nav(client.get("/notifications/settings").text)

    with app.app_context():
        role = app.appbuilder.sm.find_role(role_name("teacher"))
        with _without_permission(app, role, "menu_access", view):
            page = client.get("/notifications/settings").text
            assert f'href="{url}"' not in _nav(page)

    assert f'href="{url}"' in _nav(client.get("/notifications/settings").text)


def test_menu_differs_between_roles(app, world, login):
    school = world.schools["A"]
    teacher = login(school.users["teacher"])
    parent = login(school.users["parent"])
    with app.app_context():
        sm = app.appbuilder.sm
        parent_role = sm.find_role(role_name("parent"))
        parent_views = {
            pvm.view_menu.name
            for pvm in parent_role.permissions
            if pvm.permission.name == "menu_access"
        }
        _view, url = _menu_item_of(app, sm.find_role(role_name("teacher")), parent_views)

    # The teacher's page is rendered first, so a menu kept for the wrong key would leak.
    assert f'href="{url}"' in _nav(teacher.get("/notifications/settings").text)
    assert f'href="{url}"' not in _nav(parent.get("/notifications/settings").text)


def test_permission_change_takes_effect_next_request(app, world, login):
    client = login(world.schools["A"].users["teacher"])
    assert client.get("/journal/").status_code == 200

    with app.app_context():
        role = app.appbuilder.sm.find_role(role_name("teacher"))
        with _without_permission(app, role, "can_read", "Journal"):
            response = client.get("/journal/")
            assert response.status_code in (302, 403)

    assert client.get("/journal/").status_code == 200


def _top_menus(page: str) -> int:
    """Count the navbar's top-level entries: dropdowns and single links alike."""
    top_level = re.sub(r'<ul class="dropdown-menu">.*?</ul>', "", _nav(page), flags=re.S)
    return top_level.count("<li")


def test_compact_navbar_follows_the_visible_menus(app, world, login):
    # The count of top-level menus is kept with the cached menu: it must still match
    # the menus drawn, for a role with many menus and one with few, on a repeat visit.
    school = world.schools["A"]
    for role in ("principal", "parent", "student"):
        client = login(school.users[role])
        for _visit in range(2):
            page = client.get("/notifications/settings").text
            compact = "navbar-compact" in page.split('role="navigation"', 1)[0]
            assert compact == (_top_menus(page) >= 5), role
            assert compact or role != "principal"
