"""The live feed: every browser's websocket gets a snapshot, then the coalesced changes.

Changes are throttled to the latest value per path per update period (leading edge:
a change after a quiet period goes out at once, a burst waits for the period). Each
update is encoded once and the same bytes go to every client. A client whose socket does
not take them is dropped, rather than allowed to grow a queue without bound (as EPICS
pvws and Home Assistant do): the page reconnects and starts again from a snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from trackerdcs.services.console.state import StandState

log = logging.getLogger(__name__)

MAX_PENDING = 4  # updates waiting for one client; one more and it is dropped
SEND_TIMEOUT = 10.0  # s a single send may take before the client counts as gone
TOO_SLOW = 1013  # websocket close code "try again later"
URGENT_GAP = 0.1  # s between updates when something was lost

Send = Callable[[bytes], Awaitable[None]]


class Client:
    """One websocket, with its own bounded queue and one writer."""

    def __init__(self, name: str, send: Send, max_pending: int = MAX_PENDING) -> None:
        self.name = name
        self._send = send
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=max_pending + 1)  # + the snapshot
        self.dropped: str | None = None
        self._gone = asyncio.Event()

    def offer(self, data: bytes) -> None:
        if self.dropped is not None:
            return
        try:
            self._queue.put_nowait(data)
        except asyncio.QueueFull:
            self.drop(f"too slow: {self._queue.qsize()} updates waiting")

    def drop(self, why: str) -> None:
        if self.dropped is None:
            self.dropped = why
            log.warning("console: dropping %s (%s)", self.name, why)
            self._gone.set()

    async def pump(self) -> None:
        """Send what is queued, one message at a time, until the client is dropped."""
        while self.dropped is None:
            get = asyncio.ensure_future(self._queue.get())
            if not await self._unless_gone(get, None):
                return
            send = asyncio.ensure_future(self._send(get.result()))
            try:
                if not await self._unless_gone(send, SEND_TIMEOUT):
                    if not send.done():
                        self.drop(f"a send took longer than {SEND_TIMEOUT:g} s")
                    return
                send.result()
            except Exception as exc:  # the socket closed under us
                self.drop(f"send failed: {exc}")

    async def _unless_gone(self, work: asyncio.Future[Any], timeout: float | None) -> bool:
        """Wait for ``work``; False (and ``work`` cancelled) if dropped or timed out first."""
        gone: asyncio.Future[Any] = asyncio.ensure_future(self._gone.wait())
        done, _ = await asyncio.wait([work, gone], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        gone.cancel()
        if work in done:
            return True
        work.cancel()
        return False


class Feed:
    """Hands the state's changes to every client, at most once per ``period``."""

    def __init__(self, state: StandState, period: float, clock: Callable[[], float] = time.time) -> None:
        self.state = state
        self.period = period
        self.clock = clock
        self.clients: set[Client] = set()
        self.changed = asyncio.Event()
        self.urgent = asyncio.Event()
        state.on_change = self._on_change

    def _on_change(self, urgent: bool) -> None:
        self.changed.set()
        if urgent:
            self.urgent.set()

    def join(self, client: Client, extra: dict[str, Any] | None = None) -> None:
        """Queue the snapshot (with ``extra``: who the client is) and register, with no await
        between: no change is missed or doubled."""
        snapshot = {"type": "snapshot", "state": {**self.state.snapshot(self.clock()), **(extra or {})}}
        client.offer(orjson.dumps(snapshot))
        self.clients.add(client)

    def leave(self, client: Client) -> None:
        self.clients.discard(client)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        last = -self.period
        while True:
            await self.changed.wait()
            # The throttle: the rest of this period, unless a loss (broker, device) comes first;
            # losses still wait URGENT_GAP, so a burst of them goes out as one update.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.urgent.wait(), last + self.period - loop.time())
            if self.urgent.is_set() and (gap := last + URGENT_GAP - loop.time()) > 0:
                await asyncio.sleep(gap)
            self.changed.clear()
            self.urgent.clear()
            last = loop.time()
            self.flush()

    def flush(self) -> None:
        update = self.state.drain(self.clock())
        if update is None or not self.clients:  # nobody watching: 1.7 MB a second not encoded
            return
        data = orjson.dumps(update)
        for client in list(self.clients):
            client.offer(data)
