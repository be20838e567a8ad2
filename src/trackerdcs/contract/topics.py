"""Topic names of the public contract, built and parsed in one place.

The seed's topics start with a slash (``/hv/status``); users' flows depend on that,
so every topic here does too. A device owns the subtree ``/<device>/...``:

- ``/<device>/status``            retained state, seed-compatible payload
- ``/<device>/availability``      retained ``online`` / ``offline`` (last will)
- ``/<device>/meta``              retained description: kind, channels, units, limits
- ``/<device>/reply``             one reply per command
- ``/<device>/cmd/<command>[/<channel>]``  commands
- ``/<device>/sim/<parameter>[/<channel>]``  simulator steering
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_TOPIC_LEN = 256
ARCHIVER = "archive"  # the archiver is on the bus as a device: /archive/status, /archive/availability


class TopicError(ValueError):
    """A topic that does not follow the contract."""


class Action(StrEnum):
    """What an inbound topic asks a device to do."""

    CMD = "cmd"
    SIM = "sim"


def check_name(name: str, what: str = "device name") -> str:
    """Return ``name`` if it is a valid device, command or parameter name."""
    if not NAME_RE.fullmatch(name):
        raise TopicError(
            f"invalid {what} {name!r}: use letters, digits, '_', '-' or '.', at most 64 characters"
        )
    return name


@dataclass(frozen=True)
class DeviceTopics:
    """Every topic of one device."""

    device: str

    def __post_init__(self) -> None:
        check_name(self.device)

    @property
    def root(self) -> str:
        return f"/{self.device}"

    @property
    def status(self) -> str:
        return f"{self.root}/status"

    @property
    def availability(self) -> str:
        return f"{self.root}/availability"

    @property
    def meta(self) -> str:
        return f"{self.root}/meta"

    @property
    def reply(self) -> str:
        return f"{self.root}/reply"

    @property
    def cmd_filter(self) -> str:
        return f"{self.root}/cmd/#"

    @property
    def sim_filter(self) -> str:
        return f"{self.root}/sim/#"

    def cmd(self, command: str, channel: int | None = None) -> str:
        return self._inbound(Action.CMD, command, channel)

    def sim(self, parameter: str, channel: int | None = None) -> str:
        return self._inbound(Action.SIM, parameter, channel)

    def _inbound(self, action: Action, name: str, channel: int | None) -> str:
        check_name(name, "command")
        tail = "" if channel is None else f"/{channel}"
        return f"{self.root}/{action.value}/{name}{tail}"


@dataclass(frozen=True)
class Inbound:
    """A parsed command or steering topic."""

    device: str
    action: Action
    name: str
    channel: int | None


def parse_inbound(topic: str) -> Inbound:
    """Parse ``/<device>/<cmd|sim>/<name>[/<channel>]``; raise :class:`TopicError`."""
    if len(topic) > MAX_TOPIC_LEN:
        raise TopicError(f"topic longer than {MAX_TOPIC_LEN} characters")
    parts = topic.split("/")
    if len(parts) not in (4, 5) or parts[0] != "":
        raise TopicError(f"expected /<device>/cmd|sim/<name>[/<channel>], got {topic!r}")
    _, device, action, name, *rest = parts
    check_name(device)
    try:
        act = Action(action)
    except ValueError:
        raise TopicError(f"expected 'cmd' or 'sim' after the device, got {action!r}") from None
    check_name(name, "command")
    return Inbound(device, act, name, _parse_channel(rest[0]) if rest else None)


def _parse_channel(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 4:
        raise TopicError(f"channel must be a non-negative integer, got {text!r}")
    return int(text)


def device_of(topic: str) -> str | None:
    """Return the device a topic belongs to, or None if it is not a device topic."""
    parts = topic.split("/")
    if len(parts) < 3 or parts[0] != "" or not NAME_RE.fullmatch(parts[1]):
        return None
    return parts[1]


def wildcard(leaf: str) -> str:
    """A filter for one leaf on every device, e.g. ``wildcard('status')`` is ``/+/status``."""
    return f"/+/{leaf}"


@dataclass(frozen=True)
class InterlockTopics(DeviceTopics):
    """The safety service's topics, besides the usual device ones.

    - ``/<name>/heartbeat``  periodic proof of life; HV services may require it
    - ``/<name>/inhibit``    retained: what the active rules inhibit
    - ``/<name>/inhibit/<device>``  retained: the same, only what concerns ``device``
    - ``/<name>/alarms``     retained: the active (or unacknowledged) alarms
    - ``/<name>/events``     alarm lifecycle events, the alarm history
    - ``/<name>/status``     retained: every rule's state
    """

    @property
    def heartbeat(self) -> str:
        return f"{self.root}/heartbeat"

    @property
    def inhibit(self) -> str:
        return f"{self.root}/inhibit"

    def inhibit_of(self, device: str) -> str:
        return f"{self.inhibit}/{check_name(device)}"

    @property
    def alarms(self) -> str:
        return f"{self.root}/alarms"

    @property
    def events(self) -> str:
        return f"{self.root}/events"


PH2ACF_DATA = "/ph2acf/data"  # Ph2_ACF's own monitoring (``-c monitoronly``), JSON
PH2ACF_MEASUREMENT = "ph2acf"  # where the archiver stores it


@dataclass(frozen=True)
class DaqTopics(DeviceTopics):
    """The DAQ service's topics, besides the usual device ones.

    - ``/<name>/cmd/start``  JSON: ``calibration`` (required), ``modules``, ``config``, ``session``,
      ``operator``, ``note``
    - ``/<name>/cmd/stop``   no payload
    - ``/<name>/status``     retained: the run's state, number, step, times
    - ``/<name>/events``     the run lifecycle
    """

    @property
    def events(self) -> str:
        return f"{self.root}/events"
