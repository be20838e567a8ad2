"""What the safety service knows and decides, without any I/O."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from trackerdcs.contract.payloads import CommandRejected, Reason
from trackerdcs.safety.alarms import Alarm, AlarmBook, AlarmEvent
from trackerdcs.safety.config import ChannelRef, ModuleConfig, RuleConfig, parse_signal
from trackerdcs.safety.modules import ModuleState, module_state
from trackerdcs.safety.rules import RuleEngine, Transition

BOOK_ALARM = "alarm_book"  # raised when the saved alarm book cannot be read: HV stays off until acked
WAITING_FOR_ACK = "waiting for acknowledgement"
CACHED_SETS = 16  # sets of holding rules whose inhibit lists are kept

K = TypeVar("K")
V = TypeVar("V")


def cached(cache: dict[K, V], key: K, make: Callable[[], V]) -> V:
    """``cache[key]``, made with ``make`` when missing; a full cache is emptied first.

    The keys are sets of holding rules, which a stand's few rules keep few: emptying it
    is simpler than an LRU and never happens in practice.
    """
    if key not in cache:
        if len(cache) >= CACHED_SETS:
            cache.clear()
        cache[key] = make()
    return cache[key]


class SafetyState:
    """Channel status, rule states, alarms and module states of one stand."""

    def __init__(
        self, rules: list[RuleConfig], modules: list[ModuleConfig], start: float, fresh_s: float = 5.0
    ) -> None:
        self.engine = RuleEngine(rules, start, fresh_s)
        self.alarms = AlarmBook()
        self.modules = {m.name: m for m in modules}
        self.channels: dict[ChannelRef, dict[str, Any]] = {}
        self.sequence: dict[str, tuple[str, str | None]] = {}
        self._published: dict[str, tuple[Any, ...]] = {}
        self._seq: dict[str, int] = {}
        self._by_device: dict[str, list[str]] = {}  # device -> its modules
        self._by_channel: dict[ChannelRef, list[str]] = {}  # channel -> its modules
        for module in self.modules.values():
            for ref in (module.lv_ref, module.hv_ref):
                self._by_device.setdefault(ref.device, []).append(module.name)
                self._by_channel.setdefault(ref, []).append(module.name)
        self._hv_refs = {module.hv_ref for module in self.modules.values()}
        # Per set of holding rules, which a stand's few rules keep small: a trip, its
        # clearing and its acknowledgement go through three, and each took 10-20 ms to make.
        self._inhibits: dict[tuple[str, ...], dict[str, list[str]]] = {}
        self._split: dict[tuple[str, ...], dict[str, dict[str, list[str]]]] = {}
        self._off_by_device: dict[str, dict[str, list[int]]] = {}

    def _on_devices(self, devices: set[str]) -> list[str]:
        return list(dict.fromkeys(n for d in sorted(devices) for n in self._by_device.get(d, [])))

    def record_status(self, device: str, payload: Any) -> list[str]:
        """Keep a device's channel statuses; return the modules whose state they may change.

        Only what :func:`module_state` reads counts (``on``, ``state``, ``error``, and an HV
        channel's ``vmon``): at 10,240 channels, judging a supply's 64 modules again on every
        status, when the readings had only drifted, was a third of the service's time.
        """
        if not isinstance(payload, list):
            return []
        changed: list[str] = []
        for entry in payload:
            if isinstance(entry, dict) and isinstance(entry.get("number"), int):
                ref = ChannelRef(device, entry["number"])
                previous, hv = self.channels.get(ref), ref in self._hv_refs
                self.channels[ref] = entry
                if previous is None or _inputs(previous, hv) != _inputs(entry, hv):
                    changed += self._by_channel.get(ref, [])
        return changed

    def channel(self, ref: ChannelRef) -> dict[str, Any] | None:
        return self.channels.get(ref)

    def _modules(self, names: list[str]) -> list[ModuleConfig]:
        return list(self.modules.values()) if "*" in names else [self.modules[n] for n in names]

    def off_targets(self, rule: RuleConfig) -> list[ChannelRef]:
        """The channels a firing rule switches off."""
        refs = [m.hv_ref for m in self._modules(rule.hv_off)]
        return refs + [ChannelRef.parse(r) for r in rule.switch_off]

    def off_targets_by_device(self, rule: RuleConfig) -> dict[str, list[int]]:
        """:meth:`off_targets` by device, channels sorted; made once a rule (2 ms at 5,120 modules)."""
        if rule.name not in self._off_by_device:
            out: dict[str, set[int]] = {}
            for ref in self.off_targets(rule):
                out.setdefault(ref.device, set()).add(ref.channel)
            self._off_by_device[rule.name] = {d: sorted(c) for d, c in out.items()}
        return self._off_by_device[rule.name]

    def holding(self) -> dict[str, str | None]:
        """Every rule that inhibits now, with why when it is not simply active.

        A firing rule inhibits; so does a latching one, after it cleared, until its
        alarm is acknowledged (a manual reset, as IEC 60204-1 asks of a safety function);
        a stale rule at start-up until its device sends fresh data; and a threshold rule
        whose device sends only samples too old to judge, when no stale rule watches it.
        """
        out: dict[str, str | None] = {}
        watched = {rule.stale for rule in self.engine.rules if rule.stale}
        for rule in self.engine.rules:
            state = self.engine.states[rule.name]
            device = parse_signal(rule.signal).device if rule.signal else None
            if state.active:
                out[rule.name] = None
            elif state.pending:
                out[rule.name] = f"no fresh data from {rule.stale} yet"
            elif rule.latch and self.alarms.waiting_for_ack(rule.name):
                out[rule.name] = WAITING_FOR_ACK
            elif device in self.engine.stale_devices and device not in watched:
                out[rule.name] = f"no fresh data from {device}"
        if self.alarms.waiting_for_ack(BOOK_ALARM):
            out[BOOK_ALARM] = "alarm book unreadable; " + WAITING_FOR_ACK
        return out

    def notes(self) -> dict[str, str]:
        """Why an inhibiting rule that is not firing still inhibits."""
        return {name: note for name, note in self.holding().items() if note}

    def label(self, name: str) -> str:
        note = self.notes().get(name)
        return f"{name} ({note})" if note else name

    def inhibits(self) -> dict[str, list[str]]:
        """Module names and channels (``dev:ch``) that rules inhibit, with the rules.

        A rule that switches HV off also inhibits it, so it cannot be switched straight
        back on while the condition holds (or, latching, until it is acknowledged).
        Made once for each set of holding rules and shared: never change it. At 5,120
        modules it took 2 ms, and a trip's module statuses asked for it 40 times.
        """
        return self._inhibits_of(tuple(self.holding()))

    def _inhibits_of(self, holding: tuple[str, ...]) -> dict[str, list[str]]:
        return cached(self._inhibits, holding, lambda: self._make_inhibits(holding))

    def _make_inhibits(self, holding: tuple[str, ...]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        rules = {rule.name: rule for rule in self.engine.rules}
        for name in holding:
            rule = rules.get(name)
            if rule is None:  # the unreadable alarm book: every module
                for module in self.modules:
                    out.setdefault(module, []).append(name)
                continue
            channels = [str(ChannelRef.parse(ref)) for ref in rule.switch_off]  # 'relay:01' is relay:1
            targets = [m.name for m in self._modules(rule.hv_off + rule.inhibit_hv)] + channels
            for target in dict.fromkeys(targets):
                out.setdefault(target, []).append(rule.name)
        return out

    def inhibits_by_device(
        self, devices: list[str], holding: tuple[str, ...] | None = None
    ) -> dict[str, dict[str, list[str]]]:
        """:meth:`inhibits` split by device: each device's modules and channels (``dev:ch``).

        ``holding``: the rules that hold (None: those that hold now). Made once for each
        set of holding rules (``devices`` never changes) and shared.
        """
        holding = tuple(self.holding()) if holding is None else holding
        return cached(
            self._split, holding, lambda: self._split_by_device(self._inhibits_of(holding), devices)
        )

    def _split_by_device(
        self, inhibits: dict[str, list[str]], devices: list[str]
    ) -> dict[str, dict[str, list[str]]]:
        out: dict[str, dict[str, list[str]]] = {device: {} for device in devices}
        for device, mine in out.items():
            for name in self._by_device.get(device, []):
                if name in inhibits:
                    mine[name] = inhibits[name]
        for target, rules in inhibits.items():
            device, colon, _ = target.partition(":")  # a module name has no colon
            if colon and device in out:
                out[device][target] = rules
        return out

    def interlocked(self, module: str) -> list[str]:
        return self.inhibits().get(module, [])

    def alarm_events(self, transitions: list[Transition]) -> list[AlarmEvent]:
        events: list[AlarmEvent] = []
        for t in transitions:
            if t.active:
                rule = t.rule
                events.append(
                    self.alarms.raise_(rule.name, rule.severity, t.message, t.ts, rule.latch, t.value)
                )
            else:
                events += self.alarms.clear(t.rule.name, t.message, t.ts)
        return events

    def restore(self, records: Any) -> list[Alarm]:
        """Take back the alarms saved before a restart; a rule whose alarm was active fires on.

        Such a rule clears only on fresh data within limits, and a latching one then still
        inhibits until its alarm is acknowledged, exactly as without the restart.
        Raises ``ValueError`` for a book that is not one.
        """
        alarms = self.alarms.restore(records)
        for alarm in alarms:
            if alarm.active:
                self.engine.restore_active(alarm.id, alarm.value)
        return alarms

    def book_unreadable(self, problem: str, now: float) -> list[AlarmEvent]:
        """The saved alarms are lost: hold HV off on every module until someone acknowledges."""
        message = f"the alarm book could not be read ({problem}): check the stand, then acknowledge"
        raised = self.alarms.raise_(BOOK_ALARM, "alarm", message, now)
        return [raised, *self.alarms.clear(BOOK_ALARM, message, now)]

    def rule_status(self, now: float) -> dict[str, Any]:
        notes = self.notes()
        rules = {
            rule.name: {
                "active": self.engine.states[rule.name].active,
                "value": self.engine.states[rule.name].value,
                "severity": rule.severity,
                "inhibits": rule.name in self.holding(),
                "note": notes.get(rule.name),
            }
            for rule in self.engine.rules
        }
        return {"rules": rules, "ts": now}

    def module_body(
        self, module: ModuleConfig, now: float, inhibits: dict[str, list[str]] | None = None
    ) -> dict[str, Any]:
        """``inhibits``: :meth:`inhibits`, when the caller has it (it costs O(modules) to make)."""
        inhibited = (inhibits if inhibits is not None else self.inhibits()).get(module.name)
        state, reason = module_state(
            module,
            self.channel(module.lv_ref),
            self.channel(module.hv_ref),
            bool(inhibited),
        )
        sequence, error = self.sequence.get(module.name, ("idle", None))
        return {
            "state": state.value,
            "reason": reason,
            "lv": module.lv,
            "hv": module.hv,
            "sequence": sequence,
            "error": error,
            "ts": now,
        }

    def module_names(self, devices: set[str] | None = None) -> list[str]:
        """Every module, or those with a channel on ``devices``."""
        return list(self.modules) if devices is None else self._on_devices(devices)

    def module_updates(
        self,
        now: float,
        force: bool = False,
        devices: set[str] | None = None,
        names: list[str] | None = None,
    ) -> list[tuple[str, dict[str, Any]]]:
        """Module status bodies that changed since last published (or all, with ``force``).

        ``devices``: look only at the modules on these devices (a status of one device
        changes only its own modules; rules and sequences change any, and pass None).
        ``names``: look only at these modules.
        """
        out = []
        inhibits = self.inhibits()  # once per call: per module it made a stand of N modules O(N²)
        for name in names if names is not None else self.module_names(devices):
            module = self.modules[name]
            body = self.module_body(module, now, inhibits)
            key = (body["state"], body["reason"], body["sequence"], body["error"])
            if force or key != self._published.get(name):
                self._published[name] = key
                body["seq"] = self._seq.get(name, 0)
                self._seq[name] = body["seq"] + 1
                out.append((name, body))
        return out

    def check_module_command(self, name: str, command: str) -> None:
        if command == "off":
            return
        rules = self.interlocked(name)
        if rules:
            labels = ", ".join(self.label(rule) for rule in rules)
            raise CommandRejected(Reason.INTERLOCKED, f"module {name} is interlocked by {labels}")
        body = self.module_body(self.modules[name], 0.0)
        if body["state"] == ModuleState.TRIPPED:
            raise CommandRejected(Reason.TRIPPED, f"module {name}: a channel tripped: reset it first")


def _inputs(entry: dict[str, Any], hv: bool) -> tuple[Any, ...]:
    """What :func:`module_state` reads of a channel's status."""
    return (entry.get("on"), entry.get("state"), entry.get("error"), entry.get("vmon") if hv else None)
