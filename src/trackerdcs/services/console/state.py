"""The console's picture of the stand: the latest of every retained topic, and what changed.

The server is the single source of truth for every tab: each browser gets :meth:`snapshot`
once, then what :meth:`drain` collects, at most once per update period. A change is kept
as a *path* into the picture (``("devices", "hv", "status")``), so ten statuses of one
device between two drains are sent once, as the latest.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from trackerdcs.contract.topics import ARCHIVER

log = logging.getLogger(__name__)

AUDIT_KEPT = 200
DEVICE_LEAVES = ("status", "availability", "meta")
SAFETY_LEAVES = {"status": "rules", "alarms": "alarms", "inhibit": "inhibit", "availability": "availability"}
SERVICE_LEAVES = ("status", "availability")
Path = tuple[str, ...]


@dataclass(frozen=True)
class Layout:
    """Which name on the bus is what, from the stand file."""

    stand: str
    devices: dict[str, str]  # name -> kind
    modules: frozenset[str]
    safety: str | None
    daq: str | None
    archive: str = ARCHIVER
    calibrations: tuple[str, ...] = ()  # what the DAQ may run


@dataclass
class StandState:
    layout: Layout
    on_change: Callable[[bool], None] = lambda urgent: None  # urgent: an edge not to coalesce away
    data: dict[str, Any] = field(init=False)
    audit: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=AUDIT_KEPT))
    _dirty: set[Path] = field(default_factory=set)
    _new_audit: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        lay = self.layout
        self.data = {
            "stand": lay.stand,
            "bus": {"connected": False, "since": None},
            "devices": {name: {"availability": "unknown"} for name in lay.devices},
            "modules": {},
            "safety": {"name": lay.safety, "availability": "unknown"} if lay.safety else None,
            "daq": (
                {"name": lay.daq, "availability": "unknown", "calibrations": list(lay.calibrations)}
                if lay.daq
                else None
            ),
            "archive": {"availability": "unknown"},
        }

    # -- what arrives ------------------------------------------------------------------
    def apply(self, topic: str, raw: bytes) -> None:
        """Take one message; anything that is not one of the stand's topics is ignored."""
        parts = topic.split("/")
        if len(parts) != 3 or parts[0]:
            return
        path = self._path(parts[1], parts[2])
        if path is None:
            return
        value = self._decode(parts[2], raw, topic)
        if value is _UNPARSABLE:
            return
        if path == ("safety", "rules") and isinstance(value, dict):
            value = value.get("rules", value)  # /interlock/status is {"rules": {...}, "ts": ...}
        self._set(path, value)

    def _path(self, name: str, leaf: str) -> Path | None:
        lay = self.layout
        if name in lay.devices and leaf in DEVICE_LEAVES:
            return ("devices", name, leaf)
        if name in lay.modules and leaf == "status":
            return ("modules", name)
        if name == lay.safety and leaf in SAFETY_LEAVES:
            return ("safety", SAFETY_LEAVES[leaf])
        if name in (lay.daq, lay.archive) and leaf in SERVICE_LEAVES:
            return ("daq" if name == lay.daq else "archive", leaf)
        return None

    @staticmethod
    def _decode(leaf: str, raw: bytes, topic: str) -> Any:
        if leaf == "availability":
            return raw.decode(errors="replace") or "unknown"
        if not raw:
            return None  # a retained topic cleared
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            log.debug("unparsable payload on %s", topic)
            return _UNPARSABLE
        return value

    def _set(self, path: Path, value: Any) -> None:
        node = self.data
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
        self._dirty.add(path)
        self.on_change(_is_loss(path, value))

    def set_bus(self, connected: bool, now: float) -> None:
        self._set(("bus",), {"connected": connected, "since": now})

    def add_audit(self, entry: dict[str, Any]) -> None:
        self.audit.append(entry)
        self._new_audit.append(entry)
        self.on_change(False)

    # -- what goes out -----------------------------------------------------------------
    def snapshot(self, now: float) -> dict[str, Any]:
        """The whole picture (shared structure: encode it, do not change it)."""
        return {**self.data, "now": now, "audit": list(self.audit)}

    def drain(self, now: float) -> dict[str, Any] | None:
        """What changed since the last drain, each path with its latest value; None: nothing."""
        if not self._dirty and not self._new_audit:
            return None
        update: dict[str, Any] = {"type": "update", "now": now}
        for path in self._dirty:
            node, target = self.data, update
            for key in path[:-1]:
                node = node[key]
                target = target.setdefault(key, {})
            target[path[-1]] = node[path[-1]]
        if self._new_audit:
            update["audit"] = self._new_audit
        self._dirty, self._new_audit = set(), []
        return update

    # -- what commands need ------------------------------------------------------------
    def channel(self, device: str, channel: int | None) -> dict[str, Any] | None:
        """The last status entry of one channel (a sensor: its whole status)."""
        status = self.data["devices"].get(device, {}).get("status")
        if isinstance(status, dict):
            return status
        if isinstance(status, list):
            for entry in status:
                if isinstance(entry, dict) and entry.get("number") == channel:
                    return entry
        return None

    def vreqs(self, device: str, channel: int | None) -> list[float]:
        """The setpoints a switch-on of ``channel`` (None: every channel) would apply."""
        status = self.data["devices"].get(device, {}).get("status")
        if not isinstance(status, list):
            return []
        return [
            float(e.get("vreq", 0.0))
            for e in status
            if isinstance(e, dict) and (channel is None or e.get("number") == channel)
        ]

    def module(self, name: str) -> Any:
        return self.data["modules"].get(name)


_UNPARSABLE = object()


def _is_loss(path: Path, value: Any) -> bool:
    """The broker or a device gone: sent at once, so that a restart within one update period
    still shows the page its outage (a later "online" must not hide the "offline" before it)."""
    if path == ("bus",):
        return not value["connected"]
    return path[-1] == "availability" and value != "online"
