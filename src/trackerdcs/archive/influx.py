"""InfluxDB over HTTP: 1.x (``/write``, InfluxQL) and 2.x/3.x (``/api/v2/write``, Flux).

Batches go as one line-protocol request each, on a kept-alive connection (urllib3).
A connection error, a timeout or a 5xx means the database is away: the points stay in
the spool. A 4xx means it refused the data: retrying would not help.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import urllib3

from trackerdcs.archive import lineproto
from trackerdcs.archive.backend import Query, Rejected, Series, Unavailable
from trackerdcs.archive.points import Point
from trackerdcs.archive.prepare import LINES, Prepared
from trackerdcs.archive.url import ArchiveTarget

log = logging.getLogger(__name__)

TIMEOUT = urllib3.Timeout(connect=2.0, read=30.0)


def to_body(points: list[Point]) -> bytes:
    lines = (lineproto.line(p.measurement, p.tags, p.fields, p.time_ns) for p in points)
    return lineproto.encode(text for text in lines if text is not None)


class _Http:
    def __init__(self, target: ArchiveTarget) -> None:
        self.target = target
        self.http = urllib3.PoolManager(maxsize=2, retries=False, timeout=TIMEOUT)

    form = LINES

    def write_body(self, body: bytes) -> None:
        raise NotImplementedError

    def write(self, points: list[Point]) -> None:
        self.write_body(to_body(points))

    def commit(self, prepared: Prepared) -> None:
        if prepared.body:
            self.write_body(prepared.body)

    def request(
        self, method: str, path: str, body: bytes | None = None, **kw: Any
    ) -> urllib3.BaseHTTPResponse:
        url = self.target.base + path
        try:
            response = self.http.request(method, url, body=body, **kw)
        except urllib3.exceptions.HTTPError as exc:
            raise Unavailable(f"{self.target.describe()}: {exc}") from exc
        if response.status >= 500:
            raise Unavailable(f"{self.target.describe()}: HTTP {response.status}: {_text(response)}")
        if response.status >= 400:
            raise Rejected(f"{self.target.describe()}: HTTP {response.status}: {_text(response)}")
        return response

    def close(self) -> None:
        self.http.clear()


class Influx1Backend(_Http):
    """InfluxDB 1.x; creates the database if it can."""

    def __init__(self, target: ArchiveTarget) -> None:
        super().__init__(target)
        self._headers = urllib3.make_headers(basic_auth=f"{target.username}:{target.password or ''}")
        if target.username is None:
            self._headers = {}
        self._created = False

    def write_body(self, body: bytes) -> None:
        self._ensure_database()
        fields = {"db": self.target.database, "precision": "ns"}
        path = "/write?" + urlencode(fields)
        self.request("POST", path, body, headers=self._headers)

    def _ensure_database(self) -> None:
        if not self._created:
            try:
                self.influxql(f"CREATE DATABASE {quote_identifier(self.target.database)}", post=True)
            except Rejected as exc:
                # A write-only account (as `dcs deploy` makes) may not create databases;
                # the deployment created ours. A missing one still fails the write itself.
                if "not authorized" not in str(exc):
                    raise
                log.info("archive: not allowed to create %s; writing into it as it is", self.target.database)
            self._created = True

    def select(self, statement: str) -> list[dict[str, Any]]:
        """The series a SELECT returns; none while nothing was ever written."""
        try:
            return list(self.influxql(statement)[0].get("series", []))
        except Rejected as exc:
            if "database not found" in str(exc):
                return []
            raise

    def influxql(self, statement: str, post: bool = False) -> list[dict[str, Any]]:
        fields = {"q": statement, "db": self.target.database, "epoch": "ns"}
        path = "/query?" + urlencode(fields)
        response = self.request("POST" if post else "GET", path, headers=self._headers)
        results: list[dict[str, Any]] = json.loads(response.data).get("results", [])
        for result in results:
            if "error" in result:
                raise Rejected(f"{self.target.describe()}: {result['error']}")
        return results

    def history(self, query: Query) -> Series:
        where = [f"time >= {int(query.since * 1e9)}"]
        if query.until is not None:
            where.append(f"time <= {int(query.until * 1e9)}")
        if query.channel is not None:
            where.append(f'"number" = {quote_string(query.channel)}')
        statement = (
            f"SELECT {quote_identifier(query.field)} FROM {quote_identifier(query.device)}"
            f" WHERE {' AND '.join(where)} ORDER BY time LIMIT {query.limit}"
        )
        series = self.select(statement)
        values = series[0]["values"] if series else []
        # InfluxDB's JSON writes 3e16 as 30000000000000000: numbers are floats again here
        return [(t / 1e9, v if isinstance(v, str) else float(v)) for t, v in values if v is not None]

    def count(self, measurement: str) -> int:
        """Points in a measurement: the largest per-field count (every point has that field)."""
        statement = f"SELECT count(*) FROM {quote_identifier(measurement)}"
        series = self.select(statement)
        return max((int(v) for v in series[0]["values"][0][1:] if v is not None), default=0) if series else 0


class Influx2Backend(_Http):
    """InfluxDB 2.x and 3.x, through the v2 write and Flux query APIs."""

    def __init__(self, target: ArchiveTarget) -> None:
        super().__init__(target)
        self._auth = {"Authorization": f"Token {target.token}"} if target.token else {}

    def write(self, points: list[Point]) -> None:
        fields = {"org": self.target.org, "bucket": self.target.bucket, "precision": "ns"}
        headers = {**self._auth, "Content-Type": "text/plain; charset=utf-8"}
        self.request("POST", "/api/v2/write?" + urlencode(fields), to_body(points), headers=headers)

    def flux(self, script: str) -> list[dict[str, str]]:
        headers = {**self._auth, "Content-Type": "application/vnd.flux", "Accept": "application/csv"}
        path = "/api/v2/query?" + urlencode({"org": self.target.org})
        response = self.request("POST", path, script.encode(), headers=headers)
        rows = csv.DictReader(io.StringIO(response.data.decode()))
        return [row for row in rows if row.get("_time")]

    def history(self, query: Query) -> Series:
        script = flux_history(self.target.bucket, query)
        return [(_rfc3339(row["_time"]), _flux_value(row["_value"])) for row in self.flux(script)]

    def count(self, measurement: str) -> int:
        script = (
            f"from(bucket: {json.dumps(self.target.bucket)}) |> range(start: 0)"
            f" |> filter(fn: (r) => r._measurement == {json.dumps(measurement)})"
            ' |> group(columns: ["_field"]) |> count() |> max()'
        )
        rows = self.flux(script)
        return int(rows[0]["_value"]) if rows else 0


def flux_history(bucket: str, query: Query) -> str:
    """A Flux query for one field; strings are quoted as JSON, which Flux accepts."""
    start = _iso(query.since)
    stop = f", stop: {_iso(query.until)}" if query.until is not None else ""
    channel = f" and r.number == {json.dumps(query.channel)}" if query.channel is not None else ""
    return (
        f"from(bucket: {json.dumps(bucket)}) |> range(start: {start}{stop})"
        f" |> filter(fn: (r) => r._measurement == {json.dumps(query.device)}"
        f" and r._field == {json.dumps(query.field)}{channel})"
        f' |> keep(columns: ["_time", "_value"]) |> sort(columns: ["_time"]) |> limit(n: {query.limit})'
    )


def quote_identifier(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _rfc3339(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _flux_value(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _text(response: urllib3.BaseHTTPResponse) -> str:
    return response.data.decode(errors="replace")[:300].strip()
