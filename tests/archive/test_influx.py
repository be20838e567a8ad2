"""The InfluxDB 1.x backend against a real influxd, including random names and values."""

from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.influx import InfluxProcess
from trackerdcs.archive.backend import Query, Rejected, Unavailable
from trackerdcs.archive.influx import Influx1Backend
from trackerdcs.archive.lineproto import representable
from trackerdcs.archive.points import Point
from trackerdcs.archive.url import parse_archive_url
from trackerdcs.contract.topics import NAME_RE

_databases = itertools.count()
_shared: dict[tuple[int, type], Influx1Backend] = {}


def backend(influx: InfluxProcess) -> Influx1Backend:
    return Influx1Backend(parse_archive_url(influx.url(f"t{next(_databases)}")))


def shared_backend(influx: InfluxProcess, kind: type) -> Influx1Backend:
    """One database per value type for every example of a property test.

    Creating a database per example is slow; one per type keeps a field from holding a
    string in one example and a number in the next (a type conflict InfluxDB refuses).
    """
    if (influx.port, kind) not in _shared:
        _shared[influx.port, kind] = backend(influx)
    return _shared[influx.port, kind]


def test_points_come_back_with_their_times_and_types(shared_influx: InfluxProcess) -> None:
    db = backend(shared_influx)
    db.write(
        [
            Point("hv", {"number": "0"}, {"vmon": 10.0, "on": True, "state": "on"}, 1_000_000_000),
            Point("hv", {"number": "0"}, {"vmon": 20.5, "on": False, "state": "off"}, 2_000_000_000),
            Point("hv", {"number": "1"}, {"vmon": 3.0}, 2_000_000_000),
        ]
    )
    assert db.history(Query("hv", "vmon", "0")) == [(1.0, 10.0), (2.0, 20.5)]
    assert db.history(Query("hv", "on", "0")) == [(1.0, 1.0), (2.0, 0.0)]
    assert db.history(Query("hv", "state", "0", since=1.5)) == [(2.0, "off")]
    assert db.count("hv") == 3
    db.close()


def test_a_field_type_conflict_is_rejected_not_retried(shared_influx: InfluxProcess) -> None:
    db = backend(shared_influx)
    db.write([Point("m", {}, {"a": 1.0}, 1)])
    with pytest.raises(Rejected, match="conflict"):
        db.write([Point("m", {}, {"a": "text"}, 2)])
    db.close()


def test_an_influxdb_that_is_down_is_unavailable(influx: InfluxProcess) -> None:
    db = backend(influx)
    influx.stop()
    with pytest.raises(Unavailable):
        db.write([Point("m", {}, {"a": 1.0}, 1)])
    influx.start()
    db.write([Point("m", {}, {"a": 1.0}, 1)])
    assert db.count("m") == 1
    db.close()


# Names: anything InfluxDB can store exactly (no surrogates; see lineproto.representable).
NAMES = st.text(st.characters(codec="utf-8"), min_size=1, max_size=16).filter(representable)
VALUES = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
)
DEVICES = st.from_regex(NAME_RE, fullmatch=True)
_time = itertools.count(1_700_000_000_000_000_000, 1_000_000)  # 1 ms apart: examples share a database


@settings(max_examples=120, deadline=None)
@given(device=DEVICES, tag=NAMES, field=NAMES, value=VALUES)
@example(device="0", tag="0", field="ok", value="")  # an empty string is a value like any other
def test_any_name_and_value_goes_through_influxdb_unchanged(
    shared_influx: InfluxProcess, device: str, tag: str, field: str, value: str | float | bool
) -> None:
    """Found by this test: a field named ``\\"`` came back as ``"`` (InfluxDB unescapes it in keys)."""
    db = shared_backend(shared_influx, type(value))
    ts = next(_time)
    db.write([Point(device, {"number": tag}, {field: value}, ts)])
    series = db.history(Query(device, field, tag, since=ts / 1e9 - 1e-4, until=ts / 1e9 + 1e-4))
    expected = value if isinstance(value, str) else float(value)  # numbers come back as floats
    assert series == [(ts / 1e9, expected)]


def test_history_respects_the_time_window_and_the_limit(shared_influx: InfluxProcess) -> None:
    db = backend(shared_influx)
    now = time.time()
    db.write([Point("env", {}, {"temperature": float(i)}, int((now - 100 + i) * 1e9)) for i in range(100)])
    recent = db.history(Query("env", "temperature", since=now - 10.5))
    assert [v for _, v in recent] == [float(i) for i in range(90, 100)]
    assert len(db.history(Query("env", "temperature", since=0, limit=7))) == 7
    db.close()


def test_a_backslash_before_a_quote_in_a_name_is_left_out_not_mangled() -> None:
    assert not representable('\\"')
    assert not representable('a\\"b')
    assert representable('a"b') and representable("a\\b")
