"""Stand-file sections for modules, interlock rules and the interlock service."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trackerdcs.contract.topics import NAME_RE

Severity = Literal["warning", "alarm", "fatal"]


@dataclass(frozen=True, order=True)
class ChannelRef:
    """One channel of one device, written ``hv:0`` in the stand file."""

    device: str
    channel: int

    @classmethod
    def parse(cls, text: str) -> ChannelRef:
        device, sep, channel = text.partition(":")
        if not sep or not NAME_RE.fullmatch(device) or not channel.isdigit():
            raise ValueError(f"expected DEVICE:CHANNEL such as 'hv:0', got {text!r}")
        return cls(device, int(channel))

    def __str__(self) -> str:
        return f"{self.device}:{self.channel}"


class ModuleConfig(BaseModel):
    """A tracker module: one LV and one HV channel, sequenced together."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_RE.pattern)
    lv: str = Field(description="LV channel, e.g. 'lv:0'")
    hv: str = Field(description="HV channel, e.g. 'hv:0'")
    lv_voltage: float = Field(default=10.5, gt=0, description="LV set by `module on`, V")
    hv_voltage: float = Field(default=300.0, ge=0, description="HV set by `module on`, V")
    hv_off_below: float = Field(default=5.0, ge=0, description="HV counts as down below this, V")
    timeout: float = Field(default=600.0, gt=0, description="Longest wait for one sequence step, s")

    @field_validator("lv", "hv")
    @classmethod
    def _channel(cls, value: str) -> str:
        ChannelRef.parse(value)
        return value

    # Parsed once: the safety service asks for them per module on every status, and a
    # stand of 5,120 modules made that thousands of parses a second.
    @cached_property
    def lv_ref(self) -> ChannelRef:
        return ChannelRef.parse(self.lv)

    @cached_property
    def hv_ref(self) -> ChannelRef:
        return ChannelRef.parse(self.hv)


class RuleConfig(BaseModel):
    """One interlock rule: a condition on a signal, or the staleness of a device."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_RE.pattern)
    description: str = ""
    signal: str | None = Field(
        default=None, description="DEVICE.FIELD or DEVICE:CH.FIELD; derived: DEVICE.dewpoint_margin"
    )
    above: float | None = None
    below: float | None = None
    hysteresis: float = Field(default=0.0, ge=0)
    for_s: float = Field(default=0.0, ge=0, description="The condition must hold this long")
    count: int = Field(default=1, ge=1, description="…and for this many consecutive samples")
    stale: str | None = Field(default=None, description="Device whose silence or absence is unsafe")
    after_s: float = Field(default=10.0, gt=0, description="Data older than this is stale, s")
    severity: Severity = "alarm"
    latch: bool = Field(default=True, description="The alarm stays until acknowledged")
    hv_off: list[str] = Field(default_factory=list, description="Modules whose HV goes off ('*': all)")
    switch_off: list[str] = Field(default_factory=list, description="Channels switched off")
    inhibit_hv: list[str] = Field(
        default_factory=list, description="Modules whose HV on/increase is refused ('*': all)"
    )

    @model_validator(mode="after")
    def _shape(self) -> RuleConfig:
        if (self.signal is None) == (self.stale is None):
            raise ValueError("a rule needs exactly one of 'signal' or 'stale'")
        if self.signal is not None:
            if (self.above is None) == (self.below is None):
                raise ValueError("a signal rule needs exactly one of 'above' or 'below'")
            parse_signal(self.signal)
        for ref in self.switch_off:
            ChannelRef.parse(ref)
        return self


@dataclass(frozen=True)
class Signal:
    """A quantity a rule watches: a field of a device, or of one of its channels."""

    device: str
    channel: int | None
    field: str

    def __str__(self) -> str:
        where = self.device if self.channel is None else f"{self.device}:{self.channel}"
        return f"{where}.{self.field}"


def parse_signal(text: str) -> Signal:
    where, dot, field = text.rpartition(".")
    if not dot or not field.isidentifier():
        raise ValueError(f"expected DEVICE.FIELD or DEVICE:CH.FIELD, got {text!r}")
    if ":" in where:
        ref = ChannelRef.parse(where)
        return Signal(ref.device, ref.channel, field)
    if not NAME_RE.fullmatch(where):
        raise ValueError(f"invalid device name in signal {text!r}")
    return Signal(where, None, field)


class InterlockConfig(BaseModel):
    """The ``[interlock]`` table: the safety service itself."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="interlock", pattern=NAME_RE.pattern, description="Its topic root")
    heartbeat: float = Field(default=1.0, gt=0, le=60, description="Heartbeat period, s")
    fresh_s: float = Field(
        default=5.0,
        gt=0,
        description="A sample older than this is not a current value, s (a stale rule's after_s wins)",
    )
    notify: list[str] = Field(default_factory=list, description="apprise URLs")
    notify_secrets_file: str | None = Field(
        default=None, description="File with more apprise URLs, one per line (kept out of git)"
    )
    notify_interval: float = Field(
        default=300.0, ge=0, description="Same alarm re-sent at most this often, s"
    )
    notify_burst: int = Field(default=5, ge=1, description="Messages sent at once before rate limiting")
    notify_per_minute: float = Field(default=2.0, gt=0, description="Rate-limit refill, messages/min")
