"""Unit tests of module sequencing (trackerdcs.safety.modules) and SafetyState (state.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from trackerdcs.contract.payloads import CommandRejected, Reason
from trackerdcs.safety.config import ChannelRef, ModuleConfig, RuleConfig
from trackerdcs.safety.modules import (
    ModuleMap,
    ModuleState,
    check_channel_command,
    module_state,
)
from trackerdcs.safety.state import SafetyState

M1 = ModuleConfig(name="M1", lv="lv:0", hv="hv:0")
M2 = ModuleConfig(name="M2", lv="lv:1", hv="hv2:0", hv_off_below=10.0)
MODULES = ModuleMap((M1, M2))

LV0, HV0 = ChannelRef("lv", 0), ChannelRef("hv", 0)
LV1, HV2_0 = ChannelRef("lv", 1), ChannelRef("hv2", 0)


def lv(on: int = 1, state: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"on": on, "state": state or ("on" if on else "off"), "vmon": 10.5 if on else 0.0, **extra}


def hv(on: int = 0, vmon: float = 0.0, state: str | None = None, vreq: float = 0.0) -> dict[str, Any]:
    return {"on": on, "vmon": vmon, "vreq": vreq, "state": state or ("on" if on else "off")}


def check(
    ref: ChannelRef,
    command: str,
    text: str,
    status: Mapping[ChannelRef, Mapping[str, Any]],
    inhibited: Mapping[str, list[str]] | None = None,
) -> None:
    check_channel_command(MODULES, ref, command, text, status, inhibited or {})


def rejected(
    ref: ChannelRef,
    command: str,
    text: str,
    status: Mapping[ChannelRef, Mapping[str, Any]],
    inhibited: Mapping[str, list[str]] | None = None,
) -> CommandRejected:
    with pytest.raises(CommandRejected) as excinfo:
        check(ref, command, text, status, inhibited)
    return excinfo.value


# -- module_state ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lv_status", "hv_status", "interlocked", "expected", "reason"),
    [
        (lv(0), hv(0), False, ModuleState.OFF, "off"),
        (lv(1), hv(0), False, ModuleState.LV_ON, "LV on, HV off"),
        (lv(1), hv(1, 120.0, "ramping_up"), False, ModuleState.HV_RAMPING, "HV at 120.0 V"),
        (lv(1), hv(0, 80.0, "ramping_down"), False, ModuleState.HV_RAMPING, "HV at 80.0 V"),
        (lv(1), hv(1, 300.0), False, ModuleState.HV_ON, "HV at 300.0 V"),
        (lv(1), hv(1, 300.0, "tripped"), False, ModuleState.TRIPPED, "a channel tripped"),
        (lv(0, "tripped"), hv(0), False, ModuleState.TRIPPED, "a channel tripped"),
        (lv(1), hv(1, 300.0), True, ModuleState.INTERLOCKED, "an interlock rule holds"),
        (lv(0), hv(0), True, ModuleState.INTERLOCKED, "an interlock rule holds"),
        (lv(0), hv(1, 300.0), False, ModuleState.ERROR, "HV is up while LV is not on"),
        (lv(0), hv(0, 50.0, "ramping_down"), False, ModuleState.ERROR, "HV is up while LV is not on"),
        (lv(1, "ramping_down"), hv(1, 300.0), False, ModuleState.ERROR, "HV is up while LV is not on"),
        # Below hv_off_below (5 V) counts as down.
        (lv(0), hv(0, 4.9), False, ModuleState.OFF, "off"),
    ],
)
def test_module_state(
    lv_status: dict[str, Any],
    hv_status: dict[str, Any],
    interlocked: bool,
    expected: ModuleState,
    reason: str,
) -> None:
    assert module_state(M1, lv_status, hv_status, interlocked) == (expected, reason)


def test_module_state_error_without_status() -> None:
    assert module_state(M1, None, hv(0), False) == (ModuleState.ERROR, "no status from lv:0")
    assert module_state(M1, lv(1), None, False) == (ModuleState.ERROR, "no status from hv:0")
    assert module_state(M1, None, None, True) == (ModuleState.ERROR, "no status from lv:0")


def test_module_state_uses_the_module_hv_off_below() -> None:
    # 8 V is up for M1 (5 V) but down for M2 (10 V).
    assert module_state(M1, lv(0), hv(0, 8.0), False)[0] == ModuleState.ERROR
    assert module_state(M2, lv(0), hv(0, 8.0), False)[0] == ModuleState.OFF


# -- check_channel_command: sequencing ------------------------------------------------------


@pytest.mark.parametrize("text", ["on", "ON", "1", "true", '"on"'])
def test_hv_on_with_lv_off_is_refused(text: str) -> None:
    exc = rejected(HV0, "switch", text, {LV0: lv(0)})
    assert exc.reason == Reason.SEQUENCE
    assert "M1" in exc.message
    assert "lv:0" in exc.message
    assert "on=0, state=off" in exc.message


def test_hv_on_with_lv_unknown_is_refused() -> None:
    exc = rejected(HV0, "switch", "on", {})
    assert exc.reason == Reason.SEQUENCE
    assert "unknown" in exc.message


def test_hv_on_with_lv_still_ramping_is_refused() -> None:
    exc = rejected(HV0, "switch", "on", {LV0: lv(1, "ramping_up")})
    assert exc.reason == Reason.SEQUENCE


def test_hv_on_with_lv_on_is_allowed() -> None:
    check(HV0, "switch", "on", {LV0: lv(1), HV0: hv(0)})
    check(HV2_0, "switch", "on", {LV1: lv(1)})


def test_hv_on_checks_its_own_module_lv() -> None:
    # M2's LV (lv:1) is off; M1's LV being on does not help.
    exc = rejected(HV2_0, "switch", "on", {LV0: lv(1), LV1: lv(0)})
    assert exc.reason == Reason.SEQUENCE
    assert "M2" in exc.message


def test_lv_off_with_hv_up_is_refused() -> None:
    exc = rejected(LV0, "switch", "off", {HV0: hv(1, 300.0)})
    assert exc.reason == Reason.SEQUENCE
    assert "300.0 V" in exc.message
    assert "dcs module off M1" in exc.message


def test_lv_off_with_hv_ramped_down_but_still_on_is_refused() -> None:
    exc = rejected(LV0, "switch", "0", {HV0: hv(1, 0.0)})
    assert exc.reason == Reason.SEQUENCE


def test_lv_off_with_hv_at_hv_off_below_is_refused() -> None:
    exc = rejected(LV0, "switch", "off", {HV0: hv(0, 5.0, "ramping_down")})
    assert exc.reason == Reason.SEQUENCE
    assert "5.0 V" in exc.message


def test_lv_off_with_hv_unknown_is_refused() -> None:
    exc = rejected(LV0, "switch", "off", {})
    assert exc.reason == Reason.SEQUENCE
    assert "unknown" in exc.message


def test_lv_off_with_hv_down_is_allowed() -> None:
    check(LV0, "switch", "off", {HV0: hv(0, 4.9)})
    check(LV1, "switch", "false", {HV2_0: hv(0, 9.0)})  # M2's threshold is 10 V


def test_lv_on_and_setv_are_not_sequenced() -> None:
    check(LV0, "switch", "on", {HV0: hv(1, 300.0)})
    check(LV0, "setv", "8.0", {HV0: hv(1, 300.0)})
    check(HV0, "setv", "250", {})


def test_channels_of_no_module_are_not_checked() -> None:
    check(ChannelRef("hv", 5), "switch", "on", {})
    check(ChannelRef("lv", 7), "switch", "off", {})


# -- check_channel_command: interlocks ------------------------------------------------------


def test_hv_on_refused_while_module_inhibited() -> None:
    exc = rejected(HV0, "switch", "on", {LV0: lv(1), HV0: hv(0)}, {"M1": ["dewpoint", "env_stale"]})
    assert exc.reason == Reason.INTERLOCKED
    assert "dewpoint, env_stale" in exc.message
    assert "M1" in exc.message


def test_inhibit_of_another_module_does_not_apply() -> None:
    check(HV0, "switch", "on", {LV0: lv(1), HV0: hv(0)}, {"M2": ["dewpoint"]})


def test_hv_setv_increase_refused_while_inhibited() -> None:
    exc = rejected(HV0, "setv", "300", {LV0: lv(1), HV0: hv(1, 200.0, vreq=200.0)}, {"M1": ["dewpoint"]})
    assert exc.reason == Reason.INTERLOCKED


def test_hv_setv_with_unknown_current_setting_refused_while_inhibited() -> None:
    exc = rejected(HV0, "setv", "10", {LV0: lv(1)}, {"M1": ["dewpoint"]})
    assert exc.reason == Reason.INTERLOCKED


@pytest.mark.parametrize("text", ["100", "200", "0", "1e2"])
def test_hv_setv_decrease_or_same_allowed_while_inhibited(text: str) -> None:
    check(HV0, "setv", text, {LV0: lv(1), HV0: hv(1, 200.0, vreq=200.0)}, {"M1": ["dewpoint"]})


def test_hv_setv_increase_allowed_without_inhibit() -> None:
    check(HV0, "setv", "500", {LV0: lv(1), HV0: hv(1, 200.0, vreq=200.0)})


@pytest.mark.parametrize("text", ["off", "OFF", "0", "false"])
def test_switch_off_is_never_refused_by_an_interlock(text: str) -> None:
    inhibited = {"M1": ["dewpoint"], "hv:0": ["dewpoint"], "lv:0": ["x"]}
    check(HV0, "switch", text, {LV0: lv(1), HV0: hv(1, 300.0)}, inhibited)
    check(HV0, "switch", text, {}, inhibited)
    check(LV0, "switch", text, {HV0: hv(0)}, inhibited)


def test_channel_inhibited_directly_cannot_be_switched_on() -> None:
    relay = ChannelRef("relay", 2)  # in no module
    exc = rejected(relay, "switch", "on", {}, {"relay:2": ["overtemperature"]})
    assert exc.reason == Reason.INTERLOCKED
    assert "relay:2" in exc.message
    assert "overtemperature" in exc.message
    check(relay, "switch", "off", {}, {"relay:2": ["overtemperature"]})
    check(ChannelRef("relay", 3), "switch", "on", {}, {"relay:2": ["overtemperature"]})


def test_lv_channel_inhibited_directly_cannot_be_switched_on() -> None:
    exc = rejected(LV0, "switch", "on", {HV0: hv(0)}, {"lv:0": ["overtemperature"]})
    assert exc.reason == Reason.INTERLOCKED


@pytest.mark.parametrize("text", ["maybe", "", "2", "onn"])
def test_bad_hv_switch_payloads_are_left_to_the_device(text: str) -> None:
    check(HV0, "switch", text, {LV0: lv(0)}, {"M1": ["dewpoint"], "hv:0": ["dewpoint"]})


@pytest.mark.parametrize("text", ["maybe", "", "nan", "inf", "1e999"])
def test_bad_hv_setv_payloads_are_left_to_the_device(text: str) -> None:
    check(HV0, "setv", text, {LV0: lv(0)}, {"M1": ["dewpoint"]})


def test_bad_lv_payload_is_left_to_the_device() -> None:
    check(LV0, "switch", "maybe", {HV0: hv(1, 300.0)})


def test_module_map_lookups_and_partners() -> None:
    assert MODULES.by_hv(HV0) is M1
    assert MODULES.by_lv(LV1) is M2
    assert MODULES.by_hv(LV0) is None
    assert MODULES.by_lv(ChannelRef("lv", 9)) is None
    assert MODULES.partners("hv") == {LV0}
    assert MODULES.partners("hv2") == {LV1}
    assert MODULES.partners("lv") == {HV0, HV2_0}
    assert MODULES.partners("env") == set()


def test_partners_of_a_supply_with_lv_and_hv() -> None:
    m = ModuleConfig(name="M", lv="ps:0", hv="ps:1")
    assert ModuleMap((m,)).partners("ps") == {ChannelRef("ps", 0), ChannelRef("ps", 1)}


# -- SafetyState --------------------------------------------------------------------------------


def new_state(*rules: RuleConfig, modules: tuple[ModuleConfig, ...] = (M1, M2)) -> SafetyState:
    return SafetyState(list(rules), list(modules), start=0.0)


def fire(state: SafetyState, temperature: float = 50.0, ts: float = 1.0) -> None:
    state.engine.on_status("env", {"temperature": temperature, "ts": ts}, ts)


def hot(name: str = "hot", **kwargs: Any) -> RuleConfig:
    return RuleConfig(name=name, signal="env.temperature", above=40.0, **kwargs)


def test_inhibits_nothing_while_no_rule_is_active() -> None:
    state = new_state(hot(hv_off=["*"], switch_off=["relay:0"]))
    assert state.inhibits() == {}
    fire(state, temperature=30.0)
    assert state.inhibits() == {}


def test_hv_off_implies_inhibit_and_star_expands_to_every_module() -> None:
    state = new_state(hot(hv_off=["*"]))
    fire(state)
    assert state.inhibits() == {"M1": ["hot"], "M2": ["hot"]}
    assert state.interlocked("M1") == ["hot"]
    assert state.interlocked("M3") == []


def test_inhibits_combines_rules_and_switch_off_channels() -> None:
    state = new_state(
        hot("hot", hv_off=["M1"], inhibit_hv=["M1"], switch_off=["relay:0", "lv:1"]),
        hot("warm", inhibit_hv=["M2"]),
        hot("idle", inhibit_hv=["*"], count=5),  # never fires here
    )
    fire(state)
    assert state.inhibits() == {
        "M1": ["hot"],
        "relay:0": ["hot"],
        "lv:1": ["hot"],
        "M2": ["warm"],
    }


def test_inhibits_stops_when_the_rule_clears() -> None:
    state = new_state(hot(hv_off=["M1"]))
    fire(state)
    assert state.inhibits() == {"M1": ["hot"]}
    fire(state, temperature=20.0, ts=2.0)
    assert state.inhibits() == {}


def test_off_targets() -> None:
    state = new_state()
    assert state.off_targets(hot(hv_off=["*"])) == [HV0, HV2_0]
    assert state.off_targets(hot(hv_off=["M2"], switch_off=["relay:3"])) == [HV2_0, ChannelRef("relay", 3)]
    assert state.off_targets(hot(inhibit_hv=["*"])) == []


def test_switch_off_channel_inhibit_uses_the_canonical_name() -> None:
    state = new_state(hot(switch_off=["relay:01"]))
    fire(state)
    assert state.off_targets(state.engine.rules[0]) == [ChannelRef("relay", 1)]
    assert state.inhibits() == {"relay:1": ["hot"]}


def channel_list(*entries: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"number": n, **entry} for n, entry in enumerate(entries)]


def test_record_status_keeps_channel_entries() -> None:
    state = new_state()
    state.record_status("lv", channel_list(lv(1), lv(0)))
    state.record_status("env", {"temperature": 20.0})  # not a channel list: ignored
    state.record_status("hv", [{"number": "0", "on": 1}, "junk"])  # ignored
    assert state.channel(LV0) == {"number": 0, **lv(1)}
    assert state.channel(LV1) == {"number": 1, **lv(0)}
    assert state.channel(HV0) is None
    assert set(state.channels) == {LV0, LV1}


def test_record_status_names_the_modules_whose_channels_changed_state() -> None:
    """Drifting readings change no module: only what module_state reads makes one due."""
    state = new_state()
    assert state.record_status("lv", channel_list(lv(1), lv(0))) == ["M1", "M2"]  # first seen
    assert state.record_status("lv", channel_list(lv(1, imon=0.51), lv(0, imon=0.02))) == []
    assert state.record_status("lv", channel_list(lv(1), lv(1))) == ["M2"]
    assert state.record_status("hv", [{"number": 0, **hv(vmon=0.0)}]) == ["M1"]
    assert state.record_status("hv", [{"number": 0, **hv(vmon=0.0), "imon": 1e-9}]) == []
    assert state.record_status("hv", [{"number": 0, **hv(vmon=0.5)}]) == ["M1"]  # an HV's vmon counts
    assert state.record_status("hv", [{"number": 0, **hv(vmon=0.5, state="error")}]) == ["M1"]
    assert state.record_status("env", {"temperature": 20.0}) == []


def test_module_updates_only_changed_modules_unless_forced() -> None:
    state = new_state(hot(hv_off=["M1"]))
    first = state.module_updates(10.0)
    assert [(name, body["state"], body["seq"]) for name, body in first] == [
        ("M1", "ERROR", 0),
        ("M2", "ERROR", 0),
    ]
    assert first[0][1] == {
        "state": "ERROR",
        "reason": "no status from lv:0",
        "lv": "lv:0",
        "hv": "hv:0",
        "sequence": "idle",
        "error": None,
        "ts": 10.0,
        "seq": 0,
    }
    assert state.module_updates(11.0) == []

    state.record_status("lv", channel_list(lv(1)))
    state.record_status("hv", channel_list(hv(0)))
    changed = state.module_updates(12.0)
    assert [(name, body["state"], body["seq"], body["ts"]) for name, body in changed] == [
        ("M1", "LV_ON", 1, 12.0)
    ]

    fire(state, ts=13.0)
    changed = state.module_updates(13.0)
    assert [(name, body["state"], body["reason"], body["seq"]) for name, body in changed] == [
        ("M1", "INTERLOCKED", "an interlock rule holds", 2)
    ]

    state.sequence["M2"] = ("on", None)
    assert [(n, b["sequence"], b["seq"]) for n, b in state.module_updates(14.0)] == [("M2", "on", 1)]
    state.sequence["M2"] = ("idle", "LV did not come on")
    assert [(n, b["error"], b["seq"]) for n, b in state.module_updates(15.0)] == [
        ("M2", "LV did not come on", 2)
    ]

    forced = state.module_updates(16.0, force=True)
    assert [(name, body["seq"]) for name, body in forced] == [("M1", 3), ("M2", 3)]
    assert state.module_updates(17.0) == []


def test_module_body_states_from_recorded_status() -> None:
    state = new_state()
    state.record_status("lv", channel_list(lv(1), lv(1)))
    state.record_status("hv", channel_list(hv(1, 300.0)))
    state.record_status("hv2", channel_list(hv(1, 150.0, "ramping_up")))
    assert state.module_body(M1, 5.0)["state"] == "HV_ON"
    assert state.module_body(M1, 5.0)["reason"] == "HV at 300.0 V"
    assert state.module_body(M2, 5.0)["state"] == "HV_RAMPING"


def test_check_module_command_refuses_on_when_interlocked() -> None:
    state = new_state(hot(inhibit_hv=["M1"]), hot("warm", hv_off=["*"]))
    state.record_status("lv", channel_list(lv(1), lv(1)))
    state.record_status("hv", channel_list(hv(0)))
    state.record_status("hv2", channel_list(hv(0)))
    state.check_module_command("M1", "on")
    fire(state)
    with pytest.raises(CommandRejected) as excinfo:
        state.check_module_command("M1", "on")
    assert excinfo.value.reason == Reason.INTERLOCKED
    assert "hot, warm" in excinfo.value.message
    state.check_module_command("M1", "off")
    state.check_module_command("M2", "off")


def test_check_module_command_refuses_on_when_tripped() -> None:
    state = new_state(hot(hv_off=["M2"]))
    state.record_status("lv", channel_list(lv(1)))
    state.record_status("hv", channel_list(hv(0, 0.0, "tripped")))
    with pytest.raises(CommandRejected) as excinfo:
        state.check_module_command("M1", "on")
    assert excinfo.value.reason == Reason.TRIPPED
    assert "M1" in excinfo.value.message
    state.check_module_command("M1", "off")


def test_check_module_command_allows_on_for_a_healthy_module() -> None:
    state = new_state()
    state.record_status("lv", channel_list(lv(0)))
    state.record_status("hv", channel_list(hv(0)))
    state.check_module_command("M1", "on")


def test_rule_status() -> None:
    state = new_state(hot(severity="fatal"), RuleConfig(name="env_stale", stale="env", after_s=5.0))
    fire(state, temperature=45.0, ts=1.0)
    assert state.rule_status(2.0) == {
        "rules": {
            "hot": {"active": True, "value": 45.0, "severity": "fatal", "inhibits": True, "note": None},
            "env_stale": {
                "active": False,
                "value": None,
                "severity": "alarm",
                "inhibits": False,
                "note": None,
            },
        },
        "ts": 2.0,
    }


HV_IN_FAULT = {"number": 0, "on": 0, "vreq": 300.0, "state": "error", "error": "TimeoutError: no answer"}


def test_lv_off_is_refused_while_the_hv_channel_is_in_fault() -> None:
    # A supply in fault publishes no vmon: its voltage is unknown, so HV is not "down".
    exc = rejected(LV0, "switch", "off", {HV0: HV_IN_FAULT})
    assert exc.reason == Reason.SEQUENCE
    assert "HV at unknown" in exc.message


def test_a_channel_in_fault_puts_its_module_in_error_with_the_reason() -> None:
    state, reason = module_state(M1, lv(1), HV_IN_FAULT, False)
    assert state == ModuleState.ERROR
    assert reason == "HV in fault: TimeoutError: no answer"
    lv_fault = {"on": 1, "state": "error", "error": "port gone"}
    assert module_state(M1, lv_fault, hv(0), False) == (ModuleState.ERROR, "LV in fault: port gone")


def test_a_device_status_looks_only_at_that_devices_modules() -> None:
    state = new_state()
    assert [name for name, _ in state.module_updates(10.0, devices={"hv2"})] == ["M2"]
    assert [name for name, _ in state.module_updates(10.0, devices={"lv"})] == ["M1"]
    assert state.module_updates(10.0, devices={"env"}) == []
    state.sequence["M1"] = ("on", None)
    assert [name for name, _ in state.module_updates(11.0, devices={"hv2"})] == []  # M1 is not on hv2
    assert [name for name, _ in state.module_updates(11.0)] == ["M1"]


def test_module_updates_of_many_modules_stay_linear_under_a_holding_rule() -> None:
    modules = tuple(
        ModuleConfig(name=f"M{i}", lv=f"lv:{i % 64}", hv=f"hv{i // 64}:{i % 64}") for i in range(2048)
    )
    state = new_state(hot(hv_off=["*"]), modules=modules)
    fire(state, ts=1.0)
    calls = 0
    inhibits = state.inhibits

    def counted() -> dict[str, list[str]]:
        nonlocal calls
        calls += 1
        return inhibits()

    state.inhibits = counted  # type: ignore[method-assign]
    updates = state.module_updates(2.0, force=True)
    assert len(updates) == 2048
    assert calls == 1  # not once per module: that made 5,120 modules O(N²)
