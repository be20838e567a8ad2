"""Alarms with a lifecycle, as in EPICS Phoebus or WinCC OA.

raised (active, unacknowledged) → acknowledged → cleared → gone. A latching alarm
that clears before it is acknowledged stays, cleared but unacknowledged, until an
operator acknowledges it; a non-latching one goes when it clears.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from trackerdcs.safety.config import Severity


@dataclass
class Alarm:
    id: str
    severity: Severity
    message: str
    raised_at: float
    latch: bool = True
    active: bool = True
    acknowledged: bool = False
    acked_by: str | None = None
    acked_at: float | None = None
    cleared_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AlarmEvent:
    """One step of an alarm's life, archived as its history."""

    event: str  # raised, acknowledged, cleared, removed
    alarm: Alarm
    ts: float
    by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"event": self.event, "ts": self.ts, "by": self.by, "alarm": self.alarm.as_dict()}


class AlarmError(KeyError):
    """No such alarm."""


class AlarmBook:
    """The set of alarms that are active or waiting for an acknowledgement."""

    def __init__(self) -> None:
        self.alarms: dict[str, Alarm] = {}

    def listing(self) -> list[dict[str, Any]]:
        return [alarm.as_dict() for alarm in sorted(self.alarms.values(), key=lambda a: a.raised_at)]

    def raise_(self, id: str, severity: Severity, message: str, ts: float, latch: bool = True) -> AlarmEvent:
        alarm = Alarm(id, severity, message, ts, latch)
        self.alarms[id] = alarm
        return AlarmEvent("raised", alarm, ts)

    def clear(self, id: str, message: str, ts: float) -> list[AlarmEvent]:
        alarm = self.alarms.get(id)
        if alarm is None or not alarm.active:
            return []
        alarm.active, alarm.cleared_at, alarm.message = False, ts, message
        events = [AlarmEvent("cleared", alarm, ts)]
        if alarm.acknowledged or not alarm.latch:
            events.append(self._remove(alarm, ts))
        return events

    def ack(self, id: str, by: str, ts: float) -> list[AlarmEvent]:
        alarm = self.alarms.get(id)
        if alarm is None:
            known = ", ".join(self.alarms) or "none"
            raise AlarmError(f"no alarm {id!r} (alarms: {known})")
        if alarm.acknowledged:
            return []
        alarm.acknowledged, alarm.acked_by, alarm.acked_at = True, by, ts
        events = [AlarmEvent("acknowledged", alarm, ts, by)]
        if not alarm.active:
            events.append(self._remove(alarm, ts))
        return events

    def _remove(self, alarm: Alarm, ts: float) -> AlarmEvent:
        del self.alarms[alarm.id]
        return AlarmEvent("removed", alarm, ts)
