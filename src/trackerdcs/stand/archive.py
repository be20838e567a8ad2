"""The stand file's ``[archive]`` table, and where the archive and its spool live."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from trackerdcs.archive.url import ArchiveTarget, ArchiveUrlError, parse_archive_url

DEFAULT_DATA = Path.home() / ".local/share/trackerdcs"


class ArchiveConfig(BaseModel):
    """Where samples are stored; by default SQLite in the stand's data directory."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(
        default=None,
        description="influxdb://host:8086/db, influxdb2://host:8086/?org=o&bucket=b or sqlite:///file",
    )
    secret_file: Path | None = Field(default=None, description="File holding the InfluxDB password or token")
    spool_max_mb: int = Field(
        default=1024, ge=1, description="Disk the spool may use while the database is away"
    )
    batch_kb: int = Field(default=1024, ge=1, le=65536, description="Spool segment (and write batch) size")
    flush_interval: float = Field(
        default=0.1, gt=0, le=60, description="Longest a sample waits for its batch, s"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_archive_url(value)
            except ArchiveUrlError as exc:
                raise ValueError(str(exc)) from None
        return value


def stand_data_dir(data_dir: Path, stand_name: str) -> Path:
    return data_dir / stand_name


def archive_target(config: ArchiveConfig, data_dir: Path, url: str | None = None) -> ArchiveTarget:
    """``url`` (``--archive``) if given, else the stand's, else SQLite in ``data_dir``."""
    chosen = url or config.url or f"sqlite:///{data_dir / 'archive.sqlite3'}"
    return parse_archive_url(chosen, config.secret_file)
