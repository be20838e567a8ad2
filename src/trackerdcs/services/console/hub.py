"""The console's one MQTT session: it feeds the state, carries commands and audit events.

It reconnects by itself like every service; while the broker is away the state says so
(``bus.connected``), commands are refused with 503, and audit events wait to be sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import aiomqtt

from trackerdcs.bus.latest import latest_per_topic
from trackerdcs.bus.requests import Requester
from trackerdcs.bus.session import keep_connected, online_session, payload_bytes, subscribe_all
from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.contract.payloads import Reply, dumps
from trackerdcs.contract.topics import DeviceTopics, InterlockTopics, wildcard
from trackerdcs.services.console.state import StandState

log = logging.getLogger(__name__)

EVENTS_KEPT = 10_000  # audit events held while the broker is away


def _shown(topic: str) -> bool:
    """Whether only the newest message of ``topic`` matters: all but replies, which are each awaited."""
    return topic.split("/")[2:3] != ["reply"]


class NotConnected(ConnectionError):
    """The console has no broker right now."""


class Hub:
    def __init__(
        self, broker: BrokerSettings, name: str, state: StandState, clock: Callable[[], float] = time.time
    ) -> None:
        self.broker = broker
        self.topics = DeviceTopics(name)
        self.events_topic = f"{self.topics.root}/events"
        self.state = state
        self.clock = clock
        self.connected = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._requester: Requester | None = None
        self._events: deque[str] = deque(maxlen=EVENTS_KEPT)
        self._events_ready = asyncio.Event()

    async def run(self) -> None:
        await keep_connected("console", self.broker, self._session)

    async def _session(self) -> None:
        try:
            await online_session(
                self.broker,
                self.topics.device,
                self.topics.availability,
                self._announce,
                lambda client: [self._receive(client), self._send_events(client)],
                self.connected,
                queue_type=latest_per_topic(_shown),
            )
        finally:
            self._client = self._requester = None
            self.state.set_bus(False, self.clock())

    async def _announce(self, client: aiomqtt.Client) -> None:
        self._requester = Requester(client)
        filters = [wildcard(leaf) for leaf in ("status", "availability", "meta")]
        safety = self.state.layout.safety
        if safety is not None:
            filters += [InterlockTopics(safety).alarms, InterlockTopics(safety).inhibit]
        await subscribe_all(client, [*filters, self._requester.reply_filter()])
        await client.publish(self.topics.availability, "online", qos=1, retain=True)
        self._client = client
        self.state.set_bus(True, self.clock())
        self.connected.set()
        log.info("console: online on %s", self.broker.url)

    async def _receive(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            topic, raw = message.topic.value, payload_bytes(message.payload)
            try:
                if self._requester is not None and self._requester.owns(topic):
                    self._requester.on_reply(message, raw)
                else:
                    self.state.apply(topic, raw)
            except Exception:  # one odd message must not end the feed
                log.exception("console: handling %s failed", topic)

    async def send(self, topic: str, payload: str, timeout: float = 5.0) -> Reply:
        """A command over the contract, and the device's reply (``TimeoutError`` if none)."""
        if self._requester is None:
            raise NotConnected("the console is not connected to the broker")
        return await self._requester.send(topic, payload, timeout)

    def event(self, body: dict[str, Any]) -> None:
        """Queue an audit event for ``/<console>/events``, which the archiver stores."""
        self._events.append(dumps(body))
        self._events_ready.set()

    async def _send_events(self, client: aiomqtt.Client) -> None:
        while True:
            await self._events_ready.wait()
            while self._events:
                await client.publish(self.events_topic, self._events[0], qos=1)
                self._events.popleft()  # only once the broker has it
            self._events_ready.clear()
