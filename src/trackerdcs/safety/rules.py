"""Interlock rules evaluated on live (or replayed) samples.

A condition has a threshold, a hysteresis and a persistence (``for_s`` seconds and
``count`` consecutive samples). A stale rule fires when its device has said nothing
for ``after_s`` seconds, has never spoken, or is offline: silence counts as unsafe.
A rule that clears undoes nothing by itself; it only stops inhibiting.

Rules judge fresh samples only. A sample's age is ``now - ts``; one older than its
device's horizon (the smallest ``after_s`` of the stale rules that watch the device,
else ``fresh_s``) is not a current value: a retained status of a previous session, or
a buffered one replayed after a broker outage. A threshold rule neither fires nor
clears on it, and it does not count as the device reporting.

For the first ``after_s`` after the start a stale rule does not fire: while its device
has not sent fresh data (or is offline, as the retained availability of the last
session may say) the rule is *pending*: it inhibits, since what we do not know is
unsafe, but raises no alarm. A device that is still stale after that makes it fire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trackerdcs.safety.config import RuleConfig, Signal, parse_signal
from trackerdcs.safety.signals import sample_time, signals_of


@dataclass(frozen=True)
class Transition:
    """A rule became active (fired) or cleared."""

    rule: RuleConfig
    active: bool
    ts: float
    value: float | None
    message: str


@dataclass
class RuleState:
    active: bool = False
    since: float | None = None  # when the condition started to hold
    count: int = 0
    value: float | None = None
    pending: bool = False  # a stale rule at start-up: no fresh data yet, inhibits without an alarm


@dataclass
class RuleEngine:
    rules: list[RuleConfig]
    start: float
    fresh_s: float = 5.0  # the horizon of a device that no stale rule watches, s
    grace: bool = True  # a live start (pending stale rules); a replay starts mid-stream: none
    states: dict[str, RuleState] = field(default_factory=dict)
    last_seen: dict[str, float] = field(default_factory=dict)  # newest fresh sample per device
    online: dict[str, bool] = field(default_factory=dict)
    stale_devices: set[str] = field(default_factory=set)  # whose newest sample was too old to judge

    def __post_init__(self) -> None:
        self.states = {rule.name: RuleState() for rule in self.rules}
        # Which rules judge each device's samples: at 10,240 channels, reading every value
        # of every supply's status, for a rule that reads only the environment, was a third
        # of the safety service's time.
        self.judged: dict[str, list[tuple[RuleConfig, Signal]]] = {}
        for rule in self.rules:
            if rule.signal is not None:
                signal = parse_signal(rule.signal)
                self.judged.setdefault(signal.device, []).append((rule, signal))

    def active(self) -> list[RuleConfig]:
        return [rule for rule in self.rules if self.states[rule.name].active]

    def pending(self) -> list[RuleConfig]:
        return [rule for rule in self.rules if self.states[rule.name].pending]

    def horizon(self, device: str) -> float:
        """How old a sample of ``device`` may be and still count as a current value, s."""
        limits = [rule.after_s for rule in self.rules if rule.stale == device]
        return min(limits) if limits else self.fresh_s

    def restore_active(self, name: str, value: float | None) -> None:
        """Take a rule as firing, as it was when the service stopped: only fresh data clear it."""
        state = self.states.get(name)
        if state is not None:
            state.active, state.value, state.pending = True, value, False

    def on_status(self, device: str, payload: Any, now: float) -> list[Transition]:
        ts = sample_time(payload, now)
        if now - ts > self.horizon(device):
            self.stale_devices.add(device)
            return self.tick(now)  # not a current value: it neither fires, clears nor refreshes
        self.stale_devices.discard(device)
        self.last_seen[device] = max(ts, self.last_seen.get(device, ts))
        judged = self.judged.get(device, [])
        values = signals_of(device, payload) if judged else {}
        out = []
        for rule, signal in judged:
            value = values.get(signal)
            if value is not None:
                out += self._condition(rule, value, ts)
        return out + self.tick(now)  # staleness is judged now, whatever the sample's age

    def on_availability(self, device: str, online: bool, now: float) -> list[Transition]:
        self.online[device] = online
        return self.tick(now)

    def tick(self, now: float) -> list[Transition]:
        """Re-evaluate the stale rules at ``now``."""
        out = []
        for rule in self.rules:
            if rule.stale is not None:
                out += self._staleness(rule, now)
        return out

    def _condition(self, rule: RuleConfig, value: float, ts: float) -> list[Transition]:
        state = self.states[rule.name]
        state.value = value
        if state.active:
            if _clear(rule, value):
                return self._set(rule, False, ts, value, f"{rule.signal} = {value:.4g}: back within limits")
            return []
        if not _violates(rule, value):
            state.since, state.count = None, 0
            return []
        state.since = ts if state.since is None else state.since
        state.count += 1
        if state.count >= rule.count and ts - state.since >= rule.for_s:
            limit = f"above {rule.above:g}" if rule.above is not None else f"below {rule.below:g}"
            return self._set(rule, True, ts, value, f"{rule.signal} = {value:.4g}, {limit}")
        return []

    def _staleness(self, rule: RuleConfig, now: float) -> list[Transition]:
        device = rule.stale
        assert device is not None  # only stale rules come here
        seen = self.last_seen.get(device)
        age = now - (self.start if seen is None else seen)
        offline = self.online.get(device) is False
        stale = offline or age > rule.after_s or (self.grace and seen is None)
        state = self.states[rule.name]
        # Every device gets after_s from our start: until then no alarm, but no trust either.
        state.pending = self.grace and stale and not state.active and now - self.start <= rule.after_s
        if stale and not state.active and not state.pending:
            why = "is offline" if offline else f"silent for {age:.1f} s (limit {rule.after_s:g} s)"
            why += " and its newest sample is too old" if device in self.stale_devices else ""
            return self._set(rule, True, now, age, f"{device} {why}")
        if not stale and state.active:
            return self._set(rule, False, now, age, f"{device} is reporting again")
        return []

    def _set(
        self, rule: RuleConfig, active: bool, ts: float, value: float | None, msg: str
    ) -> list[Transition]:
        state = self.states[rule.name]
        state.active, state.since, state.count = active, None, 0
        return [Transition(rule, active, ts, value, msg)]


def _violates(rule: RuleConfig, value: float) -> bool:
    if rule.above is not None:
        return value > rule.above
    return rule.below is not None and value < rule.below


def _clear(rule: RuleConfig, value: float) -> bool:
    if rule.above is not None:
        return value <= rule.above - rule.hysteresis
    return rule.below is not None and value >= rule.below + rule.hysteresis
