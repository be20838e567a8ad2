"""The live feed: a snapshot first, the same update to every client, and a slow client dropped."""

from __future__ import annotations

import asyncio
import json

from trackerdcs.services.console.feed import MAX_PENDING, Client, Feed
from trackerdcs.services.console.state import Layout, StandState

LAYOUT = Layout(stand="t", devices={"hv": "hv"}, modules=frozenset(), safety=None, daq=None)


class Socket:
    """A websocket's send side: records what it got, or never completes (a client that stopped reading)."""

    def __init__(self, stuck: bool = False) -> None:
        self.sent: list[bytes] = []
        self.stuck = asyncio.Event() if stuck else None
        self.got = asyncio.Event()

    async def send(self, data: bytes) -> None:
        if self.stuck is not None:
            await self.stuck.wait()  # never set: the socket's buffers are full
        self.sent.append(data)
        self.got.set()


async def test_a_client_gets_the_snapshot_then_the_updates() -> None:
    state = StandState(LAYOUT)
    feed = Feed(state, period=1.0, clock=lambda: 7.0)
    state.apply("/hv/availability", b"online")
    socket = Socket()
    client = Client("a", socket.send)
    feed.join(client)
    pump = asyncio.create_task(client.pump())
    state.apply("/hv/availability", b"offline")
    feed.flush()
    async with asyncio.timeout(5):
        while len(socket.sent) < 2:
            socket.got.clear()
            await socket.got.wait()
    first, second = (json.loads(m) for m in socket.sent)
    assert first["type"] == "snapshot" and first["state"]["devices"]["hv"]["availability"] == "online"
    assert second == {"type": "update", "now": 7.0, "devices": {"hv": {"availability": "offline"}}}
    pump.cancel()


async def test_every_client_gets_the_very_same_bytes() -> None:
    state = StandState(LAYOUT)
    feed = Feed(state, period=1.0)
    queues = [Client(str(i), Socket().send) for i in range(3)]
    for c in queues:
        feed.join(c)
    state.apply("/hv/availability", b"online")
    feed.flush()
    sent = [c._queue.get_nowait() and c._queue.get_nowait() for c in queues]  # skip each snapshot
    assert sent[0] == sent[1] == sent[2]


async def test_a_slow_client_is_dropped_and_the_others_go_on() -> None:
    state = StandState(LAYOUT)
    feed = Feed(state, period=1.0)
    slow_socket, fast_socket = Socket(stuck=True), Socket()
    slow, fast = Client("slow", slow_socket.send), Client("fast", fast_socket.send)
    for c in (slow, fast):
        feed.join(c)
    pumps = [asyncio.create_task(c.pump()) for c in (slow, fast)]
    for i in range(MAX_PENDING + 3):
        state.apply("/hv/status", json.dumps([{"number": 0, "on": 0, "seq": i}]).encode())
        feed.flush()
        async with asyncio.timeout(5):  # the fast one takes each update as it comes
            while len(fast_socket.sent) < i + 2:
                fast_socket.got.clear()
                await fast_socket.got.wait()
    assert slow.dropped is not None and slow.dropped.startswith("too slow")
    async with asyncio.timeout(5):
        await pumps[0]  # the slow client's pump ends: its websocket is closed
    assert fast.dropped is None
    pumps[1].cancel()


async def test_a_lost_broker_goes_out_at_once_not_at_the_end_of_the_period() -> None:
    state = StandState(LAYOUT)
    feed = Feed(state, period=3600.0)  # an hour: only the loss's own path can bring it before then
    socket = Socket()
    client = Client("a", socket.send)
    feed.join(client)
    tasks = [asyncio.create_task(client.pump()), asyncio.create_task(feed.run())]
    state.apply("/hv/availability", b"online")  # the first change after quiet goes out at once
    async with asyncio.timeout(10):
        while len(socket.sent) < 2:
            socket.got.clear()
            await socket.got.wait()
    state.set_bus(False, 5.0)
    async with asyncio.timeout(10):
        while len(socket.sent) < 3:
            socket.got.clear()
            await socket.got.wait()
    assert json.loads(socket.sent[2])["bus"] == {"connected": False, "since": 5.0}
    for task in tasks:
        task.cancel()
