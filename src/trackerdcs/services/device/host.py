"""Several device services in one process, for simulated devices (docs/decisions/0025).

Each device keeps everything it has alone: its asyncio task, its worker thread with a
timeout, its MQTT session and last will (so its availability stays exact). What they
share is the interpreter, which saves ~40 MiB and an import per device. A device whose
service fails is rebuilt and restarted here, with backoff, while the others run on.
Devices on real hardware keep a process of their own (``dcs device run``), so that a
driver that hangs in C code cannot stall its neighbours.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from trackerdcs.runtime.processes import cancel_and_wait
from trackerdcs.services.device.service import DeviceService

log = logging.getLogger(__name__)

RESTART_MIN, RESTART_MAX = 0.5, 10.0
EMBEDDED_STAGGER = 0.15  # s between starts on amqtt, which can lose CONNECTs that arrive together

Build = Callable[[str], DeviceService]


class DeviceHost:
    """Runs the services of ``names`` until cancelled; ``build`` makes one from its name."""

    def __init__(self, names: list[str], build: Build, stagger: float = 0.01) -> None:
        self.names = names
        self.build = build
        self.stagger = stagger  # s between device starts, so their CONNECTs do not all arrive at once
        self.services: dict[str, DeviceService] = {}
        self.restarts: dict[str, int] = dict.fromkeys(names, 0)

    async def run(self) -> None:
        tasks: list[asyncio.Task[None]] = []
        try:
            for name in self.names:
                tasks.append(asyncio.create_task(self._keep(name), name=f"device {name}"))
                await asyncio.sleep(self.stagger)
            await asyncio.wait(tasks)  # they never end by themselves
        finally:
            await cancel_and_wait(tasks)

    async def _keep(self, name: str) -> None:
        delay = RESTART_MIN
        while True:
            try:
                self.services[name] = service = self.build(name)
                await service.run()
            except Exception:  # one device's failure must not stop the others
                self.restarts[name] += 1
                log.exception("device %s failed; restarting it in %.1f s", name, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESTART_MAX)
