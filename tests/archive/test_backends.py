"""The embedded SQLite archive, and the exact requests of the InfluxDB 2.x write path.

No InfluxDB 2.x server can be installed here, so the v2 requests are checked against a
local HTTP server that records them (URL, headers, body) and answers as 2.x does. A
test against a real 2.x server runs where DCS_TEST_INFLUXDB2_URL is set.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from trackerdcs.archive.backend import Query, Rejected, Unavailable
from trackerdcs.archive.influx import Influx2Backend, flux_history
from trackerdcs.archive.points import Point
from trackerdcs.archive.sqlite import SqliteBackend
from trackerdcs.archive.url import parse_archive_url

POINTS = [
    Point("hv", {"number": "0"}, {"vmon": 10.0, "on": True, "state": "on"}, 1_000_000_000),
    Point("hv", {"number": "0"}, {"vmon": 20.0, "on": True, "state": "on"}, 2_000_000_000),
    Point("hv", {"number": "1"}, {"vmon": 5.0}, 2_000_000_000),
    Point("env", {}, {"temperature": 21.5}, 3_000_000_000),
]


def test_sqlite_stores_and_answers_history_per_channel(tmp_path: Path) -> None:
    db = SqliteBackend(tmp_path / "a" / "archive.sqlite3")
    db.write(POINTS)
    assert db.history(Query("hv", "vmon", "0")) == [(1.0, 10.0), (2.0, 20.0)]
    assert db.history(Query("hv", "vmon", "1")) == [(2.0, 5.0)]
    assert db.history(Query("hv", "state", "0", since=1.5)) == [(2.0, "on")]
    assert db.history(Query("hv", "on", "0", until=1.0)) == [(1.0, 1)]
    assert db.history(Query("env", "temperature")) == [(3.0, 21.5)]
    assert db.count("hv") == 3
    db.close()


def test_sqlite_writing_the_same_samples_again_stores_them_once(tmp_path: Path) -> None:
    db = SqliteBackend(tmp_path / "archive.sqlite3")
    db.write(POINTS)
    db.write(POINTS)  # a replay after a crash
    assert db.count("hv") == 3
    assert len(db.history(Query("hv", "vmon", "0"))) == 2
    db.close()


def test_sqlite_points_of_one_device_and_time_written_apart_are_merged_point_by_point(
    tmp_path: Path,
) -> None:
    """One row holds a device's points of one time: a later write adds to it, or replaces a point."""
    db = SqliteBackend(tmp_path / "archive.sqlite3")
    db.write([Point("hv", {"number": "0"}, {"vmon": 1.0, "on": True}, 5_000_000_000)])
    db.write([Point("hv", {"number": "1"}, {"vmon": 2.0}, 5_000_000_000)])
    db.write([Point("hv", {"number": "0"}, {"vmon": 3.0}, 5_000_000_000)])  # replaces channel 0's point
    assert db.history(Query("hv", "vmon", "0")) == [(5.0, 3.0)]
    assert db.history(Query("hv", "on", "0")) == []  # the point was replaced whole, as before
    assert db.history(Query("hv", "vmon", "1")) == [(5.0, 2.0)]
    assert db.count("hv") == 2
    db.close()


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    SqliteBackend(tmp_path / "archive.sqlite3").close()
    import sqlite3

    with sqlite3.connect(tmp_path / "archive.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeInflux2:
    """Records requests and answers like InfluxDB 2.x: 204 for writes, CSV for queries."""

    requests: list[Request] = field(default_factory=list)
    status: int = 204
    csv: str = ""
    server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.requests.append(Request("POST", self.path, dict(self.headers.items()), body))
                reply = outer.csv.encode() if self.path.startswith("/api/v2/query") else b""
                status = 200 if reply else outer.status
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.server_address[1])

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def influx2(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeInflux2, Influx2Backend]]:
    server = FakeInflux2()
    server.start()
    monkeypatch.setenv("DCS_ARCHIVE_TOKEN", "tok en/1")
    backend = Influx2Backend(parse_archive_url(f"influxdb2://127.0.0.1:{server.port}/?org=my lab&bucket=dcs"))
    yield server, backend
    backend.close()
    server.stop()


def test_the_v2_write_is_one_request_with_token_org_bucket_and_line_protocol(
    influx2: tuple[FakeInflux2, Influx2Backend],
) -> None:
    server, backend = influx2
    backend.write(POINTS)
    (request,) = server.requests
    assert request.path == "/api/v2/write?org=my+lab&bucket=dcs&precision=ns"
    assert request.headers["Authorization"] == "Token tok en/1"
    assert request.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert request.body.decode().splitlines() == [
        'hv,number=0 vmon=10.0,on=1i,state="on" 1000000000',
        'hv,number=0 vmon=20.0,on=1i,state="on" 2000000000',
        "hv,number=1 vmon=5.0 2000000000",
        "env temperature=21.5 3000000000",
    ]


def test_v2_errors_say_whether_to_retry(influx2: tuple[FakeInflux2, Influx2Backend]) -> None:
    server, backend = influx2
    server.status = 503
    with pytest.raises(Unavailable, match="HTTP 503"):
        backend.write(POINTS)
    server.status = 400
    with pytest.raises(Rejected, match="HTTP 400"):
        backend.write(POINTS)


def test_a_v2_server_that_is_away_is_unavailable() -> None:
    backend = Influx2Backend(parse_archive_url("influxdb2://127.0.0.1:1/?org=o&bucket=b"))
    with pytest.raises(Unavailable):
        backend.write(POINTS)


def test_v2_history_is_a_flux_query_and_its_csv_is_read(influx2: tuple[FakeInflux2, Influx2Backend]) -> None:
    server, backend = influx2
    server.csv = (
        ",result,table,_time,_value\r\n"
        ",_result,0,1970-01-01T00:00:01Z,10\r\n"
        ",_result,0,1970-01-01T00:00:02.5Z,20.5\r\n\r\n"
    )
    series = backend.history(Query("hv", "vmon", "0", since=0.0, until=10.0))
    assert series == [(1.0, 10.0), (2.5, 20.5)]
    (request,) = server.requests
    assert request.path == "/api/v2/query?org=my+lab"
    assert request.headers["Content-Type"] == "application/vnd.flux"
    assert request.headers["Accept"] == "application/csv"
    assert request.body.decode() == flux_history("dcs", Query("hv", "vmon", "0", since=0.0, until=10.0))


def test_flux_queries_quote_names_safely() -> None:
    script = flux_history("b", Query('we"ird', "f\\x", "0", since=0.0))
    assert 'r._measurement == "we\\"ird"' in script
    assert 'r._field == "f\\\\x"' in script
    assert 'r.number == "0"' in script
    assert "range(start: 1970-01-01T00:00:00.000000Z)" in script


@pytest.mark.skipif(
    not os.environ.get("DCS_TEST_INFLUXDB2_URL"),
    reason="no InfluxDB 2.x here: set DCS_TEST_INFLUXDB2_URL=influxdb2://HOST:PORT/?org=O&bucket=B "
    "and DCS_ARCHIVE_TOKEN to run against a real one",
)
def test_a_real_influxdb2_stores_and_returns_points() -> None:
    backend = Influx2Backend(parse_archive_url(os.environ["DCS_TEST_INFLUXDB2_URL"]))
    now = time.time_ns()
    device = f"test_{now}"
    backend.write([Point(device, {"number": "0"}, {"vmon": 1.5}, now)])
    series = backend.history(Query(device, "vmon", "0", since=now / 1e9 - 60))
    assert [v for _, v in series] == [1.5]
