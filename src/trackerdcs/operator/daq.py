"""Starting a DAQ run and following it to its end, as `dcs daq start` does."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import aiomqtt
from pydantic import ValidationError

from trackerdcs.bus.session import is_v5, payload_bytes, publish_properties, session
from trackerdcs.bus.settings import BrokerSettings, client_id
from trackerdcs.contract.payloads import Reply
from trackerdcs.contract.topics import DaqTopics
from trackerdcs.operator.client import NoReply

FINAL_EVENT = "recorded"  # the run's record is complete (and on its way to the store)


async def start_and_follow(
    broker: BrokerSettings,
    daq: str,
    command: str,
    payload: str,
    reply_timeout: float,
    on_reply: Callable[[Reply], None],
    on_event: Callable[[dict[str, Any]], None] | None,
) -> dict[str, Any] | None:
    """Send ``/<daq>/cmd/<command>``; with ``on_event``, follow the run to its ``recorded`` event.

    Events are subscribed before the command goes out, so none of the run's is missed.
    """
    topics = DaqTopics(daq)
    async with session(broker, client_id("dcs-daq")) as client:
        await client.subscribe(topics.events, qos=1)
        matches = await _send(client, topics, topics.cmd(command), payload)
        reply = await _reply(client, matches, reply_timeout)
        on_reply(reply)
        if not reply.ok or on_event is None or command != "start":
            return None
        run_id = reply.message.split(":", 1)[0].removeprefix("run ")
        return await _follow(client, topics, run_id, on_event)


async def _send(
    client: aiomqtt.Client, topics: DaqTopics, topic: str, payload: str
) -> Callable[[aiomqtt.Message, Reply], bool]:
    if is_v5(client):
        response_topic = f"{topics.reply}/{uuid.uuid4().hex}"
        correlation = uuid.uuid4().bytes
        await client.subscribe(response_topic, qos=1)
        props = publish_properties()
        props.ResponseTopic, props.CorrelationData = response_topic, correlation
        await client.publish(topic, payload, qos=1, properties=props)
        return lambda m, r: getattr(m.properties, "CorrelationData", None) == correlation
    await client.subscribe(topics.reply, qos=1)
    await client.publish(topic, payload, qos=1)
    return lambda m, r: r.topic == topic and r.payload == payload.strip()[:64]


async def _reply(
    client: aiomqtt.Client, matches: Callable[[aiomqtt.Message, Reply], bool], timeout: float
) -> Reply:
    try:
        async with asyncio.timeout(timeout):
            async for message in client.messages:
                try:
                    reply = Reply.model_validate_json(payload_bytes(message.payload))
                except ValidationError:
                    continue  # an event of the run before its reply: its "starting" is not needed
                if matches(message, reply):
                    return reply
    except TimeoutError:
        pass
    raise NoReply(f"no reply within {timeout:g} s: is the DAQ service online?")


async def _follow(
    client: aiomqtt.Client, topics: DaqTopics, run_id: str, on_event: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    async for message in client.messages:
        if message.topic.value != topics.events:
            continue
        try:
            event = json.loads(payload_bytes(message.payload))
        except ValueError:
            continue
        if not isinstance(event, dict) or event.get("id") != run_id:
            continue
        on_event(event)
        if event.get("event") == FINAL_EVENT:
            return event
    raise NoReply("the broker connection ended before the run did")
