"""Admin commands of ``flask --app run``: database, roles, demo, worker and bell schedules."""

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

    @app.cli.command("bell-schedule-examples")
    def bell_schedule_examples_command():
        """List the real bell schedules a variant can be built from."""
        from app.services.bell_schedules import example_regimes

        for regime in example_regimes():
            click.echo(regime)

    @app.cli.command("bell-schedule-from-example")
    @click.option("--school-id", required=True, type=int, help="Id of the school.")
    @click.option("--regime", required=True, help="Label of the example, as listed.")
    @click.option("--name", required=True, help="Name of the new variant.")
    @click.option("--grades", required=True, help="Range of grades, as 1-1 or 5-11.")
    @click.option("--shift", default=1, show_default=True, type=int, help="Shift number.")
    @click.option("--weekday", default=None, type=int, help="ISO weekday, 1 for Monday.")
    @click.option("--valid-from", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
    @click.option("--valid-to", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
    def bell_schedule_from_example_command(
        school_id, regime, name, grades, shift, weekday, valid_from, valid_to
    ):
        """Add a bell schedule variant with the lesson times of a real example."""
        from app.errors import DomainError
        from app.models import db
        from app.services.bell_schedules import add_example_variant

        first, _dash, last = grades.partition("-")
        if not (first.isdigit() and (last or first).isdigit()):
            raise click.BadParameter(_("Enter the grades as 5-11 or 1-1."), param_hint="--grades")
        try:
            schedule = add_example_variant(
                school_id,
                regime,
                name=name,
                grade_from=int(first),
                grade_to=int(last or first),
                shift=shift,
                weekday=weekday,
                valid_from=valid_from.date() if valid_from else None,
                valid_to=valid_to.date() if valid_to else None,
            )
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        db.session.commit()
        click.echo(_("Bell schedule %(name)s added.", name=schedule.name))

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
