"""Switching many channels of a device off with one command.

``/<device>/cmd/switch`` without a channel takes

- ``off`` (also ``0``, ``false``): every channel of the device;
- ``{"off": [0, 5, 9]}``: the channels listed.

It gets one reply, like any command. Only *off* goes to many channels at once: a
channel goes on by itself (``/<device>/cmd/switch/<channel>``), so that each is checked
on its own (module sequencing, interlocks). An interlock that trips switches its
channels off with one such command per device instead of one per channel (decision 28).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from trackerdcs.contract.payloads import CommandRejected, Reason, parse_switch, shorten

SWITCH = "switch"
MAX_CHANNELS = 128  # channels one command lists at most: its payload stays well under 1 kB


def parse_switch_off(text: str) -> list[int] | None:
    """The channels a switch without a channel names: None for every channel.

    Raises :class:`CommandRejected`: ``bad_topic`` for ``on`` (it needs a channel),
    ``bad_payload`` for anything else that is not one of the two forms.
    """
    if text.startswith("{"):
        return _listed(text)
    if parse_switch(text):
        raise CommandRejected(
            Reason.BAD_TOPIC, "switch on needs a channel: .../cmd/switch/<channel>; without one, only off"
        )
    return None


def _listed(text: str) -> list[int]:
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    channels = data.get("off") if isinstance(data, dict) and set(data) == {"off"} else None
    if not isinstance(channels, list) or not channels or not all(type(c) is int and c >= 0 for c in channels):
        raise CommandRejected(
            Reason.BAD_PAYLOAD, f'expected off, or {{"off": [channel, ...]}}, got {shorten(text)!r}'
        )
    return sorted(set(channels))


def switch_off_payload(channels: Iterable[int]) -> str:
    """The payload that switches ``channels`` off (at most :data:`MAX_CHANNELS` of them)."""
    return json.dumps({"off": sorted(channels)}, separators=(",", ":"))


def channel_ranges(channels: Iterable[int]) -> str:
    """``0-3, 7, 9-10``: channels as a reader wants them in a message."""
    out: list[str] = []
    for c in sorted(set(channels)):
        if out and out[-1].rpartition("-")[2] == str(c - 1):
            out[-1] = f"{out[-1].partition('-')[0]}-{c}"
        else:
            out.append(str(c))
    return ", ".join(out)
