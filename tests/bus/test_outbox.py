"""The bounded outbox: what a service keeps while the broker is away."""

from __future__ import annotations

import asyncio
import logging

import pytest

from trackerdcs.bus.outbox import Outbox, Outgoing

# -- outbox ------------------------------------------------------------------------------


def messages(n: int) -> list[Outgoing]:
    return [Outgoing(f"/hv/status/{i}", str(i)) for i in range(n)]


async def drain(box: Outbox) -> list[str | bytes]:
    out = []
    while len(box):
        item = await box.peek()
        box.done(item)
        out.append(item.payload)
    return out


def test_an_outbox_needs_room_for_one_message() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Outbox(0)


def test_outgoing_defaults_are_retained_qos_1() -> None:
    item = Outgoing("/hv/status", "[]")
    assert (item.retain, item.qos) == (True, 1)


async def test_outbox_is_first_in_first_out() -> None:
    box = Outbox(10)
    for item in messages(4):
        box.put(item)
    assert len(box) == 4
    assert await drain(box) == ["0", "1", "2", "3"]
    assert (len(box), box.dropped) == (0, 0)


async def test_peek_does_not_remove_and_done_does() -> None:
    box = Outbox(10)
    first, second = messages(2)
    box.put(first)
    box.put(second)
    assert await box.peek() is first
    assert await box.peek() is first
    assert len(box) == 2
    box.done(first)
    assert await box.peek() is second
    assert len(box) == 1


async def test_a_full_outbox_drops_the_oldest_and_counts_it(caplog: pytest.LogCaptureFixture) -> None:
    box = Outbox(3)
    with caplog.at_level(logging.WARNING, logger="trackerdcs.bus.outbox"):
        for item in messages(5):
            box.put(item)
    assert (len(box), box.dropped) == (3, 2)
    assert "dropped the oldest, on /hv/status/1 (2 dropped so far)" in caplog.text
    assert await drain(box) == ["2", "3", "4"]
    box.put(Outgoing("/t", "again"))
    assert box.dropped == 2  # not full any more: nothing dropped


async def test_done_on_a_message_dropped_while_in_flight_removes_nothing() -> None:
    box = Outbox(2)
    a, b, c = messages(3)
    box.put(a)
    box.put(b)
    in_flight = await box.peek()
    assert in_flight is a
    box.put(c)  # the broker is slow: a is dropped while being published
    box.done(in_flight)
    assert (len(box), box.dropped) == (2, 1)
    assert await drain(box) == ["1", "2"]


async def test_done_with_another_message_removes_nothing() -> None:
    box = Outbox(5)
    a, b = messages(2)
    box.put(a)
    box.put(b)
    box.done(b)
    assert len(box) == 2
    assert await box.peek() is a


async def test_peek_waits_for_a_message() -> None:
    box = Outbox(5)
    waiting = asyncio.create_task(box.peek())
    for _ in range(3):
        await asyncio.sleep(0)  # let it run: it must block on the empty outbox
    assert not waiting.done()
    item = Outgoing("/hv/status", "[]")
    box.put(item)
    async with asyncio.timeout(1):
        assert await waiting is item
    assert len(box) == 1


async def test_peek_waits_again_after_the_outbox_is_emptied() -> None:
    box = Outbox(5)
    first = Outgoing("/a", "1")
    box.put(first)
    box.done(await box.peek())
    waiting = asyncio.create_task(box.peek())
    for _ in range(3):
        await asyncio.sleep(0)
    assert not waiting.done()  # the event set by the first put must not wake it
    second = Outgoing("/b", "2")
    box.put(second)
    async with asyncio.timeout(1):
        assert await waiting is second
