"""A message queue that hands out urgent messages first, for a client that reads many.

The safety service reads every device's status; a dangerous sample arriving behind a
hundred 64-channel statuses waited for all of them. With this queue it waits for the
message in hand only. Each kind keeps arrival order, so the messages of one topic (and
of one device, whose topics are all of one kind) are never reordered.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import aiomqtt

Urgent = Callable[[str], bool]  # topic -> whether to hand it out first


def urgent_first(urgent: Urgent) -> type[asyncio.Queue[aiomqtt.Message]]:
    """A queue class for aiomqtt's ``queue_type``: messages whose topic ``urgent`` picks go first."""

    class UrgentFirst(asyncio.Queue[aiomqtt.Message]):
        def _init(self, maxsize: int) -> None:
            super()._init(maxsize)
            self._urgent: deque[aiomqtt.Message] = deque()
            self._rest: deque[aiomqtt.Message] = deque()

        def _put(self, item: aiomqtt.Message) -> None:
            (self._urgent if urgent(item.topic.value) else self._rest).append(item)

        def _get(self) -> aiomqtt.Message:
            return self._urgent.popleft() if self._urgent else self._rest.popleft()

        def qsize(self) -> int:
            return len(self._urgent) + len(self._rest)

        def empty(self) -> bool:
            return not self._urgent and not self._rest

    return UrgentFirst
