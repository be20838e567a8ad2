"""The SQLite archive's schema version: a new file at v2, a v1 file migrated, a newer one refused."""

from __future__ import annotations

import logging
import math
import sqlite3
from pathlib import Path

import pytest

from tests.archive.test_backends import POINTS
from trackerdcs.archive.backend import Query
from trackerdcs.archive.sqlite import SqliteBackend
from trackerdcs.archive.sqlite_schema import VERSION, SchemaTooNew

# The schema of the first SQLite archive (user_version 0), as it wrote its rows.
V1_SCHEMA = """
CREATE TABLE samples (
    measurement TEXT NOT NULL, field TEXT NOT NULL, tags TEXT NOT NULL, time INTEGER NOT NULL, value,
    PRIMARY KEY (measurement, field, tags, time)
) WITHOUT ROWID;
"""
V1_ROWS = [
    ("hv", "vmon", "number=0", 1_000_000_000, 10.0),
    ("hv", "on", "number=0", 1_000_000_000, 1),
    ("hv", "state", "number=0", 1_000_000_000, "on"),
    ("hv", "vmon", "number=0", 2_000_000_000, 20.0),
    ("hv", "on", "number=0", 2_000_000_000, 1),
    ("hv", "state", "number=0", 2_000_000_000, "on"),
    ("hv", "vmon", "number=1", 2_000_000_000, 5.0),
    ("env", "temperature", "", 3_000_000_000, 21.5),
    ("env", "pressure", "", 3_000_000_000, math.inf),
    ("events", "alarm.id", "", 4_000_000_000, "dew"),
]


def v1_file(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(V1_SCHEMA)
        db.executemany("INSERT INTO samples VALUES (?, ?, ?, ?, ?)", V1_ROWS)
    db.close()
    return path


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
    db.close()
    return version


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    db.close()
    return names


def test_a_new_file_is_created_at_the_current_version(tmp_path: Path) -> None:
    SqliteBackend(tmp_path / "archive.sqlite3").close()
    assert user_version(tmp_path / "archive.sqlite3") == VERSION == 2
    assert tables(tmp_path / "archive.sqlite3") == {"series", "points"}


def test_a_v1_file_is_migrated_on_open_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = v1_file(tmp_path / "archive.sqlite3")
    with caplog.at_level(logging.INFO, logger="trackerdcs.archive.sqlite_schema"):
        db = SqliteBackend(path)
    assert user_version(path) == 2
    assert "samples" not in tables(path)
    (record,) = caplog.records
    assert record.levelno == logging.INFO
    message = record.getMessage()
    assert str(path) in message
    assert "from version 1 to 2" in message
    assert "10 field rows became 5 points" in message
    assert db.history(Query("hv", "vmon", "0")) == [(1.0, 10.0), (2.0, 20.0)]
    assert db.history(Query("hv", "state", "0", since=1.5)) == [(2.0, "on")]
    assert db.history(Query("hv", "on", "0")) == [(1.0, 1), (2.0, 1)]
    assert {type(v) for _, v in db.history(Query("hv", "on", "0"))} == {int}  # a boolean, still
    assert {type(v) for _, v in db.history(Query("hv", "vmon", "0"))} == {float}
    assert db.history(Query("hv", "vmon", "1")) == [(2.0, 5.0)]
    assert db.history(Query("env", "pressure")) == [(3.0, math.inf)]
    assert db.history(Query("events", "alarm.id")) == [(4.0, "dew")]
    assert [db.count(m) for m in ("hv", "env", "events")] == [3, 1, 1]
    db.write(POINTS)  # the migrated file takes new points, and a replay still replaces
    assert db.count("hv") == 3
    db.close()


def test_a_migrated_file_is_not_migrated_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = v1_file(tmp_path / "archive.sqlite3")
    SqliteBackend(path).close()
    with caplog.at_level(logging.INFO, logger="trackerdcs.archive.sqlite_schema"):
        db = SqliteBackend(path)
    assert caplog.records == []
    assert db.count("hv") == 3
    db.close()


def test_a_newer_schema_is_refused_naming_the_file_and_both_versions(tmp_path: Path) -> None:
    path = tmp_path / "archive.sqlite3"
    SqliteBackend(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version = 3")
    raw.close()
    with pytest.raises(SchemaTooNew) as refused:
        SqliteBackend(path)
    message = str(refused.value)
    assert str(path) in message
    assert "version 3" in message
    assert f"version {VERSION}" in message
    assert user_version(path) == 3  # left as it was: nothing written


def test_a_failed_migration_leaves_the_v1_file_whole(tmp_path: Path) -> None:
    path = v1_file(tmp_path / "archive.sqlite3")
    with sqlite3.connect(path) as raw:  # a series table of another shape makes the migration fail
        raw.execute("CREATE TABLE series (id INTEGER PRIMARY KEY, other TEXT)")
    raw.close()
    with pytest.raises(sqlite3.OperationalError):
        SqliteBackend(path)
    assert user_version(path) == 0
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == len(V1_ROWS)
    raw.close()
