"""The DHT-over-serial driver: parsing the Arduino's lines, and the port on a pty."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import wait_until
from tests.instruments.dht import DhtEmulator
from tests.instruments.pty import PtyInstrument, SerialFault
from trackerdcs.devices.base import Sample
from trackerdcs.devices.clock import SystemClock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.drivers.dht import DhtParser, DhtSensor, StaleReading, parse_line
from trackerdcs.devices.drivers.link import DriverError
from trackerdcs.devices.physics import dew_point
from trackerdcs.devices.registry import create_device

STALE_AFTER = 0.5  # s


# -- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Temperature: 23.40 *C", [("temperature", 23.4)]),
        ("Humidity: 45.00 %", [("humidity", 45.0)]),
        ("Temperature: -5 *C", [("temperature", -5.0)]),
        ("Humidity: 45.00%  Temperature: 23.40°C 74.12°F", [("temperature", 23.4), ("humidity", 45.0)]),
        ("Temperature: nan *C", []),
        ("Failed to read from DHT sensor!", []),
        ("Humidity: 145.00 %", []),  # not plausible
        ("erature: 23.40 *C", []),  # the start was cut
        ("Temperature: 23Temperature: 24.50 *C", [("temperature", 24.5)]),
        ("\x15#?!garbage", []),
    ],
)
def test_dht_parses_only_complete_plausible_readings(line: str, expected: list[tuple[str, float]]) -> None:
    assert parse_line(line) == expected


def test_dht_parser_joins_a_line_split_across_reads_and_skips_junk() -> None:
    parser = DhtParser()
    assert parser.feed(b"Temperature: 2") == []
    assert parser.feed(b"3.40 *C\r\nHum") == [("temperature", 23.4)]
    assert parser.feed(b"idity: 45.00 %\r\n\xff\xfe junk\r\n") == [("humidity", 45.0)]
    assert parser.skipped == 1
    assert parser.feed(b"x" * 300) == [] and parser.buffer == b""  # no newline: dropped


# -- the sensor on a pty --------------------------------------------------------------------


@pytest.fixture
def emulator() -> DhtEmulator:
    return DhtEmulator()


@pytest.fixture
def pty(emulator: DhtEmulator, tmp_path: Path) -> Iterator[PtyInstrument]:
    with PtyInstrument(emulator, tmp_path, stream_period=0.05) as instrument:
        yield instrument


@pytest.fixture
def dht(pty: PtyInstrument) -> Iterator[DhtSensor]:
    config = DeviceConfig(
        name="env",
        kind="env",
        driver="dht",
        resource=pty.resource,
        options={"stale_after": STALE_AFTER, "timeout": 0.05},
    )
    device = create_device(config, SystemClock())
    assert isinstance(device, DhtSensor)
    yield device
    device.close()


def next_sample(device: DhtSensor, what: str = "a fresh DHT sample") -> Sample:
    """Read until the sensor gives a sample (the Arduino prints every stream period)."""
    found: list[Sample] = []

    def attempt() -> bool:
        try:
            found.append(device.read())
        except DriverError:
            return False
        return True

    wait_until(attempt, what=what)
    return found[-1]


def body(sample: Sample) -> dict[str, Any]:
    assert isinstance(sample.body, dict)
    return sample.body


def fails_with(device: DhtSensor, error: type[Exception]) -> bool:
    try:
        device.read()
    except error:
        return True
    return False


def test_dht_publishes_the_env_simulator_fields_with_dew_point(dht: DhtSensor, emulator: DhtEmulator) -> None:
    first = body(next_sample(dht))
    assert first == {"temperature": 23.4, "humidity": 45.0, "dewpoint": round(dew_point(23.4, 45.0), 3)}
    assert dht.units() == {"temperature": "°C", "humidity": "%", "dewpoint": "°C"}
    emulator.humidity = 90.0
    wait_until(lambda: body(next_sample(dht))["humidity"] == 90.0, what="the new humidity")


def test_dht_silent_sensor_goes_stale_instead_of_repeating_old_values(
    dht: DhtSensor, pty: PtyInstrument
) -> None:
    first = next_sample(dht)
    pty.fault = SerialFault.SILENT
    wait_until(lambda: fails_with(dht, StaleReading), what="the reading to go stale")
    pty.fault = SerialFault.NONE
    assert next_sample(dht).ts > first.ts


@pytest.mark.parametrize("fault", [SerialFault.GARBAGE, SerialFault.PARTIAL])
def test_dht_garbage_and_partial_lines_are_skipped_then_it_recovers(
    dht: DhtSensor, pty: PtyInstrument, fault: SerialFault
) -> None:
    next_sample(dht)
    pty.fault = fault
    wait_until(lambda: fails_with(dht, StaleReading), what="garbage to leave the reading stale")
    pty.fault = SerialFault.NONE
    assert body(next_sample(dht))["temperature"] == 23.4
    assert dht.parser.skipped > 0 or fault is SerialFault.PARTIAL


def test_dht_sensor_failure_lines_leave_the_reading_stale(dht: DhtSensor, emulator: DhtEmulator) -> None:
    next_sample(dht)
    emulator.sensor_failed = True
    wait_until(lambda: fails_with(dht, StaleReading), what="the failed sensor to go stale")
    emulator.sensor_failed = False
    next_sample(dht)


def test_dht_unplugged_arduino_raises_and_the_port_reopens(dht: DhtSensor, pty: PtyInstrument) -> None:
    next_sample(dht)
    opened = dht.link.opened
    pty.send_raw(b"Temperature: 9")  # cut by the unplug: must not join the next line
    pty.disconnect()
    wait_until(lambda: fails_with(dht, DriverError) and not dht.link.is_open, what="the unplug to be noticed")
    assert dht.parser.buffer == b""
    pty.reconnect()
    assert body(next_sample(dht, "a sample after the replug"))["temperature"] == 23.4
    assert dht.link.opened == opened + 1
    dht.reconnect()
    next_sample(dht)


def test_dht_needs_a_resource() -> None:
    with pytest.raises(ValueError, match="needs a serial resource"):
        create_device(DeviceConfig(name="env", kind="env", driver="dht"), SystemClock())


HARDWARE = os.environ.get("DCS_TEST_DHT_RESOURCE")


@pytest.mark.skipif(
    not HARDWARE, reason="set DCS_TEST_DHT_RESOURCE (e.g. /dev/ttyACM0) to test a real Arduino DHT"
)
def test_dht_hardware_gives_a_plausible_reading() -> None:
    config = DeviceConfig(name="env", kind="env", driver="dht", resource=HARDWARE)
    device = create_device(config, SystemClock())
    assert isinstance(device, DhtSensor)
    try:
        reading = body(next_sample(device, "a reading from the real sensor"))  # the Arduino resets on open
        assert -40 <= reading["temperature"] <= 80 and 0 <= reading["humidity"] <= 100
    finally:
        device.close()
