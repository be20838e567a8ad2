"""The fast encoder writes exactly what the general path writes, for any payload."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from trackerdcs.archive import lineproto
from trackerdcs.archive.encode import encode_messages
from trackerdcs.archive.points import Message, decode

NAMES = st.text(st.characters(codec="utf-8"), min_size=1, max_size=8)
SCALARS = st.one_of(st.floats(), st.integers(-(2**53), 2**53), st.booleans(), st.text(max_size=10), st.none())
ENTRY = st.dictionaries(
    st.one_of(NAMES, st.sampled_from(["number", "ts", "seq", "time"])),
    st.one_of(SCALARS, st.dictionaries(NAMES, SCALARS, max_size=2), st.lists(SCALARS, max_size=2)),
    max_size=6,
)
BODY = st.one_of(ENTRY, st.lists(ENTRY, max_size=4))
DEVICES = st.sampled_from(["hv", "lv", "sensor_1", "a.b-c"])


def expected_lines(message: Message) -> list[str]:
    lines = (lineproto.line(p.measurement, p.tags, p.fields, p.time_ns) for p in decode(message).points)
    return [text for text in lines if text is not None]


@settings(max_examples=400)
@given(device=DEVICES, body=BODY, arrival=st.floats(0, 2e9))
def test_the_fast_path_equals_the_general_path(device: str, body: object, arrival: float) -> None:
    raw = json.dumps(body, allow_nan=True).encode()
    message = Message(f"/{device}/status", raw, arrival)
    assert encode_messages([message]).lines == expected_lines(message)


def test_the_fast_path_reports_sequence_numbers_and_bad_payloads() -> None:
    good = Message("/hv/status", b'[{"number": 0, "vmon": 1.5, "ts": 2.0, "seq": 9}]', 0.0)
    bad = Message("/lv/status", b"{nope", 0.0)
    online = Message("/hv/availability", b"online", 3.0)
    encoded = encode_messages([good, bad, online])
    assert encoded.lines == [
        "hv,number=0 vmon=1.5 2000000000",
        "availability,device=hv online=1 3000000000",
    ]
    assert encoded.seqs == [("hv", 9), ("lv", None)]
    assert len(encoded.errors) == 1
    assert "not JSON" in encoded.errors[0]


def test_nan_in_a_payload_is_left_out_not_written() -> None:
    message = Message("/hv/status", b'{"a": NaN, "b": 1}', 1.0)
    assert encode_messages([message]).lines == ["hv b=1 1000000000"]
    assert math.isnan(json.loads(b'{"a": NaN}')["a"])
