"""Helpers to declare simulator parameters as commands."""

from __future__ import annotations

from collections.abc import Callable

from trackerdcs.contract.payloads import CommandRejected, Reason, parse_number
from trackerdcs.devices.base import Command, Scope

Setter = Callable[[int | None, float], None]


def set_attribute(target: object, attribute: str) -> Setter:
    """A setter that stores the value on ``target``, whatever the channel."""

    def setter(channel: int | None, value: float) -> None:
        setattr(target, attribute, value)

    return setter


def number_parameter(
    name: str,
    setter: Setter,
    low: float,
    high: float,
    scope: Scope = Scope.DEVICE,
    help: str = "",
) -> Command:
    """A steerable number with a range; out-of-range values are rejected."""

    def run(channel: int | None, text: str) -> str:
        value = parse_number(text)
        if not low <= value <= high:
            raise CommandRejected(Reason.OUT_OF_RANGE, f"{name} {value:g} is outside [{low:g}, {high:g}]")
        setter(channel, value)
        where = "" if channel is None else f" on channel {channel}"
        return f"{name} set to {value:g}{where}"

    return Command(name, run, scope, help)
