"""Serial and socket instruments end to end: emulator -> driver -> DeviceService -> mosquitto."""

from __future__ import annotations

import importlib
import importlib.util
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import BrokerProcess, decode, probe, running_device
from tests.instruments.caen import CaenN1470Emulator
from tests.instruments.dht import DhtEmulator
from tests.instruments.julabo import JulaboEmulator
from tests.instruments.pty import PtyInstrument
from tests.instruments.tcp import Fault, TcpInstrument
from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.contract.payloads import Meta
from trackerdcs.devices.physics import dew_point

pytestmark = pytest.mark.broker

CAEN = {
    "name": "hv",
    "kind": "hv",
    "driver": "caen_n1470",
    "channels": 4,
    "ramp_up": 200.0,
    "ramp_max": 500.0,
}
JULABO_OPTIONS = {"command_gap": 0.0, "timeout": 0.3, "bytesize": 8, "parity": "N", "rtscts": False}


@pytest.fixture
def caen_tcp() -> Iterator[TcpInstrument]:
    with TcpInstrument(CaenN1470Emulator(), terminator="\r\n") as tcp:
        yield tcp


async def test_caen_over_tcp_walkthrough_ramps_with_instrument_status(
    mosquitto: BrokerProcess, caen_tcp: TcpInstrument
) -> None:
    config: dict[str, Any] = {**CAEN, "resource": caen_tcp.resource, "options": {"timeout": 0.5}}
    async with running_device(mosquitto.settings, **config), probe(mosquitto.settings) as p:
        status = await p.status("hv")
        assert [c["state"] for c in status] == ["off"] * 4
        assert (await p.command("/hv/cmd/setv/2", "100")).ok
        reply = await p.command("/hv/cmd/switch/2", "on")
        assert reply.ok and reply.message == "channel 2: output on"
        await p.status("hv", lambda s: s[2]["state"] == "ramping_up")
        on = await p.status("hv", lambda s: s[2]["state"] == "on")
        assert on[2]["vmon"] == pytest.approx(100.0) and on[2]["on"] == 1
        refused = await p.command("/hv/cmd/setv/2", "1000.5")
        assert refused.reason == "out_of_range"  # our limit, before the instrument sees it


async def test_caen_silent_instrument_gives_device_error_then_recovers(
    mosquitto: BrokerProcess, caen_tcp: TcpInstrument
) -> None:
    config: dict[str, Any] = {**CAEN, "resource": caen_tcp.resource, "options": {"timeout": 0.3}}
    async with running_device(mosquitto.settings, **config), probe(mosquitto.settings) as p:
        await p.status("hv")
        caen_tcp.fault = Fault.SILENT
        reply = await p.command("/hv/cmd/setv/0", "10")
        assert reply.reason == "device_error" and "no answer" in reply.message
        caen_tcp.fault = Fault.NONE
        assert (await p.command("/hv/cmd/setv/0", "10")).ok
        await p.status("hv", lambda s: s[0]["vreq"] == 10.0, start=p.mark())


async def test_caen_over_a_serial_port(mosquitto: BrokerProcess, tmp_path: Path) -> None:
    with PtyInstrument(CaenN1470Emulator(), tmp_path) as pty:
        config: dict[str, Any] = {
            **CAEN,
            "channels": 2,
            "resource": pty.resource,
            "options": {"timeout": 0.5},
        }
        async with running_device(mosquitto.settings, **config), probe(mosquitto.settings) as p:
            assert len(await p.status("hv")) == 2
            assert (await p.command("/hv/cmd/seti/1", "5e-5")).ok
            assert (await p.command("/hv/cmd/setv/2", "10")).reason == "unknown_channel"
            assert "$BD:00,CMD:SET,CH:1,PAR:ISET,VAL:50.00" in pty.lines


async def test_dht_status_has_the_env_fields_and_dew_point(mosquitto: BrokerProcess, tmp_path: Path) -> None:
    emulator = DhtEmulator(temperature=21.5, humidity=60.0)
    with PtyInstrument(emulator, tmp_path) as pty:
        config = {"name": "env", "kind": "env", "driver": "dht", "resource": pty.resource}
        async with running_device(mosquitto.settings, **config), probe(mosquitto.settings) as p:
            # Read before the sensor's first line, the status says "no humidity yet": wait past it
            status = await p.status("env", lambda s: s.get("state") != "error")
            assert status["temperature"] == 21.5 and status["humidity"] == 60.0
            assert status["dewpoint"] == pytest.approx(dew_point(21.5, 60.0), abs=1e-3)
            pty.send_raw(b"\x15#?!\xff junk\r\nHumidity: 9")  # junk, then a line cut short
            emulator.humidity = 80.0
            await p.status("env", lambda s: s["humidity"] == 80.0)
            assert (await p.command("/env/sim/humidity", "50")).reason == "not_simulated"


async def test_julabo_commands_reply_and_limits_reject(mosquitto: BrokerProcess, tmp_path: Path) -> None:
    with PtyInstrument(JulaboEmulator(), tmp_path) as pty:
        options = {**JULABO_OPTIONS, "setpoint_min": -25.0, "setpoint_max": 25.0}
        config = {
            "name": "chiller",
            "kind": "chiller",
            "driver": "julabo",
            "resource": pty.resource,
            "options": options,
        }
        async with running_device(mosquitto.settings, **config), probe(mosquitto.settings) as p:
            first = await p.status("chiller")
            assert (first["on"], first["status"], first["alarm"]) == (0, "REMOTE STOP", 0)
            reply = await p.command("/chiller/cmd/setpoint", "-15")
            assert reply.ok and reply.message == "setpoint set to -15 °C"
            assert (await p.command("/chiller/cmd/switch", "on")).ok
            await p.status("chiller", lambda s: s["on"] == 1 and s["setpoint"] == -15.0)
            refused = await p.command("/chiller/cmd/setpoint", "-30")
            assert refused.reason == "out_of_range" and "[-25, 25]" in refused.message
            assert (await p.command("/chiller/cmd/switch/0", "on")).reason == "bad_topic"
            pty.disconnect()
            assert (await p.command("/chiller/cmd/setpoint", "5")).reason == "device_error"
            pty.reconnect()
            # the service may have gone into fault meanwhile: wait until it reads the chiller again
            await p.status(
                "chiller", lambda s: isinstance(s, dict) and s.get("state") != "error", start=p.mark()
            )
            assert (await p.command("/chiller/cmd/setpoint", "5")).ok


# -- the ESP MicroPython node, under CPython with umqtt on paho ------------------------------

FIRMWARE = Path(__file__).resolve().parents[3] / "firmware" / "esp"


class EspBoard:
    """The firmware's Node with fake relays and sensor, served in a thread like on the board."""

    def __init__(self, firmware: Any, settings: BrokerSettings) -> None:
        umqtt = importlib.import_module("umqtt.simple")  # the CPython stand-in, on sys.path

        self.relays: dict[int, list[bool]] = {0: [], 1: []}
        self.client = umqtt.MQTTClient(b"esp1-test", settings.host, port=settings.port, keepalive=30)
        self.node = firmware.Node(
            "esp1",
            self.client,
            [self.relays[0].append, self.relays[1].append],
            sensor=lambda: {"temperature": 21.0, "humidity": 40.0},
            period=0.2,
        )
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=firmware.run, args=(self.node, lambda: not self.stop.is_set()), daemon=True
        )

    def __enter__(self) -> EspBoard:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=15)


@pytest.fixture
def firmware(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(FIRMWARE / "cpython"))
    spec = importlib.util.spec_from_file_location("esp_main", FIRMWARE / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_esp_node_publishes_the_contract_and_obeys_the_relay(
    mosquitto: BrokerProcess, firmware: Any
) -> None:
    async with probe(mosquitto.settings) as p:
        with EspBoard(firmware, mosquitto.settings) as board:
            await p.wait_for(lambda m: m.topic.value == "/esp1/availability" and decode(m) == "online")
            async with probe(mosquitto.settings) as late:  # a new subscriber gets the retained state
                retained = await late.wait_for(lambda m: m.topic.value == "/esp1/availability")
                assert retained.retain and decode(retained) == "online"
                await late.status("esp1")
            meta = decode(await p.wait_for(lambda m: m.topic.value == "/esp1/meta"))
            assert Meta.model_validate(meta).channels == [0, 1]
            status = await p.status("esp1")
            assert [(c["number"], c["on"], c["temperature"], c["humidity"]) for c in status] == [
                (0, 0, 21.0, 40.0),
                (1, 0, 21.0, 40.0),
            ]
            reply = await p.command("/esp1/cmd/switch/1", "on")  # validated against Reply
            assert (reply.ok, reply.device, reply.command, reply.channel) == (True, "esp1", "switch", 1)
            assert reply.message == "relay 1 on" and board.relays[1] == [True]
            await p.status("esp1", lambda s: s[1]["on"] == 1 and s[0]["on"] == 0)
            assert (await p.command("/esp1/cmd/switch/1", "OFF")).ok and board.relays[1] == [True, False]
        await p.wait_for(lambda m: m.topic.value == "/esp1/availability" and decode(m) == "offline")
        async with probe(mosquitto.settings) as late:
            retained = await late.wait_for(lambda m: m.topic.value == "/esp1/availability")
            assert retained.retain and decode(retained) == "offline"


ESP_BAD_INPUTS = [
    ("/esp1/cmd/switch/0", b"maybe", "bad_payload"),
    ("/esp1/cmd/switch/0", bytes([0xFF, 0xFE, 0x81]), "bad_payload"),
    ("/esp1/cmd/switch/0", b"1" * 2000, "bad_payload"),
    ("/esp1/cmd/switch/2", b"on", "unknown_channel"),
    ("/esp1/cmd/switch", b"on", "bad_topic"),
    ("/esp1/cmd/switch/x", b"on", "bad_topic"),
    ("/esp1/cmd/switch/0/1", b"on", "bad_topic"),
    ("/esp1/cmd/launch/0", b"on", "unknown_command"),
]


async def test_esp_node_rejects_bad_commands_with_a_reason(mosquitto: BrokerProcess, firmware: Any) -> None:
    async with probe(mosquitto.settings) as p:
        with EspBoard(firmware, mosquitto.settings) as board:
            await p.status("esp1")
            for topic, payload, reason in ESP_BAD_INPUTS:
                reply = await p.command(topic, payload)
                assert (reply.ok, reply.reason) == (False, reason), (
                    f"{topic} {payload[:20]!r}: {reply.message}"
                )
                assert reply.message and len(reply.payload) <= 64
            assert board.relays == {0: [], 1: []}
            assert (await p.command("/esp1/cmd/rebirth", "")).ok


async def test_esp_power_cut_publishes_the_last_will_and_the_node_reconnects(
    mosquitto: BrokerProcess, firmware: Any
) -> None:
    async with probe(mosquitto.settings) as p:
        with EspBoard(firmware, mosquitto.settings) as board:
            await p.wait_for(lambda m: m.topic.value == "/esp1/availability" and decode(m) == "online")
            mark = p.mark()
            sock = board.client.sock
            assert sock is not None
            sock.shutdown(socket.SHUT_RDWR)  # the board loses power: no DISCONNECT is sent
            await p.wait_for(
                lambda m: m.topic.value == "/esp1/availability" and decode(m) == "offline", start=mark
            )
            await p.wait_for(
                lambda m: m.topic.value == "/esp1/availability" and decode(m) == "online", start=mark
            )
            assert (await p.command("/esp1/cmd/switch/0", "on")).ok
