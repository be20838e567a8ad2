"""The stand file's ``[deploy]`` table: what ``dcs deploy`` needs beyond the devices."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from trackerdcs.contract.topics import NAME_RE


class DeployConfig(BaseModel):
    """Where the stand is served and with which certificate.

    Without ``tls_cert`` and ``tls_key`` ``dcs deploy`` makes a self-signed certificate
    (for development); with them the gateway and the broker use the given pair.
    """

    model_config = ConfigDict(extra="forbid")

    server_name: str = Field(default="localhost", description="Host name users reach the gateway by")
    tls_cert: Path | None = Field(default=None, description="Production certificate chain (PEM)")
    tls_key: Path | None = Field(default=None, description="Its private key (PEM)")
    database: str = Field(default="dcs", description="InfluxDB database the archiver fills")
    operators: list[str] = Field(default=["operator"], description="MQTT accounts that may command")
    viewers: list[str] = Field(default=["viewer"], description="MQTT accounts that may only read")

    @field_validator("server_name")
    @classmethod
    def _host(cls, value: str) -> str:
        labels = value.split(".")
        if not value or len(value) > 253 or not all(_label(x) for x in labels):
            raise ValueError(f"{value!r} is not a host name")
        return value

    @field_validator("database")
    @classmethod
    def _database(cls, value: str) -> str:
        if not NAME_RE.fullmatch(value):
            raise ValueError(f"{value!r}: use letters, digits, '_', '-' or '.'")
        return value

    @field_validator("operators", "viewers")
    @classmethod
    def _accounts(cls, value: list[str]) -> list[str]:
        for name in value:
            if not NAME_RE.fullmatch(name):
                raise ValueError(f"account {name!r}: use letters, digits, '_', '-' or '.'")
        return value

    @model_validator(mode="after")
    def _pair(self) -> DeployConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("give both tls_cert and tls_key, or neither (a self-signed pair is made)")
        clash = set(self.operators) & set(self.viewers)
        if clash:
            raise ValueError(f"accounts both operator and viewer: {', '.join(sorted(clash))}")
        return self


def _label(label: str) -> bool:
    return 0 < len(label) <= 63 and label.replace("-", "").isalnum() and not label.startswith("-")
