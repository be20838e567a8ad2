"""A stand spread over two machines: `dcs up --only` on two mosquitto brokers joined by a bridge.

Module M1 has its LV on one side and its HV on the other; the safety service and the
archiver run once, on the first. The power sequence still runs across the bridge,
and the dew-point interlock still switches HV off.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import BrokerProcess, dcs_argv, decode, free_port, port_open, probe, wait_until
from tests.supervisor.test_stack import Proc
from trackerdcs.bus.broker import find_mosquitto, mosquitto_config
from trackerdcs.bus.settings import BrokerSettings

pytestmark = pytest.mark.broker

STAND = """
name = "spread"

[[devices]]
name = "hv"
kind = "hv"
period = 0.2
ramp_up = 100.0
ramp_down = 100.0

[[devices]]
name = "lv"
kind = "lv"
period = 0.2

[[devices]]
name = "env"
kind = "env"
period = 0.2
sim = { temperature = 20.0, humidity = 30.0, drift = 0.0, noise = 0.0 }

[[modules]]
name = "M1"
lv = "lv:0"
hv = "hv:0"
hv_voltage = 20.0
timeout = 10.0

[[rules]]
name = "dewpoint"
signal = "env.dewpoint_margin"
below = 3.0
hv_off = ["*"]
"""


@pytest.fixture
def bridged(mosquitto: BrokerProcess, tmp_path: Path) -> Iterator[BrokerSettings]:
    """A second mosquitto, bridged both ways to the first with MQTT v5 (replies keep their properties)."""
    port, workdir = free_port(), tmp_path / "broker-b"
    workdir.mkdir()
    bridge = [
        "connection to-a",
        f"address 127.0.0.1:{mosquitto.port}",
        "topic # both 1",
        "bridge_protocol_version mqttv50",
        "try_private true",
        "cleansession true",
        "",
    ]
    conf = workdir / "mosquitto.conf"
    conf.write_text(mosquitto_config(port, workdir) + "\n".join(bridge))
    mosquitto_bin = find_mosquitto()
    assert mosquitto_bin is not None
    log = (workdir / "broker.log").open("wb")
    proc = subprocess.Popen([mosquitto_bin, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: port_open(port), what="the second broker")
        yield BrokerSettings("127.0.0.1", port)
    finally:
        proc.terminate()
        proc.wait(10)


def up(stand: Path, broker: BrokerSettings, data: Path, *only: str) -> Proc:
    argv = ["up", "--no-web", "--config", str(stand), "--broker", broker.url, "--data-dir", str(data)]
    proc = Proc(dcs_argv(*argv, *[a for part in only for a in ("--only", part)]))
    proc.wait_output("Stand is up")
    return proc


async def test_two_partial_stacks_sequence_and_interlock_across_a_bridge(
    mosquitto: BrokerProcess, bridged: BrokerSettings, tmp_path: Path
) -> None:
    stand = tmp_path / "stand.toml"
    stand.write_text(STAND)
    here = up(stand, mosquitto.settings, tmp_path / "a", "hv,env", "safety", "archive")
    there = up(stand, bridged, tmp_path / "b", "lv")
    try:
        assert "lv" not in here.output.split("Stand is up", 1)[1].split("\n", 1)[0]
        async with probe(mosquitto.settings) as p:
            await p.wait_for(lambda m: m.topic.value == "/lv/availability" and decode(m) == "online")
            on = subprocess.run(
                dcs_argv("module", "on", "M1", "--broker", mosquitto.url), capture_output=True
            )
            assert on.returncode == 0, on.stdout + on.stderr
            await p.status("M1", lambda s: s["state"] == "HV_ON")
            await p.status("lv", lambda s: s[0]["on"] == 1)  # switched through the bridge
            mark = p.mark()
            steer = subprocess.run(dcs_argv("sim", "env", "humidity", "95", "--broker", mosquitto.url))
            assert steer.returncode == 0
            await p.status("hv", lambda s: s[0]["on"] == 0 or s[0]["vreq"] == 0, start=mark)
            await p.status("M1", lambda s: s["state"] in ("INTERLOCKED", "LV_ON"), start=mark)
        # The archiver, on this side, keeps what the LV supply on the other side published.
        history = dcs_argv("history", "lv", "0", "vmon", "--since", "10m", "--json", "--config", str(stand))
        archived = subprocess.run(
            [*history, "--data-dir", str(tmp_path / "a")], capture_output=True, text=True
        )
        assert archived.returncode == 0, archived.stderr
        values = [json.loads(line)["value"] for line in archived.stdout.splitlines()]
        assert values and max(values) > 5, values
    finally:
        assert there.stop(signal.SIGINT) == 0, there.output
        assert here.stop(signal.SIGINT) == 0, here.output


def archived(history: list[str]) -> list[float]:
    result = subprocess.run(history, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return [json.loads(line)["value"] for line in result.stdout.splitlines()]


def test_only_needs_a_shared_broker_and_patterns_that_match(tmp_path: Path) -> None:
    stand = tmp_path / "stand.toml"
    stand.write_text(STAND)
    alone = subprocess.run(
        dcs_argv("up", "--no-web", "--config", str(stand), "--only", "hv"), capture_output=True, text=True
    )
    assert alone.returncode == 2 and "name it (--broker or [broker] url)" in alone.stderr
    wrong = subprocess.run(
        dcs_argv("up", "--no-web", "--config", str(stand), "--broker", "mqtt://127.0.0.1:1", "--only", "hx*"),
        capture_output=True,
        text=True,
    )
    assert wrong.returncode == 2 and "--only 'hx*' matches nothing" in wrong.stderr, wrong.stderr
