"""The console's picture of the stand: what it keeps, and how changes are coalesced."""

from __future__ import annotations

import json
from typing import Any

from trackerdcs.services.console.state import Layout, StandState

LAYOUT = Layout(
    stand="t", devices={"hv": "hv", "env": "env"}, modules=frozenset({"M1"}), safety="interlock", daq=None
)


def status(vmon: float, seq: int) -> bytes:
    return json.dumps([{"number": 0, "on": 1, "vreq": 100.0, "vmon": vmon, "ts": 1.0, "seq": seq}]).encode()


def test_many_statuses_of_one_device_between_drains_go_out_once_as_the_latest() -> None:
    state = StandState(LAYOUT)
    for seq in range(10):
        state.apply("/hv/status", status(float(seq), seq))
    update = state.drain(5.0)
    assert update is not None
    assert update["devices"] == {"hv": {"status": json.loads(status(9.0, 9))}}
    assert state.drain(6.0) is None  # nothing new


def test_only_the_paths_that_changed_are_in_an_update() -> None:
    state = StandState(LAYOUT)
    state.apply("/hv/status", status(1.0, 1))
    state.apply("/env/meta", b'{"kind": "env"}')
    state.drain(1.0)
    state.apply("/hv/availability", b"offline")
    assert state.drain(2.0) == {"type": "update", "now": 2.0, "devices": {"hv": {"availability": "offline"}}}
    snapshot = state.snapshot(3.0)
    assert snapshot["devices"]["hv"]["status"][0]["vmon"] == 1.0  # the snapshot keeps everything
    assert snapshot["devices"]["env"]["meta"] == {"kind": "env"}


def test_modules_and_the_safety_service_have_their_own_places() -> None:
    state = StandState(LAYOUT)
    state.apply("/M1/status", b'{"state": "LV_ON", "reason": "lv on"}')
    state.apply("/interlock/status", b'{"rules": {"dewpoint": {"active": true}}, "ts": 1}')
    state.apply("/interlock/alarms", b'[{"id": "dewpoint"}]')
    update: Any = state.drain(1.0)
    assert update["modules"] == {"M1": {"state": "LV_ON", "reason": "lv on"}}
    assert update["safety"] == {"rules": {"dewpoint": {"active": True}}, "alarms": [{"id": "dewpoint"}]}


def test_other_topics_and_unparsable_payloads_change_nothing() -> None:
    changes: list[int] = []
    state = StandState(LAYOUT, on_change=lambda urgent: changes.append(1))
    state.apply("/other/status", status(1.0, 1))  # not on this stand
    state.apply("/hv/cmd/switch/0", b"on")
    state.apply("/hv/status", b"{not json")
    state.apply("hv/status", status(1.0, 1))
    assert state.drain(1.0) is None
    assert changes == []


def test_the_audit_log_is_sent_as_new_entries_and_kept_bounded() -> None:
    state = StandState(LAYOUT)
    for i in range(250):
        state.add_audit({"n": i})
    update: Any = state.drain(1.0)
    assert len(update["audit"]) == 250
    assert len(state.snapshot(1.0)["audit"]) == 200
    assert state.snapshot(1.0)["audit"][-1] == {"n": 249}


def test_what_commands_need_from_the_last_status() -> None:
    state = StandState(LAYOUT)
    state.apply("/hv/status", status(1.0, 1))
    state.apply("/env/status", b'{"humidity": 40.0}')
    assert state.channel("hv", 0) == json.loads(status(1.0, 1))[0]
    assert state.channel("hv", 7) is None
    assert state.channel("env", None) == {"humidity": 40.0}
    assert state.vreqs("hv", None) == [100.0]
    assert state.vreqs("env", None) == []


def test_losing_the_broker_or_a_device_is_urgent_and_getting_them_back_is_not() -> None:
    urgent: list[bool] = []
    state = StandState(LAYOUT, on_change=urgent.append)
    state.set_bus(False, 1.0)
    state.apply("/hv/availability", b"offline")
    state.set_bus(True, 2.0)
    state.apply("/hv/availability", b"online")
    state.apply("/hv/status", status(1.0, 1))
    assert urgent == [True, True, False, False, False]


def test_the_daq_says_which_calibrations_it_may_run() -> None:
    layout = Layout(
        stand="t", devices={}, modules=frozenset(), safety=None, daq="daq", calibrations=("pedenoise",)
    )
    assert StandState(layout).snapshot(0.0)["daq"]["calibrations"] == ["pedenoise"]
