"""The HMP4040 driver through pyvisa-py's real TCPIP SOCKET path, against the emulator."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.instruments.hmp4040 import HMP4040Emulator
from tests.instruments.tcp import Fault, TcpInstrument
from trackerdcs.contract.payloads import CommandRejected, Reason
from trackerdcs.contract.topics import Action, Inbound
from trackerdcs.devices.base import Device
from trackerdcs.devices.clock import ManualClock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.drivers.hmp4040 import HMP4040Driver
from trackerdcs.devices.drivers.visa import VisaSettings
from trackerdcs.devices.registry import create_device
from trackerdcs.devices.supply import PowerSupply

SIM_RESOURCE = "TCPIP::hmp4040.sim::10002::SOCKET"


def hmp4040(resource: str, **options: Any) -> PowerSupply:
    options.setdefault("timeout", 0.3)
    config = DeviceConfig(
        name="lv", kind="lv", driver="hmp4040", channels=4, resource=resource, options=options
    )
    device = create_device(config, ManualClock())
    assert isinstance(device, PowerSupply)
    return device


def command(device: Device, name: str, channel: int | None, text: str = "") -> str:
    return device.handle(Inbound(device.name, Action.CMD, name, channel), text)


def channel(device: Device, number: int) -> dict[str, Any]:
    body = device.read().body
    assert isinstance(body, list)
    return body[number]


@pytest.fixture
def emulator() -> Iterator[tuple[HMP4040Emulator, TcpInstrument]]:
    emulator = HMP4040Emulator()
    with TcpInstrument(emulator) as server:
        yield emulator, server


@pytest.fixture
def lv(emulator: tuple[HMP4040Emulator, TcpInstrument]) -> Iterator[PowerSupply]:
    device = hmp4040(emulator[1].resource)
    yield device
    device.close()


def test_hmp4040_sends_nothing_until_the_first_read_which_switches_everything_off(
    emulator: tuple[HMP4040Emulator, TcpInstrument],
) -> None:
    emu, server = emulator
    emu.master, emu.channels[2].active, emu.channels[2].voltage = True, True, 7.0
    device = hmp4040(server.resource)
    assert server.lines == []
    status = channel(device, 2)
    assert (status["on"], status["state"], status["vmon"]) == (0, "off", 0.0)
    assert not emu.master and not emu.channels[2].active and emu.channels[2].voltage == 0.0
    device.close()


def test_hmp4040_setv_and_switch_are_read_back(
    emulator: tuple[HMP4040Emulator, TcpInstrument], lv: PowerSupply
) -> None:
    emu, _ = emulator
    lv.read()
    assert command(lv, "setv", 1, "5") == "channel 1: vreq set to 5 V"
    assert command(lv, "switch", 1, "on") == "channel 1: output on"
    status = channel(lv, 1)
    assert (status["on"], status["vreq"], status["state"]) == (1, 5.0, "on")
    assert status["vmon"] == pytest.approx(5.0) and status["imon"] == pytest.approx(0.5)  # 10 ohm load
    assert emu.master and emu.channels[1].active and emu.selected in (1, 2, 3, 4)
    assert channel(lv, 0)["state"] == "off"  # the other channels stay off


def test_hmp4040_master_output_follows_the_channels(
    emulator: tuple[HMP4040Emulator, TcpInstrument], lv: PowerSupply
) -> None:
    emu, _ = emulator
    lv.read()
    command(lv, "switch", 0, "on")
    command(lv, "switch", 3, "on")
    command(lv, "switch", 0, "off")
    lv.read()
    assert emu.master
    command(lv, "switch", 3, "off")
    lv.read()  # a query: the emulator has seen every write before it
    assert not emu.master and not any(c.active for c in emu.channels)


def test_hmp4040_current_limit_goes_to_the_instrument(
    emulator: tuple[HMP4040Emulator, TcpInstrument], lv: PowerSupply
) -> None:
    emu, _ = emulator
    lv.read()
    command(lv, "setv", 0, "10")
    command(lv, "seti", 0, "0.2")
    command(lv, "switch", 0, "on")
    status = channel(lv, 0)
    assert emu.channels[0].current == pytest.approx(0.2)
    assert status["vmon"] == pytest.approx(2.0) and status["imon"] == pytest.approx(0.2)  # constant current


def test_hmp4040_limits_are_refused_before_the_instrument(
    emulator: tuple[HMP4040Emulator, TcpInstrument], lv: PowerSupply
) -> None:
    _, server = emulator
    lv.read()
    sent = len(server.lines)
    with pytest.raises(CommandRejected) as refused:
        command(lv, "setv", 0, "12.5")  # vmax of an lv supply is 12 V
    assert refused.value.reason is Reason.OUT_OF_RANGE
    assert len(server.lines) == sent


def test_hmp4040_output_off_by_itself_is_a_trip_until_reset(
    emulator: tuple[HMP4040Emulator, TcpInstrument], lv: PowerSupply
) -> None:
    emu, _ = emulator
    lv.read()
    command(lv, "switch", 2, "on")
    lv.read()
    emu.channels[2].active = False  # the electronic fuse, or a hand on the front panel
    status = channel(lv, 2)
    assert (status["state"], status["on"]) == ("tripped", 0)
    with pytest.raises(CommandRejected) as refused:
        command(lv, "switch", 2, "on")
    assert refused.value.reason is Reason.TRIPPED
    command(lv, "reset", 2)
    assert channel(lv, 2)["state"] == "off"


@pytest.mark.parametrize("fault", [Fault.GARBAGE, Fault.SILENT, Fault.DROP])
def test_hmp4040_fault_raises_and_the_next_read_reopens(
    emulator: tuple[HMP4040Emulator, TcpInstrument], lv: PowerSupply, fault: Fault
) -> None:
    _, server = emulator
    lv.read()
    server.fault = fault
    with pytest.raises(Exception):  # noqa: B017, PT011 - pyvisa, pymeasure or a parse error, as it comes
        lv.read()
    server.fault = Fault.NONE
    assert channel(lv, 0)["state"] == "off"
    assert isinstance(lv.driver, HMP4040Driver) and lv.driver.link.opened == 2


def test_hmp4040_lock_keeps_polls_out_of_a_select_and_write(
    emulator: tuple[HMP4040Emulator, TcpInstrument], lv: PowerSupply
) -> None:
    emu, _ = emulator
    lv.read()
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            lv.driver.poll(0.0)  # selects every channel in turn

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        for step in range(1, 31):
            command(lv, "setv", 1, f"{step / 10:g}")
    finally:
        done.set()
        poller.join()
    lv.read()
    assert [c.voltage for c in emu.channels] == [0.0, 3.0, 0.0, 0.0]


def test_hmp4040_pyvisa_sim_definition_drives_the_driver() -> None:
    device = hmp4040(SIM_RESOURCE, backend="@sim")
    try:
        channel(device, 0)
        command(device, "setv", 3, "3.3")
        command(device, "switch", 3, "on")
        status = channel(device, 3)
        assert (status["on"], status["vreq"], status["state"]) == (1, 3.3, "on")
        assert device.driver.poll(0.0)[0].state.value == "off"
    finally:
        device.close()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"channels": 5}, "1 to 4 channels"),
        ({"resource": None}, "needs a resource"),
        ({"options": {"baud": 9600}}, "unknown options"),
        ({"options": {"timeout": 0}}, "above 0 s"),
    ],
)
def test_hmp4040_a_wrong_configuration_is_refused(changes: dict[str, Any], message: str) -> None:
    config: dict[str, Any] = {"name": "lv", "kind": "lv", "driver": "hmp4040", "channels": 4}
    config |= {"resource": SIM_RESOURCE} | changes
    with pytest.raises(ValueError, match=message):
        create_device(DeviceConfig(**config), ManualClock())


def test_hmp4040_visa_settings_come_from_the_options() -> None:
    config = DeviceConfig(
        name="lv",
        kind="lv",
        driver="hmp4040",
        resource=SIM_RESOURCE,
        options={"timeout": 1, "read_termination": "\r\n"},
    )
    settings = VisaSettings.from_config(config)
    assert (settings.backend, settings.timeout, settings.read_termination) == ("@py", 1.0, "\r\n")


HARDWARE = os.environ.get("DCS_TEST_HMP4040_RESOURCE")


@pytest.mark.skipif(
    not HARDWARE, reason="set DCS_TEST_HMP4040_RESOURCE to a real HMP4040 (its outputs are switched off)"
)
def test_hmp4040_hardware_reads_four_channels() -> None:
    assert HARDWARE is not None
    device = hmp4040(HARDWARE, timeout=2.0)
    try:
        body = device.read().body
        assert isinstance(body, list) and len(body) == 4
        assert all(entry["state"] == "off" for entry in body)
    finally:
        device.close()
