"""`flask --app web supervisor ...`: the supervisor console's commands for operators.

- `archive [--older-than-days N] [--dry-run] [--batch-size B]`: history retention, with a
  progress bar (see engine/supervision/archive.py);
- `attention [--kind K ...] [--format table|csv|xlsx] [--output FILE]`: the attention list;
- `bulk ACTION --as SUPERVISOR --reason R [filters] [--dry-run] [--yes]`: a bulk intervention
  on a filtered selection, previewed first, with a progress bar and a report of each failure;
- `spot-check --as SUPERVISOR --year Y [--share S] [--seed N]`: the yearly random spot check of
  running projects (engine/supervision/spot_checks.py), once a year, the seed printed and audited."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from engine.supervision import archive, attention, exports, interventions, selection, spot_checks
from engine.core import commands, users
from engine.core.errors import EngineError
from engine.core.principals import Actor

from web import engine_db
from web.retention import archive_after_days, archive_dir


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


@click.group("supervisor", cls=AppGroup, help="Attention list, bulk interventions, history retention.")
def supervisor_cli() -> None:
    pass


@supervisor_cli.command("archive")
@click.option("--older-than-days", type=int, default=None,
              help="archive instances that ended more than N days ago (default: ARCHIVE_AFTER_DAYS or 365)")
@click.option("--dry-run", is_flag=True, help="only say what would be archived")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=archive.DEFAULT_BATCH, show_default=True,
              help="instances per transaction and file")
def archive_command(older_than_days: int | None, dry_run: bool, batch_size: int) -> None:
    try:
        days = older_than_days if older_than_days is not None else archive_after_days()
        planned = commands.query(engine_db(), archive.plan, days)
    except (EngineError, ValueError) as error:
        _fail(f"error: {getattr(error, 'message', error)}")
        return
    click.echo(f"{planned.total} instance(s) ended before {planned.before:%Y-%m-%d %H:%M} UTC"
               + (":" if planned.by_process else "."))
    for key, count in planned.by_process.items():
        click.echo(f"  {key}: {count}")
    if dry_run or not planned.total:
        return
    directory = archive_dir()
    with click.progressbar(length=planned.total, label="archiving", show_pos=True) as bar:
        report = archive.run(engine_db(), directory, days, batch_size, "cli", progress=bar.update)
    click.echo(f"archived {report.archived} instance(s) in {report.batches} file(s) under {directory}")


@supervisor_cli.command("attention")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(attention.KINDS))
@click.option("--process-key", default=None)
@click.option("--quiet-days", type=int, default=attention.QUIET_DAYS_DEFAULT, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "xlsx"]), default="table", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="file to write (required for xlsx)")
@click.option("--language", type=click.Choice(["zh_CN", "en"]), default="zh_CN", show_default=True)
def attention_command(kinds: tuple[str, ...], process_key: str | None, quiet_days: int, fmt: str,
                      output: Path | None, language: str) -> None:
    filters = attention.Filters(kinds=kinds or attention.KINDS, process_key=process_key,
                                quiet_days=quiet_days)
    try:
        items, counts = commands.query(engine_db(), attention.collect, Actor("cli", frozenset({"supervisors"})), filters)
    except EngineError as error:
        _fail(f"error: {error.message} {getattr(error, 'fields', '') or ''}".strip())
        return
    if fmt == "table":
        for item in items:
            click.echo(f"{item.kind:<13}{item.instance_id:>7}  {item.process_key}/{item.element or '-'}  "
                       f"{item.age_days:>3} wd  {', '.join(item.waiting_for)}  {item.title}  {item.message}")
        click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))
        return
    if fmt == "xlsx" and output is None:
        _fail("error: --output FILE is required for xlsx")
    content, _, _ = exports.attention_file(items, fmt, language)
    if output is None:
        click.echo(content.decode("utf-8-sig"), nl=False)
    else:
        output.write_bytes(content)
        click.echo(f"wrote {len(items)} item(s) to {output}")


def _supervisor(username: str) -> Actor:
    user = commands.query(engine_db(), users.find, username)
    if user is None or not user.active:
        raise EngineError(f"no active user named '{username}'")
    return users.actor_of(user)


@supervisor_cli.command("bulk")
@click.argument("action", type=click.Choice(interventions.ACTIONS))
@click.option("--as", "as_user", required=True, help="the supervisor doing it (a user in 'supervisors')")
@click.option("--reason", required=True)
@click.option("--ids", default="", help="comma-separated instance ids")
@click.option("--process-key", default=None)
@click.option("--state", "states", multiple=True, type=click.Choice(selection.STATES))
@click.option("--element", default=None, help="instances waiting or failed at this element")
@click.option("--attention-kind", type=click.Choice(attention.KINDS), default=None)
@click.option("--assignee", default=None, help="reassign: the new assignee")
@click.option("--dry-run", is_flag=True, help="only show the preview")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def bulk_command(action: str, as_user: str, reason: str, ids: str, process_key: str | None,
                 states: tuple[str, ...], element: str | None, attention_kind: str | None,
                 assignee: str | None, dry_run: bool, yes: bool) -> None:
    db = engine_db()
    try:
        actor = _supervisor(as_user)
        chosen = selection.InstanceFilter(
            ids=tuple(int(i) for i in ids.split(",") if i.strip()), process_key=process_key,
            states=states, element=element, attention_kind=attention_kind)
        instance_ids = commands.query(db, selection.resolve, actor, chosen)
        request = interventions.BulkRequest(action, reason, assignee=assignee, element=element)
        planned = commands.query(db, interventions.preview, actor, request, instance_ids)
    except ValueError:
        _fail("error: --ids must be comma-separated numbers")
        return
    except EngineError as error:
        _fail(f"error: {error.message} {getattr(error, 'fields', '') or ''}".strip())
        return
    for row in planned:
        click.echo(f"{row.instance_id:>7}  {row.process_key:<20} {row.will:<7} {row.description}")
    changing = sum(1 for p in planned if p.will == "change")
    click.echo(f"{changing} of {len(planned)} instance(s) would change")
    if dry_run or not changing or not (yes or click.confirm(f"{action} {changing} instance(s)?")):
        return
    with click.progressbar(length=len(instance_ids), label=action, show_pos=True) as bar:
        report = interventions.run_bulk(db, actor, request, instance_ids,
                                        lambda done, total, outcome: bar.update(1))
    for failure in report.failures:
        click.echo(f"failed {failure.instance_id}: {failure.message}", err=True)
    click.echo(f"{report.succeeded} done, {report.failed} failed")
    if report.failed:
        sys.exit(1)


@supervisor_cli.command("spot-check")
@click.option("--as", "as_user", required=True, help="The supervisor who draws (on the audit record).")
@click.option("--year", type=int, required=True, help="The year drawn; each year is drawn once.")
@click.option("--share", type=float, default=spot_checks.DEFAULT_SHARE, show_default=True,
              help="The share of the running projects to draw (0-1].")
@click.option("--seed", type=int, default=None, help="The random seed (default: a fresh one, printed).")
def spot_check_command(as_user: str, year: int, share: float, seed: int | None) -> None:
    """Draw the year's random spot check of running projects and start a check for each."""
    try:
        actor = _supervisor(as_user)
        result = commands.execute(engine_db(), spot_checks.draw, actor, year, share, seed)
    except EngineError as exc:
        _fail(f"error: {exc}")
        return
    click.echo(f"spot check {result.year}: {len(result.drawn)} of {len(result.candidates)} running project(s) "
               f"drawn (share {result.share:g}, seed {result.seed}): {', '.join(map(str, result.drawn)) or '-'}")
