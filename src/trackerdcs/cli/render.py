"""Tables of the stand's state for ``dcs status`` and ``dcs watch``."""

from __future__ import annotations

import time
from typing import Any

from rich.table import Table

from trackerdcs.operator.client import DeviceView

SUPPLY_COLUMNS = ("on", "state", "vreq", "vmon", "imon", "ilimit")
STATE_STYLE = {"on": "green", "off": "dim", "tripped": "bold red", "error": "bold red"}


PREFIXES = ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"))


def _fmt(value: Any, unit: str = "") -> str:
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


def stand_table(views: dict[str, DeviceView]) -> Table:
    table = Table(title="Tracker DCS stand", title_justify="left")
    for column in ("device", "availability", "ch", *SUPPLY_COLUMNS, "readings", "age"):
        table.add_column(column)
    for view in views.values():
        avail = (
            f"[green]{view.availability}[/]"
            if view.availability == "online"
            else f"[red]{view.availability}[/]"
        )
        if isinstance(view.status, list):
            for entry in view.status:
                table.add_row(view.name, avail, *_channel_cells(entry, view.meta), "", _age(view.status))
        else:
            table.add_row(
                view.name, avail, "", *[""] * len(SUPPLY_COLUMNS), _readings(view), _age(view.status)
            )
    return table


def _channel_cells(entry: dict[str, Any], meta: dict[str, Any]) -> list[str]:
    units = meta.get("units", {})
    cells = [_fmt(entry.get("number", ""))]
    for key in SUPPLY_COLUMNS:
        value = entry.get(key, "")
        text = _fmt(value, units.get(key, "")) if value != "" else ""
        style = STATE_STYLE.get(str(value)) if key == "state" else None
        cells.append(f"[{style}]{text}[/]" if style else text)
    return cells


def _readings(view: DeviceView) -> str:
    if not isinstance(view.status, dict):
        return ""
    units = view.meta.get("units", {})
    return "  ".join(
        f"{k}={_fmt(v, units.get(k, ''))}" for k, v in view.status.items() if k not in ("ts", "seq")
    )
