"""A bounded queue of outgoing messages that survives broker outages.

Samples taken while the broker is unreachable wait here and go out, in order and
with their original measurement time, once the connection is back. When the queue is
full the oldest message is dropped and *counted*: the loss is logged and shows as a
gap in the status sequence numbers, never silently.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    topic: str
    payload: str | bytes
    retain: bool = True
    qos: int = 1


class Outbox:
    """FIFO of outgoing messages with a hard bound."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("outbox limit must be at least 1")
        self.limit = limit
        self.dropped = 0
        self._items: deque[Outgoing] = deque()
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Outgoing) -> None:
        if len(self._items) >= self.limit:
            lost = self._items.popleft()
            self.dropped += 1
            log.warning(
                "outbox full (%d messages): dropped the oldest, on %s (%d dropped so far)",
                self.limit,
                lost.topic,
                self.dropped,
            )
        self._items.append(item)
        self._ready.set()

    async def peek(self) -> Outgoing:
        """Wait for the oldest message without removing it (remove with :meth:`done`)."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items[0]

    def done(self, item: Outgoing) -> None:
        """Remove ``item`` once the broker has acknowledged it."""
        if self._items and self._items[0] is item:
            self._items.popleft()
