"""``dcs up``: a broker and every device service of a stand, as one supervised stack."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from trackerdcs.bus.broker import BrokerPlan, check_port_free, plan_broker, wait_port
from trackerdcs.bus.settings import BrokerSettings, Protocol
from trackerdcs.runtime.processes import cancel_and_wait, finish, stop
from trackerdcs.services.console.settings import TOKEN_ENV
from trackerdcs.stand import Stand
from trackerdcs.supervisor.parts import ARCHIVE, CONSOLE, DAQ, SAFETY
from trackerdcs.supervisor.restart import Supervised
from trackerdcs.supervisor.watch import Availability

log = logging.getLogger(__name__)

EMBEDDED_STAGGER = 0.15  # s between service starts on the embedded broker
HOST_SIZE = 20  # simulated devices per host process: 160 devices are 8 processes
# The archive and the console yield the CPU to the control path (broker, safety, devices)
# when both want it: at 10,240 channels on two cores, setv's p99 fell from 10–12 to 8.5–9 ms.
# What they take in waits in the broker's and their own queues, and is not lost.
BACKGROUND = (ARCHIVE, CONSOLE)
BACKGROUND_NICE = 10


@dataclass
class StackOptions:
    stand: Stand
    config: Path | None
    mqtt_port: int = 1883
    data_dir: Path = field(default_factory=lambda: Path.home() / ".local/share/trackerdcs")
    broker: str = "auto"  # auto, mosquitto or embedded
    online_timeout: float = 60.0
    archive: str | None = None  # --archive URL; None: the stand's, else SQLite in data_dir
    only: set[str] | None = None  # --only: the parts this machine runs (supervisor/parts.py); None: all
    web_port: int | None = 8080  # the console's port; None: no console (--no-web)
    web_token: str | None = None  # the console's login token, printed in the banner


@dataclass
class StackInfo:
    """What the stack reports once every device is online."""

    broker: BrokerSettings
    broker_kind: str  # external, mosquitto or embedded
    devices: list[str]
    seconds_to_online: float
    console_url: str | None = None  # logs the local user in


def service_argv(service: list[str], options: StackOptions, broker: BrokerSettings) -> list[str]:
    argv = [sys.executable, "-m", "trackerdcs", *service, "--broker", broker.url]
    if options.config is not None:
        argv += ["--config", str(options.config)]
    return argv


async def run_stack(options: StackOptions, on_ready: Callable[[StackInfo], None]) -> None:
    """Run until cancelled (Ctrl-C, SIGTERM); then stop the services first and the broker last.

    Nothing else stops it: a broker that dies is started again at once on the same port
    with the same configuration and persistence, a service that dies is restarted, and a
    lost connection of the supervisor's own is reconnected.
    """
    started = time.monotonic()
    stand = options.stand
    plan: BrokerPlan | None = None
    if stand.broker.url:
        broker = stand.broker_settings(BrokerSettings())
    else:
        check_port_free("127.0.0.1", options.mqtt_port)
        plan = plan_broker(options.mqtt_port, options.data_dir / stand.name, options.broker)
        # amqtt speaks 3.1.1 only: say so, rather than have every client probe for v5.
        protocol: Protocol = "3.1.1" if plan.kind == "embedded" else "auto"
        broker = BrokerSettings("127.0.0.1", options.mqtt_port, protocol=protocol)
    broker_task = await _start_broker(plan, broker) if plan else None
    try:
        await _run_services(options, broker, plan, started, on_ready)
    finally:  # the broker stops last, once every service has
        if broker_task is not None:
            await cancel_and_wait([broker_task])


async def _start_broker(plan: BrokerPlan, broker: BrokerSettings) -> asyncio.Task[None]:
    """Start the broker and wait until it listens; from then on it is restarted whenever it dies."""
    child = Supervised("broker", plan.argv, min_delay=0.0, max_delay=2.0)
    process = await child.start()
    try:
        await wait_port(broker.host, broker.port, 15.0, process)
    except BaseException:
        await finish(stop(process, "broker"))
        raise
    return asyncio.create_task(child.run())


async def _run_services(
    options: StackOptions,
    broker: BrokerSettings,
    plan: BrokerPlan | None,
    started: float,
    on_ready: Callable[[StackInfo], None],
) -> None:
    watch = Availability(broker)
    children = _children(options, broker, watch)
    names = [name for c in children for name in c.availability]
    tasks = [asyncio.create_task(watch.run())]
    try:
        # Subscribed before anything starts, so no fresh "online" can be missed.
        await asyncio.wait_for(watch.subscribed.wait(), options.online_timeout)
        # The archiver first (where this machine runs it): once it is subscribed, no sample
        # of the devices is missed.
        services = children
        if children and children[0].name == ARCHIVE:
            archiver, services = children[0], children[1:]
            tasks.append(asyncio.create_task(archiver.run()))
            await _wait_online(watch, [ARCHIVE], options.online_timeout, tasks)
        for child in services:
            tasks.append(asyncio.create_task(child.run()))
            if plan is not None and plan.kind == "embedded":
                # amqtt can lose a CONNECT when several arrive at once (its
                # client_connected_cb iterates a dict that changes); the client then
                # waits 10 s for a CONNACK. Spacing the starts avoids it.
                await asyncio.sleep(EMBEDDED_STAGGER)
        await _wait_online(watch, names, options.online_timeout, tasks)
        for child in children:
            child.starting = False
        kind = plan.kind if plan else "external"
        url = console_url(options) if any(c.name == CONSOLE for c in children) else None
        on_ready(StackInfo(broker, kind, names, time.monotonic() - started, url))
        # Until cancelled: none of them ends by itself. asyncio.wait, unlike gather, does not
        # cancel them when we are cancelled, so cancel_and_wait below cancels each exactly once.
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        await cancel_and_wait(tasks)


def _children(options: StackOptions, broker: BrokerSettings, watch: Availability) -> list[Supervised]:
    """The archiver, the safety service (when the stand has one), every device, the DAQ (with [daq])."""

    async def exited(child: Supervised, code: int) -> None:
        await watch.mark_offline(child.availability)

    def child(
        name: str,
        command: list[str],
        availability: Sequence[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> Supervised:
        argv = service_argv(command, options, broker)
        nice = BACKGROUND_NICE if name in BACKGROUND else 0
        return Supervised(name, argv, availability=availability, on_exit=exited, env=env, nice=nice)

    def wanted(name: str) -> bool:
        return options.only is None or name in options.only

    children = [child(ARCHIVE, archive_command(options))] if wanted(ARCHIVE) else []
    if options.stand.has_safety and wanted(SAFETY):
        safety = ["safety", "run", "--data-dir", str(options.data_dir)]  # where its alarm book lives
        children.append(child(SAFETY, safety, [options.stand.interlock.name]))
    hosted, alone = device_groups(options.stand, wanted)
    for i, group in enumerate(hosted, start=1):
        children.append(child(f"devices-{i}", ["device", "host", *group], group))
    children += [child(name, ["device", "run", name]) for name in alone]
    daq = options.stand.daq
    if daq is not None and wanted(DAQ):
        children.append(child(DAQ, daq_command(options), [daq.name]))
    if options.web_port is not None and wanted(CONSOLE):
        env = {TOKEN_ENV: options.web_token} if options.web_token else None
        children.append(child(CONSOLE, console_command(options), [options.stand.console.name], env))
    return children


def console_command(options: StackOptions) -> list[str]:
    command = ["web", "run", "--data-dir", str(options.data_dir), "--port", str(options.web_port)]
    command += ["--local-login"] if options.web_token else ["--no-local-login"]
    return command + (["--archive", options.archive] if options.archive else [])


def console_url(options: StackOptions) -> str:
    base = f"http://127.0.0.1:{options.web_port}/"
    return f"{base}login?token={options.web_token}" if options.web_token else base


def daq_command(options: StackOptions) -> list[str]:
    command = ["daq", "run", "--data-dir", str(options.data_dir)]
    return command + (["--archive", options.archive] if options.archive else [])


def device_groups(
    stand: Stand, wanted: Callable[[str], bool] = lambda _: True, size: int = HOST_SIZE
) -> tuple[list[list[str]], list[str]]:
    """Simulated devices in groups of up to ``size`` per host process; every other device alone.

    A device on real hardware keeps a process of its own, so that a driver hung in C code
    cannot stall its neighbours (docs/decisions/0025).
    """
    devices = [d for d in stand.devices if wanted(d.name)]
    simulated = [d.name for d in devices if d.driver == "sim"]
    alone = [d.name for d in devices if d.driver != "sim"]
    count = -(-len(simulated) // size)  # ceil: as few hosts as fit, filled evenly
    return [simulated[i::count] for i in range(count)], alone


def archive_command(options: StackOptions) -> list[str]:
    command = ["archive", "run", "--data-dir", str(options.data_dir)]
    return command + (["--archive", options.archive] if options.archive else [])


async def _wait_online(
    watch: Availability, names: list[str], timeout: float, tasks: list[asyncio.Task[None]]
) -> None:
    """Wait for ``names`` to come online, unless a child fails to start meanwhile (StartFailed)."""
    waiting = asyncio.create_task(watch.wait_online(names, timeout))
    try:
        done, _ = await asyncio.wait([waiting, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in done - {waiting}:
            task.result()  # a child that ended raises what ended it (StartFailed)
        waiting.result()
    except TimeoutError:
        log.error("not online after %.0f s: %s", timeout, ", ".join(watch.missing(names)))
        raise
    finally:
        if not waiting.done():
            waiting.cancel()
