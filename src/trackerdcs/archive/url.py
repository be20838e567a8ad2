"""Where the archive lives: ``influxdb://``, ``influxdb2://`` or ``sqlite:///`` URLs.

Secrets never sit in the URL of a committed file: a password or token comes from the
environment (``DCS_ARCHIVE_PASSWORD``, ``DCS_ARCHIVE_TOKEN``) or from a file the stand
file names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

PASSWORD_ENV = "DCS_ARCHIVE_PASSWORD"
TOKEN_ENV = "DCS_ARCHIVE_TOKEN"
SCHEMES = ("influxdb", "influxdb2", "sqlite")


class ArchiveUrlError(ValueError):
    """An archive URL that cannot be used; the message says why."""


@dataclass(frozen=True)
class ArchiveTarget:
    scheme: str  # influxdb, influxdb2 or sqlite
    host: str = "127.0.0.1"
    port: int = 8086
    database: str = ""  # InfluxDB 1.x database
    org: str = ""  # InfluxDB 2.x
    bucket: str = ""
    path: Path | None = None  # SQLite file
    username: str | None = None
    password: str | None = None
    token: str | None = None
    tls: bool = False

    @property
    def base(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def describe(self) -> str:
        """The URL without secrets, for logs."""
        if self.scheme == "sqlite":
            return f"sqlite:///{self.path}"
        if self.scheme == "influxdb":
            return f"influxdb://{self.host}:{self.port}/{self.database}"
        return f"influxdb2://{self.host}:{self.port}/?org={self.org}&bucket={self.bucket}"


def parse_archive_url(url: str, secret_file: Path | None = None) -> ArchiveTarget:
    """Parse and check an archive URL; secrets from the environment or ``secret_file``."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ArchiveUrlError(f"archive URL {url!r}: scheme must be one of {', '.join(SCHEMES)}")
    if parts.scheme == "sqlite":
        return _sqlite(url, parts.path)
    try:
        port = parts.port or 8086
    except ValueError:
        raise ArchiveUrlError(f"archive URL {url!r}: the port is not a number in 1-65535") from None
    secret = _secret(secret_file)
    query = parse_qs(parts.query)
    tls = query.get("tls", ["0"])[0] in ("1", "true", "yes")
    base = ArchiveTarget(parts.scheme, parts.hostname or "127.0.0.1", port, tls=tls)
    if parts.scheme == "influxdb":
        return _influx1(url, base, parts.path, parts.username, parts.password, secret)
    return _influx2(url, base, query, secret)


def _sqlite(url: str, path: str) -> ArchiveTarget:
    # as SQLAlchemy: sqlite:///relative/path, sqlite:////absolute/path
    if not path or path == "/":
        raise ArchiveUrlError(f"archive URL {url!r}: give a file, e.g. sqlite:///data/archive.sqlite3")
    raw = url.removeprefix("sqlite://")
    return ArchiveTarget("sqlite", path=Path(unquote(raw.removeprefix("/"))))


def _influx1(
    url: str, base: ArchiveTarget, path: str, user: str | None, password: str | None, secret: str | None
) -> ArchiveTarget:
    database = path.strip("/")
    if not database or "/" in database:
        raise ArchiveUrlError(f"archive URL {url!r}: name the database, e.g. influxdb://host:8086/dcs")
    if password is not None:
        raise ArchiveUrlError(
            f"archive URL {url!r}: no password in the URL; set {PASSWORD_ENV} or password_file"
        )
    password = os.environ.get(PASSWORD_ENV) or secret
    return replace(base, database=database, username=user, password=password)


def _influx2(url: str, base: ArchiveTarget, query: dict[str, list[str]], secret: str | None) -> ArchiveTarget:
    org, bucket = query.get("org", [""])[0], query.get("bucket", [""])[0]
    if not org or not bucket:
        raise ArchiveUrlError(
            f"archive URL {url!r}: give org and bucket, e.g. influxdb2://host:8086/?org=lab&bucket=dcs"
        )
    token = os.environ.get(TOKEN_ENV) or secret
    return replace(base, org=org, bucket=bucket, token=token)


def _secret(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise ArchiveUrlError(f"cannot read the archive secret file {path}: {exc.strerror}") from None
