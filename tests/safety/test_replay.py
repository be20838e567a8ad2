"""Unit tests of recording parsing and replay through the rules (trackerdcs.safety.replay)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from trackerdcs.safety.config import RuleConfig
from trackerdcs.safety.replay import Record, RecordingError, parse_recording, replay

DEWPOINT = RuleConfig(name="dewpoint", signal="env.dewpoint_margin", below=3.0, hysteresis=0.5)

# Humidity rises at 20 °C: the dew point climbs, the margin falls below 3 °C at t=1003,
# wobbles inside the hysteresis band at t=1005, and recovers past 3.5 °C at t=1006.
HUMIDITY_RISE = [
    (1000.0, 60.0, 12.0),
    (1001.0, 70.0, 14.4),
    (1002.0, 78.0, 16.1),
    (1003.0, 84.0, 17.2),  # margin 2.8: fires
    (1004.0, 88.0, 17.9),
    (1005.0, 82.0, 16.8),  # margin 3.2: still active
    (1006.0, 75.0, 16.4),  # margin 3.6: clears
    (1007.0, 70.0, 14.4),
]


def env_status(ts: float, humidity: float, dewpoint: float) -> dict[str, Any]:
    return {"temperature": 20.0, "humidity": humidity, "dewpoint": dewpoint, "ts": ts, "seq": int(ts)}


def messages() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, (ts, humidity, dewpoint) in enumerate(HUMIDITY_RISE):
        payload: Any = env_status(ts, humidity, dewpoint)
        # mosquitto_sub -F %j writes the payload as a string; accept objects too.
        out.append({"topic": "/env/status", "payload": json.dumps(payload) if i % 2 else payload})
    return out


# -- parse_recording ---------------------------------------------------------------------------


def test_parse_json_list_with_object_and_string_payloads() -> None:
    records = parse_recording(json.dumps(messages()), "rec.json")
    assert len(records) == len(HUMIDITY_RISE)
    assert all(isinstance(r, Record) for r in records)
    assert [r.ts for r in records] == [ts for ts, _, _ in HUMIDITY_RISE]
    assert {(r.device, r.leaf) for r in records} == {("env", "status")}
    assert records[0].payload == env_status(*HUMIDITY_RISE[0])
    assert records[1].payload == env_status(*HUMIDITY_RISE[1])  # decoded from its string


def test_parse_json_lines() -> None:
    text = "\n".join(json.dumps(m) for m in messages()) + "\n\n"
    records = parse_recording(text, "rec.jsonl")
    assert [r.ts for r in records] == [ts for ts, _, _ in HUMIDITY_RISE]
    assert records[3].payload["dewpoint"] == 17.2


def test_parse_json_uses_message_time_when_payload_has_none() -> None:
    text = json.dumps(
        [
            {"topic": "/env/status", "payload": {"temperature": 20.0}, "ts": 50.0},
            {"topic": "/env/status", "payload": {"temperature": 21.0}},  # no time: keeps its place
        ]
    )
    assert [r.ts for r in parse_recording(text, "x.json")] == [50.0, 50.0]


def test_parse_json_ignores_non_status_topics_and_keeps_availability() -> None:
    text = json.dumps(
        [
            {"topic": "/env/meta", "payload": {"kind": "sensor"}},
            {"topic": "/hv/cmd/switch/0", "payload": "on"},
            {"topic": "/hv/reply", "payload": "{}"},
            {"topic": "/interlock/events", "payload": "not json"},
            {"topic": "env/status", "payload": {"temperature": 1.0}},  # not a contract topic
            {"topic": "/env/availability", "payload": "offline", "ts": 5.0},
            {"topic": "/env/status", "payload": {"temperature": 2.0, "ts": 6.0}},
        ]
    )
    records = parse_recording(text, "x.json")
    assert records == [
        Record("env", "availability", "offline", 5.0),
        Record("env", "status", {"temperature": 2.0, "ts": 6.0}, 6.0),
    ]


def test_parse_csv_groups_fields_of_one_sample() -> None:
    text = (
        "ts,device,field,value\n"
        "1000,env,temperature,20.0\n"
        "1000,env,dewpoint,17.5\n"
        "1001,env,temperature,20.5\n"
    )
    records = parse_recording(text, "rec.csv")
    assert records == [
        Record("env", "status", {"temperature": 20.0, "dewpoint": 17.5, "ts": 1000.0}, 1000.0),
        Record("env", "status", {"temperature": 20.5, "ts": 1001.0}, 1001.0),
    ]


def test_parse_csv_with_channel_column_builds_seed_format_lists() -> None:
    text = (
        "ts,device,channel,field,value\n"
        "5,hv,0,imon,1e-6\n"
        "5,hv,0,vmon,300\n"
        "5,hv,1,imon,2e-6\n"
        "6,env,,temperature,21\n"
    )
    records = parse_recording(text, "rec.csv")
    assert records == [
        Record("hv", "status", [{"number": 0, "imon": 1e-6, "vmon": 300.0, "ts": 5.0}], 5.0),
        Record("hv", "status", [{"number": 1, "imon": 2e-6, "ts": 5.0}], 5.0),
        Record("env", "status", {"temperature": 21.0, "ts": 6.0}, 6.0),
    ]


def test_bad_json_names_the_file_and_line() -> None:
    text = '[\n  {"topic": "/env/status", "payload": {}},\n  {"topic": oops}\n]'
    with pytest.raises(RecordingError, match=r"^rec\.json: not valid JSON: .*line 3"):
        parse_recording(text, "rec.json")


def test_bad_json_line_names_its_line() -> None:
    good = json.dumps({"topic": "/env/status", "payload": {"temperature": 20.0}})
    with pytest.raises(RecordingError, match=r"rec\.jsonl.*\bline 3\b"):
        parse_recording(f"{good}\n{good}\n{{broken\n{good}\n", "rec.jsonl")


def test_bad_json_line_names_the_file() -> None:
    good = json.dumps({"topic": "/env/status", "payload": {"temperature": 20.0}})
    with pytest.raises(RecordingError, match=r"^rec\.jsonl: line 2: not valid JSON"):
        parse_recording(f"{good}\n{{broken\n", "rec.jsonl")


@pytest.mark.parametrize(
    "item",
    [{"payload": {}}, {"topic": "/env/status"}, ["/env/status", {}], "text"],
)
def test_message_without_topic_and_payload_names_the_message(item: Any) -> None:
    text = json.dumps([{"topic": "/env/status", "payload": {"temperature": 1.0}}, item])
    with pytest.raises(RecordingError, match=r"^rec\.json: message 1: expected an object"):
        parse_recording(text, "rec.json")


def test_status_payload_string_that_is_not_json() -> None:
    text = json.dumps([{"topic": "/env/status", "payload": "temperature=20"}])
    with pytest.raises(RecordingError, match=r"^rec\.json: message 0: payload is not JSON"):
        parse_recording(text, "rec.json")


def test_csv_missing_columns() -> None:
    with pytest.raises(RecordingError, match=r"^rec\.csv: .*missing field, value"):
        parse_recording("ts,device,reading\n1,env,3\n", "rec.csv")


def test_csv_empty_file_is_missing_all_columns() -> None:
    with pytest.raises(RecordingError, match=r"rec\.csv: .*missing device, field, ts, value"):
        parse_recording("", "rec.csv")


@pytest.mark.parametrize(
    ("row", "line"),
    [("1001,env,temperature,hot", 3), ("later,env,temperature,20", 3), ("1001,env,temperature", 3)],
)
def test_csv_bad_number_names_the_file_and_line(row: str, line: int) -> None:
    text = f"ts,device,field,value\n1000,env,temperature,20\n{row}\n"
    with pytest.raises(RecordingError, match=rf"^rec\.csv: line {line}: ts and value must be numbers"):
        parse_recording(text, "rec.csv")


def test_csv_bad_channel_names_the_file_and_line() -> None:
    text = "ts,device,field,value,channel\n1000,hv,imon,1e-6,zero\n"
    with pytest.raises(RecordingError, match=r"rec\.csv: line 2"):
        parse_recording(text, "rec.csv")


# -- replay ----------------------------------------------------------------------------------


def test_replay_humidity_rise_fires_and_clears_the_dewpoint_rule() -> None:
    transitions = replay([DEWPOINT], parse_recording(json.dumps(messages()), "rec.json"))
    assert [(t.rule.name, t.active, t.ts) for t in transitions] == [
        ("dewpoint", True, 1003.0),
        ("dewpoint", False, 1006.0),
    ]
    assert transitions[0].value == pytest.approx(2.8)
    assert transitions[1].value == pytest.approx(3.6)
    assert "env.dewpoint_margin" in transitions[0].message
    assert "below 3" in transitions[0].message


def test_replay_sorts_records_by_time() -> None:
    msgs = messages()
    shuffled = msgs[4:] + msgs[:4]
    transitions = replay([DEWPOINT], parse_recording(json.dumps(shuffled), "rec.json"))
    assert [(t.active, t.ts) for t in transitions] == [(True, 1003.0), (False, 1006.0)]


def test_replay_csv_recording() -> None:
    rows = ["ts,device,field,value"]
    for ts, humidity, dewpoint in HUMIDITY_RISE:
        rows += [
            f"{ts},env,temperature,20.0",
            f"{ts},env,humidity,{humidity}",
            f"{ts},env,dewpoint,{dewpoint}",
        ]
    transitions = replay([DEWPOINT], parse_recording("\n".join(rows) + "\n", "rec.csv"))
    assert [(t.active, t.ts) for t in transitions] == [(True, 1003.0), (False, 1006.0)]


def test_replay_ignores_non_status_topics() -> None:
    msgs = messages()
    # Commands, replies and the interlock's own output that would trip the rule if read.
    noise = {"temperature": 20.0, "dewpoint": 19.9, "ts": 1001.5}
    msgs.insert(2, {"topic": "/env/meta", "payload": noise})
    msgs.insert(2, {"topic": "/env/cmd/set", "payload": json.dumps(noise)})
    msgs.insert(2, {"topic": "/interlock/events", "payload": noise})
    transitions = replay([DEWPOINT], parse_recording(json.dumps(msgs), "rec.json"))
    assert [(t.active, t.ts) for t in transitions] == [(True, 1003.0), (False, 1006.0)]


def test_replay_of_nothing() -> None:
    assert replay([DEWPOINT], []) == []
    assert replay([DEWPOINT], parse_recording("[]", "empty.json")) == []


def test_replay_availability_and_stale_rule() -> None:
    stale = RuleConfig(name="env_stale", stale="env", after_s=5.0)
    records = [
        Record("env", "status", {"temperature": 20.0, "ts": 1000.0}, 1000.0),
        Record("env", "availability", "offline", 1002.0),
        Record("hv", "status", [{"number": 0, "vmon": 0.0, "ts": 1003.0}], 1003.0),
        Record("env", "availability", "online", 1004.0),
        Record("env", "status", {"temperature": 20.0, "ts": 1004.5}, 1004.5),
        Record("hv", "status", [{"number": 0, "vmon": 0.0, "ts": 1012.0}], 1012.0),
    ]
    transitions = replay([stale], records)
    assert [(t.active, t.ts) for t in transitions] == [(True, 1002.0), (False, 1004.0), (True, 1012.0)]
    assert transitions[0].message == "env is offline"
    assert "silent for 7.5 s" in transitions[2].message


def test_replay_engine_starts_at_the_first_record() -> None:
    stale = RuleConfig(name="env_stale", stale="env", after_s=5.0)
    records = [
        Record("hv", "status", [{"number": 0, "ts": 500.0}], 500.0),
        Record("hv", "status", [{"number": 0, "ts": 505.0}], 505.0),
        Record("hv", "status", [{"number": 0, "ts": 505.5}], 505.5),
    ]
    assert [(t.active, t.ts) for t in replay([stale], records)] == [(True, 505.5)]


def test_replay_mosquitto_recording_with_availability() -> None:
    stale = RuleConfig(name="env_stale", stale="env", after_s=5.0)
    base = 1715029920.0  # 2024-05-06T22:12:00+01:00, as mosquitto_sub -F %j writes tst
    lines = []
    for ts in (base, base + 1, base + 2):
        lines.append(
            {
                "tst": "2024-05-06T22:12:00.000000+0100",
                "topic": "/env/status",
                "qos": 0,
                "retain": 0,
                "payload": json.dumps({"temperature": 20.0, "ts": ts}),
            }
        )
    lines.append(
        {
            "tst": "2024-05-06T22:12:02.500000+0100",
            "topic": "/env/availability",
            "qos": 1,
            "retain": 1,
            "payload": "offline",
        }
    )
    text = "\n".join(json.dumps(line) for line in lines)
    transitions = replay([stale], parse_recording(text, "rec.jsonl"))
    assert [t.active for t in transitions] == [True]
    assert base + 2 <= transitions[0].ts <= base + 3
