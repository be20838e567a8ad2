"""Unit tests of the interlock rule engine (trackerdcs.safety.rules), with explicit time."""

from __future__ import annotations

from typing import Any

import pytest

from trackerdcs.safety.config import RuleConfig, Signal, parse_signal
from trackerdcs.safety.rules import RuleEngine, Transition
from trackerdcs.safety.signals import sample_time, signals_of

START = 1000.0


def rule(**kwargs: Any) -> RuleConfig:
    kwargs.setdefault("name", "r")
    return RuleConfig(**kwargs)


def engine(*rules: RuleConfig, start: float = START) -> RuleEngine:
    return RuleEngine(list(rules), start)


def env(ts: float, **fields: float) -> dict[str, float]:
    return {**fields, "ts": ts}


def feed(eng: RuleEngine, device: str, samples: list[tuple[float, float]], field: str) -> list[Transition]:
    """Feed (ts, value) samples of one field; return all transitions."""
    out: list[Transition] = []
    for ts, value in samples:
        out += eng.on_status(device, {field: value, "ts": ts}, ts)
    return out


# -- threshold, hysteresis ----------------------------------------------------------------


def test_above_rule_fires_on_first_sample_over_threshold() -> None:
    r = rule(signal="env.temperature", above=40.0)
    eng = engine(r)
    assert eng.on_status("env", env(1001.0, temperature=39.0), 1001.0) == []
    out = eng.on_status("env", env(1002.0, temperature=40.5), 1002.0)
    assert len(out) == 1
    t = out[0]
    assert t.rule is r
    assert t.active is True
    assert t.ts == 1002.0
    assert t.value == 40.5
    assert "env.temperature" in t.message
    assert "40.5" in t.message
    assert "above 40" in t.message
    assert eng.active() == [r]
    assert eng.states["r"].active is True
    assert eng.states["r"].value == 40.5


def test_above_rule_does_not_fire_at_exactly_the_threshold() -> None:
    eng = engine(rule(signal="env.temperature", above=40.0))
    assert eng.on_status("env", env(1001.0, temperature=40.0), 1001.0) == []
    assert eng.active() == []
    assert eng.states["r"].value == 40.0


def test_above_rule_clears_only_below_threshold_minus_hysteresis() -> None:
    r = rule(signal="env.temperature", above=40.0, hysteresis=1.0)
    eng = engine(r)
    assert [t.active for t in eng.on_status("env", env(1001.0, temperature=41.0), 1001.0)] == [True]
    # Back below the threshold but within the hysteresis band: still active, no transition.
    assert eng.on_status("env", env(1002.0, temperature=39.5), 1002.0) == []
    assert eng.on_status("env", env(1003.0, temperature=40.0), 1003.0) == []
    # A new violation while active does not fire again.
    assert eng.on_status("env", env(1004.0, temperature=45.0), 1004.0) == []
    assert eng.active() == [r]
    out = eng.on_status("env", env(1005.0, temperature=38.5), 1005.0)
    assert len(out) == 1
    assert out[0].active is False
    assert out[0].ts == 1005.0
    assert out[0].value == 38.5
    assert out[0].rule is r
    assert "back within limits" in out[0].message
    assert eng.active() == []


def test_above_rule_without_hysteresis_clears_at_the_threshold() -> None:
    eng = engine(rule(signal="env.temperature", above=40.0))
    feed(eng, "env", [(1001.0, 41.0)], "temperature")
    out = feed(eng, "env", [(1002.0, 40.0)], "temperature")
    assert [(t.active, t.ts) for t in out] == [(False, 1002.0)]


def test_below_rule_fires_below_threshold_and_clears_above_threshold_plus_hysteresis() -> None:
    r = rule(signal="env.dewpoint_margin", below=3.0, hysteresis=0.5)
    eng = engine(r)
    assert eng.on_status("env", env(1001.0, temperature=20.0, dewpoint=17.0), 1001.0) == []  # exactly 3
    out = eng.on_status("env", env(1002.0, temperature=20.0, dewpoint=17.2), 1002.0)
    assert [t.active for t in out] == [True]
    assert out[0].value == pytest.approx(2.8)
    assert "below 3" in out[0].message
    # Margin 3.3: above the threshold, but not by the hysteresis: stays active.
    assert eng.on_status("env", env(1003.0, temperature=20.0, dewpoint=16.7), 1003.0) == []
    assert eng.active() == [r]
    out = eng.on_status("env", env(1004.0, temperature=20.0, dewpoint=16.0), 1004.0)
    assert [(t.active, t.ts) for t in out] == [(False, 1004.0)]
    assert out[0].value == pytest.approx(4.0)


def test_below_rule_does_not_fire_at_exactly_the_threshold() -> None:
    eng = engine(rule(signal="lv:0.vmon", below=10.0))
    assert eng.on_status("lv", [{"number": 0, "vmon": 10.0, "ts": 1001.0}], 1001.0) == []
    out = eng.on_status("lv", [{"number": 0, "vmon": 9.99, "ts": 1002.0}], 1002.0)
    assert [t.active for t in out] == [True]


# -- persistence ------------------------------------------------------------------------


def test_for_s_fires_only_once_the_condition_held_that_long() -> None:
    eng = engine(rule(signal="env.temperature", above=40.0, for_s=5.0))
    assert feed(eng, "env", [(1000.0, 41.0), (1002.0, 41.0), (1004.9, 42.0)], "temperature") == []
    assert eng.states["r"].since == 1000.0
    out = feed(eng, "env", [(1005.0, 41.0)], "temperature")
    assert [(t.active, t.ts, t.value) for t in out] == [(True, 1005.0, 41.0)]


def test_for_s_uses_sample_time_not_arrival_time() -> None:
    eng = engine(rule(signal="env.temperature", above=40.0, for_s=5.0))
    # Samples arrive late, in a burst, but within the horizon (5 s) and with their own time.
    assert eng.on_status("env", env(1000.0, temperature=41.0), 1004.0) == []
    assert eng.on_status("env", env(1003.0, temperature=41.0), 1004.5) == []
    out = eng.on_status("env", env(1005.0, temperature=41.0), 1005.1)
    assert [(t.active, t.ts) for t in out] == [(True, 1005.0)]


def test_for_s_resets_when_a_good_sample_comes_in_between() -> None:
    eng = engine(rule(signal="env.temperature", above=40.0, for_s=5.0))
    samples = [(1000.0, 41.0), (1003.0, 41.0), (1004.0, 39.0), (1005.0, 41.0), (1009.0, 41.0)]
    assert feed(eng, "env", samples, "temperature") == []
    assert eng.states["r"].since == 1005.0
    out = feed(eng, "env", [(1010.0, 41.0)], "temperature")
    assert [(t.active, t.ts) for t in out] == [(True, 1010.0)]


def test_count_needs_consecutive_bad_samples() -> None:
    eng = engine(rule(signal="env.temperature", above=40.0, count=3))
    assert feed(eng, "env", [(1001.0, 41.0), (1002.0, 41.0)], "temperature") == []
    assert eng.states["r"].count == 2
    assert feed(eng, "env", [(1003.0, 40.0)], "temperature") == []  # good: resets
    assert eng.states["r"].count == 0
    assert feed(eng, "env", [(1004.0, 41.0), (1005.0, 41.0)], "temperature") == []
    out = feed(eng, "env", [(1006.0, 41.0)], "temperature")
    assert [(t.active, t.ts) for t in out] == [(True, 1006.0)]


def test_count_and_for_s_both_must_hold() -> None:
    eng = engine(rule(signal="env.temperature", above=40.0, count=3, for_s=10.0))
    # Three bad samples within 2 s: count reached, duration not.
    assert feed(eng, "env", [(1000.0, 41.0), (1001.0, 41.0), (1002.0, 41.0)], "temperature") == []
    out = feed(eng, "env", [(1010.0, 41.0)], "temperature")
    assert [t.active for t in out] == [True]


def test_rule_can_fire_again_after_clearing() -> None:
    eng = engine(rule(signal="env.temperature", above=40.0, count=2))
    out = feed(
        eng,
        "env",
        [(1001.0, 41.0), (1002.0, 41.0), (1003.0, 30.0), (1004.0, 41.0), (1005.0, 41.0)],
        "temperature",
    )
    assert [(t.active, t.ts) for t in out] == [(True, 1002.0), (False, 1003.0), (True, 1005.0)]


# -- signals ------------------------------------------------------------------------------


def test_derived_dewpoint_margin_is_temperature_minus_dewpoint() -> None:
    values = signals_of("env", {"temperature": 21.5, "dewpoint": 19.0, "humidity": 85.0})
    assert values[Signal("env", None, "dewpoint_margin")] == pytest.approx(2.5)
    assert values[Signal("env", None, "humidity")] == 85.0


def test_derived_dewpoint_margin_needs_both_values_in_the_same_payload() -> None:
    eng = engine(rule(signal="env.dewpoint_margin", below=3.0))
    assert eng.on_status("env", env(1001.0, temperature=20.0), 1001.0) == []
    assert eng.on_status("env", env(1002.0, dewpoint=19.0), 1002.0) == []
    assert eng.states["r"].value is None
    out = eng.on_status("env", env(1003.0, temperature=20.0, dewpoint=19.0), 1003.0)
    assert [(t.active, t.value) for t in out] == [(True, 1.0)]


def test_channel_signal_from_seed_format_list() -> None:
    r = rule(signal="hv:1.imon", above=1e-5)
    eng = engine(r)
    payload = [
        {"number": 0, "on": 1, "vreq": 300.0, "imon": 5e-5, "ts": 1001.0},
        {"number": 1, "on": 1, "vreq": 300.0, "imon": 2e-6, "ts": 1001.0},
    ]
    assert eng.on_status("hv", payload, 1001.0) == []  # channel 0 is high, but the rule watches 1
    assert eng.states["r"].value == 2e-6
    payload[1]["imon"] = 2e-5
    out = eng.on_status("hv", payload, 1002.0)
    assert [(t.active, t.value, t.ts) for t in out] == [(True, 2e-5, 1001.0)]
    assert "hv:1.imon" in out[0].message


def test_channel_signal_ignores_object_payload_and_other_device() -> None:
    eng = engine(rule(signal="hv:0.imon", above=1.0))
    assert eng.on_status("hv", {"imon": 5.0}, 1001.0) == []  # not a channel list
    assert eng.on_status("lv", [{"number": 0, "imon": 5.0}], 1001.0) == []  # other device
    assert eng.on_status("hv", [{"number": "0", "imon": 5.0}], 1001.0) == []  # number not an int
    assert eng.states["r"].value is None
    out = eng.on_status("hv", [{"number": 0, "imon": 5.0}], 1002.0)
    assert [(t.active, t.ts) for t in out] == [(True, 1002.0)]


def test_payload_without_the_signal_changes_nothing() -> None:
    eng = engine(rule(signal="env.temperature", above=40.0, count=2))
    feed(eng, "env", [(1001.0, 41.0)], "temperature")
    assert eng.states["r"].count == 1
    assert eng.on_status("env", env(1002.0, humidity=50.0), 1002.0) == []
    assert eng.on_status("env", "garbage", 1003.0) == []
    assert eng.on_status("env", None, 1004.0) == []
    # The missing samples neither reset nor advanced the count.
    assert eng.states["r"].count == 1
    assert eng.states["r"].value == 41.0
    out = feed(eng, "env", [(1005.0, 41.0)], "temperature")
    assert [t.active for t in out] == [True]


def test_booleans_ts_and_seq_are_not_signals() -> None:
    values = signals_of("env", {"ok": True, "ts": 5.0, "seq": 7, "name": "x", "temperature": 1})
    assert values == {Signal("env", None, "temperature"): 1.0}
    channel = signals_of("hv", [{"number": 0, "on": 1, "tripped": False, "ts": 1.0, "seq": 2}])
    assert channel == {Signal("hv", 0, "on"): 1.0}


def test_rules_on_boolean_ts_or_seq_never_fire() -> None:
    eng = engine(
        rule(name="b", signal="env.alarm", above=0.5),
        rule(name="t", signal="env.ts", above=0.0),
        rule(name="s", signal="env.seq", above=0.0),
    )
    assert eng.on_status("env", {"alarm": True, "ts": 1001.0, "seq": 9}, 1001.0) == []
    assert eng.active() == []
    assert all(state.value is None for state in eng.states.values())


def test_sample_time_falls_back_to_now() -> None:
    assert sample_time({"ts": 12.5}, 99.0) == 12.5
    assert sample_time([{"number": 0, "ts": 3}], 99.0) == 3.0
    assert sample_time({"ts": True}, 99.0) == 99.0
    assert sample_time({"ts": "12"}, 99.0) == 99.0
    assert sample_time([], 99.0) == 99.0
    assert sample_time("online", 99.0) == 99.0


def test_parse_signal() -> None:
    assert parse_signal("env.dewpoint_margin") == Signal("env", None, "dewpoint_margin")
    assert parse_signal("hv:3.imon") == Signal("hv", 3, "imon")
    assert str(parse_signal("hv:3.imon")) == "hv:3.imon"
    assert str(parse_signal("env.temperature")) == "env.temperature"


@pytest.mark.parametrize("bad", ["env", "env.", "hv:x.imon", ".imon", "env.1x"])
def test_parse_signal_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match=r"expected|invalid"):
        parse_signal(bad)


# -- stale rules --------------------------------------------------------------------------


def test_stale_rule_fires_when_device_is_silent_for_after_s() -> None:
    r = rule(stale="env", after_s=5.0)
    eng = engine(r)
    assert eng.on_status("env", env(1001.0, temperature=20.0), 1001.0) == []
    assert eng.tick(1006.0) == []  # exactly after_s: not yet
    out = eng.tick(1006.5)
    assert len(out) == 1
    t = out[0]
    assert (t.rule, t.active, t.ts) == (r, True, 1006.5)
    assert t.value == pytest.approx(5.5)
    assert "env" in t.message
    assert "silent for 5.5 s" in t.message
    assert "limit 5 s" in t.message
    assert eng.tick(1010.0) == []  # fires once
    assert eng.active() == [r]


def test_stale_rule_fires_when_device_was_never_seen() -> None:
    r = rule(stale="env", after_s=5.0)
    eng = engine(r)
    assert eng.tick(1004.0) == []
    # Other devices talking does not help.
    assert eng.on_status("hv", [{"number": 0, "vmon": 1.0, "ts": 1005.0}], 1005.0) == []
    out = eng.tick(1005.5)
    assert [(t.active, t.ts) for t in out] == [(True, 1005.5)]
    assert out[0].value == pytest.approx(5.5)


def test_stale_rule_fires_at_once_when_device_goes_offline() -> None:
    r = rule(stale="env", after_s=5.0)
    eng = engine(r)
    eng.on_status("env", env(1007.0, temperature=20.0), 1007.0)
    out = eng.on_availability("env", False, 1007.5)
    assert len(out) == 1
    assert (out[0].active, out[0].ts) == (True, 1007.5)
    assert "env is offline" in out[0].message
    # A fresh sample does not clear it while the device is reported offline…
    assert eng.on_status("env", env(1008.0, temperature=20.0), 1008.0) == []
    # …back online with recent data does.
    out = eng.on_availability("env", True, 1008.5)
    assert [(t.active, t.ts) for t in out] == [(False, 1008.5)]


def test_offline_within_after_s_of_the_start_is_pending_not_an_alarm() -> None:
    eng = engine(rule(stale="env", after_s=5.0))
    eng.on_status("env", env(1001.0, temperature=20.0), 1001.0)  # a retained, still fresh, status
    assert eng.on_availability("env", False, 1001.5) == []  # the retained "offline" of the last stop
    assert eng.states["r"].pending
    assert eng.on_availability("env", True, 1002.0) == []
    assert not eng.states["r"].pending
    assert eng.active() == []


def test_other_device_offline_does_not_fire() -> None:
    eng = engine(rule(stale="env", after_s=5.0))
    eng.on_status("env", env(1001.0, temperature=20.0), 1001.0)
    assert eng.on_availability("hv", False, 1001.5) == []
    assert eng.active() == []


def test_stale_rule_clears_when_a_fresh_sample_arrives() -> None:
    r = rule(stale="env", after_s=5.0)
    eng = engine(r)
    assert [t.active for t in eng.tick(1010.0)] == [True]
    out = eng.on_status("env", env(1010.2, temperature=20.0), 1010.3)
    assert len(out) == 1
    t = out[0]
    assert (t.rule, t.active, t.ts) == (r, False, 1010.3)  # cleared when the sample arrived
    assert t.value == pytest.approx(0.1)  # the data's age then
    assert t.message == "env is reporting again"
    assert eng.active() == []


def test_status_transitions_include_condition_and_stale_rules() -> None:
    cond = rule(name="hot", signal="env.temperature", above=40.0)
    stale = rule(name="env_stale", stale="env", after_s=5.0)
    eng = engine(cond, stale)
    eng.tick(1010.0)
    out = eng.on_status("env", env(1010.0, temperature=45.0), 1010.0)
    assert [(t.rule.name, t.active) for t in out] == [("hot", True), ("env_stale", False)]


def test_old_sample_does_not_clear_stale_rule() -> None:
    eng = engine(rule(stale="env", after_s=5.0))
    assert [t.active for t in eng.tick(1020.0)] == [True]
    # A sample measured 520 s ago arrives now: the data is still stale.
    out = eng.on_status("env", env(500.0, temperature=20.0), 1020.5)
    assert out == []
    assert [r.name for r in eng.active()] == ["r"]


def test_an_old_retained_sample_at_start_does_not_fire_a_stale_rule() -> None:
    eng = engine(rule(stale="env", after_s=5.0))
    # The broker hands us env's last status from an hour ago, before env itself is back.
    assert eng.on_status("env", env(START - 3600, temperature=20.0), START + 0.1) == []
    assert [t.active for t in eng.tick(START + 5.2)] == [True]
