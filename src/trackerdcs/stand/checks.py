"""Cross-checks of a stand file's modules and rules against its devices."""

from __future__ import annotations

from collections.abc import Sequence

from trackerdcs.contract.topics import ARCHIVER
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.safety.config import ChannelRef, ModuleConfig, RuleConfig, parse_signal


def check_safety(
    device_list: Sequence[DeviceConfig],
    modules: Sequence[ModuleConfig],
    rules: Sequence[RuleConfig],
    interlock: str,
) -> None:
    """Raise ``ValueError`` naming the key of the first inconsistency."""
    devices = {d.name: d for d in device_list}
    names = set(devices)
    module_names = {m.name for m in modules}
    clashes = (names & module_names) | ({interlock} & (names | module_names))
    if clashes:
        raise ValueError(f"names used twice (devices, modules, interlock): {', '.join(sorted(clashes))}")
    for i, module in enumerate(modules):
        for role in ("lv", "hv"):
            _check_channel(
                devices, ChannelRef.parse(getattr(module, role)), f"modules[{i}] ({module.name}).{role}", role
            )
    watchable = names | {ARCHIVER}  # rules may watch the archiver's status (spool_full)
    for i, rule in enumerate(rules):
        where = f"rules[{i}] ({rule.name})"
        if rule.signal and parse_signal(rule.signal).device not in watchable:
            raise ValueError(f"{where}.signal: no device {parse_signal(rule.signal).device!r}")
        if rule.stale and rule.stale not in watchable:
            raise ValueError(f"{where}.stale: no device {rule.stale!r}")
        for key in ("hv_off", "inhibit_hv"):
            unknown = [m for m in getattr(rule, key) if m != "*" and m not in module_names]
            if unknown:
                raise ValueError(f"{where}.{key}: no module {', '.join(unknown)}")
        for ref in rule.switch_off:
            _check_channel(devices, ChannelRef.parse(ref), f"{where}.switch_off", None)


def _check_channel(devices: dict[str, DeviceConfig], ref: ChannelRef, key: str, kind: str | None) -> None:
    device = devices.get(ref.device)
    if device is None:
        raise ValueError(f"{key}: no device {ref.device!r}")
    if kind is not None and device.kind != kind:
        raise ValueError(f"{key}: {ref.device} is a {device.kind} device, not {kind}")
    if not 0 <= ref.channel < device.channels:
        raise ValueError(f"{key}: {ref.device} has no channel {ref.channel}")
