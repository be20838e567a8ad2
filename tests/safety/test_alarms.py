"""Unit tests of the alarm lifecycle (trackerdcs.safety.alarms) and its use by SafetyState."""

from __future__ import annotations

import pytest

from trackerdcs.safety.alarms import AlarmBook, AlarmError, AlarmEvent
from trackerdcs.safety.config import RuleConfig
from trackerdcs.safety.state import SafetyState


def events(evs: list[AlarmEvent]) -> list[tuple[str, float, str | None]]:
    return [(e.event, e.ts, e.by) for e in evs]


def test_raise_lists_the_alarm_active_and_unacknowledged() -> None:
    book = AlarmBook()
    event = book.raise_("dewpoint", "alarm", "margin 2.1 °C, below 3", 100.0)
    assert (event.event, event.ts, event.by) == ("raised", 100.0, None)
    assert event.alarm.id == "dewpoint"
    assert book.listing() == [
        {
            "id": "dewpoint",
            "severity": "alarm",
            "message": "margin 2.1 °C, below 3",
            "raised_at": 100.0,
            "latch": True,
            "active": True,
            "acknowledged": False,
            "acked_by": None,
            "acked_at": None,
            "cleared_at": None,
            "value": None,
            "predates_restart": False,
            "history": [{"event": "raised", "ts": 100.0, "by": None, "message": "margin 2.1 °C, below 3"}],
        }
    ]


def test_listing_is_sorted_by_raise_time() -> None:
    book = AlarmBook()
    book.raise_("b", "warning", "second", 20.0)
    book.raise_("a", "fatal", "first", 10.0)
    book.raise_("c", "alarm", "third", 30.0)
    assert [a["id"] for a in book.listing()] == ["a", "b", "c"]
    assert [a["severity"] for a in book.listing()] == ["fatal", "warning", "alarm"]


def test_ack_marks_acknowledged_with_who_and_when() -> None:
    book = AlarmBook()
    book.raise_("dewpoint", "alarm", "m", 100.0)
    out = book.ack("dewpoint", "alice", 105.0)
    assert events(out) == [("acknowledged", 105.0, "alice")]
    (entry,) = book.listing()
    assert entry["active"] is True
    assert entry["acknowledged"] is True
    assert entry["acked_by"] == "alice"
    assert entry["acked_at"] == 105.0


def test_second_ack_is_a_no_op() -> None:
    book = AlarmBook()
    book.raise_("x", "alarm", "m", 1.0)
    book.ack("x", "alice", 2.0)
    assert book.ack("x", "bob", 3.0) == []
    assert book.listing()[0]["acked_by"] == "alice"
    assert book.listing()[0]["acked_at"] == 2.0


def test_clear_after_ack_removes_the_alarm() -> None:
    book = AlarmBook()
    book.raise_("dewpoint", "alarm", "m", 100.0)
    book.ack("dewpoint", "alice", 105.0)
    out = book.clear("dewpoint", "back within limits", 110.0)
    assert events(out) == [("cleared", 110.0, None), ("removed", 110.0, None)]
    assert out[0].alarm.active is False
    assert out[0].alarm.cleared_at == 110.0
    assert out[0].alarm.message == "back within limits"
    assert book.listing() == []
    assert book.alarms == {}


def test_latching_alarm_cleared_before_ack_stays_until_acknowledged() -> None:
    book = AlarmBook()
    book.raise_("dewpoint", "alarm", "m", 100.0)
    out = book.clear("dewpoint", "back within limits", 110.0)
    assert events(out) == [("cleared", 110.0, None)]
    (entry,) = book.listing()
    assert entry["active"] is False
    assert entry["acknowledged"] is False
    assert entry["cleared_at"] == 110.0
    assert entry["message"] == "back within limits"
    # Clearing again changes nothing.
    assert book.clear("dewpoint", "again", 111.0) == []
    assert book.listing()[0]["cleared_at"] == 110.0
    out = book.ack("dewpoint", "bob", 120.0)
    assert events(out) == [("acknowledged", 120.0, "bob"), ("removed", 120.0, None)]
    assert out[0].alarm.acked_by == "bob"
    assert book.listing() == []


def test_non_latching_alarm_is_removed_when_it_clears() -> None:
    book = AlarmBook()
    book.raise_("warm", "warning", "38.5 °C", 100.0, latch=False)
    assert book.listing()[0]["latch"] is False
    out = book.clear("warm", "back within limits", 101.0)
    assert events(out) == [("cleared", 101.0, None), ("removed", 101.0, None)]
    assert book.listing() == []


def test_clear_of_unknown_alarm_is_a_no_op() -> None:
    book = AlarmBook()
    assert book.clear("nothing", "m", 1.0) == []


def test_ack_of_unknown_alarm_names_the_known_ids() -> None:
    book = AlarmBook()
    book.raise_("dewpoint", "alarm", "m", 1.0)
    book.raise_("env_stale", "alarm", "m", 2.0)
    with pytest.raises(AlarmError) as excinfo:
        book.ack("overtemp", "alice", 3.0)
    message = excinfo.value.args[0]
    assert "'overtemp'" in message
    assert "dewpoint" in message
    assert "env_stale" in message
    assert isinstance(excinfo.value, KeyError)
    assert len(book.listing()) == 2


def test_ack_with_no_alarms_says_none() -> None:
    with pytest.raises(AlarmError, match="none"):
        AlarmBook().ack("x", "alice", 1.0)


def test_event_as_dict() -> None:
    book = AlarmBook()
    book.raise_("dewpoint", "fatal", "m", 100.0)
    (event,) = book.ack("dewpoint", "alice", 105.0)
    d = event.as_dict()
    assert set(d) == {"event", "ts", "by", "alarm"}
    assert d["event"] == "acknowledged"
    assert d["ts"] == 105.0
    assert d["by"] == "alice"
    assert d["alarm"]["id"] == "dewpoint"
    assert d["alarm"]["severity"] == "fatal"
    assert d["alarm"]["acknowledged"] is True
    assert d["alarm"]["acked_by"] == "alice"


def test_raised_event_as_dict() -> None:
    d = AlarmBook().raise_("x", "warning", "msg", 7.0).as_dict()
    assert d["event"] == "raised"
    assert d["ts"] == 7.0
    assert d["by"] is None
    assert d["alarm"]["message"] == "msg"
    assert d["alarm"]["active"] is True


def test_raising_again_after_a_latched_clear_makes_it_active_again() -> None:
    book = AlarmBook()
    book.raise_("x", "alarm", "first", 1.0)
    book.clear("x", "cleared", 2.0)
    book.raise_("x", "alarm", "second", 3.0)
    (entry,) = book.listing()
    assert entry["active"] is True
    assert entry["acknowledged"] is False
    assert entry["message"] == "second"
    assert entry["raised_at"] == 3.0


# -- SafetyState turns rule transitions into alarm events ---------------------------------


def test_safety_state_alarm_events_follow_rule_transitions() -> None:
    hot = RuleConfig(name="hot", signal="env.temperature", above=40.0, severity="fatal")
    warm = RuleConfig(name="warm", signal="env.temperature", above=38.0, severity="warning", latch=False)
    state = SafetyState([hot, warm], [], start=0.0)
    raised = state.alarm_events(state.engine.on_status("env", {"temperature": 41.0, "ts": 10.0}, 10.0))
    assert [(e.event, e.alarm.id, e.alarm.severity, e.ts) for e in raised] == [
        ("raised", "hot", "fatal", 10.0),
        ("raised", "warm", "warning", 10.0),
    ]
    assert raised[0].alarm.message == "env.temperature = 41, above 40"
    cleared = state.alarm_events(state.engine.on_status("env", {"temperature": 30.0, "ts": 20.0}, 20.0))
    assert [(e.event, e.alarm.id) for e in cleared] == [
        ("cleared", "hot"),
        ("cleared", "warm"),
        ("removed", "warm"),
    ]
    assert [(a["id"], a["active"]) for a in state.alarms.listing()] == [("hot", False)]
