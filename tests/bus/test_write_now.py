"""Publishes reach the socket as they are made, on a real mosquitto, and nothing is lost."""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Callable

import aiomqtt

from tests.helpers import TIMEOUT, BrokerProcess, probe
from trackerdcs.bus.session import payload_bytes, session
from trackerdcs.bus.settings import client_id


def watched_for_writing(client: aiomqtt.Client) -> bool:
    """Whether the event loop watches the client's socket for writing (asyncio's own map)."""
    sock = client._client.socket()
    assert sock is not None
    selector = asyncio.get_running_loop()._selector  # type: ignore[attr-defined]
    key = selector.get_map().get(sock.fileno())
    return key is not None and bool(key.events & selectors.EVENT_WRITE)


def topic_is(topic: str) -> Callable[[aiomqtt.Message], bool]:
    return lambda m: m.topic.value == topic


async def test_a_publish_is_written_before_the_loop_turns(mosquitto: BrokerProcess) -> None:
    async with session(mosquitto.settings, client_id("now")) as client:
        turned: list[bool] = []
        asyncio.get_running_loop().call_soon(turned.append, True)
        await client.publish("/now/status", b"x", qos=0)  # QoS 0 is done once written
        assert not turned, "the publish waited for a turn of the loop"
        assert not client._client.want_write()
        assert not watched_for_writing(client)


async def test_without_it_the_write_waits_for_the_loop(mosquitto: BrokerProcess) -> None:
    async with session(mosquitto.settings, client_id("later"), at_once=False) as client:
        turned: list[bool] = []
        asyncio.get_running_loop().call_soon(turned.append, True)
        await client.publish("/later/status", b"x", qos=0)
        assert turned  # what the hook saves: a device host runs all that is ready first
        assert not client._client.want_write()


async def test_what_the_socket_cannot_take_at_once_follows_whole(mosquitto: BrokerProcess) -> None:
    """Bigger than the socket's buffers: part is written at once, the rest by the loop's watch,
    which is dropped once all is out (a watch left behind would spin the loop)."""
    payloads = [bytes([n]) * 4_000_000 for n in range(3)]
    async with (
        probe(mosquitto.settings, "/big/#") as p,
        session(mosquitto.settings, client_id("big")) as client,
    ):
        await asyncio.gather(*(client.publish(f"/big/{n}", body, qos=1) for n, body in enumerate(payloads)))
        got = [await p.wait_for(topic_is(f"/big/{n}")) for n in range(3)]
        assert [m.payload for m in got] == payloads
        assert not client._client.want_write()
        assert not watched_for_writing(client)


async def test_publishes_interleaved_with_reads_keep_their_order(mosquitto: BrokerProcess) -> None:
    """Writes made between the reads of a busy connection: every message, in order."""
    async with (
        probe(mosquitto.settings, "/seq/#") as p,
        session(mosquitto.settings, client_id("seq")) as client,
    ):
        await client.subscribe("/seq/#", qos=1)
        for n in range(500):
            await client.publish("/seq/n", str(n).encode(), qos=1 if n % 2 else 0)
        seen: list[int] = []
        async with asyncio.timeout(TIMEOUT):
            async for message in client.messages:
                seen.append(int(payload_bytes(message.payload)))
                if len(seen) == 500:
                    break
        assert seen == list(range(500))
        last = await p.wait_for(lambda m: m.topic.value == "/seq/n" and m.payload == b"499")
        assert last is not None
