"""VISA instruments end to end: emulator on a TCP socket, pyvisa-py, driver, device
service, real mosquitto, and the faults a LAN instrument shows."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from tests.helpers import TIMEOUT, BrokerProcess, Probe, probe
from tests.instruments.hmp4040 import HMP4040Emulator
from tests.instruments.keithley import Keithley2410Emulator
from tests.instruments.tcp import Fault, LineHandler, TcpInstrument
from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.devices.clock import SystemClock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.registry import create_device
from trackerdcs.services.device.faults import Backoff
from trackerdcs.services.device.service import DeviceService

pytestmark = pytest.mark.broker

Status = Callable[[Any], bool]


@contextlib.asynccontextmanager
async def serving(settings: BrokerSettings, **config: Any) -> AsyncIterator[DeviceService]:
    """A device service for a VISA instrument, with short timeouts and retries for the tests.

    The pyvisa timeout (0.3 s) is shorter than the service's I/O timeout (2 s), as in
    production (2 s and 5 s): a silent instrument fails in the driver first.
    """
    merged: dict[str, Any] = {"period": 0.2, "options": {"timeout": 0.3}} | config
    device = create_device(DeviceConfig(**merged), SystemClock())
    service = DeviceService(device, settings, io_timeout=2.0, backoff=Backoff(first=0.05, cap=0.2))
    task = asyncio.create_task(service.run())
    try:
        async with asyncio.timeout(TIMEOUT):
            await service.connected.wait()
        yield service
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.contextmanager
def instrument(handler: LineHandler) -> Iterator[TcpInstrument]:
    with TcpInstrument(handler) as server:
        yield server


def every_channel(state: str) -> Status:
    return lambda status: all(entry["state"] == state for entry in status)


async def test_hmp4040_end_to_end_status_and_replies(mosquitto: BrokerProcess) -> None:
    with instrument(HMP4040Emulator()) as server:
        config = {"name": "lv", "kind": "lv", "driver": "hmp4040", "channels": 4, "resource": server.resource}
        async with serving(mosquitto.settings, **config), probe(mosquitto.settings) as p:
            first = await p.status("lv")
            assert [entry["number"] for entry in first] == [0, 1, 2, 3]
            assert (await p.command("/lv/cmd/setv/2", "5")).ok
            reply = await p.command("/lv/cmd/switch/2", "on")
            assert (reply.ok, reply.message) == (True, "channel 2: output on")
            status = await p.status("lv", lambda s: s[2]["state"] == "on")
            assert status[2]["vmon"] == pytest.approx(5.0) and status[2]["imon"] == pytest.approx(0.5)
            assert status[2]["on"] == 1 and status[0]["state"] == "off"
            refused = await p.command("/lv/cmd/setv/2", "40")
            assert (refused.ok, refused.reason) == (False, "out_of_range")
            meta = await p.wait_for(lambda m: m.topic.value == "/lv/meta")
            assert b'"driver":"hmp4040"' in bytes(meta.payload)


async def fault_cycle(p: Probe, server: TcpInstrument, fault: Fault, device: str, topic: str) -> None:
    """Inject a fault: error status, device_error replies; clear it: normal status again."""
    mark = p.mark()
    server.fault = fault
    status = await p.status(device, every_channel("error"), start=mark)
    assert all(entry["error"] for entry in status)
    assert "vmon" not in status[0]  # nothing was measured
    refused = await p.command(topic, "1")
    assert (refused.ok, refused.reason) == (False, "device_error")
    assert "in fault" in refused.message
    mark = p.mark()
    server.fault = Fault.NONE
    await p.status(device, lambda s: s[0]["state"] != "error", start=mark)
    assert (await p.command(topic, "1")).ok


@pytest.mark.parametrize("fault", [Fault.SILENT, Fault.GARBAGE, Fault.DROP])
async def test_hmp4040_fault_gives_error_state_device_error_and_recovers(
    mosquitto: BrokerProcess, fault: Fault
) -> None:
    emulator = HMP4040Emulator()
    with instrument(emulator) as server:
        config = {"name": "lv", "kind": "lv", "driver": "hmp4040", "channels": 4, "resource": server.resource}
        async with serving(mosquitto.settings, **config) as service, probe(mosquitto.settings) as p:
            assert (await p.command("/lv/cmd/setv/0", "5")).ok
            assert (await p.command("/lv/cmd/switch/0", "on")).ok
            await p.status("lv", lambda s: s[0]["state"] == "on")
            await fault_cycle(p, server, fault, "lv", "/lv/cmd/setv/1")
            status = await p.status("lv", lambda s: s[0]["state"] == "on" and s[1]["vreq"] == 1.0)
            assert status[0]["vmon"] == pytest.approx(5.0)  # the output stayed on through the fault
            assert service.fault is None


async def test_hmp4040_power_cycled_instrument_comes_back_tripped_never_on(mosquitto: BrokerProcess) -> None:
    with instrument(HMP4040Emulator()) as server:
        config = {"name": "lv", "kind": "lv", "driver": "hmp4040", "channels": 4, "resource": server.resource}
        async with serving(mosquitto.settings, **config), probe(mosquitto.settings) as p:
            assert (await p.command("/lv/cmd/switch/1", "on")).ok
            await p.status("lv", lambda s: s[1]["state"] == "on")
            server.fault = Fault.DROP
            await p.status("lv", every_channel("error"))
            server.handler = HMP4040Emulator()  # it comes back with every output off
            server.fault = Fault.NONE
            status = await p.status("lv", lambda s: s[1]["state"] == "tripped")
            assert status[1]["on"] == 0
            assert (await p.command("/lv/cmd/reset/1", "")).ok
            await p.status("lv", lambda s: s[1]["state"] == "off")


async def test_hmp4040_unreachable_at_start_is_an_error_state_until_it_appears(
    mosquitto: BrokerProcess,
) -> None:
    server = TcpInstrument(HMP4040Emulator())  # bound, but not serving yet
    config = {"name": "lv", "kind": "lv", "driver": "hmp4040", "channels": 1, "resource": server.resource}
    async with serving(mosquitto.settings, **config), probe(mosquitto.settings) as p:
        await p.status("lv", every_channel("error"))
        with server:
            await p.status("lv", every_channel("off"))


async def test_keithley_end_to_end_ramp_and_compliance_trip(mosquitto: BrokerProcess) -> None:
    emulator = Keithley2410Emulator(leakage_ohm=1e9)
    with instrument(emulator) as server:
        config = {
            "name": "hv",
            "kind": "hv",
            "driver": "keithley2410",
            "resource": server.resource,
            "ramp_up": 200.0,
            "ramp_max": 500.0,
            "ilimit": 1e-6,
        }
        async with serving(mosquitto.settings, **config), probe(mosquitto.settings) as p:
            assert (await p.command("/hv/cmd/setv/0", "100")).ok
            assert (await p.command("/hv/cmd/switch/0", "on")).ok
            await p.status("hv", lambda s: s[0]["state"] == "ramping_up")
            status = await p.status("hv", lambda s: s[0]["state"] == "on")
            assert status[0]["vmon"] == pytest.approx(100.0) and status[0]["imon"] == pytest.approx(1e-7)
            emulator.leakage_ohm = 1e7  # 10 µA at 100 V: over the 1 µA compliance
            status = await p.status("hv", lambda s: s[0]["state"] == "tripped")
            assert status[0]["on"] == 0
            assert (await p.command("/hv/cmd/switch/0", "on")).reason == "tripped"
            assert (await p.command("/hv/cmd/reset/0", "")).ok
            await p.status("hv", lambda s: s[0]["state"] == "off")
            await fault_cycle(p, server, Fault.SILENT, "hv", "/hv/cmd/setv/0")
