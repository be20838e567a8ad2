"""Broker URLs and the mosquitto config that dcs up writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from trackerdcs.bus.broker import mosquitto_config
from trackerdcs.bus.settings import BrokerSettings, BrokerUrlError

HV = '[[devices]]\nname = "hv"\nkind = "hv"\n'


def test_broker_urls() -> None:
    assert BrokerSettings.from_url("mqtts://a.b").port == 8883
    assert BrokerSettings.from_url("mqtt://h:1?protocol=3.1.1").protocol == "3.1.1"
    for bad in ("http://h", "mqtt://h:99999", "mqtt://:1", "mqtt://h?protocol=4"):
        with pytest.raises(BrokerUrlError):
            BrokerSettings.from_url(bad)


def test_generated_mosquitto_config(tmp_path: Path) -> None:
    lines = mosquitto_config(1884, tmp_path).splitlines()
    for line in ("listener 1884 127.0.0.1", "set_tcp_nodelay true", "persistence true"):
        assert line in lines
