"""``dcs archive run`` and ``dcs history``: store every sample, and read it back."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import click

from trackerdcs.archive.backend import Query, Series, Unavailable
from trackerdcs.archive.open import open_backend
from trackerdcs.archive.sqlite_schema import SchemaTooNew
from trackerdcs.archive.url import ArchiveTarget, ArchiveUrlError
from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.cli.common import (
    broker_or_exit,
    common_options,
    fail,
    run_async,
    setup_logging,
    stand_or_exit,
)
from trackerdcs.cli.durations import parse_time
from trackerdcs.stand import Stand
from trackerdcs.stand.archive import DEFAULT_DATA, archive_target, stand_data_dir

ARCHIVE_OPTION = click.option(
    "--archive",
    "archive_url",
    envvar="DCS_ARCHIVE",
    metavar="URL",
    help="influxdb://HOST:PORT/DB, influxdb2://HOST:PORT/?org=O&bucket=B or sqlite:///FILE "
    "(env DCS_ARCHIVE; default: the stand's [archive], else SQLite in the data directory).",
)
DATA_OPTION = click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_DATA,
    envvar="DCS_DATA_DIR",
    show_default=True,
    help="Where the stand keeps its data (the SQLite archive, the spool, the alarm book).",
)


def register(cli: click.Group) -> None:
    cli.add_command(archive)
    cli.add_command(history)


def target_or_exit(stand: Stand, data_dir: Path, url: str | None) -> ArchiveTarget:
    try:
        return archive_target(stand.archive, stand_data_dir(data_dir, stand.name), url)
    except ArchiveUrlError as exc:
        raise fail(f"{stand.source}: archive: {exc}") from None


@click.group()
def archive() -> None:
    """The archiver: every status, availability change and alarm event, stored."""


@archive.command("run")
@common_options
@ARCHIVE_OPTION
@DATA_OPTION
def archive_run(
    config: Path | None,
    broker_url: str | None,
    verbose: int,
    quiet: int,
    archive_url: str | None,
    data_dir: Path,
) -> None:
    """Run the archiver (`dcs up` starts it)."""
    setup_logging(verbose, quiet)
    stand = stand_or_exit(config)
    broker = broker_or_exit(broker_url, None) if broker_url else stand.broker_settings(BrokerSettings())
    target = target_or_exit(stand, data_dir, archive_url)
    a = stand.archive
    # Imported here, not at the top: every service process loads the CLI, and the
    # archiver (multiprocessing, paho) is only this command's.
    from trackerdcs.services.archiver.service import Archiver, ArchiverSettings

    settings = ArchiverSettings(
        spool_dir=stand_data_dir(data_dir, stand.name) / "spool",
        spool_max_bytes=a.spool_max_mb << 20,
        segment_bytes=a.batch_kb << 10,
        segment_age=a.flush_interval,
    )
    try:
        run_async(Archiver(target, broker, settings).run())
    except SchemaTooNew as exc:
        raise fail(str(exc)) from None


@click.command()
@click.argument("args", nargs=-1, required=True, metavar="DEVICE [CHANNEL] FIELD")
@click.option("--since", default="1h", show_default=True, help="Start: 30s, 15m, 2h, 7d ago, or an ISO time.")
@click.option("--until", default=None, help="End (default: now): same forms as --since.")
@click.option("--limit", default=100_000, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines (time, value).")
@click.option(
    "--plot", type=click.Path(path_type=Path, dir_okay=False), help="Draw the values into a PNG file."
)
@click.option(
    "--run", "run", help="The window of this DAQ run (its number or record id): --since/--until ignored."
)
@click.option("--config", "-c", type=click.Path(path_type=Path, dir_okay=False), help="Stand file.")
@ARCHIVE_OPTION
@DATA_OPTION
def history(
    args: tuple[str, ...],
    since: str,
    until: str | None,
    limit: int,
    as_json: bool,
    plot: Path | None,
    config: Path | None,
    archive_url: str | None,
    data_dir: Path,
    run: str | None = None,
) -> None:
    """Print the stored values of one field, e.g. `dcs history hv 0 vmon --since 2h`."""
    query = _query(args, since, until, limit)
    marks = None
    if run is not None:
        from trackerdcs.cli.runs import find_run

        record = find_run(config, data_dir, run)
        if record.get("stop") is None:
            raise fail(f"run {run} has no stop time yet")
        marks = (record["start"].timestamp(), record["stop"].timestamp())
        query = replace(query, since=marks[0], until=marks[1])
    stand = stand_or_exit(config)
    target = target_or_exit(stand, data_dir, archive_url)
    if target.scheme == "sqlite" and target.path is not None and not target.path.exists():
        raise fail(f"no archive at {target.path}: has `dcs up` run with this data directory?")
    try:
        backend = open_backend(target)
    except SchemaTooNew as exc:
        raise fail(str(exc)) from None
    try:
        series = backend.history(query)
    except Unavailable as exc:
        raise fail(f"archive unavailable: {exc}") from None
    finally:
        backend.close()
    _print(series, as_json)
    if plot is not None:
        from trackerdcs.cli.plot import plot_series  # matplotlib loads slowly: only when asked

        plot_series(series, query, plot, marks)
        click.echo(f"plot written to {plot}", err=True)


def _query(args: tuple[str, ...], since: str, until: str | None, limit: int) -> Query:
    if len(args) not in (2, 3):
        raise click.UsageError("give DEVICE FIELD or DEVICE CHANNEL FIELD")
    device, field = args[0], args[-1]
    channel = args[1] if len(args) == 3 else None
    try:
        start = parse_time(since, time.time())
        end = parse_time(until, time.time()) if until else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return Query(device, field, channel, start, end, limit)


def _print(series: Series, as_json: bool) -> None:
    if not series:
        click.echo("no values in that time range", err=True)
    for ts, value in series:
        if as_json:
            click.echo(json.dumps({"ts": ts, "value": value}))
        else:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) + f".{int(ts % 1 * 1000):03d}"
            click.echo(f"{stamp}  {value}")
