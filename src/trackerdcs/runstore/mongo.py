"""The MongoDB run store, through pymongo: collection ``runs``, indexed on run, modules, start, status."""

from __future__ import annotations

from typing import Any

import pymongo
import pymongo.errors

from trackerdcs.runstore.base import Record, RunQuery, StoreUnavailable, aware

INDEXES = ["run", "modules", "start", "status"]


class MongoStore:
    def __init__(self, url: str, password: str | None = None, timeout_ms: int = 2000) -> None:
        self.url = url
        options: dict[str, Any] = {"serverSelectionTimeoutMS": timeout_ms, "connectTimeoutMS": timeout_ms}
        if password is not None:
            options["password"] = password
        self._client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(url, tz_aware=True, **options)
        database = self._client.get_default_database(default="trackerdcs")
        self._runs = database["runs"]
        self._indexed = False

    def _ensure_indexes(self) -> None:
        if not self._indexed:
            self._runs.create_index("id", unique=True)
            for key in INDEXES:
                self._runs.create_index(key)
            self._indexed = True

    def put(self, record: Record) -> None:
        try:
            self._ensure_indexes()
            self._runs.replace_one({"id": record["id"]}, dict(record), upsert=True)
        except pymongo.errors.PyMongoError as exc:
            raise StoreUnavailable(f"mongodb: {exc}") from exc

    def get(self, key: str) -> Record | None:
        try:
            found = self._runs.find_one({"id": key}, {"_id": 0})
            if found is None and key.isdigit():
                found = self._runs.find_one({"run": int(key)}, {"_id": 0}, sort=[("start", -1)])
        except pymongo.errors.PyMongoError as exc:
            raise StoreUnavailable(f"mongodb: {exc}") from exc
        return aware(dict(found)) if found is not None else None

    def find(self, query: RunQuery) -> list[Record]:
        selector: dict[str, Any] = {}
        if query.module is not None:
            selector["modules"] = query.module
        if query.since is not None:
            selector["start"] = {"$gte": query.since}
        if query.status is not None:
            selector["status"] = query.status
        try:
            cursor = self._runs.find(selector, {"_id": 0}).sort("start", -1).limit(query.limit)
            return [aware(dict(doc)) for doc in cursor]
        except pymongo.errors.PyMongoError as exc:
            raise StoreUnavailable(f"mongodb: {exc}") from exc

    def close(self) -> None:
        self._client.close()
