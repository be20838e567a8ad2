"""Device-service pieces without a broker: the outbox it buffers in, the command handler, a hung driver."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from trackerdcs.bus.outbox import Outbox, Outgoing
from trackerdcs.contract.payloads import Reason
from trackerdcs.contract.topics import Inbound
from trackerdcs.devices.base import Device, Sample
from trackerdcs.devices.clock import ManualClock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.registry import create_device
from trackerdcs.services.device.commands import CommandHandler
from trackerdcs.services.device.io_thread import DeviceIO

HV = '[[devices]]\nname = "hv"\nkind = "hv"\n'


async def test_outbox_is_bounded_fifo_and_counts_what_it_drops() -> None:
    box = Outbox(3)
    for i in range(5):
        box.put(Outgoing("/t", str(i)))
    assert (len(box), box.dropped) == (3, 2)
    first = await box.peek()
    assert first.payload == "2"
    box.done(first)
    assert [(await box.peek()).payload, len(box)] == ["3", 2]


class Broken(Device):
    """A device whose driver fails, or hangs until released."""

    def __init__(self, release: threading.Event | None = None) -> None:
        super().__init__(DeviceConfig(name="hv", kind="hv"), ManualClock())
        self.release = release

    def read(self) -> Sample:
        return Sample(0.0, {})

    def handle(self, inbound: Inbound, text: str) -> str:
        if self.release is not None:
            self.release.wait(5)
            return "too late"
        raise RuntimeError("instrument on fire")


async def _rebirth() -> None:
    return None


def handler(device: Device, timeout: float = 1.0) -> CommandHandler:
    return CommandHandler(device, DeviceIO(device.name, timeout), lambda: 1.0, _rebirth)


@pytest.mark.parametrize(
    ("topic", "raw", "reason"),
    [
        ("/hv/cmd/setv/0", b"\xff\x00garbage", Reason.BAD_PAYLOAD),
        ("/hv/cmd/setv/0", b"9" * 100_000, Reason.BAD_PAYLOAD),
        ("/hv/cmd/setv/0", b"NaN", Reason.BAD_PAYLOAD),
        ("/hv/cmd/explode/0", b"1", Reason.UNKNOWN_COMMAND),
        ("/hv/cmd", b"1", Reason.BAD_TOPIC),
        ("/lv/cmd/setv/0", b"1", Reason.BAD_TOPIC),
    ],
)
async def test_every_bad_input_gets_a_rejection(topic: str, raw: bytes, reason: Reason) -> None:
    hv = create_device(DeviceConfig(name="hv", kind="hv"), ManualClock())
    reply = await handler(hv).handle(topic, raw)
    assert (reply.ok, reply.reason, reply.device) == (False, reason, "hv")
    assert len(reply.payload) <= 64


async def test_a_failing_driver_gives_device_error() -> None:
    reply = await handler(Broken()).handle("/hv/cmd/setv/0", b"10")
    assert (reply.ok, reply.reason) == (False, Reason.DEVICE_ERROR)
    assert "instrument on fire" in reply.message


async def test_a_hanging_driver_gives_device_error_after_the_timeout() -> None:
    release = threading.Event()
    try:
        reply = await handler(Broken(release), timeout=0.05).handle("/hv/cmd/setv/0", b"10")
    finally:
        release.set()
    assert (reply.ok, reply.reason) == (False, Reason.DEVICE_ERROR)
    assert "no answer within 0.05 s" in reply.message


async def test_a_simulator_is_called_on_the_event_loop_and_hardware_in_its_worker_thread() -> None:
    """A simulator only computes (decision 31); a driver that does I/O may hang, so it gets a thread."""
    seen: list[str] = []

    def where() -> str:
        seen.append(threading.current_thread().name)
        return "done"

    inline, threaded = DeviceIO("sim", blocking=False), DeviceIO("hw")
    try:
        assert await inline.call(where) == await threaded.call(where) == "done"
    finally:
        inline.close()
        threaded.close()
    assert seen == [threading.current_thread().name, "io-hw"]


@pytest.mark.parametrize("kind", ["hv", "lv", "env", "relay", "dummy"])
def test_every_simulated_device_says_it_does_no_io(kind: Any) -> None:
    device = create_device(DeviceConfig(name="d", kind=kind), ManualClock())
    assert device.blocking is False
    assert Broken().blocking is True  # the default: a device's calls may block
