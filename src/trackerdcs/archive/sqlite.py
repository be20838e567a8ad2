"""The embedded archive: SQLite in WAL mode, so history works with Python alone.

One row per point, keyed by (series, time), its fields one JSON object: writing the
same sample twice (a replay after a crash) replaces it, so a replay never double-counts.
The schema, its version and the migration of older files: :mod:`.sqlite_schema`.

Readers (``dcs history``) run in other processes while the archiver writes: WAL lets
them read the last commit without waiting, and a busy timeout lets any of them wait for
a lock (a migration, a second writer) instead of failing.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from trackerdcs.archive.backend import Query, Series, Unavailable
from trackerdcs.archive.points import Point
from trackerdcs.archive.prepare import ROWS, Prepared
from trackerdcs.archive.rows import Row, point_rows, tag_text
from trackerdcs.archive.sqlite_schema import ensure_current

BUSY_TIMEOUT = 30.0  # s: how long a connection waits for another's lock before it gives up
PRAGMAS = (
    # before WAL, so that a new file gets it: a fifth less CPU per point stored than
    # 4 KiB pages (fewer page splits and checkpoint copies); an existing file keeps its own
    "PRAGMA page_size=16384",
    "PRAGMA journal_mode=WAL",
    # a commit is durable at the next checkpoint, not at once: the spool, fsynced, keeps
    # a segment until its commit returns, so a power cut loses nothing the spool lacks
    "PRAGMA synchronous=NORMAL",
    "PRAGMA cache_size=-65536",  # KiB: the newest page of every series stays in memory
)
# as the archive stores values: numbers as floats, booleans as integers (json_each
# gives 1 and 0 for true and false), text as text
VALUE = "CASE j.type WHEN 'integer' THEN CAST(j.value AS REAL) ELSE j.value END"
HISTORY = f"""
SELECT p.time, {VALUE} FROM points AS p, json_each(p.fields) AS j
WHERE p.series = (SELECT id FROM series WHERE measurement = ? AND tags = ?)
  AND p.time >= ? AND p.time <= ? AND j.key = ?
ORDER BY p.time LIMIT ?
"""
COUNT = "SELECT COUNT(*) FROM points WHERE series IN (SELECT id FROM series WHERE measurement = ?)"


class SqliteBackend:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()  # one connection, used from the writer's thread and the CLI
        self._series: dict[tuple[str, str], int] = {}  # (measurement, tags) -> id, as committed
        self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, check_same_thread=False, isolation_level=None)
        try:
            for pragma in PRAGMAS:
                self._db.execute(pragma)
            ensure_current(self._db, path)
        except BaseException:
            self._db.close()
            raise

    form = ROWS

    def write(self, points: list[Point]) -> None:
        self._insert(point_rows(points))

    def commit(self, prepared: Prepared) -> None:
        self._insert(prepared.rows)

    def _insert(self, rows: list[Row]) -> None:
        try:
            with self._lock:
                self._db.execute("BEGIN IMMEDIATE")  # a write from the start: wait for the lock here
                try:
                    new = self._write(rows)
                except BaseException:
                    if self._db.in_transaction:  # a failed COMMIT may have ended it already
                        self._db.execute("ROLLBACK")
                    raise
                self._series.update(new)  # only now: a rolled-back id may be given to another series
        except sqlite3.OperationalError as exc:  # disk full, locked: keep it in the spool
            raise Unavailable(f"sqlite {self.path}: {exc}") from exc

    def _write(self, rows: list[Row]) -> dict[tuple[str, str], int]:
        """Insert the rows and commit; the series ids that are new."""
        new = self._new_series(rows)
        ids = self._series | new
        self._db.executemany(
            "INSERT OR REPLACE INTO points VALUES (?, ?, ?)",
            [(ids[m, t], time, fields) for m, t, time, fields in rows],
        )
        self._db.execute("COMMIT")
        return new

    def _new_series(self, rows: list[Row]) -> dict[tuple[str, str], int]:
        """Ids of the series this process has not seen yet, inserted where missing."""
        keys = {(m, t) for m, t, _, _ in rows}.difference(self._series)
        new = {}
        for key in sorted(keys):
            self._db.execute("INSERT OR IGNORE INTO series (measurement, tags) VALUES (?, ?)", key)
            (new[key],) = self._db.execute(
                "SELECT id FROM series WHERE measurement = ? AND tags = ?", key
            ).fetchone()
        return new

    def history(self, query: Query) -> Series:
        tags = tag_text({"number": query.channel}) if query.channel is not None else ""
        until = int(query.until * 1e9) if query.until is not None else 2**63 - 1
        args = (query.device, tags, int(query.since * 1e9), until, query.field, query.limit)
        try:
            with self._lock:
                rows = self._db.execute(HISTORY, args).fetchall()
        except sqlite3.OperationalError as exc:
            raise Unavailable(f"sqlite {self.path}: {exc}") from exc
        return [(t / 1e9, v) for t, v in rows]

    def count(self, measurement: str) -> int:
        with self._lock:
            return int(self._db.execute(COUNT, (measurement,)).fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
