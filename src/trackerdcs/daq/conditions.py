"""Which signals a run's conditions cover, and their summary over the run's window: pure."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Sample = tuple[float, float]  # (time in s since the epoch, value)


@dataclass(frozen=True)
class Signal:
    """One archived series: ``device`` measurement, ``field``, ``channel`` tag."""

    label: str  # how the record names it: "hv:0.vmon", "env.dewpoint_margin"
    device: str
    field: str
    channel: str | None = None


def module_signals(hv: tuple[str, int], lv: tuple[str, int]) -> list[Signal]:
    """A module's HV and LV readbacks."""
    found = []
    for device, channel in (hv, lv):
        for name in ("vmon", "imon"):
            found.append(Signal(f"{device}:{channel}.{name}", device, name, str(channel)))
    return found


def environment_signals(device: str) -> list[Signal]:
    return [Signal(f"{device}.{name}", device, name) for name in ("temperature", "humidity", "dewpoint")]


def summarise(samples: Sequence[Sample]) -> dict[str, Any]:
    """min, max, mean, first and last (with their times) of the finite numeric samples."""
    values = [(ts, float(v)) for ts, v in samples if isinstance(v, int | float) and math.isfinite(v)]
    if not values:
        return {"count": 0}
    numbers = [v for _, v in values]
    return {
        "count": len(numbers),
        "min": min(numbers),
        "max": max(numbers),
        "mean": sum(numbers) / len(numbers),
        "first": numbers[0],
        "first_ts": values[0][0],
        "last": numbers[-1],
        "last_ts": values[-1][0],
    }


def dewpoint_margin(temperature: Sequence[Sample], dewpoint: Sequence[Sample]) -> list[Sample]:
    """temperature − dew point at the times both were measured (one status carries both)."""
    dew = {ts: v for ts, v in dewpoint}
    return [(ts, t - dew[ts]) for ts, t in temperature if ts in dew]
