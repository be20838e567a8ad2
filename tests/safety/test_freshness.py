"""Rules judge fresh samples only; latching rules hold until acknowledged; restored alarms."""

from __future__ import annotations

import pytest

from trackerdcs.safety.config import ModuleConfig, RuleConfig
from trackerdcs.safety.rules import RuleEngine
from trackerdcs.safety.state import BOOK_ALARM, WAITING_FOR_ACK, SafetyState

START = 1000.0
M1 = ModuleConfig(name="M1", lv="lv:0", hv="hv:0")
DEWPOINT = RuleConfig(name="dewpoint", signal="env.dewpoint_margin", below=3.0, hysteresis=0.5, hv_off=["*"])
STALE = RuleConfig(name="env_stale", stale="env", after_s=5.0, inhibit_hv=["*"])
WET = {"temperature": 20.0, "dewpoint": 19.2}  # margin 0.8
DRY = {"temperature": 20.0, "dewpoint": 2.0}  # margin 18


def state(*rules: RuleConfig, fresh_s: float = 5.0) -> SafetyState:
    return SafetyState(list(rules), [M1], START, fresh_s)


def feed(s: SafetyState, fields: dict[str, float], ts: float, now: float) -> list[str]:
    """Feed one env sample measured at ts, arriving at now; return what happened to the alarms."""
    return [
        f"{e.event} {e.alarm.id}"
        for e in s.alarm_events(s.engine.on_status("env", {**fields, "ts": ts}, now))
    ]


# -- freshness -----------------------------------------------------------------------------


def test_a_threshold_rule_ignores_a_sample_older_than_fresh_s() -> None:
    s = state(DEWPOINT, fresh_s=5.0)
    assert feed(s, WET, ts=START - 600, now=START + 0.1) == []  # last session's retained status
    assert feed(s, WET, ts=START + 1.0, now=START + 6.5) == []  # 5.5 s old: a replayed sample
    assert s.engine.states["dewpoint"].value is None
    assert s.engine.stale_devices == {"env"}
    assert feed(s, WET, ts=START + 7.0, now=START + 7.1) == ["raised dewpoint"]
    assert s.engine.stale_devices == set()
    assert s.alarms.alarms["dewpoint"].raised_at == START + 7.0


def test_an_old_sample_does_not_clear_a_rule_either() -> None:
    s = state(DEWPOINT)
    assert feed(s, WET, ts=START + 1, now=START + 1) == ["raised dewpoint"]
    assert feed(s, DRY, ts=START + 2, now=START + 60) == []
    assert [r.name for r in s.engine.active()] == ["dewpoint"]


def test_the_horizon_is_a_stale_rules_after_s_else_fresh_s() -> None:
    eng = RuleEngine([RuleConfig(name="s", stale="env", after_s=30.0), DEWPOINT], START, fresh_s=2.0)
    assert eng.horizon("env") == 30.0
    assert eng.horizon("hv") == 2.0
    # 20 s old is within env's 30 s: a current value.
    assert [t.active for t in eng.on_status("env", {**WET, "ts": START}, START + 20)] == [True]


def test_old_samples_from_a_device_no_stale_rule_watches_inhibit_what_its_rules_protect() -> None:
    s = state(DEWPOINT)
    feed(s, WET, ts=START - 600, now=START + 0.1)
    assert s.inhibits() == {"M1": ["dewpoint"]}
    assert s.notes() == {"dewpoint": "no fresh data from env"}
    feed(s, DRY, ts=START + 1, now=START + 1)
    assert s.inhibits() == {}


def test_at_start_a_stale_rule_inhibits_without_an_alarm_until_fresh_data() -> None:
    s = state(DEWPOINT, STALE)
    assert s.alarm_events(s.engine.tick(START + 0.1)) == []
    assert s.engine.on_availability("env", False, START + 0.2) == []  # the retained "offline"
    assert feed(s, WET, ts=START - 600, now=START + 0.3) == []  # the retained status
    assert s.inhibits() == {"M1": ["env_stale"]}
    assert s.label("env_stale") == "env_stale (no fresh data from env yet)"
    s.engine.on_availability("env", True, START + 1.0)
    assert feed(s, DRY, ts=START + 1.1, now=START + 1.1) == []
    assert s.inhibits() == {}
    assert s.alarms.alarms == {}


def test_a_device_that_never_reports_fires_its_stale_rule_after_after_s() -> None:
    s = state(STALE)
    assert s.alarm_events(s.engine.tick(START + 5.0)) == []
    assert [e.event for e in s.alarm_events(s.engine.tick(START + 5.1))] == ["raised"]
    assert s.inhibits() == {"M1": ["env_stale"]}


# -- latched reset -----------------------------------------------------------------------------


def test_a_latching_rule_inhibits_until_acknowledged_and_clear() -> None:
    s = state(DEWPOINT)
    feed(s, WET, ts=START + 1, now=START + 1)
    assert s.inhibits() == {"M1": ["dewpoint"]}
    assert feed(s, DRY, ts=START + 2, now=START + 2) == ["cleared dewpoint"]
    assert s.inhibits() == {"M1": ["dewpoint"]}
    assert s.label("dewpoint") == f"dewpoint ({WAITING_FOR_ACK})"
    assert "dewpoint (waiting for acknowledgement)" in _module_refusal(s)
    s.alarms.ack("dewpoint", "shifter", START + 3)
    assert s.inhibits() == {}


def test_acknowledged_while_active_it_holds_until_the_rule_clears() -> None:
    s = state(DEWPOINT)
    feed(s, WET, ts=START + 1, now=START + 1)
    s.alarms.ack("dewpoint", "shifter", START + 2)
    assert s.inhibits() == {"M1": ["dewpoint"]}
    assert feed(s, DRY, ts=START + 3, now=START + 3) == ["cleared dewpoint", "removed dewpoint"]
    assert s.inhibits() == {}


def test_a_non_latching_rule_lifts_its_inhibit_when_it_clears() -> None:
    s = state(DEWPOINT.model_copy(update={"latch": False}))
    feed(s, WET, ts=START + 1, now=START + 1)
    assert s.inhibits() == {"M1": ["dewpoint"]}
    feed(s, DRY, ts=START + 2, now=START + 2)
    assert s.inhibits() == {}


def _module_refusal(s: SafetyState) -> str:
    from trackerdcs.contract.payloads import CommandRejected

    with pytest.raises(CommandRejected) as excinfo:
        s.check_module_command("M1", "on")
    return excinfo.value.message


# -- restored alarms -----------------------------------------------------------------------


def test_a_restored_active_alarm_keeps_its_time_and_holds_until_ack_and_clear() -> None:
    before = state(DEWPOINT, STALE)
    feed(before, WET, ts=START + 1, now=START + 1)
    saved = before.alarms.records()
    after = SafetyState([DEWPOINT, STALE], [M1], START + 3600, 5.0)
    [alarm] = after.restore(saved)
    assert (alarm.id, alarm.raised_at, alarm.predates_restart) == ("dewpoint", START + 1, True)
    assert alarm.value == pytest.approx(0.8)
    assert [h["event"] for h in alarm.history] == ["raised"]
    assert after.inhibits()["M1"] == ["dewpoint"]
    # A fresh sample within limits clears the rule; the alarm still waits for its ack.
    now = START + 3601
    after.engine.on_availability("env", True, now)
    assert feed(after, DRY, ts=now, now=now) == ["cleared dewpoint"]
    assert after.inhibits() == {"M1": ["dewpoint"]}
    assert after.alarms.alarms["dewpoint"].raised_at == START + 1
    after.alarms.ack("dewpoint", "shifter", now + 1)
    assert after.inhibits() == {}


def test_a_restored_alarm_is_not_raised_again_by_fresh_bad_data() -> None:
    after = state(DEWPOINT)
    after.restore(_saved_wet_alarm())
    assert feed(after, WET, ts=START + 1, now=START + 1) == []
    assert after.alarms.alarms["dewpoint"].raised_at == 10.0


def _saved_wet_alarm() -> list[dict[str, object]]:
    before = SafetyState([DEWPOINT], [M1], 0.0)
    before.alarm_events(before.engine.on_status("env", {**WET, "ts": 10.0}, 10.0))
    return before.alarms.records()


@pytest.mark.parametrize(
    "bad",
    [{"alarms": 1}, [1], [{"id": "x"}], [{**_saved_wet_alarm()[0], "raised_at": "soon"}], [{"bogus": 1}]],
)
def test_a_book_that_is_not_one_is_refused_whole(bad: object) -> None:
    s = state(DEWPOINT)
    with pytest.raises(ValueError, match=r"alarm|list"):
        s.restore(bad)
    assert s.alarms.alarms == {}


def test_an_unreadable_book_holds_hv_off_on_every_module_until_acknowledged() -> None:
    s = state(DEWPOINT)
    events = s.book_unreadable("alarms.json: not JSON", START)
    assert [e.event for e in events] == ["raised", "cleared"]
    assert s.inhibits() == {"M1": [BOOK_ALARM]}
    assert "alarm book unreadable" in s.label(BOOK_ALARM)
    assert [e.event for e in s.alarms.ack(BOOK_ALARM, "shifter", START + 1)] == ["acknowledged", "removed"]
    assert s.inhibits() == {}
