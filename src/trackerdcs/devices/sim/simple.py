"""The simplest simulated devices: a relay board and the seed's dummy sensor."""

from __future__ import annotations

import math
from collections.abc import Mapping

from trackerdcs.contract.payloads import parse_switch
from trackerdcs.devices.base import Command, Device, Sample
from trackerdcs.devices.clock import Clock
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.sim.steering import number_parameter, set_attribute


class SimulatedRelay(Device):
    """A relay board: channels that are on or off."""

    kind = "relay"
    blocking = False  # computes, does no I/O

    def __init__(self, config: DeviceConfig, clock: Clock) -> None:
        super().__init__(config, clock)
        self.state = dict.fromkeys(self.channels, False)

    def commands(self) -> Mapping[str, Command]:
        return {"switch": Command("switch", self._switch, help="Switch the relay: on or off")}

    def _switch(self, channel: int | None, text: str) -> str:
        assert channel is not None
        self.state[channel] = parse_switch(text)
        return f"relay {channel} {'on' if self.state[channel] else 'off'}"

    def read(self) -> Sample:
        body = [{"number": ch, "on": int(on)} for ch, on in self.state.items()]
        return Sample(self.clock.time(), body, tuple(self.state.values()))


class DummySensor(Device):
    """The seed's dummy sensor: ``meas1`` a sine, ``meas2`` its mirror image."""

    kind = "dummy"
    blocking = False  # computes, does no I/O

    def __init__(self, config: DeviceConfig, clock: Clock) -> None:
        super().__init__(config, clock)
        self.period_s = config.sim.get("period", 60.0)

    @property
    def channels(self) -> list[int]:
        return []

    def read(self) -> Sample:
        value = math.sin(2 * math.pi * self.clock.monotonic() / self.period_s)
        return Sample(self.clock.time(), {"meas1": value, "meas2": -value})

    def sim_parameters(self) -> Mapping[str, Command]:
        return {
            "period": number_parameter(
                "period", set_attribute(self, "period_s"), 0.1, 1e6, help="Sine period in s"
            )
        }
