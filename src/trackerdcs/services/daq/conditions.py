"""The conditions of a run: every signal of its modules over its window, read from the archive
through the same query interface as ``dcs history``."""

from __future__ import annotations

import logging
import time
from typing import Any

from trackerdcs.archive.backend import Backend, Query, Unavailable
from trackerdcs.daq.conditions import Signal, dewpoint_margin, environment_signals, module_signals, summarise
from trackerdcs.stand import Stand

log = logging.getLogger(__name__)


def run_signals(stand: Stand, modules: list[str]) -> tuple[list[tuple[str, Signal]], list[str]]:
    """(module, signal) pairs of the run's modules, and the stand's environment devices."""
    pairs: list[tuple[str, Signal]] = []
    for module in stand.modules:
        if module.name in modules:
            hv, lv = module.hv_ref, module.lv_ref
            pairs += [
                (module.name, s) for s in module_signals((hv.device, hv.channel), (lv.device, lv.channel))
            ]
    envs = [d.name for d in stand.devices if d.kind == "env"]
    return pairs, envs


def caught_up(backend: Backend, signals: list[Signal], stop: float, timeout: float) -> bool:
    """Wait until the archive holds a point at or after ``stop`` for each device (the archiver
    stores a little behind the bus); False if it did not within ``timeout``."""
    firsts = list({s.device: s for s in signals}.values())
    deadline = time.monotonic() + timeout
    while True:
        try:
            if all(backend.history(Query(s.device, s.field, s.channel, stop, None, 1)) for s in firsts):
                return True
        except Unavailable as exc:
            log.warning("archive unavailable while waiting for it: %s", exc)
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)  # polling the database, not waiting for a test: bounded by the deadline


def collect(
    backend: Backend, stand: Stand, modules: list[str], start: float, stop: float
) -> list[dict[str, Any]]:
    """One summary per signal over [start, stop] (both inclusive, as the archive's queries are)."""
    pairs, envs = run_signals(stand, modules)
    out: list[dict[str, Any]] = []
    for module, signal in pairs:
        out.append(_entry(backend, signal, start, stop, module))
    for env in envs:
        series = {}
        for signal in environment_signals(env):
            series[signal.field] = _series(backend, signal, start, stop)
            out.append({**_describe(signal, None), **summarise(series[signal.field])})
        margin = Signal(f"{env}.dewpoint_margin", env, "dewpoint_margin")
        out.append(
            {
                **_describe(margin, None),
                **summarise(dewpoint_margin(series["temperature"], series["dewpoint"])),
            }
        )
    return out


def _entry(backend: Backend, signal: Signal, start: float, stop: float, module: str | None) -> dict[str, Any]:
    return {**_describe(signal, module), **summarise(_series(backend, signal, start, stop))}


def _series(backend: Backend, signal: Signal, start: float, stop: float) -> list[tuple[float, float]]:
    rows = backend.history(Query(signal.device, signal.field, signal.channel, start, stop))
    return [(ts, float(v)) for ts, v in rows if isinstance(v, int | float) and not isinstance(v, bool)]


def _describe(signal: Signal, module: str | None) -> dict[str, Any]:
    return {
        "signal": signal.label,
        "module": module,
        "device": signal.device,
        "field": signal.field,
        "channel": signal.channel,
    }
