"""Serial and socket instruments end to end: emulator -> driver -> DeviceService -> mosquitto."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import BrokerProcess, probe, running_device
from tests.instruments.caen import CaenN1470Emulator
from tests.instruments.dht import DhtEmulator
from tests.instruments.julabo import JulaboEmulator
from tests.instruments.pty import PtyInstrument
from tests.instruments.tcp import Fault, TcpInstrument
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
            status = await p.status("env")
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
            assert (await p.command("/chiller/cmd/setpoint", "5")).ok
