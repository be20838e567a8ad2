"""A rule that fires switches a device's channels off with one command, and falls back
to one command per channel when the device does not take it."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.helpers import BrokerProcess, Probe, decode, probe
from tests.services.safety.test_safety_service import Stack, accepted_eventually, alarms, running_stack
from trackerdcs.services.device.commands import CommandHandler
from trackerdcs.stand import parse_stand

pytestmark = pytest.mark.broker

CHANNELS = 4
STAND = (
    f"""
name = "switch-off-test"

[[devices]]
name = "hv"
kind = "hv"
channels = {CHANNELS}
period = 0.2
ramp_up = 500.0
ramp_max = 500.0

[[devices]]
name = "lv"
kind = "lv"
channels = {CHANNELS}
period = 0.2

[[devices]]
name = "env"
kind = "env"
period = 0.1
seed = 1
sim = {{ temperature = 20.0, humidity = 30.0, drift = 0.0, noise = 0.0 }}
"""
    + "".join(f'[[modules]]\nname = "M{c + 1}"\nlv = "lv:{c}"\nhv = "hv:{c}"\n' for c in range(CHANNELS))
    + """
[[rules]]
name = "dewpoint"
signal = "env.dewpoint_margin"
below = 3.0
hysteresis = 0.5
hv_off = ["*"]
"""
)


async def power_up(p: Probe) -> None:
    for c in range(CHANNELS):
        assert (await p.command(f"/lv/cmd/setv/{c}", "10.5")).ok
        assert (await p.command(f"/lv/cmd/switch/{c}", "on")).ok
    for c in range(CHANNELS):
        assert (await p.command(f"/hv/cmd/setv/{c}", "100")).ok
        await accepted_eventually(p, f"/hv/cmd/switch/{c}", "on")  # once hv has seen its LV on


def switch_commands(p: Probe, start: int) -> list[tuple[str, Any]]:
    """What was sent to /hv/cmd/switch..., in order."""
    return [
        (m.topic.value, decode(m)) for m in p.messages[start:] if m.topic.value.startswith("/hv/cmd/switch")
    ]


async def all_off(p: Probe, start: int) -> None:
    def off(status: Any) -> bool:
        return isinstance(status, list) and all(entry["on"] == 0 for entry in status)

    await p.status("hv", off, start=start)


async def test_a_rule_switches_a_devices_channels_off_with_one_command(broker: BrokerProcess) -> None:
    async with running_stack(broker, STAND) as (_, p):
        await power_up(p)
        start = p.mark()
        assert (await p.command("/env/sim/humidity", "95")).ok
        reply = await p.reply("hv", "/hv/cmd/switch", start=start)
        assert (reply.ok, reply.channel, reply.message) == (True, None, "channels 0-3: output off")
        await all_off(p, start)
        assert switch_commands(p, start) == [("/hv/cmd/switch", {"off": [0, 1, 2, 3]})]


async def test_a_device_that_refuses_the_list_is_told_channel_by_channel(
    broker: BrokerProcess, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """As a device service from before the command: `switch` without a channel is a bad topic."""
    monkeypatch.setattr(CommandHandler, "_switches_many", lambda self, inbound: False)
    caplog.set_level(logging.WARNING, logger="trackerdcs.services.safety")
    async with running_stack(broker, STAND) as (_, p):
        await power_up(p)
        start = p.mark()
        assert (await p.command("/env/sim/humidity", "95")).ok
        refused = await p.reply("hv", "/hv/cmd/switch", start=start)
        assert (refused.ok, refused.reason) == (False, "bad_topic")
        for c in range(CHANNELS):
            assert (await p.reply("hv", f"/hv/cmd/switch/{c}", start=start)).ok
        await all_off(p, start)
        topics = [topic for topic, _ in switch_commands(p, start)]
        assert topics[0] == "/hv/cmd/switch"
        assert sorted(topics[1:]) == [f"/hv/cmd/switch/{c}" for c in range(CHANNELS)]
    assert "hv channels 0-3 not switched off together (bad_topic" in caplog.text
    assert "could not switch" not in caplog.text


async def test_a_devices_switch_off_waits_for_it_and_goes_as_one_command(
    broker: BrokerProcess, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="trackerdcs.services.safety")
    stack = Stack(parse_stand(STAND, "test.toml"), broker)
    async with probe(broker.settings) as p:
        try:
            for name in ("safety", "lv", "env"):
                await stack.start(name)
            assert (await p.command("/env/sim/humidity", "95")).ok
            await alarms(p, lambda a: any(x["id"] == "dewpoint" for x in a))
            assert switch_commands(p, 0) == []  # nobody to tell
            await stack.start("hv")
            reply = await p.reply("hv", "/hv/cmd/switch")
            assert (reply.ok, reply.payload) == (True, '{"off":[0,1,2,3]}')
            await p.wait_for(lambda _: "applied on arrival" in caplog.text)
        finally:
            for name in list(stack.tasks):
                await stack.stop(name)
    assert "rule dewpoint: hv channels 0-3 switched off, applied on arrival" in caplog.text
