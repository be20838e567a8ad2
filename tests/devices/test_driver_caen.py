"""The CAEN N1470 driver against a stateful emulator on a pty and on a TCP socket."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import wait_until
from tests.instruments.caen import BITS, CaenN1470Emulator
from tests.instruments.pty import PtyInstrument, SerialFault
from tests.instruments.tcp import Fault, TcpInstrument
from trackerdcs.contract.payloads import ChannelState, CommandRejected, Reason
from trackerdcs.contract.topics import Action, Inbound
from trackerdcs.devices.clock import ManualClock, SystemClock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.drivers.caen_n1470 import (
    SERIAL_DEFAULTS,
    CaenN1470,
    CaenSupply,
    channel_state,
    decode_status,
)
from trackerdcs.devices.drivers.link import DriverError, InstrumentTimeout, LineLink, port_url
from trackerdcs.devices.registry import create_device

TIMEOUT = 0.3  # s, the driver's per-answer timeout in these tests


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emulator(clock: ManualClock) -> CaenN1470Emulator:
    return CaenN1470Emulator(clock=clock.monotonic)


@pytest.fixture
def pty(emulator: CaenN1470Emulator, tmp_path: Path) -> Iterator[PtyInstrument]:
    with PtyInstrument(emulator, tmp_path) as instrument:
        yield instrument


def make_caen(resource: str, **overrides: Any) -> CaenSupply:
    config: dict[str, Any] = {
        "name": "hv",
        "kind": "hv",
        "driver": "caen_n1470",
        "channels": 4,
        "resource": resource,
        "ramp_up": 10.0,
        "options": {"timeout": TIMEOUT, "trip_time": 2.0},
    }
    config.update(overrides)
    device = create_device(DeviceConfig(**config), SystemClock())
    assert isinstance(device, CaenSupply)
    return device


def command(device: CaenSupply, name: str, channel: int | None, payload: str) -> str:
    return device.handle(Inbound("hv", Action.CMD, name, channel), payload)


def states(device: CaenSupply) -> list[str]:
    return [entry["state"] for entry in device.read().body]  # type: ignore[index]


# -- status bits ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bits", "state"),
    [
        ([], ChannelState.OFF),
        (["ON"], ChannelState.ON),
        (["ON", "RUP"], ChannelState.RAMPING_UP),
        (["RDW"], ChannelState.RAMPING_DOWN),
        (["ON", "OVC"], ChannelState.ERROR),
        (["ILK"], ChannelState.ERROR),
        (["OVT", "ON"], ChannelState.ERROR),
        (["TRIP", "OVC"], ChannelState.TRIPPED),
        (["KILL"], ChannelState.TRIPPED),
    ],
)
def test_caen_status_bits_map_onto_channel_states(bits: list[str], state: ChannelState) -> None:
    value = sum(1 << BITS[name] for name in bits)
    assert decode_status(value) == frozenset(bits)
    assert channel_state(decode_status(value)) is state


def test_caen_status_decodes_every_named_bit() -> None:
    assert decode_status(0b11_1111_1111_1111) == frozenset(BITS)


@pytest.mark.parametrize(
    ("resource", "url"),
    [
        ("TCPIP::192.168.1.50::1470::SOCKET", "socket://192.168.1.50:1470"),
        ("TCPIP0::caen-hv.lab::1470::SOCKET", "socket://caen-hv.lab:1470"),
        ("/dev/ttyUSB0", "/dev/ttyUSB0"),
    ],
)
def test_caen_resources_map_to_one_pyserial_path(resource: str, url: str) -> None:
    assert port_url(resource) == url


def test_caen_needs_a_resource_and_at_most_the_board_channels() -> None:
    with pytest.raises(ValueError, match="needs a resource"):
        create_device(DeviceConfig(name="hv", kind="hv", driver="caen_n1470"), SystemClock())
    config = DeviceConfig(name="hv", kind="hv", driver="caen_n1470", channels=5, resource="/dev/null")
    with pytest.raises(ValueError, match=r"channels must be 1\.\.4"):
        create_device(config, SystemClock())


# -- the instrument through the device model -------------------------------------------


def test_caen_configures_the_instrument_limits_on_start(
    pty: PtyInstrument, emulator: CaenN1470Emulator
) -> None:
    device = make_caen(pty.resource, vmax=500.0)
    channel = emulator.channels[0]
    assert (channel.maxv, channel.trip, channel.pdwn) == (500.0, 2.0, "RAMP")
    assert (channel.vset, channel.iset, channel.rup, channel.on) == (0.0, 100.0, 10.0, False)
    device.close()


def test_caen_ramps_up_with_the_instrument_ramp_and_reads_back(
    pty: PtyInstrument, emulator: CaenN1470Emulator, clock: ManualClock
) -> None:
    device = make_caen(pty.resource)
    assert command(device, "setv", 1, "100") == "channel 1: vreq set to 100 V"
    command(device, "seti", 1, "20e-6")
    command(device, "switch", 1, "on")
    assert emulator.channels[1].iset == pytest.approx(20.0)  # sent in µA
    assert states(device) == ["off", "ramping_up", "off", "off"]
    clock.advance(5.0)
    status = device.read().body[1]  # type: ignore[index]
    assert status["vmon"] == pytest.approx(50.0) and status["state"] == "ramping_up"
    clock.advance(6.0)
    status = device.read().body[1]  # type: ignore[index]
    assert status["vmon"] == pytest.approx(100.0) and status["state"] == "on"
    assert status["imon"] == pytest.approx(100.0 / 1e9)
    command(device, "switch", 1, "off")
    assert states(device)[1] == "ramping_down"
    clock.advance(11.0)
    assert states(device)[1] == "off"
    device.close()


def test_caen_over_current_shows_error_then_trips_and_needs_a_reset(
    pty: PtyInstrument, emulator: CaenN1470Emulator, clock: ManualClock
) -> None:
    device = make_caen(pty.resource, ramp_up=100.0)
    command(device, "setv", 0, "50")
    command(device, "switch", 0, "on")
    clock.advance(1.0)
    assert states(device)[0] == "on"
    emulator.channels[0].extra_ua = 500.0  # a breakdown: far above ISET
    clock.advance(1.0)
    assert states(device)[0] == "error"  # OVC, within the trip time
    clock.advance(1.5)
    assert states(device)[0] == "tripped"
    with pytest.raises(CommandRejected) as refused:
        command(device, "switch", 0, "on")
    assert refused.value.reason is Reason.TRIPPED
    emulator.channels[0].extra_ua = 0.0
    command(device, "reset", 0, "")
    assert states(device)[0] in ("off", "ramping_down")
    assert command(device, "switch", 0, "on") == "channel 0: output on"
    device.close()


def test_caen_value_refused_by_the_instrument_is_out_of_range(pty: PtyInstrument) -> None:
    device = make_caen(pty.resource)
    with pytest.raises(CommandRejected) as refused:
        device.caen.set(0, "VSET", "9000")
    assert refused.value.reason is Reason.OUT_OF_RANGE
    device.close()


def test_caen_over_tcp_socket(emulator: CaenN1470Emulator, clock: ManualClock) -> None:
    with TcpInstrument(emulator, terminator="\r\n") as tcp:
        device = make_caen(tcp.resource)
        command(device, "setv", 3, "20")
        command(device, "switch", 3, "on")
        clock.advance(10.0)
        assert device.read().body[3]["vmon"] == pytest.approx(20.0)  # type: ignore[index]
        assert "$BD:00,CMD:SET,CH:3,PAR:ON" in tcp.lines
        tcp.fault = Fault.DROP
        with pytest.raises(DriverError):
            device.read()
        tcp.fault = Fault.NONE
        assert states(device)[3] == "on"  # the driver reopened the socket by itself
        device.close()


# -- faults -----------------------------------------------------------------------------


def test_caen_silent_instrument_times_out_and_recovers(pty: PtyInstrument) -> None:
    device = make_caen(pty.resource)
    pty.fault = SerialFault.SILENT
    with pytest.raises(InstrumentTimeout):
        device.read()
    pty.fault = SerialFault.NONE
    assert states(device) == ["off"] * 4
    device.close()


@pytest.mark.parametrize("fault", [SerialFault.GARBAGE, SerialFault.PARTIAL])
def test_caen_garbage_or_partial_answers_raise_and_recover(pty: PtyInstrument, fault: SerialFault) -> None:
    device = make_caen(pty.resource)
    pty.fault = fault
    with pytest.raises(DriverError):
        device.read()
    pty.fault = SerialFault.NONE
    assert states(device) == ["off"] * 4
    device.close()


def test_caen_unplugged_port_raises_and_reopens_when_back(pty: PtyInstrument) -> None:
    device = make_caen(pty.resource)
    opened = device.caen.link.opened
    pty.disconnect()
    with pytest.raises(DriverError):
        device.read()
    with pytest.raises(DriverError, match="cannot open"):
        device.read()  # still unplugged
    pty.reconnect()
    assert states(device) == ["off"] * 4
    assert device.caen.link.opened == opened + 1
    device.reconnect()  # the explicit hook the service may call
    assert states(device) == ["off"] * 4
    device.close()


def test_caen_one_lock_keeps_polls_and_commands_from_interleaving(pty: PtyInstrument) -> None:
    device = make_caen(pty.resource)
    errors: list[BaseException] = []

    def hammer(action: Any) -> None:
        try:
            for _ in range(10):
                action()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=hammer, args=(device.read,)),
        threading.Thread(target=hammer, args=(lambda: command(device, "setv", 2, "10"),)),
    ]
    for thread in threads:
        thread.start()
    wait_until(lambda: not any(t.is_alive() for t in threads), what="both threads to finish")
    assert errors == []
    device.close()


# -- real hardware, only when a resource is named ------------------------------------------

HARDWARE = os.environ.get("DCS_TEST_CAEN_RESOURCE")


@pytest.mark.skipif(not HARDWARE, reason="set DCS_TEST_CAEN_RESOURCE (e.g. /dev/ttyUSB0) to test a real CAEN")
def test_caen_hardware_answers_and_polls_read_only() -> None:
    assert HARDWARE is not None
    driver = CaenN1470(LineLink(HARDWARE, settings=dict(SERIAL_DEFAULTS)))
    try:
        assert driver.query("CMD:MON,PAR:BDNAME")
        readings = driver.poll(0.0)  # reads only: nothing is set on the instrument
        assert len(readings) == 4 and all(r.vmon >= 0 for r in readings)
    finally:
        driver.close()
