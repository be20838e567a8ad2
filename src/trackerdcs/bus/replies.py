"""Publishing a reply: on the documented reply topic, and on the MQTT v5 response
topic when the request named one."""

from __future__ import annotations

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
    """Publish ``reply``; refuse response topics with wildcards or under ``forbidden``."""
    body = reply.model_dump_json()
    await client.publish(reply_topic, body, qos=1)
    response_topic = getattr(request, "ResponseTopic", None) if request else None
    if not response_topic or not is_v5(client):
        return
    if "+" in response_topic or "#" in response_topic or response_topic.startswith(forbidden):
        return
    props = publish_properties()
    correlation = getattr(request, "CorrelationData", None)
    if correlation is not None:
        props.CorrelationData = correlation
    await client.publish(response_topic, body, qos=1, properties=props)
