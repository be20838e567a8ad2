"""`dcs status` and `dcs watch` stay readable in 80 columns with 160 devices and 5,120 modules."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console, RenderableType

from trackerdcs.cli.render import MODULE_LINES, channel_table, stand_view
from trackerdcs.operator.client import DeviceView

UNITS = {"vreq": "V", "vmon": "V", "imon": "A", "ilimit": "A"}


def supply(
    name: str, channels: int, on: frozenset[int] = frozenset(), tripped: frozenset[int] = frozenset()
) -> DeviceView:
    now = time.time()
    status = [
        {
            "number": c,
            "on": int(c in on),
            "vreq": 300.0 if c in on else 0.0,
            "vmon": 300.0 if c in on else 0.0,
            "imon": 1e-6,
            "ilimit": 1e-4,
            "state": "tripped" if c in tripped else ("on" if c in on else "off"),
            "ts": now,
            "seq": 1,
        }
        for c in range(channels)
    ]
    return DeviceView(name, "online", status, {"kind": "hv", "units": UNITS})


def module(name: str, state: str) -> DeviceView:
    status = {"state": state, "reason": "why", "lv": "lv:0", "hv": "hv:0", "sequence": "idle", "error": None}
    return DeviceView(name, "online", status | {"ts": time.time(), "seq": 1}, {"kind": "module"})


def render(thing: RenderableType, width: int = 80) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(thing)
    return console.export_text().splitlines()


def big_stand() -> dict[str, Any]:
    views: dict[str, DeviceView] = {}
    for i in range(160):
        name = f"hv_crate_{i:03d}" if i % 2 else f"lv_crate_{i:03d}"
        views[name] = supply(name, 64, on=frozenset({0, 1, 2}), tripped=frozenset({5} if i == 7 else ()))
    for i in range(5120):
        views[f"M{i:04d}"] = module(f"M{i:04d}", "TRIPPED" if i == 42 else "OFF")
    rules = {"dewpoint": {"active": True, "value": 1.25, "severity": "alarm"}}
    views["interlock"] = DeviceView("interlock", "online", {"rules": rules, "ts": time.time()}, {})
    archive = [
        {"number": 0, "received": 10, "stored": 10, "gaps": 0, "pending_segments": 0, "backend": "sqlite"}
    ]
    views["archive"] = DeviceView("archive", "online", archive, {})
    return views


def test_one_line_per_device_with_full_names_in_80_columns() -> None:
    lines = render(stand_view(big_stand()))
    assert max(len(line) for line in lines) <= 80
    for i in range(160):
        name = f"hv_crate_{i:03d}" if i % 2 else f"lv_crate_{i:03d}"
        rows = [line for line in lines if name in line]
        assert len(rows) == 1, (name, rows)
        assert "64 ch" in rows[0] and "3 on" in rows[0]
    tripped = next(line for line in lines if "hv_crate_007" in line)
    assert "1 tripped" in tripped


def test_modules_are_counted_and_only_the_unusual_listed() -> None:
    lines = render(stand_view(big_stand()))
    text = "\n".join(lines)
    assert "Modules: 5119 OFF, 1 TRIPPED" in text
    assert any("M0042" in line and "TRIPPED" in line for line in lines)
    assert not any("M0041" in line for line in lines)
    assert len(lines) < 160 + MODULE_LINES + 40


def test_rules_and_archive_are_tables_not_dictionaries() -> None:
    text = "\n".join(render(stand_view(big_stand())))
    assert "{'" not in text and '{"' not in text
    assert "1 of 1 rules active" in text
    assert any("dewpoint" in line and "ACTIVE" in line and "1.25" in line for line in text.splitlines())
    assert "received 10, stored 10, gaps 0" in text


def test_device_option_gives_the_channel_table() -> None:
    lines = render(channel_table(supply("hv_crate_001", 64, on=frozenset({3}))))
    rows = [line for line in lines if line.startswith("│")]
    assert len(rows) == 64
    assert "300 V" in rows[3] and "on" in rows[3]


def test_the_daq_is_one_readable_line() -> None:
    status = {"state": "running", "run": 7, "calibration": "pedenoise", "modules": ["M1", "M2"]}
    status |= {"step": "PedeNoise", "elapsed": 12.3, "error_class": None, "ts": time.time(), "seq": 1}
    lines = render(stand_view({"daq": DeviceView("daq", "online", status, {"kind": "daq"})}), width=120)
    row = next(line for line in lines if "daq" in line)
    assert "running: run 7 pedenoise on M1, M2, step PedeNoise, 12 s" in row
    assert "{" not in "\n".join(lines) and "None" not in "\n".join(lines)
