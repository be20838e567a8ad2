"""Who may send what: checked on the server for every command; the page only hides.

Viewers read. Operators command. Experts also send the stand's expert-only commands
(``[console] expert_commands``; ``sim`` covers every simulator steering) and set or switch on
HV above ``[console] expert_above_v``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from trackerdcs.contract.payloads import CommandRejected, parse_number, parse_switch
from trackerdcs.services.console.users import Role, User
from trackerdcs.stand.console import ConsoleConfig

SIM = "sim"
HV_KIND = "hv"


class CommandRequest(BaseModel):
    """The body of ``POST /api/command``."""

    model_config = ConfigDict(extra="forbid")

    device: str = Field(max_length=64)
    command: str = Field(max_length=64)
    channel: int | None = Field(default=None, ge=0, le=9999)
    payload: str = Field(default="", max_length=1024)
    action: Literal["cmd", "sim"] = "cmd"


class Forbidden(Exception):
    """The user's role may not send this command; the text says why."""


def required_role(
    request: CommandRequest, kind: str | None, config: ConsoleConfig, vreqs: Sequence[float] = ()
) -> tuple[Role, str]:
    """The least role that may send ``request``, and why it is that one.

    ``vreqs``: the setpoints of the channels a switch-on would switch (from the last status).
    """
    if request.action == SIM:
        if SIM in config.expert_commands:
            return Role.EXPERT, "steering a simulator is for experts"
        return Role.OPERATOR, "a command"
    if request.command in config.expert_commands:
        return Role.EXPERT, f"{request.command!r} is an expert command on this stand"
    if kind == HV_KIND:
        above = _hv_above(request, config.expert_above_v, vreqs)
        if above is not None:
            return Role.EXPERT, f"HV above {config.expert_above_v:g} V is for experts ({above:g} V asked)"
    return Role.OPERATOR, "a command"


def _hv_above(request: CommandRequest, limit: float, vreqs: Sequence[float]) -> float | None:
    """The voltage that takes ``request`` above ``limit``, if any (a payload that does not parse
    is left to the device, which refuses it with its own reason)."""
    try:
        if request.command == "setv":
            value = abs(parse_number(request.payload))
            return value if value > limit else None
        if request.command == "switch" and parse_switch(request.payload):
            high = max((abs(v) for v in vreqs), default=0.0)
            return high if high > limit else None
    except CommandRejected:
        return None
    return None


def check(role: Role, needed: tuple[Role, str]) -> None:
    """Raise :class:`Forbidden` unless ``role`` is at least the needed one."""
    least, why = needed
    if role < least:
        if least == Role.OPERATOR:
            raise Forbidden(f"{role.label}s may not send commands")
        raise Forbidden(f"{why}; you are {role.label}")


def whoami(config: ConsoleConfig, user: User) -> dict[str, Any]:
    """The user and what they may do: the page hides what they may not (the server refuses it)."""
    policy = {
        "expert_commands": config.expert_commands,
        "expert_above_v": config.expert_above_v,
        "can_command": user.role >= Role.OPERATOR,
        "can_expert": user.role >= Role.EXPERT,
    }
    return {"user": {"name": user.name, "role": user.role.label}, "policy": policy}
