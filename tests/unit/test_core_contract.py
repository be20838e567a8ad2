"""The MQTT contract without a broker: topics and payload parsing."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trackerdcs.contract.payloads import (
    MAX_PAYLOAD_BYTES,
    CommandRejected,
    Reason,
    decode_text,
    dumps,
    parse_number,
    parse_switch,
    stamp_status,
)
from trackerdcs.contract.topics import Action, DeviceTopics, Inbound, TopicError, parse_inbound


def test_device_topics_follow_the_seed() -> None:
    t = DeviceTopics("hv")
    assert (t.status, t.availability, t.reply, t.meta) == (
        "/hv/status",
        "/hv/availability",
        "/hv/reply",
        "/hv/meta",
    )
    assert t.cmd("setv", 0) == "/hv/cmd/setv/0"
    assert t.cmd("rebirth") == "/hv/cmd/rebirth"
    assert t.sim("humidity") == "/hv/sim/humidity"
    assert t.cmd_filter == "/hv/cmd/#"


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("/hv/cmd/setv/0", Inbound("hv", Action.CMD, "setv", 0)),
        ("/sensor_1/cmd/rebirth", Inbound("sensor_1", Action.CMD, "rebirth", None)),
        ("/env/sim/humidity", Inbound("env", Action.SIM, "humidity", None)),
        ("/hv/sim/leakage_scale/3", Inbound("hv", Action.SIM, "leakage_scale", 3)),
    ],
)
def test_parse_inbound(topic: str, expected: Inbound) -> None:
    assert parse_inbound(topic) == expected


@pytest.mark.parametrize(
    "topic",
    [
        "hv/cmd/setv/0",
        "/hv/cmd",
        "/hv/cmd/setv/0/1",
        "/hv/do/setv/0",
        "/hv/cmd/setv/x",
        "/hv/cmd/setv/-1",
        "/hv/cmd/setv/00000",
        "/h v/cmd/setv/0",
        "/hv/cmd/se+tv/0",
        "/" + "a" * 300,
    ],
)
def test_malformed_topics_are_refused(topic: str) -> None:
    with pytest.raises(TopicError):
        parse_inbound(topic)


@given(st.text(max_size=80))
def test_any_topic_parses_or_raises_topic_error(topic: str) -> None:
    try:
        inbound = parse_inbound(topic)
    except TopicError:
        return
    assert DeviceTopics(inbound.device)._inbound(inbound.action, inbound.name, inbound.channel) == topic


@pytest.mark.parametrize(
    ("text", "value"), [("100", 100.0), ("100.", 100.0), ("1e2", 100.0), (" 7.5 ", 7.5), ("-5", -5.0)]
)
def test_numbers_in_the_seed_formats(text: str, value: float) -> None:
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "NaN", "abc", "", "1,5", "0x10"])
def test_bad_numbers_are_rejected(text: str) -> None:
    with pytest.raises(CommandRejected) as info:
        parse_number(text)
    assert info.value.reason is Reason.BAD_PAYLOAD


@pytest.mark.parametrize(
    ("text", "on"), [("on", True), ("OFF", False), ("1", True), ("0", False), ("true", True)]
)
def test_switch_words(text: str, on: bool) -> None:
    assert parse_switch(text) is on


def test_switch_rejects_other_words() -> None:
    with pytest.raises(CommandRejected, match="expected 'on' or 'off'"):
        parse_switch("maybe")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"1" * (MAX_PAYLOAD_BYTES + 1), "payload too large"),
        (b"\xff\xfe\x81", "not UTF-8"),
        (b"1\x00", "control"),
    ],
)
def test_decode_rejects_oversize_binary_and_control_characters(raw: bytes, message: str) -> None:
    with pytest.raises(CommandRejected, match=message):
        decode_text(raw)


@given(st.binary(max_size=2000))
def test_any_bytes_give_a_finite_number_or_a_rejection(raw: bytes) -> None:
    try:
        value = parse_number(decode_text(raw))
    except CommandRejected as exc:
        assert exc.reason is Reason.BAD_PAYLOAD
        return
    assert math.isfinite(value)


def test_status_keeps_seed_keys_and_gains_time_and_sequence() -> None:
    body = stamp_status([{"number": 0, "on": 0, "vreq": 0.0}], 1700000000.5, 7)
    assert dumps(body) == '[{"number": 0, "on": 0, "vreq": 0.0, "ts": 1700000000.5, "seq": 7}]'
    assert stamp_status({"meas1": 0.5}, 1.0, 2) == {"meas1": 0.5, "ts": 1.0, "seq": 2}
