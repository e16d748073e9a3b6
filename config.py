"""Settings of the school information system.

Every value can be overridden from the environment; the defaults run the demo on an
embedded SQLite database with nothing else installed.
"""

import os
import secrets
from pathlib import Path

from flask_appbuilder.const import AUTH_DB

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance"))

#: "1" marks a production deployment: it refuses to start without SECRET_KEY and
#: DATABASE_URL and never builds the demo on its own.
PRODUCTION = os.environ.get("PRODUCTION", "0") == "1"

#: The embedded default database, used when DATABASE_URL is not set.
DEFAULT_DATABASE_URL = f"sqlite:///{INSTANCE_DIR / 'school.db'}"

#: PostgreSQL goes through psycopg 3: postgresql+psycopg://user:password@host/dbname
SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
SQLALCHEMY_TRACK_MODIFICATIONS = False
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

#: True when the database is the embedded default, the only case where the first
#: start may build the demo by itself.
USES_DEFAULT_DATABASE = "DATABASE_URL" not in os.environ


def _load_secret_key() -> str:
    """Read SECRET_KEY from the environment, or keep a generated one in instance/."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if PRODUCTION:
        raise RuntimeError(
            "SECRET_KEY is not set. A production deployment needs a long random "
            "SECRET_KEY in the environment, for example: "
            "export SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    key_file = INSTANCE_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


SECRET_KEY = _load_secret_key()

if PRODUCTION and USES_DEFAULT_DATABASE:
    raise RuntimeError(
        "DATABASE_URL is not set. A production deployment runs on PostgreSQL: "
        "export DATABASE_URL=postgresql+psycopg://user:password@host/dbname"
    )

# --- Flask-AppBuilder -------------------------------------------------------

APP_NAME = "Школьная информационная система"
APP_THEME = ""
AUTH_TYPE = AUTH_DB
#: The role FAB treats as the superuser role; it is the server administrator.
AUTH_ROLE_ADMIN = "Администратор сервера"
AUTH_ROLE_PUBLIC = "Public"
AUTH_USER_REGISTRATION = False
#: Tables are created by the migrations, never by FAB at start-up.
FAB_CREATE_DB = False
#: Permissions are written by `flask --app run init-db`, after the migrations.
FAB_UPDATE_PERMS = False
FAB_API_SWAGGER_UI = True
FAB_ADD_SECURITY_API = True
FAB_SECURITY_MANAGER_CLASS = "app.security.manager.SchoolSecurityManager"
FAB_INDEX_VIEW = "app.views.start.StartIndexView"
FAB_BASE_TEMPLATE = "school_base.html"

#: The largest page any list view or REST list returns.
FAB_API_MAX_PAGE_SIZE = 200
PAGE_SIZE_CAP = 200

# --- Security ---------------------------------------------------------------

WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PRODUCTION
#: Seconds of inactivity after which a session ends, by role code. A session takes the
#: shortest timeout among the roles of its organisation; "default" covers roles not listed
#: and sessions before an organisation is chosen.
SESSION_IDLE_TIMEOUT = {"default": int(os.environ.get("SESSION_IDLE_SECONDS", 60 * 60))}
#: Lifetime of a session cookie without a role timeout, in seconds.
PERMANENT_SESSION_LIFETIME = SESSION_IDLE_TIMEOUT["default"]
#: Send the session cookie only when the session changed. A page request changes it anyway,
#: because it stores the last-seen time. Otherwise a stylesheet request served during a
#: language switch would write back the session it read, and the switch would be lost.
SESSION_REFRESH_EACH_REQUEST = False
#: Days a login stays signed in after ticking «Запомнить меня на этом устройстве».
REMEMBER_ME_DAYS = int(os.environ.get("REMEMBER_ME_DAYS", 30))
#: Role codes that may ask to be remembered; a login holding any other role never is.
REMEMBER_ME_ROLES = frozenset({"student", "parent"})

#: Failed sign-ins of one login within LOGIN_LOCK_WINDOW_MINUTES that lock it for
#: LOGIN_LOCK_MINUTES, whatever address they come from.
LOGIN_LOCK_FAILURES = int(os.environ.get("LOGIN_LOCK_FAILURES", 10))
LOGIN_LOCK_WINDOW_MINUTES = int(os.environ.get("LOGIN_LOCK_WINDOW_MINUTES", 15))
LOGIN_LOCK_MINUTES = int(os.environ.get("LOGIN_LOCK_MINUTES", 15))
#: The shortest password a person may choose for themselves.
PASSWORD_MIN_LENGTH = int(os.environ.get("PASSWORD_MIN_LENGTH", 8))

#: FAB's own login limit counts every sign-in, successful ones too, so a class behind one
#: address would be locked out; the app applies LOGIN_FAILURE_LIMIT instead.
AUTH_RATE_LIMITED = False
#: Failed sign-ins allowed per client address; works only with RATELIMIT_ENABLED.
LOGIN_FAILURE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "10 per 5 minute")
RATELIMIT_ENABLED = os.environ.get("RATELIMIT_ENABLED", "1") == "1"
RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
#: Number of reverse proxies in front of the app whose X-Forwarded-For is trusted for the
#: client address (login limits, the journal audit log). 0 (the default) trusts none and
#: uses the peer address: a client could otherwise write any address into the header.
PROXY_FIX_X_FOR = int(os.environ.get("PROXY_FIX_X_FOR", 0))

# --- Languages --------------------------------------------------------------

BABEL_DEFAULT_LOCALE = "ru"
#: FAB puts its own catalog first; the app's catalog is merged after it, so the app
#: overrides FAB's missing and wrong Russian strings. The path must be absolute.
BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
LANGUAGES = {
    "ru": {"flag": "ru", "name": "Русский"},
    "en": {"flag": "gb", "name": "English"},
}

# --- Demo -------------------------------------------------------------------

#: File the demo writes its logins and passwords to.
DEMO_LOGINS_FILE = str(INSTANCE_DIR / "demo-logins.csv")

# --- Attachments ------------------------------------------------------------

#: The folder of files attached to messages and announcements, one subfolder per school.
ATTACHMENTS_DIR = os.environ.get("ATTACHMENTS_DIR", str(INSTANCE_DIR / "attachments"))
#: The largest attachment accepted, in bytes.
ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))
#: File name extensions accepted as attachments: documents and images.
ATTACHMENT_EXTENSIONS = frozenset(
    os.environ.get(
        "ATTACHMENT_EXTENSIONS",
        "pdf,doc,docx,odt,rtf,txt,xls,xlsx,ods,ppt,pptx,odp,jpg,jpeg,png,gif,webp,heic",
    ).split(",")
)

#: The largest request body, in bytes: ten attachments of the maximum size and the form.
MAX_CONTENT_LENGTH = 10 * ATTACHMENT_MAX_BYTES + 1024 * 1024

# --- Import of students and staff ------------------------------------------

#: The folder where an uploaded file waits between its preview and the confirmation.
IMPORT_DIR = os.environ.get("IMPORT_DIR", str(INSTANCE_DIR / "imports"))
#: The largest import file accepted, in bytes. By estimate, a school of 2,000 students with
#: both parents takes about 300 bytes a row, so under 1 MB of CSV.
IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", 5 * 1024 * 1024))
#: Seconds a previewed file waits for its confirmation before it is deleted.
IMPORT_KEEP_SECONDS = int(os.environ.get("IMPORT_KEEP_SECONDS", 3600))

# --- E-mail -----------------------------------------------------------------

#: The SMTP server of the deployment; without MAIL_SERVER the queue keeps e-mails unsent.
MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
MAIL_PORT = int(os.environ.get("MAIL_PORT", 25))
#: "starttls", "ssl" or "none".
MAIL_SECURITY = os.environ.get("MAIL_SECURITY", "none")
MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "noreply@school.invalid")
#: Seconds the worker waits for the SMTP server before it counts an attempt as failed.
MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", 10))
#: Attempts before a queued e-mail is marked failed; the wait doubles after each one.
MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS", 6))
MAIL_RETRY_SECONDS = int(os.environ.get("MAIL_RETRY_SECONDS", 60))
#: Local hour after which the worker sends the day's digests.
DIGEST_HOUR = int(os.environ.get("DIGEST_HOUR", 18))
#: Seconds without a progress step after which a running report job is taken to have
#: lost its worker and is queued again. Each step of a report commits a heartbeat, so
#: only a step longer than this is cut short.
REPORT_JOB_TIMEOUT_SECONDS = int(os.environ.get("REPORT_JOB_TIMEOUT_SECONDS", 900))
#: Claims of a report job before a job that keeps losing its worker is marked failed.
REPORT_JOB_MAX_ATTEMPTS = int(os.environ.get("REPORT_JOB_MAX_ATTEMPTS", 3))
#: Days a finished report job and its file are kept before the worker deletes them.
REPORT_JOB_KEEP_DAYS = int(os.environ.get("REPORT_JOB_KEEP_DAYS", 7))
#: The address users open the application at, for links in e-mails and calendar feeds.
#: When empty, pages use the address of the request and the worker uses
#: http://127.0.0.1:8080, so a production deployment sets it.
PUBLIC_URL = os.environ.get("PUBLIC_URL", "")

# --- Calendar feeds ---------------------------------------------------------

#: The time zone of the schools (an IANA name such as Europe/Moscow). Every time shown on
#: pages and in exports is converted to it from the naive UTC the database stores, and
#: lesson times in calendar feeds are given in it.
TIMEZONE = os.environ.get("TIMEZONE", "Europe/Moscow")
