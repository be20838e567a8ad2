"""A simulated HV supply biasing silicon sensors.

Each channel ramps at its speed and draws the sensor's leakage current, which grows
as sqrt(V) up to full depletion and roughly doubles every 7 °C. When the current
exceeds the channel's limit the output trips (is killed), as on a CAEN supply.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from trackerdcs.devices.base import Command, Scope
from trackerdcs.devices.physics import leakage_temperature_factor, leakage_voltage_shape
from trackerdcs.devices.sim.ramp import RampingOutput
from trackerdcs.devices.sim.steering import number_parameter, set_attribute
from trackerdcs.devices.supply import ChannelReading, ChannelSettings

CHARGING_CAPACITANCE = 1e-9  # F, sensor plus cable: I = C dV/dt while ramping


class SimulatedHV:
    """An HV supply with one silicon sensor on each channel."""

    blocking = False  # computes, does no I/O: its calls run on the event loop

    def __init__(self, channels: int, params: Mapping[str, float], seed: int | None) -> None:
        self.outputs: dict[int, RampingOutput] = {}
        self.scale = {ch: 1.0 for ch in range(channels)}
        self.temperature = params.get("temperature", 20.0)
        self.depletion = params.get("depletion", 300.0)
        self.i_ref = params.get("i_ref", 2e-6)
        self.noise = params.get("noise", 0.005)
        for ch in range(channels):
            self.scale[ch] = params.get("leakage_scale", 1.0)
        self.rng = random.Random(seed)
        self.last: float | None = None

    # -- SupplyDriver ---------------------------------------------------------------
    def apply(self, channel: int, settings: ChannelSettings) -> None:
        output = self.outputs.setdefault(channel, RampingOutput(settings))
        output.settings = settings

    def clear_trip(self, channel: int) -> None:
        self.outputs[channel].tripped = False

    def poll(self, now: float) -> list[ChannelReading]:
        dt = 0.0 if self.last is None else max(now - self.last, 0.0)
        self.last = now
        factor = leakage_temperature_factor(self.temperature)  # once a poll, not once a channel
        return [self._step(ch, out, dt, factor) for ch, out in sorted(self.outputs.items())]

    def _step(self, ch: int, out: RampingOutput, dt: float, factor: float) -> ChannelReading:
        before = out.vout
        out.step(dt)
        current = self._leakage(ch, out.vout, factor)
        if dt > 0 and out.vout > before:
            current += CHARGING_CAPACITANCE * (out.vout - before) / dt
        if out.vout > 0 and current > out.settings.ilimit:
            out.trip()
            current = 0.0
        if current:  # no current, no noise on it
            current *= 1 + self.noise * self.rng.gauss(0.0, 1.0)
        return ChannelReading(out.vout, max(current, 0.0), out.state())

    def leakage(self, ch: int, voltage: float) -> float:
        """Get the noiseless leakage current in A at ``voltage``."""
        return self._leakage(ch, voltage, leakage_temperature_factor(self.temperature))

    def _leakage(self, ch: int, voltage: float, factor: float) -> float:
        if voltage <= 0:
            return 0.0
        return self.scale[ch] * self.i_ref * leakage_voltage_shape(voltage, self.depletion) * factor

    # -- steering -------------------------------------------------------------------
    def sim_parameters(self) -> Mapping[str, Command]:
        return {
            "leakage_scale": number_parameter(
                "leakage_scale",
                self._set_scale,
                0.0,
                1e4,
                Scope.ANY,
                "Multiply the leakage current (irradiation); no channel means all",
            ),
            "temperature": number_parameter(
                "temperature",
                set_attribute(self, "temperature"),
                -60.0,
                80.0,
                help="Sensor temperature in °C",
            ),
            "depletion": number_parameter(
                "depletion", set_attribute(self, "depletion"), 1.0, 1000.0, help="Full-depletion voltage in V"
            ),
            "noise": number_parameter(
                "noise", set_attribute(self, "noise"), 0.0, 0.5, help="Relative current noise"
            ),
            "trip": number_parameter(
                "trip", self._force_trip, 0.0, 1.0, Scope.CHANNEL, "Force a trip (payload 1)"
            ),
        }

    def _set_scale(self, channel: int | None, value: float) -> None:
        for ch in self.scale if channel is None else [channel]:
            self.scale[ch] = value

    def _force_trip(self, channel: int | None, value: float) -> None:
        if value and channel is not None:
            self.outputs[channel].trip()
