"""Alarms with a lifecycle, as in EPICS Phoebus or WinCC OA.

raised (active, unacknowledged) → acknowledged → cleared → gone. A latching alarm
that clears before it is acknowledged stays, cleared but unacknowledged, until an
operator acknowledges it; a non-latching one goes when it clears.

Each alarm carries its own history, and the book can be written out and read back
(:meth:`AlarmBook.records`, :meth:`AlarmBook.restore`), so that an alarm outlives a
restart of the service with its original time; the service keeps the file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, get_args

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
    value: float | None = None  # the value that raised it (a stale rule: the data's age, s)
    predates_restart: bool = False  # raised before the safety service last started
    history: list[dict[str, Any]] = field(default_factory=list)  # {"event", "ts", "by", "message"}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> dict[str, Any]:
        """The alarm without its history: what an event carries (the events are the history)."""
        return {k: v for k, v in asdict(self).items() if k != "history"}

    def note(self, event: str, ts: float, by: str | None = None) -> None:
        self.history.append({"event": event, "ts": ts, "by": by, "message": self.message})


@dataclass(frozen=True)
class AlarmEvent:
    """One step of an alarm's life, archived as its history."""

    event: str  # raised, acknowledged, cleared, removed
    alarm: Alarm
    ts: float
    by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"event": self.event, "ts": self.ts, "by": self.by, "alarm": self.alarm.summary()}


class AlarmError(KeyError):
    """No such alarm."""


class AlarmBook:
    """The set of alarms that are active or waiting for an acknowledgement."""

    def __init__(self) -> None:
        self.alarms: dict[str, Alarm] = {}

    def listing(self) -> list[dict[str, Any]]:
        return [alarm.as_dict() for alarm in sorted(self.alarms.values(), key=lambda a: a.raised_at)]

    def records(self) -> list[dict[str, Any]]:
        """What to keep across a restart: every alarm, as :meth:`restore` reads it back."""
        return self.listing()

    def restore(self, records: Any) -> list[Alarm]:
        """Take back the alarms of :meth:`records`, marked as predating this start.

        Raises ``ValueError`` naming the first entry that is not an alarm; then nothing
        is taken.
        """
        if not isinstance(records, list):
            raise ValueError("expected a list of alarms")
        alarms = [_alarm_from(i, record) for i, record in enumerate(records)]
        for alarm in alarms:
            alarm.predates_restart = True
            self.alarms[alarm.id] = alarm
        return alarms

    def waiting_for_ack(self, id: str) -> bool:
        """A latching alarm that has not been acknowledged yet."""
        alarm = self.alarms.get(id)
        return alarm is not None and alarm.latch and not alarm.acknowledged

    def raise_(
        self,
        id: str,
        severity: Severity,
        message: str,
        ts: float,
        latch: bool = True,
        value: float | None = None,
    ) -> AlarmEvent:
        before = self.alarms.get(id)
        alarm = Alarm(id, severity, message, ts, latch, value=value)
        alarm.history = before.history if before is not None else []
        alarm.note("raised", ts)
        self.alarms[id] = alarm
        return AlarmEvent("raised", alarm, ts)

    def clear(self, id: str, message: str, ts: float) -> list[AlarmEvent]:
        alarm = self.alarms.get(id)
        if alarm is None or not alarm.active:
            return []
        alarm.active, alarm.cleared_at, alarm.message = False, ts, message
        alarm.note("cleared", ts)
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
        alarm.note("acknowledged", ts, by)
        events = [AlarmEvent("acknowledged", alarm, ts, by)]
        if not alarm.active:
            events.append(self._remove(alarm, ts))
        return events

    def _remove(self, alarm: Alarm, ts: float) -> AlarmEvent:
        del self.alarms[alarm.id]
        return AlarmEvent("removed", alarm, ts)


_NUMBER = (int, float)


def _alarm_from(index: int, record: Any) -> Alarm:
    """One alarm of a saved book, checked field by field."""
    where = f"alarm {index}"
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected an object")
    try:
        alarm = Alarm(**{k: v for k, v in record.items() if k != "predates_restart"})
    except TypeError as exc:
        raise ValueError(f"{where}: {exc}") from None
    checks = [
        ("id", isinstance(alarm.id, str) and bool(alarm.id)),
        ("severity", alarm.severity in get_args(Severity)),
        ("message", isinstance(alarm.message, str)),
        ("raised_at", isinstance(alarm.raised_at, _NUMBER) and not isinstance(alarm.raised_at, bool)),
        ("latch", isinstance(alarm.latch, bool)),
        ("active", isinstance(alarm.active, bool)),
        ("acknowledged", isinstance(alarm.acknowledged, bool)),
        ("value", alarm.value is None or isinstance(alarm.value, _NUMBER)),
        ("history", isinstance(alarm.history, list) and all(isinstance(h, dict) for h in alarm.history)),
    ]
    bad = [name for name, ok in checks if not ok]
    if bad:
        raise ValueError(f"{where}: bad {', '.join(bad)}")
    return alarm
