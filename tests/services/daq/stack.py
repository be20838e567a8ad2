"""A whole stand under `dcs up` (mosquitto, archiver, safety, simulated devices, the DAQ with the
Ph2_ACF simulator), and helpers to run DAQ runs through it and read their records."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt

from tests.helpers import TIMEOUT, Probe, dcs_argv, decode, end_process, free_port, port_open, wait_until
from trackerdcs.bus.settings import BrokerSettings
from trackerdcs.runstore.base import Record, RunStore
from trackerdcs.runstore.embedded import EmbeddedStore

STAND = """
name = "daqtest"

[[devices]]
name = "hv"
kind = "hv"
channels = 1
period = 0.2
ramp_up = 100.0
ramp_down = 100.0

[[devices]]
name = "lv"
kind = "lv"
channels = 1
period = 0.2

[[devices]]
name = "env"
kind = "env"
period = 0.2
sim = {{ temperature = 20.0, humidity = 30.0 }}

[[modules]]
name = "M1"
lv = "lv:0"
hv = "hv:0"
hv_voltage = 50.0

[[rules]]
name = "dewpoint"
signal = "env.dewpoint_margin"
below = 3.0
hysteresis = 0.5
hv_off = ["*"]

[daq]
command = ["{{python}}", "-m", "trackerdcs.ph2acf_sim", "-b", "-f", "{{config}}", "-c", "{{calibration}}"]
config = "settings/PS_Module.xml"
calibrations = ["configureonly", "pedenoise", "PSquickTest", "notreal"]
modules = ["M1"]
idle_timeout = 2.0
stop_grace = 5.0
{store}

[daq.env]
PH2ACF_BASE_DIR = "/opt/ph2acf"
PH2ACF_SIM_MAKE_SETTINGS = "1"
PH2ACF_SIM_STEP_S = "0.3"
"""
SETTINGS = """<?xml version="1.0" encoding="utf-8"?>
<HwDescription>
  <BeBoard Id="0"><OpticalGroup Id="0"/><OpticalGroup Id="1"/></BeBoard>
  {simulator}
</HwDescription>
"""


@dataclass
class Stack:
    proc: subprocess.Popen[bytes]
    port: int
    root: Path

    @property
    def broker(self) -> BrokerSettings:
        return BrokerSettings("127.0.0.1", self.port)

    @property
    def workdir(self) -> Path:
        return self.root / "data" / "daqtest" / "ph2acf"

    def store(self) -> RunStore:
        return EmbeddedStore(self.root / "data" / "daqtest" / "runs.sqlite3")

    def settings(self, name: str, simulator: str = "") -> str:
        """A hardware description in the DAQ's workdir; ``simulator`` steers the simulator."""
        path = self.workdir / "settings" / f"{name}.xml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(SETTINGS.format(simulator=simulator))
        return f"settings/{name}.xml"


def start_stack(root: Path, store: str = "") -> Stack:
    root.mkdir(parents=True, exist_ok=True)
    (root / "stand.toml").write_text(STAND.format(store=store))
    port = free_port()
    argv = dcs_argv("up", "--no-web", "--config", str(root / "stand.toml"), "--mqtt-port", str(port))
    argv += ["--broker-kind", "mosquitto", "--data-dir", str(root / "data")]
    log = (root / "up.log").open("ab")
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    wait_until(lambda: port_open(port), timeout=60, what="the stack's broker")
    return Stack(proc, port, root)


def stop_stack(stack: Stack) -> None:
    end_process(stack.proc)


async def online(p: Probe, name: str) -> None:
    await p.wait_for(lambda m: m.topic.value == f"/{name}/availability" and decode(m) == "online", timeout=60)


SLOW = 60.0  # s: the first wait of a test may include the whole stack starting on a busy machine


def sampled_after(ts: float) -> Callable[[Any], bool]:
    """A device status measured after ``ts`` (a supply's is a list of channels)."""
    return lambda s: (s[0] if isinstance(s, list) and s else s).get("ts", 0) > ts


def m1(check: Callable[[Any], bool]) -> Callable[[aiomqtt.Message], bool]:
    return lambda m: m.topic.value == "/M1/status" and isinstance(decode(m), dict) and check(decode(m))


async def module_state(p: Probe, state: str, start: int = 0) -> None:
    await p.wait_for(m1(lambda s: s.get("state") == state), timeout=SLOW, start=start, what=f"M1 {state}")


async def hv_on(p: Probe) -> None:
    """M1 at HV_ON (the run's requirement), switching it on if it is not.

    The stack is only known to have its broker: the safety service may be online, and M1
    reported, before the devices are, and a sequence started then asks a device that is
    not there yet (it fails with "no reply").
    """
    for name in ("interlock", "lv", "hv"):
        await online(p, name)
    await p.wait_for(m1(lambda s: "state" in s), timeout=SLOW, what="M1's state")
    latest = [decode(m) for m in p.messages if m.topic.value == "/M1/status"][-1]
    if latest.get("state") != "HV_ON":
        mark = p.mark()
        reply = await p.command("/M1/cmd/on", "")
        assert reply.ok, reply
        await module_state(p, "HV_ON", start=mark)


async def record_of(stack: Stack, run_id: str, final: bool = True) -> Record:
    """The record as the store has it, once it has its final status."""
    store = stack.store()
    try:
        async with asyncio.timeout(TIMEOUT):
            while True:
                record = store.get(run_id)
                if record is not None and (not final or record["status"] not in ("starting",)):
                    return record
                await asyncio.sleep(0.05)
    finally:
        store.close()


async def run_to_end(p: Probe, payload: str) -> tuple[str, dict[str, Any]]:
    """Start a run; return its id and its `recorded` event."""
    reply = await p.command("/daq/cmd/start", payload)
    assert reply.ok, reply
    run_id = reply.message.split(":", 1)[0].removeprefix("run ")
    event = await p.wait_for(
        lambda m: (
            m.topic.value == "/daq/events"
            and decode(m).get("id") == run_id
            and decode(m).get("event") == "recorded"
        ),
        timeout=60,
        what=f"the end of run {run_id}",
    )
    return run_id, decode(event)


def published(
    p: Probe, device: str, field: str, start: float, stop: float, channel: int | None
) -> dict[float, float]:
    """What the device published in [start, stop] (by measurement time), as the archive keys it."""
    found: dict[float, float] = {}
    for m in p.messages:
        if m.topic.value != f"/{device}/status":
            continue
        body = decode(m)
        entries = body if isinstance(body, list) else [body]
        for entry in entries:
            if channel is not None and entry.get("number") != channel:
                continue
            ts, value = entry.get("ts"), entry.get(field)
            # the archive keys a point by int(ts * 1e9) and selects int(since * 1e9) <= key <= ...
            key = int(ts * 1e9)
            if isinstance(value, int | float) and int(start * 1e9) <= key <= int(stop * 1e9):
                found[key / 1e9] = float(value)
    return found


def check_conditions(p: Probe, record: Record, points: bool = True) -> None:
    """The record's conditions are exactly what was published in its UTC window; with ``points``,
    the window held samples (a run that fails at once may end within one device period)."""
    start, stop = record["start"].timestamp(), record["stop"].timestamp()
    assert record["conditions_complete"] is True
    by_signal = {c["signal"]: c for c in record["conditions"]}
    assert set(by_signal) >= {"hv:0.vmon", "hv:0.imon", "lv:0.vmon", "lv:0.imon", "env.temperature"}
    assert {"env.humidity", "env.dewpoint", "env.dewpoint_margin"} <= set(by_signal)
    for label, device, field, channel in (
        ("hv:0.vmon", "hv", "vmon", 0),
        ("lv:0.imon", "lv", "imon", 0),
        ("env.temperature", "env", "temperature", None),
    ):
        series = published(p, device, field, start, stop, channel)
        summary = by_signal[label]
        assert summary["count"] == len(series), (label, summary, len(series))
        assert len(series) > 0 or not points, (label, summary)
        if not series:
            continue
        values = [series[t] for t in sorted(series)]
        assert (summary["min"], summary["max"]) == (min(values), max(values))
        assert (summary["first"], summary["last"]) == (values[0], values[-1])
