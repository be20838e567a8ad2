"""``dcs daq run|start|stop``: the DAQ service, and Ph2_ACF runs through it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiomqtt
import click

from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.cli.archive import ARCHIVE_OPTION, DATA_OPTION, target_or_exit
from trackerdcs.cli.common import (
    EXIT_NO_REPLY,
    EXIT_REJECTED,
    broker_or_exit,
    common_options,
    fail,
    run_async,
    setup_logging,
    stand_or_exit,
)
from trackerdcs.cli.runs import STORE_OPTION, override_store
from trackerdcs.contract.payloads import Reply
from trackerdcs.operator.client import NoReply
from trackerdcs.operator.daq import start_and_follow


def register(cli: click.Group) -> None:
    cli.add_command(daq)


@click.group()
def daq() -> None:
    """Ph2_ACF runs: the DAQ service, start and stop."""


@daq.command("run")
@common_options
@ARCHIVE_OPTION
@DATA_OPTION
@STORE_OPTION
def daq_run(
    config: Path | None,
    broker_url: str | None,
    verbose: int,
    quiet: int,
    archive_url: str | None,
    data_dir: Path,
    store: str | None,
) -> None:
    """Run the stand's DAQ service (`dcs up` starts it when the stand has a [daq] table)."""
    from trackerdcs.services.daq.build import daq_service  # only this command's

    setup_logging(verbose, quiet)
    stand = stand_or_exit(config)
    if stand.daq is None:
        raise fail(f"{stand.source}: no [daq] table: the stand runs no DAQ")
    override_store(stand, store)
    settings = broker_or_exit(broker_url, None) if broker_url else stand.broker_settings(BrokerSettings())
    target_or_exit(stand, data_dir, archive_url)
    try:
        service = daq_service(stand, settings, data_dir, archive_url)
    except Exception as exc:  # a store or directory that cannot be opened names its problem
        raise fail(str(exc)) from None
    run_async(service.run())


def _daq_name(config: Path | None) -> str:
    stand = stand_or_exit(config)
    return stand.daq.name if stand.daq is not None else "daq"


@daq.command("start")
@click.argument("calibration")
@click.option(
    "--module", "modules", multiple=True, help="A module of the run (repeatable; default: [daq] modules)."
)
@click.option("--session", help="The session the run belongs to.")
@click.option("--operator", help="Who runs it.")
@click.option("--note", help="A note kept with the run's record.")
@click.option(
    "--hw-config", help="Hardware description, relative to the DAQ's workdir (default: [daq] config)."
)
@click.option("--detach", is_flag=True, help="Return once the run is accepted; do not follow it.")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for the reply.")
@common_options
def daq_start(
    calibration: str,
    modules: tuple[str, ...],
    session: str | None,
    operator: str | None,
    note: str | None,
    hw_config: str | None,
    detach: bool,
    timeout: float,
    config: Path | None,
    broker_url: str | None,
    verbose: int,
    quiet: int,
) -> None:
    """Start a CALIBRATION run and follow it to its end, a line per step. Exit 0 if it is done."""
    setup_logging(verbose, quiet + 1)
    broker = broker_or_exit(broker_url, config)
    body: dict[str, Any] = {"calibration": calibration}
    for key, value in (("session", session), ("operator", operator), ("note", note), ("config", hw_config)):
        if value is not None:
            body[key] = value
    if modules:
        body["modules"] = list(modules)
    final = _send(broker, _daq_name(config), "start", json.dumps(body), timeout, follow=not detach)
    if final is not None and final.get("status") != "done":
        raise click.exceptions.Exit(EXIT_REJECTED)


@daq.command("stop")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for the reply.")
@common_options
def daq_stop(timeout: float, config: Path | None, broker_url: str | None, verbose: int, quiet: int) -> None:
    """Stop the run that is going (SIGINT; Ph2_ACF aborts). The run ends `aborted`."""
    setup_logging(verbose, quiet + 1)
    _send(broker_or_exit(broker_url, config), _daq_name(config), "stop", "", timeout, follow=False)


def _send(
    broker: BrokerSettings, name: str, command: str, payload: str, timeout: float, follow: bool
) -> dict[str, Any] | None:
    rejected = []

    def on_reply(reply: Reply) -> None:
        reason = f"{reply.reason}: " if reply.reason else ""
        click.echo(f"{'accepted' if reply.ok else 'rejected'}: {reason}{reply.message}")
        if not reply.ok:
            rejected.append(reply)

    try:
        final = run_async(
            start_and_follow(broker, name, command, payload, timeout, on_reply, _progress if follow else None)
        )
    except NoReply as exc:
        raise fail(str(exc), EXIT_NO_REPLY) from None
    except aiomqtt.MqttError as exc:
        raise fail(f"broker {broker.url}: {exc}", EXIT_NO_REPLY) from None
    if rejected:
        raise click.exceptions.Exit(EXIT_REJECTED)
    return final


def _progress(event: dict[str, Any]) -> None:
    kind = event.get("event")
    run = event.get("run") or "?"
    if kind == "state":
        step = f", step {event['step']}" if event.get("step") else ""
        click.echo(f"run {run}: {event.get('state')}{step}")
    elif kind == "ended":
        error = f" ({event['error_class']})" if event.get("error_class") else ""
        click.echo(f"run {run}: {event.get('status')}{error}")
    elif kind == "recorded":
        click.echo(f"run {run}: recorded as {event.get('id')} (dcs runs show {run})")
