"""Helpers for archive tests: an archiver in the test's event loop, device load, counts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers import TIMEOUT
from trackerdcs.archive.backend import Backend
from trackerdcs.archive.open import open_backend
from trackerdcs.archive.url import parse_archive_url
from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.devices.clock import SystemClock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.registry import create_device
from trackerdcs.services.archiver.service import Archiver, ArchiverSettings
from trackerdcs.services.device.service import DeviceService


@contextlib.asynccontextmanager
async def running_archiver(
    broker: BrokerSettings, url: str, spool: Path, **settings: float | int
) -> AsyncIterator[Archiver]:
    archiver = Archiver(parse_archive_url(url), broker, ArchiverSettings(spool_dir=spool, **settings))  # type: ignore[arg-type]
    task = asyncio.create_task(archiver.run())
    try:
        async with asyncio.timeout(TIMEOUT):
            await archiver.connected.wait()
        yield archiver
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@dataclass
class Load:
    """Simulated HV supplies publishing a status every ``period`` through real device services."""

    broker: BrokerSettings
    devices: int = 3
    channels: int = 4
    period: float = 0.01
    services: list[DeviceService] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [f"load{i}" for i in range(self.devices)]

    async def __aenter__(self) -> Load:
        for name in self.names:
            config = DeviceConfig(name=name, kind="hv", channels=self.channels, period=self.period)
            service = DeviceService(create_device(config, SystemClock()), self.broker)
            self.services.append(service)
            self.tasks.append(asyncio.create_task(service.run()))
        async with asyncio.timeout(TIMEOUT):
            for service in self.services:
                await service.connected.wait()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def statuses(self) -> int:
        return sum(s.seq for s in self.services)

    async def quiesce(self, timeout: float = 60.0) -> dict[str, int]:
        """Stop publishing, wait until every buffered status reached the broker; points per device."""
        for service in self.services:
            service.schedule.period = 1e9  # nothing changes, so nothing more is published
        async with asyncio.timeout(timeout):
            while any(len(s.outbox) for s in self.services) or not all(
                s.connected.is_set() for s in self.services
            ):
                await asyncio.sleep(0.02)
        return {s.device.name: s.seq * self.channels for s in self.services}


async def wait_stored(backend: Backend, expected: dict[str, int], timeout: float = 60.0) -> dict[str, int]:
    """Wait until the archive holds the expected points per measurement; return what it holds."""
    counts: dict[str, int] = {}
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while True:
                counts = {m: await asyncio.to_thread(backend.count, m) for m in expected}
                if counts == expected:
                    break
                await asyncio.sleep(0.1)
    return counts


def backend_for(url: str) -> Backend:
    return open_backend(parse_archive_url(url))
