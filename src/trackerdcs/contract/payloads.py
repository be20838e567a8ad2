"""Payload shapes of the contract, and the parsing of command payloads.

Status payloads keep the seed's shape: a power supply publishes a JSON *list* with one
object per channel (``number``, ``on`` as 0/1, ``vreq``), a sensor a JSON object of
readings. We add keys, never rename them: every object also carries ``ts`` (the
measurement time, UNIX seconds) and ``seq`` (the device's status sequence number).
"""

from __future__ import annotations

import json
import math
import unicodedata
from enum import StrEnum
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

MAX_PAYLOAD_BYTES = 1024
# Units of the common status fields: what `dcs history --plot` writes on its axis.
# A device's own units are in its retained /<device>/meta.
FIELD_UNITS = {
    "vreq": "V",
    "vmon": "V",
    "imon": "A",
    "ilimit": "A",
    "rampup": "V/s",
    "rampdown": "V/s",
    "temperature": "°C",
    "humidity": "%",
    "dewpoint": "°C",
    "setpoint": "°C",
}

ONLINE = "online"
OFFLINE = "offline"


class Reason(StrEnum):
    """Why a command was rejected."""

    BAD_TOPIC = "bad_topic"
    BAD_PAYLOAD = "bad_payload"
    UNKNOWN_CHANNEL = "unknown_channel"
    UNKNOWN_COMMAND = "unknown_command"
    OUT_OF_RANGE = "out_of_range"
    INTERLOCKED = "interlocked"
    SEQUENCE = "sequence"
    TRIPPED = "tripped"
    DEVICE_ERROR = "device_error"
    NOT_SIMULATED = "not_simulated"
    BUSY = "busy"  # the DAQ: a run is already going
    NOT_READY = "not_ready"  # the DAQ: a module of the run is not in the required state
    UNKNOWN_CALIBRATION = "unknown_calibration"  # the DAQ: not in the stand's allowed list


class ChannelState(StrEnum):
    """The state of a power-supply channel, the ``state`` key of its status."""

    OFF = "off"
    RAMPING_UP = "ramping_up"
    ON = "on"
    RAMPING_DOWN = "ramping_down"
    TRIPPED = "tripped"
    ERROR = "error"


class CommandRejected(Exception):
    """A command that cannot be carried out; the text is the reply's message."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class Reply(BaseModel):
    """The answer to one command, published on ``/<device>/reply``."""

    model_config = ConfigDict(extra="forbid")

    ok: bool
    device: str
    topic: str
    payload: str = Field(description="The command payload, shortened to 64 characters")
    command: str | None = None
    channel: int | None = None
    reason: Reason | None = None
    message: str
    ts: float


def reply_to(
    device: str, topic: str, payload: str, command: str | None, outcome: str | CommandRejected, ts: float
) -> Reply:
    """The reply to a service's own command: accepted with a message, or refused with its reason."""
    if isinstance(outcome, CommandRejected):
        return Reply(
            ok=False,
            device=device,
            topic=topic,
            payload=payload,
            command=command,
            reason=outcome.reason,
            message=outcome.message,
            ts=ts,
        )
    return Reply(
        ok=True, device=device, topic=topic, payload=payload, command=command, message=outcome, ts=ts
    )


class ChannelStatus(BaseModel):
    """One channel of a power supply (or relay) status list."""

    model_config = ConfigDict(extra="allow")

    number: int
    on: int
    vreq: float = 0.0


class Meta(BaseModel):
    """Retained description of a device, published on ``/<device>/meta``."""

    kind: str
    driver: str
    channels: list[int] = Field(default_factory=list)
    units: dict[str, str] = Field(default_factory=dict)
    limits: dict[str, dict[str, float]] = Field(default_factory=dict)
    commands: list[str] = Field(default_factory=list)
    sim_parameters: list[str] = Field(default_factory=list)
    period: float


def decode_text(payload: bytes) -> str:
    """Decode a command payload, rejecting oversize or non-UTF-8 input."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise CommandRejected(
            Reason.BAD_PAYLOAD,
            f"payload too large: {len(payload)} bytes (at most {MAX_PAYLOAD_BYTES})",
        )
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise CommandRejected(Reason.BAD_PAYLOAD, "payload is not UTF-8 text") from None
    if any(unicodedata.category(c) == "Cc" and c not in "\t\r\n" for c in text):  # C0, DEL, C1
        raise CommandRejected(Reason.BAD_PAYLOAD, "payload contains control characters")
    return text.strip()


def parse_number(text: str) -> float:
    """Parse ``100``, ``100.`` or ``1e2`` (also a JSON number); reject NaN and inf."""
    try:
        value = float(text)
    except ValueError:
        raise CommandRejected(Reason.BAD_PAYLOAD, f"expected a number, got {shorten(text)!r}") from None
    if not math.isfinite(value):
        raise CommandRejected(Reason.BAD_PAYLOAD, f"number must be finite, got {text!r}")
    return value


_ON = {"on", "1", "true"}
_OFF = {"off", "0", "false"}


def parse_switch(text: str) -> bool:
    """Parse the seed's ``on`` / ``off`` (also 1/0, true/false, any case)."""
    word = text.strip().strip('"').lower()
    if word in _ON:
        return True
    if word in _OFF:
        return False
    raise CommandRejected(Reason.BAD_PAYLOAD, f"expected 'on' or 'off', got {shorten(text)!r}")


def shorten(text: str, limit: int = 64) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dumps(obj: Any) -> str:
    """Serialise a payload compactly; floats stay JSON floats (``0.0``, not ``0``)."""
    return json.dumps(obj, separators=(", ", ": "), allow_nan=False)


def encode_status(body: list[dict[str, Any]] | dict[str, Any], ts: float, seq: int) -> bytes:
    """A device's status payload, stamped: what a device service publishes every period.

    orjson, not :func:`dumps`: at 160 supplies of 64 channels the standard encoder was a
    tenth of the device hosts' time. A reading that is not a number (NaN, inf) goes out
    as ``null`` instead of stopping the status.
    """
    return orjson.dumps(stamp_status(body, ts, seq))


def loads(raw: bytes | str) -> Any:
    """Parse a payload (orjson: three times faster on a supply's status); ``ValueError`` if not JSON."""
    return orjson.loads(raw)


def stamp_status(body: list[dict[str, Any]] | dict[str, Any], ts: float, seq: int) -> Any:
    """Add the measurement time and sequence number to a status payload."""
    if isinstance(body, list):
        return [{**entry, "ts": ts, "seq": seq} for entry in body]
    return {**body, "ts": ts, "seq": seq}
