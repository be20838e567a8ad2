"""The power-supply model: channels, limits and commands, whatever drives them.

The model validates every request against the configured limits and rejects, never
clips, what exceeds them. The :class:`SupplyDriver` below it is a simulator or an
instrument driver; it only carries out what the model has accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol, runtime_checkable

from trackerdcs.contract.payloads import (
    ChannelState,
    CommandRejected,
    Reason,
    parse_number,
    parse_switch,
)
from trackerdcs.devices.base import Body, Command, Device, Sample, Scope
from trackerdcs.devices.clock import Clock
from trackerdcs.devices.config import DeviceConfig


class ChannelReading(NamedTuple):
    """What the hardware says about one channel (a tuple: 10,240 are made every 0.25 s)."""

    vmon: float
    imon: float
    state: ChannelState


@dataclass
class ChannelSettings:
    """What was last requested of one channel."""

    vreq: float = 0.0
    on: bool = False
    ilimit: float = 0.0
    ramp_up: float = 0.0
    ramp_down: float = 0.0


class SupplyDriver(Protocol):
    """What a power supply's hardware (or simulator) must do."""

    def apply(self, channel: int, settings: ChannelSettings) -> None:
        """Set the channel's setpoint, current limit, ramps and output."""

    def clear_trip(self, channel: int) -> None:
        """Clear a tripped channel, leaving its output off."""

    def poll(self, now: float) -> list[ChannelReading]:
        """Read every channel (a simulator first advances to ``now``)."""


@runtime_checkable
class Reconnectable(Protocol):
    """A hardware driver that can drop and reopen its connection after a fault."""

    def reconnect(self) -> None:
        """Close the connection; the next I/O opens it again."""

    def close(self) -> None:
        """Release the connection for good."""


@runtime_checkable
class Steerable(Protocol):
    """A simulator whose parameters can be steered through ``/<device>/sim/...``."""

    def sim_parameters(self) -> Mapping[str, Command]:
        """Get the steerable parameters by name."""


class PowerSupply(Device):
    """A multi-channel HV or LV supply."""

    def __init__(self, config: DeviceConfig, clock: Clock, driver: SupplyDriver) -> None:
        super().__init__(config, clock)
        self.driver = driver
        self.blocking = bool(getattr(driver, "blocking", True))  # a simulator's is False
        self.kind = config.kind
        ilimit, up, down = self._limit("ilimit"), self._limit("ramp_up"), self._limit("ramp_down")
        self.settings = {ch: ChannelSettings(0.0, False, ilimit, up, down) for ch in self.channels}
        self.readings = [ChannelReading(0.0, 0.0, ChannelState.OFF) for _ in self.channels]
        for ch, settings in self.settings.items():
            driver.apply(ch, settings)

    # -- commands -----------------------------------------------------------------
    def commands(self) -> Mapping[str, Command]:
        return {
            "setv": Command("setv", self._setv, help="Set the requested voltage in V"),
            "switch": Command("switch", self._switch, help="Switch the output: on or off"),
            "seti": Command("seti", self._seti, help="Set the current limit in A"),
            "rampup": Command("rampup", self._ramp("ramp_up"), help="Set the ramp-up speed in V/s"),
            "rampdown": Command("rampdown", self._ramp("ramp_down"), help="Set the ramp-down speed in V/s"),
            "reset": Command("reset", self._reset, help="Clear a trip; the output stays off"),
        }

    def _setv(self, channel: int | None, text: str) -> str:
        vmax = self._limit("vmax")
        value = _in_range(parse_number(text), 0.0, vmax, "voltage", "V")
        return self._update(channel, f"vreq set to {value:g} V", vreq=value)

    def _seti(self, channel: int | None, text: str) -> str:
        imax = self._limit("ilimit")
        value = _in_range(parse_number(text), 0.0, imax, "current limit", "A")
        if value == 0:
            raise CommandRejected(Reason.OUT_OF_RANGE, "current limit must be above 0 A")
        return self._update(channel, f"current limit set to {value:g} A", ilimit=value)

    def _ramp(self, field: str) -> Callable[[int | None, str], str]:
        def run(channel: int | None, text: str) -> str:
            value = _in_range(parse_number(text), 0.0, self._limit("ramp_max"), "ramp speed", "V/s")
            if value == 0:
                raise CommandRejected(Reason.OUT_OF_RANGE, "ramp speed must be above 0 V/s")
            return self._update(channel, f"{field} set to {value:g} V/s", **{field: value})

        return run

    def _switch(self, channel: int | None, text: str) -> str:
        on = parse_switch(text)
        ch = _channel(channel)
        tripped = self._poll()[ch].state is ChannelState.TRIPPED  # now, not at the last status
        if on and tripped:
            raise CommandRejected(Reason.TRIPPED, f"channel {ch} is tripped: send reset (or off) before on")
        if not on and tripped:
            self.driver.clear_trip(ch)
        return self._update(channel, f"output {'on' if on else 'off'}", on=on)

    def switch_off(self, channels: list[int]) -> dict[int, CommandRejected]:
        """As ``switch off`` on each channel, reading the hardware once instead of once each.

        A read of every channel per channel made 64 channels of a simulated HV supply
        take 50 ms (and 64 reads of a real instrument, seconds).
        """
        readings = self._poll()
        failed: dict[int, CommandRejected] = {}
        for ch in channels:
            try:
                if readings[ch].state is ChannelState.TRIPPED:
                    self.driver.clear_trip(ch)
                self._update(ch, "output off", on=False)
            except Exception as exc:  # a driver fault: reported, the next channel still goes off
                failed[ch] = CommandRejected(Reason.DEVICE_ERROR, f"{type(exc).__name__}: {exc}")
        return failed

    def _reset(self, channel: int | None, text: str) -> str:
        ch = _channel(channel)
        self.driver.clear_trip(ch)
        message = self._update(channel, "trip cleared, output off", on=False)
        self._poll()
        return message

    def _update(self, channel: int | None, message: str, **changes: float | bool) -> str:
        ch = _channel(channel)
        settings = self.settings[ch]
        for key, value in changes.items():
            setattr(settings, key, value)
        self.driver.apply(ch, settings)
        return f"channel {ch}: {message}"

    def _limit(self, name: str) -> float:
        """A limit of the configuration (DeviceConfig fills every supply default)."""
        value = getattr(self.config, name)
        if not isinstance(value, float | int):
            raise TypeError(f"{self.name}: {name} is not configured")
        return float(value)

    def sim_parameters(self) -> Mapping[str, Command]:
        if isinstance(self.driver, Steerable):
            return self.driver.sim_parameters()
        return {}

    # -- faults -------------------------------------------------------------------
    def reconnect(self) -> None:
        """Reopen the instrument and read it; a reconnect never switches an output on.

        An instrument that was power-cycled comes back with its outputs off: the model
        follows it rather than switching them on again by itself.
        """
        if isinstance(self.driver, Reconnectable):
            self.driver.reconnect()
        for ch, reading in enumerate(self._poll()):
            if reading.state is ChannelState.OFF:
                self.settings[ch].on = False

    def close(self) -> None:
        if isinstance(self.driver, Reconnectable):
            self.driver.close()

    def error_body(self, message: str) -> Body:
        """Every channel's settings with ``state: "error"``; no vmon/imon, as nothing was measured."""
        entries: list[dict[str, Any]] = []
        for ch in self.channels:
            entry = self._channel_status(ch)
            del entry["vmon"], entry["imon"]
            entries.append({**entry, "state": ChannelState.ERROR.value, "error": message})
        return entries

    # -- status -------------------------------------------------------------------
    def _poll(self) -> list[ChannelReading]:
        """Read the hardware (advancing a simulator) and note what a trip switched off."""
        self.readings = self.driver.poll(self.clock.monotonic())
        for ch, reading in enumerate(self.readings):
            if reading.state is ChannelState.TRIPPED:
                self.settings[ch].on = False  # a trip switches the output off
        return self.readings

    def read(self) -> Sample:
        self._poll()
        return self._sample(self._key())

    def read_if_changed(self, key: tuple[Any, ...] | None) -> Sample | None:
        """Polls the outputs, and makes the 64 channels' status only when it goes out."""
        self._poll()
        now = self._key()
        return None if now == key else self._sample(now)

    def _key(self) -> tuple[Any, ...]:
        return tuple(
            (s.on, s.vreq, s.ilimit, r.state)
            for s, r in zip(self.settings.values(), self.readings, strict=True)
        )

    def _sample(self, key: tuple[Any, ...]) -> Sample:
        body: Body = [self._channel_status(ch) for ch in self.channels]
        return Sample(self.clock.time(), body, key)

    def _channel_status(self, ch: int) -> dict[str, float | int | str]:
        s, r = self.settings[ch], self.readings[ch]
        return {
            "number": ch,
            "on": int(s.on),
            "vreq": float(s.vreq),
            "vmon": round(r.vmon, 6),
            "imon": r.imon,
            "ilimit": s.ilimit,
            "rampup": s.ramp_up,
            "rampdown": s.ramp_down,
            "state": r.state.value,
        }

    def units(self) -> dict[str, str]:
        return {"vreq": "V", "vmon": "V", "imon": "A", "ilimit": "A", "rampup": "V/s", "rampdown": "V/s"}

    def limits(self) -> dict[str, dict[str, float]]:
        return {
            "vreq": {"min": 0.0, "max": self._limit("vmax")},
            "ilimit": {"min": 0.0, "max": self._limit("ilimit")},
            "rampup": {"min": 0.0, "max": self._limit("ramp_max")},
            "rampdown": {"min": 0.0, "max": self._limit("ramp_max")},
        }


def _channel(channel: int | None) -> int:
    assert channel is not None  # Scope.CHANNEL commands always carry one
    return channel


def _in_range(value: float, low: float, high: float, what: str, unit: str) -> float:
    if not low <= value <= high:
        raise CommandRejected(
            Reason.OUT_OF_RANGE, f"{what} {value:g} {unit} is outside [{low:g}, {high:g}] {unit}"
        )
    return value


__all__ = ["ChannelReading", "ChannelSettings", "PowerSupply", "Reconnectable", "Scope", "SupplyDriver"]
