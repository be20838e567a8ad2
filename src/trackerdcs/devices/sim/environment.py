"""A simulated environmental sensor: temperature, humidity and their dew point.

Temperature and humidity drift as Ornstein-Uhlenbeck processes around their set
values (exact discretisation, so any time step is right) with read-out noise on top.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

from trackerdcs.devices.base import Command, Device, Sample
from trackerdcs.devices.clock import Clock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.physics import dew_point
from trackerdcs.devices.sim.steering import Setter, number_parameter

RELAXATION_S = 300.0


class DriftingValue:
    """A value relaxing towards ``mean`` with random drift."""

    def __init__(self, mean: float, drift: float, noise: float) -> None:
        self.mean = mean
        self.value = mean
        self.drift = drift  # stationary standard deviation
        self.noise = noise  # read-out noise, standard deviation

    def set(self, value: float) -> None:
        self.mean = value
        self.value = value

    def step(self, dt: float, rng: random.Random) -> float:
        decay = math.exp(-dt / RELAXATION_S)
        spread = self.drift * math.sqrt(1 - decay * decay)
        self.value = self.mean + (self.value - self.mean) * decay + spread * rng.gauss(0, 1)
        return self.value + self.noise * rng.gauss(0, 1)


class SimulatedEnvironment(Device):
    """A temperature and humidity sensor in the stand's cold box."""

    kind = "env"
    blocking = False  # computes, does no I/O

    def __init__(self, config: DeviceConfig, clock: Clock) -> None:
        super().__init__(config, clock)
        p = config.sim
        drift, noise = p.get("drift", 0.2), p.get("noise", 0.02)
        self.temperature = DriftingValue(p.get("temperature", 20.0), drift, noise)
        self.humidity = DriftingValue(p.get("humidity", 30.0), 5 * drift, 5 * noise)
        self.rng = random.Random(config.seed)
        self.last: float | None = None

    @property
    def channels(self) -> list[int]:
        return []

    def read(self) -> Sample:
        now = self.clock.monotonic()
        dt = 0.0 if self.last is None else max(now - self.last, 0.0)
        self.last = now
        t = self.temperature.step(dt, self.rng)
        rh = min(max(self.humidity.step(dt, self.rng), 0.0), 100.0)
        body = {
            "temperature": round(t, 3),
            "humidity": round(rh, 3),
            "dewpoint": round(dew_point(t, rh), 3),
        }
        return Sample(self.clock.time(), body)

    def units(self) -> dict[str, str]:
        return {"temperature": "°C", "humidity": "%", "dewpoint": "°C"}

    def sim_parameters(self) -> Mapping[str, Command]:
        return {
            "temperature": number_parameter(
                "temperature", self._setter(self.temperature), -60, 80, help="Temperature in °C"
            ),
            "humidity": number_parameter(
                "humidity", self._setter(self.humidity), 0, 100, help="Relative humidity in %"
            ),
            "drift": number_parameter("drift", self._set_drift, 0, 10, help="Drift in °C"),
            "noise": number_parameter("noise", self._set_noise, 0, 10, help="Noise in °C"),
        }

    @staticmethod
    def _setter(value: DriftingValue) -> Setter:
        return lambda _channel, number: value.set(number)

    def _set_drift(self, _channel: int | None, value: float) -> None:
        self.temperature.drift, self.humidity.drift = value, 5 * value

    def _set_noise(self, _channel: int | None, value: float) -> None:
        self.temperature.noise, self.humidity.noise = value, 5 * value
