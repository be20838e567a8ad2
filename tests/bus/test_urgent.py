"""The urgent-first queue: urgent messages first, each kind in arrival order."""

from __future__ import annotations

import aiomqtt

from trackerdcs.bus.urgent import urgent_first


def message(topic: str, n: int) -> aiomqtt.Message:
    return aiomqtt.Message(topic, str(n).encode(), qos=1, retain=False, mid=n, properties=None)


async def test_urgent_messages_come_first_each_kind_in_order() -> None:
    queue = urgent_first(lambda topic: topic.startswith("/env/"))(maxsize=10)
    topics = ["/hv/status", "/lv/status", "/env/status", "/hv/status", "/env/status", "/lv/status"]
    for n, topic in enumerate(topics):
        queue.put_nowait(message(topic, n))
    assert queue.qsize() == 6 and not queue.empty()
    out = [await queue.get() for _ in topics]
    assert [(m.topic.value, m.payload) for m in out] == [
        ("/env/status", b"2"),
        ("/env/status", b"4"),
        ("/hv/status", b"0"),
        ("/lv/status", b"1"),
        ("/hv/status", b"3"),
        ("/lv/status", b"5"),
    ]
    assert queue.empty()


async def test_it_is_bounded_like_any_queue() -> None:
    queue = urgent_first(lambda _: True)(maxsize=1)
    queue.put_nowait(message("/env/status", 0))
    assert queue.full()
