"""Entry point: ``python run.py`` serves the system; ``flask --app run ...`` runs commands.

On the first start with the embedded default database empty, the demo municipality is
built and its logins are written to instance/demo-logins.csv. Never with DATABASE_URL set
or in production.
"""

import logging
import os
from pathlib import Path

from flask_babel import gettext as _

from app import create_app

app = create_app()


def _database_is_empty() -> bool:
    from sqlalchemy import inspect

    from app.models import db

    return not inspect(db.engine).has_table("school")


def _first_start() -> None:
    """Build the demo into an empty embedded database; otherwise only migrate."""
    from app.commands import prepare_database

    with app.app_context():
        if app.config["PRODUCTION"] or not app.config["USES_DEFAULT_DATABASE"]:
            prepare_database()
            return
        if not _database_is_empty():
            prepare_database()
            _mention_demo_logins()
            return
        from app.demo.builder import build_demo

        print(_("The database is empty: building the demo municipality, about a minute."))
        prepare_database()
        result = build_demo(progress=True)
        print(_("Demo logins and passwords: %(path)s", path=result.logins_file))


def _mention_demo_logins() -> None:
    """Remind a returning newcomer where the demo logins are, if the demo wrote them."""
    logins = Path(app.config["DEMO_LOGINS_FILE"])
    if logins.exists():
        print(_("Demo logins and passwords: %(path)s", path=logins))


if __name__ == "__main__":
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    _first_start()
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8080"))
    with app.app_context():
        address = f"http://{host}:{port}/"
        print(_("Serving on %(address)s", address=address))
    app.run(host=host, port=port, debug=False)
