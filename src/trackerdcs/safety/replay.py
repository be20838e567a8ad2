"""Replay recorded samples through the interlock rules: when would each have fired?

Recordings are JSON (a list, or one object per line) of ``{"topic", "payload"}``
messages, as `mosquitto_sub -t '/#' -F '%j'` writes them, or CSV with the columns
``ts,device,field,value`` and optionally ``channel``.
"""

from __future__ import annotations

import csv
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
        engine = engine or RuleEngine(rules, record.ts)
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
    try:
        items = (
            json.loads(text)
            if text.startswith("[")
            else [json.loads(line) for line in text.splitlines() if line.strip()]
        )
    except ValueError as exc:
        raise RecordingError(f"{name}: not valid JSON: {exc}") from None
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "topic" not in item or "payload" not in item:
            raise RecordingError(f"{name}: message {i}: expected an object with 'topic' and 'payload'")
        parts = str(item["topic"]).split("/")
        if len(parts) != 3 or parts[2] not in ("status", "availability"):
            continue
        payload = item["payload"]
        if isinstance(payload, str) and parts[2] == "status":
            try:
                payload = json.loads(payload)
            except ValueError:
                raise RecordingError(f"{name}: message {i}: payload is not JSON") from None
        ts = item.get("ts") or item.get("tst")
        default = float(ts) if isinstance(ts, int | float) else float(i)
        yield Record(parts[1], parts[2], payload, sample_time(payload, default))


def _csv_records(text: str, name: str) -> Iterator[Record]:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"ts", "device", "field", "value"} - set(reader.fieldnames or [])
    if missing:
        raise RecordingError(
            f"{name}: CSV needs the columns ts, device, field, value (missing {', '.join(sorted(missing))})"
        )
    groups: dict[tuple[float, str, str], dict[str, Any]] = {}
    for line, row in enumerate(reader, start=2):
        try:
            key = (float(row["ts"]), row["device"], row.get("channel") or "")
            groups.setdefault(key, {})[row["field"]] = float(row["value"])
        except (TypeError, ValueError):
            raise RecordingError(f"{name}: line {line}: ts and value must be numbers") from None
    for (ts, device, channel), fields in groups.items():
        entry = {**fields, "ts": ts}
        payload: Any = [{"number": int(channel), **entry}] if channel else entry
        yield Record(device, "status", payload, ts)
