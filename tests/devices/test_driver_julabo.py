"""The Julabo chiller driver against a stateful emulator on a pty."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.instruments.julabo import JulaboEmulator
from tests.instruments.pty import PtyInstrument, SerialFault
from trackerdcs.contract.payloads import CommandRejected, Reason
from trackerdcs.contract.topics import Action, Inbound
from trackerdcs.devices.clock import ManualClock, SystemClock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.drivers.julabo import JulaboChiller, parse_status
from trackerdcs.devices.drivers.link import DriverError, InstrumentTimeout
from trackerdcs.devices.registry import create_device

# A pty refuses the classic Julabo line (7 data bits, even parity) when reopened: use 8N1.
SERIAL = {"baudrate": 9600, "bytesize": 8, "parity": "N", "rtscts": False}
OPTIONS = {"timeout": 0.3, "command_gap": 0.0, "setpoint_min": -20.0, "setpoint_max": 30.0, **SERIAL}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emulator(clock: ManualClock) -> JulaboEmulator:
    return JulaboEmulator(clock.monotonic)


@pytest.fixture
def pty(emulator: JulaboEmulator, tmp_path: Path) -> Iterator[PtyInstrument]:
    with PtyInstrument(emulator, tmp_path, terminator="\r\n") as instrument:
        yield instrument


@pytest.fixture
def chiller(pty: PtyInstrument) -> Iterator[JulaboChiller]:
    config = DeviceConfig(
        name="chiller", kind="chiller", driver="julabo", resource=pty.resource, options=OPTIONS
    )
    device = create_device(config, SystemClock())
    assert isinstance(device, JulaboChiller)
    yield device
    device.close()


def command(device: JulaboChiller, name: str, payload: str) -> str:
    return device.handle(Inbound("chiller", Action.CMD, name, None), payload)


def status(device: JulaboChiller) -> dict[str, Any]:
    body = device.read().body
    assert isinstance(body, dict)
    return body


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("03 REMOTE START", (3, "REMOTE START")),
        ("00 MANUAL STOP", (0, "MANUAL STOP")),
        ("-01 LOW LIQUID LEVEL ALARM", (-1, "LOW LIQUID LEVEL ALARM")),
    ],
)
def test_julabo_status_codes(answer: str, expected: tuple[int, str]) -> None:
    assert parse_status(answer) == expected


def test_julabo_garbage_status_is_a_driver_error() -> None:
    with pytest.raises(DriverError):
        parse_status("\x15#?!garbage")


def test_julabo_setpoint_and_start_are_read_back(
    chiller: JulaboChiller, pty: PtyInstrument, clock: ManualClock
) -> None:
    assert status(chiller) == {
        "temperature": 22.0,
        "setpoint": 20.0,
        "on": 0,
        "status_code": 2,
        "status": "REMOTE STOP",
        "alarm": 0,
    }
    assert command(chiller, "setpoint", "-10") == "setpoint set to -10 °C"
    assert command(chiller, "switch", "on") == "chiller started"
    assert "out_sp_00 -10.00" in pty.lines and "out_mode_05 1" in pty.lines
    clock.advance(600.0)
    now = status(chiller)
    assert now["on"] == 1 and now["status"] == "REMOTE START"
    assert now["temperature"] == pytest.approx(-10.0, abs=0.01)
    assert command(chiller, "switch", "off") == "chiller stopped"
    assert status(chiller)["on"] == 0


@pytest.mark.parametrize("payload", ["-20.5", "31", "100"])
def test_julabo_setpoint_outside_the_limits_is_rejected_not_clipped(
    chiller: JulaboChiller, emulator: JulaboEmulator, payload: str
) -> None:
    with pytest.raises(CommandRejected) as refused:
        command(chiller, "setpoint", payload)
    assert refused.value.reason is Reason.OUT_OF_RANGE
    assert emulator.setpoint == 20.0
    assert chiller.limits() == {"setpoint": {"min": -20.0, "max": 30.0}}


def test_julabo_alarm_is_published_and_refuses_a_start(
    chiller: JulaboChiller, emulator: JulaboEmulator
) -> None:
    command(chiller, "switch", "on")
    emulator.raise_alarm(-1, "LOW LIQUID LEVEL ALARM")
    now = status(chiller)
    assert (now["alarm"], now["status_code"], now["status"], now["on"]) == (
        1,
        -1,
        "LOW LIQUID LEVEL ALARM",
        0,
    )
    with pytest.raises(CommandRejected) as refused:
        command(chiller, "switch", "on")
    assert refused.value.reason is Reason.DEVICE_ERROR and "LOW LIQUID LEVEL" in refused.value.message


def test_julabo_in_manual_mode_a_setting_that_does_not_stick_is_an_error(
    chiller: JulaboChiller, emulator: JulaboEmulator
) -> None:
    emulator.remote = False
    with pytest.raises(DriverError, match="remote mode"):
        command(chiller, "setpoint", "15")
    with pytest.raises(DriverError, match="remote mode"):
        command(chiller, "switch", "on")


def test_julabo_bad_payloads_are_rejected(chiller: JulaboChiller) -> None:
    for name, payload in [("setpoint", "warm"), ("setpoint", "nan"), ("switch", "maybe")]:
        with pytest.raises(CommandRejected) as refused:
            command(chiller, name, payload)
        assert refused.value.reason is Reason.BAD_PAYLOAD


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (SerialFault.SILENT, InstrumentTimeout),
        (SerialFault.GARBAGE, DriverError),
        (SerialFault.PARTIAL, InstrumentTimeout),
    ],
)
def test_julabo_faults_raise_cleanly_and_it_recovers(
    chiller: JulaboChiller, pty: PtyInstrument, fault: SerialFault, error: type[Exception]
) -> None:
    pty.fault = fault
    with pytest.raises(error):
        chiller.read()
    pty.fault = SerialFault.NONE
    assert status(chiller)["setpoint"] == 20.0


def test_julabo_unplugged_raises_and_the_port_reopens(chiller: JulaboChiller, pty: PtyInstrument) -> None:
    status(chiller)
    pty.disconnect()
    with pytest.raises(DriverError):
        chiller.read()
    pty.reconnect()
    assert status(chiller)["setpoint"] == 20.0
    chiller.reconnect()
    assert status(chiller)["on"] == 0


def test_julabo_default_line_settings_are_the_classic_4800_7e1_rtscts() -> None:
    config = DeviceConfig(name="chiller", kind="chiller", driver="julabo", resource="/dev/ttyUSB1")
    device = create_device(config, SystemClock())
    assert isinstance(device, JulaboChiller)
    assert device.link.settings == {
        "baudrate": 4800,
        "bytesize": 7,
        "parity": "E",
        "stopbits": 1,
        "rtscts": True,
    }
    assert (device.link.command_gap, device.low, device.high) == (0.25, -30.0, 40.0)
    assert not device.link.is_open  # nothing opened before the first call


HARDWARE = os.environ.get("DCS_TEST_JULABO_RESOURCE")


@pytest.mark.skipif(
    not HARDWARE, reason="set DCS_TEST_JULABO_RESOURCE (e.g. /dev/ttyUSB1) to test a real Julabo"
)
def test_julabo_hardware_status_read_only() -> None:
    config = DeviceConfig(name="chiller", kind="chiller", driver="julabo", resource=HARDWARE)
    device = create_device(config, SystemClock())
    assert isinstance(device, JulaboChiller)
    try:
        now = status(device)  # reads only: no setpoint, no start
        assert isinstance(now["temperature"], float) and isinstance(now["status_code"], int)
    finally:
        device.close()
