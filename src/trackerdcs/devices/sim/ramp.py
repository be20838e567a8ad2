"""A ramping output stage, shared by the simulated HV and LV supplies."""

from __future__ import annotations

from dataclasses import dataclass

from trackerdcs.contract.payloads import ChannelState
from trackerdcs.devices.supply import ChannelSettings


@dataclass
class RampingOutput:
    """An output that moves towards its target at the configured speeds."""

    settings: ChannelSettings
    vout: float = 0.0
    tripped: bool = False

    @property
    def target(self) -> float:
        return self.settings.vreq if self.settings.on and not self.tripped else 0.0

    def step(self, dt: float) -> None:
        """Advance by ``dt`` seconds; ramps are piecewise linear, so any ``dt`` is exact."""
        delta = self.target - self.vout
        if not delta:
            return
        speed = self.settings.ramp_up if delta > 0 else self.settings.ramp_down
        move = min(abs(delta), speed * dt)
        self.vout += move if delta > 0 else -move

    def trip(self) -> None:
        """Kill the output at once, as a supply's trip does."""
        self.tripped = True
        self.vout = 0.0

    def state(self) -> ChannelState:
        if self.tripped:
            return ChannelState.TRIPPED
        target = self.target
        if abs(self.vout - target) < 1e-9:
            return ChannelState.ON if self.settings.on else ChannelState.OFF
        return ChannelState.RAMPING_UP if target > self.vout else ChannelState.RAMPING_DOWN
