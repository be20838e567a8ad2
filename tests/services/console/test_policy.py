"""Who may send what, decided on the server."""

from __future__ import annotations

import json

import pytest

from trackerdcs.services.console.commands import sign_daq_start
from trackerdcs.services.console.policy import CommandRequest, Forbidden, check, required_role
from trackerdcs.services.console.users import Role, User
from trackerdcs.stand.console import ConsoleConfig

CONFIG = ConsoleConfig(expert_commands=["reset", "sim"], expert_above_v=200.0)


def needed(kind: str | None, vreqs: tuple[float, ...] = (), **body: object) -> Role:
    return required_role(CommandRequest.model_validate(body), kind, CONFIG, vreqs)[0]


def test_commands_need_an_operator() -> None:
    assert needed("lv", device="lv", command="switch", channel=0, payload="on") == Role.OPERATOR
    assert needed("hv", device="hv", command="setv", channel=0, payload="150") == Role.OPERATOR
    assert needed(None, device="M1", command="on") == Role.OPERATOR


def test_expert_commands_of_the_stand_need_an_expert() -> None:
    assert needed("hv", device="hv", command="reset", channel=0) == Role.EXPERT
    assert needed("env", device="env", command="humidity", payload="90", action="sim") == Role.EXPERT


def test_hv_above_the_limit_needs_an_expert_to_set_or_to_switch_on() -> None:
    assert needed("hv", device="hv", command="setv", channel=0, payload="-250") == Role.EXPERT
    assert needed("lv", device="lv", command="setv", channel=0, payload="250") == Role.OPERATOR  # not HV
    assert needed("hv", (300.0,), device="hv", command="switch", channel=0, payload="on") == Role.EXPERT
    assert needed("hv", (300.0,), device="hv", command="switch", channel=0, payload="off") == Role.OPERATOR
    # a payload that does not parse is the device's to refuse, with its own reason
    assert needed("hv", device="hv", command="setv", channel=0, payload="lots") == Role.OPERATOR


def test_check_says_why() -> None:
    op = required_role(CommandRequest(device="lv", command="switch", payload="on"), "lv", CONFIG)
    with pytest.raises(Forbidden, match="viewers may not send commands"):
        check(Role.VIEWER, op)
    check(Role.OPERATOR, op)
    ex = required_role(CommandRequest(device="hv", command="reset"), "hv", CONFIG)
    with pytest.raises(Forbidden, match="'reset' is an expert command on this stand; you are operator"):
        check(Role.OPERATOR, ex)
    check(Role.EXPERT, ex)


def test_a_stand_may_let_operators_steer_simulators() -> None:
    config = ConsoleConfig(expert_commands=["reset"])
    request = CommandRequest(device="env", command="humidity", payload="90", action="sim")
    assert required_role(request, "env", config)[0] == Role.OPERATOR


def test_a_daq_start_names_the_logged_in_user_whatever_the_page_sent() -> None:
    request = CommandRequest(
        device="daq", command="start", payload='{"calibration": "pedenoise", "operator": "mallory"}'
    )
    signed = sign_daq_start(request, User("alice", Role.OPERATOR))
    assert json.loads(signed.payload) == {"calibration": "pedenoise", "operator": "alice"}
    garbage = CommandRequest(device="daq", command="start", payload="pedenoise")
    assert (
        sign_daq_start(garbage, User("alice", Role.OPERATOR)) == garbage
    )  # the DAQ refuses it, with its reason
