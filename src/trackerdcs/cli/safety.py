"""Safety commands: ``dcs module``, ``dcs alarms``, ``dcs ack``, ``dcs rules test``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from trackerdcs.cli.common import (
    broker_or_exit,
    common_options,
    fail,
    run_async,
    setup_logging,
    stand_or_exit,
)
from trackerdcs.cli.operate import send_and_print, timeout_option
from trackerdcs.contract.topics import DeviceTopics, InterlockTopics
from trackerdcs.operator.client import retained, snapshot
from trackerdcs.safety.replay import RecordingError, parse_recording, replay


def register(cli: click.Group) -> None:
    cli.add_command(module)
    cli.add_command(alarms)
    cli.add_command(ack)
    cli.add_command(rules)


def _when(ts: float | None) -> str:
    return "" if ts is None else dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


@click.command()
@click.argument("action", type=click.Choice(["on", "off", "status"]))
@click.argument("name", required=False)
@common_options
@timeout_option
def module(
    action: str,
    name: str | None,
    config: Path | None,
    broker_url: str | None,
    verbose: int,
    quiet: int,
    timeout: float,
) -> None:
    """Switch a module on (LV, then HV) or off (HV down, then LV), or show modules."""
    setup_logging(verbose, quiet + 1)
    broker = broker_or_exit(broker_url, config)
    if action != "status":
        if not name:
            raise fail("name the module, e.g. `dcs module on M1`")
        send_and_print(broker, DeviceTopics(name).cmd(action), "", timeout)
        return
    views = run_async(snapshot(broker)) or {}
    table = Table(
        "module", "state", "reason", "LV", "HV", "sequence", "error", title="Modules", title_justify="left"
    )
    for view in views.values():
        body = view.status if isinstance(view.status, dict) else {}
        if view.meta.get("kind") == "module" and (name is None or view.name == name):
            table.add_row(
                view.name,
                str(body.get("state")),
                str(body.get("reason")),
                str(body.get("lv")),
                str(body.get("hv")),
                str(body.get("sequence")),
                str(body.get("error") or ""),
            )
    Console().print(table)


@click.command()
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def alarms(config: Path | None, broker_url: str | None, verbose: int, quiet: int, as_json: bool) -> None:
    """List the active alarms, and cleared ones waiting for an acknowledgement."""
    setup_logging(verbose, quiet + 1)
    broker = broker_or_exit(broker_url, config)
    topic = InterlockTopics(_interlock_name(config)).alarms
    listing = run_async(retained(broker, topic)) or []
    if as_json:
        click.echo(json.dumps(listing, indent=2))
        return
    table = Table(
        "id",
        "severity",
        "state",
        "message",
        "raised",
        "acknowledged by",
        title="Alarms",
        title_justify="left",
    )
    for alarm in listing if isinstance(listing, list) else []:
        state = ("ACTIVE" if alarm.get("active") else "cleared") + (
            "" if alarm.get("acknowledged") else ", unacked"
        )
        state += ", before restart" if alarm.get("predates_restart") else ""
        table.add_row(
            alarm.get("id"),
            alarm.get("severity"),
            state,
            alarm.get("message"),
            _when(alarm.get("raised_at")),
            alarm.get("acked_by") or "",
        )
    Console().print(table if table.row_count else "no alarms")


@click.command()
@click.argument("alarm_id")
@click.option("--by", default=None, help="Who acknowledges (default: your user name).")
@common_options
@timeout_option
def ack(
    alarm_id: str,
    by: str | None,
    config: Path | None,
    broker_url: str | None,
    verbose: int,
    quiet: int,
    timeout: float,
) -> None:
    """Acknowledge alarm ALARM_ID."""
    import getpass

    setup_logging(verbose, quiet + 1)
    broker = broker_or_exit(broker_url, config)
    payload = json.dumps({"id": alarm_id, "by": by or getpass.getuser()})
    send_and_print(broker, InterlockTopics(_interlock_name(config)).cmd("ack"), payload, timeout)


def _interlock_name(config: Path | None) -> str:
    return stand_or_exit(config).interlock.name


@click.group()
def rules() -> None:
    """Interlock rules."""


@rules.command("test")
@click.argument("recording", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--config",
    "-c",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="DCS_CONFIG",
    help="Stand file whose rules to test (default: the demo stand).",
)
def rules_test(recording: Path, config: Path | None) -> None:
    """Replay RECORDING (JSON messages or CSV samples) and report when each rule fires."""
    stand = stand_or_exit(config)
    try:
        transitions = replay(stand.rules, parse_recording(recording.read_text(), str(recording)))
    except RecordingError as exc:
        raise fail(str(exc)) from None
    for t in transitions:
        what = "FIRED  " if t.active else "cleared"
        click.echo(f"{t.ts:.3f}  {what}  {t.rule.name:<20} {t.rule.severity:<7} {t.message}")
    fired = {t.rule.name for t in transitions if t.active}
    click.echo(f"{len(fired)} of {len(stand.rules)} rules fired: {', '.join(sorted(fired)) or 'none'}")
