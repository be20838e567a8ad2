"""A module's status is published in the order of its sequence numbers, however many publishers race.

The archiver counted `gaps: 64` in a 320-module stand while no device's `seq` had a
gap: two of the safety service's publishers (the heartbeat loop and a status change)
interleaved, so a module's newer status went out before an older one. The archiver
saw a jump, and the broker kept the *older* status as the retained one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import types
from typing import Any, cast

from trackerdcs.bus.requests import Requester
from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.services.safety.service import SafetyService
from trackerdcs.stand import parse_stand

MODULES = 64


def stand_text() -> str:
    text = '[[devices]]\nname = "hv"\nkind = "hv"\nchannels = 64\n[[devices]]\nname = "lv"\nkind = "lv"\nchannels = 64\n'
    for i in range(MODULES):
        text += f'[[modules]]\nname = "M{i}"\nlv = "lv:{i}"\nhv = "hv:{i}"\n'
    return text


class Recorder:
    """Takes publishes as a client would: sent at once, then each yields to the event loop."""

    def __init__(self) -> None:
        self.published: list[tuple[str, Any]] = []
        self.sent: list[tuple[str, str]] = []  # in the order they went out, JSON or not
        self._client = types.SimpleNamespace(protocol=None)  # what a requester asks: not MQTT v5

    async def publish(self, topic: str, payload: str, **_: Any) -> None:
        self.sent.append((topic, payload))
        await asyncio.sleep(0)
        if topic.endswith("/status"):
            self.published.append((topic, json.loads(payload)))


async def test_a_change_during_a_full_publish_does_not_overtake_it() -> None:
    service = SafetyService(parse_stand(stand_text(), "test"), BrokerSettings(), None)
    client = Recorder()
    full = asyncio.create_task(service.modules_out.publish(cast(Any, client), force=True))
    await asyncio.sleep(0)  # the full publish is under way
    service.state.sequence["M10"] = ("on", None)  # M10 changes meanwhile
    await service.modules_out.publish(cast(Any, client))
    await full
    seqs = [body["seq"] for topic, body in client.published if topic == "/M10/status"]
    assert seqs == sorted(seqs) and len(seqs) == 2, seqs
    last = [body for topic, body in client.published if topic == "/M10/status"][-1]
    assert last["sequence"] == "on"  # the retained status is the newest


def statuses(client: Recorder) -> list[str]:
    return [topic for topic, _ in client.published if topic.startswith("/M")]


async def test_a_status_leaves_its_module_statuses_to_the_publisher_task() -> None:
    """The receive loop goes on to the next message at once: a dangerous sample does not
    wait for thousands of module statuses."""
    service = SafetyService(parse_stand(stand_text(), "test"), BrokerSettings(), None)
    client = Recorder()
    body = [{"number": c, "on": 0, "vmon": 0.0, "state": "off", "ts": 1.0, "seq": 0} for c in range(MODULES)]
    await service._on_status(cast(Any, client), "hv", json.dumps(body).encode())
    assert statuses(client) == []  # not by the handler
    publisher = asyncio.create_task(service.modules_out.run(cast(Any, client)))
    try:
        async with asyncio.timeout(10):
            while len(statuses(client)) < MODULES:
                await asyncio.sleep(0.01)
    finally:
        publisher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await publisher
    assert sorted(statuses(client)) == sorted(f"/M{i}/status" for i in range(MODULES))


async def trip(text: str, hv: list[str]) -> tuple[SafetyService, Recorder]:
    """A safety service that sees the dew-point rule fire; back once every switch-off of ``hv`` is out."""
    service = SafetyService(parse_stand(text, "test"), BrokerSettings(), None)
    client = Recorder()
    service.client, service.requester = cast(Any, client), Requester(cast(Any, client))
    for device in hv:
        service.state.engine.on_availability(device, True, time.time())
    sample = {"temperature": 20.0, "humidity": 90.0, "dewpoint": 19.0, "ts": time.time()}
    await service._on_status(cast(Any, client), "env", json.dumps(sample).encode())
    wanted = {f"/{device}/cmd/switch" for device in hv} | {"/interlock/inhibit"}
    async with asyncio.timeout(10):
        while not wanted.issubset(topic for topic, _ in client.sent):
            await asyncio.sleep(0.01)
    return service, client


async def test_a_firing_rule_publishes_the_inhibit_lists_before_its_switch_offs() -> None:
    """A device learns it is inhibited before it is told to switch off: an HV on between is refused.

    Each device gets its own list, with its modules only, and again only when it changed.
    The lists of devices with nothing to switch off, and the whole list, follow the
    switch-offs (at 5,120 modules they were 390 KB ahead of every switch-off)."""
    text = stand_text() + '[[devices]]\nname = "env"\nkind = "env"\n'
    text += '[[rules]]\nname = "dewpoint"\nsignal = "env.dewpoint_margin"\nbelow = 3.0\nhv_off = ["*"]\n'
    service, client = await trip(text, ["hv"])
    topics = [topic for topic, _ in client.sent]
    assert topics.index("/interlock/inhibit/hv") < topics.index("/hv/cmd/switch")
    # what no switch-off needs goes after them: the other devices' lists and the whole list
    for behind in ("/interlock/inhibit", "/interlock/inhibit/lv", "/interlock/inhibit/env"):
        assert topics.index("/hv/cmd/switch") < topics.index(behind), behind
    lists = {topic: json.loads(payload) for topic, payload in client.sent if "/inhibit/" in topic}
    assert set(lists["/interlock/inhibit/hv"]["inhibit"]) == {f"M{i}" for i in range(MODULES)}
    assert lists["/interlock/inhibit/env"]["inhibit"] == {}  # only what concerns each device
    before = len(client.sent)
    await service._publish_state(cast(Any, client))
    again = [topic for topic, _ in client.sent[before:]]
    assert "/interlock/inhibit" in again and not [
        t for t in again if "/inhibit/" in t
    ]  # unchanged: not resent
    tasks = list(service._tasks)  # the switch-offs still wait for a reply nobody sends
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_each_device_gets_its_list_then_its_switch_off_device_after_device() -> None:
    """The first device's switch-off does not wait for every device's list (80 at 10,240 channels)."""
    text = stand_text() + '[[devices]]\nname = "hv2"\nkind = "hv"\nchannels = 64\n'
    text += '[[modules]]\nname = "N0"\nlv = "lv:63"\nhv = "hv2:0"\n[[modules]]\nname = "N1"\nlv = "lv:62"\nhv = "hv2:1"\n'
    text += '[[devices]]\nname = "env"\nkind = "env"\n'
    text += '[[rules]]\nname = "dewpoint"\nsignal = "env.dewpoint_margin"\nbelow = 3.0\nhv_off = ["*"]\n'
    service, client = await trip(text, ["hv", "hv2"])
    topics = [topic for topic, _ in client.sent]
    order = ["/interlock/inhibit/hv", "/hv/cmd/switch", "/interlock/inhibit/hv2", "/hv2/cmd/switch"]
    assert sorted(order, key=topics.index) == order, topics
    hv2 = next(json.loads(p) for t, p in client.sent if t == "/interlock/inhibit/hv2")
    assert hv2["inhibit"] == {"N0": ["dewpoint"], "N1": ["dewpoint"]}
    tasks = list(service._tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_sequence_publishes_its_own_module_only() -> None:
    """`dcs module on M1` changes M1's status; at 5,120 modules it republished all of them."""
    service = SafetyService(parse_stand(stand_text(), "test"), BrokerSettings(), None)
    client = Recorder()
    service.client = cast(Any, client)

    async def steps() -> None:
        return None

    await service._sequence("M1", "on", steps())
    assert {topic for topic, _ in client.published} == {"/M1/status"}
    assert [body["sequence"] for _, body in client.published] == ["on", "idle"]


async def test_a_rules_first_trip_finds_its_device_lists_made() -> None:
    """Made on the trip, 160 device lists delayed the first switch-off by about 20 ms at 10,240 channels."""
    text = stand_text() + '[[devices]]\nname = "env"\nkind = "env"\n'
    text += '[[rules]]\nname = "dewpoint"\nsignal = "env.dewpoint_margin"\nbelow = 3.0\nhv_off = ["*"]\n'
    made = set(SafetyService(parse_stand(text, "test"), BrokerSettings(), None)._bodies)
    assert (("dewpoint", None),) in made
    service, _ = await trip(text, ["hv"])
    assert set(service._bodies) == made  # the trip made no list of its own
    tasks = list(service._tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
