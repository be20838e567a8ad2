"""The SQLite archive's schema, its version, and the migration from older files.

The version is ``PRAGMA user_version``:

- 0 with a ``samples`` table: version 1, one row per field value
  ``(measurement, field, tags, time, value)``;
- 2: one row per point, ``points(series, time, fields)`` with the fields as one JSON
  object (the JSON types as published; read as floats, integers for booleans, and
  text), and a ``series`` table naming each (measurement, tags) once.

An older file is migrated on open, in one transaction; a newer one is refused, never
read with the wrong idea of what its rows mean (decision 22).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

log = logging.getLogger(__name__)

VERSION = 2

SCHEMA = """
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
        elif found == 1:
            _migrate_v1(db, path)
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


def _migrate_v1(db: sqlite3.Connection, path: Path) -> None:
    rows = int(db.execute("SELECT COUNT(*) FROM samples").fetchone()[0])
    _run(db, SCHEMA)
    _run(db, MIGRATE_V1)
    points = int(db.execute("SELECT COUNT(*) FROM points").fetchone()[0])
    log.info(
        "%s: archive schema migrated from version 1 to %d: %d field rows became %d points",
        path,
        VERSION,
        rows,
        points,
    )


def _run(db: sqlite3.Connection, script: str) -> None:
    """Statement by statement: ``executescript`` would commit the open transaction first."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)
