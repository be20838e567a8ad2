"""The supervisor's view of the bus: which services said they are online, kept across broker outages.

The session that watches ``/+/availability`` is reconnected for as long as the stack
runs: a lost connection (a broker restart, a broker too busy to answer a keepalive) is
logged and retried, never fatal, since the stack is there to keep its services running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiomqtt

from trackerdcs.bus.session import keep_connected, payload_bytes, session
from trackerdcs.bus.settings import BrokerSettings, client_id
from trackerdcs.contract.payloads import OFFLINE, ONLINE
from trackerdcs.contract.topics import DeviceTopics, device_of, wildcard

log = logging.getLogger(__name__)


class Availability:
    """Every service's last availability, and which of them said ``online`` since the stack started.

    A retained ``online`` on the first subscription is a previous run's and does not count.
    After a reconnect the retained state is current (a service that died since then had its
    last will published), so it counts: an ``online`` sent while we were away is not lost.
    """

    def __init__(self, broker: BrokerSettings) -> None:
        self.broker = broker
        self.state: dict[str, str] = {}
        self.fresh: set[str] = set()
        self.sessions = 0
        self.subscribed = asyncio.Event()
        self._changed = asyncio.Event()
        self._client: aiomqtt.Client | None = None

    async def run(self) -> None:
        """Watch forever, reconnecting with backoff."""
        await keep_connected("dcs up", self.broker, self._session)

    async def _session(self) -> None:
        async with session(self.broker, client_id("dcs-up")) as client:
            await client.subscribe(wildcard("availability"), qos=1)
            self.sessions += 1
            if self.sessions > 1:
                log.info("dcs up: reconnected to the broker %s", self.broker.url)
            self._client = client
            self.subscribed.set()
            try:
                async for message in client.messages:
                    self._apply(message)
            finally:
                self._client = None
                self.subscribed.clear()

    def _apply(self, message: aiomqtt.Message) -> None:
        name = device_of(message.topic.value)
        if name is None:
            return
        state = payload_bytes(message.payload).decode(errors="replace")
        if state == ONLINE and (not message.retain or self.sessions > 1):
            self.fresh.add(name)
        previous = self.state.get(name)
        self.state[name] = state
        if previous != state and (previous is not None or not message.retain):
            if state == ONLINE:
                log.info("%s is online", name)
            else:
                log.warning("%s is %s", name, state)
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_online(self, names: list[str], timeout: float) -> None:
        """Wait until every one of ``names`` has said ``online`` since the stack started."""
        async with asyncio.timeout(timeout):
            while not self.fresh.issuperset(names):
                await self._changed.wait()

    def missing(self, names: list[str]) -> list[str]:
        return [n for n in names if n not in self.fresh]

    async def mark_offline(self, names: tuple[str, ...]) -> None:
        """Say ``offline`` for the services of a process that ended, in case their last wills could not."""
        for name in names:
            self.fresh.discard(name)
            client = self._client
            if client is None or self.state.get(name) == OFFLINE:
                continue
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                topic = DeviceTopics(name).availability
                await client.publish(topic, OFFLINE, qos=1, retain=True, timeout=1.0)
