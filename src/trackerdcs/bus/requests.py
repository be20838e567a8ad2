"""Send commands to devices over an open MQTT session and await their replies.

With MQTT v5 each request carries a response topic under the device's reply tree
and a correlation id; with 3.1.1 the reply is matched on the command topic and
payload it echoes.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid

import aiomqtt
from pydantic import ValidationError

from trackerdcs.bus.session import is_v5, publish_properties
from trackerdcs.contract.payloads import Reply, shorten
from trackerdcs.contract.topics import DeviceTopics, device_of

log = logging.getLogger(__name__)


class Requester:
    """Correlates replies with the commands one client sent."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.v5 = is_v5(client)
        self.tag = uuid.uuid4().hex[:8]
        self._ids = itertools.count()
        self._pending: dict[bytes | tuple[str, str], asyncio.Future[Reply]] = {}

    def reply_filter(self) -> str:
        """Subscribe to this before sending: every reply meant for us matches it."""
        return f"/+/reply/{self.tag}" if self.v5 else "/+/reply"

    def owns(self, topic: str) -> bool:
        parts = topic.split("/")
        return len(parts) >= 3 and parts[2] == "reply" and (not self.v5 or parts[-1] == self.tag)

    async def send(self, topic: str, payload: str, timeout: float = 5.0) -> Reply:
        """Publish a command; return the device's reply (``TimeoutError`` if none)."""
        device = device_of(topic)
        if device is None:
            raise ValueError(f"not a device topic: {topic!r}")
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        if self.v5:
            key: bytes | tuple[str, str] = f"{next(self._ids)}".encode()
            props = publish_properties()
            props.ResponseTopic = f"{DeviceTopics(device).reply}/{self.tag}"
            props.CorrelationData = key
        else:
            key, props = (topic, shorten(payload.strip())), None
        self._pending[key] = future
        try:
            await self.client.publish(topic, payload, qos=1, properties=props)
            async with asyncio.timeout(timeout):
                return await future
        finally:
            self._pending.pop(key, None)

    def on_reply(self, message: aiomqtt.Message, raw: bytes) -> None:
        try:
            reply = Reply.model_validate_json(raw)
        except ValidationError:
            log.debug("unparsable reply on %s", message.topic.value)
            return
        key: bytes | tuple[str, str]
        if self.v5:
            correlation = getattr(message.properties, "CorrelationData", None)
            if correlation is None:
                return
            key = bytes(correlation)
        else:
            key = (reply.topic, reply.payload)
        future = self._pending.get(key)
        if future is not None and not future.done():
            future.set_result(reply)
