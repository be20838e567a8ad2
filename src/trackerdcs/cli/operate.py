"""Operator commands: ``dcs status``, ``set``, ``switch``, ``sim``, ``send``, ``watch``."""

from __future__ import annotations

import json
from pathlib import Path

import aiomqtt
import click
from rich.console import Console, RenderableType
from rich.live import Live

from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.cli.common import (
    EXIT_NO_REPLY,
    EXIT_REJECTED,
    broker_or_exit,
    common_options,
    fail,
    run_async,
    setup_logging,
)
from trackerdcs.cli.render import channel_table, stand_view
from trackerdcs.contract.payloads import Reply
from trackerdcs.contract.topics import DeviceTopics, TopicError
from trackerdcs.operator.client import DeviceView, NoReply, follow, send_command, snapshot

DEVICE_OPTION = click.option(
    "--device", metavar="NAME", help="One device's channel table instead of the stand."
)


def register(cli: click.Group) -> None:
    for command in (status, set_voltage, switch, sim, send, watch):
        cli.add_command(command)


def _broker(config: Path | None, broker_url: str | None, verbose: int, quiet: int) -> BrokerSettings:
    setup_logging(verbose, quiet + 1)  # operator commands print, they do not log
    return broker_or_exit(broker_url, config)


@click.command()
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@DEVICE_OPTION
def status(
    config: Path | None, broker_url: str | None, verbose: int, quiet: int, as_json: bool, device: str | None
) -> None:
    """Show the stand: one line per device, the modules, the interlock rules and the archive."""
    broker = _broker(config, broker_url, verbose, quiet)
    try:
        views = run_async(snapshot(broker)) or {}
    except aiomqtt.MqttError as exc:
        raise fail(f"broker {broker.url}: {exc}") from None
    if device is not None and device not in views:
        raise fail(f"no device {device!r} on {broker.url} (devices: {', '.join(sorted(views)) or 'none'})")
    if as_json:
        chosen = {device: views[device]} if device else views
        click.echo(json.dumps({n: vars(v) for n, v in chosen.items()}, indent=2))
    elif not views:
        click.echo(f"no device has published on {broker.url}")
    else:
        Console().print(_view(views, device))


def _view(views: dict[str, DeviceView], device: str | None) -> RenderableType:
    if device is None:
        return stand_view(views)
    return channel_table(views[device]) if device in views else f"waiting for {device}..."


def send_and_print(broker: BrokerSettings, topic: str, payload: str, timeout: float) -> None:
    """Send a command, print the reply; exit 1 when rejected, 3 when unanswered."""
    try:
        reply: Reply | None = run_async(send_command(broker, topic, payload, timeout))
    except NoReply as exc:
        raise fail(str(exc), EXIT_NO_REPLY) from None
    except aiomqtt.MqttError as exc:
        raise fail(f"broker {broker.url}: {exc}", EXIT_NO_REPLY) from None
    if reply is None:
        raise click.exceptions.Exit(EXIT_NO_REPLY)
    if reply.ok:
        click.echo(f"{reply.device}: accepted: {reply.message}")
        return
    click.echo(f"{reply.device}: rejected ({reply.reason}): {reply.message}", err=True)
    raise click.exceptions.Exit(EXIT_REJECTED)


def _topic(device: str, build: str, name: str, channel: int | None) -> str:
    try:
        topics = DeviceTopics(device)
        return topics.cmd(name, channel) if build == "cmd" else topics.sim(name, channel)
    except TopicError as exc:
        raise fail(str(exc)) from None


timeout_option = click.option(
    "--timeout", default=5.0, show_default=True, help="Seconds to wait for the reply."
)


@click.command("set", context_settings={"ignore_unknown_options": True})
@click.argument("device")
@click.argument("channel", type=click.IntRange(min=0))
@click.argument("volts")
@common_options
@timeout_option
def set_voltage(
    device: str,
    channel: int,
    volts: str,
    config: Path | None,
    broker_url: str | None,
    verbose: int,
    quiet: int,
    timeout: float,
) -> None:
    """Set the requested voltage of DEVICE CHANNEL to VOLTS."""
    broker = _broker(config, broker_url, verbose, quiet)
    send_and_print(broker, _topic(device, "cmd", "setv", channel), volts, timeout)


@click.command()
@click.argument("device")
@click.argument("channel", type=click.IntRange(min=0))
@click.argument("state", type=click.Choice(["on", "off"], case_sensitive=False))
@common_options
@timeout_option
def switch(
    device: str,
    channel: int,
    state: str,
    config: Path | None,
    broker_url: str | None,
    verbose: int,
    quiet: int,
    timeout: float,
) -> None:
    """Switch DEVICE CHANNEL on or off."""
    broker = _broker(config, broker_url, verbose, quiet)
    send_and_print(broker, _topic(device, "cmd", "switch", channel), state.lower(), timeout)


@click.command()
@click.argument("device")
@click.argument("parameter")
@click.argument("value")
@click.option("--channel", type=click.IntRange(min=0), help="Only this channel.")
@common_options
@timeout_option
def sim(
    device: str,
    parameter: str,
    value: str,
    channel: int | None,
    config: Path | None,
    broker_url: str | None,
    verbose: int,
    quiet: int,
    timeout: float,
) -> None:
    """Steer a simulator, e.g. ``dcs sim env humidity 95``."""
    broker = _broker(config, broker_url, verbose, quiet)
    send_and_print(broker, _topic(device, "sim", parameter, channel), value, timeout)


@click.command()
@click.argument("device")
@click.argument("command")
@click.argument("payload", default="")
@click.option("--channel", type=click.IntRange(min=0), help="The channel, for channel commands.")
@common_options
@timeout_option
def send(
    device: str,
    command: str,
    payload: str,
    channel: int | None,
    config: Path | None,
    broker_url: str | None,
    verbose: int,
    quiet: int,
    timeout: float,
) -> None:
    """Send any command, e.g. ``dcs send hv rampup 5 --channel 0`` or ``dcs send hv rebirth``."""
    broker = _broker(config, broker_url, verbose, quiet)
    send_and_print(broker, _topic(device, "cmd", command, channel), payload, timeout)


@click.command()
@common_options
@DEVICE_OPTION
def watch(config: Path | None, broker_url: str | None, verbose: int, quiet: int, device: str | None) -> None:
    """Show the stand live, as `dcs status` does (Ctrl-C to leave)."""
    broker = _broker(config, broker_url, verbose, quiet)

    async def live() -> None:
        with Live(_view({}, device), auto_refresh=False) as screen:
            async for views in follow(broker):
                screen.update(_view(views, device), refresh=True)

    try:
        run_async(live())
    except aiomqtt.MqttError as exc:
        raise fail(f"broker {broker.url}: {exc}") from None
