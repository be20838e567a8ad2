"""A message queue that keeps only the newest message of a topic, for a client that shows state.

The console shows the newest status of every device and module. When it starts beside a
big stand, every retained topic arrives at once (5,120 module statuses, twice, at 10,240
channels): its queue overflowed and aiomqtt discarded thousands, so modules stayed
unknown. Here a message that is still waiting is replaced by a newer one of its topic,
so the queue never holds more than one message a topic. Its bound (aiomqtt's
``max_queued_incoming_messages``) counts only the messages it must not merge: the
topics of a stand are bounded by the stand (10,700 at 10,240 channels, modules'
availability included), and a bound below that discarded state again.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict
from collections.abc import Callable

import aiomqtt

Mergeable = Callable[[str], bool]  # topic -> whether only its newest message matters


def latest_per_topic(mergeable: Mergeable) -> type[asyncio.Queue[aiomqtt.Message]]:
    """A queue class for aiomqtt's ``queue_type``: a waiting message of a ``mergeable`` topic is replaced."""

    class LatestPerTopic(asyncio.Queue[aiomqtt.Message]):
        def _init(self, maxsize: int) -> None:
            super()._init(maxsize)
            self._waiting: OrderedDict[object, aiomqtt.Message] = OrderedDict()
            self._unique = itertools.count()
            self._unmerged = 0

        def _put(self, item: aiomqtt.Message) -> None:
            topic = item.topic.value
            # the newest takes the place of the one it replaces, so topics keep their turn
            if mergeable(topic):
                self._waiting[topic] = item
            else:
                self._waiting[next(self._unique)] = item
                self._unmerged += 1

        def _get(self) -> aiomqtt.Message:
            key, item = self._waiting.popitem(last=False)
            if isinstance(key, int):
                self._unmerged -= 1
            return item

        def full(self) -> bool:
            return 0 < self.maxsize <= self._unmerged

        def qsize(self) -> int:
            return len(self._waiting)

        def empty(self) -> bool:
            return not self._waiting

    return LatestPerTopic
