"""Safety across restarts, with a real broker: fresh samples only, the alarm book kept,
latched interlocks reset by hand, switch-offs that wait for their device."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import BrokerProcess, Probe, decode, probe
from tests.services.safety.test_safety_service import (
    STAND,
    Stack,
    accepted_eventually,
    alarms,
    refused_eventually,
    running_stack,
)
from trackerdcs.stand import parse_stand

pytestmark = pytest.mark.broker

# env gets 10 s before its staleness raises an alarm: start-up on a busy machine stays quiet.
PATIENT = STAND.replace("after_s = 1.0", "after_s = 10.0")
NON_LATCHING = STAND.replace(
    'severity = "warning"\nlatch = false', 'severity = "warning"\nlatch = false\ninhibit_hv = ["*"]'
)
WET = {"temperature": 20.0, "humidity": 95.0, "dewpoint": 19.2}  # dew-point margin 0.8 °C


def events(p: Probe, start: int = 0) -> list[dict[str, Any]]:
    return [decode(m) for m in p.messages[start:] if m.topic.value == "/interlock/events"]


async def lv_on(p: Probe) -> None:
    assert (await p.command("/lv/cmd/setv/0", "10.5")).ok
    assert (await p.command("/lv/cmd/switch/0", "on")).ok
    await p.status("lv", lambda s: s[0]["state"] == "on")


async def test_a_non_latching_rule_lifts_its_inhibit_when_it_clears(broker: BrokerProcess) -> None:
    async with running_stack(broker, NON_LATCHING) as (_, p):
        await lv_on(p)
        assert (await p.command("/env/sim/temperature", "39")).ok
        await refused_eventually(p, "/hv/cmd/switch/0", "on", "warm")
        assert (await p.command("/env/sim/temperature", "20")).ok
        await accepted_eventually(p, "/hv/cmd/switch/0", "on")  # no acknowledgement needed


async def test_an_active_latched_alarm_survives_a_restart_and_holds_hv_off_until_acked(
    broker: BrokerProcess, tmp_path: Path
) -> None:
    async with running_stack(broker, PATIENT, data_dir=tmp_path) as (_, p):
        assert (await p.command("/env/sim/humidity", "95")).ok
        [before] = await alarms(p, lambda a: any(x["id"] == "dewpoint" and x["active"] for x in a))
    assert (tmp_path / "safety-test" / "alarms.json").is_file()
    async with running_stack(broker, PATIENT, data_dir=tmp_path, ready="INTERLOCKED") as (_, p):
        # The retained list of the last session comes first; then the new service's own.
        [after] = await alarms(p, lambda a: any(x["id"] == "dewpoint" and x["predates_restart"] for x in a))
        assert (after["raised_at"], after["value"]) == (before["raised_at"], before["value"])
        assert after["history"][0]["event"] == "raised"
        refused = await p.command("/hv/cmd/switch/0", "on")
        assert (refused.ok, refused.reason) == (False, "interlocked")
        assert "dewpoint" in refused.message
        # env is back at 30 %RH: the rule clears on fresh data, the alarm waits for its ack.
        await alarms(p, lambda a: [(x["id"], x["active"]) for x in a] == [("dewpoint", False)])
        await refused_eventually(p, "/hv/cmd/switch/0", "on", "dewpoint (waiting for acknowledgement)")
        assert not [e for e in events(p) if e["event"] == "raised"]  # not raised again
        assert (await p.command("/interlock/cmd/ack", json.dumps({"id": "dewpoint", "by": "t"}))).ok
        await lv_on(p)
        await accepted_eventually(p, "/hv/cmd/switch/0", "on")


async def test_a_corrupt_alarm_book_holds_hv_off_until_acknowledged(
    broker: BrokerProcess, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    book = tmp_path / "safety-test" / "alarms.json"
    book.parent.mkdir(parents=True)
    book.write_text('{"format": "trackerdcs-alarm-book", "alarms": [')
    async with running_stack(broker, PATIENT, data_dir=tmp_path, ready="INTERLOCKED") as (_, p):
        await alarms(p, lambda a: [x["id"] for x in a] == ["alarm_book"])
        assert "alarm book unreadable" in caplog.text and str(book) in caplog.text
        assert book.with_name("alarms.json.unreadable").read_text().endswith("[")
        await lv_on(p)
        await refused_eventually(p, "/hv/cmd/switch/0", "on", "alarm_book")
        assert (await p.command("/interlock/cmd/ack", "alarm_book")).ok
        await accepted_eventually(p, "/hv/cmd/switch/0", "on")
    assert json.loads(book.read_text())["alarms"] == []


async def test_retained_stale_samples_at_start_up_raise_nothing_and_inhibit_until_fresh_data(
    broker: BrokerProcess,
) -> None:
    stack = Stack(parse_stand(PATIENT, "test.toml"), broker)
    async with probe(broker.settings) as p:
        old = {**WET, "ts": time.time() - 600, "seq": 41}  # the last session's status, still retained
        await p.client.publish("/env/status", json.dumps(old), qos=1, retain=True)
        await p.client.publish("/env/availability", "offline", qos=1, retain=True)
        try:
            for name in ("safety", "hv", "lv"):
                await stack.start(name)
            await lv_on(p)
            message = await refused_eventually(p, "/hv/cmd/switch/0", "on", "env_stale")
            assert "no fresh data from env yet" in message
            status = decode(await p.wait_for(lambda m: m.topic.value == "/interlock/status"))
            assert status["rules"]["dewpoint"]["active"] is False
            mark = p.mark()
            await stack.start("env")
            await p.wait_for(
                lambda m: m.topic.value == "/interlock/inhibit" and not decode(m)["inhibit"], start=mark
            )
            await accepted_eventually(p, "/hv/cmd/switch/0", "on")
            assert events(p) == []  # neither the dew point nor the staleness raised an alarm
        finally:
            for name in list(stack.tasks):
                await stack.stop(name)


async def test_replayed_buffered_samples_are_judged_by_their_age(broker: BrokerProcess) -> None:
    async with running_stack(broker, PATIENT) as (_, p):
        now = time.time()
        for age in (60.0, 45.0, 30.0, 15.0):  # what a device sends after a broker outage
            await p.client.publish("/env/status", json.dumps({**WET, "ts": now - age}), qos=1)
        fresh = time.time()
        await p.client.publish("/env/status", json.dumps({**WET, "ts": fresh}), qos=1)
        await p.wait_for(lambda m: m.topic.value == "/interlock/events" and decode(m)["event"] == "raised")
        raised = [e for e in events(p) if e["event"] == "raised"]
        assert [(e["alarm"]["id"], e["alarm"]["raised_at"]) for e in raised] == [("dewpoint", fresh)]


async def test_a_switch_off_waits_for_its_device_to_come_online(
    broker: BrokerProcess, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="trackerdcs.services.safety")
    stack = Stack(parse_stand(PATIENT, "test.toml"), broker)
    async with probe(broker.settings) as p:
        try:
            for name in ("safety", "lv", "env"):
                await stack.start(name)
            assert (await p.command("/env/sim/humidity", "95")).ok
            await alarms(p, lambda a: any(x["id"] == "dewpoint" for x in a))
            assert not [m for m in p.messages if m.topic.value == "/hv/cmd/switch/0"]  # nobody to tell
            await stack.start("hv")
            await p.wait_for(
                lambda m: (
                    m.topic.value == "/hv/reply"
                    and decode(m).get("topic") == "/hv/cmd/switch/0"
                    and decode(m).get("ok") is True
                )
            )
            await p.wait_for(lambda _: "applied on arrival" in caplog.text)
        finally:
            for name in list(stack.tasks):
                await stack.stop(name)
    assert "could not switch" not in caplog.text
    assert "switched off, applied on arrival" in caplog.text
