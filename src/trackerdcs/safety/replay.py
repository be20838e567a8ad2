"""Replay recorded samples through the interlock rules: when would each have fired?

Recordings are JSON (a list, or one object per line) of ``{"topic", "payload"}``
messages, as `mosquitto_sub -t '/#' -F '%j'` writes them, or CSV with the columns
``ts,device,field,value`` and optionally ``channel``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from trackerdcs.safety.config import RuleConfig
from trackerdcs.safety.rules import RuleEngine, Transition
from trackerdcs.safety.signals import sample_time


class RecordingError(ValueError):
    """A recording that cannot be read; the message names the line."""


@dataclass(frozen=True)
class Record:
    device: str
    leaf: str  # status or availability
    payload: Any
    ts: float


def replay(rules: list[RuleConfig], records: Iterable[Record]) -> list[Transition]:
    """Every rule transition the recording produces, in time order."""
    engine: RuleEngine | None = None
    out: list[Transition] = []
    for record in sorted(records, key=lambda r: r.ts):
        engine = engine or RuleEngine(rules, record.ts, grace=False)
        if record.leaf == "availability":
            out += engine.on_availability(record.device, record.payload == "online", record.ts)
        else:
            out += engine.on_status(record.device, record.payload, record.ts)
    return out


def parse_recording(text: str, name: str) -> list[Record]:
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        return list(_json_records(stripped, name))
    return list(_csv_records(text, name))


def _json_records(text: str, name: str) -> Iterator[Record]:
    last = 0.0  # a message with no time of its own keeps its place in the recording
    for where, item in _json_items(text, name):
        if not isinstance(item, dict) or "topic" not in item or "payload" not in item:
            raise RecordingError(f"{name}: {where}: expected an object with 'topic' and 'payload'")
        parts = str(item["topic"]).split("/")
        if len(parts) != 3 or parts[2] not in ("status", "availability"):
            continue
        payload = item["payload"]
        if isinstance(payload, str) and parts[2] == "status":
            try:
                payload = json.loads(payload)
            except ValueError:
                raise RecordingError(f"{name}: {where}: payload is not JSON") from None
        received = _message_time(item.get("ts", item.get("tst")), f"{name}: {where}")
        last = sample_time(payload, last if received is None else received)
        yield Record(parts[1], parts[2], payload, last)


def _json_items(text: str, name: str) -> Iterator[tuple[str, Any]]:
    """(where, object) for a JSON list, or for JSON lines (naming the line)."""
    if text.startswith("["):
        try:
            items = json.loads(text)
        except ValueError as exc:
            raise RecordingError(f"{name}: not valid JSON: {exc}") from None
        yield from ((f"message {i}", item) for i, item in enumerate(items))
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield f"line {number}", json.loads(line)
            except ValueError as exc:
                raise RecordingError(f"{name}: line {number}: not valid JSON: {exc}") from None


def _message_time(value: Any, where: str) -> float | None:
    """A message's receive time: UNIX seconds, or ISO 8601 as `mosquitto_sub -F %j` writes it."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise RecordingError(f"{where}: unreadable time {value!r}") from None
    return None


def _csv_records(text: str, name: str) -> Iterator[Record]:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"ts", "device", "field", "value"} - set(reader.fieldnames or [])
    if missing:
        raise RecordingError(
            f"{name}: CSV needs the columns ts, device, field, value (missing {', '.join(sorted(missing))})"
        )
    groups: dict[tuple[float, str, int | None], dict[str, Any]] = {}
    for line, row in enumerate(reader, start=2):
        try:
            key = (float(row["ts"]), row["device"], _channel(row.get("channel"), f"{name}: line {line}"))
            groups.setdefault(key, {})[row["field"]] = float(row["value"])
        except (TypeError, ValueError):
            raise RecordingError(f"{name}: line {line}: ts and value must be numbers") from None
    for (ts, device, channel), fields in groups.items():
        entry = {**fields, "ts": ts}
        payload: Any = entry if channel is None else [{"number": channel, **entry}]
        yield Record(device, "status", payload, ts)


def _channel(text: str | None, where: str) -> int | None:
    if not text:
        return None
    if not text.strip().isdigit():
        raise RecordingError(f"{where}: channel must be a whole number, got {text!r}")
    return int(text)
