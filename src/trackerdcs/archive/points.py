"""From an MQTT status payload to points, in the seed's Telegraf schema.

- measurement = the device (``hv``), tag ``number`` = the channel;
- fields = the keys of each channel object, as published: numbers as floats,
  booleans as integers, text as strings; nested objects flattened with dots;
- time = the measurement time ``ts`` the device stamped, not the arrival time.

Ph2_ACF's own monitoring (``/ph2acf/data``, from ``runCalibration -c monitoronly``) goes to the
measurement ``ph2acf``, stamped on arrival: its ``timestamp`` is a monotonic clock (kept as the
field ``monotonic``). A failed read (``ERROR``, ``NO_READ``) is the string field ``<name>_error``,
so a numeric field never changes type.

Availability is stored in the measurement ``availability``, tag ``device``, field
``online`` (1 or 0), so a dashboard can shade the times a device was away. Alarm
events (``/interlock/events``) go to the measurement ``events``, tag ``device``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from trackerdcs.archive.lineproto import Field
from trackerdcs.contract.topics import PH2ACF_DATA, PH2ACF_MEASUREMENT

META_KEYS = frozenset({"ts", "seq", "number"})  # not fields: time, gap detection, the tag
RESERVED = frozenset({"time"})  # InfluxDB refuses a field called "time"
AVAILABILITY = "availability"
EVENTS = "events"
ARCHIVED_LEAVES = ("status", AVAILABILITY, EVENTS)


@dataclass(frozen=True, slots=True)
class Point:
    measurement: str
    tags: dict[str, str]
    fields: dict[str, Field]
    time_ns: int


@dataclass(frozen=True, slots=True)
class Message:
    """One received MQTT message, as the spool keeps it."""

    topic: str
    payload: bytes
    arrival: float  # s since the epoch, for payloads without a ts


@dataclass
class Decoded:
    points: list[Point]
    device: str | None
    seq: int | None  # the status's sequence number, for gap detection
    error: str | None = None


def decode(message: Message) -> Decoded:
    """Every point one message carries; a payload that is not JSON gives an error, not an exception."""
    if message.topic == PH2ACF_DATA:
        return _ph2acf(message)
    parts = message.topic.split("/")
    if len(parts) != 3 or parts[0] != "" or not parts[1]:
        return Decoded([], None, None, f"not an archived topic: {message.topic!r}")
    device, leaf = parts[1], parts[2]
    if leaf == AVAILABILITY:
        return Decoded([_availability(device, message)], device, None)
    try:
        body = json.loads(message.payload)
    except (ValueError, UnicodeDecodeError) as exc:
        return Decoded([], device, None, f"{message.topic}: payload is not JSON ({exc})")
    entries = body if isinstance(body, list) else [body]
    if leaf == EVENTS:
        device, entries = EVENTS, [{**e, "source": parts[1]} for e in entries if isinstance(e, dict)]
    default_ns = to_ns(message.arrival)
    points = [p for entry in entries if isinstance(entry, dict) if (p := _point(device, entry, default_ns))]
    return Decoded(points, device, _seq(entries))


def _ph2acf(message: Message) -> Decoded:
    try:
        body = json.loads(message.payload)
    except (ValueError, UnicodeDecodeError) as exc:
        return Decoded([], PH2ACF_MEASUREMENT, None, f"{message.topic}: payload is not JSON ({exc})")
    if not isinstance(body, dict):
        return Decoded([], PH2ACF_MEASUREMENT, None, f"{message.topic}: expected a JSON object")
    fields: dict[str, Field] = {}
    for name, value in body.items():
        if name == "timestamp" and isinstance(value, int | float) and not isinstance(value, bool):
            fields["monotonic"] = float(value)
        elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            fields[name] = float(value)
        elif isinstance(value, str):
            fields[f"{name}_error"] = value
    point = Point(PH2ACF_MEASUREMENT, {}, fields, to_ns(message.arrival))
    return Decoded([point] if fields else [], PH2ACF_MEASUREMENT, None)


def to_ns(seconds: float) -> int:
    """Seconds as a float to integer nanoseconds, rounded to the microsecond a float holds."""
    return round(seconds * 1e6) * 1000


def _availability(device: str, message: Message) -> Point:
    online = message.payload.strip() == b"online"
    return Point(AVAILABILITY, {"device": device}, {"online": int(online)}, to_ns(message.arrival))


def _point(device: str, entry: Mapping[str, Any], default_ns: int) -> Point | None:
    ts = entry.get("ts")
    time_ns = to_ns(ts) if _is_time(ts) else default_ns
    number = entry.get("number")
    channel = type(number) is int or (type(number) is str and number)  # not a bool, not ""
    tags = {"number": str(number)} if channel else {}
    fields = dict(_fields(entry, ""))
    return Point(device, tags, fields, time_ns) if fields else None


LATEST = 9.2e9  # s: InfluxDB's nanosecond times end in 2262


def _is_time(ts: object) -> TypeGuard[float]:
    return isinstance(ts, int | float) and not isinstance(ts, bool) and math.isfinite(ts) and 0 <= ts < LATEST


def _fields(entry: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Field]]:
    for name, value in entry.items():
        if not prefix and (name in META_KEYS or name in RESERVED):
            continue
        full = prefix + name
        if isinstance(value, dict):
            yield from _fields(value, full + ".")
        elif isinstance(value, bool | int | float | str):
            yield full, value


def _seq(entries: list[Any]) -> int | None:
    first = entries[0] if entries else None
    seq = first.get("seq") if isinstance(first, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None
