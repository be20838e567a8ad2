"""Tables of the stand's state for ``dcs status`` and ``dcs watch``.

The stand view has one line per device (a supply's channels summed up as counts, so a
stand of 160 devices stays readable in 80 columns), then the modules, the interlock
rules and the archive as tables of their own. ``--device NAME`` gives the channel table.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table

from trackerdcs.operator.client import DeviceView

SUPPLY_COLUMNS = ("on", "state", "vreq", "vmon", "imon", "ilimit")
ALARM = "bold red"
STATE_STYLE = {"on": "green", "off": "dim", "tripped": ALARM, "error": ALARM, "fault": ALARM}
MODULE_STYLE = {
    "HV_ON": "green",
    "OFF": "dim",
    "TRIPPED": "bold red",
    "INTERLOCKED": "bold red",
    "ERROR": "bold red",
}
MODULE_LINES = 20  # more modules than this are shown as counts, plus the ones not OFF or HV_ON
PREFIXES = ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"))


def fmt(value: Any, unit: str = "") -> str:
    """Format a reading, with an SI prefix for small electrical values (12.5 µA)."""
    if not isinstance(value, float | int) or isinstance(value, bool):
        return f"{value} {unit}".strip()
    if unit in ("A", "V") and value != 0:
        scale, prefix = next(((f, p) for f, p in PREFIXES if abs(value) >= f), PREFIXES[-1])
        return f"{value / scale:.4g} {prefix}{unit}"
    return f"{value:.4g} {unit}".strip()


def _age(status: Any) -> str:
    entry = status[0] if isinstance(status, list) and status else status
    ts = entry.get("ts") if isinstance(entry, dict) else None
    return f"{time.time() - ts:.1f} s" if isinstance(ts, int | float) else "-"


def _availability(view: DeviceView) -> str:
    colour = "green" if view.availability == "online" else "red"
    return f"[{colour}]{view.availability}[/]"


def _is_module(view: DeviceView) -> bool:
    return view.meta.get("kind") == "module" or (isinstance(view.status, dict) and "sequence" in view.status)


def _is_interlock(view: DeviceView) -> bool:
    return isinstance(view.status, dict) and isinstance(view.status.get("rules"), dict)


def _is_archive(view: DeviceView) -> bool:
    status = view.status
    return isinstance(status, list) and bool(status) and isinstance(status[0], dict) and "stored" in status[0]


def stand_view(views: dict[str, DeviceView]) -> RenderableType:
    """Everything: devices, modules, interlock rules and the archive."""
    modules = [v for v in views.values() if _is_module(v)]
    interlocks = [v for v in views.values() if _is_interlock(v)]
    archives = [v for v in views.values() if _is_archive(v)]
    others = {id(v) for v in (*modules, *interlocks, *archives)}
    devices = [v for v in views.values() if id(v) not in others]
    parts: list[RenderableType] = [devices_table(devices)]
    if modules:
        parts.append(modules_table(modules))
    for view in interlocks:
        parts.append(rules_table(view))
    for view in archives:
        parts.append(archive_line(view))
    return Group(*parts)


def devices_table(views: list[DeviceView]) -> Table:
    table = Table(title="Tracker DCS stand", title_justify="left", expand=False)
    table.add_column("device", no_wrap=True)
    table.add_column("avail.", no_wrap=True)
    table.add_column("channels / readings", overflow="fold")
    table.add_column("age", no_wrap=True, justify="right")
    for view in sorted(views, key=lambda v: v.name):
        table.add_row(view.name, _availability(view), _summary(view), _age(view.status))
    return table


def _summary(view: DeviceView) -> str:
    status = view.status
    if isinstance(status, list):
        return _channel_counts([e for e in status if isinstance(e, dict)], view.meta)
    if isinstance(status, dict) and "calibration" in status and "state" in status:
        return _daq_summary(status)
    if isinstance(status, dict):
        units = view.meta.get("units", {})
        return "  ".join(
            f"{k} {fmt(v, units.get(k, ''))}" for k, v in status.items() if k not in ("ts", "seq")
        )
    return "[dim]no status yet[/]"


def _daq_summary(status: dict[str, Any]) -> str:
    """A DAQ service: its state, and the run it is on (or last ran)."""
    state = str(status.get("state"))
    style = {"running": "green", "failed": ALARM, "aborted": "yellow"}.get(state, "")
    text = f"[{style}]{state}[/]" if style else state
    if status.get("calibration"):
        modules = ", ".join(str(m) for m in status.get("modules") or [])
        text += f": run {status.get('run') or '-'} {status['calibration']} on {modules or '-'}"
        if status.get("step"):
            text += f", step {status['step']}"
        if isinstance(status.get("elapsed"), int | float):
            text += f", {status['elapsed']:.0f} s"
        if status.get("error_class"):
            text += f", [{ALARM}]{status['error_class']}[/]"
    return text


def _channel_counts(entries: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    states = Counter(str(e.get("state", "?")) for e in entries)
    on = sum(1 for e in entries if e.get("on") == 1)
    parts = [f"{len(entries)} ch", f"[green]{on} on[/]" if on else "0 on"]
    parts += [
        f"[{STATE_STYLE.get(s, 'yellow')}]{n} {s}[/]"
        for s, n in sorted(states.items())
        if s not in ("on", "off")
    ]
    for key in ("vmon", "vreq"):  # what the outputs give, else what was asked of them
        values = [e[key] for e in entries if isinstance(e.get(key), int | float)]
        if values and max(values) > 0:
            unit = meta.get("units", {}).get(key, "V")
            low, high = min(values), max(values)
            span = fmt(high, unit) if low == high else f"{fmt(low)}–{fmt(high, unit)}"
            parts.append(f"{key} {span}")
            break
    return ", ".join(parts)


def channel_table(view: DeviceView) -> Table:
    """One line per channel of one device (``dcs status --device NAME``)."""
    table = Table(title=f"{view.name} ({view.availability}, {_age(view.status)} old)", title_justify="left")
    for column in ("ch", *SUPPLY_COLUMNS):
        table.add_column(column, no_wrap=True)
    units = view.meta.get("units", {})
    entries = view.status if isinstance(view.status, list) else []
    for entry in entries:
        cells = [fmt(entry.get("number", ""))]
        for key in SUPPLY_COLUMNS:
            value = entry.get(key, "")
            text = fmt(value, units.get(key, "")) if value != "" else ""
            style = STATE_STYLE.get(str(value)) if key == "state" else None
            cells.append(f"[{style}]{text}[/]" if style else text)
        table.add_row(*cells)
    if not entries and isinstance(view.status, dict):
        table = Table(title=table.title, title_justify="left")
        table.add_column("reading", no_wrap=True)
        table.add_column("value", no_wrap=True)
        for key, value in view.status.items():
            table.add_row(key, fmt(value, units.get(key, "")))
    return table


def modules_table(views: list[DeviceView]) -> Table:
    states = Counter(str(v.status.get("state")) for v in views if isinstance(v.status, dict))
    title = "Modules: " + ", ".join(f"{n} {s}" for s, n in states.most_common())
    table = Table(title=title, title_justify="left")
    for column in ("module", "state", "lv", "hv", "reason"):
        table.add_column(column, no_wrap=column != "reason", overflow="fold")
    shown = views if len(views) <= MODULE_LINES else [v for v in views if _state(v) not in ("OFF", "HV_ON")]
    for view in sorted(shown, key=lambda v: v.name)[:MODULE_LINES]:
        status = view.status if isinstance(view.status, dict) else {}
        state = _state(view)
        style = MODULE_STYLE.get(state, "yellow")
        reason = status.get("error") or status.get("reason") or ""
        table.add_row(
            view.name, f"[{style}]{state}[/]", str(status.get("lv", "")), str(status.get("hv", "")), reason
        )
    return table


def _state(view: DeviceView) -> str:
    return str(view.status.get("state")) if isinstance(view.status, dict) else "?"


def rules_table(view: DeviceView) -> Table:
    rules = view.status.get("rules", {}) if isinstance(view.status, dict) else {}
    active = sum(1 for r in rules.values() if isinstance(r, dict) and r.get("active"))
    table = Table(title=f"Interlock {view.name}: {active} of {len(rules)} rules active", title_justify="left")
    for column in ("rule", "state", "value", "severity"):
        table.add_column(column, no_wrap=True)
    for name, rule in rules.items():
        rule = rule if isinstance(rule, dict) else {}
        state = "[bold red]ACTIVE[/]" if rule.get("active") else "[green]clear[/]"
        value = rule.get("value")
        table.add_row(name, state, "-" if value is None else fmt(value), str(rule.get("severity", "")))
    return table


def archive_line(view: DeviceView) -> str:
    s = view.status[0]
    database = "[green]up[/]" if s.get("database_up") else "[bold red]down[/]"
    full = ", [bold red]spool full[/]" if s.get("spool_full") else ""
    return (
        f"Archive {s.get('backend', '?')}: database {database}{full}; received {s.get('received')}, "
        f"stored {s.get('stored')}, gaps {s.get('gaps')}, pending {s.get('pending_segments')}"
    )
