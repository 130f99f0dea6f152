"""The Flask CLI of the contract: `users create|deactivate`, `processes validate|deploy|list`, `scheduler
tick|run`, `organisations quota`, and `demo load`. Each command parses its arguments and calls engine commands."""
from __future__ import annotations

import os
import sys
from datetime import datetime, timezone

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from engine.core import clock, commands, tracing, users
from engine.definitions import deployment
from engine.scheduling import scheduler
from engine.core.errors import DefinitionInvalid, EngineError, InvalidData
from engine.notify.mailer import MailSettings
from engine.definitions.validation import collect_paths

from web import engine_db


def register_cli(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(processes_cli)
    app.cli.add_command(scheduler_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(organisations_cli)
    from web.cli.supervisor import supervisor_cli  # supervisor console (issue 7)
    app.cli.add_command(supervisor_cli)
    from web.cli import database  # `flask db copy`, beside Flask-Migrate's db commands
    database.register(app)


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


@click.group("users", cls=AppGroup, help="Manage users.")
def users_cli() -> None:
    pass


@users_cli.command("create")
@click.argument("name")
@click.option("--password", required=True)
@click.option("--groups", default="", help="comma-separated; created on demand")
@click.option("--org", default=None)
@click.option("--email", default=None)
@click.option("--display-name", default=None)
def create_user(name: str, password: str, groups: str, org: str | None, email: str | None,
                display_name: str | None) -> None:
    group_list = [g.strip() for g in groups.split(",") if g.strip()]
    try:
        commands.execute(engine_db(), users.create_user, name, password, group_list, org, email,
                         display_name, "cli")
    except InvalidData as error:
        _fail("\n".join([f"error: {error.message}"] + [f"  {field}: {' '.join(messages)}"
                                                        for field, messages in error.fields.items()]))
    except EngineError as error:
        _fail(f"error: {error.message}")
    click.echo(f"created user {name}" + (f" in {', '.join(group_list)}" if group_list else ""))


@users_cli.command("deactivate")
@click.argument("name")
def deactivate_user(name: str) -> None:
    """The user can no longer sign in; their open sessions and API tokens end at once."""
    try:
        commands.execute(engine_db(), users.deactivate, name, "cli")
    except EngineError as error:
        _fail(f"error: {error.message}")
    click.echo(f"deactivated user {name}; their sessions and tokens have ended")


@click.group("processes", cls=AppGroup, help="Validate, deploy and list process definitions.")
def processes_cli() -> None:
    pass


def _read_files(paths: tuple[str, ...]) -> list[tuple[str, bytes]]:
    try:
        return collect_paths(list(paths))
    except OSError as error:
        _fail(f"error: {error}")
        return []


def _print_problems(problems: list) -> None:  # type: ignore[type-arg]
    for problem in problems:
        click.echo(f"{problem.file}:{problem.line or '-'}: [{problem.element_id or '-'}] {problem.message}", err=True)


@processes_cli.command("validate")
@click.argument("paths", nargs=-1, required=True)
def validate(paths: tuple[str, ...]) -> None:
    files = _read_files(paths)
    bundle, against_database = deployment.validate_where_possible(engine_db(), files)
    if not against_database:
        click.echo("note: no migrated database here, so the files were checked on their own; forms and "
                   "processes they use must be among them (run `flask --app web db upgrade` to check "
                   "against what is deployed)", err=True)
    if bundle.problems:
        _print_problems(bundle.problems)
        _fail(f"{len(bundle.problems)} problem(s) in {len(files)} file(s)")
    for process in bundle.processes:
        click.echo(f"ok  process {process.key}")
    for form_id in bundle.forms:
        click.echo(f"ok  form {form_id}")
    click.echo(f"{len(files)} file(s) valid")


@processes_cli.command("deploy")
@click.argument("paths", nargs=-1, required=True)
def deploy(paths: tuple[str, ...]) -> None:
    files = _read_files(paths)
    try:
        deployed = commands.execute(engine_db(), deployment.deploy, files, "cli")
    except DefinitionInvalid as error:
        _print_problems(error.problems)
        _fail(f"{len(error.problems)} problem(s); nothing was deployed")
        return
    for item in deployed:
        note = "" if item.changed else " (unchanged)"
        if item.because:
            note += f" ({item.because})"
        click.echo(f"{item.kind} {item.key} version {item.version}{note}")


@processes_cli.command("list")
def list_processes() -> None:
    rows = commands.query(engine_db(), deployment.latest_definitions)
    if not rows:
        click.echo("no process is deployed yet")
    for row in rows:
        click.echo(f"{row.key}\t{row.name}\tversion {row.version}")


@click.group("scheduler", cls=AppGroup, help="Timers, reminders and escalations.")
def scheduler_cli() -> None:
    pass


@scheduler_cli.command("tick")
@click.option("--now", "now_text", default=None, help="ISO-8601 moment to run the pass at")
@click.option("--batch-size", default=scheduler.BATCH_SIZE, show_default=True,
              type=click.IntRange(1, 10_000), help="rows per transaction")
def tick(now_text: str | None, batch_size: int) -> None:
    moment = datetime.now(timezone.utc)
    if now_text:
        try:
            moment = datetime.fromisoformat(now_text.replace("Z", "+00:00"))
        except ValueError:
            _fail(f"error: --now '{now_text}' is not an ISO-8601 date-time")
    mail = _mail_settings()
    # its audit events carry an id of their own, as a scheduler process's passes do
    with clock.frozen_at(moment), tracing.bound(tracing.new_id("tick-")):
        report = scheduler.tick(engine_db(), mail, batch_size)
    for line in report.lines():
        click.echo(line)


@scheduler_cli.command("run")
@click.option("--interval", default=30, show_default=True, type=click.IntRange(1, 86_400),
              help="seconds between passes")
@click.option("--id", "scheduler_id", default=None, envvar="SCHEDULER_ID",
              help="the name of its heartbeat row (default host:pid)")
def run(interval: int, scheduler_id: str | None) -> None:
    # what it does goes to the logs (JSON lines on stderr, web/structured_logs.py), not to print
    scheduler.run(engine_db(), interval, _mail_settings(), scheduler_id)


def _mail_settings() -> MailSettings:
    """SMTP settings: the app's configuration where it sets them, else the environment."""
    keys = ("SMTP_HOST", "SMTP_PORT", "MAIL_FROM", "SMTP_USERNAME", "SMTP_PASSWORD",
            "SMTP_STARTTLS", "MAIL_LANGUAGE", "APP_URL")
    values = {k: current_app.config.get(k) or os.environ.get(k) for k in keys}
    try:
        return MailSettings.from_config(values)
    except ValueError as error:
        _fail(f"error: {error}")
        raise


@click.group("organisations", cls=AppGroup, help="The organisation register.")
def organisations_cli() -> None:
    pass


@organisations_cli.command("quota")
@click.argument("code")
@click.argument("quota")
def set_quota(code: str, quota: str) -> None:
    """Set how many applications the unit CODE may forward per year (QUOTA: a number, or none)."""
    from engine.lifecycle import units
    value = None if quota.strip().lower() == "none" else (int(quota) if quota.strip().isdigit() else quota)

    def apply(session):  # type: ignore[no-untyped-def]
        organisation = units.set_quota(session, code, value)
        return organisation.name, organisation.yearly_quota
    try:
        name, limit = commands.execute(engine_db(), apply)
    except EngineError as exc:
        _fail(f"error: {exc}")
        return
    click.echo(f"{code} ({name}): " + ("no limit" if limit is None else f"{limit} a year"))


@click.group("demo", cls=AppGroup, help="Demo data.")
def demo_cli() -> None:
    pass


@demo_cli.command("load")
def load_demo() -> None:
    from engine.demo import demo_data
    for line in demo_data.load(engine_db()):
        click.echo(line)
