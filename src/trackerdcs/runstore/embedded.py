"""The embedded run store: SQLite in the stand's data directory, needing nothing but Python.

The record is kept whole as JSON; the fields queries select on (run, start, status, modules)
are columns with indexes of their own.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from trackerdcs.runstore.base import Record, RunQuery, StoreUnavailable, aware, from_json, to_json

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, run INTEGER, start REAL, status TEXT, doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_run ON runs (run);
CREATE INDEX IF NOT EXISTS runs_start ON runs (start);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status);
CREATE TABLE IF NOT EXISTS run_modules (id TEXT NOT NULL, module TEXT NOT NULL, PRIMARY KEY (module, id));
"""


class EmbeddedStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def put(self, record: Record) -> None:
        start = record.get("start")
        row = (record["id"], record.get("run"), start.timestamp() if start else None, record.get("status"))
        try:
            with self._lock:
                self._db.execute("BEGIN")
                self._db.execute(
                    "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?)", (*row, to_json(record))
                )
                self._db.execute("DELETE FROM run_modules WHERE id = ?", (record["id"],))
                modules = [(record["id"], m) for m in record.get("modules", [])]
                self._db.executemany("INSERT INTO run_modules VALUES (?, ?)", modules)
                self._db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise StoreUnavailable(f"sqlite {self.path}: {exc}") from exc

    def get(self, key: str) -> Record | None:
        with self._lock:
            row = self._db.execute("SELECT doc FROM runs WHERE id = ?", (key,)).fetchone()
            if row is None and key.isdigit():
                sql = "SELECT doc FROM runs WHERE run = ? ORDER BY start DESC LIMIT 1"
                row = self._db.execute(sql, (int(key),)).fetchone()
        return aware(from_json(row[0])) if row else None

    def find(self, query: RunQuery) -> list[Record]:
        where: list[str] = ["1"]
        args: list[object] = []
        if query.module is not None:
            where.append("id IN (SELECT id FROM run_modules WHERE module = ?)")
            args.append(query.module)
        if query.since is not None:
            where.append("start >= ?")
            args.append(query.since.timestamp())
        if query.status is not None:
            where.append("status = ?")
            args.append(query.status)
        sql = f"SELECT doc FROM runs WHERE {' AND '.join(where)} ORDER BY start DESC LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (*args, query.limit)).fetchall()
        return [aware(from_json(doc)) for (doc,) in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
