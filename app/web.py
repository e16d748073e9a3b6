"""Request hooks and plain routes: the health check and the membership guard."""

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import (
    Flask,
    current_app,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_babel import get_locale, refresh
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from jinja2 import ChoiceLoader, FunctionLoader
from markupsafe import Markup
from sqlalchemy import text

from app.models import db
from app.security.criteria import set_request_school
from app.security.scope import active_memberships, current_membership, current_scope
from app.security.sessions import SchoolSessionInterface, end_idle_session, require_password_change
from app.services.dates import format_local_time
from app.services.timetable_grid import room_label

log = logging.getLogger(__name__)

#: Endpoints a logged-in user may reach before choosing an organisation.
OPEN_ENDPOINTS = {
    "static",
    "favicon",
    "appbuilder.static",
    "health",
    "OrganisationView.choose",
    "OrganisationView.switch",
    "AuthDBView.login",
    "AuthDBView.logout",
    "AccountPasswordView.change",
    "AccountPasswordView.save",
    "LocaleView.index",
    "UtilView.back",
    "ResetMyPasswordView.this_form_get",
    "ResetMyPasswordView.this_form_post",
    # The private calendar feed: calendar apps fetch it without a login or organisation.
    "calendar_feed",
}


#: Endpoints served without touching the session.
SESSIONLESS_ENDPOINTS = {"calendar_feed", "static", "health", "favicon"}


#: A form sent without its security token, or with an outdated one (a page left open too long).
CSRF_MESSAGE = _l(
    "The form has expired: it was open too long or was sent from another page. Go back, "
    "reload the page and send the form again."
)

#: Message of each error page: what happened and what to do next.
ERROR_MESSAGES = {
    400: _l(
        "The request could not be read. Go back, reload the page and try again; tell the "
        "administrator if it happens again."
    ),
    403: _l(
        "You have no permission for this page. If your work needs it, ask your school "
        "system administrator."
    ),
    404: _l("The page or record was not found. Check the address or go to the start page."),
    405: _l(
        "This address does not open as a page: it takes data sent by a form. Open the page "
        "from the menu or go to the start page."
    ),
    # NOTE: the browser gets this page instead of the form, so the typed text is lost.
    # The per-file limit is checked in the form, which keeps the text.
    413: _l(
        "The files sent at once are too large in total. Go back and attach fewer or smaller files."
    ),
    429: _l("Too many failed sign-ins from your address. Wait a few minutes and try again."),
    500: _l(
        "The server failed to handle the request. The error was logged; try again, and tell "
        "the administrator if it happens again."
    ),
}


def register_web(app: Flask) -> None:
    app.add_url_rule("/health", "health", health)
    app.add_url_rule("/favicon.ico", "favicon", favicon)
    for status in ERROR_MESSAGES:
        app.register_error_handler(status, render_error)
    app.register_error_handler(CSRFError, render_error)
    app.session_interface = SchoolSessionInterface()
    app.before_request(default_locale)
    app.before_request(switch_language_in_place)
    app.before_request(end_idle_session)
    app.before_request(require_password_change)
    app.before_request(require_organisation)
    app.before_request(filter_queries_to_school)
    app.teardown_request(stop_filtering_queries)
    app.context_processor(inject_scope)
    # Stored times are naive UTC; pages show them in TIMEZONE: {{ note.created_at|local_time }}.
    app.add_template_filter(format_local_time, "local_time")
    # Rooms in timetables: {{ item.room|room_label }} gives «Кабинет 204» or «Спортзал».
    app.add_template_filter(room_label, "room_label")
    _tag_pages_with_language(app)
    logging.getLogger("flask_appbuilder.utils.base").addFilter(quiet_empty_redirect)


def quiet_empty_redirect(record: logging.LogRecord) -> bool:
    """Drop FAB's redirect warning for a sign-in that asked for no redirect at all.

    FAB's login passes an absent ``next`` on as an empty address and then warns that
    the address is invalid, so every plain sign-in logged "Invalid redirect detected".
    A sign-in with an unsafe ``next`` still logs the warning.
    """
    if not record.getMessage().startswith("Invalid redirect detected"):
        return True
    return not has_request_context() or bool(request.args.get("next"))


#: FAB's page skeleton, which opens every HTML page with a bare ``<html>`` tag.
PAGE_SKELETON = "appbuilder/init.html"


def _tag_pages_with_language(app: Flask) -> None:
    """Serve FAB's page skeleton with ``<html lang="…">`` in the session's language.

    Screen readers and browsers' hyphenation and translation offers read the attribute.
    The skeleton is FAB's own file with one tag changed as it is loaded, so FAB's updates
    of its scripts and styles still apply.
    """
    loader = app.jinja_env.loader

    def load(name):
        if name != PAGE_SKELETON:
            return None
        source, filename, uptodate = loader.get_source(app.jinja_env, name)
        tagged = source.replace("<html>", '<html lang="{{ page_language() }}">', 1)
        return tagged, filename, uptodate

    app.jinja_env.loader = ChoiceLoader([FunctionLoader(load), loader])
    app.jinja_env.globals["page_language"] = page_language


def page_language() -> str:
    """Return the language code of the page: the session's locale, Russian by default."""
    locale = get_locale()
    return locale.language if locale is not None else "ru"


def favicon():
    """Serve the tab icon that browsers ask for at the site root."""
    return send_from_directory(
        current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400
    )


def health():
    """Return the status of the application and of its database connection as JSON."""
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # noqa: BLE001 - any failure means the database is not usable
        log.exception("Health check: database unreachable")
        database = "unavailable"
    status = 200 if database == "ok" else 503
    body = {"status": "ok" if status == 200 else "degraded", "database": database}
    return jsonify(body), status


def render_error(error):
    """Show an HTTP error as a page in the user's language; APIs get JSON."""
    status = getattr(error, "code", 500) or 500
    if status == 500:
        log.error("Unhandled error on %s %s", request.method, request.path)
    message = ERROR_MESSAGES.get(status, ERROR_MESSAGES[500])
    if isinstance(error, CSRFError):
        message = CSRF_MESSAGE
        # The token is checked before FAB's own before-request sets g.user for the navbar.
        g.setdefault("user", current_user)
    # A 405 response must list the allowed methods in its Allow header.
    headers = {"Allow": ", ".join(error.valid_methods)} if status == 405 else {}
    if request.path.startswith("/api/"):
        return jsonify({"message": str(message)}), status, headers
    page = render_template(
        "error.html",
        appbuilder=current_app.appbuilder,
        base_template=current_app.appbuilder.base_template,
        status=status,
        message=message,
    )
    return page, status, headers


def filter_queries_to_school():
    """Add the school criterion to every ORM query of a school session (second layer)."""
    set_request_school(None)
    if not current_user.is_authenticated:
        return
    scope = current_scope()
    if scope.level == "school":
        set_request_school(scope.school_id)


def stop_filtering_queries(_error=None):
    set_request_school(None)


def default_locale():
    """Keep the locale in the session, Russian unless the user chose another.

    FAB reads the locale from the session and its menu assumes English when none is set.
    """
    # Calendar apps fetch the feed without a session; setting one would send them a cookie.
    if request.endpoint in SESSIONLESS_ENDPOINTS:
        return
    if "locale" not in session:
        session["locale"] = current_app.config["BABEL_DEFAULT_LOCALE"]


def switch_language_in_place():
    """Switch the language and return to the page the menu was opened on.

    FAB's own switch returns to the last page it recorded, which is the start page for
    every page of this application. Only a page of this site is returned to; any other
    referrer leads to the start page. An unknown language is left to FAB's 404.
    """
    if request.endpoint != "LocaleView.index":
        return None
    locale = (request.view_args or {}).get("locale")
    if locale not in current_app.appbuilder.bm.languages:
        return None
    session["locale"] = locale
    refresh()
    return redirect(_own_referrer() or current_app.appbuilder.get_url_for_index)


def _own_referrer() -> str | None:
    """Return the path and query of the referring page when it is a page of this site."""
    if not request.referrer:
        return None
    referrer = urlsplit(request.referrer)
    if referrer.netloc != request.host or referrer.path.startswith("/lang/"):
        return None
    if not referrer.path:
        return None
    if referrer.query:
        return f"{referrer.path}?{referrer.query}"
    return referrer.path


def require_organisation():
    """Send a logged-in user without a chosen membership to the organisation chooser."""
    if request.endpoint in OPEN_ENDPOINTS or request.path.startswith("/api/"):
        return None
    if not current_user.is_authenticated:
        return None
    if current_scope().level == "none":
        return redirect(url_for("OrganisationView.choose"))
    return None


def has_several_memberships() -> bool:
    """Tell whether the signed-in login may switch to another organisation."""
    return len(active_memberships(current_user)) > 1


#: Rendered menus by (locale, permissions of the session); see ``navbar_menu``.
_MENUS: dict[tuple, "NavbarMenu"] = {}
_MENUS_KEPT = 64


@dataclass(frozen=True)
class NavbarMenu:
    """The navbar's menu items as HTML, and how many top-level menus the session may open."""

    html: Markup
    #: school_base.html narrows the user menu to an icon from five menus on.
    visible_count: int

    def __html__(self) -> str:
        return self.html


def navbar_menu() -> NavbarMenu:
    """Render FAB's menu, or return the copy made for the same permissions and language.

    The menu depends only on the session's permission set and the language: the items
    are registered at start-up. Rendering it walks some sixty items with a permission
    check and a translation each, which cost a light page a third of its time.
    """
    permissions = current_app.appbuilder.sm.request_permissions()
    if permissions is None:
        return _render_menu()
    key = (str(get_locale()), permissions)
    menu = _MENUS.get(key)
    if menu is None:
        if len(_MENUS) >= _MENUS_KEPT:
            _MENUS.clear()
        menu = _MENUS[key] = _render_menu()
    return menu


def _render_menu() -> NavbarMenu:
    menu = current_app.appbuilder.menu
    security = current_app.appbuilder.sm
    visible = sum(1 for item in menu.get_list() if security.has_access("menu_access", item.name))
    html = Markup(render_template("appbuilder/navbar_menu.html", menu=menu))
    return NavbarMenu(html, visible)


#: The navbar's language switcher by (language, script root); see ``locale_menu``.
_LOCALE_MENUS: dict[tuple[str, str], Markup] = {}


def locale_menu() -> Markup:
    """Render the navbar's language switcher, once per language.

    It was FAB's macro, imported with the page's context: Jinja ran the whole of FAB's
    navbar_right.html for it on every page, which cost about 0.7 ms.
    """
    current = page_language()
    key = (current, request.script_root)
    menu = _LOCALE_MENUS.get(key)
    if menu is None:
        appbuilder = current_app.appbuilder
        languages = appbuilder.languages or {}
        if current not in languages:
            current = next(iter(languages), current)
        others = [
            (code, language, appbuilder.get_url_for_locale(code))
            for code, language in languages.items()
            if code != current
        ]
        html = render_template("locale_menu.html", shown=languages.get(current), others=others)
        menu = _LOCALE_MENUS[key] = Markup(html)
    return menu


def inject_scope():
    return {
        "locale_menu": locale_menu,
        "current_scope": current_scope,
        "current_membership": current_membership,
        "has_several_memberships": has_several_memberships,
        "navbar_menu": navbar_menu,
    }
