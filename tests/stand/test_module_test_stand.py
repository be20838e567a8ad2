"""The example module test stand (HMP4040 + Keithley 2410 + DHT) loads and builds."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from trackerdcs.devices.clock import SystemClock
from trackerdcs.devices.registry import create_device
from trackerdcs.devices.supply import PowerSupply
from trackerdcs.stand import load_stand

STAND = Path(str(resources.files("trackerdcs") / "stands" / "module-test-stand.toml"))


def test_the_module_test_stand_with_hmp4040_and_keithley_loads() -> None:
    stand = load_stand(STAND)
    assert [(d.name, d.kind, d.driver) for d in stand.devices] == [
        ("lv", "lv", "hmp4040"),
        ("hv", "hv", "keithley2410"),
        ("env", "env", "dht"),
    ]
    assert stand.device("lv").resource == "TCPIP::192.168.1.202::10002::SOCKET"
    assert stand.device("lv").channels == 4
    assert stand.device("env").resource == "/dev/ttyACM0"
    assert [(m.name, m.lv, m.hv) for m in stand.modules] == [("M1", "lv:0", "hv:0")]
    assert {rule.name for rule in stand.rules} == {"dewpoint", "overtemperature", "env_stale"}


def test_the_module_test_stand_hmp4040_and_keithley_build_without_touching_the_network() -> None:
    stand = load_stand(STAND)
    for name in ("lv", "hv"):
        device = create_device(stand.device(name), SystemClock())  # opens nothing: the first read does
        assert isinstance(device, PowerSupply)
        assert device.meta().driver == stand.device(name).driver
        device.close()
