"""Configuration of one device, as written in the stand file."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trackerdcs.contract.topics import NAME_RE

Kind = Literal["hv", "lv", "env", "relay", "dummy", "chiller"]

# Realistic defaults per kind: (vmax V, ilimit A, ramp V/s)
SUPPLY_DEFAULTS: dict[str, tuple[float, float, float]] = {
    "hv": (1000.0, 100e-6, 10.0),
    "lv": (12.0, 2.5, 12.0),
}


class DeviceConfig(BaseModel):
    """One ``[[devices]]`` entry of the stand file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_RE.pattern, description="Topic root: /<name>/status")
    kind: Kind
    driver: str = Field(default="sim", description="'sim' or a hardware driver name")
    channels: int = Field(default=1, ge=0, le=64)
    period: float = Field(default=1.0, gt=0, le=3600, description="Status period in s")
    vmax: float | None = Field(default=None, gt=0, description="Voltage limit in V")
    ilimit: float | None = Field(default=None, gt=0, description="Current limit (trip) in A")
    ramp_up: float | None = Field(default=None, gt=0, description="Ramp-up speed in V/s")
    ramp_down: float | None = Field(default=None, gt=0, description="Ramp-down speed in V/s")
    ramp_max: float | None = Field(default=None, gt=0, description="Highest settable ramp in V/s")
    resource: str | None = Field(default=None, description="Hardware address (VISA, serial)")
    require_heartbeat: float | None = Field(
        default=None, gt=0, description="Ramp down when the interlock's heartbeat is missing this long, s"
    )
    sim: dict[str, float] = Field(default_factory=dict, description="Initial simulator parameters")
    seed: int | None = Field(default=None, description="Random seed of the simulator")
    options: dict[str, Any] = Field(default_factory=dict, description="Driver-specific options")

    @model_validator(mode="after")
    def _supply_defaults(self) -> DeviceConfig:
        defaults = SUPPLY_DEFAULTS.get(self.kind)
        if defaults is None:
            return self
        vmax, ilimit, ramp = defaults
        self.vmax = self.vmax if self.vmax is not None else vmax
        self.ilimit = self.ilimit if self.ilimit is not None else ilimit
        self.ramp_up = self.ramp_up if self.ramp_up is not None else ramp
        self.ramp_down = self.ramp_down if self.ramp_down is not None else ramp
        self.ramp_max = self.ramp_max if self.ramp_max is not None else 5 * max(self.ramp_up, self.ramp_down)
        return self
