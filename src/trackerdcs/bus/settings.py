"""Where and how to reach the broker: the settings every client shares, parsed from URLs.

Plain data, no client library: the stand file builds these without importing MQTT.
"""

from __future__ import annotations

import ssl
import uuid
from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

Protocol = Literal["auto", "5", "3.1.1"]
DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883


class BrokerUrlError(ValueError):
    """A broker URL that cannot be used."""


@dataclass(frozen=True)
class BrokerSettings:
    """Where and how to reach the broker."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    protocol: Protocol = "auto"

    @classmethod
    def from_url(cls, url: str) -> BrokerSettings:
        """Parse ``mqtt://[user[:password]@]host[:port][?protocol=5|3.1.1]`` (``mqtts://`` for TLS)."""
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "mqtts"):
            raise BrokerUrlError(f"broker URL {url!r}: scheme must be mqtt:// or mqtts://")
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port if parts.port is not None else (DEFAULT_TLS_PORT if tls else DEFAULT_PORT)
        except ValueError as exc:
            raise BrokerUrlError(f"broker URL {url!r}: {exc}") from None
        if port == 0:
            raise BrokerUrlError(f"broker URL {url!r}: port 0 is not a port")
        if not parts.hostname:
            raise BrokerUrlError(f"broker URL {url!r}: no host")
        protocol = parse_qs(parts.query).get("protocol", ["auto"])[-1]
        if protocol not in ("auto", "5", "3.1.1"):
            raise BrokerUrlError(f"broker URL {url!r}: protocol must be 5, 3.1.1 or auto")
        return cls(
            protocol=protocol,  # type: ignore[arg-type]  # checked just above
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )

    @property
    def url(self) -> str:
        """The URL without credentials, for messages."""
        query = "" if self.protocol == "auto" else f"?protocol={self.protocol}"
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}{query}"

    def with_credentials(self, username: str | None, password: str | None) -> BrokerSettings:
        return replace(self, username=username or self.username, password=password or self.password)


def client_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def tls_context(settings: BrokerSettings) -> ssl.SSLContext | None:
    if not settings.tls:
        return None
    context = ssl.create_default_context(cafile=settings.ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
