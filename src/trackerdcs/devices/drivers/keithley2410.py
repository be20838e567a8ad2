"""Keithley 2410 SourceMeter as a one-channel HV bias supply, through pymeasure over pyvisa.

Stand file: ``driver = "keithley2410"``, ``resource = "GPIB0::24::INSTR"`` (or a serial or
LAN-serial address); ``options = { polarity = -1 }`` biases with negative voltage while
the model, the status and the limits stay positive.

The compliance current is the channel's current limit. The instrument has no ramp, so
the driver ramps in software: each poll steps the source voltage toward the target by
speed × elapsed time, so a ramp progresses across polls and never blocks. Switching off
ramps down, then opens the output. A current at compliance trips the channel: the
output goes to 0 V and off until a reset. On every (re)connection the driver takes
the instrument's present voltage as the start of its ramp, so a reconnect never jumps.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator

from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley import Keithley2400
from pymeasure.instruments.validators import strict_range

from trackerdcs.contract.payloads import ChannelState
from trackerdcs.devices.base import Device
from trackerdcs.devices.clock import Clock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.drivers.visa import VisaLink, VisaSettings, instrument_number
from trackerdcs.devices.supply import ChannelReading, ChannelSettings, PowerSupply

log = logging.getLogger(__name__)

VMAX = 1100.0  # V, the 2410's range


class Keithley2410(Keithley2400):  # type: ignore[misc]  # pymeasure is untyped
    """pymeasure's 2400 driver with the 2410's 1100 V source range and its compliance flag."""

    source_voltage = Instrument.control(
        ":SOURCE:VOLTAGE?",
        ":SOURCE:VOLTAGE %g",
        """Control the source voltage in V (float, strictly from -1100 to 1100).""",
        validator=strict_range,
        values=[-VMAX, VMAX],
    )

    in_compliance = Instrument.measurement(
        ":SENSE:CURRENT:PROTECTION:TRIPPED?",
        """Get whether the current is held at the compliance limit (bool).""",
        cast=int,
        get_process=bool,
    )


class KeithleyDriver:
    """The :class:`~trackerdcs.devices.supply.SupplyDriver` of a Keithley 2410, ramping in software."""

    def __init__(self, link: VisaLink[Keithley2410], clock: Clock, polarity: int = 1) -> None:
        self.link = link
        self.clock = clock
        self.polarity = polarity
        self.wanted = ChannelSettings()
        self.level = 0.0  # V (positive) last set on the instrument
        self.tripped = False
        self._last = clock.monotonic()
        self._seen = 0  # the link's connection count the driver last synchronised with

    def apply(self, channel: int, settings: ChannelSettings) -> None:
        self.wanted = dataclasses.replace(settings)
        if self._seen == 0:
            return  # the model's first settings: written when the instrument is first reached
        with self._session() as smu:
            smu.compliance_current = settings.ilimit
            if settings.on and not smu.source_enabled:
                smu.source_voltage = self.polarity * self.level
                smu.source_enabled = True
        self._last = self.clock.monotonic()  # the ramp toward the new target starts now

    def clear_trip(self, channel: int) -> None:
        self.tripped = False

    def poll(self, now: float) -> list[ChannelReading]:
        with self._session() as smu:
            return [self._poll(smu, now)]

    def reconnect(self) -> None:
        self.link.reconnect()

    def close(self) -> None:
        self.link.close()

    @contextlib.contextmanager
    def _session(self) -> Iterator[Keithley2410]:
        with self.link.session() as smu:
            if self._seen != self.link.opened:
                self._synchronise(smu)
            yield smu

    def _synchronise(self, smu: Keithley2410) -> None:
        """A new connection: set voltage sourcing, and ramp from where the instrument is."""
        smu.source_mode = "voltage"
        smu.compliance_current = self.wanted.ilimit
        on = bool(smu.source_enabled)
        self.level = abs(instrument_number(smu.source_voltage)) if on else 0.0
        if not on:
            smu.source_voltage = 0.0
        self._seen, self._last = self.link.opened, self.clock.monotonic()
        log.info("%s: output %s at %g V", self.link.settings.resource, "on" if on else "off", self.level)

    def _poll(self, smu: Keithley2410, now: float) -> ChannelReading:
        if self.tripped:
            return ChannelReading(0.0, 0.0, ChannelState.TRIPPED)
        output = bool(smu.source_enabled)
        if not output:  # switched on, yet off: opened by hand, or by the instrument
            state = ChannelState.TRIPPED if self.wanted.on else ChannelState.OFF
            return ChannelReading(0.0, 0.0, state)
        target = self.wanted.vreq if self.wanted.on else 0.0
        self._step(smu, target, now)
        vmon = abs(instrument_number(smu.voltage))
        imon = abs(instrument_number(smu.current))
        if smu.in_compliance:
            self._trip(smu)
            return ChannelReading(vmon, imon, ChannelState.TRIPPED)
        if self.level == 0.0 and not self.wanted.on:
            smu.source_enabled = False  # ramped down: open the output
            return ChannelReading(0.0, 0.0, ChannelState.OFF)
        return ChannelReading(vmon, imon, _ramp_state(self.level, target))

    def _step(self, smu: Keithley2410, target: float, now: float) -> None:
        elapsed, self._last = max(0.0, now - self._last), now
        speed = self.wanted.ramp_up if target > self.level else self.wanted.ramp_down
        step = speed * elapsed
        level = min(target, self.level + step) if target > self.level else max(target, self.level - step)
        if level != self.level:
            smu.source_voltage = self.polarity * level
            self.level = level

    def _trip(self, smu: Keithley2410) -> None:
        log.warning("%s: current at compliance: output off", self.link.settings.resource)
        smu.source_voltage = 0.0
        smu.source_enabled = False
        self.level, self.tripped = 0.0, True


def _ramp_state(level: float, target: float) -> ChannelState:
    if level < target:
        return ChannelState.RAMPING_UP
    if level > target:
        return ChannelState.RAMPING_DOWN
    return ChannelState.ON


def create(config: DeviceConfig, clock: Clock) -> Device:
    """The 2410 behind the power-supply model (limits, replies and topics as for any supply)."""
    if config.channels != 1:
        raise ValueError(f"{config.name}: a Keithley 2410 has 1 channel, not {config.channels}")
    if config.vmax is not None and config.vmax > VMAX:
        raise ValueError(f"{config.name}: vmax {config.vmax:g} V is above the 2410's {VMAX:g} V")
    polarity = config.options.get("polarity", 1)
    if polarity not in (1, -1):
        raise ValueError(f"{config.name}: options.polarity must be 1 or -1, not {polarity!r}")
    settings = VisaSettings.from_config(config, extra=("polarity",))
    link: VisaLink[Keithley2410] = VisaLink(settings, Keithley2410)
    return PowerSupply(config, clock, KeithleyDriver(link, clock, int(polarity)))
