"""The embedded archive: SQLite in WAL mode, so history works with Python alone.

One row per measurement and time (a device's status: all its channels), the points in
one JSON object by tag set, each the JSON object of its fields; rows are appended in
the order they arrive, and an index on (measurement, time) finds a device's. Writing a
point again (a replay after a crash) replaces it, so a replay never double-counts. The
schema, its version and the migration of older files: :mod:`.sqlite_schema`; why
(decision 29): with one row per point keyed (series, time), each commit touched a page
of every one of 10,240 series and the write-ahead log grew to gigabytes.

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
from trackerdcs.archive.rows import Row, frame_json, point_rows, tag_text, to_frames
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
    "PRAGMA cache_size=-65536",  # KiB
    # after a burst (a backlog replayed) the log is cut back to this once checkpointed,
    # instead of keeping its largest size on disk
    "PRAGMA journal_size_limit=67108864",
)
# as the archive stores values: numbers as floats, booleans as integers (json_each
# gives 1 and 0 for true and false), text as text
VALUE = "CASE j.type WHEN 'integer' THEN CAST(j.value AS REAL) ELSE j.value END"
HISTORY = f"""
SELECT f.time, {VALUE} FROM frames AS f, json_each(f.points) AS t, json_each(t.value) AS j
WHERE f.measurement = (SELECT id FROM measurements WHERE name = ?)
  AND f.time >= ? AND f.time <= ? AND t.key = ? AND j.key = ?
ORDER BY f.time LIMIT ?
"""
COUNT = """
SELECT COALESCE(SUM(n_points), 0) FROM frames
WHERE measurement IN (SELECT id FROM measurements WHERE name = ?)
"""
# A frame written again (a replayed segment; two messages of one device with one time)
# merges into the stored one, point by point: a point (tag set) written again replaces
# the stored one, the others stay.
_MERGED = """
    SELECT key, value FROM json_each(frames.points)
    WHERE key NOT IN (SELECT key FROM json_each(excluded.points))
    UNION ALL SELECT key, value FROM json_each(excluded.points)
"""
INSERT = f"""
INSERT INTO frames (measurement, time, n_points, points) VALUES (?, ?, ?, ?)
ON CONFLICT (measurement, time) DO UPDATE SET
    points = (SELECT json_group_object(key, json(value)) FROM ({_MERGED})),
    n_points = (SELECT COUNT(*) FROM ({_MERGED}))
"""


class SqliteBackend:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()  # one connection, used from the writer's thread and the CLI
        self._measurements: dict[str, int] = {}  # name -> id, as committed
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
                self._measurements.update(new)  # only now: a rolled-back id may be given to another
        except sqlite3.OperationalError as exc:  # disk full, locked: keep it in the spool
            raise Unavailable(f"sqlite {self.path}: {exc}") from exc

    def _write(self, rows: list[Row]) -> dict[str, int]:
        """Insert the rows as frames and commit; the measurement ids that are new."""
        frames = to_frames(rows)
        new = self._new_measurements({m for m, _ in frames})
        ids = self._measurements | new
        self._db.executemany(
            INSERT, [(ids[m], time, len(points), frame_json(points)) for (m, time), points in frames.items()]
        )
        self._db.execute("COMMIT")
        return new

    def _new_measurements(self, names: set[str]) -> dict[str, int]:
        """Ids of the measurements this process has not seen yet, inserted where missing."""
        new = {}
        for name in sorted(names.difference(self._measurements)):
            self._db.execute("INSERT OR IGNORE INTO measurements (name) VALUES (?)", (name,))
            (new[name],) = self._db.execute("SELECT id FROM measurements WHERE name = ?", (name,)).fetchone()
        return new

    def history(self, query: Query) -> Series:
        tags = tag_text({"number": query.channel}) if query.channel is not None else ""
        until = int(query.until * 1e9) if query.until is not None else 2**63 - 1
        args = (query.device, int(query.since * 1e9), until, tags, query.field, query.limit)
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
