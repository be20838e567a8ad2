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

# Modules judged and published between two turns of the event loop. 128 (8-10 ms of work)
# held a dangerous sample arriving in a trip's aftermath for as long; 32 take 2-3 ms.
SLICE = 32


class ModulePublisher:
    def __init__(self, state: SafetyState, clock: Callable[[], float]) -> None:
        self.state = state
        self.clock = clock
        # one publisher at a time, its updates computed inside: they number what goes out
        # next, so a newer status never overtakes an older one (and is the retained one)
        self._lock = asyncio.Lock()
        self._due: dict[str, None] | None = {}  # modules that may have changed, in order; None: all
        self._wake = asyncio.Event()

    def due(self, names: list[str] | None = None) -> None:
        """The modules ``names`` (None: every module) may have changed: publish them soon."""
        if names is None or self._due is None:
            self._due = None
        elif names:
            self._due.update(dict.fromkeys(names))
        else:
            return
        self._wake.set()

    async def run(self, client: aiomqtt.Client) -> None:
        """Publish what is due, for as long as the session lasts."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            due, self._due = self._due, {}
            await self.publish(client, names=None if due is None else list(due))
            honour_cancel()

    async def publish(
        self, client: aiomqtt.Client, force: bool = False, names: list[str] | None = None
    ) -> None:
        """Publish the modules ``names`` (None: all) that changed, or all of them with ``force``."""
        async with self._lock:
            names = self.state.module_names() if names is None else names
            for start in range(0, len(names), SLICE):
                updates = self.state.module_updates(self.clock(), force, names=names[start : start + SLICE])
                # pipelined: sent in this order, acknowledged together
                await publish_all(client, [(DeviceTopics(n).status, dumps(b)) for n, b in updates])
                await asyncio.sleep(0)  # a slice with no change publishes nothing: yield all the same
