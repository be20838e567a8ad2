"""What a device service checks before it obeys: module sequencing, interlock inhibits
and the safety service's heartbeat.

The guard listens to the status of the channels that share a module with this
device's channels, and to the interlock's inhibit list and heartbeat. What it does
not know counts as unsafe: an unknown partner state, or no inhibit list yet when the
stand has interlock rules, refuses HV on.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from trackerdcs.contract.payloads import CommandRejected, loads
from trackerdcs.contract.topics import Action, DeviceTopics, Inbound, InterlockTopics
from trackerdcs.safety.config import ChannelRef
from trackerdcs.safety.modules import ModuleMap, check_channel_command, check_switch_off

log = logging.getLogger(__name__)


class Guard:
    """Sequencing, inhibits and the heartbeat watchdog for one device."""

    def __init__(
        self,
        device: str,
        modules: ModuleMap,
        interlock: InterlockTopics | None,
        require_heartbeat: float | None,
        clock: Callable[[], float],
    ) -> None:
        self.device = device
        self.modules = modules
        self.interlock = interlock
        self.require_heartbeat = require_heartbeat
        self.clock = clock
        self.partners = modules.partners(device)
        self.status: dict[ChannelRef, dict[str, Any]] = {}
        # The newest status of each device, read only when a command needs it: a supply's
        # statuses arrive every period, commands seldom (a 64-channel status is 11 KB of JSON).
        self._unread: dict[str, bytes | list[Any]] = {}
        self.inhibited: dict[str, list[str]] | None = None
        self.started = clock()
        self.last_heartbeat: float | None = None
        self._topics = set(self.topics()) | {DeviceTopics(device).status}

    def topics(self) -> list[str]:
        """What to subscribe to."""
        out = sorted({DeviceTopics(ref.device).status for ref in self.partners})
        if self.interlock is not None:
            out.append(self.interlock.inhibit_of(self.device))  # only what concerns this device
            if self.require_heartbeat:
                out.append(self.interlock.heartbeat)
        return out

    def on_message(self, topic: str, payload: bytes) -> None:
        if topic not in self._topics:
            # Only what we subscribed to: the embedded amqtt broker has been seen to
            # deliver other clients' topics when many connect at once.
            log.debug("%s: ignoring %s", self.device, topic)
            return
        try:
            if self.interlock is not None and topic == self.interlock.inhibit_of(self.device):
                self.inhibited = inhibit_list(payload)
                return
            if self.interlock is not None and topic == self.interlock.heartbeat:
                loads(payload)
                self.last_heartbeat = self.clock()
                return
        except ValueError:
            log.warning("%s: unparsable %s ignored", self.device, topic)
            return
        self._unread[topic.split("/")[1]] = payload

    def _read_statuses(self) -> None:
        for device, payload in self._unread.items():
            try:
                data = loads(payload) if isinstance(payload, bytes) else payload
            except ValueError:
                log.warning("%s: unparsable status of %s ignored", self.device, device)
                continue
            if isinstance(data, list):
                self._record(device, data)
        self._unread.clear()

    def _record(self, device: str, entries: list[Any]) -> None:
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("number"), int):
                self.status[ChannelRef(device, entry["number"])] = entry

    def own_status(self, body: Any) -> None:
        """Record this device's own channels (for 'is this a voltage increase?').

        Taken as it is, and looked at only when a command comes: it used to go through JSON
        and back, 0.5 ms a status at 64 channels. A sample's body is never changed once made.
        """
        if isinstance(body, list):
            self._unread[self.device] = body

    def heartbeat_lost(self) -> bool:
        if not self.require_heartbeat:
            return False
        last = self.last_heartbeat if self.last_heartbeat is not None else self.started
        return self.clock() - last > self.require_heartbeat

    def check(self, inbound: Inbound, text: str) -> None:
        """Raise :class:`CommandRejected` when the command must not be carried out."""
        if inbound.action is not Action.CMD or inbound.channel is None:
            return
        self._read_statuses()
        ref = ChannelRef(self.device, inbound.channel)
        inhibited = self._inhibits(ref)
        check_channel_command(self.modules, ref, inbound.name, text, self.status, inhibited)

    def refused_offs(self, channels: list[int]) -> dict[int, CommandRejected]:
        """The channels of ``channels`` that may not be switched off, and why.

        A trip switches a device's 64 channels off in one command: judging each as a
        command of its own took half a millisecond a device, ahead of its reply.
        """
        self._read_statuses()
        refused = {}
        for channel in channels:
            try:
                check_switch_off(self.modules, ChannelRef(self.device, channel), self.status)
            except CommandRejected as exc:
                refused[channel] = exc
        return refused

    def _inhibits(self, ref: ChannelRef) -> dict[str, list[str]]:
        """The inhibit list, plus what not knowing the interlock's state implies.

        Copied only when something is added: it names every module of the stand.
        """
        module = self.modules.by_hv(ref)
        reasons = []
        if module is not None and self.interlock is not None and self.inhibited is None:
            reasons.append("interlock state unknown (is the safety service running?)")
        if self.heartbeat_lost():
            reasons.append(f"no interlock heartbeat for {self.require_heartbeat:g} s")
        if not reasons:
            return self.inhibited or {}
        key = module.name if module is not None else str(ref)
        inhibited = dict(self.inhibited or {})
        inhibited[key] = inhibited.get(key, []) + reasons
        return inhibited


@functools.lru_cache(maxsize=4)
def inhibit_list(payload: bytes) -> dict[str, list[str]] | None:
    """The inhibit list of a payload, read once per process (shared: never changed in place).

    Every device of a host gets the same retained list, which names every module of the
    stand: 20 devices reading 5,120 entries each held a switch-off arriving behind it
    for tens of milliseconds. Raises ``ValueError`` for a payload that is not JSON.
    """
    return _labelled(loads(payload))


def _labelled(data: Any) -> dict[str, list[str]] | None:
    """The inhibit list, each rule with why it still holds when it is not firing.

    A list we cannot read is no list: HV on stays refused, as before the first one.
    """
    inhibit = data.get("inhibit") if isinstance(data, dict) else None
    if not isinstance(inhibit, dict) or not all(isinstance(v, list) for v in inhibit.values()):
        log.warning("unreadable interlock inhibit list: HV on stays refused")
        return None
    notes = data.get("notes")
    notes = notes if isinstance(notes, dict) else {}
    return {
        str(target): [f"{rule} ({notes[rule]})" if notes.get(rule) else str(rule) for rule in rules]
        for target, rules in inhibit.items()
    }
