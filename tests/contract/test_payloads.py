"""Payloads of the contract: parsing command payloads, stamping and serialising status."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from trackerdcs.contract.payloads import (
    MAX_PAYLOAD_BYTES,
    CommandRejected,
    Reason,
    Reply,
    decode_text,
    dumps,
    parse_number,
    parse_switch,
    shorten,
    stamp_status,
)

# -- numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100", 100.0),
        ("100.", 100.0),
        ("1e2", 100.0),
        (" 100 ", 100.0),
        ("-5", -5.0),
        ("0", 0.0),
        ("2.5e-6", 2.5e-6),
        ("1E3", 1000.0),
    ],
)
def test_parse_number_accepts_the_seed_formats(text: str, value: float) -> None:
    result = parse_number(text)
    assert result == value
    assert type(result) is float


@pytest.mark.parametrize(
    "text", ["nan", "NaN", "inf", "-inf", "Infinity", "1e309", "abc", "", " ", "1,5", "0x10", "10V", "1 0"]
)
def test_parse_number_rejects_non_numbers_and_non_finite_values(text: str) -> None:
    with pytest.raises(CommandRejected) as info:
        parse_number(text)
    assert info.value.reason is Reason.BAD_PAYLOAD
    assert info.value.message == str(info.value)


def test_a_rejection_message_says_what_was_expected() -> None:
    with pytest.raises(CommandRejected, match="expected a number, got 'abc'"):
        parse_number("abc")
    with pytest.raises(CommandRejected, match="number must be finite, got 'nan'"):
        parse_number("nan")


def test_a_rejection_message_shortens_a_long_payload() -> None:
    with pytest.raises(CommandRejected) as info:
        parse_number("x" * 500)
    assert len(info.value.message) < 100
    assert "…" in info.value.message


# -- switch ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "on"),
    [
        ("on", True),
        ("ON", True),
        ("On", True),
        ("1", True),
        ("true", True),
        ("TRUE", True),
        (' "on" ', True),
        ("off", False),
        ("OFF", False),
        ("0", False),
        ("false", False),
        ("False", False),
    ],
)
def test_parse_switch_accepts_on_off_one_zero_true_false(text: str, on: bool) -> None:
    assert parse_switch(text) is on


@pytest.mark.parametrize("text", ["maybe", "", "2", "yes", "no", "o n", "onn", "-1", "1.0"])
def test_parse_switch_rejects_other_words(text: str) -> None:
    with pytest.raises(CommandRejected, match="expected 'on' or 'off'") as info:
        parse_switch(text)
    assert info.value.reason is Reason.BAD_PAYLOAD


# -- decoding ----------------------------------------------------------------------------


def test_decode_text_strips_and_keeps_utf8() -> None:
    assert decode_text(b"  on\r\n") == "on"
    assert decode_text("\t25 °C ".encode()) == "25 °C"
    assert decode_text(b"") == ""


def test_decode_text_accepts_exactly_the_maximum_size() -> None:
    assert decode_text(b"1" * MAX_PAYLOAD_BYTES) == "1" * MAX_PAYLOAD_BYTES


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"1" * (MAX_PAYLOAD_BYTES + 1), f"payload too large: {MAX_PAYLOAD_BYTES + 1} bytes"),
        (b"9" * 100_000, "payload too large"),
        (b"\xff\xfe\x81", "not UTF-8"),
        (b"\xc3", "not UTF-8"),  # a truncated two-byte sequence
        (b"1\x00", "control characters"),
        (b"\x1b[31mred", "control characters"),
        (b"on\x07", "control characters"),
    ],
)
def test_decode_text_rejects_oversize_binary_and_control_characters(raw: bytes, message: str) -> None:
    with pytest.raises(CommandRejected, match=message) as info:
        decode_text(raw)
    assert info.value.reason is Reason.BAD_PAYLOAD


@pytest.mark.parametrize("raw", [b"1\x7f", "1\u009b".encode()])
def test_decode_text_rejects_del_and_c1_control_characters(raw: bytes) -> None:
    with pytest.raises(CommandRejected):
        decode_text(raw)


@given(st.binary(max_size=2 * MAX_PAYLOAD_BYTES))
def test_any_bytes_give_a_finite_number_or_a_bad_payload(raw: bytes) -> None:
    try:
        value = parse_number(decode_text(raw))
    except CommandRejected as exc:
        assert exc.reason is Reason.BAD_PAYLOAD
        return
    assert isinstance(value, float)
    assert math.isfinite(value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_finite_float_survives_its_own_text(value: float) -> None:
    assert parse_number(decode_text(repr(value).encode())) == value


# -- status and replies ------------------------------------------------------------------


def test_stamp_status_adds_time_and_sequence_to_every_list_entry() -> None:
    body = [{"number": 0, "on": 0, "vreq": 0.0}, {"number": 1, "on": 1, "vreq": 5.0}]
    stamped = stamp_status(body, 1_700_000_000.5, 7)
    assert stamped == [
        {"number": 0, "on": 0, "vreq": 0.0, "ts": 1_700_000_000.5, "seq": 7},
        {"number": 1, "on": 1, "vreq": 5.0, "ts": 1_700_000_000.5, "seq": 7},
    ]
    assert body[0] == {"number": 0, "on": 0, "vreq": 0.0}  # the sample itself is left alone


def test_stamp_status_adds_time_and_sequence_to_a_dict() -> None:
    body = {"meas1": 0.5, "meas2": -0.5}
    assert stamp_status(body, 1.0, 2) == {"meas1": 0.5, "meas2": -0.5, "ts": 1.0, "seq": 2}
    assert "ts" not in body


def test_dumps_keeps_floats_as_floats_and_keys_in_order() -> None:
    assert dumps(0.0) == "0.0"
    assert dumps({"vreq": 0.0, "on": 0}) == '{"vreq": 0.0, "on": 0}'
    assert dumps([{"number": 0, "vmon": 1000.0}]) == '[{"number": 0, "vmon": 1000.0}]'
    assert json.loads(dumps({"x": 0.0}))["x"] == 0.0


def test_dumps_refuses_nan() -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        dumps({"vmon": float("nan")})


def test_reply_serialises_with_the_reason_as_text() -> None:
    reply = Reply(
        ok=False,
        device="hv",
        topic="/hv/cmd/setv/0",
        payload="2000",
        command="setv",
        channel=0,
        reason=Reason.OUT_OF_RANGE,
        message="voltage 2000 V is outside [0, 1000] V",
        ts=1_700_000_000.25,
    )
    data = json.loads(reply.model_dump_json())
    assert data == {
        "ok": False,
        "device": "hv",
        "topic": "/hv/cmd/setv/0",
        "payload": "2000",
        "command": "setv",
        "channel": 0,
        "reason": "out_of_range",
        "message": "voltage 2000 V is outside [0, 1000] V",
        "ts": 1_700_000_000.25,
    }
    assert Reply.model_validate_json(reply.model_dump_json()) == reply


def test_a_successful_reply_has_no_reason() -> None:
    reply = Reply(ok=True, device="hv", topic="/hv/cmd/rebirth", payload="", message="ok", ts=0.0)
    data = json.loads(reply.model_dump_json())
    assert (data["reason"], data["command"], data["channel"]) == (None, None, None)


def test_reply_refuses_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Reply.model_validate(
            {"ok": True, "device": "hv", "topic": "t", "payload": "", "message": "", "ts": 0.0, "x": 1}
        )


def test_shorten() -> None:
    assert shorten("abc") == "abc"
    assert shorten("a" * 64) == "a" * 64
    short = shorten("a" * 65)
    assert len(short) == 64
    assert short.endswith("…")
