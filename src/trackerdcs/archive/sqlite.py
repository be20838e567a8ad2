"""The embedded archive: SQLite in WAL mode, so history works with Python alone.

One row per field value, keyed by (measurement, field, tags, time): writing the same
sample twice (a replay after a crash) replaces it, so a replay never double-counts.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from trackerdcs.archive.backend import Query, Series, Unavailable
from trackerdcs.archive.points import Point
from trackerdcs.archive.prepare import ROWS, Prepared, Row, sqlite_rows, tag_text

SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    measurement TEXT NOT NULL,
    field TEXT NOT NULL,
    tags TEXT NOT NULL,
    time INTEGER NOT NULL,
    value,
    PRIMARY KEY (measurement, field, tags, time)
) WITHOUT ROWID;
"""


class SqliteBackend:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()  # one connection, used from the writer's thread and the CLI
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    form = ROWS

    def write(self, points: list[Point]) -> None:
        self._insert(sqlite_rows(points))

    def commit(self, prepared: Prepared) -> None:
        self._insert(prepared.rows)

    def _insert(self, rows: list[Row]) -> None:
        try:
            with self._lock:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT OR REPLACE INTO samples VALUES (?, ?, ?, ?, ?)", rows)
                self._db.execute("COMMIT")
        except sqlite3.OperationalError as exc:  # disk full, locked: keep it in the spool
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise Unavailable(f"sqlite {self.path}: {exc}") from exc

    def history(self, query: Query) -> Series:
        tags = tag_text({"number": query.channel}) if query.channel is not None else ""
        until = int(query.until * 1e9) if query.until is not None else 2**63 - 1
        sql = (
            "SELECT time, value FROM samples WHERE measurement = ? AND field = ? AND tags = ?"
            " AND time >= ? AND time <= ? ORDER BY time LIMIT ?"
        )
        args = (query.device, query.field, tags, int(query.since * 1e9), until, query.limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [(t / 1e9, v) for t, v in rows]

    def count(self, measurement: str) -> int:
        """Points, not field values: distinct (tags, time) pairs."""
        sql = "SELECT COUNT(*) FROM (SELECT DISTINCT tags, time FROM samples WHERE measurement = ?)"
        with self._lock:
            return int(self._db.execute(sql, (measurement,)).fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
