"""Safety with a real broker and the simulators: sequencing, interlocks, alarms, watchdog."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import TIMEOUT, BrokerProcess, Probe, dcs_argv, decode, probe
from tests.receivers import MailBox, WebHook, json_url, mail_url
from trackerdcs.devices.physics import dew_point
from trackerdcs.services.device.build import device_service
from trackerdcs.services.device.service import DeviceService
from trackerdcs.services.safety.build import safety_service
from trackerdcs.services.safety.service import SafetyService
from trackerdcs.stand import Stand, parse_stand

pytestmark = pytest.mark.broker

STAND = """
name = "safety-test"

[[devices]]
name = "hv"
kind = "hv"
period = 0.2
ramp_up = 100.0
ramp_down = 100.0
ramp_max = 500.0
require_heartbeat = 1.0

[[devices]]
name = "lv"
kind = "lv"
period = 0.2

[[devices]]
name = "env"
kind = "env"
period = 0.1
seed = 1
sim = { temperature = 20.0, humidity = 30.0, drift = 0.0, noise = 0.0 }

[[modules]]
name = "M1"
lv = "lv:0"
hv = "hv:0"
hv_voltage = 200.0
timeout = 10.0

[interlock]
heartbeat = 0.2

[[rules]]
name = "dewpoint"
signal = "env.dewpoint_margin"
below = 3.0
hysteresis = 0.5
hv_off = ["*"]

[[rules]]
name = "warm"
signal = "env.temperature"
above = 38.0
severity = "warning"
latch = false

[[rules]]
name = "env_stale"
stale = "env"
after_s = 1.0
inhibit_hv = ["*"]
"""


class Stack:
    """Device services and the safety service of one stand, in this event loop."""

    def __init__(self, stand: Stand, broker: BrokerProcess, data_dir: Path | None = None) -> None:
        self.stand, self.broker, self.data_dir = stand, broker, data_dir
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.services: dict[str, DeviceService | SafetyService] = {}

    async def start(self, name: str) -> None:
        if name == "safety":
            service: DeviceService | SafetyService = safety_service(
                self.stand, self.broker.settings, self.data_dir
            )
        else:
            service = device_service(self.stand, name, self.broker.settings)
        self.services[name] = service
        self.tasks[name] = asyncio.create_task(service.run())
        async with asyncio.timeout(TIMEOUT):
            await service.connected.wait()

    async def stop(self, name: str) -> None:
        task = self.tasks.pop(name)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def running_stack(
    broker: BrokerProcess,
    text: str = STAND,
    with_safety: bool = True,
    data_dir: Path | None = None,
    ready: str = "OFF",
) -> AsyncIterator[tuple[Stack, Probe]]:
    stack = Stack(parse_stand(text, "test.toml"), broker, data_dir)
    try:
        async with probe(broker.settings) as p:
            for name in ("safety", "hv", "lv", "env") if with_safety else ("hv", "lv", "env"):
                await stack.start(name)
            await module_state(p, ready)
            yield stack, p
    finally:
        for name in list(stack.tasks):
            await stack.stop(name)


async def module_state(p: Probe, state: str, start: int = 0) -> dict[str, Any]:
    return await p.status("M1", lambda s: s.get("state") == state, start=start)  # type: ignore[no-any-return]


async def alarms(p: Probe, check: Any, start: int = 0) -> list[dict[str, Any]]:
    message = await p.wait_for(
        lambda m: m.topic.value == "/interlock/alarms" and check(decode(m)), start=start
    )
    return decode(message)  # type: ignore[no-any-return]


async def accepted_eventually(p: Probe, topic: str, payload: str) -> None:
    """Repeat a command until accepted: the device acts on the status it has seen last."""
    async with asyncio.timeout(TIMEOUT):
        while not (await p.command(topic, payload)).ok:
            await asyncio.sleep(0.05)


async def refused_eventually(p: Probe, topic: str, payload: str, why: str) -> str:
    """Repeat a command until refused with ``why`` in the message (the device acts on what it saw last)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            reply = await p.command(topic, payload)
            if not reply.ok and why in reply.message:
                return reply.message
            await asyncio.sleep(0.05)


async def test_module_on_sequences_lv_then_hv_and_off_reverses_it(broker: BrokerProcess) -> None:
    async with running_stack(broker) as (_, p):
        mark = p.mark()
        reply = await p.command("/M1/cmd/on", "")
        assert reply.ok, reply.message
        await module_state(p, "HV_ON", mark)
        states = [decode(m)["state"] for m in p.messages[mark:] if m.topic.value == "/M1/status"]
        assert states.index("LV_ON") < states.index("HV_ON")
        hv = await p.status("hv", lambda s: s[0]["state"] == "on" and s[0]["vmon"] == 200.0)
        assert hv[0]["on"] == 1
        mark = p.mark()
        assert (await p.command("/M1/cmd/off", "")).ok
        await module_state(p, "OFF", mark)
        order = [
            (m.topic.value, decode(m)[0]["on"])
            for m in p.messages[mark:]
            if m.topic.value in ("/hv/status", "/lv/status")
        ]
        hv_off = next(i for i, (t, on) in enumerate(order) if t == "/hv/status" and on == 0)
        lv_off = next(i for i, (t, on) in enumerate(order) if t == "/lv/status" and on == 0)
        assert hv_off < lv_off


async def test_illegal_transitions_are_refused_with_a_reason(broker: BrokerProcess) -> None:
    async with running_stack(broker) as (_, p):
        refused = await p.command("/hv/cmd/switch/0", "on")
        assert (refused.ok, refused.reason) == (False, "sequence")
        assert "LV lv:0" in refused.message
        assert (await p.command("/lv/cmd/setv/0", "10.5")).ok
        assert (await p.command("/lv/cmd/switch/0", "on")).ok
        await p.status("lv", lambda s: s[0]["state"] == "on")
        assert (await p.command("/hv/cmd/setv/0", "100")).ok
        assert (await p.command("/hv/cmd/switch/0", "on")).ok
        await p.status("hv", lambda s: s[0]["vmon"] > 50)
        refused = await p.command("/lv/cmd/switch/0", "off")
        assert (refused.ok, refused.reason) == (False, "sequence")
        assert "HV hv:0 is down" in refused.message
        assert (await p.command("/M1/cmd/dance", "")).reason == "unknown_command"
        assert (await p.command("/hv/cmd/switch/0", "off")).ok
        await p.status("hv", lambda s: s[0]["state"] == "off")
        await accepted_eventually(p, "/lv/cmd/switch/0", "off")  # once lv has seen hv down


async def test_dew_point_ramps_hv_down_and_hv_stays_off_until_the_alarm_is_acknowledged(
    broker: BrokerProcess,
) -> None:
    async with running_stack(broker) as (_, p):
        assert (await p.command("/M1/cmd/on", "")).ok
        await module_state(p, "HV_ON")
        mark = p.mark()
        assert (await p.command("/env/sim/humidity", "95")).ok
        await p.status("hv", lambda s: s[0]["on"] == 0, start=mark)
        await p.status("hv", lambda s: s[0]["state"] == "off" and s[0]["vmon"] == 0.0, start=mark)
        [alarm] = await alarms(p, lambda a: any(x["id"] == "dewpoint" for x in a), mark)
        assert alarm["active"] and alarm["severity"] == "alarm"
        await module_state(p, "INTERLOCKED", mark)
        refused = await p.command("/hv/cmd/switch/0", "on")
        assert (refused.ok, refused.reason) == (False, "interlocked")
        assert (await p.command("/M1/cmd/on", "")).reason == "interlocked"
        # The condition clears: nothing switches back on, and the latched interlock holds
        # until someone acknowledges the alarm (a manual reset).
        mark = p.mark()
        assert (await p.command("/env/sim/humidity", "30")).ok
        [alarm] = await alarms(p, lambda a: a and not a[0]["active"], mark)
        assert not alarm["acknowledged"]
        await refused_eventually(p, "/hv/cmd/switch/0", "on", "dewpoint (waiting for acknowledgement)")
        assert "waiting for acknowledgement" in (await p.command("/M1/cmd/on", "")).message
        assert all(decode(m)[0]["on"] == 0 for m in p.messages[mark:] if m.topic.value == "/hv/status")
        assert all(
            decode(m)["state"] == "INTERLOCKED" for m in p.messages[mark:] if m.topic.value == "/M1/status"
        )
        ack = await p.command("/interlock/cmd/ack", json.dumps({"id": "dewpoint", "by": "shifter"}))
        assert ack.ok, ack.message
        await alarms(p, lambda a: a == [], mark)
        await module_state(p, "LV_ON", mark)
        await accepted_eventually(p, "/hv/cmd/switch/0", "on")
        events = [decode(m) for m in p.messages if m.topic.value == "/interlock/events"]
        assert [e["event"] for e in events] == ["raised", "cleared", "acknowledged", "removed"]
        assert events[2]["by"] == "shifter"


async def test_a_silent_sensor_inhibits_hv(broker: BrokerProcess) -> None:
    async with running_stack(broker) as (stack, p):
        assert (await p.command("/lv/cmd/setv/0", "10.5")).ok
        assert (await p.command("/lv/cmd/switch/0", "on")).ok
        await p.status("lv", lambda s: s[0]["state"] == "on")
        mark = p.mark()
        await stack.stop("env")
        await alarms(p, lambda a: any(x["id"] == "env_stale" for x in a), mark)
        refused = await p.command("/hv/cmd/switch/0", "on")
        assert (refused.ok, refused.reason) == (False, "interlocked")
        assert "env_stale" in refused.message


async def test_hv_ramps_down_when_the_interlock_is_killed(broker: BrokerProcess, tmp_path: Path) -> None:
    stand = tmp_path / "stand.toml"
    stand.write_text(STAND)
    argv = dcs_argv(
        "safety", "run", "--config", str(stand), "--broker", broker.url, "--data-dir", str(tmp_path)
    )
    safety = await asyncio.create_subprocess_exec(*argv, stderr=asyncio.subprocess.DEVNULL)
    async with running_stack(broker, with_safety=False) as (_, p):
        assert (await p.command("/M1/cmd/on", "")).ok
        await module_state(p, "HV_ON")
        mark = p.mark()
        safety.kill()  # kill -9: no goodbye, the heartbeat just stops
        await safety.wait()
        await p.status("hv", lambda s: s[0]["on"] == 0, start=mark)
        refused = await p.command("/hv/cmd/switch/0", "on")
        assert refused.reason == "interlocked"
        assert "heartbeat" in refused.message


async def dcs(*args: str) -> tuple[int, str]:
    """Run the CLI without blocking the services in this event loop."""
    proc = await asyncio.create_subprocess_exec(
        *dcs_argv(*args), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    async with asyncio.timeout(60):
        out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_operator_cli_for_modules_and_alarms(mosquitto: BrokerProcess) -> None:
    url = mosquitto.url
    async with running_stack(mosquitto) as (_, p):
        code, out = await dcs("module", "on", "M1", "--broker", url)
        assert code == 0, out
        assert "M1: accepted: module M1: on sequence started" in out
        await module_state(p, "HV_ON")
        code, out = await dcs("module", "status", "--broker", url)
        assert code == 0, out
        assert "M1" in out and "HV_ON" in out
        assert (await p.command("/env/sim/humidity", "95")).ok
        await alarms(p, lambda a: bool(a))
        code, out = await dcs("alarms", "--broker", url)
        assert "dewpoint" in out and "ACTIVE" in out
        code, out = await dcs("module", "on", "M1", "--broker", url)
        assert code == 1
        assert "rejected (interlocked)" in out
        code, out = await dcs("ack", "dewpoint", "--by", "night-shift", "--broker", url)
        assert code == 0, out
        code, out = await dcs("ack", "nonexistent", "--broker", url)
        assert code == 1
        assert "no alarm 'nonexistent'" in out


def test_rules_test_replays_a_recording(tmp_path: Path) -> None:
    recording = tmp_path / "night.csv"
    rows = ["ts,device,field,value"]
    for i, humidity in enumerate([30, 40, 60, 80, 90, 70, 40]):
        rows += [f"{1000 + i},env,temperature,20", f"{1000 + i},env,humidity,{humidity}"]
    rows += [
        f"{1000 + i},env,dewpoint,{dew_point(20, h):.3f}" for i, h in enumerate([30, 40, 60, 80, 90, 70, 40])
    ]
    recording.write_text("\n".join(rows) + "\n")
    result = subprocess.run(
        dcs_argv("rules", "test", str(recording)), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    fired = [line for line in lines if "FIRED" in line]
    assert len(fired) == 1
    assert fired[0].startswith("1004.000") and "dewpoint" in fired[0]  # 90 %: margin 1.7 °C
    assert any(line.startswith("1005.000") and "cleared" in line and "dewpoint" in line for line in lines)
    assert lines[-1] == "1 of 4 rules fired: dewpoint"


def test_rules_test_names_a_bad_recording(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("time,what\n1,2\n")
    result = subprocess.run(dcs_argv("rules", "test", str(bad)), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"{bad}: CSV needs the columns ts, device, field, value" in result.stderr


async def test_alarms_reach_email_and_a_webhook_once_even_when_flapping(
    mosquitto: BrokerProcess, hook: WebHook, smtp: tuple[MailBox, int]
) -> None:
    box, smtp_port = smtp
    urls = f'notify = ["{json_url(hook.port)}", "{mail_url(smtp_port)}"]'
    text = STAND.replace("heartbeat = 0.2", f"heartbeat = 0.2\n{urls}")
    async with running_stack(mosquitto, text) as (_, p):
        for humidity in ("95", "30", "95", "30"):
            mark = p.mark()
            assert (await p.command("/env/sim/humidity", humidity)).ok
            active = humidity == "95"
            await alarms(p, lambda a, active=active: bool(a) and a[0]["active"] is active, mark)
        async with asyncio.timeout(TIMEOUT):
            while len(hook.posts) < 2 or len(box.messages) < 2:
                await asyncio.sleep(0.05)
    titles = [post.body["title"] for post in hook.posts]
    assert titles == ["[ALARM] safety-test: dewpoint raised", "[ALARM] safety-test: dewpoint cleared"]
    assert box.subjects() == titles
    assert "env.dewpoint_margin" in hook.posts[0].body["message"]
