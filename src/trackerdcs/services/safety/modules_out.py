"""The safety service's module statuses: published from one task, in order, a slice at a time.

An interlock on 5,120 modules changes all their statuses at once, and so does its
acknowledgement. Published by the handler of the message that changed them, they held
the service's receive loop for about a second, and a dangerous sample waited behind
them. Now a handler only says which modules are due (:meth:`ModulePublisher.due`); one
task judges and publishes them, 128 at a time, so the receive loop runs in between.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiomqtt

from trackerdcs.bus.session import honour_cancel, publish_all
from trackerdcs.contract.payloads import dumps
from trackerdcs.contract.topics import DeviceTopics
from trackerdcs.safety.state import SafetyState

SLICE = 128  # modules judged and published between two turns of the event loop


class ModulePublisher:
    def __init__(self, state: SafetyState, clock: Callable[[], float]) -> None:
        self.state = state
        self.clock = clock
        # one publisher at a time, its updates computed inside: they number what goes out
        # next, so a newer status never overtakes an older one (and is the retained one)
        self._lock = asyncio.Lock()
        self._due: set[str] | None = set()  # devices whose modules may have changed; None: all
        self._wake = asyncio.Event()

    def due(self, devices: set[str] | None = None) -> None:
        """The modules on ``devices`` (None: every module) may have changed: publish them soon."""
        if devices is None or self._due is None:
            self._due = None
        else:
            self._due |= devices
        self._wake.set()

    async def run(self, client: aiomqtt.Client) -> None:
        """Publish what is due, for as long as the session lasts."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            devices, self._due = self._due, set()
            await self.publish(client, devices=devices)
            honour_cancel()

    async def publish(
        self, client: aiomqtt.Client, force: bool = False, devices: set[str] | None = None
    ) -> None:
        """Publish the modules on ``devices`` (None: all) that changed, or all of them with ``force``."""
        async with self._lock:
            names = self.state.module_names(devices)
            for start in range(0, len(names), SLICE):
                updates = self.state.module_updates(self.clock(), force, names=names[start : start + SLICE])
                # pipelined: sent in this order, acknowledged together
                await publish_all(client, [(DeviceTopics(n).status, dumps(b)) for n, b in updates])
                await asyncio.sleep(0)  # a slice with no change publishes nothing: yield all the same
