"""The shipped CAEN + Julabo example stand loads, validates and builds every device."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from tests.instruments.caen import CaenN1470Emulator
from tests.instruments.pty import PtyInstrument
from trackerdcs.devices.clock import SystemClock
from trackerdcs.devices.registry import create_device
from trackerdcs.stand import PASSWORD_ENV, load_stand


def stand_path() -> Path:
    return Path(str(resources.files("trackerdcs") / "stands" / "caen-julabo-stand.toml"))


def test_caen_julabo_stand_loads_with_modules_and_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    stand = load_stand(stand_path())
    assert stand.name == "caen-julabo"
    assert [(d.name, d.kind, d.driver) for d in stand.devices] == [
        ("hv", "hv", "caen_n1470"),
        ("lv", "lv", "sim"),
        ("chiller", "chiller", "julabo"),
        ("env", "env", "dht"),
    ]
    assert [(m.name, m.lv, m.hv) for m in stand.modules] == [("S1", "lv:0", "hv:0"), ("S2", "lv:1", "hv:1")]
    assert {"dewpoint", "env_stale", "chiller_alarm"} <= {rule.name for rule in stand.rules}
    assert stand.has_safety


def test_caen_julabo_stand_devices_build_against_emulators(tmp_path: Path) -> None:
    """Each device builds from its entry; only the CAEN opens its port at start (to configure it)."""
    stand = load_stand(stand_path())
    with PtyInstrument(CaenN1470Emulator(), tmp_path) as pty:
        for config in stand.devices:
            if config.driver == "caen_n1470":
                config.resource = pty.resource
            device = create_device(config, SystemClock())  # julabo and dht open on first use
            assert device.meta().driver == config.driver
            device.close()
