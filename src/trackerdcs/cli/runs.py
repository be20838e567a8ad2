"""``dcs runs`` and ``dcs runs show RUN``: the DAQ run records, with their conditions."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import click

from trackerdcs.cli.archive import DATA_OPTION
from trackerdcs.cli.common import fail, stand_or_exit
from trackerdcs.cli.durations import parse_time
from trackerdcs.runstore.base import Record, RunQuery, RunStore, StoreUnavailable
from trackerdcs.runstore.open import StoreUrlError, check_store_url, open_store
from trackerdcs.stand import Stand
from trackerdcs.stand.archive import stand_data_dir

CONFIG_OPTION = click.option(
    "--config", "-c", type=click.Path(path_type=Path, dir_okay=False), envvar="DCS_CONFIG", help="Stand file."
)


STORE_OPTION = click.option(
    "--store",
    envvar="DCS_RUNSTORE",
    metavar="URL",
    help="Run store: mongodb://[user@]HOST:PORT/DB (password: DCS_RUNSTORE_PASSWORD); default: [daq] store.",
)


def register(cli: click.Group) -> None:
    cli.add_command(runs)


def override_store(stand: Stand, store: str | None) -> None:
    """``--store``, checked, in place of the stand's ``[daq] store``; a wrong URL exits."""
    if store is None or stand.daq is None:
        return
    try:
        check_store_url(store)
    except StoreUrlError as exc:
        raise fail(f"--store: {exc}") from None
    stand.daq.store = store


def store_or_exit(config: Path | None, data_dir: Path) -> RunStore:
    stand = stand_or_exit(config)
    daq = stand.daq
    try:
        return open_store(
            daq.store if daq else None,
            stand_data_dir(data_dir, stand.name),
            daq.store_secret_file if daq else None,
        )
    except StoreUrlError as exc:
        raise fail(f"{stand.source}: daq.store: {exc}") from None


def find_run(config: Path | None, data_dir: Path, key: str) -> Record:
    store = store_or_exit(config, data_dir)
    try:
        record = store.get(key)
    except StoreUnavailable as exc:
        raise fail(f"run store unavailable: {exc}") from None
    finally:
        store.close()
    if record is None:
        raise fail(f"no run {key!r} in the run store", 1)
    return record


@click.group(invoke_without_command=True)
@click.option("--module", help="Only runs of this module.")
@click.option("--since", help="Only runs started since: 30m, 7d, or an ISO time.")
@click.option("--status", help="Only runs with this status: done, failed, aborted, interlocked …")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="One JSON record per line.")
@CONFIG_OPTION
@DATA_OPTION
@click.pass_context
def runs(
    ctx: click.Context,
    module: str | None,
    since: str | None,
    status: str | None,
    limit: int,
    as_json: bool,
    config: Path | None,
    data_dir: Path,
) -> None:
    """The DAQ runs, newest first; `dcs runs show RUN` for one run with its conditions."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        start = dt.datetime.fromtimestamp(parse_time(since, time.time()), dt.UTC) if since else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    store = store_or_exit(config, data_dir)
    try:
        found = store.find(RunQuery(module, start, status, limit))
    except StoreUnavailable as exc:
        raise fail(f"run store unavailable: {exc}") from None
    finally:
        store.close()
    if not found:
        click.echo("no runs", err=True)
    for record in found:
        click.echo(json.dumps(record, default=_json_default) if as_json else _line(record))


@runs.command("show")
@click.argument("run")
@click.option("--json", "as_json", is_flag=True, help="The whole record as JSON.")
@CONFIG_OPTION
@DATA_OPTION
def runs_show(run: str, as_json: bool, config: Path | None, data_dir: Path) -> None:
    """One run's record (RUN: the Ph2_ACF run number or the record id), with its conditions."""
    record = find_run(config, data_dir, run)
    if as_json:
        click.echo(json.dumps(record, default=_json_default, indent=2))
        return
    for line in describe(record):
        click.echo(line)


def _json_default(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _when(value: Any) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, dt.datetime) else "-"


def _line(r: Record) -> str:
    modules = ",".join(r.get("modules") or [])
    error = f"  {r['error_class']}" if r.get("error_class") else ""
    when = _when(r.get("start"))
    return f"{r.get('run') or '-':>8}  {when}  {r.get('calibration')}  {modules}  {r.get('status')}{error}"


def describe(r: Record) -> list[str]:
    modules = ", ".join(r.get("modules") or [])
    lines = [
        f"run {r.get('run') or '-'}  ({r['id']})  {r.get('calibration')} on {modules}",
        f"  status     {r.get('status')}"
        + (f"  {r['error_class']}: {r.get('error_line')}" if r.get("error_class") else ""),
        f"  start      {_when(r.get('start'))} ({r.get('start_local')} {r.get('timezone')})"
        f"  UTC {r.get('start')}",
        f"  stop       {_when(r.get('stop'))}  UTC {r.get('stop')}  duration {r.get('duration')} s",
        f"  exit       code {r.get('exit_code')}, signal {r.get('signal')}"
        + (f"; stopped: {r['stop_reason']} ({r.get('stop_detail')})" if r.get("stop_reason") else ""),
        f"  session    {r.get('session') or '-'}  operator {r.get('operator') or '-'}"
        f"  note {r.get('note') or '-'}",
        f"  git hash   {r.get('git_hash') or '-'}   hardware ids {r.get('hardware_ids') or '-'}",
    ]
    for name, path in (r.get("files") or {}).items():
        lines.append(f"  {name:<10} {path or '-'}")
    lines.append(
        "  conditions" + ("" if r.get("conditions_complete", True) else " (the archive had not caught up)")
    )
    for c in r.get("conditions") or []:
        if c.get("count"):
            lines.append(
                f"    {c['signal']:<22} min {c['min']:<12.6g} max {c['max']:<12.6g} mean {c['mean']:<12.6g}"
                f" first {c['first']:<12.6g} last {c['last']:<12.6g} ({c['count']} points)"
            )
        else:
            lines.append(f"    {c['signal']:<22} no data in the run's window")
    for alarm in r.get("alarms") or []:
        lines.append(f"  alarm      {alarm.get('id')} ({alarm.get('severity')}): {alarm.get('message')}")
    return lines
