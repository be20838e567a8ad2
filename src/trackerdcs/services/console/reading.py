"""What the console reads besides the bus: the archive's history and the DAQ's run records.

Both are blocking (SQLite, HTTP to InfluxDB, MongoDB), so they run in a worker thread; a
store that is away gives :class:`ReadFailed`, which the API answers with 503.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from trackerdcs.archive.backend import Query, Series, Unavailable
from trackerdcs.archive.open import open_backend
from trackerdcs.archive.sqlite_schema import SchemaTooNew
from trackerdcs.archive.url import ArchiveTarget
from trackerdcs.contract.payloads import FIELD_UNITS
from trackerdcs.runstore.base import Record, RunQuery, RunStore, StoreUnavailable, to_json
from trackerdcs.runstore.open import open_store

T = TypeVar("T")

MAX_POINTS = 4000  # per series sent to a plot: thinned to min and max per bucket beyond this
EPOCH_FLOOR = 1e9  # a since/until below this is "seconds before now"


class ReadFailed(Exception):
    """The archive or the run store could not answer; the text says why."""


def when(value: float | None, now: float) -> float | None:
    """``since``/``until`` as epoch seconds: small numbers count back from now."""
    if value is None:
        return None
    return value if value > EPOCH_FLOOR else now - value


def thin(series: Series, limit: int = MAX_POINTS) -> list[tuple[float, float]]:
    """Numeric points, at most about ``limit``: min and max of each bucket, so spikes stay."""
    points = [
        (t, float(v))
        for t, v in series
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    ]
    if len(points) <= limit:
        return points
    size = math.ceil(len(points) / (limit // 2))
    out: list[tuple[float, float]] = []
    for start in range(0, len(points), size):
        bucket = points[start : start + size]
        low, high = min(bucket, key=lambda p: p[1]), max(bucket, key=lambda p: p[1])
        out += sorted({low, high})
    return out


class History:
    def __init__(self, target: ArchiveTarget) -> None:
        self.target = target

    async def read(self, query: Query) -> dict[str, Any]:
        series = await asyncio.to_thread(self._read, query)
        return {
            "device": query.device,
            "channel": query.channel,
            "field": query.field,
            "unit": FIELD_UNITS.get(query.field, ""),
            "points": thin(series),
        }

    def _read(self, query: Query) -> Series:
        path = self.target.path
        if self.target.scheme == "sqlite" and path is not None and not path.exists():
            return []  # nothing archived yet
        try:
            backend = open_backend(self.target)
        except SchemaTooNew as exc:
            raise ReadFailed(str(exc)) from None
        try:
            return backend.history(query)
        except Unavailable as exc:
            raise ReadFailed(f"archive unavailable: {exc}") from None
        finally:
            backend.close()


class Runs:
    def __init__(self, url: str | None, data_dir: Path, secret_file: Path | None) -> None:
        self.url, self.data_dir, self.secret_file = url, data_dir, secret_file

    async def find(self, query: RunQuery, calibration: str | None) -> list[dict[str, Any]]:
        records = await asyncio.to_thread(self._ask, lambda store: store.find(query))
        return [_plain(r) for r in records if calibration in (None, "", r.get("calibration"))]

    async def get(self, key: str) -> dict[str, Any] | None:
        record = await asyncio.to_thread(self._ask, lambda store: store.get(key))
        return None if record is None else _plain(record)

    def _ask(self, question: Callable[[RunStore], T]) -> T:
        store = open_store(self.url, self.data_dir, self.secret_file)
        try:
            return question(store)
        except StoreUnavailable as exc:
            raise ReadFailed(f"run store unavailable: {exc}") from None
        finally:
            store.close()


def _plain(record: Record) -> dict[str, Any]:
    """A record for the browser: datetimes as epoch seconds (``start``, ``stop``) and ISO text."""
    out: dict[str, Any] = json.loads(to_json(record), object_hook=_dates)
    return out


def _dates(obj: dict[str, Any]) -> Any:
    if set(obj) == {"$date"}:
        return dt.datetime.fromisoformat(obj["$date"]).timestamp()
    return obj
