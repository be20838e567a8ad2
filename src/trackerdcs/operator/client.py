"""Client-side operations for the operator CLI (and later the UIs): send a command and
wait for its reply, take a snapshot of the stand, follow it live."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiomqtt
from pydantic import ValidationError

from trackerdcs.bus.session import is_v5, payload_bytes, publish_properties, session
from trackerdcs.bus.settings import BrokerSettings, client_id
from trackerdcs.contract.payloads import Reply
from trackerdcs.contract.topics import DeviceTopics, device_of, wildcard

log = logging.getLogger(__name__)

QUIET = 0.3  # retained messages arrive back to back; this much silence ends a snapshot


class NoReply(TimeoutError):
    """The device did not answer in time (it may be offline)."""


async def send_command(broker: BrokerSettings, topic: str, payload: str, timeout: float = 5.0) -> Reply:
    """Publish a command and wait for the device's reply to it."""
    device = device_of(topic)
    if device is None:
        raise ValueError(f"not a device topic: {topic!r}")
    topics = DeviceTopics(device)
    async with session(broker, client_id("dcs-cli")) as client:
        if is_v5(client):
            return await _v5_request(client, topics, topic, payload, timeout)
        return await _v311_request(client, topics, topic, payload, timeout)


async def _v5_request(
    client: aiomqtt.Client, topics: DeviceTopics, topic: str, payload: str, timeout: float
) -> Reply:
    response_topic = f"{topics.reply}/{uuid.uuid4().hex}"
    correlation = uuid.uuid4().bytes
    await client.subscribe(response_topic, qos=1)
    props = publish_properties()
    props.ResponseTopic = response_topic
    props.CorrelationData = correlation
    await client.publish(topic, payload, qos=1, properties=props)
    return await _first_reply(
        client, timeout, lambda m, r: getattr(m.properties, "CorrelationData", None) == correlation
    )


async def _v311_request(
    client: aiomqtt.Client, topics: DeviceTopics, topic: str, payload: str, timeout: float
) -> Reply:
    """Without v5 properties, match the reply by the command topic and payload it echoes."""
    await client.subscribe(topics.reply, qos=1)
    await client.publish(topic, payload, qos=1)
    return await _first_reply(
        client, timeout, lambda m, r: r.topic == topic and r.payload == payload.strip()[:64]
    )


async def _first_reply(client: aiomqtt.Client, timeout: float, matches: Any) -> Reply:
    try:
        async with asyncio.timeout(timeout):
            async for message in client.messages:
                try:
                    reply = Reply.model_validate_json(payload_bytes(message.payload))
                except ValidationError:
                    continue
                if matches(message, reply):
                    return reply
    except TimeoutError:
        pass
    raise NoReply(f"no reply within {timeout:g} s: is the device online?")


@dataclass
class DeviceView:
    """What is known of one device from its retained topics."""

    name: str
    availability: str = "unknown"
    status: Any = None
    meta: dict[str, Any] = field(default_factory=dict)


def _apply(views: dict[str, DeviceView], message: aiomqtt.Message) -> None:
    device = device_of(message.topic.value)
    if device is None:
        return
    leaf = message.topic.value.rsplit("/", 1)[-1]
    raw = payload_bytes(message.payload)
    view = views.setdefault(device, DeviceView(device))
    if leaf == "availability":
        view.availability = raw.decode(errors="replace")
        return
    try:
        data = json.loads(raw)
    except ValueError:
        log.debug("unparsable %s on %s", raw[:40], message.topic.value)
        return
    if leaf == "status":
        view.status = data
    elif leaf == "meta" and isinstance(data, dict):
        view.meta = data


async def _subscribe_all(client: aiomqtt.Client) -> None:
    for leaf in ("status", "availability", "meta"):
        await client.subscribe(wildcard(leaf), qos=1)


async def snapshot(broker: BrokerSettings, timeout: float = 3.0) -> dict[str, DeviceView]:
    """Collect every device's retained state."""
    views: dict[str, DeviceView] = {}
    async with session(broker, client_id("dcs-cli")) as client:
        await _subscribe_all(client)
        messages = aiter(client.messages)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (remaining := deadline - loop.time()) > 0:
            try:
                async with asyncio.timeout(min(QUIET, remaining)):
                    message = await anext(messages)
            except TimeoutError:
                break
            _apply(views, message)
    return dict(sorted(views.items()))


async def retained(broker: BrokerSettings, topic: str, timeout: float = 3.0) -> Any:
    """The retained JSON value of one topic, or None if there is none."""
    async with session(broker, client_id("dcs-cli")) as client:
        await client.subscribe(topic, qos=1)
        try:
            async with asyncio.timeout(timeout):
                message = await anext(aiter(client.messages))
        except TimeoutError:
            return None
    try:
        return json.loads(payload_bytes(message.payload))
    except ValueError:
        return None


async def follow(broker: BrokerSettings) -> AsyncIterator[dict[str, DeviceView]]:
    """Yield the stand's state after every change."""
    views: dict[str, DeviceView] = {}
    async with session(broker, client_id("dcs-watch")) as client:
        await _subscribe_all(client)
        async for message in client.messages:
            _apply(views, message)
            yield dict(sorted(views.items()))
