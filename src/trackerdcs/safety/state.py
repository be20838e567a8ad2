"""What the safety service knows and decides, without any I/O."""

from __future__ import annotations

from typing import Any

from trackerdcs.contract.payloads import CommandRejected, Reason
from trackerdcs.safety.alarms import AlarmBook, AlarmEvent
from trackerdcs.safety.config import ChannelRef, ModuleConfig, RuleConfig
from trackerdcs.safety.modules import ModuleState, module_state
from trackerdcs.safety.rules import RuleEngine, Transition


class SafetyState:
    """Channel status, rule states, alarms and module states of one stand."""

    def __init__(self, rules: list[RuleConfig], modules: list[ModuleConfig], start: float) -> None:
        self.engine = RuleEngine(rules, start)
        self.alarms = AlarmBook()
        self.modules = {m.name: m for m in modules}
        self.channels: dict[ChannelRef, dict[str, Any]] = {}
        self.sequence: dict[str, tuple[str, str | None]] = {}
        self._published: dict[str, tuple[Any, ...]] = {}
        self._seq: dict[str, int] = {}

    def record_status(self, device: str, payload: Any) -> None:
        if isinstance(payload, list):
            for entry in payload:
                if isinstance(entry, dict) and isinstance(entry.get("number"), int):
                    self.channels[ChannelRef(device, entry["number"])] = entry

    def channel(self, ref: ChannelRef) -> dict[str, Any] | None:
        return self.channels.get(ref)

    def _modules(self, names: list[str]) -> list[ModuleConfig]:
        return list(self.modules.values()) if "*" in names else [self.modules[n] for n in names]

    def off_targets(self, rule: RuleConfig) -> list[ChannelRef]:
        """The channels a firing rule switches off."""
        refs = [m.hv_ref for m in self._modules(rule.hv_off)]
        return refs + [ChannelRef.parse(r) for r in rule.switch_off]

    def inhibits(self) -> dict[str, list[str]]:
        """Module names and channels (``dev:ch``) that active rules inhibit, with the rules.

        A rule that switches HV off also inhibits it, so it cannot be switched straight
        back on while the condition holds.
        """
        out: dict[str, list[str]] = {}
        for rule in self.engine.active():
            channels = [str(ChannelRef.parse(ref)) for ref in rule.switch_off]  # 'relay:01' is relay:1
            targets = [m.name for m in self._modules(rule.hv_off + rule.inhibit_hv)] + channels
            for target in dict.fromkeys(targets):
                out.setdefault(target, []).append(rule.name)
        return out

    def interlocked(self, module: str) -> list[str]:
        return self.inhibits().get(module, [])

    def alarm_events(self, transitions: list[Transition]) -> list[AlarmEvent]:
        events: list[AlarmEvent] = []
        for t in transitions:
            if t.active:
                events.append(self.alarms.raise_(t.rule.name, t.rule.severity, t.message, t.ts, t.rule.latch))
            else:
                events += self.alarms.clear(t.rule.name, t.message, t.ts)
        return events

    def rule_status(self, now: float) -> dict[str, Any]:
        rules = {
            rule.name: {
                "active": self.engine.states[rule.name].active,
                "value": self.engine.states[rule.name].value,
                "severity": rule.severity,
            }
            for rule in self.engine.rules
        }
        return {"rules": rules, "ts": now}

    def module_body(self, module: ModuleConfig, now: float) -> dict[str, Any]:
        state, reason = module_state(
            module,
            self.channel(module.lv_ref),
            self.channel(module.hv_ref),
            bool(self.interlocked(module.name)),
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

    def module_updates(self, now: float, force: bool = False) -> list[tuple[str, dict[str, Any]]]:
        """Module status bodies that changed since last published (or all, with ``force``)."""
        out = []
        for name, module in self.modules.items():
            body = self.module_body(module, now)
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
            raise CommandRejected(Reason.INTERLOCKED, f"module {name} is interlocked by {', '.join(rules)}")
        body = self.module_body(self.modules[name], 0.0)
        if body["state"] == ModuleState.TRIPPED:
            raise CommandRejected(Reason.TRIPPED, f"module {name}: a channel tripped: reset it first")
