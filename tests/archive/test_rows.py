"""The fast SQLite rows hold exactly what the general path's points hold, for any payload."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.archive.test_encode import BODY, DEVICES
from trackerdcs.archive.backend import Query
from trackerdcs.archive.points import Message, decode
from trackerdcs.archive.prepare import Prepared
from trackerdcs.archive.rows import Row, message_rows, point_rows
from trackerdcs.archive.sqlite import SqliteBackend


def meaning(rows: list[Row]) -> list[tuple[str, str, int, list[tuple[str, str, Any]]]]:
    """Rows as `dcs history` reads them: each field's name, type and value."""
    return [(m, t, time, _fields(fields)) for m, t, time, fields in rows]


def _fields(text: str) -> list[tuple[str, str, Any]]:
    def value(v: Any) -> tuple[str, Any]:  # as the history query reads it
        if isinstance(v, bool):
            return "int", int(v)
        if isinstance(v, int):
            return "float", float(v)
        if isinstance(v, float) and math.isnan(v):
            return "float", "nan"
        return type(v).__name__, v

    return [(k, *value(v)) for k, v in json.loads(text).items()]


@settings(max_examples=400)
@given(device=DEVICES, body=BODY, arrival=st.floats(0, 2e9))
def test_the_fast_rows_equal_the_general_path(device: str, body: object, arrival: float) -> None:
    raw = json.dumps(body, allow_nan=True).encode()
    message = Message(f"/{device}/status", raw, arrival)
    rows, report = message_rows([message])
    assert meaning(rows) == meaning(point_rows(decode(message).points))
    assert report.points == len(rows)


def test_numbers_are_stored_as_floats_booleans_as_integers() -> None:
    message = Message("/hv/status", b'[{"number": 3, "on": true, "vmon": 1, "state": "on", "ts": 2.5}]', 0.0)
    (row,) = message_rows([message])[0]
    assert row[:3] == ("hv", "number=3", 2_500_000_000)
    assert _fields(row[3]) == [("on", "int", 1), ("vmon", "float", 1.0), ("state", "str", "on")]


def test_non_finite_floats_are_stored_as_sqlite_reads_them(tmp_path: Path) -> None:
    """NaN is stored as null, as the first schema did; infinity as 9e999, which reads back as inf."""
    message = Message("/env/status", b'{"a": NaN, "b": Infinity, "c": -Infinity, "d": 1e999, "e": 2}', 1.0)
    rows, report = message_rows([message])
    assert len(rows) == report.points == 1
    db = SqliteBackend(tmp_path / "archive.sqlite3")
    db.commit(Prepared(report, rows=rows))
    nan: list[tuple[float, object]] = list(db.history(Query("env", "a")))
    assert nan == [(1.0, None)]
    assert db.history(Query("env", "b")) == [(1.0, math.inf)]
    assert db.history(Query("env", "c")) == [(1.0, -math.inf)]
    assert db.history(Query("env", "d")) == [(1.0, math.inf)]
    assert db.history(Query("env", "e")) == [(1.0, 2.0)]
    assert db.history(Query("env", "missing")) == []
    db.close()


def test_history_reads_numbers_as_floats_and_booleans_as_integers(tmp_path: Path) -> None:
    payload = (
        b'[{"number": 0, "on": true, "off": false, "n": 3, "big": 9007199254740993, "x": 0.5, "s": "on"}]'
    )
    rows, report = message_rows([Message("/hv/status", payload, 1.0)])
    db = SqliteBackend(tmp_path / "archive.sqlite3")
    db.commit(Prepared(report, rows=rows))
    got = {f: db.history(Query("hv", f, "0"))[0][1] for f in ("on", "off", "n", "big", "x", "s")}
    assert got == {"on": 1, "off": 0, "n": 3.0, "big": float(9007199254740993), "x": 0.5, "s": "on"}
    assert [type(v) for v in got.values()] == [int, int, float, float, float, str]
    db.close()
