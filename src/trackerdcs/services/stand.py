"""The stand file: one TOML file that names the broker and every device.

It is validated as a whole before anything starts. A wrong file gives one message
that names the file, the key and the problem.
"""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trackerdcs.devices.config import DeviceConfig
from trackerdcs.devices.registry import DRIVERS, drivers_for
from trackerdcs.safety.config import InterlockConfig, ModuleConfig, RuleConfig, parse_signal
from trackerdcs.safety.modules import ModuleMap
from trackerdcs.services.archive_config import ArchiveConfig
from trackerdcs.services.deploy_config import DeployConfig
from trackerdcs.services.mqtt import BrokerSettings, BrokerUrlError
from trackerdcs.services.stand_checks import check_safety

PASSWORD_ENV = "DCS_MQTT_PASSWORD"


class StandError(Exception):
    """A stand file that cannot be used; the message says where and why."""


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
        check_safety(self)
        return self

    def watched_devices(self) -> list[str]:
        """The stand's devices and whatever else its rules watch (the archiver)."""
        names = [d.name for d in self.devices]
        for rule in self.rules:
            for device in (parse_signal(rule.signal).device if rule.signal else None, rule.stale):
                if device is not None and device not in names:
                    names.append(device)
        return names

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


def default_stand_text() -> str:
    return resources.files("trackerdcs").joinpath("stands/default.toml").read_text()


def load_stand(path: Path | str | None = None) -> Stand:
    """Load and validate a stand file (the default stand when ``path`` is None)."""
    if path is None:
        return parse_stand(default_stand_text(), "<default stand>")
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise StandError(f"{path}: cannot read the stand file: {exc.strerror}") from None
    stand = parse_stand(text, str(path))
    base = path.parent
    if stand.broker.password_file and not stand.broker.password_file.is_absolute():
        stand.broker.password_file = base / stand.broker.password_file
    if stand.broker.ca_file and not stand.broker.ca_file.is_absolute():
        stand.broker.ca_file = base / stand.broker.ca_file
    if stand.archive.secret_file and not stand.archive.secret_file.is_absolute():
        stand.archive.secret_file = base / stand.archive.secret_file
    for key in ("tls_cert", "tls_key"):
        value = getattr(stand.deploy, key)
        if value is not None and not value.is_absolute():
            setattr(stand.deploy, key, base / value)
    return stand


def parse_stand(text: str, source: str) -> Stand:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise StandError(f"{source}: not valid TOML: {exc}") from None
    try:
        stand = Stand.model_validate(data)
    except ValidationError as exc:
        raise StandError(f"{source}: {_describe(exc, data)}") from None
    stand.source = source
    return stand


def _describe(exc: ValidationError, data: dict[str, object]) -> str:
    problems = []
    for error in exc.errors():
        key = _key(error["loc"], data)
        message = error["msg"].removeprefix("Value error, ")
        problems.append(f"{key}: {message}" if key else message)
    return "; ".join(problems)


def _key(loc: tuple[int | str, ...], data: dict[str, object]) -> str:
    """Spell a pydantic location as a TOML key, naming the device: devices[1] (lv).vmax."""
    parts: list[str] = []
    node: object = data
    for item in loc:
        node = _child(node, item)
        if isinstance(item, int) and parts:
            name = node.get("name") if isinstance(node, dict) else None
            parts[-1] += f"[{item}]" + (f" ({name})" if name else "")
        else:
            parts.append(str(item))
    return ".".join(parts)


def _child(node: object, item: int | str) -> object:
    if isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node):
        return node[item]
    if isinstance(node, dict):
        return node.get(item)
    return None
