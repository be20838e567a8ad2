"""The Keithley 2410 driver through pyvisa-py's TCPIP SOCKET path, against the emulator.

The clock is manual: a ramp of tens of seconds runs in milliseconds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import wait_until
from tests.instruments.keithley import Keithley2410Emulator
from tests.instruments.tcp import Fault, TcpInstrument
from trackerdcs.contract.payloads import CommandRejected, Reason
from trackerdcs.contract.topics import Action, Inbound
from trackerdcs.devices.base import Device
from trackerdcs.devices.clock import ManualClock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.drivers.keithley2410 import KeithleyDriver
from trackerdcs.devices.registry import create_device
from trackerdcs.devices.supply import PowerSupply

Emulated = tuple[Keithley2410Emulator, TcpInstrument]


def keithley(resource: str, clock: ManualClock, **config: Any) -> PowerSupply:
    options = {"timeout": 0.3} | config.pop("options", {})
    settings = {"ramp_up": 10.0, "ramp_down": 20.0, "ilimit": 1e-6} | config
    device = create_device(
        DeviceConfig(
            name="hv", kind="hv", driver="keithley2410", resource=resource, options=options, **settings
        ),
        clock,
    )
    assert isinstance(device, PowerSupply)
    return device


def command(device: Device, name: str, text: str = "") -> str:
    return device.handle(Inbound(device.name, Action.CMD, name, 0), text)


def status(device: Device) -> dict[str, Any]:
    body = device.read().body
    assert isinstance(body, list)
    return body[0]


@pytest.fixture
def emulated() -> Iterator[Emulated]:
    emulator = Keithley2410Emulator(leakage_ohm=1e9)
    with TcpInstrument(emulator) as server:
        yield emulator, server


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def hv(emulated: Emulated, clock: ManualClock) -> Iterator[PowerSupply]:
    device = keithley(emulated[1].resource, clock)
    status(device)
    yield device
    device.close()


def test_keithley_ramps_in_software_across_polls(
    emulated: Emulated, clock: ManualClock, hv: PowerSupply
) -> None:
    emu, _ = emulated
    command(hv, "setv", "100")
    command(hv, "switch", "on")
    clock.advance(2.0)
    first = status(hv)
    assert (first["state"], first["on"]) == ("ramping_up", 1)
    assert first["vmon"] == pytest.approx(20.0) and emu.source_voltage == pytest.approx(20.0)
    clock.advance(5.0)
    assert status(hv)["vmon"] == pytest.approx(70.0)
    clock.advance(5.0)
    done = status(hv)
    assert (done["state"], done["vmon"]) == ("on", pytest.approx(100.0))
    assert done["imon"] == pytest.approx(1e-7)  # 100 V into 1 GΩ


def test_keithley_switch_off_ramps_down_then_opens_the_output(
    emulated: Emulated, clock: ManualClock, hv: PowerSupply
) -> None:
    emu, _ = emulated
    command(hv, "setv", "100")
    command(hv, "switch", "on")
    clock.advance(10.0)
    assert status(hv)["state"] == "on"
    command(hv, "switch", "off")
    clock.advance(2.0)
    down = status(hv)
    assert (down["state"], down["vmon"]) == ("ramping_down", pytest.approx(60.0))  # 20 V/s
    assert emu.output
    clock.advance(3.0)
    assert status(hv)["state"] == "off"
    wait_until(lambda: not emu.output and emu.source_voltage == 0.0, what="the output to open")


def test_keithley_compliance_is_the_current_limit_and_a_hit_trips(
    emulated: Emulated, clock: ManualClock, hv: PowerSupply
) -> None:
    emu, _ = emulated
    command(hv, "seti", "5e-7")
    command(hv, "setv", "100")
    command(hv, "switch", "on")
    clock.advance(10.0)
    assert status(hv)["state"] == "on"
    assert emu.compliance == pytest.approx(5e-7)
    emu.leakage_ohm = 1e8  # 1 µA at 100 V: over the 0.5 µA compliance
    tripped = status(hv)
    assert (tripped["state"], tripped["on"]) == ("tripped", 0)
    wait_until(lambda: not emu.output and emu.source_voltage == 0.0, what="the output to open")
    with pytest.raises(CommandRejected) as refused:
        command(hv, "switch", "on")
    assert refused.value.reason is Reason.TRIPPED
    command(hv, "reset")
    assert status(hv)["state"] == "off"


def test_keithley_negative_polarity_stays_positive_in_the_model(
    emulated: Emulated, clock: ManualClock
) -> None:
    emu, server = emulated
    hv = keithley(server.resource, clock, options={"polarity": -1})
    try:
        status(hv)
        command(hv, "setv", "50")
        command(hv, "switch", "on")
        clock.advance(10.0)
        reading = status(hv)
        assert emu.source_voltage == pytest.approx(-50.0)
        assert reading["vmon"] == pytest.approx(50.0) and reading["vreq"] == 50.0
    finally:
        hv.close()


def test_keithley_a_new_connection_ramps_down_from_where_the_instrument_is(
    emulated: Emulated, clock: ManualClock
) -> None:
    emu, server = emulated
    emu.output, emu.source_voltage = True, 80.0  # left on by a previous run
    hv = keithley(server.resource, clock)
    try:
        first = status(hv)
        assert first["state"] == "ramping_down" and emu.output  # no jump to 0 V
        clock.advance(1.0)
        assert status(hv)["vmon"] == pytest.approx(60.0)
    finally:
        hv.close()


@pytest.mark.parametrize("fault", [Fault.GARBAGE, Fault.SILENT, Fault.DROP])
def test_keithley_fault_raises_and_a_reconnect_keeps_the_ramp(
    emulated: Emulated, clock: ManualClock, hv: PowerSupply, fault: Fault
) -> None:
    _, server = emulated
    command(hv, "setv", "100")
    command(hv, "switch", "on")
    clock.advance(3.0)
    assert status(hv)["vmon"] == pytest.approx(30.0)
    server.fault = fault
    with pytest.raises(Exception):  # noqa: B017, PT011 - pyvisa, pymeasure or a parse error, as it comes
        status(hv)
    server.fault = Fault.NONE
    hv.reconnect()
    clock.advance(1.0)
    assert status(hv)["vmon"] == pytest.approx(40.0)


def test_keithley_pyvisa_sim_definition_drives_the_driver(clock: ManualClock) -> None:
    hv = keithley("GPIB0::24::INSTR", clock, options={"backend": "@sim"})
    try:
        assert status(hv)["state"] == "off"
        command(hv, "setv", "100")
        command(hv, "switch", "on")
        clock.advance(2.0)
        reading = status(hv)
        assert (reading["state"], reading["on"]) == ("ramping_up", 1)
        assert isinstance(hv.driver, KeithleyDriver) and hv.driver.level == pytest.approx(20.0)
    finally:
        hv.close()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"channels": 2}, "has 1 channel"),
        ({"vmax": 1500.0}, "above the 2410's 1100 V"),
        ({"options": {"polarity": 2}}, "polarity must be 1 or -1"),
        ({"options": {"speed": 2}}, "unknown options"),
    ],
)
def test_keithley_a_wrong_configuration_is_refused(changes: dict[str, Any], message: str) -> None:
    config: dict[str, Any] = {
        "name": "hv",
        "kind": "hv",
        "driver": "keithley2410",
        "resource": "GPIB0::24::INSTR",
    }
    with pytest.raises(ValueError, match=message):
        create_device(DeviceConfig(**(config | changes)), ManualClock())


HARDWARE = os.environ.get("DCS_TEST_KEITHLEY_RESOURCE")


@pytest.mark.skipif(
    not HARDWARE,
    reason="set DCS_TEST_KEITHLEY_RESOURCE to a real Keithley 2410 (its output ramps to 0 and opens)",
)
def test_keithley_hardware_reads_its_channel() -> None:
    assert HARDWARE is not None
    hv = keithley(HARDWARE, ManualClock(), options={"timeout": 2.0})
    try:
        reading = status(hv)
        assert reading["state"] in ("off", "ramping_down")
    finally:
        hv.close()
