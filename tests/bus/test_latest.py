"""The console's incoming queue: a waiting message is replaced by a newer one of its topic."""

from __future__ import annotations

import asyncio

import aiomqtt

from trackerdcs.bus.latest import latest_per_topic


def message(topic: str, payload: str) -> aiomqtt.Message:
    return aiomqtt.Message(topic, payload.encode(), qos=1, retain=False, mid=1, properties=None)


def drain(queue: asyncio.Queue[aiomqtt.Message]) -> list[tuple[str, bytes]]:
    out = []
    while not queue.empty():
        item = queue.get_nowait()
        out.append((item.topic.value, bytes(item.payload)))
    return out


async def test_a_newer_message_replaces_the_waiting_one_of_its_topic_in_its_place() -> None:
    queue = latest_per_topic(lambda topic: not topic.endswith("/reply"))(maxsize=10)
    for topic, payload in [("/a/status", "1"), ("/b/status", "1"), ("/a/status", "2")]:
        queue.put_nowait(message(topic, payload))
    assert queue.qsize() == 2
    assert drain(queue) == [("/a/status", b"2"), ("/b/status", b"1")]


async def test_messages_that_must_not_merge_are_all_kept_in_order() -> None:
    queue = latest_per_topic(lambda topic: not topic.endswith("/reply"))(maxsize=10)
    for payload in "123":
        queue.put_nowait(message("/hv/reply", payload))
    assert drain(queue) == [("/hv/reply", b"1"), ("/hv/reply", b"2"), ("/hv/reply", b"3")]


async def test_a_flood_of_one_topic_never_fills_the_queue() -> None:
    queue = latest_per_topic(lambda topic: True)(maxsize=3)
    for i in range(100):
        queue.put_nowait(message(f"/m{i % 2}/status", str(i)))
    assert not queue.full()
    assert drain(queue) == [("/m0/status", b"98"), ("/m1/status", b"99")]


async def test_the_bound_counts_only_what_cannot_merge() -> None:
    """More topics than the bound are all kept; the bound still holds for replies."""
    queue = latest_per_topic(lambda topic: not topic.endswith("/reply"))(maxsize=3)
    for i in range(10):
        queue.put_nowait(message(f"/m{i}/status", "x"))
    for i in range(3):
        queue.put_nowait(message("/hv/reply", str(i)))
    assert queue.full()
    assert queue.qsize() == 13
    queue.get_nowait()  # a status: the replies still fill it
    assert queue.full()
