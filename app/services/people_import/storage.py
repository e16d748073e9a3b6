"""The uploaded file kept between its preview and the confirmation.

The file is written under a random token, beside a record of the user, school and kind
it was uploaded for; the session keeps the token. A confirmation reads the file back only
when the token, the session, the user and the school all agree, so that a token alone
gives nothing to another user or school.
"""

import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, session

SESSION_KEY = "people_import"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


@dataclass(frozen=True)
class StoredUpload:
    token: str
    name: str
    data: bytes


def _folder() -> Path:
    folder = Path(current_app.config["IMPORT_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def store_upload(kind: str, school_id: int, user_id: int, name: str, data: bytes) -> str:
    """Keep an uploaded file, remember its token in the session, and return the token."""
    remove_expired()
    token = secrets.token_urlsafe(32)
    folder = _folder()
    (folder / f"{token}.data").write_bytes(data)
    meta = {
        "kind": kind,
        "school_id": school_id,
        "user_id": user_id,
        "name": name,
        "created": time.time(),
    }
    (folder / f"{token}.json").write_text(json.dumps(meta), encoding="utf-8")
    pending = dict(session.get(SESSION_KEY) or {})
    old = pending.get(kind)
    pending[kind] = token
    session[SESSION_KEY] = pending
    if old:
        _delete(old)
    return token


def load_upload(kind: str, school_id: int, user_id: int, token: str) -> StoredUpload | None:
    """Return the file previewed in this session for this kind, user and school, or None."""
    if not token or not _TOKEN.match(token):
        return None
    if (session.get(SESSION_KEY) or {}).get(kind) != token:
        return None
    folder = _folder()
    try:
        meta = json.loads((folder / f"{token}.json").read_text(encoding="utf-8"))
        data = (folder / f"{token}.data").read_bytes()
    except (OSError, ValueError):
        return None
    expected = {"kind": kind, "school_id": school_id, "user_id": user_id}
    if any(meta.get(key) != value for key, value in expected.items()):
        return None
    if time.time() - meta.get("created", 0) > current_app.config["IMPORT_KEEP_SECONDS"]:
        _delete(token)
        return None
    return StoredUpload(token=token, name=meta.get("name", ""), data=data)


def forget_upload(kind: str, token: str) -> None:
    """Delete a confirmed file and its token."""
    pending = dict(session.get(SESSION_KEY) or {})
    if pending.get(kind) == token:
        pending.pop(kind)
        session[SESSION_KEY] = pending
    _delete(token)


def _delete(token: str) -> None:
    if not _TOKEN.match(token):
        return
    for suffix in (".data", ".json"):
        (_folder() / f"{token}{suffix}").unlink(missing_ok=True)


def remove_expired() -> None:
    """Delete files whose confirmation time has passed, left by abandoned previews."""
    limit = time.time() - current_app.config["IMPORT_KEEP_SECONDS"]
    for path in _folder().glob("*.json"):
        try:
            expired = path.stat().st_mtime < limit
        except OSError:
            continue
        if expired:
            _delete(path.stem)
