"""A simulated LV supply powering tracker modules.

A module's DC-DC converters draw constant power once the input passes their
under-voltage lock-out, so the current *falls* as the voltage rises; below it only a
small resistive leak flows. Over-current protection trips the channel (fuse mode).
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from trackerdcs.devices.base import Command, Scope
from trackerdcs.devices.sim.ramp import RampingOutput
from trackerdcs.devices.sim.steering import number_parameter, set_attribute
from trackerdcs.devices.supply import ChannelReading, ChannelSettings

LEAK_OHMS = 1000.0


class SimulatedLV:
    """An LV supply with one module load on each channel."""

    blocking = False  # computes, does no I/O: its calls run on the event loop

    def __init__(self, channels: int, params: Mapping[str, float], seed: int | None) -> None:
        self.outputs: dict[int, RampingOutput] = {}
        self.power = {ch: params.get("load_power", 5.0) for ch in range(channels)}
        self.uvlo = params.get("uvlo", 6.0)
        self.noise = params.get("noise", 0.002)
        self.rng = random.Random(seed)
        self.last: float | None = None

    def apply(self, channel: int, settings: ChannelSettings) -> None:
        output = self.outputs.setdefault(channel, RampingOutput(settings))
        output.settings = settings

    def clear_trip(self, channel: int) -> None:
        self.outputs[channel].tripped = False

    def poll(self, now: float) -> list[ChannelReading]:
        dt = 0.0 if self.last is None else max(now - self.last, 0.0)
        self.last = now
        return [self._step(ch, out, dt) for ch, out in sorted(self.outputs.items())]

    def load_current(self, ch: int, voltage: float) -> float:
        """Get the noiseless module current in A at ``voltage``."""
        current = max(voltage, 0.0) / LEAK_OHMS
        if voltage >= self.uvlo:
            current += self.power[ch] / voltage
        return current

    def _step(self, ch: int, out: RampingOutput, dt: float) -> ChannelReading:
        out.step(dt)
        current = self.load_current(ch, out.vout)
        if current > out.settings.ilimit:
            out.trip()
            current = 0.0
        if current:  # no current, no noise on it
            current *= 1 + self.noise * self.rng.gauss(0.0, 1.0)
        return ChannelReading(out.vout, max(current, 0.0), out.state())

    def sim_parameters(self) -> Mapping[str, Command]:
        return {
            "load_power": number_parameter(
                "load_power",
                self._set_power,
                0.0,
                200.0,
                Scope.ANY,
                "Module power in W; no channel means all",
            ),
            "uvlo": number_parameter(
                "uvlo", set_attribute(self, "uvlo"), 0.0, 50.0, help="Converter lock-out in V"
            ),
            "noise": number_parameter("noise", set_attribute(self, "noise"), 0.0, 0.5),
            "trip": number_parameter(
                "trip", self._force_trip, 0.0, 1.0, Scope.CHANNEL, "Force a trip (payload 1)"
            ),
        }

    def _set_power(self, channel: int | None, value: float) -> None:
        for ch in self.power if channel is None else [channel]:
            self.power[ch] = value

    def _force_trip(self, channel: int | None, value: float) -> None:
        if value and channel is not None:
            self.outputs[channel].trip()
