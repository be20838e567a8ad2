"""The device service's fault handling, without a broker: what it queues for publication.

The broker address points nowhere; the service samples anyway (it buffers while the
broker is away), so its outbox shows the status it would publish.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.helpers import free_port
from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.contract.payloads import ChannelState, Reason
from trackerdcs.devices.base import Device, Sample
from trackerdcs.devices.clock import SystemClock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.supply import ChannelReading, ChannelSettings, PowerSupply
from trackerdcs.services.device.faults import Backoff, describe
from trackerdcs.services.device.io_thread import DeviceIO, DeviceTimeout
from trackerdcs.services.device.service import DeviceService


class Flaky(Device):
    """A sensor that answers, raises, or hangs, as the test says."""

    def __init__(self) -> None:
        super().__init__(DeviceConfig(name="probe", kind="dummy", period=0.05), SystemClock())
        self.mode = "ok"
        self.release = threading.Event()
        self.reconnects = 0

    def read(self) -> Sample:
        if self.mode == "raise":
            raise OSError("connection reset by peer")
        if self.mode == "hang":
            self.release.wait(10)  # a safety net only: the test sets the event
        return Sample(self.clock.time(), {"value": 1.0}, ("ok",))

    def reconnect(self) -> None:
        self.reconnects += 1


@contextlib.asynccontextmanager
async def running(device: Device) -> AsyncIterator[DeviceService]:
    broker = BrokerSettings("127.0.0.1", free_port())  # nobody listens: the service keeps sampling
    service = DeviceService(device, broker, poll=0.02, io_timeout=0.2, backoff=Backoff(first=0.01, cap=0.05))
    task = asyncio.create_task(service.run())
    try:
        yield service
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def status_where(service: DeviceService, check: Any) -> Any:
    """Take queued messages until a status passes ``check``."""
    async with asyncio.timeout(10):
        while True:
            item = await service.outbox.peek()
            service.outbox.done(item)
            if item.topic == service.topics.status and check(body := json.loads(item.payload)):
                return body


async def test_a_failing_read_gives_an_error_status_device_error_replies_and_recovery() -> None:
    device = Flaky()
    async with running(device) as service:
        await status_where(service, lambda s: s.get("value") == 1.0)
        device.mode = "raise"
        error = await status_where(service, lambda s: s.get("state") == "error")
        assert error["error"] == "OSError: connection reset by peer" and "value" not in error
        reply = await service.commands.handle("/probe/cmd/anything", b"1")
        assert (reply.ok, reply.reason) == (False, Reason.DEVICE_ERROR)
        assert reply.message == "probe is in fault: OSError: connection reset by peer"
        device.mode = "ok"
        await status_where(service, lambda s: s.get("value") == 1.0)
        assert service.fault is None and service.backoff.attempts == 0
        assert device.reconnects >= 1


async def test_a_hung_read_does_not_block_recovery() -> None:
    device = Flaky()
    try:
        async with running(device) as service:
            device.mode = "hang"
            error = await status_where(service, lambda s: s.get("state") == "error")
            assert error["error"] == "no answer within 0.2 s"
            device.mode = "ok"  # the first read still hangs in its thread
            await status_where(service, lambda s: s.get("value") == 1.0)
            assert service.io.abandoned >= 1
    finally:
        device.release.set()


async def test_device_io_leaves_a_hung_thread_behind_and_runs_the_next_call() -> None:
    release = threading.Event()
    io = DeviceIO("hv", timeout=0.05)
    try:
        with pytest.raises(DeviceTimeout):
            await io.call(release.wait, 10)
        assert await io.call(lambda: "answered") == "answered"
        assert io.abandoned == 1
    finally:
        release.set()
        io.close()


def test_backoff_doubles_up_to_the_cap_and_resets() -> None:
    backoff = Backoff(first=0.5, cap=3.0)
    assert [backoff.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_describe_gives_one_short_line() -> None:
    assert describe(DeviceTimeout("no answer within 5 s")) == "no answer within 5 s"
    assert describe(ValueError("bad\nsecond line")) == "ValueError: bad"
    assert describe(KeyError()) == "KeyError"
    assert len(describe(RuntimeError("x" * 500))) == 200


class Dark:
    """A supply driver whose instrument comes back with every output off."""

    def __init__(self) -> None:
        self.reconnects = 0

    def apply(self, channel: int, settings: ChannelSettings) -> None:
        pass

    def clear_trip(self, channel: int) -> None:
        pass

    def poll(self, now: float) -> list[ChannelReading]:
        return [ChannelReading(0.0, 0.0, ChannelState.OFF)] * 2

    def reconnect(self) -> None:
        self.reconnects += 1

    def close(self) -> None:
        pass


def test_a_supply_reconnect_follows_the_instrument_and_never_switches_on() -> None:
    driver = Dark()
    supply = PowerSupply(DeviceConfig(name="lv", kind="lv", channels=2), SystemClock(), driver)
    supply.settings[1].on = True
    supply.reconnect()
    assert driver.reconnects == 1 and not supply.settings[1].on


def test_a_supply_error_status_keeps_the_settings_and_drops_the_measurements() -> None:
    supply = PowerSupply(DeviceConfig(name="lv", kind="lv", channels=2), SystemClock(), Dark())
    supply.settings[0].vreq = 5.0
    body = supply.error_body("no answer within 5 s")
    assert isinstance(body, list) and len(body) == 2
    assert body[0] | {"error": ""} == {
        "number": 0,
        "on": 0,
        "vreq": 5.0,
        "ilimit": 2.5,
        "rampup": 12.0,
        "rampdown": 12.0,
        "state": "error",
        "error": "",
    }
    assert body[1]["error"] == "no answer within 5 s"
