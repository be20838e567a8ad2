"""Tracker modules: their state, and which channel commands their sequencing forbids.

A module is powered by one LV and one HV channel. HV may go on only while LV is on;
LV may go off only while HV is down. The same checks guard raw channel commands
(`/hv/cmd/switch/0 on`) in the device services and module commands in the safety
service, so there is no way around them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from trackerdcs.contract.payloads import CommandRejected, Reason, parse_number, parse_switch
from trackerdcs.safety.config import ChannelRef, ModuleConfig

ChannelStatus = Mapping[str, Any]


class ModuleState(StrEnum):
    OFF = "OFF"
    LV_ON = "LV_ON"
    HV_RAMPING = "HV_RAMPING"
    HV_ON = "HV_ON"
    TRIPPED = "TRIPPED"
    INTERLOCKED = "INTERLOCKED"
    ERROR = "ERROR"


def hv_is_down(hv: ChannelStatus, module: ModuleConfig) -> bool:
    """Off and measured below the threshold. A channel in fault has no vmon: not down."""
    vmon = hv.get("vmon")
    if not isinstance(vmon, int | float) or hv.get("state") == "error":
        return False
    return hv.get("on") == 0 and float(vmon) < module.hv_off_below


def lv_is_on(lv: ChannelStatus) -> bool:
    return lv.get("on") == 1 and lv.get("state") == "on"


def module_state(
    module: ModuleConfig, lv: ChannelStatus | None, hv: ChannelStatus | None, interlocked: bool
) -> tuple[ModuleState, str]:
    """The module's state and a one-line reason, from its channels' status."""
    if lv is None or hv is None:
        missing = module.lv if lv is None else module.hv
        return ModuleState.ERROR, f"no status from {missing}"
    if "tripped" in (lv.get("state"), hv.get("state")):
        return ModuleState.TRIPPED, "a channel tripped"
    for role, channel in (("LV", lv), ("HV", hv)):
        if channel.get("state") == "error":
            return ModuleState.ERROR, f"{role} in fault: {channel.get('error', 'no answer')}"
    if not hv_is_down(hv, module) and not lv_is_on(lv):
        return ModuleState.ERROR, "HV is up while LV is not on"
    if interlocked:
        return ModuleState.INTERLOCKED, "an interlock rule holds"
    if hv.get("state") in ("ramping_up", "ramping_down"):
        return ModuleState.HV_RAMPING, f"HV at {hv.get('vmon', 0):.1f} V"
    if hv.get("on") == 1:
        return ModuleState.HV_ON, f"HV at {hv.get('vmon', 0):.1f} V"
    if lv.get("on") == 1:
        return ModuleState.LV_ON, "LV on, HV off"
    return ModuleState.OFF, "off"


@dataclass(frozen=True)
class ModuleMap:
    """Which module each channel belongs to.

    Looked up by channel in a dict: a device's guard checks every command against it,
    and a scan of 5,120 modules per check made an interlock's 64 switch-offs per
    device take a second.
    """

    modules: tuple[ModuleConfig, ...]
    _hv: dict[ChannelRef, ModuleConfig] = field(init=False, repr=False, compare=False)
    _lv: dict[ChannelRef, ModuleConfig] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # the first module of a channel wins, as the scan it replaces found it first
        object.__setattr__(self, "_hv", _first_by(self.modules, lambda m: m.hv_ref))
        object.__setattr__(self, "_lv", _first_by(self.modules, lambda m: m.lv_ref))

    def by_hv(self, ref: ChannelRef) -> ModuleConfig | None:
        return self._hv.get(ref)

    def by_lv(self, ref: ChannelRef) -> ModuleConfig | None:
        return self._lv.get(ref)

    def partners(self, device: str) -> set[ChannelRef]:
        """The channels whose status guards commands to ``device``."""
        out = set()
        for m in self.modules:
            if m.hv_ref.device == device:
                out.add(m.lv_ref)
            if m.lv_ref.device == device:
                out.add(m.hv_ref)
        return out


def _first_by(
    modules: tuple[ModuleConfig, ...], key: Callable[[ModuleConfig], ChannelRef]
) -> dict[ChannelRef, ModuleConfig]:
    out: dict[ChannelRef, ModuleConfig] = {}
    for module in modules:
        out.setdefault(key(module), module)
    return out


def check_channel_command(
    modules: ModuleMap,
    ref: ChannelRef,
    command: str,
    text: str,
    status: Mapping[ChannelRef, ChannelStatus],
    inhibited: Mapping[str, list[str]],
) -> None:
    """Raise :class:`CommandRejected` if sequencing or an interlock forbids the command.

    ``inhibited`` maps a module name (or a channel ``dev:ch``) to the rules that
    inhibit it; ``status`` holds the last status of every partner channel.
    """
    hv_module = modules.by_hv(ref)
    if hv_module is not None:
        _check_hv(hv_module, ref, command, text, status, inhibited.get(hv_module.name, []))
    if command == "switch" and _safe_switch(text, on=False):
        check_switch_off(modules, ref, status)
    rules = inhibited.get(str(ref), [])
    if rules and command == "switch" and _safe_switch(text, on=True):
        raise CommandRejected(Reason.INTERLOCKED, f"{ref} is inhibited by {', '.join(rules)}")


def check_switch_off(modules: ModuleMap, ref: ChannelRef, status: Mapping[ChannelRef, ChannelStatus]) -> None:
    """Raise :class:`CommandRejected` if ``ref`` may not be switched off.

    Switching off is refused only to a module's LV channel while its HV is not down:
    an interlock or a lost heartbeat never stands in the way of switching off.
    """
    lv_module = modules.by_lv(ref)
    if lv_module is not None:
        _check_lv_off(lv_module, status.get(lv_module.hv_ref))


def _check_hv(
    module: ModuleConfig,
    ref: ChannelRef,
    command: str,
    text: str,
    status: Mapping[ChannelRef, ChannelStatus],
    rules: list[str],
) -> None:
    raising = _raises_hv(command, text, status.get(ref))
    if raising and rules:
        raise CommandRejected(Reason.INTERLOCKED, f"module {module.name}: HV inhibited by {', '.join(rules)}")
    if command == "switch" and _safe_switch(text, on=True):
        lv = status.get(module.lv_ref)
        if lv is None or not lv_is_on(lv):
            state = "unknown" if lv is None else f"on={lv.get('on')}, state={lv.get('state')}"
            raise CommandRejected(
                Reason.SEQUENCE,
                f"module {module.name}: HV may go on only when LV {module.lv} is on ({state})",
            )


def _raises_hv(command: str, text: str, current: ChannelStatus | None) -> bool:
    """Whether the command would switch HV on or raise its voltage."""
    if command == "switch":
        return _safe_switch(text, on=True)
    if command == "setv":
        try:
            value = parse_number(text)
        except CommandRejected:
            return False  # the device rejects it anyway, with the precise reason
        return current is None or value > float(current.get("vreq", 0.0))
    return False


def _check_lv_off(module: ModuleConfig, hv: ChannelStatus | None) -> None:
    if hv is None or not hv_is_down(hv, module):
        measured = hv is not None and isinstance(hv.get("vmon"), int | float) and hv.get("state") != "error"
        vmon = f"{float(hv['vmon']):.1f} V" if measured and hv is not None else "unknown"
        raise CommandRejected(
            Reason.SEQUENCE,
            f"module {module.name}: LV may go off only when HV {module.hv} is down (HV at {vmon}); "
            f"use `dcs module off {module.name}`",
        )


def _safe_switch(text: str, on: bool) -> bool:
    """Whether ``text`` asks for ``on`` (a bad payload is left to the device to reject)."""
    try:
        return parse_switch(text) is on
    except CommandRejected:
        return False
