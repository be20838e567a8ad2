"""Turn status payloads into named signal values, with derived quantities."""

from __future__ import annotations

from typing import Any

from trackerdcs.safety.config import Signal

DERIVED = {"dewpoint_margin": ("temperature", "dewpoint")}  # margin = first - second


def signals_of(device: str, payload: Any) -> dict[Signal, float]:
    """Every numeric value of a status payload (seed format), plus derived ones."""
    values: dict[Signal, float] = {}
    if isinstance(payload, dict):
        values.update(_fields(device, None, payload))
    elif isinstance(payload, list):
        for entry in payload:
            if isinstance(entry, dict) and isinstance(entry.get("number"), int):
                values.update(_fields(device, entry["number"], entry))
    return values


def _fields(device: str, channel: int | None, entry: dict[str, Any]) -> dict[Signal, float]:
    out = {
        Signal(device, channel, key): float(value)
        for key, value in entry.items()
        if isinstance(value, int | float)
        and not isinstance(value, bool)
        and key not in ("ts", "seq", "number")
    }
    for name, (minuend, subtrahend) in DERIVED.items():
        a, b = out.get(Signal(device, channel, minuend)), out.get(Signal(device, channel, subtrahend))
        if a is not None and b is not None:
            out[Signal(device, channel, name)] = a - b
    return out


def sample_time(payload: Any, default: float) -> float:
    """The measurement time a status carries, else ``default``."""
    entry = payload[0] if isinstance(payload, list) and payload else payload
    ts = entry.get("ts") if isinstance(entry, dict) else None
    return float(ts) if isinstance(ts, int | float) and not isinstance(ts, bool) else default
