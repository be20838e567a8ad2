"""The generated broker configuration and broker URLs, without starting anything."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

import pytest
from aiomqtt import ProtocolVersion
from paho.mqtt.packettypes import PacketTypes

from trackerdcs.bus import broker as broker_module
from trackerdcs.bus.broker import MAX_QUEUED_MESSAGES, BrokerError, mosquitto_config, plan_broker
from trackerdcs.bus.embedded import amqtt_config
from trackerdcs.bus.session import SESSION_EXPIRY, _protocols, connect_properties
from trackerdcs.bus.settings import (
    DEFAULT_PORT,
    DEFAULT_TLS_PORT,
    BrokerSettings,
    BrokerUrlError,
    tls_context,
)

# -- mosquitto configuration -------------------------------------------------------------


def config_lines(port: int, data_dir: Path) -> list[str]:
    return mosquitto_config(port, data_dir).splitlines()


def test_mosquitto_listens_on_loopback_on_the_given_port(tmp_path: Path) -> None:
    lines = config_lines(18830, tmp_path)
    listeners = [line for line in lines if line.startswith("listener")]
    assert listeners == ["listener 18830 127.0.0.1"]
    assert "allow_anonymous true" in lines


def test_mosquitto_turns_nagle_off_and_persistence_on(tmp_path: Path) -> None:
    lines = config_lines(1884, tmp_path)
    assert "set_tcp_nodelay true" in lines
    assert "persistence true" in lines
    assert f"persistence_location {tmp_path}/" in lines
    assert f"max_queued_messages {MAX_QUEUED_MESSAGES}" in lines


def test_mosquitto_config_is_one_directive_per_line(tmp_path: Path) -> None:
    text = mosquitto_config(1884, tmp_path)
    assert text.endswith("\n")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            assert key.replace("_", "").isalpha() and value, line


def test_mosquitto_can_bind_elsewhere_when_asked(tmp_path: Path) -> None:
    assert not any("0.0.0.0" in line for line in config_lines(1884, tmp_path))  # default: loopback
    assert "listener 1884 ::1" in mosquitto_config(1884, tmp_path, bind="::1").splitlines()


def test_as_root_mosquitto_keeps_our_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(getpass, "getuser", lambda: "alice")
    assert "user alice" in config_lines(1884, tmp_path)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert not [line for line in config_lines(1884, tmp_path) if line.startswith("user ")]


def test_plan_broker_writes_the_mosquitto_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(broker_module, "find_mosquitto", lambda: "/opt/bin/mosquitto")
    data_dir = tmp_path / "broker"
    plan = plan_broker(1890, data_dir)
    conf = data_dir / "mosquitto.conf"
    assert (plan.kind, plan.host, plan.port) == ("mosquitto", "127.0.0.1", 1890)
    assert plan.argv == ["/opt/bin/mosquitto", "-c", str(conf)]
    assert "listener 1890 127.0.0.1" in conf.read_text().splitlines()


def test_plan_broker_falls_back_to_the_embedded_broker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broker_module, "find_mosquitto", lambda: None)
    plan = plan_broker(1891, tmp_path / "b")
    assert (plan.kind, plan.port) == ("embedded", 1891)
    assert plan.argv == [sys.executable, "-m", "trackerdcs", "broker", "--port", "1891"]
    assert not (tmp_path / "b").exists()


def test_plan_broker_embedded_on_request_even_with_mosquitto(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broker_module, "find_mosquitto", lambda: "/opt/bin/mosquitto")
    assert plan_broker(1892, tmp_path, prefer="embedded").kind == "embedded"


def test_plan_broker_insists_on_mosquitto_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(broker_module, "find_mosquitto", lambda: None)
    with pytest.raises(BrokerError, match="mosquitto is not installed"):
        plan_broker(1893, tmp_path, prefer="mosquitto")


def test_the_embedded_broker_binds_where_it_is_told() -> None:
    config = amqtt_config("127.0.0.1", 1894)
    assert config["listeners"] == {
        "default": {"type": "tcp", "bind": "127.0.0.1:1894", "max_connections": 256}
    }


# -- broker URLs -------------------------------------------------------------------------


def test_a_full_mqtt_url() -> None:
    settings = BrokerSettings.from_url("mqtt://user:pw@host:1234")
    assert settings == BrokerSettings(
        host="host", port=1234, username="user", password="pw", tls=False, protocol="auto"
    )


def test_default_ports() -> None:
    assert BrokerSettings.from_url("mqtt://host").port == DEFAULT_PORT == 1883
    tls = BrokerSettings.from_url("mqtts://host")
    assert (tls.port, tls.tls) == (DEFAULT_TLS_PORT, True)
    assert DEFAULT_TLS_PORT == 8883
    assert BrokerSettings.from_url("mqtts://host:9999").port == 9999


def test_a_url_without_a_scheme_is_plain_mqtt() -> None:
    settings = BrokerSettings.from_url("broker.example.org:1885")
    assert (settings.host, settings.port, settings.tls) == ("broker.example.org", 1885, False)


@pytest.mark.parametrize(
    ("query", "protocol"), [("", "auto"), ("?protocol=3.1.1", "3.1.1"), ("?protocol=5", "5")]
)
def test_the_protocol_query(query: str, protocol: str) -> None:
    assert BrokerSettings.from_url(f"mqtt://h:1883{query}").protocol == protocol


def test_credentials_are_percent_decoded() -> None:
    settings = BrokerSettings.from_url("mqtt://op%40lab:p%3Aw%2F@h")
    assert (settings.username, settings.password) == ("op@lab", "p:w/")


def test_an_ipv6_host() -> None:
    settings = BrokerSettings.from_url("mqtt://[::1]:1884")
    assert (settings.host, settings.port) == ("::1", 1884)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://host", "scheme must be mqtt:// or mqtts://"),
        ("ws://host:80", "scheme must be mqtt:// or mqtts://"),
        ("mqtt://host:99999", "out of range"),
        ("mqtt://host:65536", "out of range"),
        ("mqtt://host:-1", "Port could not be cast"),
        ("mqtt://host:abc", "Port could not be cast"),
        ("mqtt://:1883", "no host"),
        ("mqtt://", "no host"),
        ("mqtt://host?protocol=4", "protocol must be 5, 3.1.1 or auto"),
    ],
)
def test_bad_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(BrokerUrlError, match=message) as info:
        BrokerSettings.from_url(url)
    assert url in str(info.value)
    assert isinstance(info.value, ValueError)


def test_port_zero_is_refused() -> None:
    with pytest.raises(BrokerUrlError):
        BrokerSettings.from_url("mqtt://host:0")


def test_the_printable_url_has_no_credentials() -> None:
    settings = BrokerSettings.from_url("mqtts://user:secret@host:8884?protocol=5")
    assert settings.url == "mqtts://host:8884?protocol=5"
    assert "secret" not in settings.url
    assert BrokerSettings().url == "mqtt://127.0.0.1:1883"


def test_the_printable_url_parses_back() -> None:
    settings = BrokerSettings("example.org", 1999, tls=True, protocol="3.1.1")
    assert BrokerSettings.from_url(settings.url) == settings


def test_with_credentials_keeps_what_is_not_given() -> None:
    settings = BrokerSettings.from_url("mqtt://op:pw@h")
    assert settings.with_credentials(None, None) == settings
    changed = settings.with_credentials("admin", "new")
    assert (changed.username, changed.password, changed.host) == ("admin", "new", "h")
    assert (settings.username, settings.password) == ("op", "pw")  # frozen: a copy


@pytest.mark.parametrize(
    ("protocol", "expected"),
    [
        ("auto", [ProtocolVersion.V5, ProtocolVersion.V311]),
        ("5", [ProtocolVersion.V5]),
        ("3.1.1", [ProtocolVersion.V311]),
    ],
)
def test_protocol_negotiation_order(protocol: str, expected: list[ProtocolVersion]) -> None:
    assert _protocols(BrokerSettings.from_url(f"mqtt://h?protocol={protocol}")) == expected


def test_tls_only_for_mqtts() -> None:
    assert tls_context(BrokerSettings()) is None
    context = tls_context(BrokerSettings(tls=True))
    assert context is not None
    assert context.check_hostname


def test_a_persistent_session_gets_an_expiry() -> None:
    assert connect_properties(False) is None
    props = connect_properties(True)
    assert props is not None
    assert props.packetType == PacketTypes.CONNECT
    assert props.json() == {"SessionExpiryInterval": SESSION_EXPIRY}  # type: ignore[no-untyped-call]
