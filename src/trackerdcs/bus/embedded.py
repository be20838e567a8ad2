"""The embedded Python broker (amqtt), so that the demo runs with Python alone.

amqtt speaks MQTT 3.1.1 only; our clients fall back to it automatically. For
production use mosquitto (see the README).
"""

from __future__ import annotations

import asyncio
import logging

from amqtt.broker import Broker

log = logging.getLogger(__name__)


def amqtt_config(host: str, port: int) -> dict[str, object]:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 256}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


async def serve(host: str, port: int, stop: asyncio.Event) -> None:
    """Run the broker until ``stop`` is set."""
    broker = Broker(amqtt_config(host, port))
    await broker.start()
    log.info("embedded broker listening on %s:%d", host, port)
    try:
        await stop.wait()
    finally:
        await broker.shutdown()
