"""The stand file's ``[daq]`` table: how Ph2_ACF is run, what a run needs, where records go."""

from __future__ import annotations

import string
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trackerdcs.contract.topics import NAME_RE

PLACEHOLDERS = {"config", "calibration", "workdir", "python", "run_id"}


class DaqConfig(BaseModel):
    """Ph2_ACF run control. ``command`` is an argv template: no shell, ever."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="daq", pattern=NAME_RE.pattern)
    command: list[str] = Field(
        default_factory=lambda: ["runCalibration", "-b", "-f", "{config}", "-c", "{calibration}"],
        min_length=1,
        description="argv; {config}, {calibration}, {workdir}, {python}, {run_id} are filled in",
    )
    workdir: Path | None = Field(default=None, description="Where Ph2_ACF runs; default: the data dir")
    config: str = Field(default="settings/PS_Module.xml", description="Hardware description, from workdir")
    calibrations: list[str] = Field(
        default_factory=lambda: ["configureonly", "pedenoise", "calibration", "PSquickTest", "PSfullTest"],
        min_length=1,
    )
    modules: list[str] = Field(default_factory=list, description="Default modules of a run")
    require: str = Field(default="HV_ON", description="Module state a run needs")
    requires: dict[str, str] = Field(default_factory=dict, alias="require_per", exclude=True)
    timeout: float = Field(default=7200.0, gt=0, description="s per run")
    timeouts: dict[str, float] = Field(default_factory=dict, description="s per run, per calibration")
    idle_timeout: float = Field(default=900.0, gt=0, description="s without a line of output")
    stop_grace: float = Field(default=10.0, gt=0, description="s after SIGINT before the group is killed")
    store: str | None = Field(default=None, description="mongodb://[user@]host:port/db; default: embedded")
    store_secret_file: Path | None = Field(default=None, description="File holding the MongoDB password")
    env: dict[str, str] = Field(default_factory=dict, description="Added to the command's environment")
    log_tail: int = Field(default=30, ge=1, le=1000, description="Lines of output kept in the record")

    @model_validator(mode="before")
    @classmethod
    def _split_require(cls, data: object) -> object:
        # TOML: `require = "HV_ON"` and a `[daq.require]` table cannot share a key, so a
        # table given as `require` holds per-calibration states with an optional "default".
        if isinstance(data, dict) and isinstance(data.get("require"), dict):
            table = dict(data["require"])
            data = {**data, "require": table.pop("default", "HV_ON"), "require_per": table}
        return data

    @field_validator("command")
    @classmethod
    def _template(cls, value: list[str]) -> list[str]:
        for arg in value:
            try:
                names = {name for _, name, _, _ in string.Formatter().parse(arg) if name is not None}
            except ValueError as exc:
                raise ValueError(f"bad template {arg!r}: {exc}") from None
            unknown = names - PLACEHOLDERS
            if unknown:
                raise ValueError(
                    f"unknown placeholder {{{sorted(unknown)[0]}}} in {arg!r}"
                    f" (known: {', '.join(sorted(PLACEHOLDERS))})"
                )
        return value

    @field_validator("timeouts")
    @classmethod
    def _positive(cls, value: dict[str, float]) -> dict[str, float]:
        for name, seconds in value.items():
            if seconds <= 0:
                raise ValueError(f"{name}: must be greater than 0, got {seconds}")
        return value

    @model_validator(mode="after")
    def _known_calibrations(self) -> DaqConfig:
        for table, names in (("timeouts", self.timeouts), ("require", self.requires)):
            unknown = sorted(set(names) - set(self.calibrations))
            if unknown:
                raise ValueError(f"{table}: {unknown[0]!r} is not in calibrations")
        return self

    def required_state(self, calibration: str) -> str:
        return self.requires.get(calibration, self.require)

    def timeout_for(self, calibration: str) -> float:
        return self.timeouts.get(calibration, self.timeout)

    def argv(self, values: dict[str, str]) -> list[str]:
        """The command for one run; each placeholder fills one argument, never a shell."""
        return [arg.format(**values) for arg in self.command]
