"""``dcs up``: a broker and every device service of a stand, as one supervised stack."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiomqtt import Message

from trackerdcs.bus.broker import BrokerPlan, check_port_free, plan_broker, wait_port
from trackerdcs.bus.session import honour_cancel, session
from trackerdcs.bus.settings import BrokerSettings, Protocol, client_id
from trackerdcs.contract.payloads import ONLINE
from trackerdcs.contract.topics import device_of, wildcard
from trackerdcs.runtime.processes import spawn, stop
from trackerdcs.stand import Stand
from trackerdcs.supervisor.restart import Supervised

log = logging.getLogger(__name__)

EMBEDDED_STAGGER = 0.15  # s between service starts on the embedded broker
ARCHIVE = "archive"


@dataclass
class StackOptions:
    stand: Stand
    config: Path | None
    mqtt_port: int = 1883
    data_dir: Path = field(default_factory=lambda: Path.home() / ".local/share/trackerdcs")
    broker: str = "auto"  # auto, mosquitto or embedded
    online_timeout: float = 60.0
    archive: str | None = None  # --archive URL; None: the stand's, else SQLite in data_dir


@dataclass
class StackInfo:
    """What the stack reports once every device is online."""

    broker: BrokerSettings
    broker_kind: str  # external, mosquitto or embedded
    devices: list[str]
    seconds_to_online: float


def service_argv(service: list[str], options: StackOptions, broker: BrokerSettings) -> list[str]:
    argv = [sys.executable, "-m", "trackerdcs", *service, "--broker", broker.url]
    if options.config is not None:
        argv += ["--config", str(options.config)]
    return argv


async def run_stack(options: StackOptions, on_ready: Callable[[StackInfo], None]) -> None:
    """Run until cancelled; stop devices first, then the broker."""
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
    broker_process = await spawn(plan.argv) if plan else None
    try:
        await wait_port(broker.host, broker.port, 15.0, broker_process)
        await _run_devices(options, broker, plan, started, on_ready)
    finally:
        if broker_process is not None:
            await asyncio.shield(stop(broker_process, "broker"))


async def _run_devices(
    options: StackOptions,
    broker: BrokerSettings,
    plan: BrokerPlan | None,
    started: float,
    on_ready: Callable[[StackInfo], None],
) -> None:
    names = [d.name for d in options.stand.devices]
    children = [Supervised(n, service_argv(["device", "run", n], options, broker)) for n in names]
    if options.stand.has_safety:
        names.append(options.stand.interlock.name)
        safety = ["safety", "run", "--data-dir", str(options.data_dir)]  # where its alarm book lives
        children.insert(0, Supervised("safety", service_argv(safety, options, broker)))
    archiver = Supervised(ARCHIVE, service_argv(archive_command(options), options, broker))
    async with session(broker, client_id("dcs-up")) as client:
        # Subscribe before the devices start, so no fresh "online" can be missed.
        await client.subscribe(wildcard("availability"), qos=1)
        honour_cancel()  # Ctrl-C during the subscribe must still stop us
        async with asyncio.TaskGroup() as tasks:
            # The archiver first: once it is subscribed, no sample of the devices is missed.
            messages = aiter(client.messages)
            tasks.create_task(archiver.run())
            await wait_online(messages, [ARCHIVE], options.online_timeout)
            for child in children:
                tasks.create_task(child.run())
                if plan is not None and plan.kind == "embedded":
                    # amqtt can lose a CONNECT when several arrive at once (its
                    # client_connected_cb iterates a dict that changes); the client then
                    # waits 10 s for a CONNACK. Spacing the starts avoids it.
                    await asyncio.sleep(EMBEDDED_STAGGER)
            await wait_online(messages, names, options.online_timeout)
            kind = plan.kind if plan else "external"
            on_ready(StackInfo(broker, kind, [ARCHIVE, *names], time.monotonic() - started))
            await log_availability(messages)


def archive_command(options: StackOptions) -> list[str]:
    command = ["archive", "run", "--data-dir", str(options.data_dir)]
    return command + (["--archive", options.archive] if options.archive else [])


async def wait_online(messages: AsyncIterator[Message], names: list[str], timeout: float) -> None:
    """Wait for a fresh (not retained) ``online`` from every device."""
    pending = set(names)
    async with asyncio.timeout(timeout):
        while pending:
            message = await anext(messages)
            device = device_of(message.topic.value)
            if not message.retain and device is not None and message.payload == ONLINE.encode():
                pending.discard(device)


async def log_availability(messages: AsyncIterator[Message]) -> None:
    """Log every device that goes offline or comes back."""
    async for message in messages:
        device = device_of(message.topic.value)
        state = message.payload.decode() if isinstance(message.payload, bytes) else message.payload
        if state == ONLINE:
            log.info("%s is online", device)
        else:
            log.warning("%s is %s", device, state)
