"""The guard reads its own device's inhibit list, and a list once per process, whoever receives it."""

from __future__ import annotations

import json

from trackerdcs.contract.topics import InterlockTopics
from trackerdcs.safety.config import ModuleConfig
from trackerdcs.safety.modules import ModuleMap
from trackerdcs.services.device.guard import Guard

INTERLOCK = InterlockTopics("interlock")
MODULES = ModuleMap(tuple(ModuleConfig(name=f"M{c}", lv=f"lv:{c}", hv=f"hv:{c}") for c in range(2)))


def guard(device: str) -> Guard:
    return Guard(device, MODULES, INTERLOCK, None, lambda: 0.0)


def test_every_guard_reads_the_same_inhibit_list_once() -> None:
    payload = json.dumps(
        {"inhibit": {"M0": ["dewpoint"], "hv:1": ["manual"]}, "notes": {"dewpoint": "waiting"}, "ts": 1.0}
    ).encode()
    hv, lv = guard("hv"), guard("lv")
    for g in (hv, lv):
        g.on_message(INTERLOCK.inhibit_of(g.device), payload)
    assert hv.inhibited == {"M0": ["dewpoint (waiting)"], "hv:1": ["manual"]}
    assert lv.inhibited is hv.inhibited  # one reading, shared


def test_an_unreadable_inhibit_list_is_ignored_and_a_malformed_one_is_no_list() -> None:
    hv, topic = guard("hv"), INTERLOCK.inhibit_of("hv")
    hv.on_message(topic, b'{"inhibit": {"M0": ["dewpoint"]}}')
    hv.on_message(topic, b"{not json")
    assert hv.inhibited == {"M0": ["dewpoint"]}  # as before: the last list it could read
    hv.on_message(topic, b'{"inhibit": ["M0"]}')
    assert hv.inhibited is None  # HV on stays refused


def test_a_guard_listens_to_its_own_devices_list_not_the_whole_one() -> None:
    hv = guard("hv")
    assert INTERLOCK.inhibit_of("hv") in hv.topics()
    assert INTERLOCK.inhibit not in hv.topics()
    hv.on_message(INTERLOCK.inhibit, b'{"inhibit": {"M0": ["dewpoint"]}}')  # not subscribed: ignored
    assert hv.inhibited is None
