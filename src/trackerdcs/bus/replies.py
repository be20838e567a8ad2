"""Publishing a reply: on the documented reply topic, and on the MQTT v5 response
topic when the request named one."""

from __future__ import annotations

import asyncio

import aiomqtt
from paho.mqtt.properties import Properties

from trackerdcs.bus.session import is_v5, publish_properties
from trackerdcs.contract.payloads import Reply


async def send_reply(
    client: aiomqtt.Client,
    reply_topic: str,
    reply: Reply,
    request: Properties | None,
    forbidden: tuple[str, ...] = (),
) -> None:
    """Publish ``reply``; refuse response topics with wildcards or under ``forbidden``.

    Both are handed to the broker at once: the requester, waiting on the response
    topic, used to wait a round trip more, for the acknowledgement of the first.
    """
    body = reply.model_dump_json()
    sent = [client.publish(reply_topic, body, qos=1)]
    response_topic = getattr(request, "ResponseTopic", None) if request else None
    wildcard = response_topic is not None and ("+" in response_topic or "#" in response_topic)
    if response_topic and is_v5(client) and not wildcard and not response_topic.startswith(forbidden):
        props = publish_properties()
        correlation = getattr(request, "CorrelationData", None)
        if correlation is not None:
            props.CorrelationData = correlation
        sent.append(client.publish(response_topic, body, qos=1, properties=props))
    await asyncio.gather(*sent)
