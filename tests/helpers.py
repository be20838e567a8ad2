"""Test helpers: free ports, real broker processes, a probe client, waiting on conditions."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt

from trackerdcs.bus.broker import find_mosquitto, mosquitto_config
from trackerdcs.bus.session import session
from trackerdcs.bus.settings import BrokerSettings, client_id
from trackerdcs.contract.payloads import Reply
from trackerdcs.devices.clock import SystemClock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.registry import create_device
from trackerdcs.services.device.service import DeviceService

TIMEOUT = 15.0  # generous upper bound for any condition; tests never sleep a fixed time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(condition: Callable[[], bool], timeout: float = TIMEOUT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


def dcs_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "trackerdcs", *args]


def end_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Signal a server process and reap it; kill it if it does not stop in time."""
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(sig)
    try:
        proc.wait(TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class BrokerProcess:
    """A real broker on a free loopback port, which tests may stop, kill and restart."""

    kind: str  # mosquitto or embedded
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def settings(self) -> BrokerSettings:
        if self.kind == "embedded":
            return BrokerSettings("127.0.0.1", self.port, protocol="3.1.1")
        return BrokerSettings("127.0.0.1", self.port)

    @property
    def url(self) -> str:
        return self.settings.url

    def argv(self) -> list[str]:
        if self.kind == "embedded":
            return dcs_argv("broker", "--port", str(self.port), "-q")
        mosquitto = find_mosquitto()
        if mosquitto is None:
            raise RuntimeError("mosquitto is not installed: run `make test`, which installs it")
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(mosquitto_config(self.port, self.workdir))
        return [mosquitto, "-c", str(conf)]

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = (self.workdir / "broker.log").open("ab")
        self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: port_open(self.port), what=f"{self.kind} broker on port {self.port}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is None:
            return
        end_process(self.proc, sig)
        self.proc = None
        wait_until(lambda: not port_open(self.port), what="the broker port to close")


class Probe:
    """A test client that records everything under ``/#`` and waits on conditions."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.messages: list[aiomqtt.Message] = []
        self._changed = asyncio.Event()

    async def _collect(self) -> None:
        async for message in self.client.messages:
            self.messages.append(message)
            self._changed.set()

    async def wait_for(
        self,
        predicate: Callable[[aiomqtt.Message], bool],
        timeout: float = TIMEOUT,
        what: str = "a message",
        start: int = 0,
    ) -> aiomqtt.Message:
        async with asyncio.timeout(timeout):
            index = start
            while True:
                for message in self.messages[index:]:
                    if predicate(message):
                        return message
                index = len(self.messages)
                self._changed.clear()
                await self._changed.wait()
        raise AssertionError(f"no {what}")  # pragma: no cover - the timeout raises first

    async def status(self, device: str, check: Callable[[Any], bool] = lambda _: True, start: int = 0) -> Any:
        message = await self.wait_for(
            lambda m: m.topic.value == f"/{device}/status" and check(decode(m)),
            what=f"/{device}/status",
            start=start,
        )
        return decode(message)

    async def reply(self, device: str, topic: str, start: int = 0) -> Reply:
        message = await self.wait_for(
            lambda m: m.topic.value == f"/{device}/reply" and decode(m).get("topic") == topic,
            what=f"a reply to {topic}",
            start=start,
        )
        return Reply.model_validate(decode(message))

    async def command(self, topic: str, payload: bytes | str) -> Reply:
        """Publish a command and return the device's reply to it."""
        mark = len(self.messages)
        await self.client.publish(topic, payload, qos=1)
        device = topic.split("/")[1]
        return await self.reply(device, topic[:256], start=mark)

    def mark(self) -> int:
        return len(self.messages)


def decode(message: aiomqtt.Message) -> Any:
    payload = message.payload
    raw = payload if isinstance(payload, bytes | bytearray) else str(payload).encode()
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


@contextlib.asynccontextmanager
async def probe(settings: BrokerSettings, topic: str = "/#") -> AsyncIterator[Probe]:
    async with session(settings, client_id("probe")) as client:
        p = Probe(client)
        await client.subscribe(topic, qos=1)
        task = asyncio.create_task(p._collect())
        try:
            yield p
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.asynccontextmanager
async def running_device(settings: BrokerSettings, **config: Any) -> AsyncIterator[DeviceService]:
    """A device service in this event loop, on the real broker."""
    config.setdefault("period", 0.2)
    device = create_device(DeviceConfig(**config), SystemClock())
    service = DeviceService(device, settings)
    task = asyncio.create_task(service.run())
    try:
        async with asyncio.timeout(TIMEOUT):
            await service.connected.wait()
        yield service
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def children_of(pid: int) -> list[int]:
    """Every descendant of ``pid`` (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == parent]
        found += kids
        frontier += kids
    return found


def cmdline(pid: int) -> bytes:
    """The command line of ``pid``, NUL-separated; empty once the process is gone.

    A process listed by children_of can be reaped before its cmdline is read (a
    broker just killed by the test is), so a missing one reads as nothing.
    """
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")
