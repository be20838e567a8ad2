"""Open the backend an archive target names."""

from __future__ import annotations

from trackerdcs.archive.backend import Backend
from trackerdcs.archive.url import ArchiveTarget


def open_backend(target: ArchiveTarget) -> Backend:
    if target.scheme == "sqlite":
        from trackerdcs.archive.sqlite import SqliteBackend

        assert target.path is not None
        return SqliteBackend(target.path)
    from trackerdcs.archive.influx import Influx1Backend, Influx2Backend

    if target.scheme == "influxdb":
        return Influx1Backend(target)
    return Influx2Backend(target)


def check_archive(target: ArchiveTarget) -> None:
    """Open and close an embedded archive: migrate it, or raise ``SchemaTooNew``.

    A server (InfluxDB) is not asked: it may well be down, and the spool rides that out.
    """
    if target.scheme == "sqlite":
        open_backend(target).close()
