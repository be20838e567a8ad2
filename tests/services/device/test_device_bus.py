"""The device bus through a real broker: the seed's contract and what we add to it."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import BrokerProcess, decode, probe, running_device
from trackerdcs.bus.session import publish_properties
from trackerdcs.contract.payloads import Reply
from trackerdcs.devices.physics import dew_point

pytestmark = pytest.mark.broker


async def test_new_subscriber_sees_retained_status_in_seed_format(broker: BrokerProcess) -> None:
    async with running_device(broker.settings, name="hv", kind="hv"):
        async with probe(broker.settings) as p:  # subscribes after the device published
            status = await p.status("hv")
            availability = await p.wait_for(lambda m: m.topic.value == "/hv/availability")
            meta = await p.wait_for(lambda m: m.topic.value == "/hv/meta")
    assert availability.retain and decode(availability) == "online"
    [channel] = status
    assert channel["number"] == 0 and type(channel["number"]) is int
    assert channel["on"] == 0 and type(channel["on"]) is int
    assert channel["vreq"] == 0.0 and type(channel["vreq"]) is float
    assert channel["state"] == "off"
    assert isinstance(channel["ts"], float) and isinstance(channel["seq"], int)
    assert decode(meta)["units"]["vmon"] == "V"


async def test_seed_walkthrough_setv_then_switch_on(broker: BrokerProcess) -> None:
    async with running_device(broker.settings, name="hv", kind="hv"), probe(broker.settings) as p:
        reply = await p.command("/hv/cmd/setv/0", "100.")
        assert reply.ok, reply.message
        await p.status("hv", lambda s: s[0]["vreq"] == 100.0)
        reply = await p.command("/hv/cmd/switch/0", "on")
        assert reply.ok, reply.message
        status = await p.status("hv", lambda s: s[0]["on"] == 1)
    assert status[0]["vreq"] == 100.0
    assert status[0]["state"] in ("ramping_up", "on")


BAD_INPUTS = [
    ("/hv/cmd/setv/0", b"abc", "bad_payload"),
    ("/hv/cmd/setv/0", b"nan", "bad_payload"),
    ("/hv/cmd/setv/0", b"inf", "bad_payload"),
    ("/hv/cmd/setv/0", b"-inf", "bad_payload"),
    ("/hv/cmd/setv/0", b"", "bad_payload"),
    ("/hv/cmd/setv/0", b"-1", "out_of_range"),
    ("/hv/cmd/setv/0", b"1000.5", "out_of_range"),
    ("/hv/cmd/setv/0", b"1" * 100_000, "bad_payload"),
    ("/hv/cmd/setv/0", bytes([0xFF, 0xFE, 0x00, 0x81, 0x7F]), "bad_payload"),
    ("/hv/cmd/setv/0", b'{"v": 100}', "bad_payload"),
    ("/hv/cmd/setv/3", b"10", "unknown_channel"),
    ("/hv/cmd/setv", b"10", "bad_topic"),
    ("/hv/cmd/setv/x", b"10", "bad_topic"),
    ("/hv/cmd/setv/0/1", b"10", "bad_topic"),
    ("/hv/cmd/setv/-1", b"10", "bad_topic"),
    ("/hv/cmd/launch/0", b"10", "unknown_command"),
    ("/hv/cmd/switch/0", b"maybe", "bad_payload"),
    ("/hv/cmd/seti/0", b"1", "out_of_range"),
    ("/hv/cmd/rampup/0", b"0", "out_of_range"),
    ("/hv/sim/no_such_knob", b"1", "unknown_command"),
    ("/hv/sim/leakage_scale", b"-3", "out_of_range"),
]


async def test_every_bad_input_is_rejected_and_the_service_keeps_going(broker: BrokerProcess) -> None:
    async with running_device(broker.settings, name="hv", kind="hv") as service, probe(broker.settings) as p:
        for topic, payload, reason in BAD_INPUTS:
            reply = await p.command(topic, payload)
            assert not reply.ok, f"{topic} {payload[:20]!r} was accepted"
            assert reply.reason == reason, f"{topic} {payload[:20]!r}: {reply.reason} {reply.message}"
            assert reply.message
        mark = p.mark()
        # Nothing changed, and status keeps coming with increasing sequence numbers.
        first = await p.status("hv", start=mark)
        later = await p.status("hv", lambda s: s[0]["seq"] > first[0]["seq"], start=mark)
        assert service.device.read().body[0]["vreq"] == 0.0  # type: ignore[index]
        assert later[0]["on"] == 0 and later[0]["vreq"] == 0.0
        assert (await p.command("/hv/cmd/setv/0", "10")).ok


async def test_reply_goes_to_the_v5_response_topic_with_correlation(mosquitto: BrokerProcess) -> None:
    async with running_device(mosquitto.settings, name="hv", kind="hv"), probe(mosquitto.settings) as p:
        props = publish_properties()
        props.ResponseTopic = "/hv/reply/test-client"
        props.CorrelationData = b"req-42"
        await p.client.publish("/hv/cmd/setv/0", "12.5", qos=1, properties=props)
        answer = await p.wait_for(lambda m: m.topic.value == "/hv/reply/test-client")
    assert answer.properties is not None
    assert getattr(answer.properties, "CorrelationData", None) == b"req-42"
    reply = Reply.model_validate(decode(answer))
    assert reply.ok and reply.command == "setv" and reply.channel == 0


async def test_rebirth_republishes_the_full_state(broker: BrokerProcess) -> None:
    async with running_device(broker.settings, name="lv", kind="lv", period=60), probe(broker.settings) as p:
        first = await p.status("lv")
        mark = p.mark()
        reply = await p.command("/lv/cmd/rebirth", "")
        assert reply.ok
        # With a 60 s period, a newer status within the timeout can only be the rebirth's. (Waiting
        # for "the next status" raced with a retained copy delivered twice by the embedded broker.)
        again = await p.status("lv", lambda s: s[0]["seq"] > first[0]["seq"], start=mark)
        await p.wait_for(lambda m: m.topic.value == "/lv/meta", start=mark)
    assert again[0]["vreq"] == first[0]["vreq"]  # the full state again, not a change


async def test_steering_humidity_moves_the_dew_point(broker: BrokerProcess) -> None:
    async with running_device(broker.settings, name="env", kind="env", seed=3), probe(broker.settings) as p:
        assert (await p.command("/env/sim/humidity", "95")).ok
        status = await p.status("env", lambda s: s["humidity"] > 90)
    expected = dew_point(status["temperature"], status["humidity"])
    assert status["dewpoint"] == pytest.approx(expected, abs=0.01)
    assert status["temperature"] - status["dewpoint"] < 1.5


async def test_leakage_steering_trips_a_channel_and_on_is_refused(broker: BrokerProcess) -> None:
    config = {"name": "hv", "kind": "hv", "ramp_up": 50.0, "ramp_max": 100.0}
    async with running_device(broker.settings, **config), probe(broker.settings) as p:
        for topic, payload in [("/hv/cmd/setv/0", "200"), ("/hv/cmd/switch/0", "on")]:
            assert (await p.command(topic, payload)).ok
        await p.status("hv", lambda s: s[0]["state"] == "on")
        assert (await p.command("/hv/sim/leakage_scale", "100")).ok
        status = await p.status("hv", lambda s: s[0]["state"] == "tripped")
        assert status[0]["on"] == 0 and status[0]["vmon"] == 0.0
        refused = await p.command("/hv/cmd/switch/0", "on")
        assert refused.reason == "tripped"
        assert (await p.command("/hv/cmd/reset/0", "")).ok
        await p.status("hv", lambda s: s[0]["state"] == "off")


async def test_device_reconnects_after_a_broker_restart_and_sends_what_it_sampled(
    broker: BrokerProcess,
) -> None:
    async with running_device(broker.settings, name="env", kind="env", period=0.1) as service:
        async with probe(broker.settings) as p:
            before = await p.status("env")
        broker.stop()
        async with asyncio.timeout(10):
            while service.connected.is_set() or len(service.outbox) < 5:
                await asyncio.sleep(0.05)  # polling the service's own state, not a fixed wait
        buffered = len(service.outbox)
        broker.start()
        async with asyncio.timeout(15):
            await service.connected.wait()
        async with probe(broker.settings) as p:
            assert (await p.command("/env/sim/temperature", "25")).ok
            await p.status("env", lambda s: s["seq"] > before["seq"] + buffered)
    assert service.outbox.dropped == 0
