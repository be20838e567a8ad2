"""MQTT sessions and reconnection, shared by every service and the operator client.

Clients speak MQTT v5 (for response-topic/correlation-data replies) and fall back to
3.1.1 when the broker refuses v5, as the embedded amqtt broker does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import aiomqtt
import paho.mqtt.client as mqtt
from aiomqtt import ProtocolVersion, Will
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from trackerdcs.bus.settings import BrokerSettings, client_id, tls_context
from trackerdcs.bus.write_now import write_at_once
from trackerdcs.contract.payloads import OFFLINE

log = logging.getLogger(__name__)

SESSION_EXPIRY = 7 * 24 * 3600  # s a persistent session outlives its client
QUEUE_LIMIT = 10_000  # bounded queues in both directions: overflow is an error, not a loss
INFLIGHT_LIMIT = 1_000  # QoS 1 publishes awaiting their PUBACK at once
BATCH = 256  # messages published, or filters subscribed, together
V5_PROBE_TIMEOUT = 3.0  # s to wait for a v5 CONNACK before trying 3.1.1
BACKOFF_MIN, BACKOFF_MAX = 0.1, 5.0  # s between reconnection attempts


def payload_bytes(payload: object) -> bytes:
    """Normalise what aiomqtt hands us (bytes, str, numbers or None) to bytes."""
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    return b"" if payload is None else str(payload).encode()


def _protocols(settings: BrokerSettings) -> list[ProtocolVersion]:
    if settings.protocol == "5":
        return [ProtocolVersion.V5]
    if settings.protocol == "3.1.1":
        return [ProtocolVersion.V311]
    return [ProtocolVersion.V5, ProtocolVersion.V311]


def connect_properties(persistent: bool) -> Properties | None:
    """A v5 persistent session needs an expiry, or it ends with the connection."""
    if not persistent:
        return None
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = SESSION_EXPIRY
    return props


@asynccontextmanager
async def session(
    settings: BrokerSettings,
    identifier: str,
    *,
    will: Will | None = None,
    persistent: bool = False,
    timeout: float = 10.0,
    queue_type: type[asyncio.Queue[aiomqtt.Message]] | None = None,
    at_once: bool = True,
) -> AsyncIterator[aiomqtt.Client]:
    """Open one connection to the broker, negotiating the protocol version.

    ``queue_type``: the incoming messages' queue (:func:`trackerdcs.bus.urgent.urgent_first`).
    ``at_once``: each publish is written to the socket as it is made
    (:mod:`trackerdcs.bus.write_now`); otherwise when the loop next finds it writable.
    """
    protocols = _protocols(settings)
    for attempt, protocol in enumerate(protocols, start=1):
        v5 = protocol is ProtocolVersion.V5
        client = aiomqtt.Client(
            settings.host,
            settings.port,
            username=settings.username,
            password=settings.password,
            identifier=identifier,
            protocol=protocol,
            will=will,
            clean_session=None if v5 else not persistent,
            clean_start=(not persistent) if v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=connect_properties(persistent) if v5 else None,
            timeout=min(timeout, V5_PROBE_TIMEOUT) if attempt < len(protocols) else timeout,
            keepalive=10,
            tls_context=tls_context(settings),
            queue_type=queue_type,
            # named after the client: "Message queue is full" must say whose queue it is
            logger=logging.getLogger(f"mqtt.{identifier}"),
            max_queued_incoming_messages=QUEUE_LIMIT,
            max_queued_outgoing_messages=QUEUE_LIMIT,
            # paho keeps 20 QoS 1 publishes in flight by default, so an interlock's burst of
            # 5,120 switch-offs went out 20 per round trip. A v5 broker still caps it with its
            # Receive Maximum (the generated mosquitto config: 100).
            max_inflight_messages=INFLIGHT_LIMIT,
            # paho leaves Nagle's algorithm on, which delays each small publish ~40 ms.
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        )
        if at_once:
            write_at_once(client)
        # We pipeline on purpose (publish_all, an interlock's commands): aiomqtt would log a
        # warning for every publish while more than 10 wait, thousands of lines a trip.
        client.pending_calls_threshold = INFLIGHT_LIMIT
        async with AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(client)
            except aiomqtt.MqttError as exc:
                # Brokers without v5 answer it in different ways (amqtt refuses it, or
                # chokes on a v5 will and times out): any failure means try 3.1.1.
                if attempt < len(protocols):
                    log.debug("%s: MQTT v5 failed (%s), trying 3.1.1", settings.url, exc)
                    continue
                raise
            honour_cancel()  # a stop while connecting (aiomqtt waits for CONNACK with wait_for)
            yield client
            return


def is_v5(client: aiomqtt.Client) -> bool:
    """Whether this connection speaks MQTT v5 (so replies may use response topics)."""
    return bool(client._client.protocol == mqtt.MQTTv5)  # aiomqtt exposes no getter


def publish_properties() -> Properties:
    """Empty MQTT v5 PUBLISH properties (paho's constructor is untyped)."""
    return Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]


async def say_offline(client: aiomqtt.Client, topic: str) -> None:
    """On a clean stop, publish ``offline`` ourselves: a clean disconnect discards the will."""
    with contextlib.suppress(aiomqtt.MqttError, TimeoutError, asyncio.CancelledError):
        await asyncio.shield(client.publish(topic, OFFLINE, qos=1, retain=True, timeout=1.0))


async def keep_connected(
    name: str, broker: BrokerSettings, connected: Callable[[], Coroutine[Any, Any, None]]
) -> None:
    """Run ``connected`` (one broker session) forever, reconnecting with backoff.

    Each session runs in a task of its own: in Python 3.11 a TaskGroup whose child
    fails can leave its parent task's cancel count raised (fixed in 3.12), which would
    make :func:`honour_cancel` misfire in the next session of a long-lived task.
    """
    delay = BACKOFF_MIN
    while True:
        try:
            await asyncio.create_task(connected())
        except aiomqtt.MqttError as exc:
            log.warning("%s: broker %s: %s; retrying in %.1f s", name, broker.url, exc, delay)
        else:
            delay = BACKOFF_MIN
        await asyncio.sleep(delay * random.uniform(0.8, 1.2))
        delay = min(delay * 2, BACKOFF_MAX)


def honour_cancel() -> None:
    """Raise CancelledError if this task was cancelled but carried on.

    Python 3.11's asyncio.wait_for, which aiomqtt's publish uses, can swallow a
    cancellation that races with the acknowledgement (gh-86296). Every service loop
    calls this after its publishes, so that a stop always stops it.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


Loops = Callable[[aiomqtt.Client], list[Coroutine[Any, Any, None]]]


async def online_session(
    broker: BrokerSettings,
    name: str,
    availability: str,
    announce: Callable[[aiomqtt.Client], Awaitable[None]],
    loops: Loops,
    connected: asyncio.Event,
    queue_type: type[asyncio.Queue[aiomqtt.Message]] | None = None,
    at_once: bool = True,
) -> None:
    """One broker session of a service that has an availability topic.

    The broker publishes ``offline`` through the last will if the service dies; on any
    other exit the service publishes it itself, since a clean disconnect discards the
    will. ``announce`` runs first (subscribe, say online), then the ``loops`` together;
    the first broker error ends them all and is raised for :func:`keep_connected`.
    """
    will = Will(availability, OFFLINE, qos=1, retain=True)
    async with session(broker, client_id(name), will=will, queue_type=queue_type, at_once=at_once) as client:
        try:
            await announce(client)
            honour_cancel()  # a stop during the announcement's publishes or subscribes
            async with asyncio.TaskGroup() as tasks:
                for loop in loops(client):
                    tasks.create_task(loop)
        except* aiomqtt.MqttError as group:
            raise group.exceptions[0] from None
        finally:
            connected.clear()
            await say_offline(client, availability)


async def publish_all(client: aiomqtt.Client, messages: list[tuple[str, str]], retain: bool = True) -> None:
    """Publish many QoS 1 messages pipelined: sent in this order, acknowledged together.

    Awaiting each PUBACK in turn makes N messages N round trips; a stand of 5,120 modules
    announced itself in about 15 s that way.
    """
    for start in range(0, len(messages), BATCH):
        batch = messages[start : start + BATCH]
        await asyncio.gather(*(client.publish(t, p, qos=1, retain=retain) for t, p in batch))


async def subscribe_all(client: aiomqtt.Client, filters: list[str]) -> None:
    """Subscribe to many topic filters at QoS 1, many to a SUBSCRIBE packet."""
    for start in range(0, len(filters), BATCH):
        await client.subscribe([(f, 1) for f in filters[start : start + BATCH]])
