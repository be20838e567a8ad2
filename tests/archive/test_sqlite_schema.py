"""The SQLite archive's schema version: a new file at v3, v1 and v2 files migrated, a newer one refused."""

from __future__ import annotations

import logging
import math
import sqlite3
from pathlib import Path

import pytest

from tests.archive.test_backends import POINTS
from trackerdcs.archive.backend import Query
from trackerdcs.archive.sqlite import SqliteBackend
from trackerdcs.archive.sqlite_schema import SCHEMA_V2, VERSION, SchemaTooNew

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


# Version 2 (decision 22): one row per point, the fields as JSON with their JSON types.
V2_SERIES = [(1, "hv", "number=0"), (2, "hv", "number=1"), (3, "env", ""), (4, "events", "")]
V2_POINTS = [
    (1, 1_000_000_000, '{"vmon":10.0,"on":true,"state":"on"}'),
    (1, 2_000_000_000, '{"vmon":20.0,"on":true,"state":"on"}'),
    (2, 2_000_000_000, '{"vmon":5,"on":false}'),
    (3, 3_000_000_000, '{"temperature":21.5,"pressure":9e999,"humidity":null}'),
    (4, 4_000_000_000, '{"alarm.id":"dew"}'),
]


def v2_file(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(SCHEMA_V2)
        db.executemany("INSERT INTO series VALUES (?, ?, ?)", V2_SERIES)
        db.executemany("INSERT INTO points VALUES (?, ?, ?)", V2_POINTS)
        db.execute("PRAGMA user_version = 2")
    db.close()
    return path


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
    assert user_version(tmp_path / "archive.sqlite3") == VERSION == 3
    assert tables(tmp_path / "archive.sqlite3") == {"measurements", "frames"}


def test_a_v1_file_is_migrated_on_open_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = v1_file(tmp_path / "archive.sqlite3")
    with caplog.at_level(logging.INFO, logger="trackerdcs.archive.sqlite_schema"):
        db = SqliteBackend(path)
    assert user_version(path) == 3
    assert tables(path) == {"measurements", "frames"}
    (record,) = caplog.records
    assert record.levelno == logging.INFO
    message = record.getMessage()
    assert str(path) in message
    assert "from version 1 to 3" in message
    assert "10 field rows became 5 points, in 4 rows of a measurement and time" in message
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


def test_a_v2_file_is_migrated_on_open_with_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = v2_file(tmp_path / "archive.sqlite3")
    with caplog.at_level(logging.INFO, logger="trackerdcs.archive.sqlite_schema"):
        db = SqliteBackend(path)
    assert user_version(path) == 3
    assert tables(path) == {"measurements", "frames"}
    (record,) = caplog.records
    message = record.getMessage()
    assert str(path) in message
    assert "from version 2 to 3: 5 points, in 4 rows of a measurement and time" in message
    assert db.history(Query("hv", "vmon", "0")) == [(1.0, 10.0), (2.0, 20.0)]
    assert db.history(Query("hv", "state", "0", since=1.5)) == [(2.0, "on")]
    assert db.history(Query("hv", "on", "1")) == [(2.0, 0)]
    assert [type(v) for _, v in db.history(Query("hv", "vmon", "1"))] == [float]  # 5 read as 5.0
    assert db.history(Query("env", "pressure")) == [(3.0, math.inf)]
    nan: list[tuple[float, object]] = list(db.history(Query("env", "humidity")))
    assert nan == [(3.0, None)]  # NaN, as stored
    assert db.history(Query("events", "alarm.id")) == [(4.0, "dew")]
    assert [db.count(m) for m in ("hv", "env", "events")] == [3, 1, 1]
    db.write(POINTS)  # a replay of what it holds replaces it
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
        raw.execute("PRAGMA user_version = 4")
    raw.close()
    with pytest.raises(SchemaTooNew) as refused:
        SqliteBackend(path)
    message = str(refused.value)
    assert str(path) in message
    assert "version 4" in message
    assert f"version {VERSION}" in message
    assert user_version(path) == 4  # left as it was: nothing written


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


def test_a_failed_migration_leaves_the_v2_file_whole(tmp_path: Path) -> None:
    path = v2_file(tmp_path / "archive.sqlite3")
    with sqlite3.connect(path) as raw:  # a measurements table of another shape makes it fail
        raw.execute("CREATE TABLE measurements (id INTEGER PRIMARY KEY, other TEXT)")
    raw.close()
    with pytest.raises(sqlite3.OperationalError):
        SqliteBackend(path)
    assert user_version(path) == 2
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM points").fetchone()[0] == len(V2_POINTS)
    raw.close()
