"""The SQLite archive's schema, its version, and the migration of older files.

The version is ``PRAGMA user_version``:

- 0 with a ``samples`` table: version 1, one row per field value
  ``(measurement, field, tags, time, value)``;
- 2: one row per point, ``points(series, time, fields)`` with the fields as one JSON
  object, and a ``series`` table naming each (measurement, tags) once (decision 22);
- 3: one row per measurement and time, ``frames(id, measurement, time, n_points,
  points)``: ``points`` is a JSON object of the points, by tag set (``"number=3"``, or
  ``""``), each the JSON object of its fields; ``measurements`` names each measurement
  once (decision 29).

An older file is migrated on open, in one transaction; a newer one is refused, never
read with the wrong idea of what its rows mean.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

log = logging.getLogger(__name__)

VERSION = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS measurements (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS frames (
    id INTEGER PRIMARY KEY,
    measurement INTEGER NOT NULL REFERENCES measurements (id),
    time INTEGER NOT NULL,
    n_points INTEGER NOT NULL,
    points TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS frames_by_time ON frames (measurement, time);
"""

# The schema of version 2, which version 1 is migrated through.
SCHEMA_V2 = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    measurement TEXT NOT NULL,
    tags TEXT NOT NULL,
    UNIQUE (measurement, tags)
);
CREATE TABLE IF NOT EXISTS points (
    series INTEGER NOT NULL REFERENCES series (id),
    time INTEGER NOT NULL,
    fields TEXT NOT NULL,
    PRIMARY KEY (series, time)
) WITHOUT ROWID;
"""

# Version 1 to 2. Version 1 stored numbers as floats and booleans as integers: its
# integers become true and false again. A non-finite float would be written as Inf,
# which is not JSON: 9e999 is, and SQLite reads it back as infinity.
_V1_VALUE = (
    "CASE WHEN typeof(value) = 'integer' THEN json(iif(value, 'true', 'false'))"
    " WHEN typeof(value) = 'real' AND abs(value) > 1.7976931348623157e308"
    " THEN json(iif(value > 0, '9e999', '-9e999')) ELSE value END"
)
MIGRATE_V1 = f"""
INSERT OR IGNORE INTO series (measurement, tags) SELECT DISTINCT measurement, tags FROM samples;
INSERT OR REPLACE INTO points (series, time, fields)
    SELECT s.id, x.time, json_group_object(x.field, {_V1_VALUE})
    FROM samples AS x JOIN series AS s USING (measurement, tags)
    GROUP BY s.id, x.time;
DROP TABLE samples;
"""

# Version 2 to 3: the points of one measurement and time become one row, in time order.
MIGRATE_V2 = """
INSERT OR IGNORE INTO measurements (name) SELECT DISTINCT measurement FROM series ORDER BY measurement;
INSERT INTO frames (measurement, time, n_points, points)
    SELECT m.id, p.time, COUNT(*), json_group_object(s.tags, json(p.fields))
    FROM points AS p JOIN series AS s ON s.id = p.series JOIN measurements AS m ON m.name = s.measurement
    GROUP BY m.id, p.time ORDER BY p.time, m.id;
DROP TABLE points;
DROP TABLE series;
"""


class SchemaTooNew(Exception):
    """The file was written by a newer version of this software; it is not read."""


def ensure_current(db: sqlite3.Connection, path: Path) -> None:
    """Create, accept or migrate the schema of ``path``; raise :class:`SchemaTooNew`."""
    if _version(db, path) == VERSION:  # the common case, and no write: a reader never waits here
        return
    db.execute("BEGIN IMMEDIATE")  # another process may be migrating: wait for it, then look again
    try:
        found = _version(db, path)
        if found == 0:
            _run(db, SCHEMA)
        elif found < VERSION:
            _migrate(db, path, found)
        db.execute(f"PRAGMA user_version = {VERSION}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _version(db: sqlite3.Connection, path: Path) -> int:
    """0 for an empty file, 1 for the one-row-per-field schema, else ``user_version``."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > VERSION:
        raise SchemaTooNew(
            f"{path}: archive schema version {version} is newer than this dcs understands "
            f"(version {VERSION}); upgrade trackerdcs, or archive into a new file"
        )
    if version == 0:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
        return 1 if "samples" in tables else 0
    return version


def _migrate(db: sqlite3.Connection, path: Path, found: int) -> None:
    """From version ``found`` (1 or 2) to the current one, with one log line."""
    what = []
    if found == 1:
        rows = _count(db, "samples")
        _run(db, SCHEMA_V2)
        _run(db, MIGRATE_V1)
        what.append(f"{rows} field rows became {_count(db, 'points')} points")
    else:
        what.append(f"{_count(db, 'points')} points")
    _run(db, SCHEMA)
    _run(db, MIGRATE_V2)
    what.append(f"{_count(db, 'frames')} rows of a measurement and time")
    log.info(
        "%s: archive schema migrated from version %d to %d: %s", path, found, VERSION, ", in ".join(what)
    )


def _count(db: sqlite3.Connection, table: str) -> int:
    return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _run(db: sqlite3.Connection, script: str) -> None:
    """Statement by statement: ``executescript`` would commit the open transaction first."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)
