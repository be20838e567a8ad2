"""Whole processes: `dcs up`, `dcs device run`, the operator CLI and the native tools."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import (
    TIMEOUT,
    BrokerProcess,
    alive,
    children_of,
    cmdline,
    dcs_argv,
    decode,
    free_port,
    port_open,
    probe,
    wait_until,
)
from trackerdcs.bus.settings import BrokerSettings

pytestmark = pytest.mark.broker

STAND = """
name = "test"
[[devices]]
name = "hv"
kind = "hv"
period = 0.2
[[devices]]
name = "lv"
kind = "lv"
period = 0.2
"""


def run_dcs(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(dcs_argv(*args), capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def stand_file(tmp_path: Path) -> Path:
    path = tmp_path / "stand.toml"
    path.write_text(STAND)
    return path


class Proc:
    """A child process whose output is collected as it arrives."""

    def __init__(self, argv: list[str]) -> None:
        self.popen = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_output(self, text: str) -> None:
        wait_until(lambda: text in self.output or self.popen.poll() is not None, what=f"{text!r} in output")
        assert text in self.output, self.output

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        try:
            return self.popen.wait(TIMEOUT)
        finally:
            if self.popen.poll() is None:
                self.popen.kill()


@pytest.fixture
def device_run(broker: BrokerProcess, stand_file: Path) -> Iterator[Proc]:
    proc = Proc(dcs_argv("device", "run", "hv", "--config", str(stand_file), "--broker", broker.url))
    yield proc
    proc.stop(signal.SIGKILL)


async def test_killed_device_goes_offline_through_its_last_will(
    broker: BrokerProcess, device_run: Proc
) -> None:
    async with probe(broker.settings) as p:
        await p.wait_for(lambda m: m.topic.value == "/hv/availability" and decode(m) == "online")
        mark = p.mark()
        device_run.popen.kill()  # kill -9: no chance to say goodbye
        offline = await p.wait_for(
            lambda m: m.topic.value == "/hv/availability" and decode(m) == "offline", start=mark
        )
    assert offline.payload == b"offline"


async def test_stopped_device_says_offline_itself(broker: BrokerProcess, device_run: Proc) -> None:
    async with probe(broker.settings) as p:
        await p.wait_for(lambda m: m.topic.value == "/hv/availability" and decode(m) == "online")
        mark = p.mark()
        assert device_run.stop(signal.SIGTERM) == 0
        await p.wait_for(lambda m: m.topic.value == "/hv/availability" and decode(m) == "offline", start=mark)


@pytest.mark.parametrize("kind", ["mosquitto", "embedded"])
def test_dcs_up_runs_the_default_stand_and_ctrl_c_leaves_nothing_behind(kind: str, tmp_path: Path) -> None:
    port = free_port()
    up = Proc(
        dcs_argv(
            "up", "--no-web", "--mqtt-port", str(port), "--broker-kind", kind, "--data-dir", str(tmp_path)
        )
    )
    try:
        up.wait_output("Stand is up")
        up.wait_output(f"({kind})")  # the banner's next line: the reader thread may not have it yet
        assert f"mqtt://127.0.0.1:{port}" in up.output
        children = children_of(up.popen.pid)
        commands = [cmdline(pid) for pid in children]
        assert any(b"\0archive\0run\0" in c for c in commands), commands
        assert any(b"\0safety\0run\0" in c for c in commands), commands
        assert any(b"\0daq\0run\0" in c for c in commands), commands
        # The four simulated devices share one host process, each with its own session.
        assert [c for c in commands if b"\0device\0host\0" in c] == [
            next(c for c in commands if b"\0hv\0lv\0sensor_1\0env" in c)
        ], commands
        status = run_dcs("status", "--json", "--broker", f"mqtt://127.0.0.1:{port}")
        views = json.loads(status.stdout)
        assert sorted(views) == ["M1", "archive", "daq", "env", "hv", "interlock", "lv", "sensor_1"]
        assert {v["availability"] for v in views.values()} == {"online"}
        # The safety service keeps its alarm book in the data directory dcs up was given.
        book = tmp_path / "demo" / "alarms.json"
        wait_until(book.is_file, what=f"the alarm book {book}")
        assert json.loads(book.read_text())["alarms"] == []
    finally:
        code = up.stop(signal.SIGINT)
    assert code == 0, up.output
    assert "dcs up: stopped" in up.output
    assert not [pid for pid in children if alive(pid)], "processes left behind"
    assert not port_open(port)


def test_a_wrong_stand_file_names_file_and_key_and_starts_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[devices]]\nname = "hv"\nkind = "hv"\nvmax = -5\n')
    port = free_port()
    result = run_dcs(
        "up", "--no-web", "--config", str(bad), "--mqtt-port", str(port), "--data-dir", str(tmp_path)
    )
    assert result.returncode == 2
    assert f"{bad}: devices[0] (hv).vmax: Input should be greater than 0" in result.stderr
    assert not port_open(port)
    assert not (tmp_path / "test").exists()


def test_operator_cli_prints_replies_and_exit_codes(broker: BrokerProcess, stand_file: Path) -> None:
    url = broker.url
    device = Proc(dcs_argv("device", "run", "hv", "--config", str(stand_file), "--broker", url))
    try:
        wait_until(lambda: "online on" in device.output, what="the device online")
        ok = run_dcs("set", "hv", "0", "150", "--broker", url)
        assert ok.returncode == 0, ok.stderr
        assert "hv: accepted: channel 0: vreq set to 150 V" in ok.stdout
        rejected = run_dcs("set", "hv", "0", "5000", "--broker", url)
        assert rejected.returncode == 1
        assert "rejected (out_of_range)" in rejected.stderr
        negative = run_dcs("set", "hv", "0", "-5", "--broker", url)
        assert negative.returncode == 1
        assert "out_of_range" in negative.stderr
        assert run_dcs("switch", "hv", "0", "on", "--broker", url).returncode == 0
        steer = run_dcs("sim", "hv", "leakage_scale", "2", "--broker", url)
        assert steer.returncode == 0, steer.stderr
        nobody = run_dcs("switch", "ghost", "0", "on", "--broker", url, "--timeout", "0.5")
        assert nobody.returncode == 3
        assert "no reply" in nobody.stderr
        table = run_dcs("status", "--broker", url)
        assert table.returncode == 0
        assert "hv" in table.stdout and "1 ch, 1 on" in table.stdout
        channels = run_dcs("status", "--broker", url, "--device", "hv")
        assert channels.returncode == 0
        assert "150 V" in channels.stdout  # the setpoint, beside the readback
        ghost = run_dcs("status", "--broker", url, "--device", "ghost")
        assert ghost.returncode == 2 and "no device 'ghost'" in ghost.stderr
    finally:
        device.stop(signal.SIGTERM)


def test_operator_cli_says_when_the_broker_is_down() -> None:
    result = run_dcs("status", "--broker", f"mqtt://127.0.0.1:{free_port()}")
    assert result.returncode == 2
    assert "refused" in result.stderr.lower()


@pytest.mark.skipif(shutil.which("mosquitto_pub") is None, reason="mosquitto-clients not installed")
def test_the_seed_walkthrough_with_the_native_tools(mosquitto: BrokerProcess, stand_file: Path) -> None:
    port = str(mosquitto.port)
    device = Proc(dcs_argv("device", "run", "hv", "--config", str(stand_file), "--broker", mosquitto.url))
    try:
        wait_until(lambda: "online on" in device.output, what="the device online")

        def hv_status() -> dict[str, object]:
            out = subprocess.run(
                ["mosquitto_sub", "-p", port, "-t", "/hv/status", "-C", "1", "-W", "10"],
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=True,
            ).stdout
            return dict(json.loads(out)[0])

        assert hv_status()["vreq"] == 0.0
        subprocess.run(["mosquitto_pub", "-p", port, "-t", "/hv/cmd/setv/0", "-m", "100."], check=True)
        wait_until(lambda: hv_status()["vreq"] == 100.0, what="vreq 100.0")
        subprocess.run(["mosquitto_pub", "-p", port, "-t", "/hv/cmd/switch/0", "-m", "on"], check=True)
        wait_until(lambda: hv_status()["on"] == 1, what="on 1")
        everything = subprocess.run(
            ["mosquitto_sub", "-p", port, "-t", "/#", "-v", "-C", "3", "-W", "10"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=True,
        ).stdout
        assert "/hv/status [{" in everything
    finally:
        device.stop(signal.SIGTERM)


def test_environment_variable_names_the_broker(mosquitto: BrokerProcess) -> None:
    env = {**os.environ, "DCS_BROKER": mosquitto.url}
    result = subprocess.run(dcs_argv("status"), capture_output=True, text=True, env=env, timeout=30)
    assert result.returncode == 0
    assert "no device has published" in result.stdout


async def test_dcs_up_restarts_a_device_that_dies(tmp_path: Path, stand_file: Path) -> None:
    port = free_port()
    argv = dcs_argv(
        "up", "--no-web", "--config", str(stand_file), "--mqtt-port", str(port), "--data-dir", str(tmp_path)
    )
    up = Proc(argv)
    try:
        up.wait_output("Stand is up")
        hv = next(pid for pid in children_of(up.popen.pid) if b"\0hv\0" in cmdline(pid))
        async with probe(BrokerSettings("127.0.0.1", port)) as p:
            await p.wait_for(lambda m: m.topic.value == "/hv/availability" and decode(m) == "online")
            mark = p.mark()
            os.kill(hv, signal.SIGKILL)
            await p.wait_for(
                lambda m: m.topic.value == "/hv/availability" and decode(m) == "offline", start=mark
            )
            back = await p.wait_for(
                lambda m: m.topic.value == "/hv/availability" and decode(m) == "online", start=mark
            )
            assert not back.retain  # a fresh announcement from the restarted process
            assert (await p.command("/hv/cmd/setv/0", "10")).ok
    finally:
        assert up.stop(signal.SIGINT) == 0
