"""The stand's Grafana dashboard, generated from the stand file.

Queries follow the archive's schema (:mod:`trackerdcs.archive.points`): measurement =
device, tag ``number`` = channel, one field per status key; module states in the
module's measurement; rule states (``rules.<name>.active``) in the interlock's; the
alarm history in ``events``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trackerdcs.archive.points import EVENTS
from trackerdcs.stand import Stand

DATASOURCE_UID = "dcs-influxdb"
DASHBOARD_UID = "dcs-stand"
WIDTH, HEIGHT = 12, 8


@dataclass(frozen=True)
class Series:
    """One field of one measurement, plotted per channel when ``per_channel``."""

    field: str
    unit: str
    per_channel: bool = True


# What each kind of device publishes that is worth a plot (see each device's units()).
KIND_SERIES: dict[str, tuple[Series, ...]] = {
    "hv": (Series("vmon", "volt"), Series("vreq", "volt"), Series("imon", "amp")),
    "lv": (Series("vmon", "volt"), Series("vreq", "volt"), Series("imon", "amp")),
    "env": (
        Series("temperature", "celsius", False),
        Series("humidity", "humidity", False),
        Series("dewpoint", "celsius", False),
    ),
    "chiller": (Series("temperature", "celsius", False), Series("setpoint", "celsius", False)),
    "relay": (Series("on", "bool_on_off"),),
    "dummy": (Series("meas1", "short", False), Series("meas2", "short", False)),
}


def _ident(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'


def series_query(measurement: str, s: Series) -> str:
    group = "time($__interval), " + _ident("number") if s.per_channel else "time($__interval)"
    return (
        f"SELECT mean({_ident(s.field)}) AS {_ident(s.field)} FROM {_ident(measurement)} "
        f"WHERE $timeFilter GROUP BY {group} fill(none)"
    )


def _target(ref: str, query: str, fmt: str = "time_series", alias: str = "") -> dict[str, Any]:
    return {
        "refId": ref,
        "datasource": {"type": "influxdb", "uid": DATASOURCE_UID},
        "query": query,
        "rawQuery": True,
        "resultFormat": fmt,
        "alias": alias,
    }


def _refs() -> Any:
    n = 0
    while True:
        yield chr(ord("A") + n % 26) + ("" if n < 26 else str(n // 26))
        n += 1


def device_panel(device: str, kind: str) -> dict[str, Any] | None:
    series = KIND_SERIES.get(kind, ())
    if not series:
        return None
    refs = _refs()
    targets = [
        _target(next(refs), series_query(device, s), alias="$col ch$tag_number" if s.per_channel else "$col")
        for s in series
    ]
    overrides = [
        {
            "matcher": {"id": "byRegexp", "options": f"^{s.field}.*"},
            "properties": [{"id": "unit", "value": s.unit}]
            + ([{"id": "custom.axisPlacement", "value": "right"}] if s.unit != series[0].unit else []),
        }
        for s in series
    ]
    return _panel("timeseries", f"{device} ({kind})", targets, {"defaults": {}, "overrides": overrides})


def module_panel(stand: Stand) -> dict[str, Any] | None:
    if not stand.modules:
        return None
    refs = _refs()
    targets = [
        _target(
            next(refs),
            f'SELECT last("state") AS {_ident(m.name)} FROM {_ident(m.name)} WHERE $timeFilter',
            "table",
        )
        for m in stand.modules
    ]
    options = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "/.*/", "values": False}}
    return _panel("stat", "Module states", targets, {"defaults": {}, "overrides": []}, options)


def alarm_panels(stand: Stand) -> list[dict[str, Any]]:
    if not stand.rules:
        return []
    lock = stand.interlock.name
    refs = _refs()
    active = [
        _target(
            next(refs),
            f'SELECT last("rules.{r.name}.active") AS {_ident(r.name)} FROM {_ident(lock)} WHERE $timeFilter',
        )
        for r in stand.rules
    ]
    mapping = [
        {
            "type": "value",
            "options": {"0": {"text": "ok", "color": "green"}, "1": {"text": "ACTIVE", "color": "red"}},
        }
    ]
    rules = _panel(
        "stat", "Active alarms (rules)", active, {"defaults": {"mappings": mapping}, "overrides": []}
    )
    history = _target(
        "A",
        'SELECT "event", "alarm.id", "alarm.severity", "alarm.message", "source" '
        f"FROM {_ident(EVENTS)} WHERE $timeFilter ORDER BY time DESC LIMIT 100",
        "table",
    )
    return [rules, _panel("table", "Alarm events", [history], {"defaults": {}, "overrides": []})]


def availability_panel(stand: Stand) -> dict[str, Any]:
    query = (
        'SELECT last("online") FROM "availability" WHERE $timeFilter '
        'GROUP BY time($__interval), "device" fill(previous)'
    )
    target = _target("A", query, alias="$tag_device")
    return _panel("state-timeline", "Availability", [target], {"defaults": {}, "overrides": []})


def _panel(
    kind: str,
    title: str,
    targets: list[dict[str, Any]],
    field_config: dict[str, Any],
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "type": kind,
        "title": title,
        "datasource": {"type": "influxdb", "uid": DATASOURCE_UID},
        "targets": targets,
        "fieldConfig": field_config,
        "options": options or {},
    }


def dashboard(stand: Stand) -> dict[str, Any]:
    """The whole dashboard: devices first, then modules, alarms and availability."""
    panels = [p for d in stand.devices if (p := device_panel(d.name, d.kind)) is not None]
    panels += [p for p in [module_panel(stand)] if p is not None]
    panels += alarm_panels(stand)
    panels.append(availability_panel(stand))
    for i, panel in enumerate(panels):
        panel["id"] = i + 1
        panel["gridPos"] = {"x": (i % 2) * WIDTH, "y": (i // 2) * HEIGHT, "w": WIDTH, "h": HEIGHT}
    return {
        "uid": DASHBOARD_UID,
        "title": f"Stand {stand.name}",
        "tags": ["trackerdcs"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "5s",
        "time": {"from": "now-1h", "to": "now"},
        "panels": panels,
    }
