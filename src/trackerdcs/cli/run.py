"""Commands that run things: ``dcs up``, ``dcs device run``, ``dcs broker``, ``dcs config``."""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
from pathlib import Path

import click
from rich.console import Console

from trackerdcs.bus.broker import BrokerError
from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.cli.archive import DATA_OPTION, target_or_exit
from trackerdcs.cli.common import (
    broker_or_exit,
    common_options,
    fail,
    run_async,
    setup_logging,
    stand_or_exit,
)
from trackerdcs.services.console.settings import PortInUse, check_port
from trackerdcs.services.device.build import device_service
from trackerdcs.services.device.host import EMBEDDED_STAGGER, DeviceHost
from trackerdcs.services.safety.build import safety_service
from trackerdcs.stand import StandError, default_stand_text
from trackerdcs.stand.archive import DEFAULT_DATA
from trackerdcs.supervisor.parts import CONSOLE, select
from trackerdcs.supervisor.restart import StartFailed
from trackerdcs.supervisor.stack import StackInfo, StackOptions, run_stack

log = logging.getLogger(__name__)


def register(cli: click.Group) -> None:
    cli.add_command(up)
    cli.add_command(device)
    cli.add_command(safety)
    cli.add_command(broker)
    cli.add_command(config)


@click.command()
@common_options
@click.option("--mqtt-port", default=1883, show_default=True, help="Port of the broker dcs up starts.")
@click.option(
    "--broker-kind",
    type=click.Choice(["auto", "mosquitto", "embedded"]),
    default="auto",
    show_default=True,
    help="Which broker to start when the stand names none.",
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_DATA,
    envvar="DCS_DATA_DIR",
    show_default=True,
    help="Where the stand keeps its data: the broker's state, the SQLite archive, the spool, the alarm book.",
)
@click.option(
    "--archive",
    "archive_url",
    envvar="DCS_ARCHIVE",
    metavar="URL",
    help="Archive: influxdb://HOST:PORT/DB, influxdb2://HOST:PORT/?org=O&bucket=B or sqlite:///FILE "
    "(default: the stand's [archive], else SQLite in the data directory).",
)
@click.option(
    "--only",
    multiple=True,
    metavar="PATTERN",
    help="Run only the matching part of the stand (globs over device names, 'safety', 'archive', 'daq', "
    "'console'; repeatable or comma-separated), against the stand's shared broker.",
)
@click.option(
    "--web-port",
    default=8080,
    show_default=True,
    envvar="DCS_WEB_PORT",
    type=click.IntRange(1, 65535),
    help="Port of the browser console, on 127.0.0.1.",
)
@click.option("--no-web", is_flag=True, help="Do not start the browser console.")
def up(
    config: Path | None,
    broker_url: str | None,
    verbose: int,
    quiet: int,
    mqtt_port: int,
    broker_kind: str,
    data_dir: Path,
    archive_url: str | None,
    only: tuple[str, ...],
    web_port: int,
    no_web: bool,
) -> None:
    """Run the stand: a broker, the archiver, every device service and the console. Ctrl-C stops it all."""
    setup_logging(verbose, quiet)
    stand = stand_or_exit(config)
    if broker_url:
        stand.broker.url = broker_url
    if only and not stand.broker.url:
        raise fail(
            "--only runs a part of a stand: its parts share a broker, so name it (--broker or [broker] url)"
        )
    if archive_url:
        target_or_exit(stand, data_dir, archive_url)  # a wrong URL stops here, before anything starts
    try:
        part = select(stand, only)
    except StandError as exc:
        raise fail(str(exc)) from None
    console = not no_web and (part is None or CONSOLE in part)
    if console:
        try:
            check_port("127.0.0.1", web_port)
        except PortInUse as exc:
            raise fail(str(exc)) from None
    options = StackOptions(
        stand,
        config,
        mqtt_port,
        data_dir,
        broker_kind,
        archive=archive_url,
        only=part,
        web_port=web_port if console else None,
        web_token=secrets.token_urlsafe(24) if console else None,
    )
    try:
        run_async(run_stack(options, _banner))
    except (BrokerError, StartFailed) as exc:
        raise fail(str(exc)) from None
    except TimeoutError:
        raise fail("not every device came online in time; see the log above", 1) from None
    click.echo("dcs up: stopped", err=True)


def _banner(info: StackInfo) -> None:
    console = Console(stderr=False, soft_wrap=True)
    b = info.broker
    console.print(
        f"[bold green]Stand is up[/]: {len(info.devices)} services online in "
        f"{info.seconds_to_online:.2f} s ({', '.join(info.devices)})"
    )
    console.print(f"  broker  {b.url} ({info.broker_kind})")
    if info.console_url:
        console.print(f"  console [bold]{info.console_url}[/]   (open it in a browser; it logs you in)")
    console.print("Try, in another terminal:")
    console.print(f"  mosquitto_sub -h {b.host} -p {b.port} -t '/#' -v")
    console.print(f"  mosquitto_pub -h {b.host} -p {b.port} -t /hv/cmd/setv/0 -m 100.")
    console.print(f"  mosquitto_pub -h {b.host} -p {b.port} -t /hv/cmd/switch/0 -m on   # refused: LV first")
    console.print(f"  .venv/bin/dcs module on M1 --broker {b.url}   # LV, then HV")
    console.print(f"  .venv/bin/dcs watch --broker {b.url}")
    console.print("Press Ctrl-C to stop.")


@click.group()
def device() -> None:
    """Run device services: one alone, or several simulated ones in one process."""


@device.command("run")
@click.argument("name")
@common_options
@click.option("--buffer", type=click.IntRange(min=1), help="Samples kept while the broker is away.")
def device_run(
    name: str, config: Path | None, broker_url: str | None, verbose: int, quiet: int, buffer: int | None
) -> None:
    """Run the service of device NAME from the stand file (what a container runs)."""
    setup_logging(verbose, quiet)
    stand = stand_or_exit(config)
    settings = broker_or_exit(broker_url, None) if broker_url else stand.broker_settings(BrokerSettings())
    if buffer:
        stand.broker.buffer = buffer
    try:
        service = device_service(stand, name, settings)
    except StandError as exc:
        raise fail(str(exc)) from None
    except Exception as exc:  # a driver that cannot start names its problem
        raise fail(f"{stand.source}: device {name}: {exc}") from None
    kind, driver = service.device.config.kind, service.device.config.driver
    log.info("device %s (%s, %s) using broker %s", name, kind, driver, settings.url)
    run_async(service.run())


@device.command("host")
@click.argument("names", nargs=-1, required=True)
@common_options
def device_host(
    names: tuple[str, ...], config: Path | None, broker_url: str | None, verbose: int, quiet: int
) -> None:
    """Run the services of several devices in one process (what `dcs up` does for simulated ones).

    Each keeps its own MQTT session, last will and worker thread; a device on real
    hardware is better run alone with `dcs device run`.
    """
    setup_logging(verbose, quiet)
    stand = stand_or_exit(config)
    settings = broker_or_exit(broker_url, None) if broker_url else stand.broker_settings(BrokerSettings())
    try:
        for name in names:
            stand.device(name)  # an unknown name stops here, before anything starts
    except StandError as exc:
        raise fail(str(exc)) from None
    log.info("hosting %d devices (%s) using broker %s", len(names), ", ".join(names), settings.url)
    # Up to 20 worker threads share the interpreter with the event loop: hand the GIL over
    # every 1 ms instead of 5, so a command is not kept waiting behind a neighbour's read.
    sys.setswitchinterval(0.001)
    # amqtt (the embedded broker, 3.1.1 only) can lose CONNECTs that arrive together.
    stagger = EMBEDDED_STAGGER if settings.protocol == "3.1.1" else 0.01
    run_async(DeviceHost(list(names), lambda name: device_service(stand, name, settings), stagger).run())


@click.group()
def safety() -> None:
    """The safety service: interlocks, module sequencing, alarms, notifications."""


@safety.command("run")
@common_options
@DATA_OPTION
def safety_run(config: Path | None, broker_url: str | None, verbose: int, quiet: int, data_dir: Path) -> None:
    """Run the stand's safety service (`dcs up` starts it when the stand has modules or rules).

    Its alarm book is kept in the data directory and read back on start.
    """
    setup_logging(verbose, quiet)
    stand = stand_or_exit(config)
    settings = broker_or_exit(broker_url, None) if broker_url else stand.broker_settings(BrokerSettings())
    try:
        service = safety_service(stand, settings, data_dir)
    except StandError as exc:
        raise fail(str(exc)) from None
    run_async(service.run())


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=1883, show_default=True)
@click.option("-v", "--verbose", count=True)
@click.option("-q", "--quiet", count=True)
def broker(host: str, port: int, verbose: int, quiet: int) -> None:
    """Run the embedded MQTT broker (amqtt): for demos without mosquitto."""
    # Imported here, not at the top: every service process loads the CLI, and amqtt
    # is only this command's.
    from trackerdcs.bus.embedded import serve

    setup_logging(verbose, quiet)
    run_async(serve(host, port, asyncio.Event()))


@click.group()
def config() -> None:
    """Check or print stand files."""


@config.command("check")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
def config_check(path: Path) -> None:
    """Validate a stand file and list its devices."""
    stand = stand_or_exit(path)
    for dev in stand.devices:
        click.echo(f"{dev.name}: {dev.kind}, driver {dev.driver}, {dev.channels} channel(s)")
    click.echo(f"{path}: OK")


@config.command("default")
def config_default() -> None:
    """Print the default stand file, to start your own from it."""
    click.echo(default_stand_text(), nl=False)
