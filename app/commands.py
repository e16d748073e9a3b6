"""Admin commands: ``flask --app run init-db``, ``sync-roles``, ``demo`` and ``worker``."""

import logging

import click
from flask import Flask, current_app
from flask_babel import gettext as _
from flask_migrate import upgrade

log = logging.getLogger(__name__)


def prepare_database() -> None:
    """Bring the database to the current schema, then write permissions and roles.

    The order matters: FAB's permission tables come from the migrations, FAB then records
    the permissions of every registered view, and the role sync grants the baseline.
    """
    from app.security.sync import sync_roles

    upgrade()
    # FAB 5.3 grants each permission it records to the admin role at once. On a new
    # database that role is missing, so the grant fails and FAB silently skips the rest
    # of that view's permissions; which one survives depends on set order.
    sm = current_app.appbuilder.sm
    if sm.find_role(sm.auth_role_admin) is None:
        sm.add_role(sm.auth_role_admin)
    current_app.appbuilder.add_permissions(update_perms=True)
    sync_roles()


def register_commands(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db_command():
        """Create or upgrade the schema, permissions and the twelve roles."""
        prepare_database()
        click.echo(_("The database is ready."))

    @app.cli.command("sync-roles")
    @click.option(
        "--reset",
        is_flag=True,
        help="Also remove permissions beyond the baseline from each of the twelve roles.",
    )
    def sync_roles_command(reset):
        """Create missing roles and grant their missing baseline permissions."""
        from app.security.sync import sync_roles

        current_app.appbuilder.add_permissions(update_perms=True)
        added = sync_roles(reset=reset)
        for code, count in added.items():
            click.echo(f"{code}: {count}")

    @app.cli.command("demo")
    @click.option(
        "--scale",
        type=click.Choice(["school", "city"]),
        default="school",
        show_default=True,
        help="school builds a few schools in detail. city builds 100 schools of 300 to "
        "1,000 students with about 300 marks per student a year, written in bulk; "
        "--size does not apply to it.",
    )
    @click.option(
        "--schools",
        default=None,
        type=click.IntRange(min=1),
        help="Number of schools to build (default: 3, or 100 with --scale city).",
    )
    @click.option(
        "--years",
        default=0,
        show_default=True,
        type=click.IntRange(min=0),
        help="Closed school years to add before the current one, with term and year marks.",
    )
    @click.option(
        "--size",
        type=click.Choice(["normal", "small"]),
        default="normal",
        show_default=True,
        help="small builds one class per grade and fewer students, for tests.",
    )
    @click.option(
        "--today",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        help="The day the demo is filled up to (YYYY-MM-DD); default: today.",
    )
    @click.option("--seed", default=None, type=int, help="Random seed, for a repeatable build.")
    def demo_command(scale, schools, years, size, today, seed):
        """Build the demo municipality into the configured database."""
        from app.demo.builder import build_demo

        prepare_database()
        result = build_demo(
            schools=schools,
            size=size,
            today=today.date() if today else None,
            seed=seed,
            progress=True,
            scale=scale,
            years=years,
        )
        click.echo(_("Demo logins and passwords: %(path)s", path=result.logins_file))

    @app.cli.command("worker")
    @click.option("--once", is_flag=True, help="Run one round and exit (for cron).")
    @click.option(
        "--interval",
        default=30.0,
        show_default=True,
        type=click.FloatRange(min=1),
        help="Seconds between rounds.",
    )
    def worker_command(once, interval):
        """Send queued e-mails, queue the daily digests and build queued reports.

        Runs until Ctrl-C or SIGTERM, or one round with --once.
        """
        from app.services.mail import Worker

        if not logging.getLogger().handlers:
            logging.basicConfig(
                level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
            )
        Worker(interval).run(once=once)
