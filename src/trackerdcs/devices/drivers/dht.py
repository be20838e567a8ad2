"""A DHT temperature/humidity sensor read through the seed's Arduino on a serial port.

The Arduino prints, on its own, lines such as ``Temperature: 23.40 *C`` and
``Humidity: 45.00 %`` (also Adafruit's one-line ``Humidity: 45.00%  Temperature: 23.40°C``).
Each :meth:`DhtSensor.read` takes what has arrived, keeps the newest value of each, and
publishes temperature, humidity and dew point under the environment simulator's names,
so the dew-point rules work unchanged.

Garbage, ``nan`` and cut lines are skipped. When no fresh pair arrived within
``stale_after`` seconds, ``read`` raises :class:`StaleReading` instead of repeating old
values as new; a lost port raises :class:`DriverError` and is reopened on the next read.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from trackerdcs.devices.base import Device, Sample
from trackerdcs.devices.clock import Clock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.drivers.link import DriverError, LineLink, serial_settings
from trackerdcs.devices.physics import dew_point

log = logging.getLogger(__name__)

NUMBER = r"(-?\d+(?:\.\d+)?)"
PATTERNS = {
    "temperature": re.compile(rf"Temperature:\s*{NUMBER}\s*(?:\*|°)?C"),
    "humidity": re.compile(rf"Humidity:\s*{NUMBER}\s*%"),
}
PLAUSIBLE = {"temperature": (-40.0, 80.0), "humidity": (0.0, 100.0)}  # the DHT22's range
MAX_LINE = 256
SERIAL_DEFAULTS: dict[str, Any] = {"baudrate": 9600}


class StaleReading(DriverError):
    """The sensor has not printed a fresh reading in time."""


class DhtParser:
    """Turns the Arduino's byte stream into (quantity, value) pairs; keeps a partial line."""

    def __init__(self) -> None:
        self.buffer = b""
        self.skipped = 0  # lines that held no reading

    def reset(self) -> None:
        self.buffer = b""

    def feed(self, data: bytes) -> list[tuple[str, float]]:
        *lines, self.buffer = (self.buffer + data).replace(b"\r", b"\n").split(b"\n")
        if len(self.buffer) > MAX_LINE:  # no newline in a long time: junk
            self.buffer = b""
        found: list[tuple[str, float]] = []
        for raw in lines:
            values = parse_line(raw.decode("utf-8", errors="replace"))
            self.skipped += bool(raw.strip()) and not values
            found += values
        return found


def parse_line(line: str) -> list[tuple[str, float]]:
    """Get the plausible readings in one complete line."""
    found = []
    for name, pattern in PATTERNS.items():
        for match in pattern.finditer(line):
            value = float(match.group(1))
            low, high = PLAUSIBLE[name]
            if low <= value <= high:
                found.append((name, value))
    return found


@dataclass(frozen=True)
class Reading:
    value: float
    received: float  # monotonic, for staleness
    ts: float  # wall clock, the measurement time


class DhtSensor(Device):
    """An environment sensor (kind ``env``) on a serial port."""

    kind = "env"

    def __init__(self, config: DeviceConfig, clock: Clock, link: LineLink, stale_after: float) -> None:
        super().__init__(config, clock)
        self.link = link
        self.stale_after = stale_after
        self.parser = DhtParser()
        self.latest: dict[str, Reading] = {}

    @property
    def channels(self) -> list[int]:
        return []

    def read(self) -> Sample:
        try:
            data = self.link.read_available()
        except DriverError:
            self.parser.reset()  # a line cut by the unplug must not be completed by the next one
            raise
        for name, value in self.parser.feed(data):
            self.latest[name] = Reading(value, self.clock.monotonic(), self.clock.time())
        t, rh = self._fresh("temperature"), self._fresh("humidity")
        body = {
            "temperature": round(t.value, 3),
            "humidity": round(rh.value, 3),
            "dewpoint": round(dew_point(t.value, rh.value), 3),
        }
        return Sample(max(t.ts, rh.ts), body)

    def _fresh(self, name: str) -> Reading:
        reading = self.latest.get(name)
        if reading is None:
            raise StaleReading(f"{self.name}: no {name} from {self.link.url} yet")
        age = self.clock.monotonic() - reading.received
        if age > self.stale_after:
            raise StaleReading(f"{self.name}: last {name} is {age:.1f} s old (limit {self.stale_after:g} s)")
        return reading

    def units(self) -> dict[str, str]:
        return {"temperature": "°C", "humidity": "%", "dewpoint": "°C"}

    def close(self) -> None:
        self.link.close()

    def reconnect(self) -> None:
        """Reopen the port (the Arduino resets and prints again after a few seconds)."""
        self.parser.reset()
        self.link.reconnect()


def create(config: DeviceConfig, clock: Clock) -> Device:
    """Build a DHT sensor from its stand-file entry; the port opens on the first read."""
    if not config.resource:
        raise ValueError(f"{config.name}: the dht driver needs a serial resource such as /dev/ttyACM0")
    options = config.options
    link = LineLink(
        config.resource,
        timeout=float(options.get("timeout", 0.2)),
        settings=serial_settings(options, SERIAL_DEFAULTS),
    )
    return DhtSensor(config, clock, link, float(options.get("stale_after", 10.0)))
