"""The stand file's model: one pydantic model per table, validated as a whole.

The tables of the domain packages (devices, safety, archive, deploy) are assembled
here; cross-table checks are in :mod:`trackerdcs.stand.checks`.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trackerdcs.bus.settings import BrokerSettings, BrokerUrlError
from trackerdcs.daq.config import DaqConfig
from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.registry import DRIVERS, drivers_for
from trackerdcs.runstore.open import StoreUrlError, check_store_url
from trackerdcs.safety.config import InterlockConfig, ModuleConfig, RuleConfig, parse_signal
from trackerdcs.safety.modules import ModuleMap
from trackerdcs.stand.archive import ArchiveConfig
from trackerdcs.stand.checks import check_safety
from trackerdcs.stand.console import ConsoleConfig
from trackerdcs.stand.deploy import DeployConfig
from trackerdcs.stand.errors import StandError

PASSWORD_ENV = "DCS_MQTT_PASSWORD"


class BrokerConfig(BaseModel):
    """The ``[broker]`` table."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, description="External broker; none: dcs up starts one")
    username: str | None = None
    password_file: Path | None = Field(default=None, description="File holding the password")
    ca_file: Path | None = None
    buffer: int = Field(default=10_000, ge=1, description="Samples kept while the broker is away")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                BrokerSettings.from_url(value)
            except BrokerUrlError as exc:
                raise ValueError(str(exc)) from None
        return value


class Stand(BaseModel):
    """A whole stand file."""

    model_config = ConfigDict(extra="forbid")

    name: str = "stand"
    broker: BrokerConfig = Field(default_factory=BrokerConfig)
    devices: list[DeviceConfig] = Field(min_length=1)
    modules: list[ModuleConfig] = Field(default_factory=list)
    rules: list[RuleConfig] = Field(default_factory=list)
    interlock: InterlockConfig = Field(default_factory=InterlockConfig)
    archive: ArchiveConfig = Field(default_factory=ArchiveConfig)
    deploy: DeployConfig = Field(default_factory=DeployConfig)
    daq: DaqConfig | None = None
    console: ConsoleConfig = Field(default_factory=ConsoleConfig)
    source: str = Field(default="<default stand>", exclude=True)

    @model_validator(mode="after")
    def _check(self) -> Stand:
        names = [d.name for d in self.devices]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"device names must be unique; repeated: {', '.join(duplicates)}")
        for i, device in enumerate(self.devices):
            if (device.kind, device.driver) not in DRIVERS:
                known = ", ".join(drivers_for(device.kind)) or "none"
                raise ValueError(
                    f"devices[{i}] ({device.name}).driver: no driver {device.driver!r} "
                    f"for kind {device.kind!r} (known: {known})"
                )
        check_safety(self.devices, self.modules, self.rules, self.interlock.name)
        if self.daq is not None:
            self._check_daq(self.daq)
        taken = {
            *names,
            *(m.name for m in self.modules),
            self.interlock.name,
            self.daq.name if self.daq else "",
        }
        if self.console.name in taken:
            raise ValueError(f"console.name: {self.console.name!r} is already a device, module or service")
        return self

    def _check_daq(self, daq: DaqConfig) -> None:
        modules = {m.name for m in self.modules}
        for i, name in enumerate(daq.modules):
            if name not in modules:
                known = ", ".join(sorted(modules)) or "none"
                raise ValueError(f"daq.modules[{i}]: no module {name!r} (modules: {known})")
        taken = {d.name for d in self.devices} | modules | {self.interlock.name}
        if daq.name in taken:
            raise ValueError(f"daq.name: {daq.name!r} is already a device, module or the interlock")
        if daq.store is not None:
            try:
                check_store_url(daq.store)
            except StoreUrlError as exc:
                raise ValueError(f"daq.store: {exc}") from None

    def watched_devices(self) -> list[str]:
        """The stand's devices and whatever else its rules watch (the archiver)."""
        names = [d.name for d in self.devices]
        for rule in self.rules:
            for device in (parse_signal(rule.signal).device if rule.signal else None, rule.stale):
                if device is not None and device not in names:
                    names.append(device)
        return names

    def judged_devices(self) -> set[str]:
        """The devices whose samples the rules judge (their signals, and stale rules)."""
        signals = {parse_signal(rule.signal).device for rule in self.rules if rule.signal}
        return signals | {rule.stale for rule in self.rules if rule.stale}

    @property
    def has_safety(self) -> bool:
        """Whether the stand needs the safety service (modules or interlock rules)."""
        return bool(self.modules or self.rules)

    def module_map(self) -> ModuleMap:
        return ModuleMap(tuple(self.modules))

    def device(self, name: str) -> DeviceConfig:
        for device in self.devices:
            if device.name == name:
                return device
        known = ", ".join(d.name for d in self.devices)
        raise StandError(f"{self.source}: no device {name!r} (devices: {known})")

    def broker_settings(self, fallback: BrokerSettings) -> BrokerSettings:
        """The broker to use: the stand's, else ``fallback``; with credentials resolved."""
        base = BrokerSettings.from_url(self.broker.url) if self.broker.url else fallback
        password = os.environ.get(PASSWORD_ENV) or _read_secret(self.broker.password_file, self.source)
        settings = base.with_credentials(self.broker.username, password)
        if self.broker.ca_file:
            from dataclasses import replace

            settings = replace(settings, ca_file=str(self.broker.ca_file))
        return settings


def _read_secret(path: Path | None, source: str) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise StandError(f"{source}: broker.password_file: cannot read {path}: {exc.strerror}") from None
