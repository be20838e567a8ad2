"""`/<dev>/cmd/switch` without a channel: many channels off in one command, one reply."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Literal

import pytest

from trackerdcs.contract.payloads import Reason, Reply
from trackerdcs.devices.base import Command, Device, Sample
from trackerdcs.devices.clock import ManualClock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.registry import create_device
from trackerdcs.safety.config import ChannelRef, ModuleConfig
from trackerdcs.safety.modules import ModuleMap
from trackerdcs.services.device.commands import CommandHandler
from trackerdcs.services.device.guard import Guard
from trackerdcs.services.device.io_thread import DeviceIO


class Handlers:
    def __init__(self) -> None:
        self.ios: list[DeviceIO] = []

    def __call__(self, device: Device, guard: Guard | None = None) -> CommandHandler:
        io = DeviceIO(device.name, timeout=5.0)
        self.ios.append(io)

        async def rebirth() -> None:
            return None

        return CommandHandler(device, io, lambda: 1.0, rebirth, guard)


@pytest.fixture
def make_handler() -> Iterator[Handlers]:
    handlers = Handlers()
    yield handlers
    for io in handlers.ios:
        io.close()


def relay(channels: int = 4) -> Device:
    return create_device(DeviceConfig(name="relay", kind="relay", channels=channels), ManualClock())


def on_channels(device: Device) -> list[int]:
    body = device.read().body
    assert isinstance(body, list)
    return [entry["number"] for entry in body if entry["on"]]


async def all_on(handler: CommandHandler) -> None:
    for channel in handler.device.channels:
        assert (await handler.handle(f"/{handler.device.name}/cmd/switch/{channel}", b"on")).ok


async def test_off_without_a_channel_switches_every_channel_off_with_one_reply(
    make_handler: Handlers,
) -> None:
    handler = make_handler(relay())
    await all_on(handler)
    reply = await handler.handle("/relay/cmd/switch", b"off")
    assert reply == Reply(
        ok=True,
        device="relay",
        topic="/relay/cmd/switch",
        payload="off",
        command="switch",
        channel=None,
        message="channels 0-3: output off",
        ts=1.0,
    )
    assert on_channels(handler.device) == []


async def test_a_list_switches_only_its_channels_off(make_handler: Handlers) -> None:
    handler = make_handler(relay())
    await all_on(handler)
    reply = await handler.handle("/relay/cmd/switch", b'{"off": [1, 3]}')
    assert (reply.ok, reply.message) == (True, "channels 1, 3: output off")
    assert on_channels(handler.device) == [0, 2]


async def test_a_supply_ramps_down_every_channel(make_handler: Handlers) -> None:
    hv = create_device(DeviceConfig(name="hv", kind="hv", channels=8, seed=1), ManualClock())
    handler = make_handler(hv)
    await all_on(handler)
    assert (await handler.handle("/hv/cmd/switch", b"off")).ok
    assert on_channels(hv) == []


@pytest.mark.parametrize(
    ("raw", "reason", "message"),
    [
        (b"on", Reason.BAD_TOPIC, "switch on needs a channel"),
        (b'{"off": [2, 9]}', Reason.UNKNOWN_CHANNEL, "relay has no channel 9 (channels: 0-3)"),
        (b'{"off": []}', Reason.BAD_PAYLOAD, "expected off"),
        (b"maybe", Reason.BAD_PAYLOAD, "expected 'on' or 'off'"),
    ],
)
async def test_a_refused_switch_changes_nothing(
    make_handler: Handlers, raw: bytes, reason: Reason, message: str
) -> None:
    handler = make_handler(relay())
    await all_on(handler)
    reply = await handler.handle("/relay/cmd/switch", raw)
    assert (reply.ok, reply.reason, reply.channel) == (False, reason, None)
    assert message in reply.message
    assert on_channels(handler.device) == [0, 1, 2, 3]


async def test_one_channel_the_guard_refuses_refuses_them_all(make_handler: Handlers) -> None:
    """LV may not go off under HV that is up: none of the LV channels goes off then."""
    module = ModuleConfig(name="M1", lv="lv:1", hv="hv:1")
    guard = Guard("lv", ModuleMap((module,)), None, None, lambda: 0.0)
    guard.status[ChannelRef("hv", 1)] = {"number": 1, "on": 1, "vmon": 150.0, "state": "on"}
    lv = create_device(DeviceConfig(name="lv", kind="lv", channels=4, seed=1), ManualClock())
    handler = make_handler(lv, guard)
    await all_on(handler)
    reply = await handler.handle("/lv/cmd/switch", b"off")
    assert (reply.ok, reply.reason) == (False, Reason.SEQUENCE)
    assert reply.message.startswith("channel 1 refused, none switched off: module M1: LV may go off only")
    assert on_channels(lv) == [0, 1, 2, 3]


class Flaky(Device):
    """Four outputs; channel 1 fails whenever it is switched."""

    def __init__(self) -> None:
        super().__init__(DeviceConfig(name="ps", kind="relay", channels=4), ManualClock())
        self.on = dict.fromkeys(self.channels, True)

    def commands(self) -> Mapping[str, Command]:
        return {"switch": Command("switch", self._switch)}

    def _switch(self, channel: int | None, text: str) -> str:
        assert channel is not None
        if channel == 1:
            raise OSError("relay 1 stuck")
        self.on[channel] = False
        return "off"

    def read(self) -> Sample:
        return Sample(0.0, [{"number": c, "on": int(on)} for c, on in self.on.items()])


async def test_a_channel_that_fails_does_not_keep_the_others_on(make_handler: Handlers) -> None:
    device = Flaky()
    reply = await make_handler(device).handle("/ps/cmd/switch", b"off")
    assert (reply.ok, reply.reason) == (False, Reason.DEVICE_ERROR)
    assert reply.message == "channel 1 not switched off (OSError: relay 1 stuck); the others are off"
    assert device.on == {0: False, 1: True, 2: False, 3: False}


async def test_a_device_without_a_switch_says_so(make_handler: Handlers) -> None:
    env = create_device(DeviceConfig(name="env", kind="env"), ManualClock())
    reply = await make_handler(env).handle("/env/cmd/switch", b"off")
    assert (reply.ok, reply.reason) == (False, Reason.UNKNOWN_COMMAND)


@pytest.mark.parametrize("kind", ["hv", "lv"])
async def test_a_supply_ends_as_after_one_switch_off_per_channel(
    make_handler: Handlers, kind: Literal["hv", "lv"]
) -> None:
    """The supply reads its channels once for all of them: the outcome is the same, trips included."""
    supplies = [
        create_device(DeviceConfig(name=kind, kind=kind, channels=6, seed=1), ManualClock()) for _ in range(2)
    ]
    one_by_one, together = (make_handler(s) for s in supplies)
    for handler in (one_by_one, together):
        await all_on(handler)
        assert (await handler.handle(f"/{kind}/sim/trip/2", b"1")).ok
    for channel in range(6):
        assert (await one_by_one.handle(f"/{kind}/cmd/switch/{channel}", b"off")).ok
    assert (await together.handle(f"/{kind}/cmd/switch", b"off")).ok
    first, second = (s.read().body for s in supplies)
    assert first == second
    assert isinstance(second, list) and [e["state"] for e in second] == ["off"] * 6  # the trip cleared
