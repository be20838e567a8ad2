"""What every run store does, the query over runs, and the JSON form of a record."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Protocol

Record = dict[str, Any]  # a run record; ``id`` is its key, ``start``/``stop`` are UTC datetimes


class StoreUnavailable(Exception):
    """The store cannot be reached or is failing; the write is kept and retried."""


@dataclass(frozen=True)
class RunQuery:
    module: str | None = None
    since: dt.datetime | None = None
    status: str | None = None
    limit: int = 50


class RunStore(Protocol):
    def put(self, record: Record) -> None:
        """Insert or replace the record with this ``id``; raise :class:`StoreUnavailable`."""

    def get(self, key: str) -> Record | None:
        """The record of a run number (the newest, if reused) or a record id."""

    def find(self, query: RunQuery) -> list[Record]:
        """Records matching ``query``, newest first."""

    def close(self) -> None: ...


def to_json(record: Record) -> str:
    """JSON with datetimes as ``{"$date": ISO}`` (MongoDB's extended JSON), so they come back as such."""
    return json.dumps(record, default=_encode, separators=(",", ":"))


def from_json(text: str) -> Record:
    value: Record = json.loads(text, object_hook=_decode)
    return value


def _encode(value: object) -> object:
    if isinstance(value, dt.datetime):
        return {"$date": value.astimezone(dt.UTC).isoformat()}
    raise TypeError(f"not JSON: {type(value).__name__}")


def _decode(obj: dict[str, Any]) -> object:
    if set(obj) == {"$date"}:
        return dt.datetime.fromisoformat(obj["$date"])
    return obj


def utc(value: dt.datetime) -> dt.datetime:
    """MongoDB hands datetimes back naive (in UTC): make every datetime aware."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def aware(record: Record) -> Record:
    for key in ("start", "stop"):
        if isinstance(record.get(key), dt.datetime):
            record[key] = utc(record[key])
    return record
