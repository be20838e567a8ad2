"""`dcs up` keeps its stand running through what it is there to survive.

A broker killed with kill -9, a service killed or hung, an external broker restarted:
every service comes back and status flows again, with no restart of `dcs up` itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import aiomqtt
import pytest

from tests.helpers import (
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
from tests.supervisor.test_stack import Proc
from trackerdcs.bus.settings import BrokerSettings

pytestmark = pytest.mark.broker

STAND = """
name = "resilience"

[[devices]]
name = "hv"
kind = "hv"
period = 0.2
ramp_up = 100.0
ramp_down = 100.0
require_heartbeat = 1.0

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

[interlock]
heartbeat = 0.2

[[rules]]
name = "dewpoint"
signal = "env.dewpoint_margin"
below = 3.0
hv_off = ["*"]
"""
SERVICES = ["archive", "interlock", "hv", "lv", "env"]


@pytest.fixture
def stand_file(tmp_path: Path) -> Path:
    path = tmp_path / "stand.toml"
    path.write_text(STAND)
    return path


@pytest.fixture
def up(tmp_path: Path, stand_file: Path) -> Iterator[tuple[Proc, int]]:
    port = free_port()
    argv = dcs_argv(
        "up", "--no-web", "--config", str(stand_file), "--mqtt-port", str(port), "--data-dir", str(tmp_path)
    )
    proc = Proc(argv)
    try:
        proc.wait_output("Stand is up")
        yield proc, port
    finally:
        code = proc.stop(signal.SIGINT)
        assert code == 0, proc.output


def child(up: Proc, marker: bytes) -> int:
    """The pid of the stack's child whose command line holds ``marker``."""
    pids = [pid for pid in children_of(up.popen.pid) if marker in cmdline(pid)]
    assert len(pids) == 1, (marker, pids)
    return pids[0]


async def assert_stand_is_live(port: int, names: list[str] = SERVICES) -> None:
    """Every service says online and fresh status flows from every device."""
    async with probe(BrokerSettings("127.0.0.1", port)) as p:
        for name in names:
            await p.wait_for(online(name), what=f"{name} online")
        mark = p.mark()
        for device in ("hv", "lv", "env"):
            await p.wait_for(fresh_status(device), start=mark, what=f"fresh /{device}/status")


def online(name: str) -> Callable[[aiomqtt.Message], bool]:
    return lambda m: m.topic.value == f"/{name}/availability" and decode(m) == "online"


def fresh_status(device: str) -> Callable[[aiomqtt.Message], bool]:
    return lambda m: m.topic.value == f"/{device}/status" and not m.retain


async def test_dcs_up_survives_kill_9_of_its_broker(up: tuple[Proc, int]) -> None:
    proc, port = up
    broker = child(proc, b"mosquitto")
    services = {pid for pid in children_of(proc.popen.pid) if pid != broker}
    for _ in range(2):  # twice: the restarted broker is supervised like the first
        os.kill(broker, signal.SIGKILL)
        broker = wait_for_new_broker(proc, broker)
        wait_until(lambda: port_open(port), what="the broker on the same port")
        await assert_stand_is_live(port)
    assert proc.popen.poll() is None, proc.output
    assert {pid for pid in children_of(proc.popen.pid) if pid != broker} == services, (
        "a service was restarted"
    )
    assert proc.output.count("Stand is up") == 1


def wait_for_new_broker(up: Proc, old: int) -> int:
    def new() -> int | None:
        pids = [pid for pid in children_of(up.popen.pid) if b"mosquitto" in cmdline(pid) and pid != old]
        return pids[0] if pids and alive(pids[0]) else None

    wait_until(lambda: new() is not None, what="a new broker")
    pid = new()
    assert pid is not None
    return pid


@pytest.mark.parametrize(
    ("marker", "name"),
    [(b"\0archive\0", "archive"), (b"\0safety\0", "interlock"), (b"\0hv\0", "hv")],
)
async def test_dcs_up_restarts_a_service_killed_with_kill_9(
    up: tuple[Proc, int], marker: bytes, name: str
) -> None:
    proc, port = up
    victim = child(proc, marker)
    topic = f"/{name}/availability"
    async with probe(BrokerSettings("127.0.0.1", port)) as p:
        await p.wait_for(lambda m: m.topic.value == topic and decode(m) == "online")  # the retained one
        mark = p.mark()
        os.kill(victim, signal.SIGKILL)
        gone = await p.wait_for(lambda m: m.topic.value == topic and decode(m) == "offline", start=mark)
        after = p.messages.index(gone) + 1
        back = await p.wait_for(lambda m: m.topic.value == topic and decode(m) == "online", start=after)
        assert not back.retain  # a fresh announcement from the restarted process
    assert not alive(victim)
    await assert_stand_is_live(port)
    assert proc.popen.poll() is None


async def test_hv_ramps_down_while_the_safety_service_hangs(up: tuple[Proc, int]) -> None:
    proc, port = up
    broker = f"mqtt://127.0.0.1:{port}"
    on = subprocess.run(dcs_argv("module", "on", "M1", "--broker", broker), capture_output=True, text=True)
    assert on.returncode == 0, on.stdout + on.stderr
    safety = child(proc, b"\0safety\0")
    async with probe(BrokerSettings("127.0.0.1", port)) as p:
        await p.status("hv", lambda s: s[0]["on"] == 1 and s[0]["vmon"] > 15)
        mark = p.mark()
        os.kill(safety, signal.SIGSTOP)  # hung: alive, holding its connection, silent
        try:
            await p.status("hv", lambda s: s[0]["on"] == 0 or s[0]["vreq"] == 0, start=mark)
        finally:
            os.kill(safety, signal.SIGCONT)
    assert proc.popen.poll() is None


async def test_with_an_external_broker_everything_reconnects(
    mosquitto: BrokerProcess, tmp_path: Path
) -> None:
    stand = tmp_path / "external.toml"
    stand.write_text(f'[broker]\nurl = "{mosquitto.url}"\n' + STAND.split("\n", 2)[2])
    proc = Proc(dcs_argv("up", "--no-web", "--config", str(stand), "--data-dir", str(tmp_path)))
    try:
        proc.wait_output("Stand is up")
        mosquitto.stop(signal.SIGKILL)
        mosquitto.start()  # the same port, as an operator restarting their broker would
        await assert_stand_is_live(mosquitto.port)
        assert proc.popen.poll() is None, proc.output
    finally:
        assert proc.stop(signal.SIGINT) == 0, proc.output
