"""From status payloads to points and line protocol: the seed's Telegraf schema."""

from __future__ import annotations

import json
import math

import pytest

from trackerdcs.archive import lineproto
from trackerdcs.archive.gaps import GapCounter
from trackerdcs.archive.points import Message, decode
from trackerdcs.contract.payloads import dumps, stamp_status

HV = [
    {"number": 0, "on": 1, "vreq": 100.0, "vmon": 99.5, "state": "ramping_up"},
    {"number": 1, "on": 0, "vreq": 0.0, "vmon": 0.0, "state": "off"},
]


def message(topic: str, body: object, arrival: float = 1000.0) -> Message:
    raw = body if isinstance(body, bytes) else dumps(body).encode()
    return Message(topic, raw, arrival)


def test_a_channel_list_becomes_one_point_per_channel_tagged_by_number() -> None:
    decoded = decode(message("/hv/status", stamp_status(HV, 1700000000.25, 7)))
    assert decoded.device == "hv"
    assert decoded.seq == 7
    assert [p.tags for p in decoded.points] == [{"number": "0"}, {"number": "1"}]
    first = decoded.points[0]
    assert first.measurement == "hv"
    assert first.fields == {"on": 1, "vreq": 100.0, "vmon": 99.5, "state": "ramping_up"}
    assert first.time_ns == 1700000000250000000  # the device's ts, not the arrival


def test_a_sensor_object_has_no_number_tag_and_keeps_its_field_names() -> None:
    decoded = decode(message("/sensor_1/status", {"meas1": 3, "meas2": 4.5, "ts": 5.0, "seq": 1}))
    (point,) = decoded.points
    assert point.tags == {}
    assert point.fields == {"meas1": 3, "meas2": 4.5}
    assert point.time_ns == 5_000_000_000


def test_a_payload_without_ts_takes_the_arrival_time() -> None:
    (point,) = decode(message("/x/status", {"a": 1.0}, arrival=12.5)).points
    assert point.time_ns == 12_500_000_000


def test_availability_is_a_point_of_its_own_measurement() -> None:
    (point,) = decode(message("/hv/availability", b"offline", arrival=3.0)).points
    assert (point.measurement, point.tags, point.fields) == ("availability", {"device": "hv"}, {"online": 0})
    (back,) = decode(message("/hv/availability", b"online")).points
    assert back.fields == {"online": 1}


def test_alarm_events_are_stored_with_their_source_and_flattened_alarm() -> None:
    event = {"event": "raised", "ts": 9.0, "by": None, "alarm": {"id": "dewpoint", "severity": "alarm"}}
    (point,) = decode(message("/interlock/events", event)).points
    assert point.measurement == "events"
    assert point.fields == {
        "event": "raised",
        "alarm.id": "dewpoint",
        "alarm.severity": "alarm",
        "source": "interlock",
    }


def test_a_payload_that_is_not_json_is_an_error_not_an_exception() -> None:
    decoded = decode(message("/hv/status", b"\xff not json"))
    assert decoded.points == []
    assert decoded.error is not None
    assert "not JSON" in decoded.error


@pytest.mark.parametrize("topic", ["hv/status", "/a/b/status", "//status"])
def test_topics_outside_the_contract_are_reported(topic: str) -> None:
    assert decode(message(topic, {"a": 1})).error is not None


def test_lists_and_the_reserved_time_key_are_not_fields() -> None:
    (point,) = decode(message("/x/status", {"a": 1, "time": 5, "list": [1, 2]})).points
    assert point.fields == {"a": 1}


def test_line_protocol_follows_the_telegraf_types() -> None:
    text = lineproto.line("hv", {"number": "0"}, {"on": 1, "flag": True, "state": "on", "v": 1e-6}, 42)
    assert text == 'hv,number=0 on=1,flag=1i,state="on",v=1e-06 42'


def test_line_protocol_escapes_separators_and_quotes() -> None:
    text = lineproto.line("a b,c", {"t k": "v=1,2"}, {"f=x y": 'say "hi" \\ there'}, 1)
    assert text == 'a\\ b\\,c,t\\ k=v\\=1\\,2 f\\=x\\ y="say \\"hi\\" \\\\ there" 1'


def test_values_line_protocol_cannot_hold_are_left_out() -> None:
    assert lineproto.line("m", {}, {"a": math.nan, "b": math.inf, "c": 2.0}, 1) == "m c=2.0 1"
    assert lineproto.line("m", {}, {"a": math.nan}, 1) is None


@pytest.mark.parametrize("name", ["ends\\", "back\\ space", "back\\,comma", "back\\=eq", "line\nbreak", ""])
def test_names_influxdb_cannot_store_exactly_are_left_out_not_mangled(name: str) -> None:
    assert not lineproto.representable(name)
    assert lineproto.line("m", {}, {name: 1.0, "ok": 2.0}, 1) == "m ok=2.0 1"
    assert lineproto.line("m", {"number": name}, {"ok": 2.0}, 1) is None


def test_a_measurement_starting_with_a_hash_would_be_a_comment() -> None:
    assert lineproto.line("#m", {}, {"a": 1.0}, 1) is None


def test_the_gap_counter_counts_skipped_sequence_numbers_only() -> None:
    gaps = GapCounter()
    assert [gaps.see("hv", s) for s in (0, 1, 2, 5, 6)] == [0, 0, 0, 2, 0]
    assert gaps.see("hv", 6) == 0  # delivered again
    assert gaps.see("hv", 0) == 0  # the device restarted
    assert gaps.see("lv", 10) == 0  # first sight of a device is not a gap
    assert gaps.total == 2
    assert gaps.missing == {"hv": 2}


def test_the_sequence_number_is_read_from_the_first_entry() -> None:
    assert decode(message("/hv/status", stamp_status(HV, 1.0, 3))).seq == 3
    assert decode(message("/hv/status", {"a": 1, "seq": True})).seq is None
    assert decode(message("/hv/status", json.loads("[]"))).seq is None


@pytest.mark.parametrize("ts", ["NaN", "Infinity", "-1", "true", '"x"'])
def test_a_timestamp_that_is_not_a_time_falls_back_to_the_arrival(ts: str) -> None:
    raw = ('{"a": 1, "ts": ' + ts + "}").encode()
    (point,) = decode(Message("/x/status", raw, 2.0)).points
    assert point.time_ns == 2_000_000_000


def test_ph2acf_monitoring_is_stamped_on_arrival_and_failed_reads_keep_their_own_field() -> None:
    from trackerdcs.archive.points import Message as Msg
    from trackerdcs.archive.points import decode as decode_message

    body = b'{"counter": 3, "timestamp": 1234.5, "LpGBT_OG0_temp": 31.5, "Sensor_OG0_temp": "NO_READ"}'
    decoded = decode_message(Msg("/ph2acf/data", body, 1_800_000_000.25))
    [point] = decoded.points
    assert point.measurement == "ph2acf"
    assert point.time_ns == 1_800_000_000_250_000_000  # arrival, not the monotonic timestamp
    assert point.fields == {
        "counter": 3.0,
        "monotonic": 1234.5,
        "LpGBT_OG0_temp": 31.5,
        "Sensor_OG0_temp_error": "NO_READ",
    }
